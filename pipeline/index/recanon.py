"""Re-canonicalisation: when the entity registry changes, the indexed articles it affects get their new values.

A run resolves its articles against the registry as it stood when the run started, then adds what they taught
(pipeline.runners.core `Run.learn`). What it taught can change the value of names other articles already hold:
"Ford" indexed yesterday joins "Ford Motor Company" once an article names the company in full, a label vote flips,
a manual merge or split (`newsetl entities merge|split`) takes effect. Without this step Kibana would count the old
and the new value apart until a full rebuild.

1. `record_changes` writes the names whose value changed (`pipeline.enrich.registry.changed_names`) into
   `<alias>-entity-changes`, one document per (name, former entity), so a change is never lost between the run
   that made it and the step that applies it (a task killed in between leaves them for the next run);
2. `recanonicalise` finds the indexed articles that hold any of those names, by their entity ids (one terms query
   on the `entities.<facet>_id` fields per chunk of ids, through the one ES seam), re-resolves each article's
   stored own names (`entity_names`; no NER, no text read) against the current registry, and writes only the label
   facets and their ids, conditional on the version read (`if_seq_no`), so a concurrent rewrite of the article
   wins. The change documents it applied are deleted; those with a conflicting article are kept for the next
   round.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from pipeline.core.errors import InfrastructureError
from pipeline.core.facets import LABEL_FACETS, LABEL_OF_FACET, entity_id, label_facet_fields
from pipeline.core.records import EntityName
from pipeline.enrich.registry import Resolution
from pipeline.index.mapping import keyword
from pipeline.index.store import BulkAction, Store

# Entity ids per terms query: far below Elasticsearch's index.max_terms_count (65,536), small enough that one
# request stays quick on a large index.
IDS_PER_QUERY = 1024
# Rounds of re-reading articles another writer changed meanwhile, before their changes are left for the next run.
CONFLICT_ROUNDS = 3


def changes_index(alias: str) -> str:
    """Name of the index of pending registry changes that belongs to an article alias."""
    return f"{alias}-entity-changes"


def changes_mappings() -> dict[str, Any]:
    """Strict mapping of a pending change: the changed name's key, the keys articles may hold it under, when."""
    return {"dynamic": "strict", "properties": {
        "key": keyword(), "keys": keyword(), "at": {"type": "date"}}}


@dataclass
class RecanonReport:
    """What one re-canonicalisation did: pending changes read, articles found holding a changed name, articles
    rewritten, articles left because another writer kept changing them, changes still pending."""

    changes: int = 0
    candidates: int = 0
    rewritten: int = 0
    conflicts: list[str] = field(default_factory=list)
    pending: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON form (`newsetl reenrich --registry-changes --json`, the DAG task's return value)."""
        return {"changes": self.changes, "candidates": self.candidates, "rewritten": self.rewritten,
                "conflicts": len(self.conflicts), "pending": self.pending}


def record_changes(store: Store, changed: dict[str, set[str]], *, now: datetime) -> int:
    """Queue changed names (name key -> keys articles may hold it under) for `recanonicalise`; returns how many.

    Raises InfrastructureError when Elasticsearch refuses them.
    """
    if not changed:
        return 0
    index = changes_index(store.alias)
    store.ensure_index(index, changes_mappings())
    actions = (BulkAction("index", index, _change_id(key, keys), {"key": key, "keys": sorted(keys),
                                                                   "at": now.isoformat()})
               for key, keys in sorted(changed.items()))
    results = store.bulk(actions, refresh=True)
    if failed := [r for r in results if not r.ok]:
        raise InfrastructureError(f"{index!r} refused {len(failed)} registry change(s): {failed[0].error}")
    return len(results)


def change_ids(changed: dict[str, set[str]]) -> frozenset[str]:
    """The ids `record_changes` gives these changes (name key -> keys articles may hold it under)."""
    return frozenset(_change_id(key, keys) for key, keys in changed.items())


def recanonicalise(store: Store, registry: Callable[[], Resolution], *, settled: Resolution | None = None,
                   own: frozenset[str] = frozenset()) -> RecanonReport:
    """Apply the pending registry changes to the indexed articles (module docstring); returns what was done.

    `registry()` gives the registry as it stands now (settled with the current entity rules); it is called only
    when changes are pending, so the common run that taught nothing new does not load the registry. `settled` is
    the registry as the caller settled it when it recorded the changes `own` (`change_ids`): when every pending
    change is one of those, it is used instead of `registry()` — nothing was learnt in between, and loading and
    settling the whole registry again would give the same. A pending change recorded by anyone else (an earlier
    run, a killed task) was taught by counts the caller may not hold: then `registry()` is read. Raises
    InfrastructureError when Elasticsearch fails; the changes then stay pending.
    """
    report = RecanonReport()
    index = changes_index(store.alias)
    if not store.exists(index):
        return report
    changes = list(store.scan(index, fields=["key", "keys"]))
    report.changes = len(changes)
    if not changes:
        return report
    resolution = settled if settled is not None and {hit["_id"] for hit in changes} <= own else registry()
    keys = {key for hit in changes for key in hit["_source"].get("keys") or ()}
    ids = sorted({entity_id(LABEL_OF_FACET[facet], key) for facet in LABEL_FACETS for key in keys})
    seen: set[str] = set()
    for chunk in _chunks(ids, IDS_PER_QUERY):
        query = {"bool": {"should": [{"terms": {f"entities.{facet}_id": chunk}} for facet in LABEL_FACETS],
                          "minimum_should_match": 1}}
        hits = [hit for hit in store.scan(fields=["entities", "entity_names"], query=query) if hit["_id"] not in seen]
        seen.update(hit["_id"] for hit in hits)
        report.candidates += len(hits)
        _rewrite(store, resolution, hits, report)
    if report.conflicts:
        report.pending = report.changes  # the conflicting articles' names are not known apart: keep every change
        return report
    results = store.bulk((BulkAction("delete", index, hit["_id"], expected=(hit["_seq_no"], hit["_primary_term"]))
                          for hit in changes), refresh=True)
    # A change written again meanwhile (409) stays for the next round.
    report.pending = sum(not r.ok for r in results)
    return report


def _rewrite(store: Store, resolution: Resolution, hits: list[dict[str, Any]], report: RecanonReport) -> None:
    """Write the new label facets of the hits whose values changed, re-reading those another writer changed."""
    for _round in range(CONFLICT_ROUNDS + 1):
        actions = []
        for hit in hits:
            source = hit.get("_source") or {}
            stored = source.get("entities") or {}
            fields = label_facet_fields(resolution.resolve(name.as_mention() for name in own_names(source)))
            if any(stored.get(name, []) != values for name, values in fields.items()):
                actions.append(BulkAction("update", hit.get("_index") or store.alias, hit["_id"],
                                          {"entities": fields}, expected=(hit["_seq_no"], hit["_primary_term"])))
        if not actions:
            return
        results = store.bulk(actions, refresh=True)
        if failed := [r for r in results if not r.ok and not r.conflict]:
            raise InfrastructureError(f"{store.alias!r} refused {len(failed)} re-canonicalised article(s): "
                                      f"{failed[0].error}")
        report.rewritten += sum(r.ok for r in results)
        conflicted = [r.id for r in results if r.conflict]
        if not conflicted:
            return
        hits = [{"_id": doc.id, "_source": doc.source, "_seq_no": doc.seq_no, "_primary_term": doc.primary_term}
                for doc in store.read_versioned(conflicted, fields=["entities", "entity_names"])]
    report.conflicts += [hit["_id"] for hit in hits]


def own_names(source: dict[str, Any]) -> list[EntityName]:
    """A stored document's own entity values: `entity_names`, or for a document written before they were stored,
    its label facet values (each under its facet's label)."""
    if source.get("entity_names"):
        return [EntityName(**name) for name in source["entity_names"]]
    entities = source.get("entities") or {}
    return [EntityName(LABEL_OF_FACET[facet], value) for facet in LABEL_FACETS for value in entities.get(facet) or ()]


def _change_id(key: str, keys: Iterable[str]) -> str:
    return hashlib.sha1("\x1f".join([key, *sorted(keys)]).encode("utf-8")).hexdigest()


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
