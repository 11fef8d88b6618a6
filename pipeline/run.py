"""Stage entry points composed from the pure stages: what the DAG tasks and the CLI call.

Two ways to run the same stages:
- `ingest()` streams sources -> clean -> enrich -> index in one process (the CLI, no Airflow);
- pipeline.staged runs the same generators one stage (and one source, one batch) per Airflow task, passing
  files through a per-partition work folder.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.clean import clean_article
from pipeline.enrich import enrich_articles
from pipeline.entities import load_entity_config
from pipeline.errors import InfrastructureError
from pipeline.index.client import connect
from pipeline.index.indexer import ensure_index, index_articles, iter_indexed_articles, skip_unchanged
from pipeline.index.ledger import Ledger, PendingUnit
from pipeline.index.lifecycle import Migration, migrate_index
from pipeline.index.quarantine import list_quarantine, update_quarantine
from pipeline.index.runs import record_run, run_documents
from pipeline.models import Article, EnrichedArticle, Rejection
from pipeline.nlp import load_nlp
from pipeline.partitions import files_in_window, partition_window  # noqa: F401 - re-exported for the DAG
from pipeline.settings import Settings
from pipeline.sources.collect import SourceError, units_of
from pipeline.sources.config import SourceConfig, load_sources, source_for_target
from pipeline.sources.http import Fetcher
from pipeline.sources.units import CollectContext, LedgerLookup, Listing, NoLedger, Unit
from pipeline.version import pipeline_version

ProgressCallback = Callable[[int], None]


@dataclass
class RunReport:
    """Counts and rejections of one run; written as report.json and printed as the run summary."""

    started_at: str
    partition: str | None = None
    finished_at: str | None = None
    files: int = 0
    seen: int = 0
    cleaned: int = 0
    undated: int = 0
    enriched: int = 0
    indexed: int = 0
    unchanged: int = 0
    duplicates: int = 0  # articles whose id an earlier article of the same run already had
    skipped: int = 0  # units (files, pages) known to the ledger and unchanged: not read, not fetched
    not_modified: int = 0  # conditional GETs answered 304
    requests: int = 0  # HTTP requests sent (robots.txt and retries included)
    quarantined: int = 0
    released: int = 0  # quarantine entries cleared because their unit now went through
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # per source: status, error, counts
    rejections: list[dict[str, Any]] = field(default_factory=list)
    # Articles indexed after a repair or a cut (charset, truncation, invalid date): {ref, stage, message}.
    warnings: list[dict[str, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        """Number of articles (or files/lines) that were rejected at any stage."""
        return len(self.rejections)

    def reject(self, rejection: Rejection, **context: Any) -> None:
        """Record one rejection, with where it came from (source, unit, doc_id) when known."""
        self.rejections.append({**rejection.to_dict(), **context})

    @property
    def failed_sources(self) -> list[str]:
        """Names of the sources that could not be read at all in this run."""
        return [name for name, info in self.sources.items() if info.get("status") == "failed"]

    def warn(self, ref: str, stage: str, message: str) -> None:
        """Record a problem that was repaired; the article itself went on."""
        self.warnings.append({"ref": ref, "stage": stage, "message": message})

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the derived rejected count."""
        return {**asdict(self), "rejected": self.rejected, "warned": len(self.warnings),
                "sources_failed": len(self.failed_sources)}


def utcnow() -> datetime:
    """The run's clock (UTC, second precision)."""
    return datetime.now(UTC).replace(microsecond=0)


# ---------------------------------------------------------------------------------------------------------------
# Stage generators shared by both ways of running


def clean_units(units: Iterable[Unit], settings: Settings, report: RunReport, pending: list[PendingUnit], *,
                now: datetime, on_file: ProgressCallback | None = None) -> Iterator[Article]:
    """Read and clean every unit; rejections go to the report (with source and unit), never stop the stream.

    Each unit gets a PendingUnit listing its documents, so the ledger can record it once they are indexed. An
    article whose id was already seen in this run is a duplicate (the first one is kept), so a batch never
    writes one document twice and the counts add up.
    """
    first_ref_of: dict[str, str] = {}
    for unit in units:
        report.files += 1
        entry = PendingUnit.of(unit)
        pending.append(entry)
        context = {"source": unit.source, "unit": unit.key}
        for raw in unit.read():
            report.seen += 1
            if isinstance(raw, Rejection):
                report.reject(raw, **context)
                continue
            try:
                result = clean_article(raw, now=now, default_language=settings.default_language)
            except (ValueError, TypeError, LookupError, RecursionError) as exc:  # a bug on odd input: record it
                result = Rejection(raw.ref, "clean", f"unexpected {type(exc).__name__}: {exc}")
            if isinstance(result, Rejection):
                report.reject(result, **context)
                continue
            entry.doc_ids.append(result.doc_id)
            if result.doc_id in first_ref_of:
                report.duplicates += 1
                report.reject(Rejection(result.ref, "clean", f"duplicate of {first_ref_of[result.doc_id]} (same "
                                        f"document id {result.doc_id}) earlier in this run; the first is kept"),
                              duplicate=True)
                continue
            first_ref_of[result.doc_id] = result.ref
            for message in result.warnings:
                report.warn(result.ref, "clean", message)
            report.cleaned += 1
            report.undated += result.published_at is None
            yield result
        if on_file:
            on_file(1)


def version_of(settings: Settings) -> str:
    """The pipeline version documents get under these settings (code, model, entity rules)."""
    return pipeline_version(settings.nlp.model, load_entity_config(settings.entities_config).fingerprint)


def enrich_stream(settings: Settings, articles: Iterable[Article]) -> Iterator[EnrichedArticle]:
    """Entities and dates for a stream of articles: model loaded once per process, entity rules from config."""
    return enrich_articles(load_nlp(settings.nlp.model), articles, batch_size=settings.nlp.batch_size,
                           batch_words=settings.nlp.batch_words, n_process=settings.nlp.processes,
                           max_chars=settings.nlp.max_chars,
                           entity_config=load_entity_config(settings.entities_config))


def write_index(client: Elasticsearch, items: Iterable[EnrichedArticle], settings: Settings, report: RunReport,
                *, now: datetime, ok: set[str] | None = None) -> None:
    """Index enriched articles, counting indexed/unchanged (their ids into `ok`) and recording rejections."""
    version = version_of(settings)
    for outcome in index_articles(client, items, settings.index, pipeline_version=version, now=now):
        if outcome.status == "rejected":
            report.reject(outcome.as_rejection(), doc_id=outcome.doc_id)
            continue
        if outcome.status == "indexed":
            report.indexed += 1
        else:
            report.unchanged += 1
        if ok is not None:
            ok.add(outcome.doc_id)


def changed_only(client: Elasticsearch, articles: Iterable[Article], settings: Settings,
                 report: RunReport, ok: set[str] | None = None) -> Iterator[Article]:
    """Drop articles whose indexed document is already up to date, so they cost no NLP and no write."""
    def count(article: Article) -> None:
        report.unchanged += 1
        if ok is not None:
            ok.add(article.doc_id)

    return skip_unchanged(client, articles, settings.index, pipeline_version=version_of(settings),
                          on_unchanged=count)


def _close_run(client: Elasticsearch, settings: Settings, report: RunReport, kind: str,
               started: float) -> RunReport:
    """Stamp the run's duration and end, and record it in the runs index."""
    report.seconds["total"] = round(time.perf_counter() - started, 3)
    report.finished_at = utcnow().isoformat()
    # Two runs can start in the same second; the random part keeps their reports apart.
    run_id = f"{kind}:{report.started_at}:{uuid.uuid4().hex[:8]}"
    record_run(client, settings.index, run_documents(report.to_dict(), run_id=run_id, kind=kind,
                                                     pipeline_version=version_of(settings)))
    return report


def _counted(items: Iterable[EnrichedArticle], report: RunReport) -> Iterator[EnrichedArticle]:
    for item in items:
        report.enriched += 1
        yield item


# ---------------------------------------------------------------------------------------------------------------
# One process, streaming (CLI)


def ingest(targets: Iterable[Path | str], settings: Settings, *, client: Elasticsearch | None = None,
           on_file: ProgressCallback | None = None, sources: list[SourceConfig] | None = None,
           window: tuple[date, date] | None = None, full: bool = False) -> RunReport:
    """Run the whole pipeline on targets (files, folders, URL lists, WARC files, feed/sitemap/page URLs) or on
    configured sources; article problems are reported and quarantined, infrastructure ones raise.

    The ledger skips what earlier runs already processed (`full=True` reads everything again).
    """
    if sources is None:
        sources = [source_for_target(str(t), name=settings.source_name) for t in targets]
    return process_sources(settings, sources, kind="ingest", client=client, on_file=on_file, window=window,
                           full=full)


def retry_quarantine(settings: Settings, *, names: list[str] | None = None, stage: str | None = None,
                     client: Elasticsearch | None = None) -> RunReport:
    """`newsetl quarantine retry`: read and fetch the quarantined units again, unconditionally, and process them.

    Entries whose unit now goes through leave the quarantine; the others stay with one more attempt counted.
    """
    client = client or connect(settings)
    _total, entries = list_quarantine(client, settings.index, sources=names, stage=stage)
    configured = {(s.name, s.kind, s.location): s for s in load_sources(settings, include_disabled=True)}
    sources: dict[tuple[str, str], SourceConfig] = {}
    keys: dict[tuple[str, str], set[str]] = {}
    for entry in entries:
        where = (entry["source"], entry["location"])
        # Sources named on the command line (not in sources.yml) are rebuilt from what the entry recorded.
        sources.setdefault(where, configured.get((entry["source"], entry["source_kind"], entry["location"]))
                           or SourceConfig(name=entry["source"], kind=entry["source_kind"],
                                           location=entry["location"], language=entry.get("language")))
        keys.setdefault(where, set()).add(entry["unit"])
    only_keys = {where: frozenset(units) for where, units in keys.items()}
    return process_sources(settings, list(sources.values()), kind="retry", client=client, only_keys=only_keys)


def process_sources(settings: Settings, sources: list[SourceConfig], *, kind: str,
                    client: Elasticsearch | None = None, on_file: ProgressCallback | None = None,
                    window: tuple[date, date] | None = None, full: bool = False,
                    only_keys: dict[tuple[str, str], frozenset[str]] | None = None) -> RunReport:
    """Sources -> units -> clean -> (changed only) -> enrich -> index, streaming; then ledger and quarantine."""
    now = utcnow()
    report = RunReport(started_at=now.isoformat())
    client = client or connect(settings)
    ensure_index(client, settings.index)
    load_nlp(settings.nlp.model)  # fail on a missing model before reading anything
    started = time.perf_counter()
    collection = Collection(settings, client, now=now, window=window, full=full, only_keys=only_keys)
    pending: list[PendingUnit] = []
    ok: set[str] = set()
    units = collection.units(sources, report)
    articles = changed_only(client, clean_units(units, settings, report, pending, now=now, on_file=on_file),
                            settings, report, ok)
    write_index(client, _counted(enrich_stream(settings, articles), report), settings, report, now=now, ok=ok)
    settle(client, settings, report, sources, pending, collection.listings, ok, partition=None, now=now)
    return _close_run(client, settings, report, kind, started)


class Collection:
    """Reads sources into units for one run: one fetcher, the ledger, per-source status in the report."""

    def __init__(self, settings: Settings, client: Elasticsearch, *, now: datetime,
                 window: tuple[date, date] | None = None, full: bool = False,
                 only_keys: dict[tuple[str, str], frozenset[str]] | None = None) -> None:
        self.settings = settings
        self.window = window
        self.today = now.date()
        self.ledger: LedgerLookup = NoLedger() if full or only_keys else Ledger(client, settings.index,
                                                                                   version_of(settings))
        self.only_keys = only_keys
        self.listings: list[Listing] = []
        self._fetcher: Fetcher | None = None

    def fetcher(self) -> Fetcher:
        """The run's one fetcher, created on first network use: robots.txt and host delays span all sources."""
        if self._fetcher is None:
            self._fetcher = Fetcher(self.settings.fetch)
        return self._fetcher

    def requests_made(self) -> int:
        """HTTP requests sent so far in this run."""
        return self._fetcher.requests_made if self._fetcher else 0

    def units(self, sources: Iterable[SourceConfig], report: RunReport) -> Iterator[Unit]:
        """Every source's units in turn; a source that cannot be read is recorded as failed, the rest go on."""
        try:
            for source in sources:
                yield from self._source_units(source, report)
        finally:
            if self._fetcher is not None:
                self._fetcher.close()

    def _source_units(self, source: SourceConfig, report: RunReport) -> Iterator[Unit]:
        """One source's units; its status and counts go to report.sources."""
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


def settle(client: Elasticsearch, settings: Settings, report: RunReport, sources: list[SourceConfig],
           pending: list[PendingUnit], listings: list[Listing], ok: set[str], *, partition: str | None,
           now: datetime) -> None:
    """After indexing: record the run's units in the ledger and its failures in the quarantine."""
    Ledger(client, settings.index, version_of(settings)).commit(pending, listings, ok, partition=partition, now=now)
    by_name = {s.name: s for s in sources}
    unit_of = {doc_id: (unit.source, unit.key) for unit in pending for doc_id in unit.doc_ids}
    failures = []
    for rejection in report.rejections:
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
    for unit in pending:
        processed.setdefault(unit.source, set()).add(unit.key)
    for source in sources:  # a source that was read fine this time releases its own earlier failure
        if report.sources.get(source.name, {}).get("status") == "ok":
            processed.setdefault(source.name, set()).add(source.location)
    counts = update_quarantine(client, settings.index, failures, processed, partition=partition, now=now)
    report.quarantined, report.released = counts["quarantined"], counts["released"]


def reenrich(settings: Settings, *, client: Elasticsearch | None = None) -> RunReport:
    """Re-enrich every indexed article whose pipeline version is outdated (new model or entity rules).

    Reads the stored clean text back from the index, so no source has to be fetched again; documents already
    enriched by the current version are skipped without NLP.
    """
    now = utcnow()
    report = RunReport(started_at=now.isoformat(), partition="reenrich")
    client = client or connect(settings)
    ensure_index(client, settings.index)
    started = time.perf_counter()
    refresh_stale(client, settings, report, source_index=settings.index.alias, target_index=settings.index.alias,
                  now=now)
    return _close_run(client, settings, report, "reenrich", started)


def refresh_stale(client: Elasticsearch, settings: Settings, report: RunReport, *, source_index: str,
                  target_index: str, now: datetime) -> None:
    """Enrich the articles stored in `source_index` whose document in `target_index` is missing or outdated."""
    source = settings.index.model_copy(update={"alias": source_index})
    target = settings.model_copy(update={"index": settings.index.model_copy(update={"alias": target_index})})

    def counted(articles: Iterable[Article]) -> Iterator[Article]:
        for article in articles:
            report.seen += 1
            yield article

    stale = changed_only(client, counted(iter_indexed_articles(client, source)), target, report)
    write_index(client, _counted(enrich_stream(target, stale), report), target, report, now=now)


def migrate(settings: Settings, *, rebuild: bool = False, keep_old: bool = False,
            client: Elasticsearch | None = None) -> tuple[Migration, RunReport]:
    """`newsetl index migrate`: rebuild the index behind the alias under the current mapping and pipeline version.

    Default: server-side copy into the new index, then re-enrich only the documents whose pipeline version is
    outdated. `rebuild`: re-enrich every article from the stored clean text (when the copy itself would not fit
    the new mapping). Either way nothing is fetched from the sources again.
    """
    now = utcnow()
    report = RunReport(started_at=now.isoformat(), partition="migrate")
    client = client or connect(settings)
    load_nlp(settings.nlp.model)  # fail on a missing model before touching the index
    started = time.perf_counter()

    def fill(old_index: str, new_index: str) -> None:
        source = new_index if not rebuild else old_index
        refresh_stale(client, settings, report, source_index=source, target_index=new_index, now=now)
        if report.rejections:
            first = report.rejections[0]
            raise InfrastructureError(f"{report.rejected} article(s) could not be re-enriched (first: "
                                      f"{first['ref']}: {first['reason']})")

    migration = migrate_index(client, settings.index, mode="rebuild" if rebuild else "reindex", now=now, fill=fill,
                              keep_old=keep_old)
    return migration, _close_run(client, settings, report, "migrate", started)
