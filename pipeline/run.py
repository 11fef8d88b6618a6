"""Stage entry points composed from the pure stages: what the DAG tasks and the CLI call.

Two ways to run the same stages:
- `ingest()` streams files -> clean -> enrich -> index in one process (the CLI, no Airflow);
- `discover/clean_stage/enrich_stage/index_stage/finish_report` persist each stage's output as JSON lines in a
  per-partition work folder, so Airflow passes only paths and counts through XCom and retries one stage at a time.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
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
from pipeline.index.lifecycle import Migration, migrate_index
from pipeline.index.runs import record_run, run_documents
from pipeline.models import Article, EnrichedArticle, Rejection
from pipeline.nlp import load_nlp
from pipeline.partitions import files_in_window, partition_window  # noqa: F401 - re-exported for the DAG
from pipeline.settings import Settings
from pipeline.sources.files import iter_files, read_articles
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
    rejections: list[dict[str, str]] = field(default_factory=list)
    # Articles indexed after a repair or a cut (charset, truncation, invalid date): {ref, stage, message}.
    warnings: list[dict[str, str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        """Number of articles (or files/lines) that were rejected at any stage."""
        return len(self.rejections)

    def reject(self, rejection: Rejection) -> None:
        """Record one rejection."""
        self.rejections.append(rejection.to_dict())

    def warn(self, ref: str, stage: str, message: str) -> None:
        """Record a problem that was repaired; the article itself went on."""
        self.warnings.append({"ref": ref, "stage": stage, "message": message})

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the derived rejected count."""
        return {**asdict(self), "rejected": self.rejected, "warned": len(self.warnings)}


def utcnow() -> datetime:
    """The run's clock (UTC, second precision)."""
    return datetime.now(UTC).replace(microsecond=0)


# ---------------------------------------------------------------------------------------------------------------
# Stage generators shared by both ways of running


def read_and_clean(files: Iterable[Path], settings: Settings, report: RunReport, *, now: datetime,
                   on_file: ProgressCallback | None = None) -> Iterator[Article]:
    """Read every file and clean every article in it; rejections go to the report, never stop the stream.

    An article whose id was already seen in this run is rejected as a duplicate (the first one is kept), so a
    batch never writes one document twice and the counts add up.
    """
    first_ref_of: dict[str, str] = {}
    for path in files:
        report.files += 1
        for raw in read_articles(path, settings.source_name):
            report.seen += 1
            if isinstance(raw, Rejection):
                report.reject(raw)
                continue
            try:
                result = clean_article(raw, now=now, default_language=settings.default_language)
            except (ValueError, TypeError, LookupError, RecursionError) as exc:  # a bug on odd input: record it
                result = Rejection(raw.ref, "clean", f"unexpected {type(exc).__name__}: {exc}")
            if isinstance(result, Rejection):
                report.reject(result)
                continue
            if result.doc_id in first_ref_of:
                report.duplicates += 1
                report.reject(Rejection(result.ref, "clean", f"duplicate of {first_ref_of[result.doc_id]} (same "
                                        f"document id {result.doc_id}) earlier in this run; the first is kept"))
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
                *, now: datetime) -> None:
    """Index enriched articles, counting indexed/unchanged and recording per-document rejections."""
    version = version_of(settings)
    for outcome in index_articles(client, items, settings.index, pipeline_version=version, now=now):
        if outcome.status == "indexed":
            report.indexed += 1
        elif outcome.status == "unchanged":
            report.unchanged += 1
        else:
            report.reject(outcome.as_rejection())


def changed_only(client: Elasticsearch, articles: Iterable[Article], settings: Settings,
                 report: RunReport) -> Iterator[Article]:
    """Drop articles whose indexed document is already up to date, so they cost no NLP and no write."""
    def count(_article: Article) -> None:
        report.unchanged += 1

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


def ingest(paths: Iterable[Path | str], settings: Settings, *, client: Elasticsearch | None = None,
           on_file: ProgressCallback | None = None, files: list[Path] | None = None) -> RunReport:
    """Run the whole pipeline on files and folders; article problems are reported, infrastructure ones raise."""
    now = utcnow()
    report = RunReport(started_at=now.isoformat())
    files = files if files is not None else list(iter_files(paths))
    client = client or connect(settings)
    ensure_index(client, settings.index)
    load_nlp(settings.nlp.model)  # fail on a missing model before reading anything
    started = time.perf_counter()
    articles = changed_only(client, read_and_clean(files, settings, report, now=now, on_file=on_file), settings,
                            report)
    enriched = enrich_stream(settings, articles)
    write_index(client, _counted(enriched, report), settings, report, now=now)
    return _close_run(client, settings, report, "ingest", started)


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


# ---------------------------------------------------------------------------------------------------------------
# Staged, for Airflow: each stage reads the previous stage's file and writes its own


def partition_key(start: date, end: date) -> str:
    """Folder name for a run's partition: the day, or 'start--end' for longer windows."""
    return start.isoformat() if (end - start).days == 1 else f"{start.isoformat()}--{end.isoformat()}"


def workdir_for(settings: Settings, start: date, end: date) -> Path:
    """The partition's work folder; re-running a partition overwrites it, never appends to it."""
    return settings.runs_dir / partition_key(start, end)


def discover(settings: Settings, start: date, end: date) -> dict[str, Any]:
    """List the landing files of the partition [start, end) and prepare its work folder."""
    workdir = workdir_for(settings, start, end)
    with _disk_errors(workdir):
        workdir.mkdir(parents=True, exist_ok=True)
    files = [str(p) for p in files_in_window(settings.landing_dir, start, end)]
    return {"partition": partition_key(start, end), "workdir": str(workdir), "files": files}


def clean_stage(settings: Settings, files: list[str], workdir: str) -> dict[str, Any]:
    """Read and clean the partition's files into articles.jsonl; returns counts for XCom."""
    now = utcnow()
    report = RunReport(started_at=now.isoformat())
    started = time.perf_counter()
    articles = read_and_clean([Path(f) for f in files], settings, report, now=now)
    _write_jsonl(Path(workdir) / "articles.jsonl", (a.to_dict() for a in articles))
    _write_jsonl(Path(workdir) / "rejections.clean.jsonl", report.rejections)
    _write_jsonl(Path(workdir) / "warnings.clean.jsonl", report.warnings)
    return {"files": report.files, "seen": report.seen, "cleaned": report.cleaned, "undated": report.undated,
            "rejected": report.rejected, "duplicates": report.duplicates, "warned": len(report.warnings),
            "seconds": round(time.perf_counter() - started, 3),
            "started_at": report.started_at}


def enrich_stage(settings: Settings, workdir: str) -> dict[str, Any]:
    """Enrich the changed articles of articles.jsonl into enriched.jsonl (spaCy model loaded once)."""
    started = time.perf_counter()
    report = RunReport(started_at=utcnow().isoformat())
    client = connect(settings)
    ensure_index(client, settings.index)
    articles = (Article.from_dict(d) for d in _read_jsonl(Path(workdir) / "articles.jsonl"))
    enriched = enrich_stream(settings, changed_only(client, articles, settings, report))
    count = _write_jsonl(Path(workdir) / "enriched.jsonl", (e.to_dict() for e in enriched))
    return {"enriched": count, "unchanged": report.unchanged, "seconds": round(time.perf_counter() - started, 3)}


def index_stage(settings: Settings, workdir: str) -> dict[str, Any]:
    """Bulk-index enriched.jsonl into the alias; raises InfrastructureError if Elasticsearch fails."""
    now = utcnow()
    started = time.perf_counter()
    report = RunReport(started_at=now.isoformat())
    client = connect(settings)
    ensure_index(client, settings.index)
    items = (EnrichedArticle.from_dict(d) for d in _read_jsonl(Path(workdir) / "enriched.jsonl"))
    write_index(client, items, settings, report, now=now)
    _write_jsonl(Path(workdir) / "rejections.index.jsonl", report.rejections)
    return {"indexed": report.indexed, "unchanged": report.unchanged, "rejected": report.rejected,
            "seconds": round(time.perf_counter() - started, 3)}


def finish_report(workdir: str, partition: str, stages: dict[str, dict[str, Any]]) -> RunReport:
    """Combine the stages' counts and rejections into report.json in the work folder."""
    clean, enrich, index = stages.get("clean", {}), stages.get("enrich", {}), stages.get("index", {})
    report = RunReport(
        started_at=clean.get("started_at", utcnow().isoformat()), partition=partition,
        finished_at=utcnow().isoformat(),
        files=clean.get("files", 0), seen=clean.get("seen", 0), cleaned=clean.get("cleaned", 0),
        undated=clean.get("undated", 0), enriched=enrich.get("enriched", 0), indexed=index.get("indexed", 0),
        unchanged=enrich.get("unchanged", 0) + index.get("unchanged", 0), duplicates=clean.get("duplicates", 0),
        seconds={name: s.get("seconds", 0.0) for name, s in stages.items()},
    )
    for name in ("rejections.clean.jsonl", "rejections.index.jsonl"):
        path = Path(workdir) / name
        if path.exists():
            report.rejections.extend(_read_jsonl(path))
    path = Path(workdir) / "warnings.clean.jsonl"
    if path.exists():
        report.warnings.extend(_read_jsonl(path))
    path = Path(workdir) / "report.json"
    with _disk_errors(path):
        tmp = path.with_name("report.json.tmp")
        tmp.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
    return report


def publish_report(settings: Settings, workdir: str, partition: str, stages: dict[str, dict[str, Any]], *,
                   run_id: str) -> RunReport:
    """finish_report, then record the run (whole run and each stage) in the `<alias>-runs` index."""
    report = finish_report(workdir, partition, stages)
    docs = run_documents(report.to_dict(), run_id=run_id, kind="nightly", pipeline_version=version_of(settings),
                         stages=stages)
    record_run(connect(settings), settings.index, docs)
    return report


# ---------------------------------------------------------------------------------------------------------------
# Staging files: written atomically so a killed task never leaves a half file that looks complete


@contextmanager
def _disk_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise InfrastructureError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with _disk_errors(path):
        with tmp.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    return count


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
