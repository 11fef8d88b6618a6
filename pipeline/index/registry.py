"""The `<alias>-entities` index: the entity registry's counts, kept next to the articles.

One document per name (id: sha1 of its comparison key) holding a `NameRecord`: the spellings used, the labels
articles gave it, the number of articles, the long names it was defined as. A run loads the whole registry once
(`load_registry`: one scan, no per-article round trip), resolves its articles against it, and adds what it learnt
at the end (`save_records`), so the next run knows more. Only counts are stored: the entities themselves are
re-derived by `Registry.settle`, so a change of the rules or of `config/entities.yml` needs no migration here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from pipeline.core.errors import InfrastructureError
from pipeline.enrich.registry import NameRecord, Registry
from pipeline.index.mapping import keyword
from pipeline.index.store import BulkAction, Store


def entities_index(alias: str) -> str:
    """Name of the registry index that belongs to an article alias."""
    return f"{alias}-entities"


def registry_mappings() -> dict[str, Any]:
    """Strict mapping of a name record: the key is searchable, the counts are only stored."""
    stored = {"type": "object", "enabled": False}
    return {
        "dynamic": "strict",
        "properties": {
            "key": keyword(),
            "articles": {"type": "integer"},
            "forms": stored,
            "labels": stored,
            "defines": stored,
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


def save_records(store: Store, records: Iterable[NameRecord]) -> int:
    """Write (overwrite) name records; returns how many. Creates the index on first use.

    Raises InfrastructureError when Elasticsearch refuses a record for good (the mapping and the code disagree).
    """
    index = entities_index(store.alias)
    store.ensure_index(index, registry_mappings())
    results = store.bulk((BulkAction("index", index, record_id(r.key), r.to_dict()) for r in records), refresh=True)
    failed = [result for result in results if not result.ok]
    if failed:
        raise InfrastructureError(f"{index!r} refused {len(failed)} name record(s): {failed[0].error}")
    return len(results)
