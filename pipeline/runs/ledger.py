"""The `<alias>-ledger` index: what each source has already processed, so nightly runs only do new work.

It lives in the same cluster as the articles and is only believed while the documents it names still exist,
so ingesting into a new, empty cluster (or after the article index was deleted) processes everything again.
Entries are written after indexing: a run that dies half-way leaves its units unrecorded, to be done again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from pipeline.collect.http import Validators
from pipeline.collect.units import Known, LedgerLookup, Listing, Unit
from pipeline.index.mapping import keyword
from pipeline.index.store import Store
from pipeline.runs.side import bulk_write, ensure_side_index

KNOWN_OUTCOMES = ("indexed", "rejected")  # "failed" units (fetch error, refused by ES) are tried again next run


def ledger_index(alias: str) -> str:
    """Name of the ledger index that belongs to an article alias."""
    return f"{alias}-ledger"


def ledger_mappings() -> dict[str, Any]:
    """Strict mapping of a ledger entry."""
    capped = keyword()
    return {
        "dynamic": "strict",
        "properties": {
            "source": capped, "key": capped, "kind": capped, "outcome": capped, "partition": capped,
            "etag": capped, "last_modified": capped, "fingerprint": capped, "pipeline_version": capped,
            "doc_ids": capped, "items": capped, "updated_at": {"type": "date"},
        },
    }


def entry_id(source: str, key: str) -> str:
    """Deterministic ledger id of one unit of one source."""
    return hashlib.sha1(f"{source}\x1f{key}".encode()).hexdigest()


@dataclass
class PendingUnit:
    """A unit read in this run, waiting for its documents' outcome before it is recorded."""

    source: str
    key: str
    etag: str | None = None
    last_modified: str | None = None
    fingerprint: str | None = None
    fetch_failed: bool = False
    doc_ids: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, unit: Unit) -> PendingUnit:
        """A pending entry for a unit about to be read."""
        return cls(unit.source, unit.key, unit.validators.etag, unit.validators.last_modified, unit.fingerprint,
                   unit.fetch_failed)

    def outcome(self, ok_ids: set[str]) -> str:
        """indexed (every document written or unchanged), rejected (no article in it), or failed."""
        if self.fetch_failed or any(doc_id not in ok_ids for doc_id in self.doc_ids):
            return "failed"
        return "indexed" if self.doc_ids else "rejected"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for staging files."""
        return asdict(self)


class Ledger(LedgerLookup):
    """Ledger reads and writes for one alias and pipeline version."""

    def __init__(self, store: Store, pipeline_version: str) -> None:
        self.store = store
        self.version = pipeline_version
        self.index = ledger_index(store.alias)

    def known(self, source: str, keys: Iterable[str]) -> dict[str, Known]:
        """Units processed before by this pipeline version whose documents are all still in the index."""
        keys = list(dict.fromkeys(keys))
        by_id = {entry_id(source, key): key for key in keys}
        entries = {by_id[doc_id]: doc for doc_id, doc in self.store.mget(by_id, self.index).items()}
        believed = {key: doc for key, doc in entries.items()
                    if doc.get("kind") in ("listing", "index")
                    or (doc.get("outcome") in KNOWN_OUTCOMES and doc.get("pipeline_version") == self.version)}
        wanted = {doc_id for doc in believed.values() for doc_id in doc.get("doc_ids") or ()}
        existing = set(self.store.mget(wanted, fields=False))
        return {
            key: Known(key, Validators(doc.get("etag"), doc.get("last_modified")), doc.get("fingerprint"),
                       tuple(doc.get("items") or ()), len(doc.get("doc_ids") or ()), doc.get("kind") or "item")
            for key, doc in believed.items()
            if all(doc_id in existing for doc_id in doc.get("doc_ids") or ())
        }

    def failed(self, source: str, keys: Iterable[str]) -> set[str]:
        """Keys whose last attempt failed (fetch error, refused by Elasticsearch): tried again next run."""
        by_id = {entry_id(source, key): key for key in keys}
        return {by_id[doc_id] for doc_id, doc in self.store.mget(by_id, self.index, fields=["outcome"]).items()
                if doc.get("outcome") == "failed"}

    def commit(self, units: Iterable[PendingUnit], listings: Iterable[Listing], ok_ids: set[str], *,
               partition: str | None, now: datetime) -> dict[str, int]:
        """Record this run's units (with their outcome) and listings; returns counts per outcome."""
        ensure_side_index(self.store, self.index, ledger_mappings())
        counts: dict[str, int] = {}
        stamp = now.isoformat()
        actions: list[tuple[str, str, dict[str, Any] | None]] = []
        for unit in units:
            outcome = unit.outcome(ok_ids)
            counts[outcome] = counts.get(outcome, 0) + 1
            actions.append(("index", entry_id(unit.source, unit.key), {
                "source": unit.source, "key": unit.key, "kind": "item", "outcome": outcome, "partition": partition,
                "etag": unit.etag, "last_modified": unit.last_modified, "fingerprint": unit.fingerprint,
                "pipeline_version": self.version, "doc_ids": sorted(set(unit.doc_ids)), "updated_at": stamp}))
        for listing in listings:
            actions.append(("index", entry_id(listing.source, listing.key), {
                "source": listing.source, "key": listing.key, "kind": listing.kind, "partition": partition,
                "etag": listing.validators.etag, "last_modified": listing.validators.last_modified,
                "items": list(listing.items), "updated_at": stamp}))
        bulk_write(self.store, self.index, actions)
        return counts

    def items_of(self, source: str) -> Iterator[tuple[str, list[str]]]:
        """(key, document ids) of every unit of `source` the ledger holds, paged (listings are not units)."""
        if not self.store.exists(self.index):
            return
        query = {"bool": {"filter": [{"term": {"source": source}}, {"term": {"kind": "item"}}]}}
        for hit in self.store.scan(self.index, fields=["key", "doc_ids"], query=query):
            source_fields = hit.get("_source") or {}
            yield source_fields["key"], list(source_fields.get("doc_ids") or ())

    def named_by_others(self, doc_ids: Iterable[str], units: set[tuple[str, str]]) -> set[str]:
        """The ids among `doc_ids` that a ledger entry other than those of `units` ((source, key) pairs) names:
        the same article kept in another file."""
        ids = sorted(set(doc_ids))
        skip = {entry_id(source, key) for source, key in units}
        named: set[str] = set()
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            for hit in self.store.scan(self.index, fields=["doc_ids"], query={"terms": {"doc_ids": chunk}}):
                if hit["_id"] not in skip:
                    named |= set(chunk) & set((hit.get("_source") or {}).get("doc_ids") or ())
        return named

    def forget(self, units: Iterable[tuple[str, str]]) -> int:
        """Remove the entries of (source, key) units; returns how many were asked for."""
        return bulk_write(self.store, self.index, (("delete", entry_id(source, key), None) for source, key in units))
