"""Hostile files in one landing folder: each gets a bounded, specific outcome, nothing escapes the folder, and
every other article of the folder is indexed (issue 23, "Hostile input").

All files are generated here; nothing hostile is committed.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import uuid

import pytest
from elasticsearch import Elasticsearch
from rich.console import Console

from pipeline.cli.report import print_report
from pipeline.collect.files import MAX_BAD_LINES, MAX_JSON_DEPTH, MAX_JSONL_LINE_BYTES
from pipeline.runners.stream import ingest
from tests.conftest import drop_alias, make_settings
from tests.hostile import gzip_lines, warc_bytes
from tests.integration.test_faults import documents

pytestmark = pytest.mark.integration

GOOD = "The mayor of Lyon opened a new bridge over the Rhone on Monday after {} years of works."
ZH = "上海市政府星期一宣布，一座横跨黄浦江的新大桥将于七月正式通车，工程历时三年，耗资约四十亿元人民币。"
JA = "東京都は月曜日、隅田川に架かる新しい橋が七月に開通すると発表した。工事は三年かかり、費用は約四百億円だった。"
RU = ("Президент России заявил в понедельник, что переговоры продолжатся на следующей неделе в Стамбуле. "
      "Министр иностранных дел подтвердил эту информацию журналистам во вторник.")
EN_1252 = "The café in Lyon raised its prices by 5 € on Monday, said the naïve owner of the place on the square."
PAGE = "<html><head><meta charset='{charset}'><title>{title}</title></head><body><article><p>{text}</p></article>" \
       "</body></html>"
NOT_UTF8_NAME = b"caf\xe9-latin1.txt"  # a name written by a Latin-1 system
ESCAPE_NAME = "\x1b[31mred\x1b]0;pwned\x07.txt"  # colours the terminal and sets its title when printed raw


def nested(depth: int) -> bytes:
    return b'{"text": "deep", "extra": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.fixture(scope="module")
def batch(es_url, tmp_path_factory):
    """One landing folder with every hostile file beside good ones, ingested once."""
    tmp = tmp_path_factory.mktemp("hostile")
    folder, outside = tmp / "landing", tmp / "outside"
    folder.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("date 2019-06-25\nThe admin password of the intranet is hunter2, said the "
                                        "operator on Monday.")
    (folder / "passwd.txt").symlink_to(outside / "secret.txt")
    (folder / "good.txt").write_text("date 2019-06-25\n" + GOOD.format("three"))
    lines = [json.dumps({"id": "j1", "text": GOOD.format("four")}).encode(), nested(100_000),
             nested(MAX_JSON_DEPTH + 8), json.dumps({"id": "j2", "text": GOOD.format("five")}).encode()]
    (folder / "deep.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (folder / "empty-objects.jsonl.gz").write_bytes(gzip_lines(b"{}\n", 200_000))
    long_line = b'{"text": "' + b"a" * MAX_JSONL_LINE_BYTES + b'"}\n'
    (folder / "long-line.jsonl.gz").write_bytes(
        gzip.compress(long_line + json.dumps({"id": "j3", "text": GOOD.format("six")}).encode() + b"\n"))
    with open(os.path.join(os.fsencode(folder), NOT_UTF8_NAME), "wb") as handle:
        handle.write(b"date 2019-06-25\n" + GOOD.format("seven").encode())
    (folder / ESCAPE_NAME).write_text("Too short.")  # rejected, so its name is printed in the summary
    (folder / "zh.txt").write_text("date 2019-06-25\n" + ZH)
    (folder / "ja.txt").write_text("date 2019-06-25\n" + JA)
    (folder / "ru.html").write_bytes(PAGE.format(charset="iso-8859-1", title="Переговоры", text=RU).encode("cp1251"))
    (folder / "utf16.html").write_bytes(PAGE.format(charset="utf-16", title="Café prices", text=EN_1252)
                                        .encode("cp1252"))
    for gz in (False, True):
        data, starts = warc_bytes(3, gz=gz, site=f"gz{gz}.example")
        cut = starts[2] + (len(data) - starts[2]) // 2  # half of the last record
        (folder / f"cut.warc{'.gz' if gz else ''}").write_bytes(data[:cut])
    name = f"test-{uuid.uuid4().hex[:10]}"
    settings = make_settings(tmp, es_url, name)
    yield ingest([folder], settings), folder, settings
    drop_alias(es_url, name)


def by_file(report, kind: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in getattr(report, kind):
        name = item["ref"].rsplit("/", 1)[-1].split(":")[0].split("#")[0]
        found.setdefault(name, []).append(item["reason"] if kind == "rejections" else item["message"])
    return found


def test_each_hostile_file_is_rejected_or_repaired_with_a_specific_reason(batch):
    report, _folder, _settings = batch
    rejected = by_file(report, "rejections")
    assert rejected["deep.jsonl"] == [f"JSON nested deeper than {MAX_JSON_DEPTH} levels"] * 2
    assert len(rejected["empty-objects.jsonl.gz"]) == MAX_BAD_LINES + 1
    assert rejected["empty-objects.jsonl.gz"][-1].startswith(f"more than {MAX_BAD_LINES} bad lines")
    assert rejected["long-line.jsonl.gz"] == [f"line longer than {MAX_JSONL_LINE_BYTES:,} bytes"]
    assert rejected["passwd.txt"][0].startswith("refused: links to") and "outside" in rejected["passwd.txt"][0]
    for name in ("cut.warc", "cut.warc.gz"):
        assert len(rejected[name]) == 1 and rejected[name][0].startswith("truncated WARC record"), rejected[name]
    warned = by_file(report, "warnings")
    assert warned["ru.html"] == ["declared charset cp1252 does not match the bytes; decoded as cp1251"]
    assert warned["utf16.html"] == ["declared charset utf-16 does not match the bytes; decoded as cp1252"]
    assert rejected[ESCAPE_NAME] == ["too little text to be an article (2 words)"]
    assert set(rejected) == {"deep.jsonl", "empty-objects.jsonl.gz", "long-line.jsonl.gz", "passwd.txt", "cut.warc",
                             "cut.warc.gz", ESCAPE_NAME}


def test_everything_else_in_the_folder_is_indexed_and_nothing_outside_it(batch, es_url):
    report, folder, settings = batch
    docs = documents(Elasticsearch(es_url), settings.index.alias)
    refs = {d["input_ref"].rsplit("/", 1)[-1]: d for d in docs.values()}
    warc = [ref for ref in refs if ref.startswith("cut.warc")]
    assert set(refs) - set(warc) == {"good.txt", "deep.jsonl:1", "deep.jsonl:4", "long-line.jsonl.gz:2",
                                     "caf\\xe9-latin1.txt", "zh.txt", "ja.txt", "ru.html", "utf16.html"}
    assert sorted(ref.split("#")[0] for ref in warc) == ["cut.warc"] * 2 + ["cut.warc.gz"] * 2  # the whole records
    assert not any("hunter2" in d["body"] for d in docs.values())
    # One word per Chinese/Japanese character; a punctuation mark between them is a "word" of its own too.
    assert refs["zh.txt"]["word_count"] == len(ZH) and refs["ja.txt"]["word_count"] == len(JA)
    assert refs["ja.txt"]["language"] == "ja" and refs["zh.txt"]["language"] == "zh"
    assert "Президент России" in refs["ru.html"]["body"] and refs["ru.html"]["language"] == "ru"
    assert "5 €" in refs["utf16.html"]["body"] and refs["utf16.html"]["title"] == "Café prices"
    assert report.indexed == len(docs)


def test_the_report_is_valid_json_and_prints_names_escaped(batch):
    report, _folder, _settings = batch
    json.dumps(report.to_dict(), ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
    out = io.StringIO()
    print_report(report.to_dict(), Console(file=out, force_terminal=True, width=400, highlight=False))
    shown = out.getvalue()
    assert "\x1b[31mred" not in shown and "\x1b]0;" not in shown and "\x07" not in shown
    assert "\\x1b[31mred" in shown
