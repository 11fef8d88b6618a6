"""Web pages named by a feed, a sitemap or a URL list: fetched conditionally, each one a ledger unit."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pipeline.collect.http import FetchError, Response
from pipeline.collect.units import CollectContext, Unit
from pipeline.core.ids import canonical_url
from pipeline.core.records import RawArticle, Rejection

HTML_TYPES = ("text/html", "application/xhtml+xml", "")


@dataclass(frozen=True, slots=True)
class PageRef:
    """A page a listing points to, with what the listing already says about it."""

    url: str
    title: str | None = None
    published: str | None = None
    published_source: str | None = None  # "feed" | "sitemap"
    stamp: str | None = None  # the listing's updated/lastmod value: unchanged stamp -> no request at all
    html: str | None = None  # full text carried by the listing itself (feed content:encoded)

    @property
    def key(self) -> str:
        """Ledger key: the canonical URL, so tracking parameters do not make a page new."""
        return canonical_url(self.url)


def page_units(source: str, language: str | None, pages: Sequence[PageRef], ctx: CollectContext) -> Iterator[Unit]:
    """Units for pages: unchanged known pages skipped, known ones fetched conditionally, new ones fetched."""
    unique = list({page.key: page for page in pages}.values())
    ctx.stats.listed += len(unique)
    known = ctx.ledger.known(source, [p.key for p in unique])
    todo: list[PageRef] = []
    for page in unique:
        seen = known.get(page.key)
        if seen is not None and page.stamp is not None and seen.fingerprint == page.stamp:
            ctx.stats.skipped_known += 1  # the listing says it has not changed since we processed it
            ctx.stats.skipped_documents += seen.documents
            continue
        todo.append(page)
    carried = [p for p in todo if p.html is not None]
    for page in carried:
        raw = _raw(source, language, page, page.url, page.html or "")
        yield Unit(source, page.key, lambda raw=raw: iter([raw]), fingerprint=page.stamp)
    to_fetch = [p for p in todo if p.html is None]
    requests = [(p.url, known[p.key].validators if p.key in known else None) for p in to_fetch]
    for page, (_url, result) in zip(to_fetch, ctx.fetcher.fetch_many(requests), strict=True):
        unit = page_unit(source, language, page, result)
        if unit is None:
            ctx.stats.not_modified += 1
            continue
        yield unit


def page_unit(source: str, language: str | None, page: PageRef, result: Response | FetchError) -> Unit | None:
    """The unit for one page's fetch result; None when it was not modified (304)."""
    if isinstance(result, FetchError):
        rejection = Rejection(page.url, "fetch", result.reason)
        return Unit(source, page.key, lambda: iter([rejection]), fetch_failed=True)
    if result.not_modified:
        return None
    if result.content_type not in HTML_TYPES:
        rejection = Rejection(page.url, "fetch", f"not an HTML page: Content-Type {result.content_type}")
        return Unit(source, page.key, lambda: iter([rejection]), validators=result.validators,
                    fingerprint=page.stamp)
    try:
        decoded = result.decoded()
    except FetchError as exc:
        rejection = Rejection(page.url, "fetch", exc.reason)
        return Unit(source, page.key, lambda: iter([rejection]), validators=result.validators,
                    fingerprint=page.stamp)
    warnings = (decoded.note,) if decoded.note else ()
    raw = _raw(source, language, page, result.url, decoded.text, warnings)
    return Unit(source, page.key, lambda: iter([raw]), validators=result.validators, fingerprint=page.stamp)


def _raw(source: str, language: str | None, page: PageRef, url: str, html: str,
         warnings: tuple[str, ...] = ()) -> RawArticle:
    return RawArticle(ref=page.url, source=source, format="html", content=html, url=url, title=page.title,
                      published=page.published, published_source=page.published_source if page.published else None,
                      source_language=language, warnings=warnings, canonical_from_page=True)
