"""Trends on a live index: a value injected into one day is found, a steady one is not; days are UTC days of the
timeline date (undated articles on their ingest day); spellings of one entity count as one; the trends index is
refreshed idempotently; `newsetl trends` prints them."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from pipeline.core.facets import entity_id
from pipeline.index.articles import ensure_index
from pipeline.index.store import BulkAction
from pipeline.index.trends import compute_trends, default_day, refresh_trends, trends_index

pytestmark = pytest.mark.integration

DAY = date(2019, 6, 25)


def article(n: int, when: str, persons: list[str] = (), *, undated: bool = False, country: list[str] = ()) -> dict:
    """A document as the pipeline writes it, reduced to what trends read."""
    doc = {"title": f"article {n}", "timeline_at": when, "undated": undated,
           "entities": {"person": list(persons), "person_id": list(dict.fromkeys(entity_id("PERSON", p)
                                                                                   for p in persons)),
                        "country": list(country)}}
    if not undated:
        doc["published_at"] = when
    return doc


def write(store, docs: list[dict]) -> None:
    ensure_index(store)
    store.bulk([BulkAction("index", store.alias, f"doc-{i}", doc) for i, doc in enumerate(docs)], refresh=True)


def corpus(injected: bool = True) -> list[dict]:
    """30 baseline days of 10 articles (a steady person in 3 a day, a country in 1), then the day."""
    docs, n = [], 0
    for back in range(30, 0, -1):
        day = (DAY - timedelta(days=back)).isoformat()
        for i in range(10):
            docs.append(article(n := n + 1, f"{day}T08:00:00Z", ["Steady Person"] if i < 3 else [],
                                country=["Chile"] if i == 0 else []))
    for i in range(10):
        persons = ["Steady Person"] if i < 3 else []
        if injected and i >= 5:
            # Two spellings of the new name: one entity id, one value.
            persons.append("Ada Newcomer" if i % 2 else "ADA NEWCOMER")
        docs.append(article(n := n + 1, f"{DAY}T12:00:00Z", persons, country=["Chile"] if i < 7 else []))
    # Undated, ingested that day: it counts on its ingest day. Published late on the 25th in UTC-3 = the 26th UTC:
    # not that day.
    docs.append(article(n := n + 1, f"{DAY}T23:00:00Z", ["Ada Newcomer"] if injected else [], undated=True))
    docs.append(article(n + 1, "2019-06-25T22:30:00-03:00", ["Ada Newcomer"] if injected else []))
    return docs


def test_an_injected_value_is_found_and_a_steady_one_is_not(es_store):
    write(es_store, corpus())
    report = compute_trends(es_store, DAY)
    assert (report.articles, report.baseline_articles) == (11, 300)
    (ada,) = report.trends["person"]
    assert (ada.value, ada.key, ada.count, ada.baseline_count) == ("Ada Newcomer", entity_id("PERSON", "Ada Newcomer"),
                                                                   6, 0)
    assert ada.score > 5 and ada.lift > 50
    # Chile: 7 of 11 against 30 of 300 is a rise too, counted by name (country has no entity id)
    assert [t.value for t in report.trends["country"]] == ["Chile"]
    assert default_day(es_store) == (date(2019, 6, 26), True)


def test_a_floor_keeps_a_value_with_too_few_articles_out(es_store):
    write(es_store, corpus())
    assert compute_trends(es_store, DAY, min_count=7).trends["person"] == []
    assert compute_trends(es_store, DAY, facets=["person"], min_score=50).trends == {"person": []}


def test_the_trends_index_is_refreshed_idempotently(es_store, es_client):
    write(es_store, corpus())
    index = trends_index(es_store.alias)
    assert refresh_trends(es_store, [DAY]) == 2  # Ada Newcomer and Chile
    first = {h["_id"]: h["_source"] for h in es_client.search(index=index)["hits"]["hits"]}
    assert refresh_trends(es_store, [DAY]) == 2
    again = {h["_id"]: h["_source"] for h in es_client.search(index=index)["hits"]["hits"]}
    assert set(first) == set(again)
    assert {d["value"]: d["rank"] for d in again.values()} == {"Ada Newcomer": 1, "Chile": 1}
    ada = next(d for d in again.values() if d["facet"] == "person")
    assert (ada["day"], ada["window_days"], ada["count"], ada["articles"], ada["method"]) == \
        ("2019-06-25", 1, 6, 11, "binomial-surprise")
    # The articles change (the new name is taken out): its trend goes, Chile stays.
    es_store.bulk([BulkAction("delete", es_store.alias, f"doc-{i}") for i in range(300, 312)], refresh=True)
    write(es_store, corpus(injected=False))
    assert refresh_trends(es_store, [DAY]) == 1
    left = [h["_source"]["value"] for h in es_client.search(index=index)["hits"]["hits"]]
    assert left == ["Chile"]


def test_newsetl_trends_prints_and_answers_json(es_settings, es_store, monkeypatch, capsys, es_url):
    from pipeline.cli.main import main

    monkeypatch.setenv("ELASTICSEARCH_URL", es_url)
    monkeypatch.setenv("NEWSETL_INDEX_ALIAS", es_settings.index.alias)
    monkeypatch.setenv("NEWSETL_DATA_DIR", str(es_settings.data_dir))
    write(es_store, corpus())
    assert main(["trends", "--day", "2019-06-25", "--facet", "person", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["window"] == ["2019-06-25", "2019-06-26"] and result["baseline"] == ["2019-05-26", "2019-06-25"]
    assert [t["value"] for t in result["trends"]["person"]] == ["Ada Newcomer"]
    assert set(result["trends"]) == {"person"}
    assert main(["trends", "--day", "2019-06-25"]) == 0
    out = capsys.readouterr().out
    assert "2019-06-25: 11 article(s) against 300" in out and "Ada Newcomer" in out and "Chile" in out
    # Without --day: the newest dated article's day (the 26th, UTC), which has one article: nothing rose.
    assert main(["trends"]) == 0
    assert "2019-06-26 (the newest dated article's day)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["trends", "--facet", "nobody"])


@pytest.mark.parametrize(("docs", "expected"), [
    # (timeline_at, undated) per article -> the default day and whether it is a dated article's day
    ([], None),
    ([("2019-06-24T09:00:00Z", False), ("2019-06-25T09:00:00Z", False)], (date(2019, 6, 25), True)),
    # An archive ingested today: the undated page's ingest day is newer, the dated articles' day wins.
    ([("2019-06-24T09:00:00Z", False), ("2026-12-02T10:00:00Z", True)], (date(2019, 6, 24), True)),
    # No article dated: the newest ingest day.
    ([("2026-12-01T10:00:00Z", True), ("2026-12-02T10:00:00Z", True)], (date(2026, 12, 2), False)),
    # Published late on the 25th at UTC-3: the 26th in UTC.
    ([("2019-06-25T22:30:00-03:00", False), ("2026-12-02T10:00:00Z", True)], (date(2019, 6, 26), True)),
])
def test_the_default_day_is_the_newest_dated_articles_day(es_store, docs, expected):
    ensure_index(es_store)
    write(es_store, [article(n, when, undated=undated) for n, (when, undated) in enumerate(docs)])
    assert default_day(es_store) == expected


def test_newsetl_trends_says_which_day_it_chose(es_settings, es_store, monkeypatch, capsys, es_url):
    from pipeline.cli.main import main

    monkeypatch.setenv("ELASTICSEARCH_URL", es_url)
    monkeypatch.setenv("NEWSETL_INDEX_ALIAS", es_settings.index.alias)
    monkeypatch.setenv("NEWSETL_DATA_DIR", str(es_settings.data_dir))
    write(es_store, [article(1, "2026-12-02T10:00:00Z", undated=True)])
    assert main(["trends"]) == 0
    assert "2026-12-02 (the newest ingest day: no article is dated)" in capsys.readouterr().out
    write(es_store, [article(1, "2026-12-02T10:00:00Z", undated=True), article(2, "2019-06-24T09:00:00Z")])
    assert main(["trends"]) == 0
    assert "2019-06-24 (the newest dated article's day)" in capsys.readouterr().out


def test_a_nationality_word_is_shown_under_the_id_its_articles_carry(es_store):
    # A nationality word carries its country's id (place resolution, the registry); the norp names and ids of an
    # article are two flat arrays, so the id of "Japanese" is also seen beside "Chinese".
    japan, china = entity_id("GPE", "Japan"), entity_id("GPE", "China")
    docs = [{"title": "Osaka", "timeline_at": f"{DAY}T09:00:00Z", "published_at": f"{DAY}T09:00:00Z",
             "entities": {"norp": ["Japanese", "Chinese"], "norp_id": [japan, china]}},
            {"title": "Beijing", "timeline_at": f"{DAY}T10:00:00Z", "published_at": f"{DAY}T10:00:00Z",
             "entities": {"norp": ["Chinese"], "norp_id": [china]}}]
    write(es_store, docs)
    report = compute_trends(es_store, DAY, facets=["norp"], min_count=1, min_score=0)
    assert sorted((t.key, t.value) for t in report.trends["norp"]) == sorted([(japan, "Japanese"),
                                                                              (china, "Chinese")])
