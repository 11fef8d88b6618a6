"""The `<alias>-runs` index: every run's report, one document per stage plus one for the whole run.

Kibana's "Pipeline health" dashboard reads it; documents have deterministic ids (run id + stage), so recording
the same run twice (an Airflow retry of the report task) overwrites rather than duplicates.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from pipeline.errors import InfrastructureError
from pipeline.index.indexer import INFRA_ERRORS, with_retries
from pipeline.settings import IndexSettings

# Run reports are history, never rebuilt: a new version may only add fields, which record_run adds in place.
RUNS_MAPPING_VERSION = 1
COUNTS = ("files", "seen", "cleaned", "enriched", "indexed", "unchanged", "rejected", "undated", "warned",
          "duplicates")


def runs_index(alias: str) -> str:
    """Name of the run-report index that belongs to an article alias."""
    return f"{alias}-runs"


def runs_mappings() -> dict[str, Any]:
    """Strict mapping of a run-report document."""
    keyword = {"type": "keyword"}
    return {
        "dynamic": "strict",
        "_meta": {"mapping_version": RUNS_MAPPING_VERSION},
        "properties": {
            "run_id": keyword,
            "kind": keyword,  # ingest (CLI) | nightly (DAG) | reenrich | migrate
            "partition": keyword,
            "stage": keyword,  # run (the whole run) | clean | enrich | index
            "started_at": {"type": "date"},
            "finished_at": {"type": "date"},
            **{name: {"type": "integer"} for name in COUNTS},
            "seconds": {"type": "float"},
            "pipeline_version": keyword,
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


def _upgrade_mapping(client: Elasticsearch, index: str) -> None:
    """Add the fields of a newer runs mapping in place; refuse an index written by a newer newsetl."""
    found = client.indices.get_mapping(index=index)[index]["mappings"].get("_meta", {}).get("mapping_version", 0)
    if found > RUNS_MAPPING_VERSION:
        raise InfrastructureError(f"{index!r} has runs mapping version {found}, newer than this newsetl's "
                                  f"{RUNS_MAPPING_VERSION}: upgrade newsetl")
    if found < RUNS_MAPPING_VERSION:
        mapping = runs_mappings()
        client.indices.put_mapping(index=index, properties=mapping["properties"], meta=mapping["_meta"])


def record_run(client: Elasticsearch, settings: IndexSettings, docs: list[tuple[str, dict[str, Any]]]) -> None:
    """Write a run's documents into the runs index (created on first use); infrastructure failures raise."""
    index = runs_index(settings.alias)
    retry = with_retries(settings)
    try:
        if not retry(client.indices.exists, index=index):
            retry(client.options(ignore_status=400).indices.create, index=index, mappings=runs_mappings(),
                  settings={"number_of_shards": 1, "number_of_replicas": settings.replicas})
        else:
            _upgrade_mapping(client, index)
        operations: list[dict[str, Any]] = []
        for doc_id, doc in docs:
            operations += [{"index": {"_index": index, "_id": doc_id}}, doc]
        response = retry(client.bulk, operations=operations, refresh=True)
    except INFRA_ERRORS as exc:
        raise InfrastructureError(f"cannot record the run report in {index!r}: {type(exc).__name__}: {exc}") from None
    if response.get("errors"):
        reasons = [next(iter(item.values())).get("error") for item in response["items"]]
        raise InfrastructureError(f"the run report was refused by {index!r}: {[r for r in reasons if r][:1]}")
