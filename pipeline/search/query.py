"""Faceted search over the alias: full text, filters on every facet, date ranges, highlights, pages, story collapse."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from pipeline.core.errors import InfrastructureError
from pipeline.core.facets import FACETS
from pipeline.core.text import count_words
from pipeline.index.mapping import FOLDED
from pipeline.index.store import IndexMissing, Store
from pipeline.search.countries import country_code
from pipeline.search.suggest import closest_values, fold
from pipeline.search.syntax import TEXT_FIELDS, Clause, Phrase, Prefix, Term, Word, parse_query

# Facet name (CLI flag, JSON key) -> indexed keyword field. The entity facet LANGUAGE ("French" mentioned in the
# text) is `language_mentioned`, so that `language` keeps meaning the article's own language.
FACET_FIELDS: dict[str, str] = {
    **{("language_mentioned" if facet == "language" else facet): f"entities.{facet}" for facet in FACETS},
    "source": "source",
    "language": "language",
    "enrichment": "enrichment",  # "no-model": articles in a language without an NER model (no entity facets)
}
# Text fields searched when a term names none, with their weight (a word in the headline counts three times).
TEXT_BOOSTS = {"title": 3.0, "body": 1.0}
# Weight of the case-exact sub-field for an ALL-CAPS query term: "US" in the text outranks "us" (the pronoun),
# "IT" outranks "it", "WHO" outranks "who". Tuned on the dev queries of bench/search_relevance.py.
EXACT_BOOST = 4.0
# Words the standard tokenizer would break (AT&T -> at, t; C++ -> c; U.S. -> u.s): searched in `.tokens`.
_KEPT_WHOLE = re.compile(r"[&+#@]|\w\.\w")
HIGHLIGHT_PRE, HIGHLIGHT_POST = "«", "»"
SORTS = {
    "relevance": ["_score", {"published_at": {"order": "desc", "missing": "_last"}}],
    "newest": [{"published_at": {"order": "desc", "missing": "_last"}}, "_score"],
    "oldest": [{"published_at": {"order": "asc", "missing": "_last"}}, "_score"],
}
# Distinct values of a facet read to suggest the closest ones to a filter value that matches nothing.
SUGGEST_POOL = 10_000
# Elasticsearch's index.max_result_window: from + size beyond it is refused, so pages stop there.
MAX_WINDOW = 10_000
# What one search may ask for. Every query word becomes a clause per searched field and every filter value a term
# clause; a 100 KB query held the embedded server (and everyone else's searches) for two minutes. Web search
# engines stop at 32 words (Google); twice that and 1,024 characters cover any real question, and 100 filter
# values stay far below Elasticsearch's own clause limit (indices.query.bool.max_clause_count, 1,024 and up).
MAX_QUERY_CHARS = 1_024
MAX_QUERY_WORDS = 64
MAX_FILTER_VALUES = 100
MAX_FILTER_VALUE_CHARS = 256
# What a hit carries (`newsetl search --json`): `extra` too, the input's own other keys, as the README promises.
_HIT_FIELDS = ["title", "url", "source", "language", "enrichment", "published_at", "entities", "mentioned_dates",
               "story_id", "extra"]


@dataclass(frozen=True)
class SearchRequest:
    """What the user asked for. The query string is parsed by pipeline/search/syntax.py into terms that fill
    match/term/prefix queries; no value ever becomes query DSL or query_string syntax."""

    query: str | None = None
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # facet name -> values, all required
    published_from: date | None = None
    published_to: date | None = None
    mentioned_from: date | None = None
    mentioned_to: date | None = None
    page: int = 1
    size: int = 10
    sort: str = "relevance"
    collapse: bool = False  # one hit per story, with its number of copies
    facet_size: int = 10
    # facet -> filter value as given -> the canonical name of the entity it spells (pipeline/search/names.py);
    # such a value matches articles holding either name.
    names: dict[str, dict[str, str]] = field(default_factory=dict)

    def with_names(self, names: dict[str, dict[str, str]]) -> SearchRequest:
        """The same request, its filter values read as these canonical names."""
        return replace(self, names=names)

    def spellings(self) -> list[str]:
        """One line per filter value read as a canonical name: `place: US → United States`."""
        return [f"{facet}: {value} → {canonical}" for facet, values in self.names.items()
                for value, canonical in values.items()]

    def __post_init__(self) -> None:
        if self.query and len(self.query) > MAX_QUERY_CHARS:
            raise ValueError(f"query too long: {len(self.query):,} characters (limit {MAX_QUERY_CHARS:,})")
        if self.query and (words := count_words(self.query)) > MAX_QUERY_WORDS:
            raise ValueError(f"query too long: {words:,} words (limit {MAX_QUERY_WORDS}); use fewer, more specific "
                             f"words or filters")
        values = [value for group in self.filters.values() for value in group]
        if len(values) > MAX_FILTER_VALUES:
            raise ValueError(f"too many filter values: {len(values):,} (limit {MAX_FILTER_VALUES})")
        if any(len(value) > MAX_FILTER_VALUE_CHARS for value in values):
            raise ValueError(f"a filter value is longer than {MAX_FILTER_VALUE_CHARS} characters")
        unknown = set(self.filters) - set(FACET_FIELDS)
        if unknown:
            raise ValueError(f"unknown facet(s) {sorted(unknown)}; known: {sorted(FACET_FIELDS)}")
        for value in self.filters.get("country", ()):
            country_code(value)  # UnknownCountry (a ValueError) before any request
        if self.page < 1 or self.size < 1 or self.facet_size < 1:
            raise ValueError("page, size and facet size must be at least 1")
        if self.page * self.size > MAX_WINDOW:
            raise ValueError(f"pages reach at most {MAX_WINDOW} hits deep: narrow the search with filters")
        if self.query and self.query.strip():
            parse_query(self.query, frozenset(FACET_FIELDS))  # QuerySyntaxError (a ValueError) before any request
        if self.sort not in SORTS:
            raise ValueError(f"unknown sort {self.sort!r}; known: {sorted(SORTS)}")
        for low, high, what in ((self.published_from, self.published_to, "published"),
                                (self.mentioned_from, self.mentioned_to, "mentioned")):
            if low and high and low > high:
                raise ValueError(f"{what} date range is empty: {low} is after {high}")


@dataclass
class SearchResult:
    """One page of hits with highlights, the totals, and top values per facet over all matching articles."""

    total: int  # matching articles
    stories: int  # distinct stories among them
    page: int
    size: int
    collapsed: bool = False  # hits are stories (one per story_id), paged by story
    hits: list[dict[str, Any]] = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    mentioned_dates: list[tuple[str, int]] = field(default_factory=list)
    # When nothing matched: facet -> filter value that no article has -> the closest existing values.
    suggestions: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # facet -> filter value -> the canonical name it was read as (SearchRequest.names)
    names: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """Pages the user can reach (articles, or stories when collapsed, are what is paged)."""
        reachable = min(self.stories if self.collapsed else self.total, MAX_WINDOW)
        return max(1, -(-reachable // self.size))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form for `newsetl search --json`."""
        return {
            "total": self.total,
            "stories": self.stories,
            "page": self.page,
            "pages": self.pages,
            "size": self.size,
            "collapsed": self.collapsed,
            "hits": self.hits,
            "facets": {k: [{"value": v, "count": c} for v, c in vals] for k, vals in self.facets.items()},
            "mentioned_dates": [{"value": v, "count": c} for v, c in self.mentioned_dates],
            "suggestions": self.suggestions,
            "names": self.names,
        }


def _range(fld: str, low: date | None, high: date | None) -> list[dict[str, Any]]:
    bounds = {key: value.isoformat() for key, value in (("gte", low), ("lte", high)) if value}
    return [{"range": {fld: bounds}}] if bounds else []


def build_query(request: SearchRequest) -> dict[str, Any]:
    """The search body: bool query with filters, highlights, facet aggregations and optional story collapse."""
    must: list[dict[str, Any]] = []
    must_not: list[dict[str, Any]] = []
    if request.query and request.query.strip():
        parsed = parse_query(request.query, frozenset(FACET_FIELDS))
        must = [clause_query(c, request.names) for c in parsed.positive]
        must_not = [clause_query(c, request.names) for c in parsed.negative]
    filters = [facet_filter(facet, value, request.names.get(facet, {}).get(value))
               for facet, values in request.filters.items() for value in values]
    filters += _range("published_at", request.published_from, request.published_to)
    filters += _range("mentioned_dates", request.mentioned_from, request.mentioned_to)
    aggs: dict[str, Any] = {facet: {"terms": {"field": fld, "size": request.facet_size}}
                            for facet, fld in FACET_FIELDS.items()}
    aggs["mentioned_dates"] = {"terms": {"field": "mentioned_dates.value", "size": request.facet_size}}
    aggs["stories"] = {"cardinality": {"field": "story_id"}}
    body: dict[str, Any] = {
        "query": {"bool": {"must": must or [{"match_all": {}}], "must_not": must_not, "filter": filters}},
        "sort": SORTS[request.sort],
        "from": (request.page - 1) * request.size,
        "size": request.size,
        "_source": _HIT_FIELDS,
        "highlight": {
            # The sub-fields too: a hit found through `.tokens` (AT&T) or `.exact` (US) is highlighted there.
            "fields": {**{f: {"fragment_size": 160, "number_of_fragments": 2}
                          for f in ("body", "body.exact", "body.tokens")},
                       **{f: {"number_of_fragments": 0} for f in ("title", "title.exact", "title.tokens")}},
            "pre_tags": [HIGHLIGHT_PRE],
            "post_tags": [HIGHLIGHT_POST],
        },
        "aggs": aggs,
        "track_total_hits": True,
    }
    if request.collapse:
        body["collapse"] = {"field": "story_id", "inner_hits": {
            "name": "copies", "size": 5, "_source": ["title", "source", "url", "published_at"],
            "sort": [{"published_at": {"order": "asc", "missing": "_last"}}]}}
    return body


def is_shouted(word: str) -> bool:
    """An ALL-CAPS word of two characters or more (`US`, `IT`, `WHO`, `G20`; not `I`): an acronym, matched
    case-exact first."""
    letters = [ch for ch in word if ch.isalpha()]
    return len(word) >= 2 and bool(letters) and word.isalnum() and all(ch.isupper() for ch in letters)


def _text_fields(field: str | None, sub: str = "") -> list[str]:
    names = [TEXT_FIELDS[field]] if field else list(TEXT_BOOSTS)
    return [f"{name}{sub}^{TEXT_BOOSTS[name]:g}" for name in names]


def facet_term_value(term: Term) -> str | None:
    """The whole facet value a `facet:value` term of the query compares (`person:"tony blair"` -> `tony blair`);
    None for a prefix or a term of no facet."""
    if term.field not in FACET_FIELDS or isinstance(term, Prefix):
        return None
    return " ".join(term.words) if isinstance(term, Phrase) else term.text


def term_query(term: Term, names: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """The Elasticsearch query for one term of the parsed query; the user's text only ever fills `query`/`value`.
    `names` (SearchRequest.names): a facet value read as an entity's canonical name matches that name too."""
    if term.field in FACET_FIELDS:  # person:"Tony Blair": the facet value, case and accents aside
        fld = f"{FACET_FIELDS[term.field]}.{FOLDED}"
        value = facet_term_value(term)
        if value is None:
            return {"prefix": {fld: {"value": fold(term.text)}}}
        canonical = (names or {}).get(term.field, {}).get(value)
        if canonical is None:
            return {"term": {fld: {"value": value}}}
        return {"bool": {"should": [{"term": {fld: {"value": name}}} for name in dict.fromkeys([canonical, value])],
                         "minimum_should_match": 1}}
    if isinstance(term, Prefix):
        # Prefixes are not analysed by Elasticsearch: matched against the folded, unstemmed `.tokens` words.
        return {"bool": {"should": [{"prefix": {f.split("^")[0]: {"value": fold(term.text)}}}
                                    for f in _text_fields(term.field, ".tokens")], "minimum_should_match": 1}}
    words = term.words if isinstance(term, Phrase) else (term.text,)
    text = " ".join(words)
    if any(_KEPT_WHOLE.search(w) for w in words):
        return {"multi_match": {"query": text, "type": "phrase", "fields": _text_fields(term.field, ".tokens")}}
    # type phrase: a quoted phrase is a real phrase, and so is a word the analyser splits ("e-mail", "2019/20").
    main = {"multi_match": {"query": text, "type": "phrase", "fields": _text_fields(term.field)}}
    if isinstance(term, Word) and is_shouted(term.text):
        exact = {"multi_match": {"query": text, "type": "phrase", "fields": _text_fields(term.field, ".exact"),
                                 "boost": EXACT_BOOST}}
        return {"bool": {"should": [exact, main], "minimum_should_match": 1}}
    return main


def clause_query(clause: Clause, names: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """One ANDed clause: its term, or any of its OR-ed alternatives."""
    queries = [term_query(t, names) for t in clause.alternatives]
    return queries[0] if len(queries) == 1 else {"bool": {"should": queries, "minimum_should_match": 1}}


def facet_filter(facet: str, value: str, canonical: str | None = None) -> dict[str, Any]:
    """A facet filter: the value compared case- and accent-insensitively (the `.folded` sub-field's normalizer),
    or its entity's `canonical` name when one is given (pipeline/search/names.py: "US" matches "United States");
    a country is matched by its ISO 3166 alpha-2 code, read from any code or name (pipeline/search/countries.py:
    "uk", "DEU", "United States of America"), or by its display name as stored. Raises UnknownCountry (a
    ValueError) for a country value that is neither."""
    folded: dict[str, Any] = {"term": {f"{FACET_FIELDS[facet]}.{FOLDED}": value}}
    if canonical is not None:
        folded = {"bool": {"should": [{"term": {f"{FACET_FIELDS[facet]}.{FOLDED}": name}}
                                      for name in dict.fromkeys([canonical, value])], "minimum_should_match": 1}}
    if facet == "country":
        code = {"term": {"entities.country_code": country_code(value)}}
        return {"bool": {"should": [folded, code], "minimum_should_match": 1}}
    return folded


def search(store: Store, request: SearchRequest) -> SearchResult:
    """Run a faceted search against the store's alias; InfrastructureError when the index is missing or the
    cluster fails (after the store's retries)."""
    body = build_query(request)
    try:
        response = store.search(what=f"search on {store.alias!r}", **body)
    except IndexMissing:
        message = f"index {store.alias!r} does not exist yet: run `newsetl ingest` or the DAG first"
        raise InfrastructureError(message) from None
    aggs = response.get("aggregations", {})
    stories = int(aggs.get("stories", {}).get("value", 0))
    total = int(response["hits"]["total"]["value"])
    return SearchResult(
        total=total, stories=stories, page=request.page, size=request.size, collapsed=request.collapse,
        hits=[_hit(h) for h in response["hits"]["hits"]],
        facets={facet: _buckets(aggs.get(facet)) for facet in FACET_FIELDS},
        mentioned_dates=_buckets(aggs.get("mentioned_dates")),
        suggestions=suggest_filters(store, request) if total == 0 and request.filters else {},
        names=request.names,
    )


def suggest_filters(store: Store, request: SearchRequest) -> dict[str, dict[str, list[str]]]:
    """For each filter value that no indexed article has (case and accents aside): the closest existing values
    of its facet, read from a terms aggregation over the whole index (at most SUGGEST_POOL distinct values, the
    most frequent). {facet: {value: [closest, ...]}}; values that exist are left out."""
    aggs = {facet: {"terms": {"field": FACET_FIELDS[facet], "size": SUGGEST_POOL}} for facet in request.filters}
    response = store.search(what=f"facet values of {store.alias!r}", size=0, aggs=aggs)
    out: dict[str, dict[str, list[str]]] = {}
    for facet, values in request.filters.items():
        existing = [value for value, _count in _buckets(response.get("aggregations", {}).get(facet))]
        known = {fold(value) for value in existing}
        for value in values:
            canonical = request.names.get(facet, {}).get(value)
            if fold(value) not in known and (canonical is None or fold(canonical) not in known):
                out.setdefault(facet, {})[value] = closest_values(value, existing)
    return out


def _hit(hit: dict[str, Any]) -> dict[str, Any]:
    highlight: dict[str, list[str]] = {}
    # body.exact / body.tokens count as body when body itself has no fragment
    for name, fragments in sorted(hit.get("highlight", {}).items(), key=lambda item: item[0].count(".")):
        highlight.setdefault(name.split(".")[0], fragments)
    out = {"id": hit["_id"], "score": hit.get("_score"), **hit.get("_source", {}), "highlight": highlight}
    copies = hit.get("inner_hits", {}).get("copies", {}).get("hits")
    if copies is not None:
        out["copies"] = int(copies["total"]["value"])
        out["copies_seen_in"] = [
            {"id": c["_id"], **{k: c.get("_source", {}).get(k) for k in ("title", "source", "url", "published_at")}}
            for c in copies["hits"] if c["_id"] != hit["_id"]
        ]
    return out


def _buckets(agg: dict[str, Any] | None) -> list[tuple[str, int]]:
    return [(str(b["key"]), int(b["doc_count"])) for b in (agg or {}).get("buckets", [])]
