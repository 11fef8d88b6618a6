"""Small bookkeeping indices next to the articles (runs, ledger, quarantine): created on first use, written in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.errors import InfrastructureError
from pipeline.index.indexer import INFRA_ERRORS, describe_error, with_retries
from pipeline.settings import IndexSettings

CHUNK = 500


def ensure_side_index(client: Elasticsearch, settings: IndexSettings, index: str, mappings: dict[str, Any]) -> None:
    """Create the index with its strict mapping unless it exists; new fields of a newer mapping are added."""
    retry = with_retries(settings)
    try:
        if not retry(client.indices.exists, index=index):
            # 400 = created meanwhile by a parallel task: fine.
            retry(client.options(ignore_status=400).indices.create, index=index, mappings=mappings,
                  settings={"number_of_shards": 1, "number_of_replicas": settings.replicas})
        else:
            retry(client.indices.put_mapping, index=index, properties=mappings["properties"])
    except INFRA_ERRORS as exc:
        raise InfrastructureError(f"preparing {index!r} failed: {describe_error(exc)}") from None


def bulk_write(client: Elasticsearch, settings: IndexSettings, index: str,
               actions: Iterable[tuple[str, str, dict[str, Any] | None]]) -> int:
    """Apply (op, id, document) actions (op "index" or "delete") in chunks; any refused item raises."""
    retry = with_retries(settings)
    written = 0
    iterator = iter(actions)
    while chunk := list(islice(iterator, CHUNK)):
        operations: list[dict[str, Any]] = []
        for op, doc_id, doc in chunk:
            operations.append({op: {"_index": index, "_id": doc_id}})
            if op == "index":
                operations.append(doc or {})
        try:
            response = retry(client.bulk, operations=operations, refresh=True)
        except INFRA_ERRORS as exc:
            raise InfrastructureError(f"writing to {index!r} failed: {describe_error(exc)}") from None
        if response.get("errors"):
            failed = [item for item in (next(iter(i.values())) for i in response["items"])
                      if item.get("error") and item.get("status") != 404]
            if failed:
                raise InfrastructureError(f"{index!r} refused {len(failed)} write(s): {failed[0].get('error')}")
        written += len(chunk)
    return written


def mget_sources(client: Elasticsearch, settings: IndexSettings, index: str, ids: Iterable[str],
                 fields: list[str] | bool = True) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, _source) of the ids that exist, in chunks; a missing index means none exist."""
    retry = with_retries(settings)
    iterator = iter(dict.fromkeys(ids))
    while chunk := list(islice(iterator, CHUNK)):
        try:
            response = retry(client.options(ignore_status=404).mget, index=index, ids=chunk, source=fields)
        except INFRA_ERRORS as exc:
            raise InfrastructureError(f"reading {index!r} failed: {describe_error(exc)}") from None
        if "docs" not in response:  # index_not_found
            return
        for doc in response["docs"]:
            if doc.get("found"):
                yield doc["_id"], doc.get("_source") or {}
