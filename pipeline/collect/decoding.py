"""Bytes -> text for every input that arrives as bytes (landing files, fetched pages, WARC records).

UTF-8 first, then the declared charset (HTTP header, <meta>, XML declaration), then detection
(charset-normalizer); binary data is refused rather than decoded into noise.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes


@dataclass(frozen=True, slots=True)
class DecodedText:
    """Text decoded from bytes, and a note when it was not the UTF-8 it should have been."""

    text: str
    encoding: str
    note: str | None = None


def decode_text(data: bytes, declared: str | None = None) -> DecodedText | None:
    """Decode bytes as text: UTF-8, else the declared charset (HTTP header, then <meta>), else the detected one.

    None when the bytes are binary. Valid UTF-8 wins over a declaration because servers mislabel far more often
    than non-UTF-8 bytes happen to form valid UTF-8.
    """
    if _looks_binary(data[:8192]):
        return None
    try:
        return DecodedText(data.decode("utf-8-sig"), "utf-8")
    except UnicodeDecodeError:
        pass
    declared = _codec_name(declared) if declared else None
    declared = declared if declared not in (None, "utf-8", "utf-8-sig") else None
    declared = declared or _declared_charset(data[:4096])
    if declared and declared not in ("utf-8", "utf-8-sig"):  # already a normalised codec name
        try:
            return DecodedText(data.decode(declared), declared)
        except (UnicodeDecodeError, LookupError):
            pass
    results = from_bytes(data[:1_000_000])
    best = results.best()
    if best is None:
        return None
    encoding = best.encoding
    # Latin-family code pages often decode the same bytes equally well; windows-1252 is by far the most common
    # legacy web encoding (browsers treat a "latin-1" label as it), so it wins a tie.
    for match in results:
        if "cp1252" in match.could_be_from_charset and match.chaos <= best.chaos \
                and match.coherence >= best.coherence - 0.01:
            encoding = "cp1252"
            break
    label = f"declared {declared}" if declared else "no usable charset declared"
    note = f"not valid UTF-8 ({label}); decoded as {encoding}"
    return DecodedText(data.decode(encoding, errors="replace"), encoding, note)


# Control bytes other than tab/newline/carriage return/form feed/escape: plentiful in binary formats, rare in text.
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))


def _looks_binary(head: bytes) -> bool:
    """True for images, archives and other binary data; a stray NUL or control byte in text is not enough."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark
        return False
    if not head:
        return False
    controls = len(head) - len(head.translate(None, _BINARY_BYTES))
    return controls / len(head) > 0.05


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def _declared_charset(head: bytes) -> str | None:
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if not match:
        return None
    return _codec_name(match.group(1).decode("ascii", "ignore"))


def _codec_name(name: str) -> str | None:
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None
