"""Kibana saved objects generated from code: data views, a saved search, Lens charts and two dashboards.

- data view on the `news` alias (time field timeline_at: the publication date, else the ingest time, so undated
  articles are not invisible; `undated` is a column and a filter) and on `news-runs` (time field started_at);
- a saved Discover search of articles, and one per facet type (articles that have a value of that facet);
- "News overview": articles over time, top persons/organisations/places/other names, mentioned dates, sources,
  languages and the languages without an NER model, a map (one point per resolved place on `geo`, and article
  counts per country joined on ISO alpha-2 codes), option-list controls for entities, countries, language and
  enrichment status and a time slider, and the article list;
- "Pipeline health": per-run counts (indexed, rejected, undated, duplicates), stage durations, the latest runs;
- "Watchlist alerts": data view on `news-alerts` (time field matched_at), alerts per watchlist over time and the
  saved search of the latest alerts (pipeline/search/watchlists.py records them).

`python -m pipeline.kibana.saved_objects` writes config/kibana/saved_objects.ndjson, which the compose one-shot
imports. Nested configuration is built as Python data and serialised once, never edited as JSON inside JSON.
"""

from __future__ import annotations

import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pipeline.core.facets import FACETS
from pipeline.core.settings import PROJECT_ROOT
from pipeline.index.mapping import mappings
from pipeline.index.store import Store
from pipeline.kibana.lens import Chart, count, date_histogram, last_value, metric, top_values, unique_count
from pipeline.runs.alerts import alerts_index, alerts_mappings
from pipeline.runs.history import runs_index, runs_mappings

NDJSON_PATH = PROJECT_ROOT / "config" / "kibana" / "saved_objects.ndjson"
# Oldest versions these objects are valid for; Kibana migrates them forward on import (8.x and 9.x).
CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSION = "8.0.0"

DISCOVER_COLUMNS = ["title", "source", "published_at", "undated", "entities.person", "entities.org", "entities.place",
                    "mentioned_dates"]
# Every article has it (pipeline/index/mapping.py); published_at alone would hide every undated article.
TIME_FIELD = "timeline_at"
# A dashboard opens on this range when no data range is known (the committed NDJSON); `newsetl kibana import`
# passes the range of the live index instead. Runs are recent by nature.
DEFAULT_NEWS_RANGE = ("now-1y", "now")
RUNS_RANGE = ("now-30d", "now")
ALERTS_RANGE = ("now-30d", "now")
ALERT_COLUMNS = ["watchlist", "title", "url", "source", "published_at", "entities.person", "entities.org",
                 "entities.place", "pending"]
# Facet type -> label of its saved search.
FACET_LABELS = {"person": "person", "org": "organisation", "place": "place", "norp": "nationality or group",
                "event": "event", "product": "product", "work_of_art": "work of art", "law": "law",
                "language": "language mentioned", "misc": "other name", "country": "country"}


def data_view_id(alias: str) -> str:
    """Stable id of the data view, so re-imports overwrite rather than duplicate."""
    return f"newsetl-{alias}"


def runs_view_id(alias: str) -> str:
    """Stable id of the data view on the run reports."""
    return f"newsetl-{alias}-runs"


def alerts_view_id(alias: str) -> str:
    """Stable id of the data view on the watchlist alerts."""
    return f"newsetl-{alias}-alerts"


def data_view(alias: str) -> dict[str, Any]:
    """The data view (index-pattern) on the alias with timeline_at as its time field."""
    return {
        "id": data_view_id(alias),
        "type": "index-pattern",
        "attributes": {
            "title": alias,
            "name": f"News articles ({alias})",
            "timeFieldName": TIME_FIELD,
            "allowNoIndex": True,
            "fieldFormatMap": "{}",
            "runtimeFieldMap": "{}",
            "sourceFilters": json.dumps([{"value": "content_hash"}, {"value": "extra"}]),
        },
        "references": [],
    }


def runs_data_view(alias: str) -> dict[str, Any]:
    """The data view on the run reports, by run start time."""
    return {
        "id": runs_view_id(alias),
        "type": "index-pattern",
        "attributes": {"title": runs_index(alias), "name": f"Pipeline runs ({alias})", "timeFieldName": "started_at",
                       "allowNoIndex": True, "fieldFormatMap": "{}", "runtimeFieldMap": "{}"},
        "references": [],
    }


def alerts_data_view(alias: str) -> dict[str, Any]:
    """The data view on the watchlist alerts, by the time a match was recorded."""
    return {
        "id": alerts_view_id(alias),
        "type": "index-pattern",
        "attributes": {"title": alerts_index(alias), "name": f"Watchlist alerts ({alias})",
                       "timeFieldName": "matched_at", "allowNoIndex": True, "fieldFormatMap": "{}",
                       "runtimeFieldMap": "{}"},
        "references": [],
    }


def alerts_charts(alias: str) -> list[Chart]:
    """The Lens charts of the Watchlist alerts dashboard (over the alerts index)."""
    prefix = f"newsetl-{alias}-alerts"
    return [
        Chart(f"{prefix}-over-time", "Alerts per watchlist", "Matches recorded per day and watchlist",
              "bar_stacked", (date_histogram("when", "matched_at", "Matched"),
                              top_values("watchlist", "watchlist", "Watchlist", "alerts", 10),
                              count("alerts", "Alerts"))),
        Chart(f"{prefix}-undelivered", "Alerts not yet delivered", "Matches a notification target has not accepted "
              "yet, per watchlist (a failing webhook or SMTP server)", "bar_horizontal",
              (top_values("watchlist", "watchlist", "Watchlist", "alerts", 10), count("alerts", "Alerts")),
              query="pending : *"),
    ]


def alerts_search(alias: str) -> dict[str, Any]:
    """The saved Discover search of recent alerts: newest match first, with the article's title, URL and facets."""
    search_source = {"query": {"query": "", "language": "kuery"}, "filter": [],
                     "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index"}
    return {
        "id": f"newsetl-{alias}-alerts-latest",
        "type": "search",
        "attributes": {
            "title": "Watchlist alerts",
            "description": "Articles matched by the watchlists of config/watchlists.yml, newest match first.",
            "columns": ALERT_COLUMNS,
            "sort": [["matched_at", "desc"]],
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(search_source)},
        },
        "references": [{"id": alerts_view_id(alias), "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
                        "type": "index-pattern"}],
    }


def overview_charts(alias: str) -> list[Chart]:
    """The Lens charts of the News overview dashboard."""
    prefix = f"newsetl-{alias}"

    def top(name: str, fld: str, label: str, size: int = 15) -> Chart:
        return Chart(f"{prefix}-top-{name}", f"Top {label}", f"Most mentioned {label} (one value per real entity)",
                     "bar_horizontal", (top_values("values", fld, label.capitalize(), "articles", size),
                                        count("articles")))

    return [
        Chart(f"{prefix}-articles-over-time", "Articles over time", "Articles per publication date (undated "
              "articles at their ingest date)", "bar", (date_histogram("day", TIME_FIELD, "Date"), count("articles"))),
        top("persons", "entities.person", "persons"),
        top("organisations", "entities.org", "organisations"),
        top("places", "entities.place", "places"),
        top("misc", "entities.misc", "other names"),
        Chart(f"{prefix}-mentioned-dates", "Mentioned dates", "Dates the articles talk about (resolved against "
              "their publication date)", "bar", (date_histogram("day", "mentioned_dates", "Mentioned date"),
                                                 count("articles", "Mentions"))),
        top("sources", "source", "sources", 10),
        Chart(f"{prefix}-languages", "Languages", "Articles per detected language", "donut",
              (top_values("language", "language", "Language", "articles", 10), count("articles"))),
        # enrichment: "no-model" marks articles in a language without a configured NER model: they have no
        # entity facets, so the people/organisation/place charts above say nothing about them.
        Chart(f"{prefix}-no-model", "Articles without an NER model", "Articles per language that no configured "
              "model reads (no entity facets)", "bar_horizontal",
              (top_values("language", "language", "Language", "articles", 10), count("articles")),
              query='enrichment : "no-model"'),
        Chart(f"{prefix}-stories", "Stories", "Distinct stories (copies of one story counted once) and articles",
              "metric", (unique_count("stories", "story_id", "Distinct stories"), count("articles"))),
        Chart(f"{prefix}-most-copied", "Most copied stories", "Stories published most often: copies, sources "
              "and the latest headline", "table",
              (top_values("story", "story_id", "Story", "copies", 10), count("copies", "Copies"),
               unique_count("sources", "source", "Sources"),
               last_value("headline", "title.keyword", "Latest headline", TIME_FIELD))),
    ]


def health_charts(alias: str) -> list[Chart]:
    """The Lens charts of the Pipeline health dashboard (over the runs index)."""
    prefix = f"newsetl-{alias}-runs"
    return [
        Chart(f"{prefix}-outcomes", "Articles per run", "Indexed, unchanged, rejected, undated and duplicate "
              "articles of each run", "bar_stacked",
              (date_histogram("when", "started_at", "Run started"),
               metric("indexed", "sum", "indexed", "Indexed"), metric("unchanged", "sum", "unchanged", "Unchanged"),
               metric("rejected", "sum", "rejected", "Rejected"), metric("undated", "sum", "undated", "Undated"),
               metric("duplicates", "sum", "duplicates", "Duplicates")), query='stage : "run"'),
        Chart(f"{prefix}-durations", "Stage durations", "Seconds per stage of the nightly runs", "bar_stacked",
              (date_histogram("when", "started_at", "Run started"),
               top_values("stage", "stage", "Stage", "seconds", 5),
               metric("seconds", "sum", "seconds", "Seconds")), query='not stage : "run"'),
        Chart(f"{prefix}-latest", "Latest runs", "One row per run", "table",
              (top_values("run", "run_id", "Run", "started", 20), top_values("partition", "partition", "Partition",
                                                                             "started", 1),
               metric("started", "max", "started_at", "Started"), metric("seen", "sum", "seen", "Seen"),
               metric("indexed", "sum", "indexed", "Indexed"), metric("rejected", "sum", "rejected", "Rejected"),
               metric("undated", "sum", "undated", "Undated"), metric("duplicates", "sum", "duplicates", "Duplicates"),
               metric("seconds", "sum", "seconds", "Seconds")), query='stage : "run"'),
    ]


def places_map(alias: str) -> dict[str, Any]:
    """A Maps saved object: a base map, the articles' resolved places (documents layer on `geo`) and a choropleth
    of articles per country (Elastic Maps Service world countries joined on `iso2` to `entities.country_code`)."""
    prefix = f"newsetl-{alias}-map"
    join_id = f"{prefix}-join-countries"
    countries = {
        "id": f"{prefix}-countries", "type": "GEOJSON_VECTOR", "label": "Articles per country",
        "minZoom": 0, "maxZoom": 24, "alpha": 0.6, "visible": True, "includeInFitToBounds": True,
        "sourceDescriptor": {"type": "EMS_FILE", "id": "world_countries", "tooltipProperties": ["name", "iso2"]},
        "joins": [{"leftField": "iso2", "right": {
            "type": "ES_TERM_SOURCE", "id": join_id, "indexPatternRefName": "layer_2_join_0_index_pattern",
            "term": "entities.country_code", "size": 250, "metrics": [{"type": "count", "label": "articles"}],
            "applyGlobalQuery": True, "applyGlobalTime": True, "applyForceRefresh": True}}],
        "style": {"type": "VECTOR", "isTimeAware": True, "properties": {
            "fillColor": {"type": "DYNAMIC", "options": {
                "color": "Blues", "type": "ORDINAL",
                "field": {"name": f"__kbnjoin__count__{join_id}", "origin": "join"},
                "fieldMetaOptions": {"isEnabled": True, "sigma": 3}}},
            "lineColor": {"type": "STATIC", "options": {"color": "#3d3d3d"}},
            "lineWidth": {"type": "STATIC", "options": {"size": 1}}}},
    }
    places = {
        "id": f"{prefix}-places", "type": "MVT_VECTOR", "label": "Places in articles",
        "minZoom": 0, "maxZoom": 24, "alpha": 0.8, "visible": True, "includeInFitToBounds": True,
        "sourceDescriptor": {
            "type": "ES_SEARCH", "id": f"{prefix}-places-source", "geoField": "geo", "scalingType": "MVT",
            "indexPatternRefName": "layer_1_source_index_pattern",
            "tooltipProperties": ["title", "entities.place", "published_at"],
            "sortField": "published_at", "sortOrder": "desc", "applyGlobalQuery": True, "applyGlobalTime": True},
        "style": {"type": "VECTOR", "isTimeAware": True, "properties": {
            "fillColor": {"type": "STATIC", "options": {"color": "#E7664C"}},
            "symbolSize": {"type": "STATIC", "options": {"size": 5}}}},
    }
    base = {"id": f"{prefix}-base", "type": "EMS_VECTOR_TILE", "label": None, "minZoom": 0, "maxZoom": 24,
            "alpha": 1, "visible": True, "sourceDescriptor": {"type": "EMS_TMS", "isAutoSelect": True},
            "style": {"type": "EMS_VECTOR_TILE"}}
    return {
        "id": prefix,
        "type": "map",
        "attributes": {
            "title": "Places in the news",
            "description": "Where the articles are: one point per resolved place (GeoNames) and articles per country",
            "layerListJSON": json.dumps([base, countries, places]),
            "mapStateJSON": json.dumps({"zoom": 1.5, "center": {"lon": 10, "lat": 25},
                                        "query": {"query": "", "language": "kuery"}, "filters": [],
                                        "settings": {"autoFitToDataBounds": False}}),
            "uiStateJSON": json.dumps({"isLayerTOCOpen": True, "openTOCDetails": []}),
        },
        "references": [
            {"name": "layer_1_source_index_pattern", "type": "index-pattern", "id": data_view_id(alias)},
            {"name": "layer_2_join_0_index_pattern", "type": "index-pattern", "id": data_view_id(alias)},
        ],
    }


def dashboard(dashboard_id: str, title: str, description: str, panels: list[tuple[str, str, int, int, int, int]],
              controls: list[tuple[str, str]], view_id: str, time_range: tuple[str, str]) -> dict[str, Any]:
    """A dashboard of saved objects by reference: panels are (type, id, x, y, w, h); controls (field, title);
    `time_range` (from, to: ISO dates or Kibana's date math) is stored and restored when the dashboard opens."""
    panels_json, references = [], []
    for i, (obj_type, obj_id, x, y, w, h) in enumerate(panels, start=1):
        index = str(i)
        panels_json.append({"version": "8.8.0", "type": obj_type, "panelIndex": index,
                            "gridData": {"x": x, "y": y, "w": w, "h": h, "i": index},
                            "embeddableConfig": {"enhancements": {}}, "panelRefName": f"panel_{index}"})
        references.append({"name": f"{index}:panel_{index}", "type": obj_type, "id": obj_id})
    control_panels = {}
    for order, (fld, label) in enumerate(controls):
        control_id = f"{dashboard_id}-control-{order}"
        control_panels[control_id] = {"order": order, "width": "medium", "grow": True, "type": "optionsListControl",
                                      "explicitInput": {"id": control_id, "fieldName": fld, "title": label,
                                                        "enhancements": {}}}
        references.append({"name": f"controlGroup_{control_id}:optionsListDataView", "type": "index-pattern",
                           "id": view_id})
    if controls:  # the date range: a time slider over the dashboard's time field
        control_panels[f"{dashboard_id}-control-time"] = {
            "order": len(controls), "width": "large", "grow": True, "type": "timeSlider",
            "explicitInput": {"id": f"{dashboard_id}-control-time", "title": "Date", "enhancements": {}}}
    return {
        "id": dashboard_id,
        "type": "dashboard",
        "attributes": {
            "title": title,
            "description": description,
            "panelsJSON": json.dumps(panels_json),
            "optionsJSON": json.dumps({"useMargins": True, "syncColors": False, "hidePanelTitles": False}),
            "timeRestore": True,
            "timeFrom": time_range[0],
            "timeTo": time_range[1],
            "refreshInterval": {"pause": True, "value": 0},
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"},
                                                                      "filter": []})},
            "controlGroupInput": {
                "controlStyle": "oneLine", "chainingSystem": "HIERARCHICAL",
                "panelsJSON": json.dumps(control_panels),
                "ignoreParentSettingsJSON": json.dumps({"ignoreFilters": False, "ignoreQuery": False,
                                                        "ignoreTimerange": False, "ignoreValidations": False}),
            },
        },
        "references": references,
    }


def overview_dashboard(alias: str, time_range: tuple[str, str] = DEFAULT_NEWS_RANGE) -> dict[str, Any]:
    """News overview: what the articles are about, who and where, when, from which sources."""
    charts = {c.id.rsplit(f"newsetl-{alias}-", 1)[1]: c.id for c in overview_charts(alias)}
    panels = [
        ("lens", charts["articles-over-time"], 0, 0, 48, 10),
        ("lens", charts["top-persons"], 0, 10, 16, 14),
        ("lens", charts["top-organisations"], 16, 10, 16, 14),
        ("lens", charts["top-places"], 32, 10, 16, 14),
        ("lens", charts["mentioned-dates"], 0, 24, 24, 12),
        ("lens", charts["top-sources"], 24, 24, 12, 12),
        ("lens", charts["languages"], 36, 24, 12, 12),
        ("lens", charts["stories"], 0, 36, 12, 12),
        ("lens", charts["most-copied"], 12, 36, 36, 12),
        ("lens", charts["top-misc"], 0, 48, 24, 12),
        ("lens", charts["no-model"], 24, 48, 24, 12),
        ("map", places_map(alias)["id"], 0, 60, 48, 20),
        ("search", saved_search(alias)["id"], 0, 80, 48, 16),
    ]
    controls = [("entities.person", "Person"), ("entities.org", "Organisation"), ("entities.place", "Place"),
                ("entities.misc", "Other name"), ("entities.country", "Country"), ("source", "Source"),
                ("site_name", "Site"), ("authors", "Author"), ("language", "Language"), ("enrichment", "Enrichment")]
    return dashboard(f"newsetl-{alias}-overview", "News overview", "Articles, entities and dates indexed by newsetl",
                     panels, controls, data_view_id(alias), time_range)


def health_dashboard(alias: str) -> dict[str, Any]:
    """Pipeline health: what each run did and how long its stages took."""
    ids = [c.id for c in health_charts(alias)]
    panels = [("lens", ids[0], 0, 0, 48, 12), ("lens", ids[1], 0, 12, 24, 12), ("lens", ids[2], 24, 12, 24, 12)]
    return dashboard(f"newsetl-{alias}-health", "Pipeline health", "Run reports written by every newsetl run",
                     panels, [], runs_view_id(alias), RUNS_RANGE)


def alerts_dashboard(alias: str) -> dict[str, Any]:
    """Watchlist alerts: what the watchlists found, and what is still owed to a notification target."""
    over_time, undelivered = (c.id for c in alerts_charts(alias))
    panels = [("lens", over_time, 0, 0, 32, 12), ("lens", undelivered, 32, 0, 16, 12),
              ("search", alerts_search(alias)["id"], 0, 12, 48, 18)]
    return dashboard(f"newsetl-{alias}-alerts", "Watchlist alerts", "Matches of the watchlists "
                     "(config/watchlists.yml) recorded by news_watchlists and `newsetl watchlists run`",
                     panels, [("watchlist", "Watchlist")], alerts_view_id(alias), ALERTS_RANGE)


def saved_search(alias: str, facet: str | None = None) -> dict[str, Any]:
    """A Discover session with the columns a news analyst starts from, newest first; with `facet`, the articles
    that have a value of that facet type (an `exists` filter), its values as the second column."""
    search_source: dict[str, Any] = {
        "query": {"query": "", "language": "kuery"},
        "filter": [],
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    }
    references = [{"id": data_view_id(alias), "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
                   "type": "index-pattern"}]
    title, description, columns = ("News articles", "Articles indexed by newsetl, newest first, with their entity "
                                   "and date facets.", DISCOVER_COLUMNS)
    if facet:
        fld, label = f"entities.{facet}", FACET_LABELS.get(facet, facet.replace("_", " "))
        ref_name = "kibanaSavedObjectMeta.searchSourceJSON.filter[0].meta.index"
        search_source["filter"] = [{
            "meta": {"type": "exists", "key": fld, "value": "exists", "negate": False, "disabled": False,
                     "alias": None, "indexRefName": ref_name},
            "query": {"exists": {"field": fld}}, "$state": {"store": "appState"}}]
        references.append({"id": data_view_id(alias), "name": ref_name, "type": "index-pattern"})
        title = f"Articles by {label}"
        description = f"Articles that mention a {label}, newest first, with the {label} values."
        columns = ["title", fld, "source", "published_at", "undated"]
    return {
        "id": f"newsetl-{alias}-articles" + (f"-by-{facet}" if facet else ""),
        "type": "search",
        "attributes": {
            "title": title,
            "description": description,
            "columns": columns,
            "sort": [[TIME_FIELD, "desc"]],
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(search_source)},
        },
        "references": references,
    }


def build_saved_objects(alias: str = "news", news_range: tuple[str, str] = DEFAULT_NEWS_RANGE) -> list[dict[str, Any]]:
    """Every saved object the project ships, in import order (referenced objects first). `news_range`: the
    time range the News overview opens on (`newsetl kibana import` passes the live data's)."""
    objects = [data_view(alias), runs_data_view(alias), saved_search(alias)]
    objects += [saved_search(alias, facet) for facet in FACETS]
    objects += [chart.saved_object(data_view_id(alias)) for chart in overview_charts(alias)]
    objects += [chart.saved_object(runs_view_id(alias)) for chart in health_charts(alias)]
    objects += [places_map(alias), overview_dashboard(alias, news_range), health_dashboard(alias)]
    objects += [alerts_data_view(alias), alerts_search(alias)]
    objects += [chart.saved_object(alerts_view_id(alias)) for chart in alerts_charts(alias)]
    objects += [alerts_dashboard(alias)]
    for obj in objects:
        obj["coreMigrationVersion"] = CORE_MIGRATION_VERSION
        obj["typeMigrationVersion"] = TYPE_MIGRATION_VERSION
        obj["managed"] = False
    return objects


def live_time_range(store: Store) -> tuple[str, str] | None:
    """(first day, day after the last) of the articles' TIME_FIELD in the live index, or None without articles:
    the range the News overview should open on. Two sorted one-hit searches (no min/max aggregation needed)."""
    ends = []
    for order in ("asc", "desc"):
        hits = store.search(what=f"time range of {store.alias!r}", missing_ok=True, size=1, source=[TIME_FIELD],
                            sort=[{TIME_FIELD: {"order": order}}], query={"exists": {"field": TIME_FIELD}})
        found = hits["hits"]["hits"]
        if not found:
            return None
        ends.append(date.fromisoformat(str(found[0]["_source"][TIME_FIELD])[:10]))
    return ends[0].isoformat(), (ends[1] + timedelta(days=1)).isoformat()


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


def fields_by_view(alias: str = "news") -> dict[str, set[str]]:
    """The fields each shipped data view can use, read off the mappings the pipeline writes."""
    return {data_view_id(alias): mapped_fields(), runs_view_id(alias): mapped_fields(runs_mappings()["properties"]),
            alerts_view_id(alias): mapped_fields(alerts_mappings()["properties"])}


def validate(objects: list[dict[str, Any]], fields: dict[str, set[str]]) -> list[str]:
    """Problems that would break the import or a view: missing references, unknown fields, bad time fields."""
    problems = []
    ids = {(o["type"], o["id"]) for o in objects}
    if len(ids) != len(objects):
        problems.append("duplicate saved object ids")
    for obj in objects:
        where = f"{obj['type']}/{obj['id']}"
        refs = {r["name"]: r for r in obj.get("references", [])}
        for ref in refs.values():
            if (ref["type"], ref["id"]) not in ids:
                problems.append(f"{where}: reference {ref['name']} -> {ref['type']}/{ref['id']} does not exist")
        attrs = obj["attributes"]
        if obj["type"] == "index-pattern" and attrs.get("timeFieldName") not in fields.get(obj["id"], set()):
            problems.append(f"{where}: time field {attrs.get('timeFieldName')!r} is not in the mapping")
        if obj["type"] == "search":
            source = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])
            ref = refs.get(source.get("indexRefName"))
            if not ref:
                problems.append(f"{where}: indexRefName {source.get('indexRefName')!r} has no reference")
                continue
            used = set(attrs.get("columns", [])) | {fld for fld, _order in attrs.get("sort", [])}
            for flt in source.get("filter", []):
                used.add(flt["meta"]["key"])
                if flt["meta"].get("indexRefName") not in refs:
                    problems.append(f"{where}: filter on {flt['meta']['key']!r} has no data view reference")
            unknown = sorted(used - fields.get(ref["id"], set()))
            problems += [f"{where}: field {f!r} is not in the mapping" for f in unknown]
        if obj["type"] == "lens":
            problems += _lens_problems(where, attrs, refs, fields)
        if obj["type"] == "dashboard":
            problems += _dashboard_problems(where, attrs, refs, fields)
            if not (attrs.get("timeRestore") and attrs.get("timeFrom") and attrs.get("timeTo")):
                problems.append(f"{where}: no stored time range (it would open on Kibana's default)")
        if obj["type"] == "map":
            problems += _map_problems(where, attrs, refs, fields)
    return problems


def _map_problems(where: str, attrs: dict[str, Any], refs: dict[str, Any], fields: dict[str, set[str]]) -> list[str]:
    """Every data-view layer and join names a reference, and the fields it reads are in that view's mapping."""
    problems = []
    for layer in json.loads(attrs["layerListJSON"]):
        source = layer["sourceDescriptor"]
        uses = [(source.get("indexPatternRefName"), [source.get("geoField"), *source.get("tooltipProperties", [])])]
        if source["type"] != "ES_SEARCH":
            uses = []
        uses += [(join["right"]["indexPatternRefName"], [join["right"]["term"]]) for join in layer.get("joins", [])]
        for ref_name, used in uses:
            ref = refs.get(ref_name)
            if ref is None:
                problems.append(f"{where}: layer {layer['id']} names {ref_name!r}, which is not a reference")
                continue
            problems += [f"{where}: layer {layer['id']} uses {fld!r}, not in the mapping of {ref['id']}"
                         for fld in filter(None, used) if fld not in fields.get(ref["id"], set())]
    return problems


def _lens_problems(where: str, attrs: dict[str, Any], refs: dict[str, Any], fields: dict[str, set[str]]) -> list[str]:
    problems = []
    layers = attrs["state"]["datasourceStates"]["formBased"]["layers"]
    for layer_id, layer in layers.items():
        ref = refs.get(f"indexpattern-datasource-layer-{layer_id}")
        if not ref or ref["type"] != "index-pattern":
            problems.append(f"{where}: layer {layer_id} has no data view reference")
            continue
        for col_id, column in layer["columns"].items():
            used = [column.get("sourceField"), column.get("params", {}).get("sortField")]
            for fld in filter(None, used):
                if fld != "___records___" and fld not in fields.get(ref["id"], set()):
                    problems.append(f"{where}: column {col_id} uses {fld!r}, not in the mapping of {ref['id']}")
        order_ids = set(layer["columnOrder"])
        if order_ids != set(layer["columns"]):
            problems.append(f"{where}: columnOrder does not match the columns of layer {layer_id}")
    vis = attrs["state"]["visualization"]
    accessors = {a for lay in vis.get("layers", [vis])
                 for key in ("xAccessor", "splitAccessor", "metricAccessor", "secondaryMetricAccessor")
                 for a in [lay.get(key)] if a}
    accessors |= {a for lay in vis.get("layers", [vis]) for key in ("accessors", "primaryGroups", "metrics")
                  for a in lay.get(key, [])}
    accessors |= {c["columnId"] for c in vis.get("columns", [])}
    known = {col for layer in layers.values() for col in layer["columns"]}
    problems += [f"{where}: visualization uses unknown column {a!r}" for a in sorted(accessors - known)]
    return problems


def _dashboard_problems(where: str, attrs: dict[str, Any], refs: dict[str, Any],
                        fields: dict[str, set[str]]) -> list[str]:
    problems = []
    for panel in json.loads(attrs["panelsJSON"]):
        name = f"{panel['panelIndex']}:{panel['panelRefName']}"
        if name not in refs:
            problems.append(f"{where}: panel {panel['panelIndex']} has no reference {name}")
    controls = json.loads(attrs.get("controlGroupInput", {}).get("panelsJSON") or "{}")
    for control_id, control in controls.items():
        if control["type"] != "optionsListControl":
            continue
        ref = refs.get(f"controlGroup_{control_id}:optionsListDataView")
        fld = control["explicitInput"]["fieldName"]
        if not ref:
            problems.append(f"{where}: control {control_id} has no data view reference")
        elif fld not in fields.get(ref["id"], set()):
            problems.append(f"{where}: control {control_id} filters on {fld!r}, not in the mapping")
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
