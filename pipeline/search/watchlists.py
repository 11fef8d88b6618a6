"""Watchlists: saved searches (config/watchlists.yml) run over the articles indexed since their last run.

A watchlist is a query in the language of `newsetl search` (pipeline/search/syntax.py) plus facet filters, turned
into Elasticsearch's query by the search service itself (pipeline/search/query.py: `build_query`), never by a
second query builder. A run:

1. reads the watchlist's high-water mark H (the newest `ingested_at` it has been run over; pipeline/runs/alerts.py);
2. searches the articles with `ingested_at` in [H - REREAD, newest ingested_at now]; before a first run, the last
   `first_window_days` (default 1) of ingest;
3. records every match in `<alias>-alerts` with the id `<watchlist>:<article id>` (created once, never twice);
4. sends each notification target one message with the matches it has not been sent yet;
5. moves H to the newest `ingested_at` of step 2 when every target accepted its message. A failed target
   raises NotificationError: the matches stay recorded and owed to it, H goes no further than the oldest match
   still owed (never past an unnotified match), and the next run (Airflow's retry) sends them.

Why re-read REREAD before H: `ingested_at` is the start time of the run (or DAG task) that wrote an article, so a
task that started earlier can write after a later one has finished. Re-reading costs only the ids already recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline.core.errors import ConfigError
from pipeline.core.facets import FACETS
from pipeline.core.settings import Settings, read_yaml
from pipeline.core.text import shortened
from pipeline.enrich.entities import EntityConfig, load_entity_config
from pipeline.index.store import IndexMissing, Store
from pipeline.runs.alerts import (
    WatchlistState,
    ensure_alert_indices,
    mark_notified,
    pending_alerts,
    read_states,
    record_alerts,
    write_state,
)
from pipeline.search.names import with_canonical_names
from pipeline.search.notify import DEFAULT_SMTP_CONNECTION, NotificationError, Notifier, Target, build_message
from pipeline.search.query import SearchRequest, build_query

# Nightly DAG runs last at most 6 hours (dags/news_nightly.py, dagrun_timeout): an article written by its slowest
# task carries that task's start time, at most this long before the newest ingested_at a watchlist has seen.
REREAD = timedelta(hours=6)
# Before its first run a watchlist looks this far back (days of ingest time); `first_window_days` overrides it.
FIRST_WINDOW_DAYS = 1.0
_ARTICLE_FIELDS = ["title", "url", "source", "language", "published_at", "ingested_at",
                   *(f"entities.{facet}" for facet in FACETS)]
# A watchlist's name is the Elasticsearch id of its state document and the start of its alerts' ids
# (`<name>:<article id>`, pipeline/runs/alerts.py); Elasticsearch refuses an id over 512 bytes. 64 ASCII characters
# keep both far below that (an alert id: at most 64 + 1 + 40) and short enough to read in Kibana's tables.
MAX_NAME_CHARS = 64
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class NotifyConfig(BaseModel):
    """One notification target as written in the YAML: the secret's *name*, never the secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["webhook", "email"]
    connection: str | None = None  # an Airflow connection id (outside Airflow: AIRFLOW_CONN_<ID>)
    env: str | None = None  # webhook only: the environment variable that holds the URL
    to: list[str] = Field(default_factory=list)  # email only: recipients

    @model_validator(mode="after")
    def _check(self) -> NotifyConfig:
        if self.kind == "webhook":
            if (self.connection is None) == (self.env is None):
                raise ValueError("a webhook needs exactly one of 'connection' (an Airflow connection id) or 'env' "
                                 "(the environment variable holding its URL)")
            if self.to:
                raise ValueError("'to' is for email targets")
            if self.env is not None and not _ENV_NAME.match(self.env):
                raise ValueError(f"'env' must name an environment variable, got {self.env!r} (the URL itself "
                                 f"never goes into this file)")
        else:
            if not self.to:
                raise ValueError("an email target needs 'to': a list of addresses")
            if self.env is not None:
                raise ValueError("an email target reads its SMTP server from 'connection' (default "
                                 f"{DEFAULT_SMTP_CONNECTION!r}), not from 'env'")
            bad = [address for address in self.to if not _EMAIL.match(address)]
            if bad:
                raise ValueError(f"not an e-mail address: {bad[0]!r}")
        return self

    def target(self) -> Target:
        """The target the notifier sends to."""
        connection = self.connection or (DEFAULT_SMTP_CONNECTION if self.kind == "email" else None)
        return Target(self.kind, connection, self.env, tuple(self.to))


class Watchlist(BaseModel):
    """A saved search that alerts: name, query (search language), facet filters (all must match, case and
    accents aside), who is notified, and how far back its first run looks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    query: str | None = None
    filters: dict[str, list[str]] = Field(default_factory=dict)
    notify: list[NotifyConfig] = Field(default_factory=list)
    first_window_days: float = Field(default=FIRST_WINDOW_DAYS, gt=0)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        """a-z, 0-9, '-', '_', at most MAX_NAME_CHARS: refused here, when the file is read, rather than by
        Elasticsearch in the middle of a run."""
        if len(value) > MAX_NAME_CHARS:
            raise ValueError(f"{len(value):,} characters, at most {MAX_NAME_CHARS} (the name is the id of the "
                             f"watchlist's state document and starts its alerts' ids in Elasticsearch)")
        if not _NAME.fullmatch(value):
            raise ValueError("only a-z, 0-9, '-' and '_', starting with a letter or a digit (it is the id of the "
                             "watchlist's state document and starts its alerts' ids)")
        return value

    @field_validator("filters", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        """`place: Turkey` is `place: [Turkey]`."""
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _check(self) -> Watchlist:
        if not (self.query and self.query.strip()) and not self.filters:
            raise ValueError("needs a 'query' or 'filters' (a watchlist of every article would alert on all)")
        self.request()  # the search service's own checks: query syntax, known facets, limits
        ids = [n.target().id for n in self.notify]
        if len(set(ids)) != len(ids):
            raise ValueError("the same notification target is listed twice")
        return self

    def request(self) -> SearchRequest:
        """The search request of this watchlist (ValueError for a bad query or an unknown facet)."""
        return SearchRequest(query=self.query, filters={k: tuple(v) for k, v in self.filters.items()})

    def targets(self) -> list[Target]:
        """Its notification targets."""
        return [n.target() for n in self.notify]

    def summary(self) -> dict[str, Any]:
        """What messages and `watchlists list` say of it (no secrets: only names of connections/variables)."""
        return {"name": self.name, "description": self.description, "query": self.query,
                "filters": dict(self.filters), "notify": [t.id for t in self.targets()]}


def load_watchlists(path: Path) -> list[Watchlist]:
    """The watchlists of a YAML file (`watchlists:` list). ConfigError, one line naming the file and the
    watchlist, for a YAML syntax error, an unknown key, a bad query, an unknown facet or a duplicate name;
    FileNotFoundError-free: a missing file is a ConfigError too (never an empty list by default)."""
    if not path.is_file():
        raise ConfigError(f"watchlists file {path} does not exist")
    tree = read_yaml(path)
    if tree is None:
        return []
    if not isinstance(tree, dict) or set(tree) - {"watchlists"}:
        extra = sorted(set(tree) - {"watchlists"}) if isinstance(tree, dict) else []
        raise ConfigError(f"{path}: expected one top-level key 'watchlists:' (a list)"
                          + (f"; unknown key(s) {extra}" if extra else ""))
    entries = tree.get("watchlists") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: 'watchlists:' must be a list of watchlists")
    out: list[Watchlist] = []
    for position, entry in enumerate(entries, start=1):
        name = entry.get("name") if isinstance(entry, dict) else None
        # An over-long name is shown by its start and end: the error stays one readable line.
        label = f"watchlist {shortened(name, 80)!r}" if isinstance(name, str) else f"watchlist #{position}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: {label}: expected a mapping with name, query, filters, notify")
        try:
            watchlist = Watchlist.model_validate(entry)
        except ValidationError as exc:
            raise ConfigError(f"{path}: {label}: {_first_error(exc)}") from None
        if any(w.name == watchlist.name for w in out):
            raise ConfigError(f"{path}: {label}: the name is used twice")
        out.append(watchlist)
    return out


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        known = ""
        if len(error["loc"]) == 1:
            known = f" (known: {', '.join(Watchlist.model_fields)})"
        return f"unknown key {where!r}{known}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def find_watchlist(watchlists: Iterable[Watchlist], name: str) -> Watchlist:
    """The watchlist called `name`; ConfigError listing the known names otherwise."""
    watchlists = list(watchlists)
    for watchlist in watchlists:
        if watchlist.name == name:
            return watchlist
    raise ConfigError(f"no watchlist {name!r}; known: {', '.join(w.name for w in watchlists) or 'none'}")


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([hd])$")


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: an ISO date or date-time (UTC when no offset is given), or a duration back from `now` (`36h`,
    `7d`). ValueError otherwise."""
    text = text.strip()
    match = _DURATION.match(text)
    if match:
        amount = float(match.group(1))
        return now - (timedelta(hours=amount) if match.group(2) == "h" else timedelta(days=amount))
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--since: expected YYYY-MM-DD, an ISO date-time, or a duration like 36h or 7d; "
                         f"got {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class WatchlistRun:
    """What one run of a watchlist did: the ingest-time window it searched, the matches (alert documents, oldest
    ingest first), how many were recorded for the first time, and how many alerts each target was sent."""

    watchlist: str
    since: datetime
    until: datetime | None  # the newest ingested_at searched; None when the index has no article yet
    matches: list[dict[str, Any]] = field(default_factory=list)
    new: int = 0
    notified: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (CLI --json, the DAG task's XCom)."""
        return {"watchlist": self.watchlist, "since": _stamp(self.since),
                "until": _stamp(self.until) if self.until else None, "matches": len(self.matches),
                "new": self.new, "notified": self.notified, "dry_run": self.dry_run,
                "articles": [{k: a.get(k) for k in ("article_id", "title", "url", "published_at")}
                             for a in self.matches]}


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def newest_ingest(store: Store) -> datetime | None:
    """The newest `ingested_at` of the alias, or None without articles; raises IndexMissing without an index."""
    hits = store.search(what=f"newest article of {store.alias!r}", size=1, source=["ingested_at"],
                        sort=[{"ingested_at": {"order": "desc"}}], query={"exists": {"field": "ingested_at"}},
                        track_total_hits=False)["hits"]["hits"]
    return _parse(hits[0]["_source"]["ingested_at"]) if hits else None


def watchlist_query(watchlist: Watchlist, since: datetime, until: datetime,
                    request: SearchRequest | None = None) -> dict[str, Any]:
    """The search service's query for the watchlist, restricted to articles ingested in [since, until]; `request`
    is the watchlist's request with its filters' canonical names (pipeline/search/names.py), when read."""
    query = build_query(request or watchlist.request())["query"]
    query["bool"]["filter"].append({"range": {"ingested_at": {"gte": _stamp(since), "lte": _stamp(until)}}})
    return query


def alert_document(watchlist: Watchlist, hit: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The alert recorded for one matching article (a hit with `_id` and the article's `_source`)."""
    source = hit.get("_source", {})
    entities = source.get("entities") or {}
    targets = [t.id for t in watchlist.targets()]
    return {"watchlist": watchlist.name, "query": watchlist.query, "article_id": hit["_id"],
            "title": source.get("title"), "url": source.get("url"), "source": source.get("source"),
            "language": source.get("language"), "published_at": source.get("published_at"),
            "ingested_at": source.get("ingested_at"), "matched_at": _stamp(now),
            "targets": targets, "pending": targets,
            "entities": {facet: entities[facet] for facet in FACETS if entities.get(facet)}}


def run_watchlist(store: Store, watchlist: Watchlist, notifier: Notifier, *, now: datetime | None = None,
                  since: datetime | None = None, dry_run: bool = False,
                  rules: EntityConfig | None = None) -> WatchlistRun:
    """Run one watchlist (the steps in the module docstring). `since` replaces the start of the window for this
    run; `dry_run` searches only (nothing recorded, sent or moved). A filter value that is another spelling of an
    entity (`rules`, config/entities.yml, or the registry) filters by its canonical name, as `newsetl search` does.

    Raises NotificationError when a target refused its message (after every target was tried), IndexMissing
    when the article index does not exist, InfrastructureError when Elasticsearch fails.
    """
    now = now or datetime.now(UTC)
    state = read_states(store, [watchlist.name])[watchlist.name]  # empty before the first run
    if since is None:
        since = (state.high_water_mark - REREAD if state.high_water_mark
                 else now - timedelta(days=watchlist.first_window_days))
    try:
        until = newest_ingest(store)
    except IndexMissing:
        raise IndexMissing(f"index {store.alias!r} does not exist yet: run `newsetl ingest` or the DAG first") \
            from None
    run = WatchlistRun(watchlist.name, since, until, dry_run=dry_run)
    if until is not None and until >= since:
        request = with_canonical_names(store, watchlist.request(), rules or EntityConfig())
        hits = store.scan(fields=_ARTICLE_FIELDS, query=watchlist_query(watchlist, since, until, request),
                          sort=[{"ingested_at": "asc"}])
        run.matches = [alert_document(watchlist, hit, now) for hit in hits]
    if dry_run:
        return run
    ensure_alert_indices(store)
    run.new = record_alerts(store, run.matches) if run.matches else 0
    failures: list[str] = []
    unsent: list[datetime] = []  # ingest times of the alerts a failed target is still owed
    for target in watchlist.targets():
        owed = list(pending_alerts(store, watchlist.name, target.id))
        if not owed:
            continue
        try:
            notifier.send(target, build_message(watchlist.summary(), [hit["_source"] for hit in owed]))
        except NotificationError as exc:
            failures.append(str(exc))
            unsent += [_parse(hit["_source"]["ingested_at"]) for hit in owed if hit["_source"].get("ingested_at")]
            continue
        mark_notified(store, owed, target.id, now)
        run.notified[target.id] = len(owed)
    # The mark never passes an unnotified match: after a failure it goes no further than the oldest one (so a
    # retry days later still searches from there, not from a first window that has moved on), else to `until`.
    reached = min(unsent) if unsent else until  # an owed match was ingested at or before `until`
    mark = max(filter(None, (state.high_water_mark, reached)), default=None)
    write_state(store, WatchlistState(watchlist.name, mark, now, run.new, sum(run.notified.values())))
    if failures:
        where = _stamp(mark) if mark else "unset"
        raise NotificationError(f"watchlist {watchlist.name!r}: {len(failures)} of {len(watchlist.targets())} "
                                f"target(s) failed ({'; '.join(failures)}); {len(run.matches)} match(es) are "
                                f"recorded and stay pending; the high-water mark is {where}, not past them")
    return run


def run_configured(settings: Settings, name: str, notifier: Notifier, *, since: datetime | None = None,
                   dry_run: bool = False, now: datetime | None = None) -> WatchlistRun:
    """Run the watchlist `name` of the configured file (settings.watchlists_config) against the configured
    cluster: what `newsetl watchlists run` and the news_watchlists DAG's tasks call."""
    watchlist = find_watchlist(load_watchlists(settings.watchlists_config), name)
    return run_watchlist(Store.connect(settings), watchlist, notifier, now=now, since=since, dry_run=dry_run,
                         rules=load_entity_config(settings.entities_config))
