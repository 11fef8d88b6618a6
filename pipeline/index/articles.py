"""The article index behind the alias: prepare it, skip what is unchanged, write documents, read articles back.

Everything goes through the Store (pipeline/index/store.py); documents are made by pipeline/index/document.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from pipeline.core.errors import InfrastructureError
from pipeline.core.records import Article, EnrichedArticle, Rejection
from pipeline.index.document import SOURCE_FIELDS, content_hash, from_document, to_document
from pipeline.index.mapping import MAPPING_VERSION, concrete_index_name, index_template, template_name
from pipeline.index.store import BulkAction, Store
from pipeline.index.stories import Fingerprint, StoryCandidate, assign_stories, fingerprint

# Band keys per lookup request: well under Elasticsearch's index.max_terms_count (65,536).
_BANDS_PER_LOOKUP = 10_000
# Documents per lookup answer (index.max_result_window); more candidates than this is logged, not fatal.
_CANDIDATES_PER_LOOKUP = 10_000

log = logging.getLogger(__name__)


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


def ensure_index(store: Store) -> str:
    """Install the template and make sure the alias points at a concrete index; return that index's name.

    Raises InfrastructureError when the alias points at an index of another mapping version.
    """
    alias = store.alias
    store.put_template(template_name(alias), index_template(alias, shards=store.settings.shards,
                                                            replicas=store.settings.replicas))
    index = store.alias_target()
    if index is not None:
        found = store.mapping_meta(index).get("mapping_version")
        if found != MAPPING_VERSION:
            raise InfrastructureError(
                f"alias {alias!r} points at {index!r}, built for mapping version {found}, but this version of "
                f"newsetl writes mapping version {MAPPING_VERSION}; run `newsetl index migrate` to rebuild it "
                f"behind the alias (searches keep working meanwhile)")
        return index
    index = concrete_index_name(alias)
    store.create_index(index, exist_ok=True)
    store.put_alias(index)
    return index


def index_articles(store: Store, items: Iterable[EnrichedArticle], *, pipeline_version: str,
                   now: datetime) -> Iterator[IndexOutcome]:
    """Upsert enriched articles by deterministic id, chunk by chunk; unchanged documents are not rewritten,
    documents Elasticsearch refuses are yielded as rejected, infrastructure failures raise."""
    ingested_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    iterator = iter(items)
    while chunk := list(islice(iterator, store.settings.bulk_chunk_size)):
        yield from _index_chunk(store, chunk, pipeline_version, ingested_at)


def _index_chunk(store: Store, chunk: list[EnrichedArticle], pipeline_version: str,
                 ingested_at: str) -> Iterator[IndexOutcome]:
    docs: dict[str, tuple[str, dict[str, Any]]] = {}
    for item in chunk:
        # A later duplicate id in the same chunk wins, as it would in sequential writes.
        docs[item.article.doc_id] = (item.article.ref, to_document(item, pipeline_version=pipeline_version))
    existing = _existing_hashes(store, list(docs))
    to_write: list[tuple[str, dict[str, Any]]] = []
    for doc_id, (ref, doc) in docs.items():
        if existing.get(doc_id) == doc["content_hash"]:
            yield IndexOutcome(doc_id, ref, "unchanged")
        else:
            to_write.append((doc_id, {**doc, "ingested_at": ingested_at,
                                      "timeline_at": doc.get("published_at") or ingested_at}))
    if not to_write:
        return
    _add_stories(store, to_write)
    # refresh: the next chunk looks its stories up among these, and the run ends with its writes visible.
    results = store.bulk((BulkAction("index", store.alias, doc_id, doc) for doc_id, doc in to_write), refresh=True)
    for result in results:
        ref = docs[result.id][0]
        yield IndexOutcome(result.id, ref, "indexed") if result.ok else \
            IndexOutcome(result.id, ref, "rejected", result.error)


def _add_stories(store: Store, docs: list[tuple[str, dict[str, Any]]]) -> None:
    """Fingerprint each new document and give it the story of a stored or earlier copy (pipeline/index/stories.py)."""
    prints = [(doc_id, fingerprint(doc["body"])) for doc_id, doc in docs]
    known = _known_stories(store, {band for _doc_id, fp in prints for band in fp.bands})
    stories = assign_stories(prints, known)
    for (doc_id, doc), (_same_id, fp) in zip(docs, prints, strict=True):
        doc.update(story_id=stories[doc_id], story_bands=list(fp.bands),
                   story_signature=fp.encoded() if fp.comparable else None)


def _known_stories(store: Store, bands: set[str]) -> list[StoryCandidate]:
    """Stored documents sharing at least one LSH band key with the chunk: the candidates for its stories."""
    found: dict[str, StoryCandidate] = {}
    ordered = sorted(bands)
    for start in range(0, len(ordered), _BANDS_PER_LOOKUP):
        response = store.search(what="looking up stories", query={"terms": {"story_bands": ordered[
            start:start + _BANDS_PER_LOOKUP]}}, size=_CANDIDATES_PER_LOOKUP,
            source_includes=["story_id", "story_signature", "story_bands"], track_total_hits=True)
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


def skip_unchanged(store: Store, articles: Iterable[Article], *, pipeline_version: str,
                   on_unchanged: Callable[[Article], None]) -> Iterator[Article]:
    """Pass on only articles whose stored document differs (or is missing): one mget per chunk, before NLP."""
    iterator = iter(articles)
    while chunk := list(islice(iterator, store.settings.bulk_chunk_size)):
        existing = _existing_hashes(store, [a.doc_id for a in chunk])
        for article in chunk:
            if existing.get(article.doc_id) == content_hash(article, pipeline_version):
                on_unchanged(article)
            else:
                yield article


def iter_indexed_articles(store: Store, page_size: int = 500) -> Iterator[Article]:
    """Every article stored behind the store's alias, rebuilt by `from_document`, paged with a point in time."""
    for hit in store.scan(fields=SOURCE_FIELDS, page_size=page_size):
        yield from_document(hit["_id"], hit.get("_source") or {})


def _existing_hashes(store: Store, ids: list[str]) -> dict[str, str]:
    """content_hash of the documents that already exist, in one round trip per chunk."""
    return {doc_id: source.get("content_hash") for doc_id, source in
            store.mget(ids, fields=["content_hash"]).items()}
