"""Faceted search over the alias: full text, entity filters, date range, highlights and top facet values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch import exceptions as es_exceptions

from pipeline.errors import InfrastructureError

FACET_FIELDS = {
    "person": "entities.person",
    "org": "entities.org",
    "place": "entities.place",
    "source": "source",
    "language": "language",
}


@dataclass(frozen=True)
class SearchRequest:
    """What the user asked for; every value is used as data (term filters, match queries), never as query syntax."""

    query: str | None = None
    person: tuple[str, ...] = ()
    org: tuple[str, ...] = ()
    place: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    size: int = 10
    facet_size: int = 10


@dataclass
class SearchResult:
    """Hits with highlights, the total, and top values per facet."""

    total: int
    hits: list[dict[str, Any]] = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    mentioned_dates: list[tuple[str, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for `newsetl search --json`."""
        return {
            "total": self.total,
            "hits": self.hits,
            "facets": {k: [{"value": v, "count": c} for v, c in vals] for k, vals in self.facets.items()},
            "mentioned_dates": [{"value": v, "count": c} for v, c in self.mentioned_dates],
        }


def build_query(request: SearchRequest) -> dict[str, Any]:
    """The search body: bool query with filters, highlights and facet aggregations."""
    must: list[dict[str, Any]] = []
    if request.query:
        # simple matching only: the user's words are analysed text, operators in them are not interpreted.
        must.append({"multi_match": {"query": request.query, "fields": ["title^3", "body"], "operator": "and"}})
    filters: list[dict[str, Any]] = []
    for facet, values in (("person", request.person), ("org", request.org), ("place", request.place)):
        filters.extend({"term": {FACET_FIELDS[facet]: value}} for value in values)
    if request.date_from or request.date_to:
        bounds = {}
        if request.date_from:
            bounds["gte"] = request.date_from.isoformat()
        if request.date_to:
            bounds["lte"] = request.date_to.isoformat()
        filters.append({"range": {"published_at": bounds}})
    aggs: dict[str, Any] = {
        facet: {"terms": {"field": fld, "size": request.facet_size}} for facet, fld in FACET_FIELDS.items()
    }
    aggs["mentioned_dates"] = {"terms": {"field": "mentioned_dates.value", "size": request.facet_size}}
    return {
        "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
        "sort": ["_score", {"published_at": {"order": "desc", "missing": "_last"}}],
        "size": request.size,
        "_source": ["title", "url", "source", "published_at", "entities", "mentioned_dates"],
        "highlight": {
            "fields": {"body": {"fragment_size": 160, "number_of_fragments": 2}, "title": {"number_of_fragments": 0}},
            "pre_tags": ["«"],
            "post_tags": ["»"],
        },
        "aggs": aggs,
        "track_total_hits": True,
    }


def search(client: Elasticsearch, alias: str, request: SearchRequest) -> SearchResult:
    """Run a faceted search against the alias."""
    try:
        response = client.search(index=alias, **build_query(request))
    except es_exceptions.NotFoundError:
        message = f"index {alias!r} does not exist yet: run `newsetl ingest` or the DAG first"
        raise InfrastructureError(message) from None
    except (es_exceptions.ConnectionError, es_exceptions.TransportError, es_exceptions.ApiError) as exc:
        raise InfrastructureError(f"search on {alias!r} failed: {type(exc).__name__}") from None
    hits = []
    for hit in response["hits"]["hits"]:
        source = hit.get("_source", {})
        hits.append({"id": hit["_id"], "score": hit.get("_score"), **source, "highlight": hit.get("highlight", {})})
    aggs = response.get("aggregations", {})
    facets = {
        facet: [(str(b["key"]), int(b["doc_count"])) for b in aggs.get(facet, {}).get("buckets", [])]
        for facet in FACET_FIELDS
    }
    dates = [(str(b["key"]), int(b["doc_count"])) for b in aggs.get("mentioned_dates", {}).get("buckets", [])]
    return SearchResult(total=int(response["hits"]["total"]["value"]), hits=hits, facets=facets, mentioned_dates=dates)
