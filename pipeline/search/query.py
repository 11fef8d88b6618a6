"""Faceted search over the alias: full text, filters on every facet, date ranges, highlights, pages, story collapse."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipeline.core.errors import InfrastructureError
from pipeline.core.facets import FACETS
from pipeline.core.text import count_words
from pipeline.index.store import IndexMissing, Store

# Facet name (CLI flag, JSON key) -> indexed keyword field. The entity facet LANGUAGE ("French" mentioned in the
# text) is `language_mentioned`, so that `language` keeps meaning the article's own language.
FACET_FIELDS: dict[str, str] = {
    **{("language_mentioned" if facet == "language" else facet): f"entities.{facet}" for facet in FACETS},
    "source": "source",
    "language": "language",
    "enrichment": "enrichment",  # "no-model": articles in a language without an NER model (no entity facets)
}
HIGHLIGHT_PRE, HIGHLIGHT_POST = "«", "»"
SORTS = {
    "relevance": ["_score", {"published_at": {"order": "desc", "missing": "_last"}}],
    "newest": [{"published_at": {"order": "desc", "missing": "_last"}}, "_score"],
    "oldest": [{"published_at": {"order": "asc", "missing": "_last"}}, "_score"],
}
# Elasticsearch's index.max_result_window: from + size beyond it is refused, so pages stop there.
MAX_WINDOW = 10_000
# What one search may ask for. Every query word becomes a clause per searched field and every filter value a term
# clause; a 100 KB query held the embedded server (and everyone else's searches) for two minutes. Web search
# engines stop at 32 words (Google); twice that and 1,024 characters cover any real question, and 100 filter
# values stay far below Elasticsearch's own clause limit (indices.query.bool.max_clause_count, 1,024 and up).
MAX_QUERY_CHARS = 1_024
MAX_QUERY_WORDS = 64
MAX_FILTER_VALUES = 100
MAX_FILTER_VALUE_CHARS = 256
_HIT_FIELDS = ["title", "url", "source", "language", "enrichment", "published_at", "entities", "mentioned_dates",
               "story_id"]


@dataclass(frozen=True)
class SearchRequest:
    """What the user asked for; every value is used as data (term filters, match queries), never as query syntax."""

    query: str | None = None
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # facet name -> values, all required
    published_from: date | None = None
    published_to: date | None = None
    mentioned_from: date | None = None
    mentioned_to: date | None = None
    page: int = 1
    size: int = 10
    sort: str = "relevance"
    collapse: bool = False  # one hit per story, with its number of copies
    facet_size: int = 10

    def __post_init__(self) -> None:
        if self.query and len(self.query) > MAX_QUERY_CHARS:
            raise ValueError(f"query too long: {len(self.query):,} characters (limit {MAX_QUERY_CHARS:,})")
        if self.query and (words := count_words(self.query)) > MAX_QUERY_WORDS:
            raise ValueError(f"query too long: {words:,} words (limit {MAX_QUERY_WORDS}); use fewer, more specific "
                             f"words or filters")
        values = [value for group in self.filters.values() for value in group]
        if len(values) > MAX_FILTER_VALUES:
            raise ValueError(f"too many filter values: {len(values):,} (limit {MAX_FILTER_VALUES})")
        if any(len(value) > MAX_FILTER_VALUE_CHARS for value in values):
            raise ValueError(f"a filter value is longer than {MAX_FILTER_VALUE_CHARS} characters")
        unknown = set(self.filters) - set(FACET_FIELDS)
        if unknown:
            raise ValueError(f"unknown facet(s) {sorted(unknown)}; known: {sorted(FACET_FIELDS)}")
        if self.page < 1 or self.size < 1 or self.facet_size < 1:
            raise ValueError("page, size and facet size must be at least 1")
        if self.page * self.size > MAX_WINDOW:
            raise ValueError(f"pages reach at most {MAX_WINDOW} hits deep: narrow the search with filters")
        if self.sort not in SORTS:
            raise ValueError(f"unknown sort {self.sort!r}; known: {sorted(SORTS)}")
        for low, high, what in ((self.published_from, self.published_to, "published"),
                                (self.mentioned_from, self.mentioned_to, "mentioned")):
            if low and high and low > high:
                raise ValueError(f"{what} date range is empty: {low} is after {high}")


@dataclass
class SearchResult:
    """One page of hits with highlights, the totals, and top values per facet over all matching articles."""

    total: int  # matching articles
    stories: int  # distinct stories among them
    page: int
    size: int
    collapsed: bool = False  # hits are stories (one per story_id), paged by story
    hits: list[dict[str, Any]] = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    mentioned_dates: list[tuple[str, int]] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """Pages the user can reach (articles, or stories when collapsed, are what is paged)."""
        reachable = min(self.stories if self.collapsed else self.total, MAX_WINDOW)
        return max(1, -(-reachable // self.size))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for `newsetl search --json`."""
        return {
            "total": self.total,
            "stories": self.stories,
            "page": self.page,
            "pages": self.pages,
            "size": self.size,
            "collapsed": self.collapsed,
            "hits": self.hits,
            "facets": {k: [{"value": v, "count": c} for v, c in vals] for k, vals in self.facets.items()},
            "mentioned_dates": [{"value": v, "count": c} for v, c in self.mentioned_dates],
        }


def _range(fld: str, low: date | None, high: date | None) -> list[dict[str, Any]]:
    bounds = {key: value.isoformat() for key, value in (("gte", low), ("lte", high)) if value}
    return [{"range": {fld: bounds}}] if bounds else []


def _term(facet: str, value: str) -> dict[str, Any]:
    """An exact filter; a country is matched by its display name or its ISO alpha-2 code ("Germany", "DE", "de")."""
    if facet == "country":
        return {"bool": {"should": [{"term": {"entities.country": value}},
                                    {"term": {"entities.country_code": value.upper()}}], "minimum_should_match": 1}}
    return {"term": {FACET_FIELDS[facet]: value}}


def build_query(request: SearchRequest) -> dict[str, Any]:
    """The search body: bool query with filters, highlights, facet aggregations and optional story collapse."""
    must: list[dict[str, Any]] = []
    if request.query:
        # simple matching only: the user's words are analysed text, operators in them are not interpreted.
        must.append({"multi_match": {"query": request.query, "fields": ["title^3", "body"], "operator": "and"}})
    filters = [_term(facet, value) for facet, values in request.filters.items() for value in values]
    filters += _range("published_at", request.published_from, request.published_to)
    filters += _range("mentioned_dates", request.mentioned_from, request.mentioned_to)
    aggs: dict[str, Any] = {facet: {"terms": {"field": fld, "size": request.facet_size}}
                            for facet, fld in FACET_FIELDS.items()}
    aggs["mentioned_dates"] = {"terms": {"field": "mentioned_dates.value", "size": request.facet_size}}
    aggs["stories"] = {"cardinality": {"field": "story_id"}}
    body: dict[str, Any] = {
        "query": {"bool": {"must": must or [{"match_all": {}}], "filter": filters}},
        "sort": SORTS[request.sort],
        "from": (request.page - 1) * request.size,
        "size": request.size,
        "_source": _HIT_FIELDS,
        "highlight": {
            "fields": {"body": {"fragment_size": 160, "number_of_fragments": 2}, "title": {"number_of_fragments": 0}},
            "pre_tags": [HIGHLIGHT_PRE],
            "post_tags": [HIGHLIGHT_POST],
        },
        "aggs": aggs,
        "track_total_hits": True,
    }
    if request.collapse:
        body["collapse"] = {"field": "story_id", "inner_hits": {
            "name": "copies", "size": 5, "_source": ["title", "source", "url", "published_at"],
            "sort": [{"published_at": {"order": "asc", "missing": "_last"}}]}}
    return body


def search(store: Store, request: SearchRequest) -> SearchResult:
    """Run a faceted search against the store's alias; InfrastructureError when the index is missing or the
    cluster fails (after the store's retries)."""
    body = build_query(request)
    try:
        response = store.search(what=f"search on {store.alias!r}", **body)
    except IndexMissing:
        message = f"index {store.alias!r} does not exist yet: run `newsetl ingest` or the DAG first"
        raise InfrastructureError(message) from None
    aggs = response.get("aggregations", {})
    stories = int(aggs.get("stories", {}).get("value", 0))
    total = int(response["hits"]["total"]["value"])
    return SearchResult(
        total=total, stories=stories, page=request.page, size=request.size, collapsed=request.collapse,
        hits=[_hit(h) for h in response["hits"]["hits"]],
        facets={facet: _buckets(aggs.get(facet)) for facet in FACET_FIELDS},
        mentioned_dates=_buckets(aggs.get("mentioned_dates")),
    )


def _hit(hit: dict[str, Any]) -> dict[str, Any]:
    out = {"id": hit["_id"], "score": hit.get("_score"), **hit.get("_source", {}),
           "highlight": hit.get("highlight", {})}
    copies = hit.get("inner_hits", {}).get("copies", {}).get("hits")
    if copies is not None:
        out["copies"] = int(copies["total"]["value"])
        out["copies_seen_in"] = [
            {"id": c["_id"], **{k: c.get("_source", {}).get(k) for k in ("title", "source", "url", "published_at")}}
            for c in copies["hits"] if c["_id"] != hit["_id"]
        ]
    return out


def _buckets(agg: dict[str, Any] | None) -> list[tuple[str, int]]:
    return [(str(b["key"]), int(b["doc_count"])) for b in (agg or {}).get("buckets", [])]
