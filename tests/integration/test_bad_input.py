"""Bad input in one batch: each bad article gets its own clear outcome in the run report, the rest is indexed."""

from __future__ import annotations

import json
import uuid

import pytest
from elasticsearch import Elasticsearch

from pipeline.clean.article import MAX_BODY_WORDS
from pipeline.runners.stream import ingest
from tests.conftest import drop_alias, make_settings
from tests.integration.test_faults import documents

pytestmark = pytest.mark.integration

GOOD = "The mayor of Lyon opened a new bridge over the Rhone on Monday after three years of works."


def good(n: int) -> str:
    """A distinct valid article text (identical texts without ids would rightly count as one article)."""
    return GOOD.replace("three", ["two", "four", "five", "six", "seven"][n])
PAGE = "<html><head><title>{title}</title></head><body><article><p>{text}</p></article></body></html>"

# (file name, content, outcome, what the report must say). Outcomes: "rejected" (not indexed, reason given),
# "warned" (indexed, the repair or cut named in a warning), "indexed" (nothing to say).
CASES = [
    ("empty.txt", b"", "rejected", "empty file"),
    ("image.html", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40, "rejected", "binary content"),
    ("cp1252.html", PAGE.format(title="Caf\xe9 prices", text="The caf\xe9 in Lyon raised its prices by 5 \u20ac on "
                                "Monday, said the na\xefve owner.").replace("<head>", "<head><meta charset='utf-8'>")
     .encode("cp1252"), "warned", "not valid UTF-8 (declared utf-8); decoded as cp1252"),
    ("no-charset.html", PAGE.format(title="Men\xfc", text="The new men\xfc of the caf\xe9 in Porto costs 9 \u20ac, "
                                    "said the owner on Friday.").encode("cp1252"), "warned",
     "not valid UTF-8 (no usable charset declared); decoded as cp1252"),
    ("huge.html", (PAGE.format(title="Huge", text=GOOD) + "<div>" + "<span>filler</span>" * 1_200_000 + "</div>")
     .encode(), "rejected", "page too large"),
    ("nested.html", ("<html><body>" + "<div>" * 100_000 + f"<p>{good(0)}</p>" + "</div>" * 100_000 + "</body></html>")
     .encode(), "indexed", None),
    ("scripts.html", b"<html><head><style>p{color:red}</style><script>var a = 1;</script></head>"
                     b"<body><script>track()</script></body></html>", "rejected", "no article text found"),
    ("lines.jsonl", b'{"id": "j1", "text": "' + good(1).encode() + b'"}\n{not json\n[1, 2]\n"a string"\n',
     "mixed", None),
    ("no-date.txt", good(2).encode(), "indexed", None),
    ("impossible.txt", b"date 2019-02-30\n" + good(3).encode(), "warned",
     "indexed undated: unparseable date '2019-02-30'"),
    ("future.txt", b"date 2999-01-01\n" + good(4).encode(), "warned", "indexed undated"),
    ("million.txt", ("A long report on the Lyon bridge works. " * 125_000).encode(), "warned",
     f"body cut to {MAX_BODY_WORDS:,} of 1,000,000 words"),
    ("control.txt", b"date 2019-06-25\nThe mayor\x00 of Lyon\x07 opened a new\x1b bridge on Monday after years.",
     "indexed", None),
    ("dup-a.jsonl", json.dumps({"id": "same", "text": "Porto opened a new ferry line on Friday morning."}).encode(),
     "indexed", None),
    ("dup-b.jsonl", json.dumps({"id": "same", "text": "Porto opened a new ferry line on Friday morning."}).encode(),
     "rejected", "duplicate of"),
]


@pytest.fixture(scope="module")
def batch(es_url, tmp_path_factory):
    """One batch with every bad input and a good article, ingested once for all tests of this module."""
    tmp_path = tmp_path_factory.mktemp("bad-input")
    folder = tmp_path / "batch"
    folder.mkdir()
    for name, content, _outcome, _message in CASES:
        (folder / name).write_bytes(content)
    (folder / "good.txt").write_text(f"date 2019-06-25\n{GOOD} The council thanked the engineers.")
    name = f"test-{uuid.uuid4().hex[:10]}"
    settings = make_settings(tmp_path, es_url, name)
    yield ingest([folder], settings), folder, settings
    drop_alias(es_url, name)


@pytest.fixture
def batch_report(batch):
    report, folder, _settings = batch
    return report, folder


def _outcomes(report, ref: str) -> tuple[list[str], list[str]]:
    rejected = [r["reason"] for r in report.rejections if r["ref"].startswith(ref)]
    warned = [w["message"] for w in report.warnings if w["ref"].startswith(ref)]
    return rejected, warned


@pytest.mark.parametrize("name,outcome,message", [(n, o, m) for n, _c, o, m in CASES if o != "mixed"])
def test_each_bad_input_gets_its_own_clear_outcome(batch_report, name, outcome, message):
    report, folder = batch_report
    rejected, warned = _outcomes(report, str(folder / name))
    if outcome == "rejected":
        assert len(rejected) == 1 and message in rejected[0] and not warned
    elif outcome == "warned":
        assert not rejected and len(warned) == 1 and message in warned[0]
    else:
        assert not rejected and not warned


def test_the_rest_of_the_batch_is_indexed(batch, es_url):
    report, folder, es_settings = batch
    es_client = Elasticsearch(es_url)
    rejected, _ = _outcomes(report, str(folder / "lines.jsonl"))
    assert sorted(r.split(":")[0] for r in rejected) == ["expected a JSON object, got list",
                                                          "expected a JSON object, got str", "invalid JSON"]
    docs = documents(es_client, es_settings.index.alias)
    expected = {n for n, _c, o, _m in CASES if o in ("indexed", "warned", "mixed")} | {"good.txt"}
    assert {d["input_ref"].split("/")[-1].split(":")[0] for d in docs.values()} == expected
    assert report.indexed == len(docs) == len(expected)
    assert report.seen == report.indexed + report.rejected

    by_name = {d["input_ref"].split("/")[-1].split(":")[0]: d for d in docs.values()}
    assert by_name["cp1252.html"]["title"] == "Café prices" and "5 €" in by_name["cp1252.html"]["body"]
    assert by_name["impossible.txt"]["undated"] and by_name["future.txt"]["undated"]
    assert by_name["no-date.txt"]["undated"] and "published_error" not in by_name["no-date.txt"]["extra"]
    assert by_name["million.txt"]["word_count"] == MAX_BODY_WORDS
    assert by_name["million.txt"]["extra"]["truncated_from_words"] == 1_000_000
    assert by_name["control.txt"]["body"] == "The mayor of Lyon opened a new bridge on Monday after years."
