"""The index template as code: settings, analysers and a strict mapping of the documents Kibana users see."""

from __future__ import annotations

from typing import Any

from pipeline.core.facets import ENTITY_FIELDS

# Bump when the mapping changes; a new concrete index `<alias>-v<N>` is then built behind the alias.
# v2: story_id, story_bands and story_signature (duplicate stories). v3: authors and site_name (HTML pages).
# v4 (one release): `enrichment` ("ok" / "no-model") and the `entities.misc` facet (languages routed to their own
# models); entities.country, entities.country_code, entities.geonames_id and `geo` (resolved places);
# entities.<facet>_id, the entity registry's ids beside the names.
# `newsetl index migrate` moves an alias across.
MAPPING_VERSION = 4

# Mentioned dates keep their precision: "2019", "2019-06" and "2019-06-26" are all valid values.
DATE_WITH_PRECISION = "strict_date_optional_time||yyyy-MM||yyyy"


def concrete_index_name(alias: str, version: int = MAPPING_VERSION) -> str:
    """The versioned index behind the alias."""
    return f"{alias}-v{version}"


def template_name(alias: str) -> str:
    """Name of the composable index template for this alias."""
    return f"{alias}-template"


def mappings() -> dict[str, Any]:
    """The document mapping; `dynamic: strict` so a typo in the pipeline fails loudly instead of adding fields."""
    keyword = {"type": "keyword", "ignore_above": 512}
    return {
        "dynamic": "strict",
        "_meta": {"mapping_version": MAPPING_VERSION},
        "properties": {
            "url": {"type": "keyword", "ignore_above": 2048},
            "source": keyword,
            "title": {"type": "text", "analyzer": "english", "fields": {"keyword": keyword}},
            "body": {"type": "text", "analyzer": "english"},
            "language": {"type": "keyword"},
            "published_at": {"type": "date"},
            "published_at_source": {"type": "keyword"},
            "authors": keyword,
            "site_name": keyword,
            "undated": {"type": "boolean"},
            # The date field charts and range-filters; `.value` keeps the exact value ("2019", "2019-06",
            # "2019-06-26") so a facet never shows a year as its first of January.
            "mentioned_dates": {"type": "date", "format": DATE_WITH_PRECISION,
                                "fields": {"value": {"type": "keyword"}}},
            "entities": {"properties": {name: keyword for name in ENTITY_FIELDS}},
            "enrichment": {"type": "keyword"},
            # One point per resolved place of the article (GeoNames coordinates): the Kibana map's layer.
            "geo": {"type": "geo_point"},
            "word_count": {"type": "integer"},
            "ingested_at": {"type": "date"},
            "pipeline_version": {"type": "keyword"},
            # Copies of one story share story_id (pipeline/stories.py); the band keys are the index's LSH table,
            # the signature is kept (not indexed) to confirm a candidate before joining its story.
            "story_id": {"type": "keyword"},
            "story_bands": {"type": "keyword"},
            "story_signature": {"type": "keyword", "index": False, "doc_values": False},
            "content_hash": {"type": "keyword", "index": False, "doc_values": False},
            "input_ref": {"type": "keyword", "ignore_above": 1024},
            # Unknown input keys are kept in _source for reference but not indexed or searchable.
            "extra": {"type": "object", "enabled": False},
        },
    }


def index_template(alias: str, *, shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """Body of PUT _index_template/<alias>-template, matching every versioned index of the alias."""
    return {
        "index_patterns": [f"{alias}-v*"],
        "priority": 200,
        "template": {
            "settings": {"number_of_shards": shards, "number_of_replicas": replicas},
            "mappings": mappings(),
        },
        "_meta": {"managed_by": "newsetl", "mapping_version": MAPPING_VERSION},
    }
