"""The one door to Elasticsearch: every read and write of newsetl goes through a `Store`.

What lives here and nowhere else (the shape of opensanctions/yente's provider):
- the connection: a configured cluster (`ELASTICSEARCH_URL`, API key or user/password, TLS verified) or the
  embedded noida-db server, checked once when connecting;
- retries with exponential backoff for failures that mean "not now": connection errors, timeouts and HTTP
  429/502/503/504, for whole requests **and for single bulk items** (Elasticsearch answers a busy bulk request
  with per-item `429 es_rejected_execution_exception`), bounded by `index.retry_seconds` and, per item, by
  `index.bulk_max_retries`;
- translation of every client error into `InfrastructureError` (so the CLI exits 1 and Airflow retries the task),
  with credentials scrubbed from the message.

The rest of the code never sees the raw client: adding a counter, a header or a retry rule touches this module only.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from elasticsearch import Elasticsearch
from elasticsearch import exceptions as es_exceptions
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_delay, wait_exponential

from pipeline.core.errors import InfrastructureError, register_secret, scrub
from pipeline.core.settings import IndexSettings, Settings
from pipeline.index.embedded import ensure_embedded_server, save_marker, wait_for_save
from pipeline.index.mapping import KEYWORD_MAX_CHARS, uncapped_keywords

log = logging.getLogger(__name__)

# Statuses that mean "not now" rather than "never": overloaded (429), a proxy that lost the node (502, 504),
# a node restarting or a shard not yet allocated (503). Source: Elasticsearch's own client retries these
# (elastic-transport's default retry_on_status).
TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
# Errors raised by the client for a failed request; everything the Store translates.
CLIENT_ERRORS = (es_exceptions.ConnectionError, es_exceptions.ConnectionTimeout, es_exceptions.TransportError,
                 es_exceptions.ApiError)
# A server-side copy of a large index takes a while: that one request waits far beyond the usual timeout.
LONG_REQUEST_TIMEOUT_S = 6 * 3600


class IndexMissing(InfrastructureError):
    """The index or alias a read named does not exist (HTTP 404 index_not_found)."""


class WritesBlocked(InfrastructureError):
    """The index refuses writes: a migration holds its write block, or the cluster's disk is full."""


def redact(url: str) -> str:
    """A URL safe to print: user info (credentials), query and fragment removed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def describe_error(exc: BaseException) -> str:
    """A short description of a client failure: HTTP status and message, or the exception's type and text."""
    if isinstance(exc, es_exceptions.ApiError):
        return f"HTTP {exc.meta.status} {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: the cluster is unreachable, slow, restarting or overloaded."""
    if isinstance(exc, (es_exceptions.ConnectionError, es_exceptions.ConnectionTimeout)):
        return True
    return isinstance(exc, es_exceptions.ApiError) and exc.meta.status in TRANSIENT_STATUS


@dataclass(frozen=True, slots=True)
class BulkAction:
    """One bulk operation: index `document` under `id`, create it (refused with 409 when `id` exists), update
    (merge the fields of) `document` into `id`, or delete `id`, in `index`.

    `expected` = (seq_no, primary_term) makes the operation conditional (optimistic concurrency, Elasticsearch's
    `if_seq_no`/`if_primary_term`): applied only while the stored document is still the version that was read,
    else answered 409 version_conflict and returned as such, never retried.
    """

    op: Literal["index", "create", "update", "delete"]
    index: str
    id: str
    document: dict[str, Any] | None = None
    expected: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What Elasticsearch answered for one action: `error` is None when it was applied (a missing document
    counts as deleted)."""

    id: str
    status: int
    error: str | None = None
    version: tuple[int, int] | None = None  # (seq_no, primary_term) of the document as written

    @property
    def ok(self) -> bool:
        """True when the action was applied."""
        return self.error is None

    @property
    def conflict(self) -> bool:
        """True when a conditional action was refused because the document changed since it was read (409)."""
        return self.status == 409


@dataclass(frozen=True, slots=True)
class Versioned:
    """A stored document as read, with the version a conditional write must name."""

    id: str
    source: dict[str, Any]
    seq_no: int
    primary_term: int

    @property
    def version(self) -> tuple[int, int]:
        """(seq_no, primary_term), as BulkAction.expected wants it."""
        return (self.seq_no, self.primary_term)


class Store:
    """Elasticsearch for one alias: retried, translated calls and the bulk writer every index of newsetl uses."""

    def __init__(self, client: Elasticsearch, settings: IndexSettings, *, where: str,
                 embedded_dir: Path | None = None) -> None:
        self._client = client
        self.settings = settings
        self.where = where  # the cluster's URL without credentials, for messages
        self.embedded_dir = embedded_dir  # the embedded server's data folder; None for a real cluster

    # -----------------------------------------------------------------------------------------------------------
    # Connection

    @classmethod
    def connect(cls, settings: Settings) -> Store:
        """A checked Store for the configured cluster, or for the embedded server (started if needed).

        Raises InfrastructureError with a credential-free message when the cluster does not answer or refuses
        the credentials. The first check is not retried: a wrong URL should fail at once, not after the budget.
        """
        embedded_dir = settings.embedded_es_dir if settings.elasticsearch.embedded else None
        url = ensure_embedded_server(embedded_dir) if embedded_dir else None
        client = build_client(settings, url)
        store = cls(client, settings.index, where=redact(url or str(settings.elasticsearch.url)),
                    embedded_dir=embedded_dir)
        store.check_reachable()
        return store

    def for_alias(self, alias: str) -> Store:
        """The same connection, writing and reading another alias (a migration's new index, a test's alias)."""
        return Store(self._client, self.settings.model_copy(update={"alias": alias}), where=self.where,
                     embedded_dir=self.embedded_dir)

    @property
    def alias(self) -> str:
        """The article alias this store reads and writes."""
        return self.settings.alias

    def durable(self, write: Callable[[], None]) -> None:
        """Run `write` (the run's last write, idempotent) so that, on return, it and every write acknowledged
        before it are on disk.

        Elasticsearch makes an acknowledged write durable itself (translog fsync): `write` runs once. The
        embedded server only saves on a tick (pipeline/index/embedded.py), and a save in progress may have taken
        its snapshot before our last write. So: wait for a save that finished after `write` was acknowledged,
        `write` again (it marks the server dirty), wait for the next save: that one started after the first had
        finished, so it holds everything. Raises InfrastructureError when the server does not save within
        `index.save_timeout`.
        """
        write()
        if self.embedded_dir is None:
            return
        for attempt in range(2):
            if attempt:
                write()
            wait_for_save(self.embedded_dir, save_marker(self.embedded_dir), self.settings.save_timeout,
                          nudge=write)

    def check_reachable(self) -> None:
        """Raise InfrastructureError unless the cluster answers."""
        try:
            self._client.info()
        except es_exceptions.AuthenticationException as exc:
            raise InfrastructureError(f"Elasticsearch at {self.where} rejected the credentials "
                                      f"({exc.meta.status})") from None
        except CLIENT_ERRORS as exc:
            raise InfrastructureError(f"Elasticsearch at {self.where} is unreachable: {type(exc).__name__}") from None

    # -----------------------------------------------------------------------------------------------------------
    # The retried call every method below goes through

    def retrying(self) -> Retrying:
        """Retry transient failures with exponential backoff for at most `retry_seconds`, then re-raise."""
        return retry_policy(self.settings)

    def call(self, what: str, method: str, /, *, ignore: Sequence[int] = (), timeout: float | None = None,
             **kwargs: Any) -> Any:
        """Run one client method (`"search"`, `"indices.create"`, ...) with retries; errors become ours.

        `what` says what was being done, for the message; `ignore` lists statuses that are answers, not failures
        (404 for "does not exist"). Raises IndexMissing on 404 index_not_found, WritesBlocked on a write block,
        InfrastructureError on anything else once the retry budget is spent.
        """
        client = self._client
        if ignore or timeout:
            client = client.options(**({"ignore_status": list(ignore)} if ignore else {}),
                                    **({"request_timeout": timeout} if timeout else {}))
        try:
            return self.retrying()(attrgetter(method)(client), **kwargs)
        except es_exceptions.NotFoundError as exc:
            raise IndexMissing(f"{what} failed: {describe_error(exc)}") from None
        except es_exceptions.AuthenticationException as exc:
            raise InfrastructureError(f"{what} failed: Elasticsearch at {self.where} rejected the credentials "
                                      f"({exc.meta.status})") from None
        except CLIENT_ERRORS as exc:
            if _is_block(getattr(exc, "body", None)):
                raise WritesBlocked(f"{what} failed: the index refuses writes ({describe_error(exc)})") from None
            raise InfrastructureError(f"{what} failed on {self.where}: {describe_error(exc)}") from None

    # -----------------------------------------------------------------------------------------------------------
    # Indices, aliases, templates

    def put_template(self, name: str, body: dict[str, Any]) -> None:
        """Create or replace a composable index template. Raises ValueError for a keyword without its cap."""
        _check_capped(f"template {name!r}", (body.get("template") or {}).get("mappings"))
        self.call(f"installing template {name!r}", "indices.put_index_template", name=name, **body)

    def exists(self, index: str) -> bool:
        """True when the index (or alias) exists."""
        return bool(self.call(f"checking index {index!r}", "indices.exists", index=index))

    def create_if_missing(self, index: str, mappings: dict[str, Any]) -> bool:
        """Create one of newsetl's small side indices (one shard, the configured replicas) with its mapping unless
        it exists; True when this call created it. Another task creating it at the same moment is fine."""
        _check_capped(f"index {index!r}", mappings)
        if self.exists(index):
            return False
        self.create_index(index, mappings=mappings, exist_ok=True,
                          settings={"number_of_shards": 1, "number_of_replicas": self.settings.replicas})
        return True

    def create_index(self, index: str, *, mappings: dict[str, Any] | None = None,
                     settings: dict[str, Any] | None = None, exist_ok: bool = False) -> None:
        """Create an index (settings and mappings from its template when not given).

        `exist_ok`: another task created it meanwhile (HTTP 400 resource_already_exists) is fine. Raises
        ValueError for a keyword without its cap.
        """
        _check_capped(f"index {index!r}", mappings)
        body = {k: v for k, v in (("mappings", mappings), ("settings", settings)) if v is not None}
        response = self.call(f"creating index {index!r}", "indices.create", ignore=(400,) if exist_ok else (),
                             index=index, **body)
        error = response.get("error") if hasattr(response, "get") else None
        if error and (not isinstance(error, dict) or error.get("type") != "resource_already_exists_exception"):
            raise InfrastructureError(f"creating index {index!r} failed: {error}")

    def delete_index(self, index: str) -> bool:
        """Delete an index by its concrete name; False when it did not exist."""
        response = self.call(f"deleting index {index!r}", "indices.delete", ignore=(404,), index=index)
        return bool(response.get("acknowledged")) if hasattr(response, "get") else False

    def alias_target(self, alias: str | None = None) -> str | None:
        """The concrete index an alias points at, or None when the alias does not exist."""
        alias = alias or self.alias
        response = self.call(f"reading alias {alias!r}", "indices.get_alias", ignore=(404,), name=alias)
        names = [name for name in response.body if name not in ("error", "status")] if response.body else []
        return names[0] if names else None

    def put_alias(self, index: str, alias: str | None = None) -> None:
        """Point an alias at an index."""
        alias = alias or self.alias
        self.call(f"creating alias {alias!r}", "indices.put_alias", index=index, name=alias)

    def swap_alias(self, old: str, new: str, alias: str | None = None) -> None:
        """Move an alias from one index to another in one atomic `_aliases` call."""
        alias = alias or self.alias
        self.call(f"moving alias {alias!r} to {new!r}", "indices.update_aliases",
                  actions=[{"remove": {"index": old, "alias": alias}}, {"add": {"index": new, "alias": alias}}])

    def mapping_meta(self, index: str) -> dict[str, Any]:
        """The `_meta` object of an index's mapping ({} when it has none)."""
        response = self.call(f"reading the mapping of {index!r}", "indices.get_mapping", index=index)
        return dict(response[next(iter(response.body))]["mappings"].get("_meta") or {})

    def ensure_index(self, index: str, mappings: dict[str, Any]) -> None:
        """A side index with this mapping: created (create_if_missing) or, when it exists, given the mapping's new
        fields and caps in place (an index created by an older newsetl gets the `ignore_above` it lacked)."""
        if not self.create_if_missing(index, mappings):
            self.put_mapping(index, mappings["properties"], meta=mappings.get("_meta"))

    def put_mapping(self, index: str, properties: dict[str, Any], meta: dict[str, Any] | None = None) -> None:
        """Add fields to an index's mapping (existing fields cannot change type; their `ignore_above` can).
        Raises ValueError for a keyword without its cap."""
        _check_capped(f"index {index!r}", {"properties": properties})
        body: dict[str, Any] = {"properties": properties}
        if meta is not None:
            body["meta"] = meta
        self.call(f"updating the mapping of {index!r}", "indices.put_mapping", index=index, **body)

    def block_writes(self, index: str, blocked: bool) -> None:
        """Set or lift `index.blocks.write` (searches are unaffected)."""
        self.call(f"{'blocking' if blocked else 'unblocking'} writes on {index!r}", "indices.put_settings",
                  index=index, settings={"index.blocks.write": True if blocked else None})

    def writes_blocked(self, index: str) -> bool:
        """True when `index.blocks.write` is set on the index (a migration's block, or one set by hand)."""
        response = self.call(f"reading the settings of {index!r}", "indices.get_settings", index=index,
                             name="index.blocks.write", flat_settings=True)
        settings = next(iter(response.body.values()), {}).get("settings", {}) if response.body else {}
        return str(settings.get("index.blocks.write", "false")).lower() == "true"

    def indices(self, pattern: str) -> dict[str, int]:
        """Concrete indices matching a wildcard pattern, with their document counts ({} when none match)."""
        response = self.call(f"listing indices {pattern!r}", "cat.indices", index=pattern, format="json",
                             h="index,docs.count", ignore=(404,), expand_wildcards="all")
        rows = response.body if isinstance(response.body, list) else []
        return {row["index"]: int(row.get("docs.count") or 0) for row in rows}

    def refresh(self, index: str | list[str] | None = None) -> None:
        """Make recent writes searchable."""
        index = index or self.alias
        self.call(f"refreshing {index!r}", "indices.refresh", index=index)

    def count(self, index: str | None = None) -> int:
        """Number of documents in an index or behind an alias."""
        index = index or self.alias
        return int(self.call(f"counting {index!r}", "count", index=index)["count"])

    def update_by_query(self, query: dict[str, Any], script: str, params: dict[str, Any],
                        index: str | None = None) -> int:
        """Run a painless `script` (with `params`) on every document matching `query`, visible at once; documents
        changed while it runs are skipped (conflicts=proceed: their writer decided for them). Returns how many
        were updated."""
        index = index or self.alias
        response = self.call(f"updating documents of {index!r}", "update_by_query", index=index, query=query,
                             script={"source": script, "params": params, "lang": "painless"},
                             conflicts="proceed", refresh=True, timeout=LONG_REQUEST_TIMEOUT_S)
        return int(response.get("updated", 0))

    def reindex(self, source: str, dest: str) -> dict[str, Any]:
        """Server-side copy of every document, waiting for the end (one long request)."""
        response = self.call(f"copying {source!r} into {dest!r}", "reindex", timeout=LONG_REQUEST_TIMEOUT_S,
                             source={"index": source}, dest={"index": dest}, refresh=True,
                             wait_for_completion=True)
        return dict(response)

    # -----------------------------------------------------------------------------------------------------------
    # Reads

    def search(self, index: str | None = None, *, what: str | None = None, missing_ok: bool = False,
               **body: Any) -> dict[str, Any]:
        """One search request. `missing_ok`: a missing index answers as no hits instead of raising IndexMissing."""
        index = index or self.alias
        response = self.call(what or f"searching {index!r}", "search", ignore=(404,) if missing_ok else (),
                             index=index, **body)
        result = dict(response)
        if "hits" not in result:  # 404 answered as data
            return {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}, "aggregations": {}}
        return result

    def mget(self, ids: Iterable[str], index: str | None = None, *,
             fields: list[str] | bool = True) -> dict[str, dict[str, Any]]:
        """_source (or the listed fields) of the documents among `ids` that exist, in chunks; a missing index
        means none exist."""
        return {doc.id: doc.source for doc in self.read_versioned(ids, index, fields=fields)}

    def read_versioned(self, ids: Iterable[str], index: str | None = None, *,
                       fields: list[str] | bool = True) -> list[Versioned]:
        """The documents among `ids` that exist, each with its (seq_no, primary_term), in chunks; a missing index
        means none exist."""
        index = index or self.alias
        found: list[Versioned] = []
        iterator = iter(dict.fromkeys(ids))
        while chunk := list(islice(iterator, self.settings.bulk_chunk_size)):
            response = self.call(f"reading {index!r}", "mget", ignore=(404,), index=index, ids=chunk, source=fields)
            for doc in response.get("docs", []):  # no "docs": index_not_found
                if doc.get("found"):
                    found.append(Versioned(doc["_id"], doc.get("_source") or {}, int(doc.get("_seq_no", -1)),
                                           int(doc.get("_primary_term", 0))))
        return found

    def scan(self, index: str | None = None, *, fields: list[str], page_size: int = 500,
             query: dict[str, Any] | None = None, sort: list[Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every hit (`_id`, `_source` with `fields`, `_seq_no`, `_primary_term`) of an index, or of `query` on it,
        paged with a point in time and search_after: a consistent view however long the reading takes. `sort`
        (default: index order) gets `_shard_doc` appended as the tiebreaker search_after needs."""
        index = index or self.alias
        order = [*(sort or []), {"_shard_doc": "asc"}]
        pit = self.call(f"reading {index!r}", "open_point_in_time", index=index, keep_alive="5m")["id"]
        search_after = None
        abandoned = False
        try:
            while True:
                page = self.call(f"reading {index!r}", "search", pit={"id": pit, "keep_alive": "5m"},
                                 size=page_size, sort=order, source_includes=fields, query=query,
                                 search_after=search_after, track_total_hits=False, seq_no_primary_term=True)
                hits = page["hits"]["hits"]
                if not hits:
                    return
                pit = page.get("pit_id", pit)
                yield from hits
                search_after = hits[-1]["sort"]
        except GeneratorExit:
            # The reader stopped early, or the generator is being garbage-collected (possibly in another test or
            # thread, with the client's connections in any state): no request from here, the PIT expires on its
            # own after keep_alive. A close request made during garbage collection was seen to block forever.
            abandoned = True
            raise
        finally:
            if not abandoned:
                try:  # the PIT expires on its own; never hide the real outcome behind a failed close
                    self._client.close_point_in_time(id=pit)
                except CLIENT_ERRORS:
                    log.debug("closing a point in time failed; it expires on its own")

    # -----------------------------------------------------------------------------------------------------------
    # Writes

    def put_document(self, index: str, doc_id: str, document: dict[str, Any], *, create: bool = False) -> bool:
        """Write one document, searchable at once; with `create`, False (and nothing written) when `doc_id` exists.

        For single bookkeeping documents (a migration's lease); articles go through `bulk`.
        """
        response = self.call(f"writing {doc_id!r} to {index!r}", "create" if create else "index",
                             ignore=(409,) if create else (), index=index, id=doc_id, document=document,
                             refresh=True)
        return response.meta.status != 409

    def delete_document(self, index: str, doc_id: str) -> bool:
        """Delete one document by id; False when it did not exist."""
        response = self.call(f"deleting {doc_id!r} from {index!r}", "delete", ignore=(404,), index=index, id=doc_id,
                             refresh=True)
        return response.meta.status != 404

    def bulk(self, actions: Iterable[BulkAction], *, refresh: bool = False) -> list[BulkResult]:
        """Apply actions in requests of `bulk_chunk_size`; one result per action, in order.

        Whole requests that fail transiently are retried (see `call`). Items refused with a transient status
        (429/502/503/504) are sent again, alone, with exponential backoff, up to `bulk_max_retries` times within
        `retry_seconds`; past that the cluster is overloaded and InfrastructureError is raised, so nothing is
        lost silently. An index that refuses writes raises WritesBlocked. Other per-item errors (a document the
        mapping refuses) are returned for the caller to record.
        """
        results: list[BulkResult] = []
        iterator = iter(actions)
        while chunk := list(islice(iterator, self.settings.bulk_chunk_size)):
            results += self._bulk_chunk(chunk, refresh=refresh)
        return results

    def _bulk_chunk(self, chunk: list[BulkAction], *, refresh: bool) -> list[BulkResult]:
        outcome: dict[int, BulkResult] = {}
        pending = list(enumerate(chunk))
        started = time.monotonic()
        attempt = 0
        while True:
            operations: list[dict[str, Any]] = []
            for _pos, action in pending:
                meta: dict[str, Any] = {"_index": action.index, "_id": action.id}
                if action.expected is not None:
                    meta.update(if_seq_no=action.expected[0], if_primary_term=action.expected[1])
                operations.append({action.op: meta})
                if action.op in ("index", "create"):
                    operations.append(action.document or {})
                elif action.op == "update":
                    operations.append({"doc": action.document or {}})
            response = self.call(f"writing to {_indices(pending)}", "bulk", operations=operations, refresh=refresh)
            again: list[tuple[int, BulkAction]] = []
            statuses: set[int] = set()
            for (pos, action), item in zip(pending, response["items"], strict=True):
                answer = next(iter(item.values()))
                status = int(answer.get("status", 0))
                if not answer.get("error") or (action.op == "delete" and status == 404):
                    version = (int(answer["_seq_no"]), int(answer.get("_primary_term", 1))) \
                        if "_seq_no" in answer else None
                    outcome[pos] = BulkResult(action.id, status, version=version)
                elif _is_block(answer):
                    raise WritesBlocked(f"{action.index!r} refuses writes ({item_reason(answer)}); a `newsetl "
                                        f"index migrate` may be running or the cluster's disk is full: retry later")
                elif status in TRANSIENT_STATUS:
                    again.append((pos, action))
                    statuses.add(status)
                else:
                    outcome[pos] = BulkResult(action.id, status, item_reason(answer))
            if not again:
                return [outcome[pos] for pos in range(len(chunk))]
            wait = min(30.0, self.settings.retry_initial_backoff * 2 ** attempt)
            codes = "/".join(map(str, sorted(statuses)))
            if attempt >= self.settings.bulk_max_retries or time.monotonic() - started + wait > \
                    self.settings.retry_seconds:
                raise InfrastructureError(f"Elasticsearch at {self.where} kept refusing {len(again)} of {len(chunk)} "
                                          f"bulk item(s) for {_indices(again)} (HTTP {codes}) after {attempt} "
                                          f"retries: the cluster is overloaded, try again later")
            log.warning("Elasticsearch refused %d of %d bulk item(s) for now (HTTP %s); attempt %d, retrying them "
                        "in %.1f s", len(again), len(chunk), codes, attempt + 1, wait)
            time.sleep(wait)
            pending = again
            attempt += 1


def retry_policy(settings: IndexSettings, transient: Callable[[BaseException], bool] = is_transient) -> Retrying:
    """The one retry policy of newsetl's cluster calls: exponential backoff from `retry_initial_backoff` (capped at
    30 s between attempts) for at most `retry_seconds`, then the last error is raised. `transient` decides what is
    worth retrying (the Kibana import passes its own test for HTTP answers of the same kinds)."""
    return Retrying(
        retry=retry_if_exception(transient),
        wait=wait_exponential(multiplier=settings.retry_initial_backoff, max=30),
        stop=stop_after_delay(settings.retry_seconds),
        before_sleep=_log_retry,
        reraise=True,
    )


def build_client(settings: Settings, embedded_url: str | None = None) -> Elasticsearch:
    """An unchecked client: credentials from settings, TLS certificates verified unless disabled.

    The transport's own retries are off (`max_retries=0`): the Store retries with backoff and a time budget,
    and two layers of retries would multiply each other.
    """
    cfg = settings.elasticsearch
    kwargs: dict[str, Any] = {"request_timeout": settings.index.request_timeout, "max_retries": 0,
                              "retry_on_timeout": False}
    if embedded_url:
        url = embedded_url
    else:
        url = str(cfg.url)
        if cfg.api_key:
            kwargs["api_key"] = cfg.api_key.get_secret_value()
        elif cfg.username and cfg.password:
            # Encoded here as UTF-8 (RFC 7617): the client encodes a (user, password) pair as ASCII and crashes
            # with UnicodeEncodeError on "pässword" or on a URL password whose %-escapes decode to non-ASCII.
            token = base64.b64encode(f"{cfg.username}:{cfg.password.get_secret_value()}".encode()).decode("ascii")
            register_secret(token)
            kwargs["basic_auth"] = token
        if url.startswith("https"):
            kwargs["verify_certs"] = cfg.verify_certs
            if cfg.ca_certs:
                kwargs["ca_certs"] = cfg.ca_certs
    return Elasticsearch(url, **kwargs)


def _check_capped(what: str, mappings: dict[str, Any] | None) -> None:
    """Refuse a mapping with a keyword a value over Lucene's term limit could reach: a real Elasticsearch refuses
    such a document whole, noida-db does not, so only this check keeps the rule (pipeline/index/mapping.py)."""
    fields = uncapped_keywords((mappings or {}).get("properties") or {})
    if fields:
        raise ValueError(f"{what}: keyword field(s) {', '.join(fields)} need ignore_above <= {KEYWORD_MAX_CHARS} "
                         f"(pipeline.index.mapping.keyword)")


def item_reason(answer: dict[str, Any]) -> str:
    """A bulk item's error as one line: HTTP status, error type, reason and its cause."""
    error = answer.get("error")
    if isinstance(error, dict):
        reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            reason += f" ({cause['reason']})"
        return f"Elasticsearch rejected the document (HTTP {answer.get('status')}): {reason}"
    return f"Elasticsearch rejected the document (HTTP {answer.get('status')}): {error}"


def _is_block(answer: Any) -> bool:
    """True for a cluster_block_exception (index.blocks.write, read-only-allow-delete at the flood stage)."""
    if not isinstance(answer, dict):
        return False
    error = answer.get("error")
    return isinstance(error, dict) and (error.get("type") == "cluster_block_exception"
                                        or (error.get("root_cause") or [{}])[0].get("type")
                                        == "cluster_block_exception")


def _indices(pending: Sequence[tuple[int, BulkAction]]) -> str:
    return ", ".join(repr(name) for name in dict.fromkeys(action.index for _pos, action in pending))


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0
    log.warning("request failed (%s); attempt %d, retrying in %.1f s",
                scrub(describe_error(exc)) if exc else "?", state.attempt_number, wait)
