"""`newsetl search --export`: every hit, paged with a point in time, as CSV or JSON lines with facet columns."""

from __future__ import annotations

import csv
import json

import pytest

from pipeline.cli.main import main
from pipeline.search.export import COLUMNS, FACET_COLUMNS, export
from pipeline.search.query import SearchRequest, search
from tests.integration.test_search import corpus  # noqa: F401 - the module-scoped fixture corpus

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("query", "filters"), [(None, {}), ("rates", {}), (None, {"source": ("WIRE",)})])
def test_export_writes_every_hit_across_pages(corpus, tmp_path, query, filters):  # noqa: F811
    store, _alias, _settings = corpus
    request = SearchRequest(query=query, filters=filters, size=1)  # the page size of a search does not apply
    expected = {hit["id"] for hit in search(store, SearchRequest(query=query, filters=filters, size=50)).hits}
    progress: list[tuple[int, int]] = []
    written = export(store, request, tmp_path / "out.csv", page_size=2,
                     on_progress=lambda done, total: progress.append((done, total)))
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert written == len(rows) == len(expected) and {r["id"] for r in rows} == expected
    assert list(rows[0]) == COLUMNS + FACET_COLUMNS
    assert progress[0] == (0, len(expected)) and progress[-1] == (len(expected), len(expected))
    dated = [r["published_at"] for r in rows if r["published_at"]]
    assert dated == sorted(dated, reverse=True) and all(r["published_at"] for r in rows[:len(dated)])


def test_jsonl_export_keeps_facet_values_as_lists(corpus, tmp_path):  # noqa: F811
    store, _alias, _settings = corpus
    export(store, SearchRequest(query="Carlsen"), tmp_path / "chess.jsonl")
    (record,) = [json.loads(line) for line in (tmp_path / "chess.jsonl").read_text(encoding="utf-8").splitlines()]
    assert record["title"] == "Chess final in Madrid" and "Ding Liren" in record["person"]
    assert "Madrid" in record["place"] and record["source"] == "daily" and record["mentioned_dates"]


def test_csv_joins_facet_values(corpus, tmp_path):  # noqa: F811
    store, _alias, _settings = corpus
    export(store, SearchRequest(query="Carlsen"), tmp_path / "chess.csv")
    (row,) = csv.DictReader((tmp_path / "chess.csv").open(encoding="utf-8"))
    assert set(row["place"].split("; ")) >= {"Madrid", "Paris"} and row["source"] == "daily"


def test_the_cli_exports_and_refuses_other_suffixes(corpus, tmp_path, monkeypatch, capsys, es_url):  # noqa: F811
    _store, alias, settings = corpus
    monkeypatch.setenv("ELASTICSEARCH_URL", es_url)
    monkeypatch.setenv("NEWSETL_INDEX_ALIAS", alias)
    monkeypatch.setenv("NEWSETL_DATA_DIR", str(settings.data_dir))
    assert main(["search", "rates", "--export", str(tmp_path / "r.jsonl")]) == 0
    assert "exported 3 article(s)" in capsys.readouterr().err
    assert len((tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()) == 3
    assert main(["search", "rates", "--export", str(tmp_path / "r.xlsx")]) == 2
    assert "must end in .csv or .jsonl" in capsys.readouterr().err
    assert not (tmp_path / "r.xlsx").exists() and not list(tmp_path.glob(".*partial"))
