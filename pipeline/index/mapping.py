"""The index template as code: settings, analysers and a strict mapping of the documents Kibana users see."""

from __future__ import annotations

from typing import Any

from pipeline.core.facets import ENTITY_FIELDS, FACETS

# Bump when the mapping changes; a new concrete index `<alias>-v<N>` is then built behind the alias.
# v2: story_id, story_bands and story_signature (duplicate stories). v3: authors and site_name (HTML pages).
# v4 (one release): `enrichment` ("ok" / "no-model") and the `entities.misc` facet (languages routed to their own
# models); entities.country, entities.country_code, entities.geonames_id and `geo` (resolved places);
# entities.<facet>_id, the entity registry's ids beside the names; analysis for news (accent folding, light
# stemming, no stopwords; `.exact` and `.tokens` sub-fields of the text) and a case- and accent-insensitive
# `.folded` sub-field on every facet keyword.
# v5: `entity_names`, each article's own entity values before the registry resolved them (stored, not indexed), which
# re-canonicalisation re-resolves when the registry changes.
# v6: every keyword capped (`ignore_above`, KEYWORD_MAX_CHARS below): a value over Lucene's term limit made a real
# Elasticsearch refuse the whole document.
# v7: `date_order`, the order an article's numeric dates are read in (DMY/MDY/YMD from its source or locale), so a
# re-enrichment reads "7/8/07" as the first enrichment did.
# `newsetl index migrate` moves an alias across.
MAPPING_VERSION = 7

# Mentioned dates keep their precision: "2019", "2019-06" and "2019-06-26" are all valid values.
DATE_WITH_PRECISION = "strict_date_optional_time||yyyy-MM||yyyy"


# The main text analysis, `news_text`: the standard tokenizer, possessives dropped, lower case, accents folded
# (`Sao Paulo` finds `São Paulo`), and Lucene's light English stemmer (Krovetz: plurals and -ing forms to their
# dictionary word) instead of Porter, which conflated `US` with `using` and `IT` with nothing once the stopword
# list had removed "it". No stopwords: acronyms such as IT, US, WHO, ON are words in news, and phrases keep
# their small words ("bank of england"). Sub-fields, searched by pipeline/search/query.py:
#   .exact   the words with their case (accents folded): an ALL-CAPS query term (`US`, `IT`, `WHO`) is boosted
#            there, so the acronym ranks above the pronoun;
#   .tokens  whitespace-separated tokens trimmed of edge punctuation, lower case: `AT&T`, `C++`, `U.S.` stay
#            whole (the standard tokenizer splits them into `at`, `t`, ... and `C++` into `c`, like Reuters'
#            `<C>` ticker).
# Every piece is checked to work on noida-db too (tests/integration/test_analysis.py runs each analyzer).
TEXT_ANALYZER, EXACT_ANALYZER, TOKENS_ANALYZER = "news_text", "news_exact", "news_tokens"
FACET_NORMALIZER = "facet_fold"

# Lucene refuses a term longer than 32,766 UTF-8 bytes (IndexWriter.MAX_TERM_LENGTH), and a keyword's doc value
# has the same limit: Elasticsearch then refuses the whole document ("Document contains at least one immense
# term"); noida-db, the local stand-in, accepts it, so the rule is kept here, in code. A keyword value longer than
# the field's `ignore_above` stays in _source but is neither indexed nor aggregated. `ignore_above` counts UTF-16
# code units (Java's String.length()): one unit is at most 3 UTF-8 bytes (4 for a surrogate pair, 2 units), and
# the facet normalizer's asciifolding writes at most 4 ASCII characters per character (Lucene's
# ASCIIFoldingFilter), so 32,766 // 4 = 8,191 units can never make an immense term, raw or folded.
MAX_TERM_BYTES = 32_766
KEYWORD_MAX_CHARS = MAX_TERM_BYTES // 4
FOLDED = "folded"  # sub-field of every facet keyword: filters compare lower case, accents folded


def analysis() -> dict[str, Any]:
    """Index settings `analysis`: the analyzers and the facet normalizer named above."""
    return {
        "normalizer": {FACET_NORMALIZER: {"type": "custom", "filter": ["lowercase", "asciifolding"]}},
        "filter": {
            "news_possessive": {"type": "stemmer", "language": "possessive_english"},
            "news_light_stem": {"type": "stemmer", "language": "light_english"},
            # Leading punctuation goes, trailing too except `+`/`#` (C++, C#); the inner `&` of AT&T and the dots
            # of U.S. stay. `U.S.` and `U.S.,` both index as `u.s`, and so does the query `U.S.`.
            "news_trim": {"type": "pattern_replace", "pattern": r"^[^\p{L}\p{N}]+|[^\p{L}\p{N}+#]+$",
                          "replacement": ""},
            "news_nonempty": {"type": "length", "min": 1},
        },
        "analyzer": {
            TEXT_ANALYZER: {"type": "custom", "tokenizer": "standard",
                            "filter": ["news_possessive", "lowercase", "asciifolding", "news_light_stem"]},
            EXACT_ANALYZER: {"type": "custom", "tokenizer": "standard", "filter": ["news_possessive", "asciifolding"]},
            TOKENS_ANALYZER: {"type": "custom", "tokenizer": "whitespace",
                              "filter": ["news_trim", "news_possessive", "lowercase", "asciifolding",
                                         "news_nonempty"]},
        },
    }


def text_field(**extra_fields: Any) -> dict[str, Any]:
    """A searchable text field with the `.exact` and `.tokens` sub-fields (and any `extra_fields`)."""
    return {"type": "text", "analyzer": TEXT_ANALYZER, "fields": {
        "exact": {"type": "text", "analyzer": EXACT_ANALYZER},
        "tokens": {"type": "text", "analyzer": TOKENS_ANALYZER},
        **extra_fields}}


def keyword(ignore_above: int = KEYWORD_MAX_CHARS, **options: Any) -> dict[str, Any]:
    """A keyword field capped at `ignore_above` characters (at most KEYWORD_MAX_CHARS): every keyword of every
    index newsetl creates is built here or carries the same cap (Store refuses a mapping that does not)."""
    if ignore_above > KEYWORD_MAX_CHARS:
        raise ValueError(f"ignore_above {ignore_above} is over {KEYWORD_MAX_CHARS}: values could be immense terms")
    return {"type": "keyword", "ignore_above": ignore_above, **options}


def uncapped_keywords(properties: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the keyword fields (sub-fields and object properties included) of a mapping's `properties`
    that a value over MAX_TERM_BYTES could reach: neither capped by an `ignore_above` of at most
    KEYWORD_MAX_CHARS nor kept out of both the index and doc values. [] for a safe mapping."""
    found: list[str] = []
    for name, field in properties.items():
        path = f"{prefix}{name}"
        subs = [(f"{path}.{sub}", definition) for sub, definition in (field.get("fields") or {}).items()]
        found += [where for where, definition in [(path, field), *subs]
                  if definition.get("type") in ("keyword", "flattened") and not _capped(definition)]
        found += uncapped_keywords(field.get("properties") or {}, f"{path}.")
    return found


def _capped(field: dict[str, Any]) -> bool:
    if field.get("index") is False and field.get("doc_values") is False:
        return True
    limit = field.get("ignore_above")
    return limit is not None and int(limit) <= KEYWORD_MAX_CHARS


def facet_keyword(ignore_above: int = 512) -> dict[str, Any]:
    """A facet keyword: the canonical value (aggregations and display) and `.folded` for filters.

    Every facet field is built here, so a facet added later gets the case- and accent-insensitive filter field by
    construction (pipeline/search/query.py filters on `<field>.folded`, `Tony Blair` = `tony blair`).
    """
    return keyword(ignore_above, fields={FOLDED: keyword(ignore_above, normalizer=FACET_NORMALIZER)})


def concrete_index_name(alias: str, version: int = MAPPING_VERSION) -> str:
    """The versioned index behind the alias."""
    return f"{alias}-v{version}"


def template_name(alias: str) -> str:
    """Name of the composable index template for this alias."""
    return f"{alias}-template"


def mappings() -> dict[str, Any]:
    """The document mapping; `dynamic: strict` so a typo in the pipeline fails loudly instead of adding fields."""
    short = keyword(512)
    return {
        "dynamic": "strict",
        "_meta": {"mapping_version": MAPPING_VERSION},
        "properties": {
            "url": keyword(2048),
            "source": facet_keyword(),
            "title": text_field(keyword=short),
            "body": text_field(),
            "language": facet_keyword(),
            "published_at": {"type": "date"},
            "published_at_source": keyword(),
            "authors": short,
            "site_name": short,
            # DMY | MDY | YMD: how the article's numeric dates were read (pipeline.core.dateorder); absent: unknown.
            "date_order": keyword(),
            "undated": {"type": "boolean"},
            # The date field charts and range-filters; `.value` keeps the exact value ("2019", "2019-06",
            # "2019-06-26") so a facet never shows a year as its first of January.
            "mentioned_dates": {"type": "date", "format": DATE_WITH_PRECISION,
                                "fields": {"value": keyword()}},
            # Facets carry their case- and accent-insensitive `.folded` sub-field (what filters compare); codes and
            # ids are exact.
            "entities": {"properties": {name: facet_keyword() if name in FACETS else short
                                        for name in ENTITY_FIELDS}},
            "enrichment": facet_keyword(),
            # [{"label", "name", "id"}]: the article's own entity values (pipeline.core.records.EntityName), read
            # back only by re-canonicalisation.
            "entity_names": {"type": "object", "enabled": False},
            # One point per resolved place of the article (GeoNames coordinates): the Kibana map's layer.
            "geo": {"type": "geo_point"},
            "word_count": {"type": "integer"},
            "ingested_at": {"type": "date"},
            # The article's place on a timeline: published_at when known, else ingested_at, so that undated
            # articles appear on Kibana's time-based views too (`undated` keeps telling them apart).
            "timeline_at": {"type": "date"},
            "pipeline_version": keyword(),
            # Copies of one story share story_id (pipeline/stories.py); the band keys are the index's LSH table,
            # the signature is kept (not indexed) to confirm a candidate before joining its story.
            "story_id": keyword(),
            "story_bands": keyword(),
            "story_signature": {"type": "keyword", "index": False, "doc_values": False},
            "content_hash": {"type": "keyword", "index": False, "doc_values": False},
            "input_ref": keyword(1024),
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
            "settings": {"number_of_shards": shards, "number_of_replicas": replicas, "analysis": analysis()},
            "mappings": mappings(),
        },
        "_meta": {"managed_by": "newsetl", "mapping_version": MAPPING_VERSION},
    }
