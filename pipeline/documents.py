"""EnrichedArticle -> the Elasticsearch document users see (field names are the product's contract)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pipeline.dates import iter_date_values
from pipeline.entities import facet_values
from pipeline.models import EnrichedArticle


def to_document(item: EnrichedArticle, *, pipeline_version: str) -> dict[str, Any]:
    """The document body without `ingested_at` (added at write time) but with a content hash of the rest."""
    article, enrichment = item.article, item.enrichment
    doc: dict[str, Any] = {
        "url": article.url,
        "source": article.source,
        "title": article.title,
        "body": article.body,
        "language": article.language,
        "published_at": article.published_at,
        "published_at_source": article.published_at_source,
        "undated": article.published_at is None,
        "mentioned_dates": list(iter_date_values(list(enrichment.dates))),
        "entities": facet_values(enrichment.entities),
        "word_count": len(article.body.split()),
        "pipeline_version": pipeline_version,
        "input_ref": article.ref,
        "extra": article.extra,
    }
    doc["content_hash"] = content_hash(doc)
    return doc


def content_hash(doc: dict[str, Any]) -> str:
    """Stable hash of a document's content; equal hashes mean a re-write would change nothing."""
    payload = json.dumps({k: v for k, v in doc.items() if k not in ("content_hash", "ingested_at", "input_ref")},
                         sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()
