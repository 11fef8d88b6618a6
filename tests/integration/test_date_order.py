"""Numeric dates ("7/8/07") through the whole pipeline, read in the order of the article's source or locale: from a
configured source, a JSONL record's `language`/`date_order`, a page's <html lang>; an article with no known order
leaves an ambiguous one out, and a re-enrichment reads it as the first enrichment did."""

from __future__ import annotations

import json

import pytest
import yaml

from pipeline.collect.config import SourceConfig
from pipeline.runners.stream import ingest, reenrich
from tests.conftest import REPO

pytestmark = pytest.mark.integration

SIGNED = "The two companies signed the agreement on 7/8/07 in London, a spokesman said on Tuesday."
RECORDS = [
    # (id, record keys beyond text/published, the value "7/8/07" must get; None: no date for it)
    ("gb", {"language": "en-GB"}, "2007-08-07", "DMY"),
    ("us", {"language": "en-US"}, "2007-07-08", "MDY"),
    ("en", {"language": "en"}, None, None),  # English is written both ways: no order, no guess
    ("stated", {"language": "en-GB", "date_order": "MDY"}, "2007-07-08", "MDY"),  # the record's order first
    ("bad", {"date_order": "DDMM", "language": "en-US"}, "2007-07-08", "MDY"),  # ignored, with a warning
]
PAGE = ("<html lang='en-GB'><head><title>Merger signed</title></head><body><article><h1>Merger signed</h1>"
        f"<p>{SIGNED}</p><p>The deal still needs the approval of the regulator, which will rule in the autumn.</p>"
        "</article></body></html>")


def by_id(client, alias: str) -> dict[str, dict]:
    client.indices.refresh(index=alias)
    hits = client.search(index=alias, size=100)["hits"]["hits"]
    return {(hit["_source"]["extra"].get("key") or hit["_source"]["input_ref"]): hit["_source"] for hit in hits}


def signed_on(doc: dict) -> set[str]:
    return {value for value in doc["mentioned_dates"] if value.startswith("2007")}


@pytest.fixture
def landing(tmp_path):
    folder = tmp_path / "records"
    folder.mkdir()
    lines = [json.dumps({"id": key, "key": key, "published": "2019-06-25", "title": f"Deal {key}", "text": SIGNED,
                         **fields}) for key, fields, _value, _order in RECORDS]
    (folder / "deals.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "page.html").write_text(PAGE, encoding="utf-8")
    configured = tmp_path / "configured"
    configured.mkdir()
    (configured / "wire.jsonl").write_text(json.dumps({"id": "wire", "key": "wire", "published": "2019-06-25",
                                                       "title": "Wire deal", "text": SIGNED}) + "\n",
                                           encoding="utf-8")
    return folder, configured


def test_numeric_dates_follow_the_source_or_locale_and_survive_re_enrichment(landing, es_settings, es_client,
                                                                              tmp_path):
    folder, configured = landing
    sources = [SourceConfig(name="records", kind="folder", location=str(folder)),
               # a source that declares its order: its articles state no language at all
               SourceConfig(name="wire", kind="folder", location=str(configured), date_order="mdy")]
    report = ingest([], es_settings, sources=sources)
    assert (report.indexed, report.rejected) == (len(RECORDS) + 2, 0)
    docs = by_id(es_client, es_settings.index.alias)

    for key, _fields, value, order in RECORDS:
        assert signed_on(docs[key]) == ({value} if value else set()), key
        assert docs[key].get("date_order") == order, key
    page = next(doc for ref, doc in docs.items() if ref.endswith("page.html"))
    assert (page["date_order"], signed_on(page)) == ("DMY", {"2007-08-07"})  # <html lang='en-GB'>
    assert (docs["wire"]["date_order"], signed_on(docs["wire"])) == ("MDY", {"2007-07-08"})
    assert [w["message"] for w in report.warnings if "date order" in w["message"]] == \
        ["ignored: date order must be one of DMY, MDY, YMD, got 'DDMM'"]

    # Re-enriched from the index (new entity rules): every article reads its dates in the order it was indexed with.
    tree = yaml.safe_load((REPO / "config" / "entities.yml").read_text())
    tree["blocklist"] = [*(tree.get("blocklist") or []), "Zyxwv"]
    rules = tmp_path / "entities.yml"
    rules.write_text(yaml.safe_dump(tree, allow_unicode=True))
    again = reenrich(es_settings.model_copy(update={"entities_config": rules}))
    assert (again.enriched, again.rejected) == (len(RECORDS) + 2, 0)
    after = by_id(es_client, es_settings.index.alias)
    assert {k: (d.get("date_order"), d["mentioned_dates"]) for k, d in after.items()} == \
        {k: (d.get("date_order"), d["mentioned_dates"]) for k, d in docs.items()}
