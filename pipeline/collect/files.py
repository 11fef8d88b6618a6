"""Landing-folder source: .txt (seed format), .html/.htm and .jsonl/.jsonl.gz files -> RawArticle or Rejection."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pipeline.collect.decoding import decode_text
from pipeline.collect.warc import read_warc
from pipeline.core.records import RawArticle, Rejection

TEXT_SUFFIXES = (".txt",)
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
WARC_SUFFIXES = (".warc", ".warc.gz")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES + WARC_SUFFIXES

# Keys of a JSONL record that map onto RawArticle; every other key is kept, unindexed, in `extra`.
JSONL_KEYS = {"id", "url", "title", "text", "html", "published", "source", "language"}

# The seed format: an optional "date YYYY-MM-DD" header, on its own line or followed directly by the text.
_DATE_HEADER = re.compile(r"\A\s*date\s+(\S+)(?:[ \t]+|\s*\n)", re.IGNORECASE)

MAX_FILE_BYTES = 50 * 1024 * 1024


def iter_files(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Expand files and folders (recursively, hidden entries skipped) into a sorted, de-duplicated file list."""
    seen: set[Path] = set()
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.exists():
            found = [path]
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
        for file in found:
            if file not in seen:
                seen.add(file)
                yield file


def read_articles(path: Path, source: str) -> Iterator[RawArticle | Rejection]:
    """Read one file into raw articles; a bad file or line becomes a Rejection, never an exception."""
    ref = str(path)
    name = path.name.lower()
    if not name.endswith(SUPPORTED_SUFFIXES):
        yield Rejection(ref, "read", f"unsupported file type {path.suffix or '(none)'!r}; "
                        f"expected one of {', '.join(SUPPORTED_SUFFIXES)}")
        return
    try:
        size = path.stat().st_size
        if size == 0:
            yield Rejection(ref, "read", "empty file")
            return
        if name.endswith(WARC_SUFFIXES):
            yield from read_warc(path, source)
            return
        if size > MAX_FILE_BYTES and not name.endswith(JSONL_SUFFIXES):
            yield Rejection(ref, "read", f"file too large ({size} bytes > {MAX_FILE_BYTES})")
            return
        if name.endswith(JSONL_SUFFIXES):
            yield from _read_jsonl(path, source)
            return
        data = path.read_bytes()
    except PermissionError as exc:
        yield Rejection(ref, "read", f"cannot read file: {exc.strerror}")
        return
    decoded = decode_text(data)
    if decoded is None:
        yield Rejection(ref, "read", "binary content: not a text or HTML file")
        return
    if not decoded.text.strip():
        yield Rejection(ref, "read", "file contains only whitespace")
        return
    warnings = (decoded.note,) if decoded.note else ()
    if name.endswith(HTML_SUFFIXES):
        yield RawArticle(ref=ref, source=source, format="html", content=decoded.text, warnings=warnings)
    else:
        yield parse_text_article(decoded.text, ref=ref, source=source, warnings=warnings)


def parse_text_article(text: str, *, ref: str, source: str, warnings: tuple[str, ...] = ()) -> RawArticle:
    """Parse the seed format: an optional `date YYYY-MM-DD` header, then plain text paragraphs."""
    published = None
    match = _DATE_HEADER.match(text)
    if match:
        published = match.group(1)
        text = text[match.end():]
    return RawArticle(ref=ref, source=source, format="text", content=text, published=published, warnings=warnings)


def _open_lines(path: Path) -> Iterator[bytes]:
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as handle:
            yield from handle
    else:
        with path.open("rb") as handle:
            yield from handle


def _read_jsonl(path: Path, source: str) -> Iterator[RawArticle | Rejection]:
    line_no = 0
    try:
        for line_no, line in enumerate(_open_lines(path), start=1):  # noqa: B007 - line_no used after loop
            if not line.strip():
                continue
            yield _jsonl_record(line, ref=f"{path}:{line_no}", source=source)
    except (OSError, EOFError, zlib.error) as exc:
        # A truncated or corrupt .gz: keep what was read, report the rest.
        yield Rejection(f"{path}:{line_no + 1}", "read", f"unreadable compressed data: {exc}")


def _jsonl_record(line: bytes, *, ref: str, source: str) -> RawArticle | Rejection:
    try:
        record: Any = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return Rejection(ref, "read", f"invalid JSON: {exc}")
    if not isinstance(record, dict):
        return Rejection(ref, "read", f"expected a JSON object, got {type(record).__name__}")
    return raw_article_from_record(record, ref=ref, default_source=source)


def raw_article_from_record(record: dict[str, Any], *, ref: str, default_source: str) -> RawArticle | Rejection:
    """Map a JSON object (`id,url,title,text|html,published,source`) onto a RawArticle."""
    html, text = record.get("html"), record.get("text")
    for key in ("id", "url", "title", "text", "html", "published", "source", "language"):
        value = record.get(key)
        if value is not None and not isinstance(value, (str, int)) or isinstance(value, bool):
            return Rejection(ref, "read", f"field {key!r} must be a string, got {type(value).__name__}")
    if isinstance(html, str) and html.strip():
        fmt, content = "html", html
    elif isinstance(text, str) and text.strip():
        fmt, content = "text", text
    else:
        return Rejection(ref, "read", "record has neither a non-empty 'text' nor 'html'")

    def opt(key: str) -> str | None:
        value = record.get(key)
        return str(value) if value is not None and str(value).strip() else None

    return RawArticle(
        ref=ref,
        source=opt("source") or default_source,
        format=fmt,
        content=content,
        id=opt("id"),
        url=opt("url"),
        title=opt("title"),
        published=opt("published"),
        language=opt("language"),
        extra={k: v for k, v in record.items() if k not in JSONL_KEYS},
    )
