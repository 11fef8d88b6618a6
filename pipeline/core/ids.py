"""Deterministic document ids, so every re-run is an upsert and never a duplicate."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from courlan import normalize_url

from pipeline.core.text import strip_accents_casefold


def canonical_url(url: str) -> str:
    """Normalise a URL for identity: lower-case host, no fragment, no tracking parameters."""
    try:
        return normalize_url(url.strip(), strict=True)
    except (ValueError, AttributeError):
        return url.strip()


def same_site(url: str, other: str) -> bool:
    """True when both URLs are http(s) on the same host (ignoring "www."): a canonical link may not leave the site."""
    a, b = urlsplit(url.strip()), urlsplit(other.strip())
    if a.scheme not in ("http", "https") or b.scheme not in ("http", "https"):
        return False
    return (a.hostname or "").removeprefix("www.") == (b.hostname or "").removeprefix("www.")


def document_id(*, source: str, own_id: str | None, url: str | None, body: str) -> str:
    """sha1 of the input's own id (namespaced by source), else of its canonical URL, else of its normalised text."""
    if own_id:
        basis = f"id\x1f{source}\x1f{own_id}"
    elif url:
        basis = f"url\x1f{canonical_url(url)}"
    else:
        basis = "text\x1f" + " ".join(strip_accents_casefold(body).split())
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()
