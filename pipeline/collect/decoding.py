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
    """Decode bytes as text: UTF-8, else the declared charset (HTTP header, then <meta>) when the bytes bear it
    out, else the detected one.

    None when the bytes are binary. Valid UTF-8 wins over a declaration because servers mislabel far more often
    than non-UTF-8 bytes happen to form valid UTF-8. A declaration is checked against the bytes (charset-normalizer's
    mess detector): Russian in windows-1251 labelled ISO-8859-1 decodes without an error into Latin gibberish, a
    windows-1252 page labelled UTF-16 into CJK noise; both are decoded as detected, and the note says the label lied.
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
    sample = data[:_SAMPLE_BYTES]
    results = from_bytes(sample)
    best = results.best()
    lied = False
    if declared and declared not in ("utf-8", "utf-8-sig"):  # already a normalised codec name
        try:
            text = data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            text = None
        if text is not None and _bears_out(sample, declared, best):
            return DecodedText(text, declared)
        lied = True
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
    if lied:
        note = f"declared charset {declared} does not match the bytes; decoded as {encoding}"
    else:
        label = f"declared {declared}" if declared else "no usable charset declared"
        note = f"not valid UTF-8 ({label}); decoded as {encoding}"
    return DecodedText(data.decode(encoding, errors="replace"), encoding, note)


# charset-normalizer reads this much to judge an encoding; more costs time and changes no verdict on a page.
_SAMPLE_BYTES = 1_000_000
# How much messier than the best candidate a declared charset's text may be and still be believed: the mess ratio
# of a right label is that of the best guess (0.0 on real text), a wrong one's is at charset-normalizer's cut-off
# (0.2) or has no result at all.
_MESS_TOLERANCE = 0.1


def _bears_out(sample: bytes, declared: str, best) -> bool:
    """True when the declared charset decodes the bytes into text about as clean as the best detected one."""
    if best is None or best.encoding == declared or declared in best.could_be_from_charset:
        return True
    own = from_bytes(sample, cp_isolation=[declared]).best()
    return own is not None and own.chaos <= best.chaos + _MESS_TOLERANCE


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


# WHATWG Encoding Standard: browsers decode pages labelled ISO-8859-1 or US-ASCII as windows-1252, so pages written
# for browsers under those labels use its extra characters (curly quotes, the euro sign in 0x80-0x9F).
_BROWSER_ALIASES = {"iso8859-1": "cp1252", "ascii": "cp1252"}


def _codec_name(name: str) -> str | None:
    try:
        codec = codecs.lookup(name.strip()).name
    except LookupError:
        return None
    return _BROWSER_ALIASES.get(codec, codec)
