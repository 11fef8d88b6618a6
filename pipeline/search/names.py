"""Facet filter values read as entity names: a spelling the entity rules or the entity registry know filters by
its entity's canonical name (`--place US` -> United States, `--person "Selin Aydin"` after `entities merge "Selin
Aydin" "Hulusi Akar"` -> Hulusi Akar).

Indexed articles carry canonical names only (pipeline/enrich: aliases of config/entities.yml, then the registry's
settled entities), so a filter on another spelling would match nothing. The sources of a spelling, in order:

1. the registry (`<alias>-entities`, settled with the rules: manual merges, legal forms, short forms, acronyms),
   when the entity it names sits in the filter's facet (a person's surname does not rewrite a `--place` filter);
2. the aliases of config/entities.yml (a manual merge is written there too), which also cover spellings no article
   used yet ("U.S.A." when every article wrote "US"), unless the registry files their entity under another facet.

The filter then matches the canonical name or the value as given (articles a queued decision has not rewritten yet
still hold the old name). One scan of the registry per search or watchlist run, never one request per value.
"""

from __future__ import annotations

from pipeline.core.facets import FACET_OF_LABEL
from pipeline.enrich.entities import EntityConfig
from pipeline.enrich.registry import Resolution
from pipeline.index.registry import load_registry
from pipeline.index.store import Store
from pipeline.search.query import FACET_FIELDS, SearchRequest, facet_term_value
from pipeline.search.suggest import fold
from pipeline.search.syntax import parse_query

__all__ = ["canonical_names", "entity_facets", "facet_values", "with_canonical_names"]


def entity_facets() -> dict[str, str]:
    """Filter facet (CLI flag, JSON key) -> the entity facet of its names, for the facets that hold entity names
    (`language_mentioned` -> `language`). `country` is left out: countries are read as ISO codes and names
    (pipeline/search/countries.py), not as registry entities."""
    facets = set(FACET_OF_LABEL.values())
    return {name: fld.removeprefix("entities.") for name, fld in FACET_FIELDS.items()
            if fld.removeprefix("entities.") in facets and fld.startswith("entities.")}


def canonical_names(filters: dict[str, tuple[str, ...]], resolution: Resolution,
                    rules: EntityConfig) -> dict[str, dict[str, str]]:
    """{facet: {value as given: canonical name}} for the filter values that are another spelling of an entity;
    values that already are canonical (case and accents aside) or that nothing knows are left out."""
    facets = entity_facets()
    out: dict[str, dict[str, str]] = {}
    for facet, values in filters.items():
        if facet not in facets:
            continue
        for value in values:
            canonical = _canonical(value, facets[facet], resolution, rules)
            if canonical is not None and fold(canonical) != fold(value):
                out.setdefault(facet, {})[value] = canonical
    return out


def _canonical(value: str, facet: str, resolution: Resolution, rules: EntityConfig) -> str | None:
    entity = resolution.entity(value)
    if entity is not None and FACET_OF_LABEL.get(entity.label) == facet:
        return entity.name
    configured = rules.canonical(value)
    if fold(configured) == fold(value):
        return None
    # The configured name as the articles spell it (the registry's display form), else as configured; not when
    # the registry files the entity under another facet (a person's merged-away name in a `--place` filter).
    known = resolution.entity(configured)
    if known is None:
        return configured
    return known.name if FACET_OF_LABEL.get(known.label) == facet else None


def facet_values(request: SearchRequest) -> dict[str, tuple[str, ...]]:
    """Every entity facet value the request filters on: its filters and the `facet:value` terms of its query
    (`place:US`, `-person:"Selin Aydin"`), facet -> values."""
    values = {facet: list(given) for facet, given in request.filters.items()}
    if request.query and request.query.strip():
        parsed = parse_query(request.query, frozenset(FACET_FIELDS))
        for clause in (*parsed.positive, *parsed.negative):
            for term in clause.alternatives:
                value = facet_term_value(term)
                if value is not None and term.field is not None:
                    values.setdefault(term.field, []).append(value)
    facets = entity_facets()
    return {facet: tuple(dict.fromkeys(given)) for facet, given in values.items() if facet in facets}


def with_canonical_names(store: Store, request: SearchRequest, rules: EntityConfig) -> SearchRequest:
    """The request with its entity facet values' canonical names (`SearchRequest.names`), for its filters and the
    `facet:value` terms of its query; the registry is read in one scan, and only when an entity facet is named.
    Raises InfrastructureError when Elasticsearch fails."""
    wanted = facet_values(request)
    if not wanted:
        return request
    resolution = load_registry(store).settle(rules)
    names = canonical_names(wanted, resolution, rules)
    return request.with_names(names) if names else request
