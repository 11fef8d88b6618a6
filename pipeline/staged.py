"""The pipeline in stages for Airflow: one task per source (collect), per batch (enrich, index), then settle.

Stages exchange JSON-lines files in the partition's work folder (`runs/<partition>/<source>/`), so XCom carries
only paths and counts and each stage can be retried alone. Layout of a source folder:
  articles-0001.jsonl ... (batches of cleaned articles), pending.jsonl (units awaiting the ledger),
  listings.jsonl, collect.json (counts, rejections, warnings, status);
  enriched-0001.jsonl + ok-0001.enrich.jsonl (ids found unchanged), ok-0001.index.jsonl + index-0001.json.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

from pipeline.errors import InfrastructureError
from pipeline.index.client import connect
from pipeline.index.indexer import ensure_index
from pipeline.index.ledger import PendingUnit
from pipeline.index.runs import record_run, run_documents
from pipeline.models import Article, EnrichedArticle
from pipeline.run import (
    Collection,
    RunReport,
    changed_only,
    clean_units,
    enrich_stream,
    settle,
    utcnow,
    version_of,
    write_index,
)
from pipeline.settings import Settings
from pipeline.sources.config import SourceConfig, select_sources
from pipeline.sources.http import Validators
from pipeline.sources.units import Listing

COUNTS = ("files", "seen", "cleaned", "undated", "duplicates", "skipped", "not_modified", "requests")


def partition_key(start: date, end: date) -> str:
    """Folder name for a run's partition: the day, or 'start--end' for longer windows."""
    return start.isoformat() if (end - start).days == 1 else f"{start.isoformat()}--{end.isoformat()}"


def workdir_for(settings: Settings, start: date, end: date) -> Path:
    """The partition's work folder."""
    return settings.runs_dir / partition_key(start, end)


def plan_sources(settings: Settings, start: date, end: date, names: list[str] | None = None) -> list[str]:
    """Names of the sources this run reads; the partition's work folder starts empty (a re-run overwrites)."""
    workdir = workdir_for(settings, start, end)
    with disk_errors(workdir):
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True, exist_ok=True)
    return [s.name for s in select_sources(settings, names)]


def collect_source(settings: Settings, name: str, start: date, end: date) -> dict[str, Any]:
    """Read one source's units of [start, end), clean them into batches; a broken source is recorded, not raised."""
    now = utcnow()
    started = time.perf_counter()
    (source,) = select_sources(settings, [name])
    folder = workdir_for(settings, start, end) / name
    with disk_errors(folder):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "collect.json").unlink(missing_ok=True)  # "finished" only once this attempt has written it
    report = RunReport(started_at=now.isoformat(), partition=partition_key(start, end))
    client = connect(settings)
    ensure_index(client, settings.index)
    collection = Collection(settings, client, now=now, window=(start, end))
    pending: list[PendingUnit] = []
    articles = clean_units(collection.units([source], report), settings, report, pending, now=now)
    batches = []
    for number, batch in enumerate(_chunks(articles, settings.batch_articles), start=1):
        path = folder / f"articles-{number:04d}.jsonl"
        write_jsonl(path, (a.to_dict() for a in batch))
        batches.append(str(path))
    _drop_stale_batches(folder, keep=len(batches))
    write_jsonl(folder / "pending.jsonl", (u.to_dict() for u in pending))
    write_jsonl(folder / "listings.jsonl", (asdict(listing) for listing in collection.listings))
    report.seconds["collect"] = round(time.perf_counter() - started, 3)
    write_json(folder / "collect.json", report.to_dict())
    return {"source": name, "status": report.sources[name]["status"], "batches": batches,
            **{k: getattr(report, k) for k in COUNTS}}


def list_batches(settings: Settings, start: date, end: date) -> list[str]:
    """Every batch file the collect tasks of this partition wrote (sources that failed wrote none)."""
    return sorted(str(p) for p in workdir_for(settings, start, end).glob("*/articles-*.jsonl"))


def enrich_batch(settings: Settings, batch: str) -> str:
    """Entities and dates for one batch's changed articles (model loaded once per task); returns its output."""
    started = time.perf_counter()
    path = Path(batch)
    out = path.with_name(path.name.replace("articles-", "enriched-"))
    report = RunReport(started_at=utcnow().isoformat())
    client = connect(settings)
    ensure_index(client, settings.index)
    ok: set[str] = set()
    articles = (Article.from_dict(d) for d in read_jsonl(path))
    enriched = enrich_stream(settings, changed_only(client, articles, settings, report, ok))
    count = write_jsonl(out, (e.to_dict() for e in enriched))
    write_jsonl(_ok_path(path, "enrich"), ({"id": doc_id} for doc_id in sorted(ok)))
    write_json(_stage_path(path, "enrich"), {"enriched": count, "unchanged": len(ok),
                                             "seconds": round(time.perf_counter() - started, 3)})
    return str(out)


def index_batch(settings: Settings, enriched: str) -> dict[str, Any]:
    """Bulk-index one enriched batch; raises InfrastructureError (Airflow retries) if Elasticsearch fails."""
    now = utcnow()
    started = time.perf_counter()
    path = Path(enriched)
    report = RunReport(started_at=now.isoformat())
    client = connect(settings)
    ensure_index(client, settings.index)
    ok: set[str] = set()
    items = (EnrichedArticle.from_dict(d) for d in read_jsonl(path))
    write_index(client, items, settings, report, now=now, ok=ok)
    write_jsonl(_ok_path(path, "index"), ({"id": doc_id} for doc_id in sorted(ok)))
    counts = {"indexed": report.indexed, "unchanged": report.unchanged, "rejected": report.rejected,
              "seconds": round(time.perf_counter() - started, 3)}
    write_json(_stage_path(path, "index"), {**counts, "rejections": report.rejections})
    return counts


def finish_run(settings: Settings, start: date, end: date, *, run_id: str | None = None) -> RunReport:
    """Combine every stage's output into report.json, settle the ledger and quarantine, record the run."""
    now = utcnow()
    workdir = workdir_for(settings, start, end)
    partition = partition_key(start, end)
    report = RunReport(started_at=now.isoformat(), partition=partition)
    pending: list[PendingUnit] = []
    listings: list[Listing] = []
    ok: set[str] = set()
    sources: list[SourceConfig] = []
    enriched = 0
    stage_seconds = {"collect": 0.0, "enrich": 0.0, "index": 0.0}
    for folder in sorted(p for p in workdir.iterdir() if p.is_dir()) if workdir.is_dir() else []:
        collected = folder / "collect.json"
        if not collected.exists():  # the collect task failed before finishing: nothing of it is settled
            report.sources[folder.name] = {"status": "failed", "error": "collect task did not finish"}
            continue
        collect_report = read_json(collected)
        _merge_collect(report, collect_report)
        sources += select_sources(settings, [folder.name])
        pending += [PendingUnit(**d) for d in read_jsonl(folder / "pending.jsonl")]
        listings += [Listing(d["source"], d["key"], Validators(**d["validators"]), tuple(d["items"]))
                     for d in read_jsonl(folder / "listings.jsonl")]
        stage_seconds["collect"] += collect_report.get("seconds", {}).get("collect", 0.0)
        for batch in sorted(folder.glob("articles-*.jsonl")):
            enriched_path = batch.with_name(batch.name.replace("articles-", "enriched-"))
            ok |= set(_ids(_ok_path(batch, "enrich"))) | set(_ids(_ok_path(enriched_path, "index")))
            enrich_report, index_report = _stage_path(batch, "enrich"), _stage_path(batch, "index")
            if enrich_report.exists():
                counts = read_json(enrich_report)
                enriched += counts["enriched"]
                report.unchanged += counts["unchanged"]
                stage_seconds["enrich"] += counts["seconds"]
            if index_report.exists():
                counts = read_json(index_report)
                report.indexed += counts["indexed"]
                report.unchanged += counts["unchanged"]
                report.rejections += counts["rejections"]
                stage_seconds["index"] += counts["seconds"]
            else:
                report.warn(str(batch), "index", "batch was not indexed (its task failed); it is retried next run")
    report.enriched = enriched
    client = connect(settings)
    settle(client, settings, report, sources, pending, listings, ok, partition=partition, now=now)
    report.finished_at = utcnow().isoformat()
    report.seconds = {k: round(v, 3) for k, v in stage_seconds.items() if v}
    write_json(workdir / "report.json", report.to_dict())
    stages = {
        "collect": {"seconds": stage_seconds["collect"], "files": report.files, "seen": report.seen,
                    "cleaned": report.cleaned, "duplicates": report.duplicates, "undated": report.undated},
        "enrich": {"seconds": stage_seconds["enrich"], "enriched": report.enriched},
        "index": {"seconds": stage_seconds["index"], "indexed": report.indexed},
    }
    docs = run_documents(report.to_dict(), run_id=run_id or f"nightly:{now.isoformat()}:{uuid.uuid4().hex[:8]}",
                         kind="nightly", pipeline_version=version_of(settings), stages=stages)
    record_run(client, settings.index, docs)
    return report


def _drop_stale_batches(folder: Path, *, keep: int) -> None:
    """Remove what an earlier attempt left beyond this attempt's batches (and every later stage's output)."""
    with disk_errors(folder):
        for path in folder.iterdir():
            number = path.name.split("-")[-1].split(".")[0]
            if number.isdigit() and (int(number) > keep or not path.name.startswith("articles-")):
                path.unlink()


def _merge_collect(report: RunReport, collected: dict[str, Any]) -> None:
    for key in COUNTS:
        setattr(report, key, getattr(report, key) + int(collected.get(key) or 0))
    report.unchanged += int(collected.get("unchanged") or 0)  # units the ledger skipped
    report.rejections += collected.get("rejections", [])
    report.warnings += collected.get("warnings", [])
    report.sources.update(collected.get("sources", {}))


def _stage_path(batch: Path, stage: str) -> Path:
    """Counts file a stage writes for one batch: enrich-0001.json, index-0001.json."""
    return batch.with_name(f"{stage}-{batch.stem.split('-')[-1]}.json")


def _ok_path(path: Path, stage: str) -> Path:
    number = path.stem.split("-")[-1]
    return path.with_name(f"ok-{number}.{stage}.jsonl")


def _ids(path: Path) -> Iterator[str]:
    if path.exists():
        for record in read_jsonl(path):
            yield record["id"]


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# ---------------------------------------------------------------------------------------------------------------
# Staging files: written atomically so a killed task never leaves a half file that looks complete


@contextmanager
def disk_errors(path: Path) -> Iterator[None]:
    """OSError (disk full, permissions) while writing `path` -> InfrastructureError, so the task is retried."""
    try:
        yield
    except OSError as exc:
        raise InfrastructureError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records as JSON lines via a temporary file and an atomic rename; returns the count."""
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with disk_errors(path):
        with tmp.open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    return count


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write one JSON document atomically."""
    tmp = path.with_name(path.name + ".tmp")
    with disk_errors(path):
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)


def read_json(path: Path) -> dict[str, Any]:
    """One JSON document."""
    return json.loads(path.read_text(encoding="utf-8"))


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a JSON-lines file."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
