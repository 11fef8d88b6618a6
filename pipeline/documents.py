"""EnrichedArticle -> the Elasticsearch document users see (field names are the product's contract)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pipeline.dates import iter_date_values
from pipeline.entities import facet_values
from pipeline.models import Article, EnrichedArticle


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
        "authors": list(article.authors),
        "site_name": article.site_name,
        "undated": article.published_at is None,
        "mentioned_dates": list(iter_date_values(list(enrichment.dates))),
        "entities": facet_values(enrichment.entities),
        "word_count": len(article.body.split()),
        "pipeline_version": pipeline_version,
        "input_ref": article.ref,
        "extra": article.extra,
    }
    doc["content_hash"] = content_hash(article, pipeline_version)
    return doc


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
