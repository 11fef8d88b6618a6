"""The only place that writes to Elasticsearch: template, versioned index behind an alias, and bulk upserts."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from elasticsearch import Elasticsearch, helpers
from elasticsearch import exceptions as es_exceptions
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_delay, wait_exponential

from pipeline.documents import content_hash, to_document
from pipeline.errors import InfrastructureError
from pipeline.index.mapping import MAPPING_VERSION, concrete_index_name, index_template, template_name
from pipeline.models import Article, EnrichedArticle, Rejection
from pipeline.settings import IndexSettings
from pipeline.stories import Fingerprint, StoryCandidate, assign_stories, fingerprint

INFRA_ERRORS = (es_exceptions.ConnectionError, es_exceptions.ConnectionTimeout, es_exceptions.TransportError,
                 es_exceptions.ApiError, helpers.BulkIndexError)
# Band keys per lookup request: well under Elasticsearch's index.max_terms_count (65,536).
_BANDS_PER_LOOKUP = 10_000
# Documents per lookup answer (index.max_result_window); more candidates than this is logged, not fatal.
_CANDIDATES_PER_LOOKUP = 10_000
# Statuses that mean "not now" rather than "never": overloaded, restarting, behind a proxy that lost it.
_TRANSIENT_STATUS = (429, 502, 503, 504)

log = logging.getLogger(__name__)


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: the cluster is unreachable, slow, restarting or overloaded."""
    if isinstance(exc, (es_exceptions.ConnectionError, es_exceptions.ConnectionTimeout)):
        return True
    return isinstance(exc, es_exceptions.ApiError) and exc.meta.status in _TRANSIENT_STATUS


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0
    log.warning("Elasticsearch request failed (%s); attempt %d, retrying in %.1f s",
                describe_error(exc) if exc else "?", state.attempt_number, wait)


def with_retries(settings: IndexSettings) -> Retrying:
    """Retry transient failures with exponential backoff for at most `retry_seconds`, then re-raise."""
    return Retrying(
        retry=retry_if_exception(is_transient),
        wait=wait_exponential(multiplier=settings.retry_initial_backoff, max=30),
        stop=stop_after_delay(settings.retry_seconds),
        before_sleep=_log_retry,
        reraise=True,
    )


@dataclass(frozen=True, slots=True)
class IndexOutcome:
    """What happened to one article at the index stage."""

    doc_id: str
    ref: str
    status: str  # "indexed" | "unchanged" | "rejected"
    reason: str | None = None

    def as_rejection(self) -> Rejection:
        """The outcome as a Rejection record (status must be 'rejected')."""
        return Rejection(self.ref, "index", self.reason or "rejected")


def ensure_index(client: Elasticsearch, settings: IndexSettings) -> str:
    """Install the template and make sure the alias points at a concrete index; return that index's name."""
    alias = settings.alias
    try:
        client.indices.put_index_template(
            name=template_name(alias), **index_template(alias, shards=settings.shards, replicas=settings.replicas)
        )
        if client.indices.exists_alias(name=alias):
            index = next(iter(client.indices.get_alias(name=alias)))
            _check_mapping_version(client, alias, index)
            return index
        index = concrete_index_name(alias)
        if not client.indices.exists(index=index):
            client.indices.create(index=index)
        client.indices.put_alias(index=index, name=alias)
        return index
    except INFRA_ERRORS as exc:
        raise InfrastructureError(f"cannot prepare index {alias!r}: {describe_error(exc)}") from None


def _check_mapping_version(client: Elasticsearch, alias: str, index: str) -> None:
    """Refuse to write into an index built for another mapping version: documents would be silently wrong."""
    meta = client.indices.get_mapping(index=index)[index]["mappings"].get("_meta", {})
    found = meta.get("mapping_version")
    if found != MAPPING_VERSION:
        raise InfrastructureError(
            f"alias {alias!r} points at {index!r}, built for mapping version {found}, but this version of newsetl "
            f"writes mapping version {MAPPING_VERSION}; run `newsetl index migrate` to rebuild it behind the alias "
            f"(searches keep working meanwhile)"
        )


def index_articles(
    client: Elasticsearch,
    items: Iterable[EnrichedArticle],
    settings: IndexSettings,
    *,
    pipeline_version: str,
    now: datetime,
) -> Iterator[IndexOutcome]:
    """Bulk-upsert enriched articles by deterministic id; unchanged documents are skipped, rejections reported."""
    alias = settings.alias
    ingested_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    iterator = iter(items)
    try:
        while chunk := list(islice(iterator, settings.bulk_chunk_size)):
            yield from _index_chunk(client, chunk, settings, alias, pipeline_version, ingested_at)
    except INFRA_ERRORS as exc:
        raise InfrastructureError(f"indexing into {alias!r} failed: {describe_error(exc)}") from None


def _index_chunk(
    client: Elasticsearch,
    chunk: list[EnrichedArticle],
    settings: IndexSettings,
    alias: str,
    pipeline_version: str,
    ingested_at: str,
) -> Iterator[IndexOutcome]:
    docs: dict[str, tuple[str, dict[str, Any]]] = {}
    for item in chunk:
        # A later duplicate id in the same chunk wins, as it would in sequential writes.
        docs[item.article.doc_id] = (item.article.ref, to_document(item, pipeline_version=pipeline_version))
    existing = _existing_hashes(client, alias, list(docs), settings)
    actions = []
    for doc_id, (ref, doc) in docs.items():
        if existing.get(doc_id) == doc["content_hash"]:
            yield IndexOutcome(doc_id, ref, "unchanged")
            continue
        source = {**doc, "ingested_at": ingested_at}
        actions.append({"_op_type": "index", "_index": alias, "_id": doc_id, "_source": source})
    if not actions:
        return
    _add_stories(client, alias, actions, settings)

    def send() -> list[tuple[bool, dict[str, Any]]]:
        # One request per chunk (chunk_size=len(actions)), so a retry re-sends the whole chunk; ids are
        # deterministic, so documents already written by a failed attempt are simply overwritten.
        return list(helpers.streaming_bulk(
            client, actions, chunk_size=len(actions), max_retries=settings.bulk_max_retries,
            initial_backoff=settings.retry_initial_backoff, max_backoff=30,
            raise_on_error=False, raise_on_exception=True, yield_ok=True,
        ))

    for ok, result in with_retries(settings)(send):
        item = next(iter(result.values()))
        doc_id = item.get("_id", "")
        ref = docs.get(doc_id, ("?", {}))[0]
        if ok:
            yield IndexOutcome(doc_id, ref, "indexed")
        elif _is_blocked(item):
            # Not this document's fault: the index is read-only (a migration, or the disk flood-stage watermark).
            raise InfrastructureError(f"{alias!r} refuses writes ({_item_reason(item)}); a `newsetl index migrate` "
                                      f"may be running or the cluster's disk is full: retry later")
        else:
            yield IndexOutcome(doc_id, ref, "rejected", _item_reason(item))
    # Searchable now: the next chunk looks its stories up among them, and the run ends with its writes visible.
    with_retries(settings)(client.indices.refresh, index=alias)


def _add_stories(client: Elasticsearch, alias: str, actions: list[dict[str, Any]], settings: IndexSettings) -> None:
    """Fingerprint each new document and give it the story of a stored or earlier copy (pipeline/stories.py)."""
    prints = [(action["_id"], fingerprint(action["_source"]["body"])) for action in actions]
    known = _known_stories(client, alias, {band for _doc_id, fp in prints for band in fp.bands}, settings)
    stories = assign_stories(prints, known)
    for action, (doc_id, fp) in zip(actions, prints, strict=True):
        action["_source"].update(story_id=stories[doc_id], story_bands=list(fp.bands),
                                 story_signature=fp.encoded() if fp.comparable else None)


def _known_stories(client: Elasticsearch, alias: str, bands: set[str],
                   settings: IndexSettings) -> list[StoryCandidate]:
    """Stored documents sharing at least one LSH band key with the chunk: the candidates for its stories."""
    found: dict[str, StoryCandidate] = {}
    ordered = sorted(bands)
    for start in range(0, len(ordered), _BANDS_PER_LOOKUP):
        response = with_retries(settings)(
            client.search, index=alias, query={"terms": {"story_bands": ordered[start:start + _BANDS_PER_LOOKUP]}},
            size=_CANDIDATES_PER_LOOKUP, source_includes=["story_id", "story_signature", "story_bands"],
            track_total_hits=True,
        )
        hits = response["hits"]["hits"]
        if response["hits"]["total"]["value"] > len(hits):
            log.warning("%d stored documents share band keys with this chunk; only %d were compared",
                        response["hits"]["total"]["value"], len(hits))
        for hit in hits:
            source = hit.get("_source", {})
            found[hit["_id"]] = StoryCandidate(hit["_id"], source.get("story_id") or hit["_id"],
                                               Fingerprint.decode(source.get("story_signature"),
                                                                  source.get("story_bands")))
    return list(found.values())


def skip_unchanged(
    client: Elasticsearch,
    articles: Iterable[Article],
    settings: IndexSettings,
    *,
    pipeline_version: str,
    on_unchanged: Callable[[Article], None],
) -> Iterator[Article]:
    """Pass on only articles whose stored document differs (or is missing): one mget per chunk, before NLP."""
    iterator = iter(articles)
    try:
        while chunk := list(islice(iterator, settings.bulk_chunk_size)):
            ids = list(dict.fromkeys(a.doc_id for a in chunk))
            existing = _existing_hashes(client, settings.alias, ids, settings)
            for article in chunk:
                if existing.get(article.doc_id) == content_hash(article, pipeline_version):
                    on_unchanged(article)
                else:
                    yield article
    except INFRA_ERRORS as exc:
        raise InfrastructureError(f"reading {settings.alias!r} failed: {describe_error(exc)}") from None


# Fields of a stored document that rebuild the clean Article (everything enrichment did not add).
_ARTICLE_FIELDS = ["source", "title", "body", "url", "language", "published_at", "published_at_source", "extra",
                   "input_ref"]


def iter_indexed_articles(client: Elasticsearch, settings: IndexSettings, page_size: int = 500) -> Iterator[Article]:
    """Every article stored behind the alias, rebuilt from _source, paged with a point in time."""
    try:
        pit = client.open_point_in_time(index=settings.alias, keep_alive="5m")["id"]
    except INFRA_ERRORS as exc:
        raise InfrastructureError(f"reading {settings.alias!r} failed: {describe_error(exc)}") from None
    search_after = None
    try:
        while True:
            page = client.search(
                pit={"id": pit, "keep_alive": "5m"}, size=page_size, sort=[{"_shard_doc": "asc"}],
                source_includes=_ARTICLE_FIELDS, search_after=search_after, track_total_hits=False,
            )
            hits = page["hits"]["hits"]
            if not hits:
                return
            pit = page.get("pit_id", pit)
            for hit in hits:
                doc = hit["_source"]
                yield Article(
                    doc_id=hit["_id"], ref=doc.get("input_ref") or hit["_id"], source=doc.get("source") or "",
                    title=doc.get("title") or "", body=doc.get("body") or "", url=doc.get("url"),
                    language=doc.get("language"), published_at=doc.get("published_at"),
                    published_at_source=doc.get("published_at_source"), extra=doc.get("extra") or {},
                )
            search_after = hits[-1]["sort"]
    except INFRA_ERRORS as exc:
        raise InfrastructureError(f"reading {settings.alias!r} failed: {describe_error(exc)}") from None
    finally:
        with contextlib.suppress(*INFRA_ERRORS):  # the PIT expires on its own; never hide the real outcome
            client.close_point_in_time(id=pit)


def _existing_hashes(client: Elasticsearch, alias: str, ids: list[str], settings: IndexSettings) -> dict[str, str]:
    """content_hash of the documents that already exist, in one round trip per chunk."""
    response = with_retries(settings)(client.mget, index=alias, ids=ids, source_includes=["content_hash"])
    return {
        doc["_id"]: doc["_source"].get("content_hash")
        for doc in response["docs"]
        if doc.get("found") and doc.get("_source")
    }


def _is_blocked(item: dict[str, Any]) -> bool:
    error = item.get("error")
    return isinstance(error, dict) and error.get("type") == "cluster_block_exception"


def _item_reason(item: dict[str, Any]) -> str:
    error = item.get("error")
    if isinstance(error, dict):
        reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            reason += f" ({cause['reason']})"
        return f"Elasticsearch rejected the document (HTTP {item.get('status')}): {reason}"
    return f"Elasticsearch rejected the document (HTTP {item.get('status')}): {error}"


def describe_error(exc: Exception) -> str:
    """A short description of an Elasticsearch failure: HTTP status and message, or the exception."""
    if isinstance(exc, es_exceptions.ApiError):
        return f"HTTP {exc.meta.status} {exc.message}"
    return f"{type(exc).__name__}: {exc}"
