"""`newsetl search ... --export FILE`: every hit of a search (not one page) as CSV or JSON lines.

Hits are read with a point in time and search_after (Store.scan), so the export is one consistent view of the
index however many hits there are and however long it takes; newest first, undated articles last. The file is
written beside its final name and renamed when complete: an interrupted export leaves no half file.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipeline.core.errors import InfrastructureError
from pipeline.index.store import IndexMissing, Store
from pipeline.search.query import FACET_FIELDS, SearchRequest, build_query

FORMATS = (".csv", ".jsonl")
# Article columns first, then one column per facet (values joined by FACET_SEPARATOR in CSV, lists in JSON lines).
COLUMNS = ["id", "published_at", "undated", "source", "language", "enrichment", "title", "url", "story_id",
           "word_count"]
# The entity facets (`entities.*`) and the mentioned dates; source, language and enrichment are columns above.
FACET_COLUMNS = [*(f for f, fld in FACET_FIELDS.items() if fld.startswith("entities.")), "mentioned_dates"]
FACET_SEPARATOR = "; "
_FIELDS = ["published_at", "undated", "source", "language", "enrichment", "title", "url", "story_id", "word_count",
           "entities", "mentioned_dates"]
_ORDER = [{"published_at": {"order": "desc", "missing": "_last"}}]


def export_format(path: Path) -> str:
    """".csv" or ".jsonl" from the file name; ValueError for anything else, for a folder, and for a file in a
    folder that does not exist (checked before any search, so the error names the user's path)."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"export to {path.name!r}: the file name must end in .csv or .jsonl")
    if path.is_dir():
        raise ValueError(f"export to {str(path)!r}: that is a folder; name a file in it")
    if not path.parent.is_dir():
        raise ValueError(f"export to {str(path)!r}: the folder {str(path.parent)!r} does not exist")
    return suffix


def _record(hit: dict[str, Any]) -> dict[str, Any]:
    source = hit.get("_source", {})
    record: dict[str, Any] = {"id": hit["_id"], **{c: source.get(c) for c in COLUMNS[1:]}}
    entities = source.get("entities") or {}
    for facet in FACET_COLUMNS[:-1]:
        record[facet] = entities.get(FACET_FIELDS[facet].removeprefix("entities.")) or []
    record["mentioned_dates"] = source.get("mentioned_dates") or []
    return record


def hits(store: Store, request: SearchRequest, page_size: int = 500) -> tuple[int, Iterator[dict[str, Any]]]:
    """(number of matching articles, every matching article as a flat record) for `request` (paging, sort and
    collapse ignored). InfrastructureError when the index is missing or the cluster fails."""
    query = build_query(request)["query"]
    try:
        total = int(store.search(what=f"counting on {store.alias!r}", query=query, size=0,
                                 track_total_hits=True)["hits"]["total"]["value"])
    except IndexMissing:
        raise InfrastructureError(f"index {store.alias!r} does not exist yet: run `newsetl ingest` first") from None
    return total, (_record(h) for h in store.scan(fields=_FIELDS, query=query, sort=_ORDER,
                                                         page_size=page_size))


def export(store: Store, request: SearchRequest, path: Path,
           on_progress: Callable[[int, int], None] | None = None, page_size: int = 500) -> int:
    """Write every hit of `request` to `path` (.csv or .jsonl, UTF-8); returns the number written.

    `on_progress(written, total)` is called once before the first article and after each one. ValueError for
    another file suffix; InfrastructureError as `hits`. CSV: the COLUMNS, then one column per facet with its
    values joined by "; ".
    """
    fmt = export_format(path)
    total, records = hits(store, request, page_size)
    partial = path.with_name(f".{path.name}.partial")
    written = 0
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS + FACET_COLUMNS) if fmt == ".csv" else None
            if writer:
                writer.writeheader()
            if on_progress:
                on_progress(0, total)
            for record in records:
                if writer:
                    writer.writerow({k: FACET_SEPARATOR.join(v) if isinstance(v, list) else v
                                     for k, v in record.items()})
                else:
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
                if on_progress:
                    on_progress(written, total)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return written

