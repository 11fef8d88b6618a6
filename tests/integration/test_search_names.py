"""Facet filters read another spelling of an entity as its canonical name: the aliases of config/entities.yml
(`--place US` -> United States), the registry, and manual merges (`entities merge`), in search and watchlists."""

from __future__ import annotations

import json

import pytest

from pipeline.cli.main import main
from pipeline.enrich.entities import load_entity_config
from pipeline.runners.stream import ingest
from pipeline.search.names import with_canonical_names
from pipeline.search.notify import Notifier
from pipeline.search.query import SearchRequest, search
from pipeline.search.watchlists import Watchlist, run_watchlist
from tests.integration.test_registry import cli_with_rules, write

pytestmark = pytest.mark.integration

ARTICLES = [
    {"id": "n1", "title": "Envoys meet", "published": "2019-06-24",
     "text": "Defence minister Hulusi Akar met envoys from the United States in Ankara on Monday. Hulusi Akar said "
             "the talks with the United States had gone well."},
    {"id": "n2", "title": "Court date", "published": "2019-06-25",
     "text": "Selin Aydin, a lawyer, spoke to reporters in Istanbul on Tuesday. Selin Aydin said the court would "
             "rule in May."},
]
RULES = "aliases:\n  United States: [US, U.S., U.S.A., USA, the United States]\n"


def search_json(args: list[str], capsys) -> tuple[dict, str]:
    assert main(["search", *args, "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), " ".join(captured.err.split())


@pytest.fixture
def indexed(es_settings, tmp_path, monkeypatch):
    rules = cli_with_rules(es_settings, tmp_path, monkeypatch, RULES)
    assert ingest([write(tmp_path / "news.jsonl", ARTICLES)], es_settings).indexed == 2
    return es_settings, rules


def test_a_facet_term_of_the_query_reads_spellings_as_filters_do(indexed, capsys):
    result, err = search_json(["talks", "place:U.S."], capsys)
    assert [hit["title"] for hit in result["hits"]] == ["Envoys meet"]
    assert "place: U.S. → United States" in err


@pytest.mark.parametrize("value", ["US", "u.s.", "U.S.A.", "united states"])
def test_a_configured_spelling_filters_by_its_canonical_name(indexed, capsys, value):
    result, err = search_json(["--place", value], capsys)
    assert [hit["title"] for hit in result["hits"]] == ["Envoys meet"]
    assert not result["suggestions"]
    if value != "united states":  # the canonical name itself, case aside, needs no word
        assert f"place: {value} → United States" in err
        assert result["names"] == {"place": {value: "United States"}}


def test_a_merged_away_name_filters_by_the_name_it_joined(indexed, capsys):
    result, _err = search_json(["--person", "Selin Aydin"], capsys)
    assert [hit["title"] for hit in result["hits"]] == ["Court date"]

    assert main(["entities", "merge", "Selin Aydin", "Hulusi Akar"]) == 0
    capsys.readouterr()
    result, err = search_json(["--person", "Selin Aydin"], capsys)
    assert sorted(hit["title"] for hit in result["hits"]) == ["Court date", "Envoys meet"]
    assert "person: Selin Aydin → Hulusi Akar" in err and not result["suggestions"]
    # a facet term of the query is read the same way, negated too
    result, err = search_json(['person:"selin aydin"'], capsys)
    assert sorted(hit["title"] for hit in result["hits"]) == ["Court date", "Envoys meet"]
    assert "person: selin aydin → Hulusi Akar" in err
    result, _err = search_json(['-person:"Selin Aydin"', "--place", "US"], capsys)  # Hulusi Akar's article
    assert result["total"] == 0
    # the same name in another facet is no spelling of a person: left as given, and it matches nothing
    result, _err = search_json(["--place", "Selin Aydin"], capsys)
    assert result["total"] == 0 and result["names"] == {}


def test_the_registry_is_read_once_per_search(indexed, monkeypatch):
    from pipeline.index.store import Store

    settings, rules = indexed
    store = Store.connect(settings)
    scans: list[str] = []
    real = Store.scan

    def counting(self, *args, **kwargs):
        scans.append(args[0] if args else kwargs.get("index", self.alias))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Store, "scan", counting)
    request = with_canonical_names(store, SearchRequest(filters={"place": ("US", "U.S.A."), "person": ("Akar",)}),
                                   load_entity_config(rules))
    assert len(scans) == 1
    assert request.names == {"place": {"US": "United States", "U.S.A.": "United States"}}
    assert [hit["title"] for hit in search(store, with_canonical_names(
        store, SearchRequest(filters={"place": ("US",)}), load_entity_config(rules))).hits] == ["Envoys meet"]


def test_watchlists_read_spellings_the_same_way(indexed, capsys):
    settings, rules = indexed
    from pipeline.index.store import Store

    store = Store.connect(settings)
    watchlist = Watchlist(name="us-desk", filters={"place": ["U.S."]})
    run = run_watchlist(store, watchlist, Notifier(env={}), dry_run=True, rules=load_entity_config(rules))
    assert [match["title"] for match in run.matches] == ["Envoys meet"]

    assert main(["entities", "merge", "Selin Aydin", "Hulusi Akar"]) == 0
    capsys.readouterr()
    merged = Watchlist(name="akar", filters={"person": ["Selin Aydin"]})
    run = run_watchlist(store, merged, Notifier(env={}), dry_run=True, rules=load_entity_config(rules))
    assert sorted(match["title"] for match in run.matches) == ["Court date", "Envoys meet"]
