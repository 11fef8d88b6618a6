"""Kibana saved objects generated from code: a data view on the alias and a saved Discover search.

`python -m pipeline.kibana.saved_objects` writes config/kibana/saved_objects.ndjson, which the compose one-shot
imports. Nested configuration is built as Python data and serialised once, never edited as JSON inside JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pipeline.index.mapping import mappings
from pipeline.settings import PROJECT_ROOT

NDJSON_PATH = PROJECT_ROOT / "config" / "kibana" / "saved_objects.ndjson"
# Oldest versions these objects are valid for; Kibana migrates them forward on import (8.x and 9.x).
CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSION = "8.0.0"

DISCOVER_COLUMNS = ["title", "source", "entities.person", "entities.org", "entities.place", "mentioned_dates"]


def data_view_id(alias: str) -> str:
    """Stable id of the data view, so re-imports overwrite rather than duplicate."""
    return f"newsetl-{alias}"


def data_view(alias: str) -> dict[str, Any]:
    """The data view (index-pattern) on the alias with published_at as its time field."""
    return {
        "id": data_view_id(alias),
        "type": "index-pattern",
        "attributes": {
            "title": alias,
            "name": f"News articles ({alias})",
            "timeFieldName": "published_at",
            "allowNoIndex": True,
            "fieldFormatMap": "{}",
            "runtimeFieldMap": "{}",
            "sourceFilters": json.dumps([{"value": "content_hash"}, {"value": "extra"}]),
        },
        "references": [],
    }


def saved_search(alias: str) -> dict[str, Any]:
    """A Discover session with the columns a news analyst starts from, newest first."""
    search_source = {
        "query": {"query": "", "language": "kuery"},
        "filter": [],
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    }
    return {
        "id": f"newsetl-{alias}-articles",
        "type": "search",
        "attributes": {
            "title": "News articles",
            "description": "Articles indexed by newsetl, newest first, with their entity and date facets.",
            "columns": DISCOVER_COLUMNS,
            "sort": [["published_at", "desc"]],
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(search_source)},
        },
        "references": [
            {"id": data_view_id(alias), "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
             "type": "index-pattern"},
        ],
    }


def build_saved_objects(alias: str = "news") -> list[dict[str, Any]]:
    """Every saved object the project ships, in import order (referenced objects first)."""
    objects = [data_view(alias), saved_search(alias)]
    for obj in objects:
        obj["coreMigrationVersion"] = CORE_MIGRATION_VERSION
        obj["typeMigrationVersion"] = TYPE_MIGRATION_VERSION
        obj["managed"] = False
    return objects


def to_ndjson(objects: list[dict[str, Any]]) -> str:
    """One JSON object per line, keys sorted so the committed file diffs cleanly."""
    return "".join(json.dumps(obj, sort_keys=True, ensure_ascii=False) + "\n" for obj in objects)


def mapped_fields(properties: dict[str, Any] | None = None, prefix: str = "") -> set[str]:
    """Dotted names of every field in the index mapping (sub-fields included)."""
    properties = mappings()["properties"] if properties is None else properties
    fields: set[str] = set()
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        fields.add(path)
        fields |= mapped_fields(spec.get("properties", {}), f"{path}.")
        fields |= {f"{path}.{sub}" for sub in spec.get("fields", {})}
    return fields


def validate(objects: list[dict[str, Any]], fields: set[str]) -> list[str]:
    """Problems that would break the import or a view: missing references, unknown fields, bad time field."""
    problems = []
    ids = {(o["type"], o["id"]) for o in objects}
    if len(ids) != len(objects):
        problems.append("duplicate saved object ids")
    for obj in objects:
        where = f"{obj['type']}/{obj['id']}"
        for ref in obj.get("references", []):
            if (ref["type"], ref["id"]) not in ids:
                problems.append(f"{where}: reference {ref['name']} -> {ref['type']}/{ref['id']} does not exist")
        attrs = obj["attributes"]
        if obj["type"] == "index-pattern" and attrs.get("timeFieldName") not in fields:
            problems.append(f"{where}: time field {attrs.get('timeFieldName')!r} is not in the mapping")
        if obj["type"] == "search":
            source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
            names = {r["name"] for r in obj.get("references", [])}
            if source.get("indexRefName") not in names:
                problems.append(f"{where}: indexRefName {source.get('indexRefName')!r} has no reference")
            used = set(attrs.get("columns", [])) | {field for field, _order in attrs.get("sort", [])}
            problems += [f"{where}: field {f!r} is not in the mapping" for f in sorted(used - fields)]
    return problems


def main(argv: list[str]) -> int:
    """Write the NDJSON file (or check that the committed one is current with --check)."""
    content = to_ndjson(build_saved_objects())
    if "--check" in argv:
        current = NDJSON_PATH.read_text(encoding="utf-8") if NDJSON_PATH.exists() else ""
        if current != content:
            print(f"{NDJSON_PATH} is out of date: run python -m pipeline.kibana.saved_objects", file=sys.stderr)
            return 1
        return 0
    NDJSON_PATH.parent.mkdir(parents=True, exist_ok=True)
    Path(NDJSON_PATH).write_text(content, encoding="utf-8")
    print(f"wrote {NDJSON_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
