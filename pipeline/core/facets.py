"""Facet names: which entity label feeds which flat keyword facet of a document (`entities.person`, ...).

Labels are spaCy's OntoNotes labels (the English models); the WikiNER labels of the other languages' models (French:
PER, ORG, LOC, MISC) are renamed to these by `LABEL_MAPS` before any rule sees them. Kibana cannot aggregate `nested`
fields, so every facet is a flat keyword array per type; `place` gathers GPE, LOC and FAC; `misc` holds the WikiNER
MISC names (events, works, nationalities the French model does not tell apart).
"""

from __future__ import annotations

from collections.abc import Sequence

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
FACETS = tuple(dict.fromkeys(FACET_OF_LABEL.values()))


def facet_values(mentions: Sequence[EntityMention]) -> dict[str, list[str]]:
    """Flat keyword arrays per facet (`person`, `org`, `place`, ...), distinct values in first-mention order."""
    facets: dict[str, dict[str, None]] = {facet: {} for facet in FACETS}
    for mention in mentions:
        facets[FACET_OF_LABEL[mention.label]].setdefault(mention.canonical, None)
    return {facet: list(values) for facet, values in facets.items()}


# A model's own label -> the label above, per label scheme. spaCy's WikiNER-trained models (fr, and the other
# `*_core_news_*` pipelines) use PER/ORG/LOC/MISC; LOC there covers countries and cities too, so it feeds `place`.
WIKINER_LABELS = {"PER": "PERSON", "ORG": "ORG", "LOC": "LOC", "MISC": "MISC"}


def facet_label(label: str, label_map: dict[str, str] | None = None) -> str:
    """The OntoNotes-style label a model's label counts as (`PER` -> `PERSON` under WikiNER; unknown: unchanged)."""
    return (label_map or {}).get(label, label)
