"""Search input is data: syntax-laden queries and facet values run as plain text against the live index."""

import pytest

from pipeline.index.search import SearchRequest, search
from pipeline.run import ingest
from tests.conftest import SEED

pytestmark = pytest.mark.integration


@pytest.fixture
def seeded(es_settings, es_client):
    ingest([SEED], es_settings)
    return es_client, es_settings.index.alias


@pytest.mark.parametrize("query", [
    'title:* OR body:*', '_exists_:title', '*', 'Akar" OR "x', '(((', 'a AND NOT', '{"match_all": {}}',
    'Akar~2^10', '/.*/', '\\', 'body:[* TO *]',
])
def test_query_syntax_is_matched_as_words_and_never_fails(seeded, query):
    client, alias = seeded
    result = search(client, alias, SearchRequest(query=query))
    assert result.total == 0  # no operator was interpreted: none of these word sets is in the seed article


def test_plain_words_still_find_the_article(seeded):
    client, alias = seeded
    assert search(client, alias, SearchRequest(query="Hulusi Akar talks")).total == 1


@pytest.mark.parametrize("value", ['Hulusi Akar" OR "Donald Trump', "Hulusi*", "*", "hulusi akar"])
def test_facet_values_match_exactly(seeded, value):
    client, alias = seeded
    assert search(client, alias, SearchRequest(filters={"person": (value,)})).total == 0
    assert search(client, alias, SearchRequest(filters={"person": ("Hulusi Akar",)})).total == 1
