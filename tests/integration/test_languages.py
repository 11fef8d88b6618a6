"""Articles in three languages through the whole pipeline: French by the French model, German by none, English as
before; the index records which articles lack a model, and search filters on it and on the `misc` facet."""

from __future__ import annotations

import json

import pytest

from pipeline.cli.main import main
from pipeline.index.store import Store
from pipeline.runners.stream import ingest
from pipeline.search.query import SearchRequest, search

pytestmark = pytest.mark.integration

ARTICLES = [
    # No `language` keys: each is detected from the text.
    {"id": "fr", "published": "2019-03-05", "title": "Grève à la SNCF",
     "text": "La SNCF a annoncé mardi une grève des contrôleurs à Lyon et à Marseille. Le ministre des Transports, "
             "Jean Castel, recevra les syndicats le 12 mars au ministère, a indiqué la CGT. Castel espère un accord "
             "avant la Coupe du monde de rugby."},
    {"id": "de", "published": "2022-06-13", "title": "Neuer Hafen in Köln",
     "text": "Die Bürgermeisterin Katrin Vogel hat am Montag in Köln den neuen Rheinhafen eröffnet. Vogel sagte, "
             "die Kosten lägen deutlich unter dem Plan. Kritik kam vom Bund der Steuerzahler, der die Gebühren und "
             "die Mehrheit im Rat seit dem 3. März 2019 bemängelt."},
    {"id": "en", "published": "2019-06-25", "title": "Bridge opens in Lyon",
     "text": "The mayor of Lyon, Claire Dubois, opened a new bridge over the Rhone on Monday, the city council "
             "said. Dubois said the work had cost less than planned."},
]


@pytest.fixture
def indexed(es_settings, es_client, tmp_path):
    path = tmp_path / "three.jsonl"
    path.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in ARTICLES), encoding="utf-8")
    report = ingest([path], es_settings)
    assert (report.seen, report.indexed, report.rejected) == (3, 3, 0)
    es_client.indices.refresh(index=es_settings.index.alias)
    hits = es_client.search(index=es_settings.index.alias, size=10)["hits"]["hits"]
    language_of_title = {a["title"]: a["id"] for a in ARTICLES}
    return {language_of_title[h["_source"]["title"]]: h["_source"] for h in hits}


def test_each_language_is_read_by_its_own_model_or_by_none(indexed):
    french, german, english = indexed["fr"], indexed["de"], indexed["en"]
    assert (french["language"], french["enrichment"]) == ("fr", "ok")
    assert {"Jean Castel"} == set(french["entities"]["person"])  # "Castel" is the same person
    assert {"SNCF", "CGT"} <= set(french["entities"]["org"])
    assert {"Lyon", "Marseille"} <= set(french["entities"]["place"])
    assert {"2019-03-05", "2019-03-12"} <= set(french["mentioned_dates"])

    # German has no configured model: no entities at all (never the English model's "Kosten" or "Vogel" as a
    # person), the document says so, and its explicit date is still read in German.
    assert (german["language"], german["enrichment"]) == ("de", "no-model")
    assert all(values == [] for values in german["entities"].values())
    assert "2019-03-03" in german["mentioned_dates"]

    assert (english["language"], english["enrichment"]) == ("en", "ok")
    assert english["entities"]["person"] == ["Claire Dubois"]
    assert english["entities"]["misc"] == []  # the English model has no MISC label: its facets are as before
    assert "2019-06-24" in english["mentioned_dates"]


def test_search_filters_on_enrichment_and_on_the_misc_facet(indexed, es_settings, capsys, monkeypatch):
    store = Store.connect(es_settings)
    no_model = search(store, SearchRequest(filters={"enrichment": ("no-model",)}))
    assert [hit["language"] for hit in no_model.hits] == ["de"]
    assert dict(no_model.facets["enrichment"]) == {"no-model": 1}
    misc = indexed["fr"]["entities"]["misc"]
    if misc:  # what the small French model calls MISC here is its business; the filter must find it
        assert search(store, SearchRequest(filters={"misc": (misc[0],)})).total == 1

    monkeypatch.setenv("NEWSETL_INDEX_ALIAS", es_settings.index.alias)
    monkeypatch.setenv("ELASTICSEARCH_URL", es_settings.elasticsearch.url)
    monkeypatch.setenv("NEWSETL_DATA_DIR", str(es_settings.data_dir))
    assert main(["search", "--enrichment", "no-model", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(hit["language"], hit["enrichment"]) for hit in out["hits"]] == [("de", "no-model")]
