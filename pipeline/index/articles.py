"""The article index behind the alias: prepare it, skip what is unchanged, write documents, read articles back.

Everything goes through the Store (pipeline/index/store.py); documents are made by pipeline/index/document.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from pipeline.core.errors import InfrastructureError
from pipeline.core.records import Article, EnrichedArticle, Rejection
from pipeline.index.document import SOURCE_FIELDS, content_hash, from_document, to_document
from pipeline.index.lifecycle import recover
from pipeline.index.mapping import MAPPING_VERSION, concrete_index_name, index_template, template_name
from pipeline.index.store import BulkAction, Store, WritesBlocked
from pipeline.index.stories import (
    Fingerprint,
    StoryCandidate,
    assign_stories,
    fingerprint,
    merge_order,
    story_merges,
)

# Band keys per lookup request: well under Elasticsearch's index.max_terms_count (65,536).
_BANDS_PER_LOOKUP = 10_000
# Documents per lookup answer (index.max_result_window); more candidates than this is logged, not fatal.
_CANDIDATES_PER_LOOKUP = 10_000

log = logging.getLogger(__name__)

# doc id -> (seq_no, primary_term) of the stored document an article was read from.
Versions = MutableMapping[str, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class IndexOutcome:
    """What happened to one article at the index stage."""

    doc_id: str
    ref: str
    status: str  # "indexed" | "unchanged" | "rejected" | "conflict" (changed since it was read: read it again)
    reason: str | None = None

    def as_rejection(self) -> Rejection:
        """The outcome as a Rejection record (status must be 'rejected')."""
        return Rejection(self.ref, "index", self.reason or "rejected")


def ensure_index(store: Store) -> str:
    """Install the template and make sure the alias points at a concrete index; return that index's name.

    A write block left by a killed migration whose lease has expired is cleared here (pipeline/index/lifecycle.py
    `recover`), so the next run goes on. Raises InfrastructureError when the alias points at an index of another
    mapping version, WritesBlocked while a migration holds a live lease or a block nobody holds a lease for.
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
        if store.writes_blocked(index):
            recover(store)  # raises while a live migration holds the block
            if store.writes_blocked(index):
                raise WritesBlocked(f"{index!r} refuses writes (index.blocks.write) and no migration holds a lease "
                                    f"on it: `newsetl index recover --force` lifts the block")
        return index
    index = concrete_index_name(alias)
    store.create_index(index, exist_ok=True)
    store.put_alias(index)
    return index


def index_articles(store: Store, items: Iterable[EnrichedArticle], *, pipeline_version: str,
                   now: datetime, expected: Versions | None = None) -> Iterator[IndexOutcome]:
    """Upsert enriched articles by deterministic id, chunk by chunk; unchanged documents are not rewritten,
    documents Elasticsearch refuses are yielded as rejected, infrastructure failures raise.

    `expected` maps ids to the (seq_no, primary_term) their article was read at (re-enrichment reads the text
    back from the index): those documents are written only if nobody wrote them since, else yielded as
    "conflict" — derived data never replaces newer source data. Ids absent from it are written unconditionally
    (an ingest's text is the newest by definition).
    """
    ingested_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    iterator = iter(items)
    while chunk := list(islice(iterator, store.settings.bulk_chunk_size)):
        yield from _index_chunk(store, chunk, pipeline_version, ingested_at, expected or {})


def _index_chunk(store: Store, chunk: list[EnrichedArticle], pipeline_version: str,
                 ingested_at: str, expected: Versions) -> Iterator[IndexOutcome]:
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
    _add_stories(store, to_write, rewritten={doc_id for doc_id, _doc in to_write if doc_id in existing})
    # refresh: the next chunk looks its stories up among these, and the run ends with its writes visible.
    results = store.bulk((BulkAction("index", store.alias, doc_id, doc, expected=expected.get(doc_id))
                          for doc_id, doc in to_write), refresh=True)
    written = {r.id for r in results if r.ok}
    _reconcile_stories(store, [(doc_id, doc) for doc_id, doc in to_write if doc_id in written])
    conflicted = [r.id for r in results if not r.ok and r.conflict and r.id in expected]
    # A conditional write retried after its first attempt landed (an answer lost, or an item refused as busy
    # after it was applied) meets its own write: the stored document is the one we sent.
    landed = {doc_id for doc_id, stored in _existing_hashes(store, conflicted).items()
              if stored == docs[doc_id][1]["content_hash"]} if conflicted else set()
    for result in results:
        ref = docs[result.id][0]
        if result.ok or result.id in landed:
            yield IndexOutcome(result.id, ref, "indexed")
        elif result.id in conflicted:
            yield IndexOutcome(result.id, ref, "conflict", result.error)
        else:
            yield IndexOutcome(result.id, ref, "rejected", result.error)


def _add_stories(store: Store, docs: list[tuple[str, dict[str, Any]]], *, rewritten: set[str]) -> None:
    """Fingerprint each new document and give it the story of a stored or earlier copy (pipeline/index/stories.py).

    A rewritten document (`rewritten`: its stored version had other content) is fingerprinted again and never
    keeps its old story by its own evidence; if it led a story (its id is that story's id) and no longer
    matches it, the story keeps the id and the article takes a new one, `<id>~<content hash>`, so its former
    copies do not follow it into unrelated text.
    """
    prints = [(doc_id, fingerprint(doc["body"])) for doc_id, doc in docs]
    known = _known_stories(store, {band for _doc_id, fp in prints for band in fp.bands})
    stories = assign_stories(prints, known)
    led = [doc_id for doc_id in rewritten if stories.get(doc_id) == doc_id]
    for doc_id in _stories_led_by_others(store, led, stories):
        stories[doc_id] = f"{doc_id}~{dict(docs)[doc_id]['content_hash'][:12]}"
    for (doc_id, doc), (_same_id, fp) in zip(docs, prints, strict=True):
        doc.update(story_id=stories[doc_id], story_bands=list(fp.bands),
                   story_signature=fp.encoded() if fp.comparable else None)


def _stories_led_by_others(store: Store, ids: list[str], stories: dict[str, str]) -> set[str]:
    """The ids among `ids` that another stored document still uses as its story id (its new story, when it is
    written in the same chunk)."""
    if not ids:
        return set()
    response = store.search(what="looking up stories", query={"terms": {"story_id": ids}},
                            size=_CANDIDATES_PER_LOOKUP, source_includes=["story_id"])
    return {story for hit in response["hits"]["hits"]
            if (story := stories.get(hit["_id"], (hit.get("_source") or {}).get("story_id"))) in ids
            and hit["_id"] != story}


def _reconcile_stories(store: Store, written: list[tuple[str, dict[str, Any]]]) -> None:
    """After a write: merge stories that two runs writing copies at the same moment started apart.

    Each run assigns stories from what is already stored, so two runs writing copies of one article at once
    would each start a story of their own. Looked up again after the write, each written document sees the
    other's copies; when its best match (the same rule as `choose_story`) is in another story, the two stories
    merge into the smaller id (every member relabelled, `update_by_query`). Whichever run looks last merges, and
    both merge into the same id, so the outcome does not depend on which write landed first. In a run alone
    the best match is the story the document was just given, and nothing changes.
    """
    prints = [(doc_id, Fingerprint.decode(doc.get("story_signature"), doc.get("story_bands")))
              for doc_id, doc in written if doc.get("story_signature")]
    if not prints:
        return
    known = _known_stories(store, {band for _doc_id, fp in prints for band in fp.bands})
    for high, low in merge_order(story_merges(prints, known)):
        store.update_by_query({"term": {"story_id": high}}, "ctx._source.story_id = params.story", {"story": low})


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


def iter_indexed_articles(store: Store, page_size: int = 500, *,
                          versions: Versions | None = None) -> Iterator[Article]:
    """Every article stored behind the store's alias, rebuilt by `from_document`, paged with a point in time.

    `versions`, when given, receives each article's (seq_no, primary_term) as read, for conditional writes.
    """
    for hit in store.scan(fields=SOURCE_FIELDS, page_size=page_size):
        if versions is not None and "_seq_no" in hit:
            versions[hit["_id"]] = (int(hit["_seq_no"]), int(hit.get("_primary_term", 1)))
        yield from_document(hit["_id"], hit.get("_source") or {})


def reread_articles(store: Store, ids: Iterable[str], *, versions: Versions) -> Iterator[Article]:
    """The stored articles among `ids` read again (after a conflict), their new versions into `versions`; an id
    whose document is gone is dropped (deleted meanwhile: nothing to re-enrich)."""
    for doc in store.read_versioned(ids, fields=SOURCE_FIELDS):
        versions[doc.id] = doc.version
        yield from_document(doc.id, doc.source)


def _existing_hashes(store: Store, ids: list[str]) -> dict[str, str]:
    """content_hash of the documents that already exist, in one round trip per chunk."""
    return {doc_id: source.get("content_hash") for doc_id, source in
            store.mget(ids, fields=["content_hash"]).items()}
