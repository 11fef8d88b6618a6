"""The `<alias>-runs` index: every run's report, one document per stage plus one for the whole run.

Kibana's "Pipeline health" dashboard reads it; documents have deterministic ids (run id + stage), so recording
the same run twice (an Airflow retry of the report task) overwrites rather than duplicates.
"""

from __future__ import annotations

from typing import Any

from pipeline.core.errors import InfrastructureError
from pipeline.index.mapping import keyword
from pipeline.index.store import Store
from pipeline.runs.side import bulk_write

# Run reports are history, never rebuilt: a new version may only add fields, which record_run adds in place.
# 2: every keyword capped (pipeline.index.mapping.keyword).
RUNS_MAPPING_VERSION = 2
COUNTS = ("files", "seen", "cleaned", "enriched", "indexed", "unchanged", "rejected", "undated", "warned",
          "duplicates")


def runs_index(alias: str) -> str:
    """Name of the run-report index that belongs to an article alias."""
    return f"{alias}-runs"


def runs_mappings() -> dict[str, Any]:
    """Strict mapping of a run-report document."""
    capped = keyword()
    return {
        "dynamic": "strict",
        "_meta": {"mapping_version": RUNS_MAPPING_VERSION},
        "properties": {
            "run_id": capped,
            "kind": capped,  # ingest (CLI) | nightly (DAG) | reenrich | migrate
            "partition": capped,
            "stage": capped,  # run (the whole run) | clean | enrich | index
            "started_at": {"type": "date"},
            "finished_at": {"type": "date"},
            **{name: {"type": "integer"} for name in COUNTS},
            "seconds": {"type": "float"},
            "pipeline_version": capped,
        },
    }


def run_documents(report: dict[str, Any], *, run_id: str, kind: str, pipeline_version: str,
                  stages: dict[str, dict[str, Any]] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(id, document) pairs for one run: the whole run, then each stage that reported its own counts."""
    common = {"run_id": run_id, "kind": kind, "partition": report.get("partition"),
              "started_at": report.get("started_at"), "finished_at": report.get("finished_at"),
              "pipeline_version": pipeline_version}
    whole = {**common, "stage": "run", **{name: int(report.get(name) or 0) for name in COUNTS},
             "seconds": float(sum((report.get("seconds") or {}).values()))}
    docs = [(f"{run_id}:run", whole)]
    for stage, counts in (stages or {}).items():
        doc = {**common, "stage": stage, "seconds": float(counts.get("seconds") or 0.0)}
        doc.update({name: int(counts[name]) for name in COUNTS if isinstance(counts.get(name), int)})
        docs.append((f"{run_id}:{stage}", doc))
    return docs


def _upgrade_mapping(store: Store, index: str) -> None:
    """Add the fields of a newer runs mapping in place; refuse an index written by a newer newsetl."""
    found = store.mapping_meta(index).get("mapping_version", 0)
    if found > RUNS_MAPPING_VERSION:
        raise InfrastructureError(f"{index!r} has runs mapping version {found}, newer than this newsetl's "
                                  f"{RUNS_MAPPING_VERSION}: upgrade newsetl")
    if found < RUNS_MAPPING_VERSION:
        mapping = runs_mappings()
        store.put_mapping(index, mapping["properties"], meta=mapping["_meta"])


def record_run(store: Store, docs: list[tuple[str, dict[str, Any]]]) -> None:
    """Write a run's documents into the runs index (created on first use); infrastructure failures raise."""
    index = runs_index(store.alias)
    if not store.create_if_missing(index, runs_mappings()):
        _upgrade_mapping(store, index)
    bulk_write(store, index, (("index", doc_id, doc) for doc_id, doc in docs))
