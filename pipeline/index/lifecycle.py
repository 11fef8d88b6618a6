"""Index lifecycle behind the alias: build a new versioned index, check it, swap the alias atomically, drop the old.

Searches always go through the alias, which points at the old index until one atomic `_aliases` call moves it,
so they keep working throughout. The old index is write-blocked while the new one is built: a nightly run that
tries to write meanwhile fails loudly (and Airflow retries it after the swap) instead of writing into an index
that is about to be dropped. Any failure before the swap deletes the new index, lifts the block and leaves the
alias as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from pipeline.core.errors import InfrastructureError
from pipeline.index.mapping import MAPPING_VERSION, index_template, template_name
from pipeline.index.store import Store

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
    if keep_old:
        log.info("kept %s (read-only) beside the new live index %s", old, new)
    else:
        try:  # the alias has moved: a leftover old index is only disk space
            migration.old_dropped = store.delete_index(old)
        except InfrastructureError as exc:
            log.warning("could not drop the old index %s (%s); delete it by hand", old, exc)
    return migration


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


def index_status(store: Store, pipeline_version: str) -> dict[str, Any]:
    """Where the alias points, its mapping version, documents per pipeline version, and whether to migrate."""
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
    }
