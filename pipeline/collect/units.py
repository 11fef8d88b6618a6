"""What sources yield: units (a file, a fetched page, a WARC file) that the ledger remembers, and their context."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from pipeline.collect.http import Fetcher, Validators
from pipeline.core.records import RawArticle, Rejection

Reader = Callable[[], Iterator[RawArticle | Rejection]]


@dataclass(frozen=True, slots=True)
class Unit:
    """One input the ledger tracks: read lazily (a WARC file holds thousands of pages), remembered by key."""

    source: str
    key: str  # a path relative to the source's folder, or a page URL
    read: Reader
    validators: Validators = Validators()  # of the fetched copy, for the next conditional GET
    fingerprint: str | None = None  # size+mtime of a file, or the listing's "updated" stamp of a page
    fetch_failed: bool = False  # the unit's only item is a fetch Rejection: retry it next run


@dataclass(frozen=True, slots=True)
class Known:
    """What the ledger remembers of a unit processed earlier (only returned while its documents still exist)."""

    key: str
    validators: Validators
    fingerprint: str | None
    items: tuple[str, ...] = ()  # a listing's unit keys (a sitemap index's: its child sitemaps)
    documents: int = 0  # articles indexed from it
    kind: str = "item"  # "item" | "listing" | "index" (a sitemap index)


@dataclass(frozen=True, slots=True)
class Listing:
    """A feed or sitemap as fetched this run: its validators and the unit keys it listed."""

    source: str
    key: str
    validators: Validators
    items: tuple[str, ...]
    kind: str = "listing"  # or "index": a sitemap index, whose items are child sitemaps


@dataclass
class CollectStats:
    """Counts a source reports besides articles: what was skipped because it was already processed."""

    listed: int = 0  # units a listing or folder named in this run's window
    skipped_known: int = 0  # already processed and unchanged by size/mtime or listing stamp: not read, not fetched
    skipped_documents: int = 0  # the articles of those units, still in the index unchanged
    not_modified: int = 0  # a conditional GET answered 304
    skipped_no_history: bool = False  # a backfill over a source that only knows "now"


class LedgerLookup:
    """Read side of the ledger for collection: which units are known (see pipeline.runs.ledger)."""

    def known(self, source: str, keys: Iterable[str]) -> dict[str, Known]:  # pragma: no cover - interface
        """Known units among keys."""
        raise NotImplementedError

    def failed(self, source: str, keys: Iterable[str]) -> set[str]:  # pragma: no cover - interface
        """Keys whose last attempt failed (to be tried again)."""
        raise NotImplementedError


class NoLedger(LedgerLookup):
    """Nothing is known: every unit is read and fetched unconditionally (quarantine retry, --full)."""

    def known(self, source: str, keys: Iterable[str]) -> dict[str, Known]:
        """Always empty."""
        return {}

    def failed(self, source: str, keys: Iterable[str]) -> set[str]:
        """Always empty."""
        return set()


@dataclass
class CollectContext:
    """What reading a source needs: the fetcher, the ledger, the data interval, and where listings are noted."""

    fetcher_factory: Callable[[], Fetcher]
    ledger: LedgerLookup
    window: tuple[date, date] | None = None  # None: everything the source holds
    today: date | None = None
    live_window_days: int = 2
    only_keys: frozenset[str] | None = None  # quarantine retry: just these units, read unconditionally
    listings: list[Listing] = field(default_factory=list)
    stats: CollectStats = field(default_factory=CollectStats)

    @property
    def fetcher(self) -> Fetcher:
        """The run's fetcher; the factory creates it on first network use (folder sources never open one)."""
        return self.fetcher_factory()
