"""Landing files become raw articles; every bad file or line becomes a specific rejection."""

import gzip
import json

import pytest

from pipeline.collect.decoding import decode_text
from pipeline.collect.files import iter_files, parse_text_article, read_articles
from pipeline.core.records import RawArticle, Rejection


@pytest.mark.parametrize(
    ("content", "published", "text_start"),
    [
        (" date 2019-06-25 Turkey's Defense Minister held talks.", "2019-06-25", "Turkey's"),
        ("date 2019-06-25\nTurkey's Defense Minister held talks.", "2019-06-25", "Turkey's"),
        ("DATE 2019-06-25\n\nFirst paragraph.", "2019-06-25", "First"),
        ("Turkey's Defense Minister held talks.", None, "Turkey's"),
        ("dated material arrived", None, "dated"),
    ],
)
def test_seed_format_header(content, published, text_start):
    raw = parse_text_article(content, ref="r", source="s")
    assert raw.published == published
    assert raw.content.startswith(text_start)


def read_one(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return list(read_articles(path, "landing"))


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.html", b"  \n\n ", "only whitespace"),
        ("image.html", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary content"),
        ("notes.md", "# notes", "unsupported file type '.md'"),
    ],
)
def test_bad_files_are_rejected_with_a_reason(tmp_path, name, data, reason):
    (result,) = read_one(tmp_path, name, data)
    assert isinstance(result, Rejection)
    assert result.stage == "read"
    assert reason in result.reason


def test_jsonl_lines_are_read_independently(tmp_path):
    lines = [
        json.dumps({"id": "a1", "title": "T", "text": "Body text", "published": "2019-06-25", "section": "world"}),
        "{not json",
        "[1, 2]",
        json.dumps({"id": "a2", "title": "T"}),
        "",
        json.dumps({"html": "<p>Hello</p>", "url": "https://x.example/a", "source": "Wire"}),
        json.dumps({"text": "Body", "title": {"nested": True}}),
    ]
    results = read_one(tmp_path, "batch.jsonl", "\n".join(lines) + "\n")
    assert [type(r).__name__ for r in results] == [
        "RawArticle", "Rejection", "Rejection", "Rejection", "RawArticle", "Rejection"]
    first, bad_json, not_object, no_text, html, bad_type = results
    assert first.extra == {"section": "world"} and first.format == "text" and first.id == "a1"
    assert bad_json.ref.endswith("batch.jsonl:2") and "invalid JSON" in bad_json.reason
    assert "expected a JSON object, got list" in not_object.reason
    assert "neither a non-empty 'text' nor 'html'" in no_text.reason
    assert html.format == "html" and html.source == "Wire" and html.url == "https://x.example/a"
    assert "field 'title' must be a string" in bad_type.reason


def test_gzipped_jsonl_and_truncated_gzip(tmp_path):
    good = tmp_path / "a.jsonl.gz"
    good.write_bytes(gzip.compress(b'{"title": "T", "text": "Some text"}\n'))
    (article,) = read_articles(good, "landing")
    assert isinstance(article, RawArticle)
    truncated = tmp_path / "b.jsonl.gz"
    lines = b"".join(b'{"title": "T", "text": "Text %d %x"}\n' % (i, i * 7919) for i in range(5000))
    truncated.write_bytes(gzip.compress(lines)[:2000])
    results = list(read_articles(truncated, "landing"))
    assert isinstance(results[-1], Rejection) and "unreadable compressed data" in results[-1].reason


def test_cp1252_bytes_are_decoded(tmp_path):
    (raw,) = read_one(tmp_path, "old.txt", "Caf\u00e9 owners in S\u00e3o Paulo \u2013 a story".encode("cp1252"))
    assert isinstance(raw, RawArticle)
    assert "Caf\u00e9" in raw.content


def test_iter_files_expands_folders_and_skips_hidden(tmp_path):
    (tmp_path / "d" / ".cache").mkdir(parents=True)
    (tmp_path / "d" / "b.txt").write_text("x")
    (tmp_path / "d" / "a.html").write_text("x")
    (tmp_path / "d" / ".cache" / "c.txt").write_text("x")
    (tmp_path / "e.jsonl").write_text("x")
    names = [p.name for p in iter_files([tmp_path / "d", tmp_path / "e.jsonl", tmp_path / "d" / "a.html"])]
    assert names == ["a.html", "b.txt", "e.jsonl"]
    with pytest.raises(FileNotFoundError, match="no such file"):
        list(iter_files([tmp_path / "missing"]))


CAFE = "<meta charset='utf-8'><p>The café in Lyon raised its prices by 5 € on Monday, said the naïve owner.</p>"


@pytest.mark.parametrize(
    ("data", "text_part", "encoding", "note"),
    [
        ("Grüße aus Köln".encode(), "Grüße", "utf-8", None),
        (b"\xef\xbb\xbfWith a byte-order mark", "With a", "utf-8", None),
        (CAFE.encode("cp1252"), "café", "cp1252", "not valid UTF-8 (declared utf-8); decoded as cp1252"),
        (CAFE.replace("utf-8", "windows-1252").encode("cp1252"), "5 €", "cp1252", None),  # declared and right
        ("<meta charset=windows-1251><p>Правительство объявило</p>".encode("cp1251"), "Правительство", "cp1251",
         None),
        (b"A stray\x00 NUL and a bell\x07 in otherwise plain text of a reasonable length.", "stray", "utf-8", None),
    ],
)
def test_decode_text_repairs_wrong_or_missing_charsets(data, text_part, encoding, note):
    decoded = decode_text(data)
    assert text_part in decoded.text
    assert (decoded.encoding, decoded.note) == (encoding, note)


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
                                  b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4])
def test_decode_text_refuses_binary_data(data):
    assert decode_text(data) is None


def test_wrong_charset_is_read_with_a_warning(tmp_path):
    [raw] = read_one(tmp_path, "page.html", CAFE.encode("cp1252"))
    assert "café" in raw.content and raw.warnings == ("not valid UTF-8 (declared utf-8); decoded as cp1252",)
