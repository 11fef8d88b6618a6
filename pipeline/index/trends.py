"""Trends, the counting: facet values per UTC day through Elasticsearch aggregations, and the `<alias>-trends` index.

The method (what makes a value "trending") is pipeline/core/trends.py.

Values are counted by the entity's stable id (`entities.<facet>_id`, the registry's id, so the spellings
of one entity are one value) and shown under their canonical name; `country` is counted by its name (one per
ISO code). A day is a UTC calendar day of `timeline_at` (the publication date when the article has one, else the
day it was ingested: an undated article counts on its ingest day, as on every Kibana time view). Only terms,
filters and range queries are used, the aggregations every Elasticsearch and noida-db (the test server) answer
alike; noida-db ignores `min_doc_count` silently, so the floor is applied here.

`<alias>-trends` keeps the trends of each (day, window) for Kibana: one document per trending value, refreshed
idempotently by `refresh_trends` (the nightly DAG's `trends` task).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from pipeline.core.errors import InfrastructureError
from pipeline.core.facets import FACET_OF_LABEL, FACETS, LABEL_FACETS, entity_id
from pipeline.core.trends import BASELINE_DAYS, METHOD, MIN_COUNT, MIN_SCORE, TrendReport, rank_trends
from pipeline.enrich.entities import name_ids
from pipeline.index.mapping import keyword
from pipeline.index.store import BulkAction, Store

# The field every article has a day in (pipeline/index/mapping.py): publication date, else ingest time.
DAY_FIELD = "timeline_at"
# Values read per facet from the window's terms aggregation, most frequent first: the candidates that are scored.
CANDIDATES = 200
# Names read per entity id, to find the one whose id it is (the canonical name of the entity).
NAMES_PER_ID = 10
# The label whose entity ids a facet holds (entity_id is the same for every label of one facet).
_LABEL_OF_FACET = {facet: label for label, facet in reversed(FACET_OF_LABEL.items())}


def counted_field(facet: str) -> str:
    """The keyword field a facet's values are counted by: the entity id beside the name where there is one."""
    return f"entities.{facet}_id" if facet in LABEL_FACETS else f"entities.{facet}"


def canonical_name(facet: str, key: str, names: Sequence[str]) -> str:
    """The display name of a counted key: for an entity id, the name among `names` (the names of the articles
    holding the id, most frequent first) whose id it is; else the most frequent of them that carries no other
    id; else the most frequent; for a name-counted facet, the key itself.

    The facet's names and ids are two flat arrays of an article, so `names` holds every name of those articles
    ("Japanese" and "Chinese" for Japan's id); a nationality word of the demonym tables carries its country's id
    (pipeline.enrich.entities.name_ids), which tells which of them is the id's own.
    """
    if facet not in LABEL_FACETS:
        return key
    label = _LABEL_OF_FACET[facet]
    ids = {name: name_ids(label, name) for name in names}
    return next((name for name in names if key in ids[name]),
                next((name for name in names if not ids[name] - {entity_id(label, name)}),
                     names[0] if names else key))


def compute_trends(store: Store, day: date, *, window_days: int = 1, baseline_days: int = BASELINE_DAYS,
                   facets: Sequence[str] = FACETS, min_count: int = MIN_COUNT, min_score: float = MIN_SCORE,
                   top: int = 10) -> TrendReport:
    """The trends of the window ending with `day` (UTC days of `timeline_at`) on the store's alias: two searches
    (the window's candidates with their names, then their baseline counts).

    Raises ValueError for an unknown facet or a window or baseline under one day, InfrastructureError when the
    cluster fails (a missing index answers as no articles).
    """
    unknown = sorted(set(facets) - set(FACETS))
    if unknown:
        raise ValueError(f"unknown facet(s) {unknown}; known: {', '.join(FACETS)}")
    if window_days < 1 or baseline_days < 1:
        raise ValueError("the window and the baseline are at least one day long")
    report = TrendReport(day, window_days, baseline_days, 0, 0, {})
    (w0, w1), (b0, b1) = report.window, report.baseline
    aggs = {facet: {"terms": {"field": counted_field(facet), "size": CANDIDATES},
                    **({"aggs": {"names": {"terms": {"field": f"entities.{facet}", "size": NAMES_PER_ID}}}}
                       if facet in LABEL_FACETS else {})} for facet in facets}
    now = store.search(what=f"trends of {store.alias!r} ({w0}..{w1})", missing_ok=True, size=0,
                       track_total_hits=True, query=_days(w0, w1), aggs=aggs)
    articles = int(now["hits"]["total"]["value"])
    counts: dict[str, dict[str, tuple[str, int]]] = {}
    for facet in facets:
        buckets = (now.get("aggregations") or {}).get(facet, {}).get("buckets", [])
        counts[facet] = {str(b["key"]): (canonical_name(facet, str(b["key"]),
                                                        [str(n["key"]) for n in b.get("names", {}).get("buckets", [])]),
                                         int(b["doc_count"]))
                         for b in buckets if int(b["doc_count"]) >= min_count}
    wanted = {facet: keys for facet, keys in counts.items() if keys}
    base_aggs = {facet: {"filters": {"filters": {key: {"term": {counted_field(facet): key}} for key in keys}}}
                 for facet, keys in wanted.items()}
    before = store.search(what=f"trend baseline of {store.alias!r} ({b0}..{b1})", missing_ok=True, size=0,
                          track_total_hits=True, query=_days(b0, b1), **({"aggs": base_aggs} if base_aggs else {}))
    baseline_articles = int(before["hits"]["total"]["value"])
    trends = {}
    for facet in facets:
        buckets = (before.get("aggregations") or {}).get(facet, {}).get("buckets", {})
        baseline = {key: int(bucket["doc_count"]) for key, bucket in buckets.items()}
        trends[facet] = rank_trends(facet, counts[facet], baseline, articles, baseline_articles,
                                    min_count=min_count, min_score=min_score, top=top)
    return TrendReport(day, window_days, baseline_days, articles, baseline_articles, trends)


def default_day(store: Store) -> tuple[date, bool] | None:
    """The default day of `newsetl trends`: (UTC day, True) of the newest dated article (one with `published_at`),
    else (UTC day, False) of the newest `timeline_at` (an ingest day) when no article is dated; None without
    articles.

    Dated first because an undated article sits on its ingest day: an archive ingested today with one undated page
    made today the default, a day holding that page alone. Sorted one-hit searches (noida-db answers a `max`
    aggregation on a date with null).
    """
    for dated, query in ((True, {"exists": {"field": "published_at"}}), (False, {"exists": {"field": DAY_FIELD}})):
        found = store.search(what=f"newest day of {store.alias!r}", missing_ok=True, size=1, source=[DAY_FIELD],
                             sort=[{DAY_FIELD: {"order": "desc"}}], query=query)
        hits = found["hits"]["hits"]
        if hits:
            return _utc_day(hits[0]["_source"][DAY_FIELD]), dated
    return None


def _utc_day(value: str) -> date:
    """The UTC day of a stored timestamp (a date, or a datetime with or without offset; naive means UTC)."""
    if len(value) == 10:
        return date.fromisoformat(value)
    stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (stamp.astimezone(UTC) if stamp.tzinfo else stamp).date()


def _days(start: date, end: date) -> dict[str, Any]:
    """Articles whose UTC day is in [start, end). Bounds are whole UTC instants: a date alone is filled in
    differently for `lt` and `lte` (Elasticsearch, "Missing date components"), an instant has no such ambiguity."""
    return {"range": {DAY_FIELD: {"gte": f"{start.isoformat()}T00:00:00Z", "lt": f"{end.isoformat()}T00:00:00Z"}}}


# -------------------------------------------------------------------------------------------------------------------
# The `<alias>-trends` index


def trends_index(alias: str) -> str:
    """Name of the trends index that belongs to an article alias."""
    return f"{alias}-trends"


def trends_mappings() -> dict[str, Any]:
    """Strict mapping of a trend document: one trending value of one facet for one (day, window)."""
    return {
        "dynamic": "strict",
        "properties": {
            "day": {"type": "date", "format": "strict_date"},  # the window's last day: the data view's time field
            "window_days": {"type": "integer"},
            "baseline_days": {"type": "integer"},
            "facet": keyword(),
            "value": keyword(512),
            "key": keyword(512),
            "rank": {"type": "integer"},
            "count": {"type": "integer"},
            "articles": {"type": "integer"},
            "baseline_count": {"type": "integer"},
            "baseline_articles": {"type": "integer"},
            "share": {"type": "float"},
            "baseline_share": {"type": "float"},
            "score": {"type": "float"},
            "lift": {"type": "float"},
            "method": keyword(),
            "computed_at": {"type": "date"},
        },
    }


def trend_documents(report: TrendReport, computed_at: datetime) -> dict[str, dict[str, Any]]:
    """The trend documents of a report by deterministic id (day, window, facet, key): re-running a day
    overwrites its documents instead of adding to them."""
    docs = {}
    for facet, trends in report.trends.items():
        for rank, trend in enumerate(trends, start=1):
            doc_id = hashlib.sha1(f"{report.day}\x1f{report.window_days}\x1f{facet}\x1f{trend.key}"
                                  .encode()).hexdigest()
            docs[doc_id] = {**trend.to_dict(), "day": report.day.isoformat(), "window_days": report.window_days,
                            "baseline_days": report.baseline_days, "rank": rank, "method": METHOD,
                            "computed_at": computed_at.isoformat()}
    return docs


def refresh_trends(store: Store, days: Iterable[date], *, window_days: int = 1, now: datetime | None = None,
                   **options: Any) -> int:
    """Compute the trends of each day and replace that (day, window)'s documents in `<alias>-trends` (created on
    first use); idempotent: the same articles give the same documents, and values no longer trending are deleted.
    `options` go to `compute_trends`. Returns the number of trend documents written.

    Raises InfrastructureError when the cluster fails or refuses a document.
    """
    index = trends_index(store.alias)
    store.ensure_index(index, trends_mappings())
    now = now or datetime.now(UTC).replace(microsecond=0)
    written = 0
    for day in days:
        docs = trend_documents(compute_trends(store, day, window_days=window_days, **options), now)
        query = {"bool": {"filter": [{"term": {"day": day.isoformat()}}, {"term": {"window_days": window_days}}]}}
        stale = [hit["_id"] for hit in store.scan(index, fields=["day"], query=query) if hit["_id"] not in docs]
        actions = [*(BulkAction("index", index, doc_id, doc) for doc_id, doc in docs.items()),
                   *(BulkAction("delete", index, doc_id) for doc_id in stale)]
        failed = [result for result in store.bulk(actions, refresh=True) if not result.ok]
        if failed:
            raise InfrastructureError(f"{index!r} refused {len(failed)} trend document(s): {failed[0].error}")
        written += len(docs)
    return written
