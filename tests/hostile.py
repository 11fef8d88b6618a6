"""Hostile inputs built in the test that uses them (never committed as binaries): cut WARC files, gzip bombs."""

from __future__ import annotations

import gzip
import io

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def warc_page(number: int, site: str = "news.example") -> bytes:
    """A distinct news page for a WARC response record."""
    text = (f"Page {number} of {site}: the council of Lyon approved the budget for the new bridge over the Rhone "
            f"on Monday evening, after a debate of {number + 3} hours, and the works start in July.")
    page = f"<html><head><title>Lyon budget {number}</title></head><body><article><p>{text}</p></article></body></html>"
    return page.encode()


def warc_bytes(pages: int, *, gz: bool, site: str = "news.example") -> tuple[bytes, list[int]]:
    """A WARC file of `pages` HTML response records and the offset where each record starts."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=gz)
    starts = []
    for number in range(pages):
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        record = writer.create_warc_record(f"https://{site}/{number}", "response",
                                           payload=io.BytesIO(warc_page(number, site)), http_headers=headers)
        starts.append(buffer.tell())
        writer.write_record(record)
    return buffer.getvalue(), starts


def gzip_lines(line: bytes, times: int) -> bytes:
    """A .gz of one line repeated: a few hundred bytes that inflate to `times` lines."""
    return gzip.compress(line * times, compresslevel=9)
