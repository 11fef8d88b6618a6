"""What a real Elasticsearch refuses and noida-db (the local stand-in) accepts: a term over Lucene's limit.

Lucene refuses to index a term longer than 32,766 UTF-8 bytes (IndexWriter.MAX_TERM_LENGTH; Elasticsearch answers
`illegal_argument_exception: Document contains at least one immense term`), and a keyword's doc value has the same
limit. A keyword value is indexed unless it is longer than the field's `ignore_above` (counted in UTF-16 code
units, Java's String.length()). noida-db indexes anything, so tests check the rule here, in code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MAX_TERM_BYTES = 32_766


def keyword_fields(properties: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(dotted path, definition) of every keyword field of a mapping's `properties`, sub-fields included."""
    for name, field in properties.items():
        path = f"{prefix}{name}"
        if field.get("type") == "keyword":
            yield path, field
        for sub, definition in (field.get("fields") or {}).items():
            if definition.get("type") == "keyword":
                yield f"{path}.{sub}", definition
        if "properties" in field:
            yield from keyword_fields(field["properties"], f"{path}.")


def _values(document: Any, path: list[str]) -> Iterator[Any]:
    if not path:
        yield from (document if isinstance(document, list) else [document])
        return
    for item in document if isinstance(document, list) else [document]:
        if isinstance(item, dict) and path[0] in item:
            yield from _values(item[path[0]], path[1:])


def refused_terms(mappings: dict[str, Any], document: dict[str, Any]) -> list[str]:
    """The keyword fields of `document` a real Elasticsearch would refuse under `mappings` (an index's
    `mappings`), as "path (N bytes)"; [] when it would accept the document."""
    refused: list[str] = []
    for path, field in keyword_fields(mappings.get("properties") or {}):
        if field.get("index") is False and field.get("doc_values") is False:
            continue
        # A sub-field (title.keyword) reads its parent's value.
        parts = path.split(".")
        candidates = list(_values(document, parts))
        if not candidates and len(parts) > 1:
            candidates = list(_values(document, parts[:-1]))
        limit = field.get("ignore_above")
        for value in candidates:
            if not isinstance(value, str):
                continue
            if limit is not None and len(value.encode("utf-16-le")) // 2 > int(limit):
                continue
            size = len(value.encode("utf-8"))
            if size > MAX_TERM_BYTES:
                refused.append(f"{path} ({size} bytes)")
    return refused
