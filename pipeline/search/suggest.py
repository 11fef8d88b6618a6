"""Closest existing facet values for a filter value that matches nothing (`--person "tony blaire"` -> Tony Blair)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pipeline.core.text import strip_accents_casefold as fold

__all__ = ["closest_values", "fold"]

# difflib's ratio below which a value is not offered (its own documented default for get_close_matches).
CUTOFF = 0.6


def closest_values(value: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    """Up to `n` candidates closest to `value`, best first, in their canonical spelling.

    First the candidates that contain every word of the value ("blair" -> "Tony Blair"), shortest first; then
    difflib's SequenceMatcher ratio on the folded strings, at least CUTOFF (typos: "Tony Blaire"). A candidate
    equal to the value once folded is not a suggestion (the filter would have matched it).
    """
    wanted = fold(value)
    words = wanted.split()
    by_fold: dict[str, str] = {}
    for candidate in candidates:
        by_fold.setdefault(fold(candidate), candidate)
    by_fold.pop(wanted, None)
    containing = sorted((f for f in by_fold if words and all(w in f.split() for w in words)), key=lambda f: (len(f), f))
    similar = difflib.get_close_matches(wanted, list(by_fold), n=n, cutoff=CUTOFF)
    ordered = list(dict.fromkeys(containing + similar))[:n]
    return [by_fold[f] for f in ordered]
