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
from pipeline.core.dateorder import parse_date_order
from pipeline.core.records import RawArticle, Rejection
from pipeline.core.text import path_text

TEXT_SUFFIXES = (".txt",)
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
WARC_SUFFIXES = (".warc", ".warc.gz")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES + WARC_SUFFIXES

# Keys of a JSONL record that map onto RawArticle; every other key is kept, unindexed, in `extra`.
JSONL_KEYS = {"id", "url", "title", "text", "html", "published", "source", "language", "date_order"}

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
    ref = path_text(path)
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


# Bounds on what one JSON Lines file may cost, whatever its compressed size (a 1 MB .gz can inflate to gigabytes):
# a line is one article, and the longest real articles are well under 1 MB of JSON; a daily export file of
# a large site stays well under 1 GiB. Checked while streaming, so memory stays at one line.
MAX_JSONL_LINE_BYTES = 10 * 1024 * 1024
MAX_JSONL_FILE_BYTES = 1024 * 1024 * 1024
# An article record is a flat object with a few small nested values in `extra`; deeper nesting is hostile
# (CPython's parser recurses per level) and could not be indexed anyway (Elasticsearch's mapping depth limit is 20).
MAX_JSON_DEPTH = 32
# Past this many bad lines a file is not a file of articles with a few bad ones: the rest is one rejection
# instead of thousands of quarantine entries.
MAX_BAD_LINES = 100
_CHUNK = 1024 * 1024


class _FileTooLarge(Exception):
    """The decompressed file passed MAX_JSONL_FILE_BYTES."""


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def _bounded_lines(handle, *, max_line: int, max_file: int) -> Iterator[bytes | None]:
    """Lines of a binary stream, each read with at most `max_line` + 1 bytes in memory.

    Yields None for a line longer than `max_line` (its rest is read and dropped in chunks); raises _FileTooLarge
    once more than `max_file` bytes were read.
    """
    total = 0
    while True:
        line = handle.readline(max_line + 1)
        if not line:
            return
        total += len(line)
        if len(line) > max_line and not line.endswith(b"\n"):
            while True:  # skip to the end of the over-long line without holding it
                chunk = handle.readline(_CHUNK)
                total += len(chunk)
                if total > max_file:
                    raise _FileTooLarge
                if not chunk or chunk.endswith(b"\n"):
                    break
            line = None
        if total > max_file:
            raise _FileTooLarge
        yield line


def _read_jsonl(path: Path, source: str, *, max_line: int = MAX_JSONL_LINE_BYTES,
                max_file: int = MAX_JSONL_FILE_BYTES, max_bad: int = MAX_BAD_LINES) -> Iterator[RawArticle | Rejection]:
    name = path_text(path)
    line_no = 0
    bad = 0
    try:
        with _open_binary(path) as handle:
            for line_no, line in enumerate(_bounded_lines(handle, max_line=max_line, max_file=max_file), start=1):
                if line is None:
                    item: RawArticle | Rejection = Rejection(f"{name}:{line_no}", "read",
                                                             f"line longer than {max_line:,} bytes")
                elif not line.strip():
                    continue
                else:
                    item = _jsonl_record(line, ref=f"{name}:{line_no}", source=source)
                if isinstance(item, Rejection):
                    bad += 1
                    if bad > max_bad:
                        yield Rejection(name, "read", f"more than {max_bad} bad lines: the rest of the file, from "
                                        f"line {line_no}, is not read")
                        return
                yield item
    except _FileTooLarge:
        yield Rejection(name, "read", f"more than {max_file:,} bytes of JSON Lines (decompressed): the rest of the "
                        f"file, from line {line_no + 1}, is not read")
    except (OSError, EOFError, zlib.error) as exc:
        # A truncated or corrupt .gz: keep what was read, report the rest.
        yield Rejection(f"{name}:{line_no + 1}", "read", f"unreadable compressed data: {exc}")


def _jsonl_record(line: bytes, *, ref: str, source: str) -> RawArticle | Rejection:
    try:
        record: Any = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return Rejection(ref, "read", f"invalid JSON: {exc}")
    except RecursionError:
        return Rejection(ref, "read", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    if not isinstance(record, dict):
        return Rejection(ref, "read", f"expected a JSON object, got {type(record).__name__}")
    if json_depth(record, MAX_JSON_DEPTH + 1) > MAX_JSON_DEPTH:
        return Rejection(ref, "read", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return raw_article_from_record(record, ref=ref, default_source=source)


def json_depth(value: Any, stop: int) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0, `{}` is 1), counted without recursion up to `stop`."""
    deepest = 0
    pending = [(value, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, (dict, list)):
            depth += 1
            deepest = max(deepest, depth)
            if deepest >= stop:
                return deepest
            pending.extend((child, depth) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def raw_article_from_record(record: dict[str, Any], *, ref: str, default_source: str) -> RawArticle | Rejection:
    """Map a JSON object (`id,url,title,text|html,published,source,language,date_order`) onto a RawArticle; a
    `date_order` that is not DMY, MDY or YMD is ignored with a warning (the article is still read)."""
    html, text = record.get("html"), record.get("text")
    for key in ("id", "url", "title", "text", "html", "published", "source", "language", "date_order"):
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

    warnings: tuple[str, ...] = ()
    try:
        date_order = parse_date_order(opt("date_order"))
    except ValueError as exc:
        date_order, warnings = None, (f"ignored: {exc}",)
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
        date_order=date_order,
        extra={k: v for k, v in record.items() if k not in JSONL_KEYS},
        warnings=warnings,
    )
