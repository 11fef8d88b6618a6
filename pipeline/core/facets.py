"""Facet names: which entity label feeds which flat keyword facet of a document (`entities.person`, ...).

Labels are spaCy's OntoNotes labels (the English models). Kibana cannot aggregate `nested` fields, so every facet
is a flat keyword array per type; `place` gathers GPE, LOC and FAC.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

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
}
FACETS = tuple(dict.fromkeys(FACET_OF_LABEL.values()))


def facet_values(mentions: Sequence[EntityMention]) -> dict[str, list[str]]:
    """Flat keyword arrays per facet (`person`, `org`, `place`, ...), distinct values in first-mention order."""
    facets: dict[str, dict[str, None]] = {facet: {} for facet in FACETS}
    for mention in mentions:
        facets[FACET_OF_LABEL[mention.label]].setdefault(mention.canonical, None)
    return {facet: list(values) for facet, values in facets.items()}


def entity_id(label: str, canonical: str) -> str:
    """Stable id of an entity: 16 hex digits of the sha1 of its facet and its canonical name (case- and
    accent-insensitive), so one name in one facet is one id in every article and every run.

    Raises KeyError for a label that feeds no facet.
    """
    payload = f"{FACET_OF_LABEL[label]}\x1f{strip_accents_casefold(canonical)}"
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:16]


def facet_ids(mentions: Sequence[EntityMention]) -> dict[str, list[str]]:
    """Flat keyword arrays of entity ids per facet (`person_id`, `org_id`, ...), distinct, in first-mention order."""
    ids: dict[str, dict[str, None]] = {facet: {} for facet in FACETS}
    for mention in mentions:
        ids[FACET_OF_LABEL[mention.label]].setdefault(mention.id or entity_id(mention.label, mention.canonical), None)
    return {f"{facet}_id": list(values) for facet, values in ids.items()}
