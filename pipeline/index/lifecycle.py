"""Index lifecycle behind the alias: build a new versioned index, check it, swap the alias atomically, drop the old.

Searches always go through the alias, which points at the old index until one atomic `_aliases` call moves it,
so they keep working throughout. The old index is write-blocked while the new one is built: a nightly run that
tries to write meanwhile fails loudly (and Airflow retries it after the swap) instead of writing into an index
that is about to be dropped. Any failure before the swap deletes the new index, lifts the block and leaves the
alias as it was.

A process that is killed cannot clean up, so a migration holds a *lease* (one document in `<alias>-migration`:
owner, old and new index, expiry), renewed while it runs. Once it has expired, the block and the partial index it
names are stale: `index_status` shows them, and `recover` (`newsetl index recover`, and every run's
`ensure_index`) deletes the partial index, lifts the block and drops the lease. A live lease is never broken
without `force`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline.core.errors import InfrastructureError
from pipeline.index.mapping import MAPPING_VERSION, index_template, keyword, template_name
from pipeline.index.store import Store, WritesBlocked

log = logging.getLogger(__name__)


@dataclass
class Migration:
    """What a migration did; printed by `newsetl index migrate` and kept in the run report."""

    alias: str
    old_index: str
    new_index: str
    mode: str  # "reindex": server-side copy, then re-enrich outdated documents; "rebuild": re-enrich every article
    old_count: int = 0
    new_count: int = 0
    copied: int = 0
    swapped: bool = False
    old_dropped: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def current_index(store: Store) -> str:
    """The concrete index the alias points at; an error naming the fix when there is none."""
    index = store.alias_target()
    if index is None:
        raise InfrastructureError(f"alias {store.alias!r} does not exist: nothing to migrate (run `newsetl ingest` "
                                  f"or the DAG first)")
    return index


def new_index_name(alias: str, now: datetime) -> str:
    """`<alias>-v<mapping version>-<UTC timestamp>`: matched by the alias's template, unique per migration."""
    return f"{alias}-v{MAPPING_VERSION}-{now:%Y%m%d%H%M%S}"


def migrate_index(
    store: Store,
    *,
    mode: str,
    now: datetime,
    fill: Callable[[str, str], None],
    keep_old: bool = False,
) -> Migration:
    """Build `<alias>-v<N>-<time>` beside the live index, fill it, check counts, swap the alias, drop the old index.

    `fill(old_index, new_index)` re-enriches: in "reindex" mode the documents of the new index whose pipeline
    version is outdated, in "rebuild" mode every article of the old index into the new one. Raises
    InfrastructureError (alias untouched, partial index deleted, write block lifted) when any step fails.
    """
    if mode not in ("reindex", "rebuild"):
        raise ValueError(f"unknown migration mode {mode!r} (reindex or rebuild)")
    alias = store.alias
    old = current_index(store)
    migration = Migration(alias=alias, old_index=old, new_index=new_index_name(alias, now), mode=mode)
    new = migration.new_index
    if new == old:
        raise InfrastructureError(f"{new!r} is already the live index; wait a second and run the migration again")
    with migration_lease(store, old, new):
        _build_and_swap(store, migration, mode, fill)
    if keep_old:
        log.info("kept %s (read-only) beside the new live index %s", old, new)
    else:
        try:  # the alias has moved: a leftover old index is only disk space
            migration.old_dropped = store.delete_index(old)
        except InfrastructureError as exc:
            log.warning("could not drop the old index %s (%s); delete it by hand", old, exc)
    return migration


def _build_and_swap(store: Store, migration: Migration, mode: str, fill: Callable[[str, str], None]) -> None:
    alias, old, new = migration.alias, migration.old_index, migration.new_index
    try:
        store.put_template(template_name(alias), index_template(alias, shards=store.settings.shards,
                                                                replicas=store.settings.replicas))
        store.create_index(new)
        store.block_writes(old, True)
        if mode == "reindex":
            migration.copied = _copy(store, old, new)
        fill(old, new)
        store.refresh([old, new])
        migration.old_count = store.count(old)
        migration.new_count = store.count(new)
        if migration.new_count != migration.old_count:
            raise InfrastructureError(f"the new index {new!r} holds {migration.new_count} documents, the live one "
                                      f"{migration.old_count}: not swapping")
        store.swap_alias(old, new)
        migration.swapped = True
    except BaseException as exc:
        _undo(store, old, new)
        if isinstance(exc, InfrastructureError):
            raise InfrastructureError(f"migration of {alias!r} failed; the alias still points at {old!r} and the "
                                      f"partial index {new!r} was deleted: {exc}") from None
        raise


def _copy(store: Store, old: str, new: str) -> int:
    """Server-side copy of every document; any per-document failure fails the migration."""
    response = store.reindex(old, new)
    failures = response.get("failures") or []
    if failures or response.get("timed_out"):
        first = failures[0] if failures else {}
        cause = first.get("cause", {}) if isinstance(first, dict) else {}
        raise InfrastructureError(f"reindex {old!r} -> {new!r}: {len(failures)} document(s) failed"
                                  + (f", first: {cause.get('type')}: {cause.get('reason')}" if cause else "")
                                  + (" (timed out)" if response.get("timed_out") else ""))
    return int(response.get("created", 0)) + int(response.get("updated", 0))


def _undo(store: Store, old: str, new: str) -> None:
    """Delete the partial index and lift the write block; never hides the error that brought us here."""
    try:
        if store.delete_index(new):
            log.warning("deleted the partial index %s", new)
    except InfrastructureError as exc:
        log.warning("could not delete the partial index %s (%s); delete it by hand", new, exc)
    try:
        store.block_writes(old, False)
    except InfrastructureError as exc:
        log.warning("could not lift the write block on %s (%s): PUT %s/_settings "
                    '{"index.blocks.write": null}', old, exc, old)


# ---------------------------------------------------------------------------------------------------------------
# The migration lease


LEASE_ID = "lease"


def lease_index(alias: str) -> str:
    """Name of the index holding an alias's migration lease."""
    return f"{alias}-migration"


def _lease_mappings() -> dict[str, Any]:
    capped = keyword()
    return {"dynamic": "strict", "properties": {
        "owner": capped, "old_index": capped, "new_index": capped,
        "started_at": {"type": "date"}, "renewed_at": {"type": "date"}, "expires_at": {"type": "date"}}}


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def read_lease(store: Store) -> dict[str, Any] | None:
    """The alias's migration lease, or None; `expires_at` as an ISO timestamp (UTC)."""
    found = store.mget([LEASE_ID], lease_index(store.alias))
    return found.get(LEASE_ID)


def lease_expired(lease: dict[str, Any], now: float | None = None) -> bool:
    """True when the lease's holder stopped renewing it (killed, or cut off from the cluster)."""
    expires = datetime.fromisoformat(lease["expires_at"]).timestamp()
    return (time.time() if now is None else now) >= expires


@contextmanager
def migration_lease(store: Store, old: str, new: str) -> Iterator[dict[str, Any]]:
    """Hold the alias's migration lease while the block runs: taken with a create (two migrations never both
    hold it), renewed every third of `index.migration_lease_seconds` by a background thread, dropped at the end.

    Raises InfrastructureError naming the holder when another migration's lease is live; a stale one is
    recovered first (its partial index deleted, its block lifted).
    """
    seconds = store.settings.migration_lease_seconds
    index = lease_index(store.alias)
    store.create_index(index, mappings=_lease_mappings(), exist_ok=True,
                       settings={"number_of_shards": 1, "number_of_replicas": store.settings.replicas})
    recover(store)  # raises when a live lease is held by someone else
    started = time.time()
    lease = {"owner": f"{socket.gethostname()}:{os.getpid()}", "old_index": old, "new_index": new,
             "started_at": _stamp(started), "renewed_at": _stamp(started), "expires_at": _stamp(started + seconds)}
    if not store.put_document(index, LEASE_ID, lease, create=True):
        holder = read_lease(store) or {}
        raise InfrastructureError(f"another migration of {store.alias!r} holds the lease ({holder.get('owner')}, "
                                  f"until {holder.get('expires_at')}); not starting a second one")
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(seconds / 3):
            now = time.time()
            try:
                store.put_document(index, LEASE_ID, {**lease, "renewed_at": _stamp(now),
                                                     "expires_at": _stamp(now + seconds)})
            except InfrastructureError as exc:  # the migration's own requests will fail loudly too
                log.warning("could not renew the migration lease of %s: %s", store.alias, exc)

    thread = threading.Thread(target=renew, name="migration-lease", daemon=True)
    thread.start()
    try:
        yield lease
    except BaseException:
        stop.set()
        thread.join()
        try:  # never hide the migration's own error behind this one: the lease expires on its own anyway
            store.delete_document(index, LEASE_ID)
        except InfrastructureError as exc:
            log.warning("could not drop the migration lease of %s (%s); it expires on its own", store.alias, exc)
        raise
    stop.set()
    thread.join()
    store.delete_document(index, LEASE_ID)


def recover(store: Store, *, force: bool = False, now: float | None = None) -> dict[str, Any]:
    """Clear what a killed migration left: its partial index and the write block on the live index.

    Only when its lease has expired (or `force`); a live lease raises WritesBlocked naming its holder. A write
    block without any lease (set by hand, or by a migration of a newsetl before leases) is lifted only with
    `force`. The live index behind the alias is never deleted. Returns what was done:
    {"lease": the lease or None, "deleted": [index], "unblocked": [index]}.
    """
    done: dict[str, Any] = {"lease": None, "deleted": [], "unblocked": []}
    lease = read_lease(store)
    live = store.alias_target()
    if lease is not None:
        done["lease"] = lease
        if not force and not lease_expired(lease, now):
            raise WritesBlocked(f"a migration of {store.alias!r} is running ({lease['owner']}, building "
                                f"{lease['new_index']!r}; its lease runs until {lease['expires_at']}): retry later")
        partial = lease.get("new_index")
        if partial and partial != live and store.delete_index(partial):
            done["deleted"].append(partial)
        old = lease.get("old_index")
        if old and old == live and store.writes_blocked(old):
            store.block_writes(old, False)
            done["unblocked"].append(old)
        store.delete_document(lease_index(store.alias), LEASE_ID)
        log.warning("recovered from a stale migration of %s: deleted %s, unblocked %s", store.alias,
                    done["deleted"] or "nothing", done["unblocked"] or "nothing")
    elif force and live and store.writes_blocked(live):
        store.block_writes(live, False)
        done["unblocked"].append(live)
    return done


def index_status(store: Store, pipeline_version: str) -> dict[str, Any]:
    """Where the alias points, its mapping version, documents per pipeline version, whether to migrate, and what
    a migration holds or left behind: its lease (live or stale), a write block on the live index, indices of
    the alias that the alias does not point at (a partial index, or an old one kept by `--keep-old`)."""
    index = current_index(store)
    meta = store.mapping_meta(index)
    response = store.search(index, size=0, track_total_hits=True,
                            aggs={"versions": {"terms": {"field": "pipeline_version", "size": 20}}})
    versions = {b["key"]: b["doc_count"] for b in response["aggregations"]["versions"]["buckets"]}
    documents = int(response["hits"]["total"]["value"])
    outdated = documents - versions.get(pipeline_version, 0)
    mapping_version = meta.get("mapping_version")
    return {
        "alias": store.alias, "index": index, "documents": documents,
        "mapping_version": mapping_version, "code_mapping_version": MAPPING_VERSION,
        "pipeline_versions": versions, "current_pipeline_version": pipeline_version,
        "outdated_documents": outdated,
        "migrate": mapping_version != MAPPING_VERSION or outdated > 0,
        **migration_state(store, index),
    }


def migration_state(store: Store, live: str) -> dict[str, Any]:
    """The lease (with `stale`), whether the live index refuses writes, and the alias's other indices."""
    lease = read_lease(store)
    return {
        "write_blocked": store.writes_blocked(live),
        "lease": {**lease, "stale": lease_expired(lease)} if lease else None,
        "other_indices": {name: docs for name, docs in store.indices(f"{store.alias}-v*").items() if name != live},
    }
