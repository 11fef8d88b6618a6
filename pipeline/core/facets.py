"""Facet names: which entity label feeds which flat keyword facet of a document (`entities.person`, ...).

Labels are spaCy's OntoNotes labels (the English models); the WikiNER labels of the other languages' models (French:
PER, ORG, LOC, MISC) are renamed to these by `facet_label` before any rule sees them. Kibana cannot aggregate
`nested` fields, so every facet is a flat keyword array per type; `place` gathers GPE, LOC and FAC; `misc` holds the
WikiNER MISC names (events, works, nationalities the French model does not tell apart). `country` is the country of
every resolved place and demonym of the article (pipeline.enrich.places), with its ISO 3166 alpha-2 code beside it
in `country_code`; `geonames_id` holds the GeoNames id of every resolved place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from pipeline.core.records import EntityMention
from pipeline.core.text import strip_accents_casefold

# spaCy (OntoNotes) labels kept as facets, and the facet each one feeds.
FACET_OF_LABEL = {
    "PERSON": "person",
    "ORG": "org",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "NORP": "norp",
    "EVENT": "event",
    "PRODUCT": "product",
    "WORK_OF_ART": "work_of_art",
    "LAW": "law",
    "LANGUAGE": "language",
    "MISC": "misc",
}
# One facet per label kind.
LABEL_FACETS = tuple(dict.fromkeys(FACET_OF_LABEL.values()))
# Facets people filter and browse by: one per label kind, then the country of the places and demonyms.
FACETS = (*LABEL_FACETS, "country")
# Every keyword array under `entities`: the facets, the codes and GeoNames ids beside them, and the entity ids of
# each label facet (`person_id`, ...: pipeline.core.facets.entity_id).
ENTITY_FIELDS = (*FACETS, "country_code", "geonames_id", *(f"{facet}_id" for facet in LABEL_FACETS))


def facet_values(mentions: Sequence[EntityMention]) -> dict[str, list[str]]:
    """Flat keyword arrays per entity field (`person`, `org`, `place`, ..., `country`, `country_code`,
    `geonames_id`), distinct values in first-mention order."""
    facets: dict[str, dict[str, None]] = {name: {} for name in (*FACETS, "country_code", "geonames_id")}
    for mention in mentions:
        facets[FACET_OF_LABEL[mention.label]].setdefault(mention.canonical, None)
        if mention.country_code is not None:
            facets["country_code"].setdefault(mention.country_code, None)
            facets["country"].setdefault(mention.country or mention.country_code, None)
        if mention.geonames_id is not None:
            facets["geonames_id"].setdefault(str(mention.geonames_id), None)
    return {name: list(values) for name, values in facets.items()}


def geo_points(mentions: Sequence[EntityMention]) -> list[dict[str, Any]]:
    """One {"lat", "lon"} (degrees) per distinct resolved place, in first-mention order; points outside the globe
    are dropped (Elasticsearch-compatible stores may keep them silently)."""
    points: dict[int, dict[str, Any]] = {}
    for mention in mentions:
        if mention.geonames_id is None or mention.lat is None or mention.lon is None:
            continue
        if -90 <= mention.lat <= 90 and -180 <= mention.lon <= 180:
            points.setdefault(mention.geonames_id, {"lat": mention.lat, "lon": mention.lon})
    return list(points.values())


# A model's own label -> the label above, per label scheme. spaCy's WikiNER-trained models (fr, and the other
# `*_core_news_*` pipelines) use PER/ORG/LOC/MISC; LOC there covers countries and cities too, so it feeds `place`.
WIKINER_LABELS = {"PER": "PERSON", "ORG": "ORG", "LOC": "LOC", "MISC": "MISC"}


def facet_label(label: str, label_map: dict[str, str] | None = None) -> str:
    """The OntoNotes-style label a model's label counts as (`PER` -> `PERSON` under WikiNER; unknown: unchanged)."""
    return (label_map or {}).get(label, label)


def entity_id(label: str, canonical: str) -> str:
    """Stable id of an entity: 16 hex digits of the sha1 of its facet and its canonical name (case- and
    accent-insensitive), so one name in one facet is one id in every article and every run.

    Raises KeyError for a label that feeds no facet.
    """
    payload = f"{FACET_OF_LABEL[label]}\x1f{strip_accents_casefold(canonical)}"
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:16]


def facet_ids(mentions: Sequence[EntityMention]) -> dict[str, list[str]]:
    """Flat keyword arrays of entity ids per facet (`person_id`, `org_id`, ...), distinct, in first-mention order."""
    ids: dict[str, dict[str, None]] = {facet: {} for facet in LABEL_FACETS}
    for mention in mentions:
        ids[FACET_OF_LABEL[mention.label]].setdefault(mention.id or entity_id(mention.label, mention.canonical), None)
    return {f"{facet}_id": list(values) for facet, values in ids.items()}


def label_facet_fields(mentions: Sequence[EntityMention]) -> dict[str, list[str]]:
    """The label facets (`person`, `org`, ...) and their ids (`person_id`, ...) of mentions: the fields of
    `entities` that the entity registry decides, and re-canonicalisation rewrites (`country`, `country_code` and
    `geonames_id` come from place resolution and stay)."""
    values = facet_values(mentions)
    return {**{facet: values[facet] for facet in LABEL_FACETS}, **facet_ids(mentions)}


# One label per facet, so an id can be computed from a facet and a name (`entity_id(LABEL_OF_FACET[f], name)`).
LABEL_OF_FACET = {facet: next(label for label, f in FACET_OF_LABEL.items() if f == facet) for facet in LABEL_FACETS}
