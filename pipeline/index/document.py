"""The document mapping, both directions and written once: EnrichedArticle -> document, document -> Article.

Field names are the product's contract (Kibana, `newsetl search --json`). Every field of `Article` is either
stored (`ARTICLE_FIELDS`: article field -> document field) or named in `NOT_STORED` with the reason; a test
checks that, and a property test checks that `from_document(to_document(x))` gives `x.article` back. Whatever
reads an article back from the index (`newsetl reenrich`, `newsetl index migrate --rebuild`) goes through
`from_document`, so a field added to `Article` cannot be forgotten on the way back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from pipeline.core.facets import facet_ids, facet_values, geo_points
from pipeline.core.records import Article, EnrichedArticle
from pipeline.core.text import count_words
from pipeline.enrich.dates import iter_date_values

# Article field -> document field (`doc_id` is the document's `_id`).
ARTICLE_FIELDS: dict[str, str] = {
    "doc_id": "_id",
    "ref": "input_ref",
    "source": "source",
    "title": "title",
    "body": "body",
    "url": "url",
    "language": "language",
    "published_at": "published_at",
    "published_at_source": "published_at_source",
    "extra": "extra",
    "authors": "authors",
    "site_name": "site_name",
    "date_order": "date_order",
}
# Article fields that are deliberately not part of the document, and why.
NOT_STORED: dict[str, str] = {
    "warnings": "what cleaning repaired or cut is reported with the run (report.json, news-runs), not stored",
}
# Document fields computed from the article and its enrichment: everything a re-enrichment may rewrite.
DERIVED_FIELDS = ("undated", "mentioned_dates", "entities", "entity_names", "geo", "enrichment", "word_count",
                  "pipeline_version", "content_hash", "story_id", "story_bands", "story_signature", "ingested_at",
                  "timeline_at")
# Document fields that rebuild the Article (what a reader has to fetch).
SOURCE_FIELDS = [field for field in ARTICLE_FIELDS.values() if field != "_id"]


def to_document(item: EnrichedArticle, *, pipeline_version: str) -> dict[str, Any]:
    """The document body of an enriched article, with a content hash; `ingested_at`, `timeline_at` and the story
    fields are added at write time (they depend on the clock and on what is already indexed)."""
    article, enrichment = item.article, item.enrichment
    doc: dict[str, Any] = {field: _stored(getattr(article, name)) for name, field in ARTICLE_FIELDS.items()
                           if field != "_id"}
    doc.update({
        "undated": article.published_at is None,
        "mentioned_dates": list(iter_date_values(list(enrichment.dates))),
        # Readable names per facet, and the entities' ids beside them (`entities.person_id`, ...) so Kibana can
        # count by entity whatever its display form.
        "entities": {**facet_values(enrichment.entities), **facet_ids(enrichment.entities)},
        # The article's own entity values before the registry resolved them (stored, not indexed): what
        # re-canonicalisation re-resolves when the registry learns a merge (pipeline.index.recanon).
        "entity_names": [asdict(name) for name in item.own_names()],
        # "no-model": the article's language has no configured NER model, so it has no entities (a Kibana filter).
        "enrichment": enrichment.status,
        "geo": geo_points(enrichment.entities),
        "word_count": count_words(article.body),
        "pipeline_version": pipeline_version,
        "content_hash": content_hash(article, pipeline_version),
    })
    return doc


def from_document(doc_id: str, source: dict[str, Any]) -> Article:
    """The clean Article a stored document was made from (the inverse of `to_document` for article fields).

    `source` needs the fields of SOURCE_FIELDS; a document written before a field existed reads it as empty.
    """
    values: dict[str, Any] = {"doc_id": doc_id}
    for name, field in ARTICLE_FIELDS.items():
        if field == "_id":
            continue
        value = source.get(field)
        if name == "authors":
            value = tuple(value or ())
        elif name in ("title", "body", "source"):
            value = value or ""
        elif name == "extra":
            value = value or {}
        elif name == "ref":
            value = value or doc_id
        values[name] = value
    return Article(**values)


def content_hash(article: Article, pipeline_version: str) -> str:
    """Hash of a cleaned article and the pipeline version that enriches it.

    Enrichment is deterministic for a given article and pipeline version, so equal hashes mean the stored
    document would not change: the article can skip NLP and indexing entirely. `ref` (where the input was read
    from) is left out, so moving a file does not count as a change; so are `warnings`, which only restate what
    the content already shows.
    """
    fields = {k: v for k, v in article.to_dict().items() if k not in ("ref", "warnings")}
    payload = json.dumps([fields, pipeline_version], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()


def _stored(value: Any) -> Any:
    """Tuples become JSON arrays."""
    return list(value) if isinstance(value, tuple) else value
