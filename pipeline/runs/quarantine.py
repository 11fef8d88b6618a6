"""The `<alias>-quarantine` index: articles that failed (fetch, read, clean, refused by Elasticsearch).

One entry per failed input (source + ref) with the stage, the error and where the raw input is, so it can be
looked at (`newsetl quarantine list`) and re-run (`newsetl quarantine retry`). An entry disappears when a later
run (nightly or retry) processes its unit without that failure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from itertools import islice
from typing import Any

from pipeline.index.mapping import keyword
from pipeline.index.store import Store
from pipeline.runs.side import bulk_write, ensure_side_index

MAX_LISTED = 10_000


def quarantine_index(alias: str) -> str:
    """Name of the quarantine index that belongs to an article alias."""
    return f"{alias}-quarantine"


def quarantine_mappings() -> dict[str, Any]:
    """Strict mapping of a quarantine entry."""
    capped = keyword()
    return {
        "dynamic": "strict",
        "properties": {
            "source": capped, "source_kind": capped, "location": capped, "language": capped,
            "unit": capped, "unit_id": capped, "ref": capped, "stage": capped, "partition": capped,
            "reason": {"type": "text", "fields": {"keyword": keyword(1024)}},
            "first_failed_at": {"type": "date"}, "last_failed_at": {"type": "date"}, "attempts": {"type": "integer"},
        },
    }


def entry_id(source: str, ref: str) -> str:
    """Deterministic quarantine id of one failed input."""
    return hashlib.sha1(f"{source}\x1f{ref}".encode()).hexdigest()


def unit_id(unit: str) -> str:
    """The sha1 of a unit key, what releasing a unit's entries looks up: a key longer than the keyword cap (a URL
    of 40,000 characters) is kept in _source but not indexed, so a lookup by the key itself would miss it."""
    return hashlib.sha1(unit.encode("utf-8")).hexdigest()


def update_quarantine(store: Store, failures: list[dict[str, Any]],
                      processed: dict[str, set[str]], *, partition: str | None, now: datetime) -> dict[str, int]:
    """Add this run's failures and clear the entries of units that this run processed without failing.

    `failures` carry source, source_kind, location, language, unit, ref, stage, reason; `processed` maps a
    source to the unit keys read in this run. Returns {"quarantined": n, "released": m}.
    """
    index = quarantine_index(store.alias)
    ensure_side_index(store, index, quarantine_mappings())
    current = {entry_id(f["source"], f["ref"]): f for f in failures}
    stale = [doc_id for source, units in processed.items() for doc_id in _entries_for_units(
        store, index, source, units) if doc_id not in current]
    previous = store.mget(current, index, fields=["first_failed_at", "attempts"])
    stamp = now.isoformat()
    actions: list[tuple[str, str, dict[str, Any] | None]] = [("delete", doc_id, None) for doc_id in stale]
    for doc_id, failure in current.items():
        before = previous.get(doc_id, {})
        actions.append(("index", doc_id, {
            **{k: failure.get(k) for k in ("source", "source_kind", "location", "language", "unit", "ref", "stage",
                                           "reason")},
            "unit_id": unit_id(str(failure.get("unit") or "")),
            "partition": partition, "first_failed_at": before.get("first_failed_at") or stamp,
            "last_failed_at": stamp, "attempts": int(before.get("attempts") or 0) + 1}))
    bulk_write(store, index, actions)
    return {"quarantined": len(current), "released": len(stale)}


def _filters(sources: list[str] | None, stage: str | None) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    if sources:
        filters.append({"terms": {"source": sources}})
    if stage:
        filters.append({"term": {"stage": stage}})
    return filters


def drop_quarantine(store: Store, *, sources: list[str] | None = None, stage: str | None = None) -> int:
    """Delete the quarantine entries of some sources and/or one stage (all entries when neither is given);
    returns how many were deleted. The raw inputs are not touched: a later run reads a unit again only if the
    ledger has not recorded it."""
    index = quarantine_index(store.alias)
    if not store.exists(index):
        return 0
    query = {"bool": {"filter": _filters(sources, stage)}}
    ids = [hit["_id"] for hit in store.scan(index, fields=["ref"], query=query)]
    return bulk_write(store, index, (("delete", doc_id, None) for doc_id in ids)) if ids else 0


def list_quarantine(store: Store, *, sources: list[str] | None = None, stage: str | None = None,
                    limit: int = MAX_LISTED) -> tuple[int, list[dict[str, Any]]]:
    """(total, entries newest first) of the quarantine, optionally for some sources or one stage."""
    filters = _filters(sources, stage)
    response = store.search(quarantine_index(store.alias), what="reading the quarantine", missing_ok=True,
                            query={"bool": {"filter": filters}}, size=min(limit, MAX_LISTED), track_total_hits=True,
                            sort=[{"last_failed_at": "desc"}, {"ref": "asc"}])
    return response["hits"]["total"]["value"], [hit["_source"] for hit in response["hits"]["hits"]]


def _entries_for_units(store: Store, index: str, source: str, units: Iterable[str]) -> list[str]:
    iterator = iter(sorted(units))
    found: list[str] = []
    while chunk := list(islice(iterator, 1000)):
        # By unit_id; by unit too for the entries written before unit_id existed.
        units = {"bool": {"should": [{"terms": {"unit_id": [unit_id(unit) for unit in chunk]}},
                                     {"terms": {"unit": chunk}}], "minimum_should_match": 1}}
        response = store.search(index, what="reading the quarantine", missing_ok=True, size=MAX_LISTED,
                                source=False, query={"bool": {"filter": [{"term": {"source": source}}, units]}})
        found += [hit["_id"] for hit in response["hits"]["hits"]]
    return found
