"""The run core cut at Airflow task boundaries: what each task of the nightly DAG calls (and nothing else).

    plan_run ─► collect_source ×source ─► plan_batches ─► enrich_batch ×batch ─► index_batch ×batch ─► finish_run
                                                                                                 └─► refresh_day_trends

`enrich_batch` also bulk-writes its articles while NER runs (the overlap `newsetl ingest` has); `index_batch` writes
a batch only when that failed, from the staged file, so the expensive stage and the fragile one still retry apart.

The stages are those of `newsetl ingest` (pipeline/runners/core.py), in the same order and at the same scope:
`plan_batches` finds duplicates over the whole run, in the plan's source order, exactly as the streaming run does.
Tasks hand each other JSON-lines files through `Staging` (a local folder or an object store); each writes a
partial run report that `finish_run` merges. Layout of a partition (`<staging>/<partition>/`):

    plan.json                                   the sources, in order
    sources/<name>/articles.jsonl, pending.jsonl, listings.jsonl, collect.json (written last: "finished")
    batches.json                                duplicates, warnings, cleaned/undated counts of the run
    batches/articles-0001.jsonl                 a batch of first copies, in run order
    batches/enriched-0001.jsonl, enrich-0001.json, index-0001.json
    batches/learnt-0001.jsonl                   what the batch taught the entity registry (name records)
    report.json                                 the merged run report
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import date, timedelta
from itertools import islice
from typing import Any

from pipeline.collect.config import SourceConfig, select_sources
from pipeline.collect.http import Validators
from pipeline.collect.units import Listing
from pipeline.core.errors import InfrastructureError
from pipeline.core.records import Article, EnrichedArticle
from pipeline.core.settings import Settings
from pipeline.enrich.registry import NameRecord
from pipeline.index.store import Store
from pipeline.index.trends import refresh_trends
from pipeline.runners.core import Run, utcnow
from pipeline.runners.staging import Staging
from pipeline.runs.ledger import PendingUnit
from pipeline.runs.report import RunReport

log = logging.getLogger(__name__)

KIND = "nightly"
BATCHES = "batches"


def partition_key(start: date, end: date) -> str:
    """Folder name of a run's partition: the day, or 'start--end' for longer windows."""
    return start.isoformat() if (end - start).days == 1 else f"{start.isoformat()}--{end.isoformat()}"


def plan_run(settings: Settings, staging: Staging, start: date, end: date, names: list[str] | None = None) -> list[str]:
    """Names of the sources this run reads, in order; the partition starts empty (a re-run overwrites it)."""
    part = staging / partition_key(start, end)
    part.clear()
    sources = select_sources(settings, names)
    part.write_json("plan.json", {"sources": [s.name for s in sources], "start": start.isoformat(),
                                  "end": end.isoformat(), "started_at": utcnow().isoformat()})
    return [s.name for s in sources]


def collect_source(settings: Settings, staging: Staging, name: str, start: date, end: date) -> dict[str, Any]:
    """Collect and clean one source's units of [start, end); a broken source is recorded, not raised."""
    started = time.perf_counter()
    key = partition_key(start, end)
    folder = staging / key / "sources" / name
    folder.remove("collect.json")  # "finished" only once this attempt has written it again
    (source,) = select_sources(settings, [name])
    run = Run(settings, Store.connect(settings), kind=KIND, partition=key).prepare(need_model=False)
    articles = folder.write_jsonl("articles.jsonl", run.read(run.units([source], window=(start, end))))
    folder.write_jsonl("pending.jsonl", (unit.to_dict() for unit in run.pending))
    folder.write_jsonl("listings.jsonl", (asdict(listing) for listing in run.listings))
    run.report.seconds["collect"] = round(time.perf_counter() - started, 3)
    folder.write_json("collect.json", run.report.to_dict())
    return {"source": name, "status": run.report.sources[name]["status"], "articles": articles,
            **{k: getattr(run.report, k) for k in ("files", "seen", "skipped", "not_modified", "requests")}}


def plan_batches(settings: Settings, staging: Staging, start: date, end: date) -> list[str]:
    """The run's first copies, in plan order, cut into batches of `batch_articles`; returns the batch names.

    Sources whose collect task did not finish are left out (they fail alone; `finish_run` reports them).
    """
    started = time.perf_counter()
    part = staging / partition_key(start, end)
    run = Run(settings, None, kind=KIND, partition=partition_key(start, end))
    collected = [name for name in part.read_json("plan.json")["sources"]
                 if part.exists(f"sources/{name}/collect.json")]

    def articles() -> Iterator[Article]:
        for name in collected:
            yield from part.read_jsonl(f"sources/{name}/articles.jsonl", Article)

    names = []
    for number, batch in enumerate(_chunks(run.first_copies(articles()), settings.batch_articles), start=1):
        name = f"{BATCHES}/articles-{number:04d}.jsonl"
        part.write_jsonl(name, batch)
        names.append(name)
    run.report.seconds["batches"] = round(time.perf_counter() - started, 3)
    part.write_json("batches.json", {**run.report.to_dict(), "batches": names})
    return names


def enrich_batch(settings: Settings, staging: Staging, start: date, end: date, batch: str) -> str:
    """Entities and dates for one batch's changed articles (model loaded once per task), staged as the enriched
    batch and written to the index as they come out of NER, as `newsetl ingest` does; returns the staged name.

    The bulk writes overlap NER instead of following it in a task of their own. If Elasticsearch fails meanwhile,
    enrichment goes on, the staged file is still written and the batch's index report is not: `index_batch` then
    writes the batch from the staged file, with its own retries. Raises InfrastructureError only for what
    enrichment itself needs (the model, the unchanged-check, the staging store).
    """
    started = time.perf_counter()
    part = staging / partition_key(start, end)
    store = Store.connect(settings)
    run = Run(settings, store, kind=KIND).prepare()
    writer = Run(settings, store, kind=KIND)  # the index stage's own partial report, as index_batch keeps it
    out = batch.replace("/articles-", "/enriched-")
    index_report = _stage_name(out, "index")
    part.remove(index_report)  # a retried task: "indexed" only once this attempt has written it again
    along = _IndexAlong(writer)
    part.write_jsonl(out, along.passing(run.enrich(run.changed_only(part.read_jsonl(batch, Article)))))
    if along.failure is None:
        writer.report.seconds["index"] = round(along.seconds, 3)
        part.write_json(index_report, {**writer.report.to_dict(), "ok": sorted(writer.ok)})
    run.report.seconds["enrich"] = round(time.perf_counter() - started - along.seconds, 3)
    # What the batch taught the entity registry; finish_run adds every batch's share to the index at once.
    part.write_jsonl(_learnt_name(batch), (r.to_dict() for r in run.learnt.records.values()))
    part.write_json(_stage_name(batch, "enrich"), {**run.report.to_dict(), "ok": sorted(run.ok)})
    return out


def index_batch(settings: Settings, staging: Staging, start: date, end: date, enriched: str) -> dict[str, Any]:
    """Bulk-index one enriched batch unless its enrich task already did; raises InfrastructureError (Airflow
    retries) if Elasticsearch fails."""
    started = time.perf_counter()
    part = staging / partition_key(start, end)
    index_report = _stage_name(enriched, "index")
    if part.exists(index_report):  # written along with NER by enrich_batch
        done = part.read_json(index_report)
        return {key: done[key] for key in ("indexed", "unchanged", "rejected")}
    run = Run(settings, Store.connect(settings), kind=KIND).prepare(need_model=False)
    run.index(part.read_jsonl(enriched, EnrichedArticle))
    run.report.seconds["index"] = round(time.perf_counter() - started, 3)
    part.write_json(index_report, {**run.report.to_dict(), "ok": sorted(run.ok)})
    return {"indexed": run.report.indexed, "unchanged": run.report.unchanged, "rejected": run.report.rejected}


class _IndexAlong:
    """Passes enriched articles on (to the staged file) and bulk-writes them chunk by chunk meanwhile; the first
    InfrastructureError stops the writing, not the enrichment (the index task writes the batch then)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.failure: InfrastructureError | None = None
        self.seconds = 0.0

    def passing(self, items: Iterable[EnrichedArticle]) -> Iterator[EnrichedArticle]:
        """Yield every item; index them in chunks of the bulk size (the chunks `newsetl ingest` writes)."""
        chunk: list[EnrichedArticle] = []
        for item in items:
            yield item
            chunk.append(item)
            if len(chunk) >= self.run.store.settings.bulk_chunk_size:
                self._write(chunk)
                chunk = []
        self._write(chunk)

    def _write(self, chunk: list[EnrichedArticle]) -> None:
        if not chunk or self.failure is not None:
            return
        started = time.perf_counter()
        try:
            self.run.index(chunk)
        except InfrastructureError as exc:
            log.warning("writing along with NER failed (%s); the index task writes this batch", exc)
            self.failure = exc
        self.seconds += time.perf_counter() - started


def finish_run(settings: Settings, staging: Staging, start: date, end: date, *,
               run_id: str | None = None, prune: bool = False) -> RunReport:
    """Merge every task's partial report, settle quarantine and ledger (and with `prune`, remove the documents of
    files gone from their folder, as `newsetl ingest --prune`), apply the registry changes the run queued (as
    `newsetl ingest`; an Elasticsearch failure there is a warning, the `recanonicalise` task applies them), write
    report.json, record the run. Safe to retry: the registry counts the run's names once per `run_id`."""
    key = partition_key(start, end)
    part = staging / key
    run = Run(settings, Store.connect(settings), kind=KIND, partition=key)
    plan = part.read_json("plan.json") if part.exists("plan.json") else {"sources": []}
    run.report.started_at = plan.get("started_at", run.report.started_at)
    # The same id on every attempt of this task: a retry after the registry write (a failed ledger write) finds
    # its counts in the registry and adds nothing twice. Without an id from Airflow, the partition and the time its
    # plan was made (a new plan is a new run) name it.
    run.run_id = run_id or f"{KIND}:{key}:{run.report.started_at}"
    sources: list[SourceConfig] = []
    for name in plan["sources"]:
        folder = part / "sources" / name
        if not folder.exists("collect.json"):  # the collect task failed before finishing: nothing of it settles
            run.report.sources[name] = {"status": "failed", "error": "collect task did not finish"}
            continue
        run.report.merge(RunReport.from_dict(folder.read_json("collect.json")))
        sources += select_sources(settings, [name])
        run.pending += [PendingUnit(**d) for d in folder.read_jsonl("pending.jsonl")]
        run.listings += [Listing(d["source"], d["key"], Validators(**d["validators"]), tuple(d["items"]),
                                 d.get("kind", "listing")) for d in folder.read_jsonl("listings.jsonl")]
    batches: list[str] = []
    if part.exists("batches.json"):
        planned = part.read_json("batches.json")
        batches = planned.pop("batches")
        run.report.merge(RunReport.from_dict(planned))
    for batch in batches:
        enriched = batch.replace("/articles-", "/enriched-")
        for stage_name in (_stage_name(batch, "enrich"), _stage_name(enriched, "index")):
            if part.exists(stage_name):
                stage = part.read_json(stage_name)
                run.ok |= set(stage.pop("ok"))
                run.report.merge(RunReport.from_dict(stage))
        if not part.exists(_stage_name(enriched, "index")):
            run.report.warn(batch, "index", "batch was not indexed (its task failed); it is retried next run")
        elif part.exists(_learnt_name(batch)):
            for record in part.read_jsonl(_learnt_name(batch)):
                run.learnt.add(NameRecord.from_dict(record))
    run.settle(sources)
    if prune:
        run.prune(sources)
    try:
        # What the run just taught is applied here, with the registry `settle` has just settled: the DAG's
        # `recanonicalise` task would load and settle the same registry again to apply it. That task applies what
        # is left (a change another run queued, or one Elasticsearch refused here), and retries.
        run.recanonicalise()
    except InfrastructureError as exc:
        run.report.warn("entity registry", "recanonicalise", f"left for the recanonicalise task: {exc}")
    seconds = dict(run.report.seconds)
    stages = {
        "collect": {"seconds": seconds.get("collect", 0.0) + seconds.get("batches", 0.0), "files": run.report.files,
                    "seen": run.report.seen, "cleaned": run.report.cleaned, "duplicates": run.report.duplicates,
                    "undated": run.report.undated},
        "enrich": {"seconds": seconds.get("enrich", 0.0), "enriched": run.report.enriched},
        "index": {"seconds": seconds.get("index", 0.0), "indexed": run.report.indexed},
    }
    report = run.close(stages=stages)
    part.write_json("report.json", report.to_dict())
    return report


def refresh_day_trends(settings: Settings, start: date, end: date) -> dict[str, Any]:
    """The trends of each day of the run's window [start, end) against the 30 days before, written to
    `<alias>-trends` (pipeline/index/trends.py), replacing what an earlier run of those days wrote.
    {"days": [...], "trends": documents written}; InfrastructureError when Elasticsearch fails."""
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    written = refresh_trends(Store.connect(settings), days)
    log.info("trends of %s: %d value(s)", ", ".join(map(str, days)), written)
    return {"days": [day.isoformat() for day in days], "trends": written}


def recanonicalise(settings: Settings) -> dict[str, Any]:
    """After finish_run: rewrite the entity facets of the indexed articles whose names the registry changed and
    that finish_run left pending (pipeline.index.recanon; nothing is read when none is); returns the counts.
    Raises InfrastructureError (Airflow retries) when Elasticsearch fails; the changes then stay pending."""
    return Run(settings, Store.connect(settings), kind=KIND).recanonicalise().to_dict()


def _learnt_name(batch: str) -> str:
    """What one batch taught the entity registry: batches/learnt-0001.jsonl."""
    return _stage_name(batch, "learnt")[:-len(".json")] + ".jsonl"


def _stage_name(batch: str, stage: str) -> str:
    """The partial report a stage writes for one batch: batches/enrich-0001.json, batches/index-0001.json."""
    folder, _, file = batch.rpartition("/")
    return f"{folder}/{stage}-{file.split('-')[-1].split('.')[0]}.json"


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
