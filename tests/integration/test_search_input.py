"""Search input is data: syntax-laden queries and facet values run as plain text against the live index."""

import pytest

from pipeline.runners.stream import ingest
from pipeline.search.query import SearchRequest, search
from tests.conftest import SEED

pytestmark = pytest.mark.integration


@pytest.fixture
def seeded(es_settings, es_store):
    ingest([SEED], es_settings)
    return es_store


@pytest.mark.parametrize("query", [
    'title:* OR body:*', '_exists_:title', '*', 'Akar" OR "x', '(((', 'a AND NOT', '{"match_all": {}}',
    'Akar~2^10', '/.*/', '\\', 'body:[* TO *]',
])
def test_query_syntax_is_matched_as_words_and_never_fails(seeded, query):
    store = seeded
    result = search(store, SearchRequest(query=query))
    assert result.total == 0  # no operator was interpreted: none of these word sets is in the seed article


def test_plain_words_still_find_the_article(seeded):
    store = seeded
    assert search(store, SearchRequest(query="Hulusi Akar talks")).total == 1


@pytest.mark.parametrize("value", ['Hulusi Akar" OR "Donald Trump', "Hulusi*", "*", "hulusi akar"])
def test_facet_values_match_exactly(seeded, value):
    store = seeded
    assert search(store, SearchRequest(filters={"person": (value,)})).total == 0
    assert search(store, SearchRequest(filters={"person": ("Hulusi Akar",)})).total == 1
