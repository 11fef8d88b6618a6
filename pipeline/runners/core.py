"""The one run core: the stages composed, with the run's bookkeeping, whatever runs them.

A `Run` owns one run's clock, report, Elasticsearch store and what it has read (ledger units, listings, the ids
that went through). Its methods are the stages as generators:

    units ─► read (collect + clean) ─► first_copies ─► changed_only ─► enrich ─► index ─► settle ─► close

`pipeline/runners/stream.py` chains them in one process (`newsetl ingest`, `reenrich`, `index migrate`,
`quarantine retry`); `pipeline/runners/tasks.py` cuts the same chain at Airflow task boundaries. Duplicates are
found by `first_copies` over the whole run on both paths: the first copy in source order, then unit order, wins.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipeline.clean.article import clean_article
from pipeline.collect.config import SourceConfig
from pipeline.collect.http import Fetcher
from pipeline.collect.sources import SourceError, units_of
from pipeline.collect.units import CollectContext, LedgerLookup, Listing, NoLedger, Unit
from pipeline.core.errors import InfrastructureError
from pipeline.core.records import Article, EnrichedArticle, EntityName, Rejection
from pipeline.core.settings import Settings
from pipeline.enrich.articles import enrich_articles, text_for_nlp
from pipeline.enrich.entities import load_entity_config
from pipeline.enrich.nlp import LanguageModels
from pipeline.enrich.registry import NameRecord, Registry, Resolution, changed_names
from pipeline.index.articles import ensure_index, index_articles, skip_unchanged
from pipeline.index.recanon import RecanonReport, change_ids, recanonicalise, record_changes
from pipeline.index.registry import learn_records, load_registry
from pipeline.index.store import BulkAction, Store
from pipeline.index.version import resolver_of, version_of
from pipeline.runs.history import record_run, run_documents
from pipeline.runs.ledger import Ledger, PendingUnit
from pipeline.runs.quarantine import update_quarantine
from pipeline.runs.report import RunReport

# Progress of a run in articles: (articles read so far, the run's total once known: when every unit has been read).
ProgressCallback = Callable[[int, int | None], None]

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    """The run's clock (UTC, second precision)."""
    return datetime.now(UTC).replace(microsecond=0)


class Run:
    """One run of the pipeline (or one Airflow task's share of it): stages as generators, bookkeeping in one place.

    `kind` is what the runs index records (ingest, nightly, retry, reenrich, migrate); `partition` the day or
    window a nightly run covers. The store must already be connected (None for a step that never touches
    Elasticsearch); `prepare()` installs the index.
    """

    def __init__(self, settings: Settings, store: Store | None, *, kind: str, partition: str | None = None,
                 now: datetime | None = None) -> None:
        self.settings = settings
        self._store = store
        self.kind = kind
        self.now = now or utcnow()
        self.report = RunReport(started_at=self.now.isoformat(), partition=partition)
        # The run's id in the runs index and in the entity registry's records (which runs' counts they hold). Two
        # runs can start in the same second; the random part keeps them apart. A caller whose retries are the same
        # run (an Airflow task's) sets it to the same id each attempt.
        self.run_id = f"{kind}:{self.report.started_at}:{uuid.uuid4().hex[:8]}"
        self.version = version_of(settings)
        self.pending: list[PendingUnit] = []  # units read, waiting for their documents' outcome (the ledger)
        self.listings: list[Listing] = []  # feeds and sitemaps as fetched this run
        self.ok: set[str] = set()  # ids indexed or found unchanged: their units can be marked done
        # Re-enrichment: the version each article was read at, so its write is conditional (index_articles), and
        # the ids whose document changed in between, to be read again.
        self.expected: dict[str, tuple[int, int]] = {}
        self.conflicts: list[str] = []
        self._clock = time.perf_counter()
        self._first_ref_of: dict[str, str] = {}
        self.models = LanguageModels(settings.nlp.models)
        # The entity registry as the index knew it when the run started (loaded once, in `prepare`): every article
        # of the run is resolved against the same state, whichever task enriches it. What the run's articles teach
        # (`learnt`) is added to the index by `learn`, after indexing, for the next run.
        self.resolution: Resolution | None = None
        self.learnt = Registry()
        # The registry as `learn` settled it after adding the run's counts, and the ids of the changes it queued
        # from it: `recanonicalise` applies those with it instead of loading and settling the same registry again.
        self.settled: Resolution | None = None
        self.queued: frozenset[str] = frozenset()

    @property
    def store(self) -> Store:
        """The run's Elasticsearch store (a task that only reshuffles staged files has none)."""
        if self._store is None:
            raise RuntimeError("this step of the run has no Elasticsearch store")
        return self._store

    def prepare(self, *, need_model: bool = True) -> Run:
        """Install the index template and alias; check every configured model is installed (without loading it),
        so a missing model fails before any reading. Models load when the first article reaches `enrich`: a run
        with nothing new to enrich (an unchanged re-run) never pays for them."""
        ensure_index(self.store)
        if need_model:
            self.models.check_installed()
            self.resolution = load_registry(self.store).settle(load_entity_config(self.settings.entities_config))
        return self

    # -----------------------------------------------------------------------------------------------------------
    # Stage 1 and 2: collect and clean

    def units(self, sources: Iterable[SourceConfig], *, window: tuple[date, date] | None = None,
              full: bool = False, only_keys: dict[tuple[str, str], frozenset[str]] | None = None) -> Iterator[Unit]:
        """Every source's units in turn (one fetcher for the run); a source that cannot be read is recorded as
        failed and the others go on. `full` ignores the ledger; `only_keys` reads just those units (retry)."""
        ledger: LedgerLookup = NoLedger() if full or only_keys else Ledger(self.store, self.version)
        collection = Collection(self.settings, ledger, today=self.now.date(), window=window, only_keys=only_keys)
        try:
            for source in sources:
                yield from collection.source_units(source, self.report)
        finally:
            self.listings += collection.listings
            collection.close()

    def read(self, units: Iterable[Unit], *, on_progress: ProgressCallback | None = None) -> Iterator[Article]:
        """Read and clean every unit; rejections go to the report (with source and unit), never stop the stream.

        Each unit gets a PendingUnit listing its documents, so the ledger can record it once they are indexed.
        `on_progress(read, total)` is called for every article (line, record, page) read, total None until the
        last unit is read, then once more with the total.
        """
        for unit in units:
            self.report.files += 1
            entry = PendingUnit.of(unit)
            self.pending.append(entry)
            context = {"source": unit.source, "unit": unit.key}
            for raw in unit.read():
                self.report.seen += 1
                if on_progress:
                    on_progress(self.report.seen, None)
                if isinstance(raw, Rejection):
                    self.report.reject(raw, **context)
                    continue
                try:
                    result = clean_article(raw, now=self.now, default_language=self.settings.default_language)
                except (ValueError, TypeError, LookupError, RecursionError) as exc:  # a bug on odd input: record it
                    result = Rejection(raw.ref, "clean", f"unexpected {type(exc).__name__}: {exc}")
                if isinstance(result, Rejection):
                    self.report.reject(result, **context)
                    continue
                entry.doc_ids.append(result.doc_id)
                yield result
        if on_progress:
            on_progress(self.report.seen, self.report.seen)

    def first_copies(self, articles: Iterable[Article]) -> Iterator[Article]:
        """The run's articles with later copies of an id dropped (counted and reported as duplicates).

        An article whose id was already seen in this run is a duplicate of the first one, which is kept, so one
        run never enriches or writes one document twice and the counts add up. Cleaned, undated and warnings
        are counted here, for the articles that go on.
        """
        for article in articles:
            first = self._first_ref_of.get(article.doc_id)
            if first is not None:
                self.report.duplicates += 1
                self.report.reject(Rejection(article.ref, "clean", f"duplicate of {first} (same document id "
                                             f"{article.doc_id}) earlier in this run; the first is kept"),
                                   duplicate=True)
                continue
            self._first_ref_of[article.doc_id] = article.ref
            for message in article.warnings:
                self.report.warn(article.ref, "clean", message)
            self.report.cleaned += 1
            self.report.undated += article.published_at is None
            yield article

    def unwritten(self) -> int:
        """Articles of this run that went on past `first_copies` and are neither indexed nor found current yet."""
        return sum(doc_id not in self.ok for doc_id in self._first_ref_of)

    # -----------------------------------------------------------------------------------------------------------
    # Stage 3: enrich

    def changed_only(self, articles: Iterable[Article]) -> Iterator[Article]:
        """Drop articles whose indexed document is already up to date, so they cost no NLP and no write."""
        def unchanged(article: Article) -> None:
            self.report.unchanged += 1
            self.ok.add(article.doc_id)

        return skip_unchanged(self.store, articles, pipeline_version=self.version, on_unchanged=unchanged)

    def enrich(self, articles: Iterable[Article]) -> Iterator[EnrichedArticle]:
        """Entities and dates: the model loaded once per process, the entity rules from config.

        Nothing is loaded (model, clause parser, gazetteer, entity rules) until the first article arrives.
        """
        articles = iter(articles)
        first = next(articles, None)
        if first is None:
            return
        articles = itertools.chain([first], articles)
        nlp = self.settings.nlp
        for item in enrich_articles(self.models, articles, batch_size=nlp.batch_size,
                                    batch_words=nlp.batch_words, n_process=nlp.processes, max_chars=nlp.max_chars,
                                    entity_config=load_entity_config(self.settings.entities_config),
                                    places=resolver_of(self.settings)):
            self.report.enriched += 1
            self.learnt.observe(text_for_nlp(item.article, nlp.max_chars), item.enrichment.entities)
            if self.resolution is not None:
                # The article's own values are kept beside the resolved ones, for re-canonicalisation.
                item = EnrichedArticle(item.article, replace(
                    item.enrichment, entities=self.resolution.resolve(item.enrichment.entities)),
                    EntityName.of(item.enrichment.entities))
            yield item

    def learn(self, records: Iterable[NameRecord] = ()) -> int:
        """Add what this run's articles taught (and `records` other tasks of it learnt) to the index's registry,
        once per `run_id` (a retried run adds nothing twice: pipeline.index.registry.learn_records): one scan and
        one bulk write per run; returns the number of names written. The names whose value the run's counts
        change are queued for re-canonicalisation (`recanonicalise`, pipeline.index.recanon), by a retry too."""
        for record in records:
            self.learnt.add(record)
        if not self.learnt.records:
            return 0
        learnt = learn_records(self.store, self.learnt, run_id=self.run_id, now=self.now)
        if learnt.counted:
            log.info("entity registry: %d name(s) already held the counts of run %s (a retry); not added again",
                     len(learnt.counted), self.run_id)
        config = load_entity_config(self.settings.entities_config)
        before, after = learnt.before.settle(config), learnt.after.settle(config)
        changed = changed_names(before, after, learnt.after)
        self.report.registry_changes += record_changes(self.store, changed, now=self.now)
        self.settled, self.queued = after, change_ids(changed)
        return learnt.written

    def recanonicalise(self) -> RecanonReport:
        """Give the indexed articles that hold a name whose value changed their new values (the pending registry
        changes, against the registry as it stands now); counted in the report as `recanonicalised`."""
        done = recanonicalise(self.store, lambda: load_registry(self.store).settle(
            load_entity_config(self.settings.entities_config)), settled=self.settled, own=self.queued)
        self.report.recanonicalised += done.rewritten
        return done

    # -----------------------------------------------------------------------------------------------------------
    # Stage 4: index

    def index(self, items: Iterable[EnrichedArticle]) -> None:
        """Write enriched articles, counting indexed/unchanged and recording what Elasticsearch refused; articles
        read back from the index (`self.expected`) whose document changed since go to `self.conflicts`."""
        for outcome in index_articles(self.store, items, pipeline_version=self.version, now=self.now,
                                      expected=self.expected):
            if outcome.status == "conflict":
                self.conflicts.append(outcome.doc_id)
                continue
            if outcome.status == "rejected":
                self.report.reject(outcome.as_rejection(), doc_id=outcome.doc_id)
                continue
            if outcome.status == "indexed":
                self.report.indexed += 1
            else:
                self.report.unchanged += 1
            self.ok.add(outcome.doc_id)

    # -----------------------------------------------------------------------------------------------------------
    # Bookkeeping

    def settle(self, sources: list[SourceConfig]) -> None:
        """After indexing: failures into the quarantine, then the run's units into the ledger.

        In that order: a run killed in between has quarantined its failures and left its units unrecorded, so the
        next run reads them again; the other order could mark a unit done whose failures were never recorded.
        What the run's articles taught the entity registry is written first (`learn`).
        """
        self.learn()
        by_name = {s.name: s for s in sources}
        unit_of = {doc_id: (unit.source, unit.key) for unit in self.pending for doc_id in unit.doc_ids}
        failures = []
        for rejection in self.report.rejections:
            if rejection.get("duplicate"):
                continue
            source, unit = rejection.get("source"), rejection.get("unit")
            if rejection.get("doc_id") in unit_of:
                source, unit = unit_of[rejection["doc_id"]]
            config = by_name.get(source or "")
            if config is None or unit is None:
                continue
            failures.append({**rejection, "source": source, "unit": unit, "source_kind": config.kind,
                             "location": config.location, "language": config.language})
        processed: dict[str, set[str]] = {}
        for entry in self.pending:
            processed.setdefault(entry.source, set()).add(entry.key)
        for source in sources:  # a source that was read fine this time releases its own earlier failure
            if self.report.sources.get(source.name, {}).get("status") == "ok":
                processed.setdefault(source.name, set()).add(source.location)
        counts = update_quarantine(self.store, failures, processed, partition=self.report.partition, now=self.now)
        self.report.quarantined, self.report.released = counts["quarantined"], counts["released"]
        Ledger(self.store, self.version).commit(self.pending, self.listings, self.ok,
                                                partition=self.report.partition, now=self.now)

    def prune(self, sources: list[SourceConfig]) -> int:
        """Remove the documents of files that disappeared from their folder or WARC source (`ingest --prune`).

        A unit is gone when the ledger holds it under a source's folder (or names the source's own file) and the
        file no longer exists; files outside the run's days are still there and are left alone. A document that
        another unit also names (the same article in another file) stays. Then the quarantine entries and the
        ledger entries of the gone units are dropped. Fetched sources (feeds, sitemaps, URLs) are never pruned: a
        feed rolling over is not a deletion. Idempotent: a run killed half-way prunes the rest next time.
        Returns the number of documents removed (also `report.pruned`).
        """
        ledger = Ledger(self.store, self.version)
        gone: dict[tuple[str, str], list[str]] = {}
        for source in sources:
            if source.kind not in ("folder", "warc"):
                continue
            root = Path(source.location).resolve()
            for key, doc_ids in ledger.items_of(source.name):
                path = Path(key)
                if (path == root or root in path.parents) and not path.exists():
                    gone[(source.name, key)] = doc_ids
        if not gone:
            return 0
        doomed = {doc_id for doc_ids in gone.values() for doc_id in doc_ids}
        doomed -= ledger.named_by_others(doomed, set(gone))
        results = self.store.bulk((BulkAction("delete", self.store.alias, doc_id) for doc_id in sorted(doomed)),
                                  refresh=True)
        if failed := [r for r in results if not r.ok]:
            raise InfrastructureError(f"pruning {self.store.alias!r}: {len(failed)} deletion(s) refused, first: "
                                      f"{failed[0].error}")
        pruned = sum(r.status != 404 for r in results)  # 404: already gone (a pruning run killed half-way)
        processed: dict[str, set[str]] = {}
        for source, key in gone:
            processed.setdefault(source, set()).add(key)
        self.report.released += update_quarantine(self.store, [], processed, partition=self.report.partition,
                                                  now=self.now)["released"]
        ledger.forget(gone)
        self.report.pruned += pruned
        return pruned

    def close(self, *, run_id: str | None = None, stages: dict[str, dict[str, Any]] | None = None) -> RunReport:
        """Stamp the run's end (and, unless stage times were merged in, its total time) and record it in the runs
        index, waiting until every write of the run is durable (`Store.durable`); returns the report."""
        if not self.report.seconds:
            self.report.seconds["total"] = round(time.perf_counter() - self._clock, 3)
        self.report.finished_at = utcnow().isoformat()
        run_id = run_id or self.run_id
        docs = run_documents(self.report.to_dict(), run_id=run_id, kind=self.kind, pipeline_version=self.version,
                             stages=stages)
        # The run reports success only once its writes are durable (the embedded server saves on a tick).
        self.store.durable(lambda: record_run(self.store, docs))
        return self.report


class Collection:
    """Reads sources into units for one run: one fetcher (robots.txt and host delays span all sources), the
    ledger, per-source status and counts in the report."""

    def __init__(self, settings: Settings, ledger: LedgerLookup, *, today: date,
                 window: tuple[date, date] | None = None,
                 only_keys: dict[tuple[str, str], frozenset[str]] | None = None) -> None:
        self.settings = settings
        self.ledger = ledger
        self.today = today
        self.window = window
        self.only_keys = only_keys
        self.listings: list[Listing] = []
        self._fetcher: Fetcher | None = None

    def fetcher(self) -> Fetcher:
        """The run's one fetcher, created on first network use."""
        if self._fetcher is None:
            self._fetcher = Fetcher(self.settings.fetch)
        return self._fetcher

    def requests_made(self) -> int:
        """HTTP requests sent so far in this run."""
        return self._fetcher.requests_made if self._fetcher else 0

    def close(self) -> None:
        """Close the fetcher's connections."""
        if self._fetcher is not None:
            self._fetcher.close()

    def source_units(self, source: SourceConfig, report: RunReport) -> Iterator[Unit]:
        """One source's units; its status and counts go to report.sources."""
        if source.options.get("allow_hosts"):  # for the rest of this run's fetcher
            self.fetcher().allow_hosts(source.options["allow_hosts"])
        requests_before = self.requests_made()
        ctx = CollectContext(fetcher_factory=self.fetcher, ledger=self.ledger,
                             window=self.window, today=self.today,
                             live_window_days=self.settings.fetch.live_window_days,
                             only_keys=(self.only_keys.get((source.name, source.location), frozenset())
                                        if self.only_keys is not None else None))
        # Several targets of one `newsetl ingest` share the source name: their counts add up.
        info: dict[str, Any] = report.sources.setdefault(source.name, {"kind": source.kind, "status": "ok"})
        try:
            yield from units_of(source, ctx)
        except SourceError as exc:
            info.update(status="failed", error=str(exc))
            report.reject(Rejection(source.location, "fetch", str(exc)), source=source.name,
                          unit=source.location)
        finally:
            self.listings += ctx.listings
            stats = ctx.stats
            requests = self.requests_made() - requests_before
            if stats.skipped_no_history:
                info["status"] = "skipped"
                info["error"] = "no history: feeds, sitemaps and URLs are only read for recent intervals"
            for key, value in (("listed", stats.listed), ("skipped", stats.skipped_known),
                               ("not_modified", stats.not_modified), ("requests", requests)):
                info[key] = info.get(key, 0) + value
            report.skipped += stats.skipped_known
            report.unchanged += stats.skipped_documents
            report.not_modified += stats.not_modified
            report.requests += requests
