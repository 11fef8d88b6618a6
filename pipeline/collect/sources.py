"""Read one configured source into units, whatever its kind; the ledger decides what is already done."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.collect.config import SourceConfig
from pipeline.collect.files import WARC_SUFFIXES, iter_files, read_articles
from pipeline.collect.listings import SourceError, feed_units, fetch_listing, looks_like, sitemap_units
from pipeline.collect.pages import PageRef, page_unit, page_units
from pipeline.collect.partitions import files_in_window
from pipeline.collect.units import CollectContext, Listing, Unit
from pipeline.core.ids import canonical_url
from pipeline.core.records import RawArticle, Rejection
from pipeline.core.text import path_from_text, path_text

__all__ = ["SourceError", "units_of"]


def units_of(source: SourceConfig, ctx: CollectContext) -> Iterator[Unit]:
    """The source's units for this run; raises SourceError when the source as a whole cannot be read. Their
    articles carry the source's configured language and date order (`with_source_settings`)."""
    for unit in _units_of(source, ctx):
        if source.language or source.date_order:
            unit = dataclasses.replace(unit, read=lambda read=unit.read: with_source_settings(read(), source))
        yield unit


def _units_of(source: SourceConfig, ctx: CollectContext) -> Iterator[Unit]:
    if ctx.only_keys is not None:
        yield from _units_for_keys(source, ctx, ctx.only_keys)
        return
    if not source.has_history and ctx.window is not None and not _is_live(ctx):
        ctx.stats.skipped_no_history = True  # a backfill: today's feed says nothing about that past day
        return
    if source.kind == "folder":
        root = Path(source.location)
        files = files_in_window(root, *ctx.window) if ctx.window else iter_files([root])
        yield from file_units(source, root, files, ctx)
    elif source.kind == "warc":
        root = Path(source.location)
        if root.is_file():
            yield from file_units(source, root.parent, [root], ctx)
        else:
            files = files_in_window(root, *ctx.window) if ctx.window else iter_files([root])
            yield from file_units(source, root, (f for f in files if f.name.lower().endswith(WARC_SUFFIXES)), ctx)
    elif source.kind == "feed":
        yield from feed_units(source, ctx)
    elif source.kind == "sitemap":
        yield from sitemap_units(source, ctx)
    elif source.kind == "urls":
        urls, bad_lines = read_url_list(source)
        yield from bad_lines_unit(source, bad_lines, ctx)
        yield from page_units(source.name, source.language, [PageRef(url) for url in urls], ctx)
    else:
        yield from _url_units(source, ctx)


def file_units(source: SourceConfig, root: Path, files: Iterable[Path], ctx: CollectContext) -> Iterator[Unit]:
    """One unit per file; a known file with the same size and modification time is not even opened.

    A file whose real location is outside `root` (a symlink to /etc/passwd, a symlinked folder) is refused: the
    landing folder is what a source is allowed to read, not whatever its links point at.
    """
    real_root = root.resolve()
    # Absolute paths as keys: two folders given to one `newsetl ingest` may both hold an "a.txt". Keys are valid
    # Unicode (path_text): a name that is not UTF-8 must not stop the JSON of the ledger, the report or the index.
    by_key: dict[str, Path] = {}
    for path in files:
        real = path.resolve()
        by_key[path_text(real if real.is_relative_to(real_root) else path.absolute())] = path
    ctx.stats.listed += len(by_key)
    known = ctx.ledger.known(source.name, by_key)
    for key, path in by_key.items():
        real = path.resolve()
        if not real.is_relative_to(real_root):
            rejection = Rejection(path_text(path), "read", f"refused: links to {path_text(real)}, outside the "
                                  f"source's folder {path_text(real_root)}")
            yield Unit(source.name, key, lambda rejection=rejection: iter([rejection]), fetch_failed=True)
            continue
        try:
            stat = path.stat()
        except OSError as exc:  # vanished between listing and reading
            rejection = Rejection(path_text(path), "read", f"cannot read file: {exc.strerror or exc}")
            yield Unit(source.name, key, lambda rejection=rejection: iter([rejection]), fetch_failed=True)
            continue
        fingerprint = f"{stat.st_size}:{stat.st_mtime_ns}"
        seen = known.get(key)
        if seen is not None and seen.fingerprint == fingerprint:
            ctx.stats.skipped_known += 1
            ctx.stats.skipped_documents += seen.documents
            continue
        yield Unit(source.name, key, lambda path=path: read_articles(path, source.name),
                   fingerprint=fingerprint)


def with_source_settings(items: Iterable[RawArticle | Rejection],
                         source: SourceConfig) -> Iterator[RawArticle | Rejection]:
    """Items carrying the source's configured language (the fallback when the input, its page and the language
    detector do not settle it: the input's own `language` still comes first) and date order (how its numeric
    dates are written, before any locale: pipeline.core.dateorder; a record's own `date_order` comes first)."""
    for item in items:
        if isinstance(item, RawArticle):
            item = dataclasses.replace(item, source_language=source.language or item.source_language,
                                       date_order=item.date_order or source.date_order)
        yield item


def read_url_list(source: SourceConfig) -> tuple[list[str], list[Rejection]]:
    """(page URLs, bad lines) of a URL-list file: one URL per line, blank lines and # comments ignored.

    A line that is not an http(s) URL with a host (`not a url`, `ftp://x/y`) is rejected on its own, with its
    reason and `<file>:<line>` as its ref, as a bad JSON Lines line is: the other lines are still fetched. Raises
    SourceError when the file cannot be read at all.
    """
    path = Path(source.location)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read URL list {path}: {exc}") from None
    urls: list[str] = []
    bad: list[Rejection] = []
    for line_no, line in enumerate(lines, 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        reason = url_line_problem(entry)
        if reason:
            bad.append(Rejection(f"{path_text(path)}:{line_no}", "read", f"{reason}: {entry[:200]!r}"))
        else:
            urls.append(entry)
    return urls, bad


def url_line_problem(entry: str) -> str | None:
    """Why one URL-list entry cannot be fetched, or None for an http(s) URL with a host and no spaces."""
    parts = urlsplit(entry)
    if parts.scheme.lower() not in ("http", "https"):
        return (f"not an http(s) URL (scheme {parts.scheme!r})" if parts.scheme and parts.netloc
                else "not an http(s) URL")
    if not parts.hostname:
        return "URL without a host"
    if any(c.isspace() for c in entry):
        return "URL with a space"
    return None


def bad_lines_key(source: SourceConfig) -> str:
    """The unit key of a URL list's rejected lines: not the list's location, which stands for the source itself
    (a source read without failing releases the entries of its location's unit, even when its bad lines were
    skipped as unchanged)."""
    return path_text(Path(source.location)) + "#bad-lines"


def bad_lines_unit(source: SourceConfig, bad_lines: list[Rejection], ctx: CollectContext | None) -> Iterator[Unit]:
    """The rejected lines of a URL list as one unit (bad_lines_key), as a JSON Lines file holds its bad
    lines: each reported and quarantined (`<file>:<line>`, its reason), the unit skipped by later runs while the
    bad lines are unchanged, and read again (not fetched) by a quarantine retry (`ctx` None: no ledger is asked,
    and the unit is read even without bad lines, so the entries of lines corrected since are released)."""
    key = bad_lines_key(source)
    fingerprint = "bad-lines:" + hashlib.sha1("\n".join(f"{r.ref}\t{r.reason}" for r in bad_lines).encode()).hexdigest()
    if ctx is not None:
        seen = ctx.ledger.known(source.name, [key]).get(key)
        if seen is not None and seen.fingerprint == fingerprint:
            ctx.stats.skipped_known += 1
            return
        if seen is None and not bad_lines:
            return  # never had a bad line: nothing to report or release
    yield Unit(source.name, key, lambda: iter(bad_lines), fingerprint=fingerprint)


def _url_units(source: SourceConfig, ctx: CollectContext) -> Iterator[Unit]:
    """A single URL: a feed, a sitemap or a page, decided by what the server sends."""
    answer = fetch_listing(source.name, source.location, ctx)
    if answer.response is None:
        if answer.children:  # an unchanged sitemap index: its child sitemaps are still checked
            yield from sitemap_units(source, ctx, answer)
        else:
            yield from page_units(source.name, source.language, answer.retry, ctx)
        return
    response = answer.response
    kind = looks_like(response)
    if kind == "feed":
        yield from feed_units(source, ctx, response)
    elif kind == "sitemap":
        yield from sitemap_units(source, ctx, answer)
    else:
        page = PageRef(source.location)
        ctx.stats.listed += 1
        ctx.listings.append(Listing(source.name, source.location, response.validators, (page.key,)))
        unit = page_unit(source.name, source.language, page, response)
        if unit is not None:
            yield unit


def _units_for_keys(source: SourceConfig, ctx: CollectContext, keys: frozenset[str]) -> Iterator[Unit]:
    """Quarantine retry: exactly these units, read or fetched again unconditionally."""
    if source.kind in ("folder", "warc"):
        root = Path(source.location)
        root = root.parent if root.is_file() else root
        yield from file_units(source, root, [path_from_text(key) for key in sorted(keys)], ctx)
        return
    if source.location in keys or canonical_url(source.location) in keys:  # the listing itself had failed
        yield from _units_of(source, dataclasses.replace(ctx, only_keys=None, window=None))
        return
    if source.kind == "urls":  # the list's rejected lines are read again, not fetched as if they were URLs
        list_key = bad_lines_key(source)
        if list_key in keys:
            yield from bad_lines_unit(source, read_url_list(source)[1], None)
            keys = keys - {list_key}
    yield from page_units(source.name, source.language, [PageRef(key) for key in sorted(keys)], ctx)


def _is_live(ctx: CollectContext) -> bool:
    """True when the run's interval is recent enough for sources that only know the present."""
    assert ctx.window is not None and ctx.today is not None
    return ctx.window[1] >= ctx.today - timedelta(days=ctx.live_window_days - 1)

