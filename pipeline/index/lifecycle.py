"""Index lifecycle behind the alias: build a new versioned index, check it, swap the alias atomically, drop the old.

Searches always go through the alias, which points at the old index until one atomic `_aliases` call moves it,
so they keep working throughout. The old index is write-blocked while the new one is built: a nightly run that
tries to write meanwhile fails loudly (and Airflow retries it after the swap) instead of writing into an index
that is about to be dropped. Any failure before the swap deletes the new index, lifts the block and leaves the
alias as it was.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.errors import InfrastructureError
from pipeline.index.indexer import INFRA_ERRORS, describe_error, with_retries
from pipeline.index.mapping import MAPPING_VERSION, index_template, template_name
from pipeline.settings import IndexSettings

log = logging.getLogger(__name__)

# A server-side copy of a large index takes a while: the request waits for it, far beyond the usual timeout.
REINDEX_TIMEOUT_S = 6 * 3600


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


def current_index(client: Elasticsearch, alias: str) -> str:
    """The concrete index the alias points at; an error naming the fix when there is none."""
    try:
        if not client.indices.exists_alias(name=alias):
            raise InfrastructureError(f"alias {alias!r} does not exist: nothing to migrate (run `newsetl ingest` or "
                                      f"the DAG first)")
        return next(iter(client.indices.get_alias(name=alias)))
    except INFRA_ERRORS as exc:
        raise InfrastructureError(f"cannot read alias {alias!r}: {describe_error(exc)}") from None


def new_index_name(alias: str, now: datetime) -> str:
    """`<alias>-v<mapping version>-<UTC timestamp>`: matched by the alias's template, unique per migration."""
    return f"{alias}-v{MAPPING_VERSION}-{now:%Y%m%d%H%M%S}"


def migrate_index(
    client: Elasticsearch,
    settings: IndexSettings,
    *,
    mode: str,
    now: datetime,
    fill: Callable[[str, str], None],
    keep_old: bool = False,
) -> Migration:
    """Build `<alias>-v<N>-<time>` beside the live index, fill it, check counts, swap the alias, drop the old index.

    `fill(old_index, new_index)` re-enriches: in "reindex" mode the documents of the new index whose pipeline
    version is outdated, in "rebuild" mode every article of the old index into the new one.
    """
    if mode not in ("reindex", "rebuild"):
        raise ValueError(f"unknown migration mode {mode!r} (reindex or rebuild)")
    alias = settings.alias
    old = current_index(client, alias)
    migration = Migration(alias=alias, old_index=old, new_index=new_index_name(alias, now), mode=mode)
    new = migration.new_index
    if new == old:
        raise InfrastructureError(f"{new!r} is already the live index; wait a second and run the migration again")
    retry = with_retries(settings)
    try:
        client.indices.put_index_template(
            name=template_name(alias), **index_template(alias, shards=settings.shards, replicas=settings.replicas))
        client.indices.create(index=new)
        _block_writes(client, old, True)
        if mode == "reindex":
            migration.copied = _copy(client, old, new)
        fill(old, new)
        retry(client.indices.refresh, index=[old, new])
        migration.old_count = int(retry(client.count, index=old)["count"])
        migration.new_count = int(retry(client.count, index=new)["count"])
        if migration.new_count != migration.old_count:
            raise InfrastructureError(f"the new index {new!r} holds {migration.new_count} documents, the live one "
                                      f"{migration.old_count}: not swapping")
        retry(client.indices.update_aliases, actions=[
            {"remove": {"index": old, "alias": alias}}, {"add": {"index": new, "alias": alias}}])
        migration.swapped = True
    except BaseException as exc:
        _undo(client, old, new)
        reason = describe_error(exc) if isinstance(exc, INFRA_ERRORS) else str(exc)
        if isinstance(exc, (*INFRA_ERRORS, InfrastructureError)):
            raise InfrastructureError(f"migration of {alias!r} failed; the alias still points at {old!r} and the "
                                      f"partial index {new!r} was deleted: {reason}") from None
        raise
    if keep_old:
        log.info("kept %s (read-only) beside the new live index %s", old, new)
    else:
        with contextlib.suppress(*INFRA_ERRORS):  # the alias has moved: a leftover old index is only disk space
            retry(client.indices.delete, index=old)
            migration.old_dropped = True
    return migration


def _copy(client: Elasticsearch, old: str, new: str) -> int:
    """Server-side copy of every document; any per-document failure fails the migration."""
    response = client.options(request_timeout=REINDEX_TIMEOUT_S).reindex(
        source={"index": old}, dest={"index": new}, refresh=True, wait_for_completion=True)
    failures = response.get("failures") or []
    if failures or response.get("timed_out"):
        first = failures[0] if failures else {}
        cause = first.get("cause", {}) if isinstance(first, dict) else {}
        raise InfrastructureError(f"reindex {old!r} -> {new!r}: {len(failures)} document(s) failed"
                                  + (f", first: {cause.get('type')}: {cause.get('reason')}" if cause else "")
                                  + (" (timed out)" if response.get("timed_out") else ""))
    return int(response.get("created", 0)) + int(response.get("updated", 0))


def _block_writes(client: Elasticsearch, index: str, blocked: bool) -> None:
    """Set or lift `index.blocks.write` (searches are unaffected)."""
    client.indices.put_settings(index=index, settings={"index.blocks.write": True if blocked else None})


def _undo(client: Elasticsearch, old: str, new: str) -> None:
    """Delete the partial index and lift the write block; never hides the error that brought us here."""
    with contextlib.suppress(*INFRA_ERRORS):
        client.options(ignore_status=404).indices.delete(index=new)
        log.warning("deleted the partial index %s", new)
    with contextlib.suppress(*INFRA_ERRORS):
        _block_writes(client, old, False)


def index_status(client: Elasticsearch, alias: str, pipeline_version: str) -> dict[str, Any]:
    """Where the alias points, its mapping version, documents per pipeline version, and whether to migrate."""
    index = current_index(client, alias)
    try:
        meta = client.indices.get_mapping(index=index)[index]["mappings"].get("_meta", {})
        response = client.search(index=index, size=0, track_total_hits=True,
                                 aggs={"versions": {"terms": {"field": "pipeline_version", "size": 20}}})
    except INFRA_ERRORS as exc:
        raise InfrastructureError(f"cannot read {index!r}: {describe_error(exc)}") from None
    versions = {b["key"]: b["doc_count"] for b in response["aggregations"]["versions"]["buckets"]}
    documents = int(response["hits"]["total"]["value"])
    outdated = documents - versions.get(pipeline_version, 0)
    mapping_version = meta.get("mapping_version")
    return {
        "alias": alias, "index": index, "documents": documents,
        "mapping_version": mapping_version, "code_mapping_version": MAPPING_VERSION,
        "pipeline_versions": versions, "current_pipeline_version": pipeline_version,
        "outdated_documents": outdated,
        "migrate": mapping_version != MAPPING_VERSION or outdated > 0,
    }
