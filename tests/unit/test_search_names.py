"""Filter values read as canonical entity names (pipeline/search/names.py), without a server."""

from __future__ import annotations

from collections import Counter

import pytest

from pipeline.enrich.entities import EntityConfig
from pipeline.enrich.registry import NameRecord, Registry
from pipeline.search.names import canonical_names, facet_values
from pipeline.search.query import SearchRequest, build_query

RULES = EntityConfig(aliases={"us": "United States", "u.s.": "United States", "united states": "United States",
                              "selin aydin": "Hulusi Akar", "hulusi akar": "Hulusi Akar"})


def record(name: str, label: str, articles: int = 2) -> NameRecord:
    return NameRecord(name.casefold(), Counter({name: articles}), Counter({label: articles}), articles)


REGISTRY = Registry([record("United States", "GPE"), record("Hulusi Akar", "PERSON"),
                     record("Selin Aydin", "PERSON", 1), record("Kemal Ardahan", "PERSON"),
                     record("Ardahan", "PERSON", 1)])


@pytest.mark.parametrize(("filters", "expected"), [
    ({"place": ("US",)}, {"place": {"US": "United States"}}),
    ({"place": ("u.s.", "Ankara")}, {"place": {"u.s.": "United States"}}),  # an unknown value stays as given
    ({"place": ("united states",)}, {}),  # the canonical name itself, case aside
    ({"person": ("Selin Aydin",)}, {"person": {"Selin Aydin": "Hulusi Akar"}}),  # a manual merge
    ({"person": ("ardahan",)}, {"person": {"ardahan": "Kemal Ardahan"}}),  # learnt by the registry: a short form
    ({"place": ("Selin Aydin",)}, {}),  # a person's spelling does not rewrite a place filter
    ({"org": ("US",)}, {}),  # nor a place's an organisation filter
    ({"country": ("US",), "source": ("US",)}, {}),  # countries are codes and names; sources are no entities
])
def test_spellings_become_canonical_names_of_the_filters_facet(filters, expected):
    assert canonical_names(filters, REGISTRY.settle(RULES), RULES) == expected


def test_a_read_value_matches_its_canonical_name_or_itself():
    request = SearchRequest(filters={"place": ("US",)}).with_names({"place": {"US": "United States"}})
    (only,) = build_query(request)["query"]["bool"]["filter"]
    assert only == {"bool": {"should": [{"term": {"entities.place.folded": "United States"}},
                                        {"term": {"entities.place.folded": "US"}}], "minimum_should_match": 1}}
    assert request.spellings() == ["place: US → United States"]


@pytest.mark.parametrize(("request_", "expected"), [
    (SearchRequest(query='talks place:US -person:"Selin Aydin" title:US', filters={"place": ("US",)}),
     {"place": ("US",), "person": ("Selin Aydin",)}),  # text fields and repeated values aside
    (SearchRequest(query="place:Ank* OR org:NATO", filters={"source": ("wire",)}), {"org": ("NATO",)}),
])
def test_facet_values_gather_filters_and_facet_terms_of_the_query(request_, expected):
    assert facet_values(request_) == expected


def test_a_facet_term_of_the_query_matches_its_canonical_name_or_itself():
    request = SearchRequest(query="place:U.S.").with_names({"place": {"U.S.": "United States"}})
    (only,) = build_query(request)["query"]["bool"]["must"]
    assert only == {"bool": {"should": [{"term": {"entities.place.folded": {"value": "United States"}}},
                                        {"term": {"entities.place.folded": {"value": "U.S."}}}],
                             "minimum_should_match": 1}}
