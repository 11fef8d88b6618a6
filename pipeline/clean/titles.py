"""A page's headline without the site name that <title> and og:title add to it.

Publishers append (or prepend) their name to the headline in <title>, og:title and twitter:title
("Port strike enters second week - Example Ledger", "Ledger | Port strike…"), while the article's <h1> and
JSON-LD `headline` carry the headline alone. Two signals decide, in this order:

1. the site's own name (og:site_name, JSON-LD publisher/WebSite): a leading or trailing segment, cut off by a
   separator, that starts with that name (or that the name starts with) is the site's affix;
2. the page's <h1>: a stated title that is the <h1> plus a separator and a short tail is the <h1> (not a head:
   an <h1> equal to a title's last part is as often the site's logo as the headline).

Only whole segments cut off by a spaced separator are removed, so a colon or dash inside a headline
("Brexit: what happens next", "Covid-19 - the latest") survives unless one of the signals names the other part.
"""

from __future__ import annotations

import re

# A separator between headline and site name, with space on both sides (a hyphen inside a word is no separator).
_SEPARATOR = re.compile(r"\s+(?:[-|–—·•»«:/]|::|\|\|)\s+")
# The longest site-name affix (in words) the <h1> rule removes: "Rojname Co. %100 Kurdî" is 4, "The Wall Street
# Journal" 4; longer tails are a subtitle, not a site name.
MAX_AFFIX_WORDS = 6


def strip_site_affix(title: str, *, site_name: str | None = None, heading: str | None = None) -> str:
    """`title` without a leading or trailing site-name segment; unchanged when no signal names one.

    `site_name`: the name the page states for its site; `heading`: the text of the article's <h1>.
    Never returns an empty string: a title that is only the site name is returned as it is.
    """
    parts = _segments(title)
    if len(parts) < 2:
        return title
    if site_name:
        name = _key(site_name)
        if name and _key(title) != name:  # a page whose title is its site's name (a home page) keeps it
            if _names_site(parts[-1][1], name):
                return _join(parts[:-1]) or title
            if _names_site(parts[0][1], name):
                return _join(parts[1:]) or title
    if heading:
        # Only a tail: an <h1> that equals a title's last part is as often the site's logo as the headline.
        wanted = _key(heading)
        for cut in range(1, len(parts)):
            head, tail = parts[:cut], parts[cut:]
            if _key(_join(head)) == wanted and _words(tail) <= MAX_AFFIX_WORDS:
                return _join(head)
    return title


def _segments(title: str) -> list[tuple[str, str]]:
    """[(separator before the segment, segment)]: the first separator is ''."""
    parts: list[tuple[str, str]] = []
    position = 0
    separator = ""
    for match in _SEPARATOR.finditer(title):
        parts.append((separator, title[position:match.start()]))
        separator = match.group(0)
        position = match.end()
    parts.append((separator, title[position:]))
    return [(sep, text) for sep, text in parts if text.strip()]


def _join(parts: list[tuple[str, str]]) -> str:
    """The segments with the separators between them (not the one before the first)."""
    return "".join((sep if i else "") + text for i, (sep, text) in enumerate(parts)).strip()


def _words(parts: list[tuple[str, str]]) -> int:
    return sum(len(text.split()) for _sep, text in parts)


def _key(text: str) -> str:
    """Case-, space- and punctuation-insensitive form for comparing names and headlines."""
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def _names_site(segment: str, name: str) -> bool:
    """True when the segment is the site's name ("Example Ledger"), starts with it ("Rojname Co. %100 Kurdî" for
    "Rojname") or is its first words ("BBC" for "BBC News"); spaces do not count ("ExampleLedger")."""
    key = _key(segment)
    if not key:
        return False
    return (key == name or key.startswith(name + " ") or name.startswith(key + " ")
            or key.replace(" ", "") == name.replace(" ", ""))
