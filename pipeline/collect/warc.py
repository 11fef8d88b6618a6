"""WARC archives (e.g. Common Crawl's CC-NEWS): HTML responses -> RawArticle, read with warcio."""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterator
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from pipeline.collect.decoding import decode_text
from pipeline.core.records import RawArticle, Rejection
from pipeline.core.text import path_text

MAX_RECORD_BYTES = 10_000_000  # the fetcher's response limit: larger payloads are not news pages
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def read_warc(path: Path, source: str) -> Iterator[RawArticle | Rejection]:
    """Every successful HTML response in a .warc/.warc.gz file; `ref` is "<file>#<record offset>"."""
    records = 0
    offset = end = 0
    name = path_text(path)
    try:
        with path.open("rb") as handle:
            archive = ArchiveIterator(handle)
            for record in archive:
                if record.rec_type == "response" and record.http_headers is not None:
                    records += 1
                    # The payload first: asking for the offset reads the record to its end.
                    item = _article(record, source=source)
                else:
                    item = None  # requests, metadata, warcinfo: not pages
                offset = archive.get_record_offset()
                end = offset + archive.get_record_length()
                if (cut := _truncation(record)) is not None:
                    yield Rejection(f"{name}#{offset}", "read", cut)
                elif isinstance(item, RawArticle):
                    yield dataclasses.replace(item, ref=f"{name}#{offset}")
                elif item is not None:
                    yield Rejection(f"{name}#{offset}", item.stage, item.reason)
            # warcio takes a cut at the very start of a record for the end of the archive: bytes after the last
            # whole record are a record cut inside its first header lines.
            size = handle.seek(0, 2)
            if size > end:
                yield Rejection(f"{name}#{end}", "read", f"truncated WARC record: the file ends with {size - end:,} "
                                f"byte(s) that are not a complete record")
    # warcio answers some cut headers with AttributeError/TypeError on a missing field: still a damaged file.
    except (ArchiveLoadFailed, OSError, EOFError, ValueError, zlib.error, AttributeError, TypeError) as exc:
        yield Rejection(f"{name}#{offset}", "read", f"unreadable WARC data after {records} response record(s): "
                        f"{type(exc).__name__}: {exc}")


def _truncation(record) -> str | None:
    """Why a record read to its end is incomplete, or None.

    warcio reads a record through a reader limited to its Content-Length and simply stops at the end of the file
    (or of a cut gzip member): bytes still owed mean the record was cut, and half a page is not an article. A
    header block without the fields WARC 1.1 requires (WARC-Type, Content-Length) is a record cut inside its header.
    """
    if not record.rec_headers.get_header("WARC-Type") or not record.rec_headers.get_header("Content-Length"):
        return "truncated WARC record: its header lacks WARC-Type or Content-Length (the file ends inside it)"
    missing = getattr(record.raw_stream, "limit", 0)
    if missing:
        declared = record.rec_headers.get_header("Content-Length")
        return f"truncated WARC record: {missing:,} of its {declared} bytes are missing (the file ends inside it)"
    return None


def _article(record, *, source: str, ref: str = "") -> RawArticle | Rejection | None:
    status = record.http_headers.get_statuscode() or ""
    content_type = (record.http_headers.get_header("Content-Type") or "").lower()
    if not status.startswith("2") or content_type.split(";")[0].strip() not in _HTML_TYPES:
        return None  # redirects, errors, images and scripts are part of any crawl, not rejected articles
    url = record.rec_headers.get_header("WARC-Target-URI")
    stream = record.content_stream()
    body = bytearray()
    # Chunked: warcio's decoding reader answers a single read() larger than its buffer with nothing.
    while chunk := stream.read(65536):
        body += chunk
        if len(body) > MAX_RECORD_BYTES:
            return Rejection(ref, "read", f"WARC record payload larger than {MAX_RECORD_BYTES:,} bytes")
    if _truncation(record) is not None:
        return None  # reported by read_warc, which sees every record
    body = bytes(body)
    charset = None
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key == "charset" and value:
            charset = value.strip("\"' ")
    decoded = decode_text(body, declared=charset)
    if decoded is None:
        return Rejection(ref, "read", "binary payload in an HTML response record")
    if not decoded.text.strip():
        return Rejection(ref, "read", "empty HTML response record")
    return RawArticle(ref=ref, source=source, format="html", content=decoded.text, url=url,
                      warnings=(decoded.note,) if decoded.note else (), canonical_from_page=True)
