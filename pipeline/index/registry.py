"""The `<alias>-entities` index: the entity registry's counts, kept next to the articles.

One document per name (id: sha1 of its comparison key) holding a `NameRecord`: the spellings used, the labels
articles gave it, the number of articles, the long names it was defined as. A run loads the whole registry once
(`load_registry`: one scan, no per-article round trip), resolves its articles against it, and adds what it learnt
at the end (`learn_records`), so the next run knows more. Only counts are stored: the entities themselves are
re-derived by `Registry.settle`, so a change of the rules or of `config/entities.yml` needs no migration here.

Learning is idempotent per run: each record lists the runs whose counts it holds (`runs`: run id and when), and a
run adds its counts only to the records that do not list it yet. A run retried after it wrote the registry (a
finish that failed at the ledger, Airflow retrying the task) adds nothing twice, even when the first attempt died
half-way through its bulk write. The writes are conditional on the version read (optimistic concurrency): two runs
learning at once re-read and re-apply the records they both touched instead of one overwriting the other's counts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.core.errors import InfrastructureError
from pipeline.enrich.registry import NameRecord, Registry
from pipeline.index.mapping import keyword
from pipeline.index.store import BulkAction, Store

# The registry index's own mapping version (in its `_meta`; an index without one is version 1).
# 2: `runs`, the runs whose counts a record holds (idempotent learning).
REGISTRY_MAPPING_VERSION = 2
# How long, and for how many runs, a record remembers that a run's counts are in it. A retry comes within hours
# (Airflow's retries, an operator re-running a failed task); past both limits a retried run would count again.
RUN_MEMORY = timedelta(days=30)
RUN_MEMORY_MAX = 500
# Rounds of re-reading and re-applying the records another writer changed between our read and our write.
CONFLICT_ROUNDS = 5
_FIELDS = ["key", "articles", "forms", "labels", "defines", "runs"]


def entities_index(alias: str) -> str:
    """Name of the registry index that belongs to an article alias."""
    return f"{alias}-entities"


def registry_mappings() -> dict[str, Any]:
    """Strict mapping of a name record: the key is searchable, the counts are only stored."""
    stored = {"type": "object", "enabled": False}
    return {
        "dynamic": "strict",
        "_meta": {"mapping_version": REGISTRY_MAPPING_VERSION},
        "properties": {
            "key": keyword(),
            "articles": {"type": "integer"},
            "forms": stored,
            "labels": stored,
            "defines": stored,
            "runs": stored,  # [{"run": run id, "at": ISO time it counted}]
        },
    }


def record_id(key: str) -> str:
    """Deterministic document id of a name's record."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def load_registry(store: Store) -> Registry:
    """The whole registry of the store's alias (empty when nothing was learnt yet), in one scan.

    Raises InfrastructureError when Elasticsearch fails, ValueError when a stored record is not one.
    """
    index = entities_index(store.alias)
    if not store.exists(index):
        return Registry()
    return Registry(NameRecord.from_dict(hit["_source"]) for hit in
                    store.scan(index, fields=["key", "articles", "forms", "labels", "defines"]))


@dataclass
class Learnt:
    """What `learn_records` did: the registry without and with the run's counts, and the records it wrote."""

    before: Registry  # every stored record, the run's counts taken out of those that hold them
    after: Registry  # every stored record as it is now, the run's counts in
    written: int = 0  # records this call wrote (0 for a retry that found all of them counted)
    counted: list[str] = field(default_factory=list)  # keys an earlier attempt of the run had already counted


@dataclass
class _Stored:
    record: NameRecord
    runs: list[dict[str, str]]
    version: tuple[int, int] | None  # None: no document yet


def learn_records(store: Store, learnt: Registry, *, run_id: str, now: datetime) -> Learnt:
    """Add a run's counts (`learnt`) to the registry once per `run_id`; one scan and one bulk write per run.

    A record that already lists `run_id` is left as it is (an earlier attempt of the run wrote it). Writes are
    conditional on the version read; the records another writer changed meanwhile are read again (one mget)
    and re-applied, up to CONFLICT_ROUNDS times. Creates the index on first use, adds `runs` to an older one.

    Raises InfrastructureError when Elasticsearch fails or refuses a record, or when records still change under
    us after CONFLICT_ROUNDS rounds, or when the index has a newer registry mapping version; ValueError when a
    stored record is not one.
    """
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    index = entities_index(store.alias)
    _ensure_index(store, index)
    stored = {hit["_source"]["key"]: _stored(hit["_source"], (hit["_seq_no"], hit["_primary_term"]))
              for hit in store.scan(index, fields=_FIELDS)}
    counted = sorted(key for key in learnt.records if key in stored and _holds(stored[key], run_id))
    pending = sorted(set(learnt.records) - set(counted))
    written = 0
    for _ in range(CONFLICT_ROUNDS):
        if not pending:
            break
        updated = {key: _with_run(stored.get(key), learnt.records[key], run_id, now) for key in pending}
        actions = [BulkAction("create" if key not in stored else "index", index, record_id(key),
                              {**record.record.to_dict(), "runs": record.runs},
                              expected=None if key not in stored else stored[key].version)
                   for key, record in updated.items()]
        conflicts = []
        for key, result in zip(updated, store.bulk(actions, refresh=True), strict=True):
            if result.conflict:
                conflicts.append(key)
            elif not result.ok:
                raise InfrastructureError(f"{index!r} refused the name record of {key!r}: {result.error}")
            else:
                stored[key] = _Stored(updated[key].record, updated[key].runs, result.version)
                written += 1
        pending = []
        found = {doc.id: _stored(doc.source, doc.version)
                 for doc in store.read_versioned((record_id(key) for key in conflicts), index, fields=_FIELDS)}
        for key in conflicts:
            again = found.get(record_id(key))
            if again is None:  # deleted meanwhile: created again with the run's counts alone
                stored.pop(key, None)
                pending.append(key)
                continue
            stored[key] = again
            (counted if _holds(again, run_id) else pending).append(key)
    if pending:
        raise InfrastructureError(f"{index!r}: {len(pending)} name record(s) kept changing under other writers "
                                  f"through {CONFLICT_ROUNDS} attempts; the run's counts for them are not in yet")
    after = Registry(entry.record for entry in stored.values())
    # The run's own counts taken out of what holds them: the registry a clean run found before it learnt, whether
    # this attempt or an earlier one wrote them, so a retry queues the same changes as the first attempt.
    withouts = (_without(entry.record, learnt.records.get(key)) for key, entry in stored.items())
    before = Registry(record for record in withouts if record.articles > 0 or record.key not in learnt.records)
    return Learnt(before, after, written, sorted(counted))


def _ensure_index(store: Store, index: str) -> None:
    """The registry index, created, or given the fields of this mapping version in place (the counts stay: an
    index of version 1 gets `runs`, its records count as held by no run). Refuses an index of a newer version."""
    mappings = registry_mappings()
    if store.create_if_missing(index, mappings):
        return
    found = store.mapping_meta(index).get("mapping_version", 1)
    if found > REGISTRY_MAPPING_VERSION:
        raise InfrastructureError(f"{index!r} has registry mapping version {found}, newer than this newsetl's "
                                  f"{REGISTRY_MAPPING_VERSION}: upgrade newsetl")
    if found < REGISTRY_MAPPING_VERSION:
        store.put_mapping(index, mappings["properties"], meta=mappings["_meta"])


def _stored(source: dict[str, Any], version: tuple[int, int] | None) -> _Stored:
    runs = source.get("runs") or []
    if not isinstance(runs, list):
        raise ValueError(f"not a name record (runs): {source!r:.200}")
    return _Stored(NameRecord.from_dict(source), [dict(r) for r in runs], version)


def _holds(entry: _Stored, run_id: str) -> bool:
    return any(r.get("run") == run_id for r in entry.runs)


def _with_run(entry: _Stored | None, delta: NameRecord, run_id: str, now: datetime) -> _Stored:
    """The record with the run's counts added and the run remembered (older or excess runs forgotten)."""
    record = Registry([entry.record] if entry else []).records.get(delta.key)  # a copy: the stored one stays
    if record is None:
        record = NameRecord(delta.key)
    record.add(delta)
    oldest = now - RUN_MEMORY
    runs = sorted((r for r in (entry.runs if entry else []) if _at(r) >= oldest), key=_at)
    kept = runs[max(0, len(runs) - (RUN_MEMORY_MAX - 1)):]  # the newest, with room for this run
    runs = [*kept, {"run": run_id, "at": now.isoformat()}]
    return _Stored(record, runs, entry.version if entry else None)


def _at(run: dict[str, str]) -> datetime:
    """When a remembered run counted (a time that cannot be read counts as long ago: it is forgotten first)."""
    try:
        at = datetime.fromisoformat(str(run.get("at")))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _without(record: NameRecord, delta: NameRecord | None) -> NameRecord:
    """The record with a run's counts taken out again (Counter subtraction keeps positive counts only)."""
    if delta is None:
        return record
    return NameRecord(record.key, record.forms - delta.forms, record.labels - delta.labels,
                      max(0, record.articles - delta.articles), record.defines - delta.defines)
