"""WARC archives (e.g. Common Crawl's CC-NEWS): HTML responses -> RawArticle, read with warcio."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from pipeline.collect.decoding import decode_text
from pipeline.core.records import RawArticle, Rejection

MAX_RECORD_BYTES = 10_000_000  # the fetcher's response limit: larger payloads are not news pages
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def read_warc(path: Path, source: str) -> Iterator[RawArticle | Rejection]:
    """Every successful HTML response in a .warc/.warc.gz file; `ref` is "<file>#<record offset>"."""
    records = 0
    offset = 0
    try:
        with path.open("rb") as handle:
            archive = ArchiveIterator(handle)
            for record in archive:
                if record.rec_type != "response" or record.http_headers is None:
                    continue  # requests, metadata, warcinfo: not pages
                records += 1
                # The payload first: asking for the offset reads the record to its end.
                item = _article(record, source=source)
                offset = archive.get_record_offset()
                if isinstance(item, RawArticle):
                    yield dataclasses.replace(item, ref=f"{path}#{offset}")
                elif item is not None:
                    yield Rejection(f"{path}#{offset}", item.stage, item.reason)
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
        yield Rejection(f"{path}#{offset}", "read", f"unreadable WARC data after {records} response record(s): "
                        f"{type(exc).__name__}: {exc}")


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
