"""The `<alias>-alerts` index (one document per watchlist match) and `<alias>-watchlist-state` (one per watchlist).

An alert's id is `<watchlist>:<article id>`, written with `create`: a match is recorded once, however many runs see
the article again (a re-run, the re-read window of pipeline/search/watchlists.py, a re-enriched article). Each
alert carries the notification targets it still owes (`pending`); a target is removed from it once its message
was accepted, so a failed webhook re-sends exactly what it missed and the targets that worked send nothing twice.

The state document holds the watchlist's high-water mark: the newest `ingested_at` of the articles the watchlist
has been run over, moved only after every target was notified.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.core.errors import InfrastructureError
from pipeline.core.facets import FACETS
from pipeline.index.mapping import keyword
from pipeline.index.store import BulkAction, Store
from pipeline.runs.side import ensure_side_index

# Alerts are history, never rebuilt: a new version may only add fields (ensure_side_index adds them in place).
# 2: every keyword capped (pipeline.index.mapping.keyword), added in place by ensure_side_index.
ALERTS_MAPPING_VERSION = 2


def alerts_index(alias: str) -> str:
    """Name of the alerts index that belongs to an article alias."""
    return f"{alias}-alerts"


def state_index(alias: str) -> str:
    """Name of the index of watchlist high-water marks that belongs to an article alias."""
    return f"{alias}-watchlist-state"


def alerts_mappings() -> dict[str, Any]:
    """Strict mapping of an alert: keyword facets (Kibana aggregates them), `matched_at` as the time field."""
    capped = keyword()
    return {
        "dynamic": "strict",
        "_meta": {"mapping_version": ALERTS_MAPPING_VERSION},
        "properties": {
            "watchlist": capped,
            "query": capped,  # the watchlist's query when the match was recorded
            "article_id": capped,
            "title": {"type": "text", "fields": {"keyword": keyword(512)}},
            "url": capped,
            "source": capped,
            "language": capped,
            "published_at": {"type": "date"},
            "ingested_at": {"type": "date"},
            "matched_at": {"type": "date"},
            "notified_at": {"type": "date"},
            "targets": capped,  # notification targets when recorded ("webhook:env:VAR", "email:desk@example.org")
            "pending": capped,  # the targets not yet notified of this match
            "entities": {"properties": {facet: capped for facet in FACETS}},
        },
    }


def state_mappings() -> dict[str, Any]:
    """Strict mapping of a watchlist's state document."""
    return {
        "dynamic": "strict",
        "_meta": {"mapping_version": 1},
        "properties": {
            "watchlist": keyword(),
            "high_water_mark": {"type": "date"},
            "last_run_at": {"type": "date"},
            "last_matches": {"type": "integer"},
            "last_notified": {"type": "integer"},
        },
    }


@dataclass(frozen=True)
class WatchlistState:
    """Where a watchlist stands: `high_water_mark` (UTC) is None before its first successful run; `last_matches`
    counts the alerts its last successful run recorded for the first time, `last_notified` the alerts it sent."""

    watchlist: str
    high_water_mark: datetime | None = None
    last_run_at: datetime | None = None
    last_matches: int = 0
    last_notified: int = 0


def ensure_alert_indices(store: Store) -> None:
    """Create the alerts and state indices with their strict mappings unless they exist (idempotent)."""
    ensure_side_index(store, alerts_index(store.alias), alerts_mappings())
    ensure_side_index(store, state_index(store.alias), state_mappings())


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_states(store: Store, names: Iterable[str]) -> dict[str, WatchlistState]:
    """The state of each named watchlist; one that never ran (or a missing index) has an empty state."""
    names = list(names)
    found = store.mget(names, state_index(store.alias))
    return {name: WatchlistState(name, _parse(doc.get("high_water_mark")), _parse(doc.get("last_run_at")),
                                 int(doc.get("last_matches") or 0), int(doc.get("last_notified") or 0))
            if (doc := found.get(name)) is not None else WatchlistState(name) for name in names}


def write_state(store: Store, state: WatchlistState) -> None:
    """Replace a watchlist's state document (searchable at once)."""
    store.put_document(state_index(store.alias), state.watchlist, {
        "watchlist": state.watchlist,
        "high_water_mark": _stamp(state.high_water_mark) if state.high_water_mark else None,
        "last_run_at": _stamp(state.last_run_at) if state.last_run_at else None,
        "last_matches": state.last_matches,
        "last_notified": state.last_notified,
    })


def alert_id(watchlist: str, article_id: str) -> str:
    """The deterministic id of a match: one alert per watchlist and article."""
    return f"{watchlist}:{article_id}"


def record_alerts(store: Store, alerts: list[dict[str, Any]]) -> int:
    """Create the alerts that do not exist yet (each a document of alerts_mappings with `watchlist` and
    `article_id`); returns how many were new. An existing alert is left as it is (its `pending` targets too).
    Raises InfrastructureError when Elasticsearch refuses one for any other reason than existing."""
    index = alerts_index(store.alias)
    results = store.bulk((BulkAction("create", index, alert_id(a["watchlist"], a["article_id"]), a)
                          for a in alerts), refresh=True)
    failed = [r for r in results if not r.ok and r.status != 409]
    if failed:
        raise InfrastructureError(f"{index!r} refused {len(failed)} alert(s): {failed[0].error}")
    return sum(1 for r in results if r.ok)


def pending_alerts(store: Store, watchlist: str, target: str) -> Iterator[dict[str, Any]]:
    """The alerts of `watchlist` that `target` has not been notified of, oldest match first: each hit's `_id` and
    `_source`. Nothing when the alerts index does not exist yet."""
    index = alerts_index(store.alias)
    if not store.exists(index):
        return
    query = {"bool": {"filter": [{"term": {"watchlist": watchlist}}, {"term": {"pending": target}}]}}
    yield from store.scan(index, fields=["*"], query=query, sort=[{"matched_at": "asc"}])


def mark_notified(store: Store, hits: list[dict[str, Any]], target: str, now: datetime) -> None:
    """Remove `target` from the pending targets of these alerts (hits as pending_alerts yields them), only if
    nobody changed them since they were read; `notified_at` is set when no target is left."""
    index = alerts_index(store.alias)
    actions = []
    for hit in hits:
        pending = [t for t in hit["_source"].get("pending") or [] if t != target]
        update: dict[str, Any] = {"pending": pending}
        if not pending:
            update["notified_at"] = _stamp(now)
        actions.append(BulkAction("update", index, hit["_id"], update,
                                  expected=(int(hit["_seq_no"]), int(hit["_primary_term"]))))
    failed = [r for r in store.bulk(actions, refresh=True) if not r.ok]
    if failed:
        # A conflict means another run of the same watchlist notified it meanwhile: the message went out twice,
        # which a watchlist run with max one active run per watchlist does not do; say so rather than hide it.
        raise InfrastructureError(f"{index!r} refused {len(failed)} notification mark(s): {failed[0].error}")


def alert_counts(store: Store) -> dict[str, tuple[int, int]]:
    """{watchlist: (alerts, alerts still owed to a target)} over the whole alerts index ({} when it is missing)."""
    index = alerts_index(store.alias)
    aggs = {"by_watchlist": {"terms": {"field": "watchlist", "size": 1000},
                             "aggs": {"owed": {"filters": {"filters": {"pending": {"exists": {"field": "pending"}}}}}}}}
    response = store.search(index, what=f"counting alerts in {index!r}", missing_ok=True, size=0, aggs=aggs)
    buckets = (response.get("aggregations") or {}).get("by_watchlist", {}).get("buckets", [])
    return {str(b["key"]): (int(b["doc_count"]), int(b["owed"]["buckets"]["pending"]["doc_count"])) for b in buckets}
