"""Bookkeeping indices next to the articles (ledger, quarantine, runs): created on first use, written in bulk.

Every write to them must land: an item Elasticsearch refuses for good (after the Store's own retries of
throttled items) means the index and this code disagree, which is an infrastructure failure, not bad input.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipeline.core.errors import InfrastructureError
from pipeline.index.store import BulkAction, Store


def ensure_side_index(store: Store, index: str, mappings: dict[str, Any]) -> None:
    """Create the index with its strict mapping unless it exists; new fields and caps of a newer mapping are added."""
    store.ensure_index(index, mappings)


def bulk_write(store: Store, index: str, actions: Iterable[tuple[str, str, dict[str, Any] | None]]) -> int:
    """Apply (op, id, document) actions (op "index" or "delete") and make them searchable; returns the count.

    Raises InfrastructureError when any item is refused for good.
    """
    results = store.bulk((BulkAction(op, index, doc_id, doc if op == "index" else None)  # type: ignore[arg-type]
                          for op, doc_id, doc in actions), refresh=True)
    failed = [result for result in results if not result.ok]
    if failed:
        raise InfrastructureError(f"{index!r} refused {len(failed)} write(s): {failed[0].error}")
    return len(results)
