"""Facet names: which entity label feeds which flat keyword facet of a document (`entities.person`, ...).

Labels are spaCy's OntoNotes labels (the English models); the WikiNER labels of the other languages' models (French:
PER, ORG, LOC, MISC) are renamed to these by `facet_label` before any rule sees them. Kibana cannot aggregate
`nested` fields, so every facet is a flat keyword array per type; `place` gathers GPE, LOC and FAC; `misc` holds the
WikiNER MISC names (events, works, nationalities the French model does not tell apart). `country` is the country of
every resolved place and demonym of the article (pipeline.enrich.places), with its ISO 3166 alpha-2 code beside it
in `country_code`; `geonames_id` holds the GeoNames id of every resolved place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.core.records import EntityMention

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
# Facets people filter and browse by: one per label kind, then the country of the places and demonyms.
FACETS = (*dict.fromkeys(FACET_OF_LABEL.values()), "country")
# Every keyword array under `entities`: the facets and the codes and ids beside them.
ENTITY_FIELDS = (*FACETS, "country_code", "geonames_id")


def facet_values(mentions: Sequence[EntityMention]) -> dict[str, list[str]]:
    """Flat keyword arrays per entity field (`person`, `org`, `place`, ..., `country`, `country_code`,
    `geonames_id`), distinct values in first-mention order."""
    facets: dict[str, dict[str, None]] = {name: {} for name in ENTITY_FIELDS}
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
