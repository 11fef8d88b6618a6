"""Search input is data: the query language against the live index, and syntax-laden input that must never
reach Elasticsearch as syntax (it is either refused with a message or matched as words)."""

import uuid

import pytest

from pipeline.index.store import Store
from pipeline.runners.stream import ingest
from pipeline.search.query import SearchRequest, search
from pipeline.search.syntax import QuerySyntaxError
from tests.conftest import SEED, drop_alias, make_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def seeded(es_url, tmp_path_factory):
    """The seed article indexed once for the module (read-only tests)."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    settings = make_settings(tmp_path_factory.mktemp("input"), es_url, name)
    ingest([SEED], settings)
    yield Store.connect(settings)
    drop_alias(es_url, name)


# The seed article (samples/landing/2019-06-25/s400_2019-06-25.txt) is about Hulusi Akar, S-400s and NATO; it
# contains "and" but neither "not" nor "or".
@pytest.mark.parametrize(("query", "total"), [
    ("title:* OR body:*", 0), ("*", 0), ("(((", 0), ("Akar AND NOT", 0), ("Akar AND", 1),
    ('{"match_all": {}}', 0), ("Akar~2^10", 0), ("/.*/", 0), ("\\", 0), ("body:[x TO *]", 0),
    ('"Hulusi Akar"', 1), ('"Akar Hulusi"', 0), ("Hulusi -Akar", 0), ('Hulusi -"Akar Hulusi"', 1),
    ("zebra OR Akar", 1), ("zebra OR quagga", 0), ("Hul*", 1), ("hulú*", 1), ("NATO", 1), ("S-400", 1),
    ("text:Esper", 1), ("person:\"hulusi akar\"", 1), ("person:akar", 0), ("-zebra", 1),
])
def test_query_language_on_the_live_index(seeded, query, total):
    assert search(seeded, SearchRequest(query=query)).total == total


@pytest.mark.parametrize("query", ['_exists_:title', 'Akar" OR "x', "OR", "a OR", "body:[* TO *]",
                                   "foo:bar", "title:", "Akar title:", "Akar -body:"])
def test_query_syntax_of_elasticsearch_is_refused_with_a_message(seeded, query):
    with pytest.raises(QuerySyntaxError):
        search(seeded, SearchRequest(query=query))


def test_plain_words_still_find_the_article(seeded):
    assert search(seeded, SearchRequest(query="Hulusi Akar talks")).total == 1


@pytest.mark.parametrize(("value", "total"), [
    ('Hulusi Akar" OR "Donald Trump', 0), ("Hulusi*", 0), ("*", 0), ("Akar", 0),
    ("Hulusi Akar", 1), ("hulusi akar", 1), ("HULUSI AKAR", 1), ("Hulusí Akar", 1),
])
def test_facet_values_match_whole_values_case_and_accents_aside(seeded, value, total):
    assert search(seeded, SearchRequest(filters={"person": (value,)})).total == total


def test_a_filter_value_no_article_has_offers_the_closest_existing_values(seeded):
    result = search(seeded, SearchRequest(filters={"person": ("hulusi akr",), "place": ("turkey",)}))
    assert result.total == 0
    assert result.suggestions == {"person": {"hulusi akr": ["Hulusi Akar"]}}  # "turkey" exists: no suggestion
    assert result.to_dict()["suggestions"] == result.suggestions
    # Every value exists, only their combination with the query matches nothing: nothing to suggest.
    assert search(seeded, SearchRequest(query="zebra", filters={"person": ("Hulusi Akar",)})).suggestions == {}


def test_the_cli_prints_the_suggestions(seeded, capsys):
    from rich.console import Console

    from pipeline.cli.main import print_search_result

    result = search(seeded, SearchRequest(filters={"person": ("Hulusi Akr",)}))
    print_search_result(result, seeded.alias, Console(width=200, color_system=None))
    assert "No article has person 'Hulusi Akr'; closest existing values: Hulusi Akar" in capsys.readouterr().out


def test_newsetl_search_does_not_import_spacy(seeded, es_url, tmp_path):
    """spaCy takes ~0.7 s to import and search needs none of it (checked in a fresh interpreter)."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    code = ("import sys\nfrom pipeline.cli.main import main\nrc = main(['search', 'Akar', '--json'])\n"
            "print(rc, 'spacy' in sys.modules, file=sys.stderr)")
    env = {**os.environ, "ELASTICSEARCH_URL": es_url, "NEWSETL_INDEX_ALIAS": seeded.alias,
           "NEWSETL_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False, timeout=300)
    assert done.stderr.strip().splitlines()[-1] == "0 False", done.stderr
    assert '"total": 1' in done.stdout
