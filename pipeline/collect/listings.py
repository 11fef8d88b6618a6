"""Feeds and sitemaps: listings of pages, fetched conditionally and parsed with feedparser / lxml."""

from __future__ import annotations

import calendar
import gzip
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import feedparser
from lxml import etree

from pipeline.collect.config import SourceConfig
from pipeline.collect.http import FetchError, Response
from pipeline.collect.pages import PageRef, page_units
from pipeline.collect.units import CollectContext, Listing, Unit
from pipeline.core.records import Rejection
from pipeline.core.timestamps import EARLIEST_STATED_PUBLICATION, InvalidDate, parse_published

MAX_SITEMAP_BYTES = 50_000_000  # the sitemaps.org limit for one uncompressed file
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json")


class SourceError(Exception):
    """A source as a whole cannot be read (its feed or sitemap is unreachable or unreadable)."""


@dataclass(frozen=True, slots=True)
class ListingAnswer:
    """A feed or sitemap fetch: the response, or (on 304) what the unchanged listing still asks to be done."""

    response: Response | None
    retry: list[PageRef] = field(default_factory=list)  # pages of the unchanged listing that failed last time
    children: tuple[str, ...] = ()  # an unchanged sitemap index's child sitemaps: each is checked on its own


def fetch_listing(source: str, url: str, ctx: CollectContext) -> ListingAnswer:
    """GET a feed or sitemap, conditionally when every unit it listed last time is either done or failed.

    Tying the condition to the pages' documents (not just to the listing) is what makes ingesting into a new,
    empty index read everything again.
    """
    known = ctx.ledger.known(source, [url]).get(url)
    validators = None
    retry: list[str] = []
    if known is not None:
        items = set(known.items)
        done = ctx.ledger.known(source, items)
        failed = ctx.ledger.failed(source, items - done.keys())
        if len(done) + len(failed) == len(items):
            validators, retry = known.validators, sorted(failed)
    try:
        response = ctx.fetcher.fetch(url, validators)
    except FetchError as exc:
        raise SourceError(f"cannot fetch {url}: {exc.reason}") from None
    if not response.not_modified:
        return ListingAnswer(response)
    assert known is not None  # a 304 only answers a conditional request
    ctx.stats.not_modified += 1
    ctx.listings.append(Listing(source, url, known.validators, known.items, known.kind))
    if known.kind == "index":  # an unchanged index says nothing about its children, which change every hour
        return ListingAnswer(None, children=known.items)
    return ListingAnswer(None, retry=[PageRef(key) for key in retry])


def feed_units(source: SourceConfig, ctx: CollectContext, response: Response | None = None) -> Iterator[Unit]:
    """Units for the entries of an RSS/Atom feed (pages fetched, or the feed's own full text)."""
    if response is None:
        answer = fetch_listing(source.name, source.location, ctx)
        if answer.response is None:  # unchanged since the last run: only what failed then is tried again
            yield from page_units(source.name, source.language, answer.retry, ctx)
            return
        response = answer.response
    pages = parse_feed(response.content, url=response.url, content_type=response.content_type,
                       full_text=bool(source.option("full_text", False)))
    ctx.listings.append(Listing(source.name, source.location, response.validators, tuple(p.key for p in pages)))
    yield from page_units(source.name, source.language, pages, ctx)


def parse_feed(content: bytes, *, url: str, content_type: str = "", full_text: bool = False) -> list[PageRef]:
    """Pages of an RSS/Atom/RDF feed: link, title, published (UTC ISO) and the entry's updated stamp."""
    parsed = feedparser.parse(content, response_headers={"content-location": url,
                                                          "content-type": content_type or "application/xml"})
    if not parsed.entries and (parsed.bozo or not parsed.version):
        reason = parsed.get("bozo_exception") or "no RSS/Atom structure"
        raise SourceError(f"{url} is not a readable feed: {reason}")
    pages = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link or not link.startswith(("http://", "https://")):
            continue
        published = (_stated(entry.get("published")) or _iso(entry.get("published_parsed"))
                     or _stated(entry.get("updated")) or _iso(entry.get("updated_parsed")))
        stamp = _iso(entry.get("updated_parsed")) or published
        html = None
        if full_text:
            contents = entry.get("content") or []
            html = contents[0].get("value") if contents else entry.get("summary")
        pages.append(PageRef(url=link, title=entry.get("title"), published=published, published_source="feed",
                             stamp=stamp, html=html or None))
    return pages


def sitemap_units(source: SourceConfig, ctx: CollectContext, answer: ListingAnswer | None = None) -> Iterator[Unit]:
    """Units for the pages of a sitemap, following a sitemap index down to `max_depth` levels."""
    since_days = source.option("since_days")
    since = (ctx.today or datetime.now(UTC).date()) - timedelta(days=since_days) if since_days else None
    pages: list[PageRef] = []
    failures: list[tuple[str, str]] = []
    _walk_sitemap(source, source.location, ctx, pages, failures, depth=int(source.option("max_depth", 2)),
                  since=since, answer=answer)
    for url, reason in failures:
        rejection = Rejection(url, "fetch", reason)
        yield Unit(source.name, url, lambda rejection=rejection: iter([rejection]), fetch_failed=True)
    yield from page_units(source.name, source.language, pages, ctx)


def _walk_sitemap(source: SourceConfig, url: str, ctx: CollectContext, pages: list[PageRef],
                  failures: list[tuple[str, str]], *, depth: int,
                  since: date | None, answer: ListingAnswer | None = None) -> None:
    answer = answer or fetch_listing(source.name, url, ctx)
    response = answer.response
    if response is None:  # unchanged: what failed then is tried again, children are checked
        pages.extend(answer.retry)
        _walk_children(source, url, list(answer.children), ctx, pages, failures, depth=depth, since=since)
        return
    kind, entries = parse_sitemap(response.content, url=response.url)
    if kind == "index":
        children = [c.url for c in entries
                    # a child sitemap last modified before the window holds nothing new
                    if not (since and c.published and c.published[:10] < since.isoformat())]
        ctx.listings.append(Listing(source.name, url, response.validators, tuple(children), "index"))
        _walk_children(source, url, children, ctx, pages, failures, depth=depth, since=since)
        return
    kept = [e for e in entries if not since or not e.published or e.published[:10] >= since.isoformat()]
    ctx.listings.append(Listing(source.name, url, response.validators, tuple(p.key for p in kept)))
    pages.extend(kept)


def _walk_children(source: SourceConfig, url: str, children: list[str], ctx: CollectContext, pages: list[PageRef],
                   failures: list[tuple[str, str]], *, depth: int, since: date | None) -> None:
    if children and depth <= 0:
        raise SourceError(f"{url}: sitemap index nested deeper than max_depth")
    for child in children:
        try:
            _walk_sitemap(source, child, ctx, pages, failures, depth=depth - 1, since=since)
        except SourceError as exc:  # one broken child sitemap loses its own pages, not its siblings'
            failures.append((child, str(exc)))


_NS_NEWS = "http://www.google.com/schemas/sitemap-news/0.9"


def parse_sitemap(content: bytes, *, url: str) -> tuple[str, list[PageRef]]:
    """("index", child sitemaps) or ("urlset", pages) from sitemap XML (gzip allowed; news extension read)."""
    if content[:2] == b"\x1f\x8b":
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError) as exc:
            raise SourceError(f"{url}: unreadable gzip sitemap: {exc}") from None
    if len(content) > MAX_SITEMAP_BYTES:
        raise SourceError(f"{url}: sitemap larger than {MAX_SITEMAP_BYTES:,} bytes")
    # No entities, no network, no huge trees: a sitemap is untrusted input.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"{url} is not a readable sitemap: {exc}") from None
    tag = etree.QName(root).localname
    if tag not in ("urlset", "sitemapindex"):
        raise SourceError(f"{url} is not a sitemap (root element <{tag}>)")
    entries = []
    for node in root:
        if not isinstance(node.tag, str) or etree.QName(node).localname not in ("url", "sitemap"):
            continue
        fields = {etree.QName(child).localname: (child.text or "").strip() for child in node
                  if isinstance(child.tag, str)}
        loc = fields.get("loc")
        if not loc or not loc.startswith(("http://", "https://")):
            continue
        news = node.find(f"{{{_NS_NEWS}}}news")
        title = published = None
        if news is not None:
            title = (news.findtext(f"{{{_NS_NEWS}}}title") or "").strip() or None
            published = (news.findtext(f"{{{_NS_NEWS}}}publication_date") or "").strip() or None
        lastmod = fields.get("lastmod") or None
        entries.append(PageRef(url=loc, title=title, published=published,
                               published_source="sitemap" if published else None,
                               stamp=lastmod or published))
        if tag == "sitemapindex":
            entries[-1] = PageRef(url=loc, published=lastmod)
    return ("index" if tag == "sitemapindex" else "urlset"), entries


def looks_like(response: Response) -> str:
    """'feed', 'sitemap' or 'page': what a fetched URL turned out to be (content type, then the first element)."""
    if response.content_type in _FEED_TYPES:
        return "feed"
    head = response.content[:2048].lstrip()
    if head[:2] == b"\x1f\x8b":
        return "sitemap"
    lowered = head.lower()
    if b"<urlset" in lowered or b"<sitemapindex" in lowered:
        return "sitemap"
    if b"<rss" in lowered or b"<feed" in lowered or b"<rdf:rdf" in lowered:
        return "feed"
    return "page"


def _stated(value: str | None) -> str | None:
    """A feed item's date as the feed writes it, read by the product's own parser (`parse_published`).

    Read before feedparser's struct_time because that one is UTC (the publisher's offset, and so its local day,
    is lost) and is missing for dates feedparser cannot read but the product can: a weekday in another language
    ("Mo, 25 Jun 2018 11:41:36"), no time zone, month before day ("Tue, Jan 23 2018 02:54:55 MST").
    None when the value cannot be read; the clean stage checks the range.
    """
    if not value or not value.strip():
        return None
    try:
        return parse_published(value, datetime.now(UTC), EARLIEST_STATED_PUBLICATION).value
    except InvalidDate:
        return None


def _iso(parsed: time.struct_time | None) -> str | None:
    """feedparser's UTC struct_time as an ISO 8601 timestamp."""
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC).isoformat().replace("+00:00", "Z")
