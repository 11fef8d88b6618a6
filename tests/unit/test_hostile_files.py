"""Hostile files, one rule at a time (issue 23): bounded JSON Lines, cut WARC records, lying charsets, file names
that are not UTF-8 or leave the folder, terminal escapes, words of unspaced scripts. Files are generated here."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.collect.config import SourceConfig
from pipeline.collect.decoding import decode_text
from pipeline.collect.files import MAX_JSON_DEPTH, _read_jsonl, read_articles
from pipeline.collect.sources import units_of
from pipeline.collect.units import CollectContext, NoLedger
from pipeline.collect.warc import read_warc
from pipeline.core.records import RawArticle, Rejection
from pipeline.core.text import count_words, path_from_text, path_text, printable
from tests.hostile import gzip_lines, warc_bytes, warc_page

ARTICLE = json.dumps({"text": "The mayor of Lyon opened a new bridge on Monday."}).encode()


def split(items) -> tuple[list[RawArticle], list[Rejection]]:
    items = list(items)
    return [i for i in items if isinstance(i, RawArticle)], [i for i in items if isinstance(i, Rejection)]


# -- JSON Lines -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("depth", "rejected"), [
    (MAX_JSON_DEPTH - 1, False),  # the record object itself is one level
    (MAX_JSON_DEPTH, True),
    (5_000, True),
    (200_000, True),  # RecursionError inside json.loads
])
def test_a_deeply_nested_line_is_rejected_and_the_next_line_is_read(tmp_path, depth, rejected):
    path = tmp_path / "deep.jsonl"
    path.write_bytes(b'{"text": "x y z", "extra": ' + b"[" * depth + b"]" * depth + b"}\n" + ARTICLE + b"\n")
    articles, rejections = split(read_articles(path, "s"))
    assert [a.ref for a in articles] == ([] if rejected else [f"{path}:1"]) + [f"{path}:2"]
    assert [r.reason for r in rejections] == ([f"JSON nested deeper than {MAX_JSON_DEPTH} levels"] if rejected else [])


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_an_over_long_line_is_rejected_without_holding_it_and_the_next_line_is_read(tmp_path, suffix):
    data = b'{"text": "' + b"a" * 5000 + b'"}\n' + ARTICLE + b"\n"
    path = tmp_path / f"long{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    articles, rejections = split(_read_jsonl(path, "s", max_line=1024, max_file=10**6))
    assert [r.reason for r in rejections] == ["line longer than 1,024 bytes"]
    assert [a.ref for a in articles] == [f"{path}:2"]


def test_a_decompression_bomb_stops_at_the_file_limit_with_one_rejection(tmp_path):
    path = tmp_path / "bomb.jsonl.gz"
    path.write_bytes(gzip_lines(ARTICLE + b"\n", 100_000))  # ~5 MB inflated from a few KB
    articles, rejections = split(_read_jsonl(path, "s", max_line=1024, max_file=200 * len(ARTICLE)))
    assert len(articles) < 200
    assert len(rejections) == 1 and rejections[0].ref == str(path)
    assert rejections[0].reason.startswith(f"more than {200 * len(ARTICLE):,} bytes of JSON Lines (decompressed)")


def test_bad_lines_are_capped_per_file_then_the_file_is_one_rejection(tmp_path):
    path = tmp_path / "objects.jsonl.gz"
    path.write_bytes(gzip.compress(ARTICLE + b"\n" + b"{}\n" * 200_000))
    assert path.stat().st_size < 2000
    articles, rejections = split(_read_jsonl(path, "s", max_bad=10))
    assert len(articles) == 1 and len(rejections) == 11
    assert rejections[-1].reason == "more than 10 bad lines: the rest of the file, from line 12, is not read"


# -- WARC -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("where", ["header", "http headers", "payload"])
def test_a_cut_warc_record_is_a_rejection_and_the_whole_records_are_read(tmp_path, gz, where):
    data, starts = warc_bytes(3, gz=gz)
    last = data[starts[2]:]
    cut = starts[2] + {"header": 12, "http headers": last.find(b"HTTP/1.1") + 20 if not gz else len(last) // 3,
                       "payload": len(last) - 30}[where]
    path = tmp_path / f"cut.warc{'.gz' if gz else ''}"
    path.write_bytes(data[:cut])
    articles, rejections = split(read_warc(path, "s"))
    assert [a.content.encode() for a in articles] == [warc_page(0), warc_page(1)]
    assert len(rejections) == 1 and rejections[0].reason.startswith("truncated WARC record")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gz=st.booleans(), fraction=st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
def test_a_warc_cut_anywhere_never_yields_half_a_page_nor_drops_a_record_silently(tmp_path, gz, fraction):
    data, starts = warc_bytes(3, gz=gz)
    cut = int(len(data) * fraction)
    path = tmp_path / f"any.warc{'.gz' if gz else ''}"
    path.write_bytes(data[:cut])
    articles, rejections = split(read_warc(path, "s") if cut else [])
    pages = [warc_page(n) for n in range(3)]
    assert all(a.content.encode() in pages for a in articles)  # whole pages only
    begun = sum(start < cut for start in starts)
    assert len(articles) == begun or rejections  # a record that began in the file is read or reported


# -- charsets ---------------------------------------------------------------------------------------------------

RU = ("Президент России заявил в понедельник, что переговоры продолжатся на следующей неделе в Стамбуле. "
      "Министр иностранных дел подтвердил эту информацию журналистам.")
EN = "The café in Lyon raised its prices by 5 € on Monday, said the naïve owner. The mayor declined to comment."
PAGE = "<html><head><meta charset='{}'></head><body><p>{}</p></body></html>"


@pytest.mark.parametrize(("text", "label", "encoding", "decoded_as", "note"), [
    (RU, "iso-8859-1", "cp1251", "cp1251", "declared charset cp1252 does not match the bytes; decoded as cp1251"),
    (RU, "koi8-r", "cp1251", "cp1251", "declared charset koi8-r does not match the bytes; decoded as cp1251"),
    (RU, "windows-1251", "koi8-r", "koi8_r", "declared charset cp1251 does not match the bytes; decoded as koi8_r"),
    (EN, "utf-16", "cp1252", "cp1252", "declared charset utf-16 does not match the bytes; decoded as cp1252"),
    (RU, "windows-1251", "cp1251", "cp1251", None),  # a true label is believed, silently
    (RU, "koi8-r", "koi8-r", "koi8-r", None),
    (EN, "iso-8859-1", "cp1252", "cp1252", None),  # browsers read a latin-1 label as windows-1252
])
def test_a_declared_charset_is_checked_against_the_bytes(text, label, encoding, decoded_as, note):
    decoded = decode_text(PAGE.format(label, text).encode(encoding))
    assert decoded is not None and text in decoded.text
    assert (decoded.encoding, decoded.note) == (decoded_as, note)


# -- file names -------------------------------------------------------------------------------------------------


def test_a_file_name_that_is_not_utf8_is_read_and_referred_to_escaped(tmp_path):
    (tmp_path / "good.txt").write_text("The mayor of Lyon opened a new bridge on Monday.")
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt")
    with open(raw, "wb") as handle:
        handle.write(b"The mayor of Porto opened a new ferry line on Friday.")
    source = SourceConfig(name="s", kind="folder", location=str(tmp_path))
    units = list(units_of(source, CollectContext(fetcher_factory=lambda: None, ledger=NoLedger())))
    keys = sorted(unit.key for unit in units)
    assert keys == [f"{tmp_path}/caf\\xe9.txt", f"{tmp_path}/good.txt"]
    refs = [item.ref for unit in units for item in unit.read()]
    assert f"{tmp_path}/caf\\xe9.txt" in refs
    json.dumps(keys + refs, ensure_ascii=False).encode()  # valid Unicode: no lone surrogates
    assert path_from_text(keys[0]) == Path(os.fsdecode(raw))  # and quarantine retry finds the file again


def test_a_symlink_to_a_file_outside_the_folder_is_refused(tmp_path):
    folder, outside = tmp_path / "landing", tmp_path / "etc"
    folder.mkdir(), outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0:root:/root:/bin/bash and more words to be an article")
    (folder / "passwd.txt").symlink_to(outside / "passwd")
    (folder / "inside.txt").write_text("The mayor of Lyon opened a new bridge on Monday.")
    (folder / "alias.txt").symlink_to(folder / "inside.txt")  # a link inside the folder is fine
    source = SourceConfig(name="s", kind="folder", location=str(folder))
    items = [item for unit in units_of(source, CollectContext(fetcher_factory=lambda: None, ledger=NoLedger()))
             for item in unit.read()]
    articles, rejections = split(items)
    assert all("root:x" not in a.content for a in articles) and len(articles) == 1
    assert [r.reason for r in rejections] == [f"refused: links to {outside / 'passwd'}, outside the source's "
                                              f"folder {folder}"]


@pytest.mark.parametrize(("text", "shown"), [
    ("\x1b[31mred\x1b[0m.txt", "\\x1b[31mred\\x1b[0m.txt"),
    ("title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07"),
    ("evil\u202etxt.exe", "evil\\u202etxt.exe"),  # right-to-left override
    ("line\nbreak\r", "line\\nbreak\\r"),
    (os.fsdecode(b"caf\xe9"), "caf\\udce9"),
    ("Café 上海 ✓", "Café 上海 ✓"),
])
def test_printable_escapes_what_a_terminal_would_act_on(text, shown):
    assert printable(text) == shown


@given(st.text())
def test_printable_output_has_no_control_characters_and_keeps_the_rest(text):
    shown = printable(text)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in shown)
    if text.isprintable():
        assert shown == text or "\\u" in shown  # only invisible formatting characters change


@given(st.binary(min_size=1, max_size=40).filter(lambda b: b"/" not in b and b"\x00" not in b))
def test_path_text_is_valid_unicode_and_reversible(name):
    text = path_text(os.fsdecode(b"/tmp/" + name))
    text.encode("utf-8")
    if b"\\x" not in name:
        assert os.fsencode(path_from_text(text)) == b"/tmp/" + name or Path(text).exists()


# -- words ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "words"), [
    ("The mayor of Lyon opened a bridge.", 7),
    ("上海市政府宣布新大桥通车。", 13),  # one word per character (punctuation included), as word processors count
    ("東京都は新しい橋を発表した", 13),  # kanji, hiragana and katakana
    ("Shanghai 上海 opened", 4),
    ("서울시는 새 다리를 개통했다", 4),  # Korean is written with spaces
    ("", 0),
])
def test_words_are_counted_by_script(text, words):
    assert count_words(text) == words


def test_a_cli_error_naming_a_hostile_path_is_printed_escaped(monkeypatch, capsys, tmp_path):
    from pipeline.cli.main import main
    from pipeline.index.embedded import free_port

    monkeypatch.setenv("ELASTICSEARCH_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NEWSETL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "300")
    code = main(["ingest", str(tmp_path / "\x1b]0;pwned\x07missing.txt")])
    err = capsys.readouterr().err
    assert code == 2 and "\x1b]" not in err and "\x07" not in err
    assert "no such file or folder" in err and "\\x1b]0;pwned\\x07missing.txt" in err
