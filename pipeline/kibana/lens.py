"""Lens visualisations as Python data: columns, layers and the saved object that holds them.

Kibana stores a Lens chart as `state.datasourceStates.formBased.layers[<layer>].columns` (what to aggregate) plus
`state.visualization` (how to draw it), and one reference per layer to its data view. Building them here keeps the
ids consistent and lets tests check every field against the index mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COUNT_FIELD = "___records___"  # Lens's pseudo-field for "count of documents"


@dataclass(frozen=True)
class Column:
    """One Lens column: a bucket (date histogram, top values) or a metric (count, sum, average)."""

    id: str
    spec: dict[str, Any]

    @property
    def source_field(self) -> str:
        """The document field it reads."""
        return self.spec["sourceField"]


def date_histogram(col_id: str, fld: str, label: str) -> Column:
    """Documents per time interval of a date field (interval chosen by Kibana)."""
    return Column(col_id, {"label": label, "customLabel": True, "dataType": "date", "operationType": "date_histogram",
                           "sourceField": fld, "isBucketed": True, "scale": "interval",
                           "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False}})


def top_values(col_id: str, fld: str, label: str, order_by: str, size: int = 10) -> Column:
    """The most frequent values of a keyword field, ordered by another column."""
    return Column(col_id, {"label": label, "customLabel": True, "dataType": "string", "operationType": "terms",
                           "sourceField": fld, "isBucketed": True, "scale": "ordinal",
                           "params": {"size": size, "orderBy": {"type": "column", "columnId": order_by},
                                      "orderDirection": "desc", "otherBucket": False, "missingBucket": False}})


def count(col_id: str, label: str = "Articles") -> Column:
    """Number of documents."""
    return Column(col_id, {"label": label, "customLabel": True, "dataType": "number", "operationType": "count",
                           "sourceField": COUNT_FIELD, "isBucketed": False, "scale": "ratio",
                           "params": {"emptyAsNull": False}})


def metric(col_id: str, operation: str, fld: str, label: str) -> Column:
    """sum / average / max of a numeric field."""
    return Column(col_id, {"label": label, "customLabel": True, "dataType": "number", "operationType": operation,
                           "sourceField": fld, "isBucketed": False, "scale": "ratio",
                           "params": {"emptyAsNull": True}})


def unique_count(col_id: str, fld: str, label: str) -> Column:
    """Number of distinct values of a field (approximate on large indices, like Elasticsearch's cardinality)."""
    return Column(col_id, {"label": label, "customLabel": True, "dataType": "number", "operationType": "unique_count",
                           "sourceField": fld, "isBucketed": False, "scale": "ratio",
                           "params": {"emptyAsNull": True}})


def last_value(col_id: str, fld: str, label: str, sort_field: str) -> Column:
    """The value of `fld` in the document with the latest `sort_field` (e.g. a story's newest headline)."""
    return Column(col_id, {"label": label, "customLabel": True, "dataType": "string", "operationType": "last_value",
                           "sourceField": fld, "isBucketed": False, "scale": "ordinal",
                           "params": {"sortField": sort_field, "showArrayValues": False}})


@dataclass(frozen=True)
class Chart:
    """A Lens chart on one data view, one layer: bucket columns then metric columns."""

    id: str
    title: str
    description: str
    kind: str  # "bar" | "line" | "bar_horizontal" | "donut" | "table" | "area" | "metric"
    columns: tuple[Column, ...]
    query: str = ""  # a KQL filter of the chart's own, e.g. stage:"run"
    layer: str = field(default="layer1")

    @property
    def buckets(self) -> list[Column]:
        """Bucket columns."""
        return [c for c in self.columns if c.spec["isBucketed"]]

    @property
    def metrics(self) -> list[Column]:
        """Metric columns."""
        return [c for c in self.columns if not c.spec["isBucketed"]]

    def visualization(self) -> tuple[str, dict[str, Any]]:
        """(visualizationType, visualization state) for this chart's kind."""
        layer = self.layer
        if self.kind == "donut":
            return "lnsPie", {"shape": "donut", "layers": [{
                "layerId": layer, "layerType": "data", "primaryGroups": [c.id for c in self.buckets],
                "metrics": [c.id for c in self.metrics], "numberDisplay": "percent", "categoryDisplay": "default",
                "legendDisplay": "default"}]}
        if self.kind == "metric":
            main, *secondary = self.metrics
            state = {"layerId": layer, "layerType": "data", "metricAccessor": main.id}
            if secondary:
                state["secondaryMetricAccessor"] = secondary[0].id
            return "lnsMetric", state
        if self.kind == "table":
            return "lnsDatatable", {"layerId": layer, "layerType": "data",
                                    "columns": [{"columnId": c.id} for c in self.columns]}
        x, *split = self.buckets
        data_layer = {"layerId": layer, "layerType": "data", "seriesType": self.kind, "xAccessor": x.id,
                      "accessors": [c.id for c in self.metrics]}
        if split:
            data_layer["splitAccessor"] = split[0].id
        return "lnsXY", {"preferredSeriesType": self.kind, "layers": [data_layer], "valueLabels": "hide",
                         "legend": {"isVisible": bool(split) or len(self.metrics) > 1, "position": "right"}}

    def saved_object(self, data_view_id: str) -> dict[str, Any]:
        """The `lens` saved object, referencing its data view once per layer."""
        vis_type, visualization = self.visualization()
        return {
            "id": self.id,
            "type": "lens",
            "attributes": {
                "title": self.title,
                "description": self.description,
                "visualizationType": vis_type,
                "state": {
                    "visualization": visualization,
                    "query": {"query": self.query, "language": "kuery"},
                    "filters": [],
                    "datasourceStates": {"formBased": {"layers": {self.layer: {
                        "columns": {c.id: c.spec for c in self.columns},
                        "columnOrder": [c.id for c in self.columns],
                        "incompleteColumns": {},
                    }}}},
                },
            },
            "references": [{"type": "index-pattern", "id": data_view_id,
                            "name": f"indexpattern-datasource-layer-{self.layer}"}],
        }
