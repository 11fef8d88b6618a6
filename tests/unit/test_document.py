"""The document mapping, written once: every article field is stored or deliberately not, and survives a round trip."""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.facets import FACET_OF_LABEL
from pipeline.core.records import Article, DateMention, EnrichedArticle, Enrichment, EntityMention
from pipeline.index.document import (
    ARTICLE_FIELDS,
    DERIVED_FIELDS,
    NOT_STORED,
    content_hash,
    from_document,
    to_document,
)
from pipeline.index.mapping import mappings

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
OPTIONAL = st.one_of(st.none(), TEXT)
JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), TEXT),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(TEXT, inner, max_size=3)), max_leaves=8)
ARTICLES = st.builds(
    Article,
    doc_id=st.text(alphabet="0123456789abcdef", min_size=40, max_size=40),
    ref=TEXT.filter(bool), source=TEXT, title=TEXT, body=TEXT,
    url=OPTIONAL, language=st.one_of(st.none(), st.sampled_from(["en", "fr", "de"])),
    published_at=st.one_of(st.none(), st.dates().map(lambda d: d.isoformat())),
    published_at_source=st.one_of(st.none(), st.sampled_from(["input", "jsonld", "meta", "feed"])),
    extra=st.dictionaries(TEXT, JSON_VALUES, max_size=3),
    warnings=st.just(()),  # reported with the run, not stored (NOT_STORED)
    authors=st.lists(TEXT.filter(bool), max_size=3).map(tuple),
    site_name=OPTIONAL,
)
COORD = st.floats(-400, 400, allow_nan=False)
MENTIONS = st.lists(st.builds(EntityMention, text=TEXT, label=st.sampled_from(sorted(FACET_OF_LABEL)),
                              start=st.integers(0, 100), end=st.integers(0, 100), canonical=TEXT.filter(bool),
                              geonames_id=st.one_of(st.none(), st.integers(1, 10**8)),
                              country_code=st.one_of(st.none(), st.sampled_from(["DE", "US", "MM"])),
                              country=OPTIONAL, lat=st.one_of(st.none(), COORD), lon=st.one_of(st.none(), COORD)),
                    max_size=5).map(tuple)
DATES = st.lists(st.builds(DateMention, text=TEXT, start=st.integers(0, 9), end=st.integers(0, 9),
                           value=st.dates().map(lambda d: d.isoformat())), max_size=3).map(tuple)


@settings(max_examples=300, deadline=None)
@given(article=ARTICLES, entities=MENTIONS, dates=DATES)
def test_every_article_field_survives_to_document_and_back(article, entities, dates):
    item = EnrichedArticle(article, Enrichment(entities, dates))
    doc = to_document(item, pipeline_version="v")
    stored = json.loads(json.dumps(doc))  # what Elasticsearch hands back in _source
    assert from_document(article.doc_id, stored) == article
    assert content_hash(from_document(article.doc_id, stored), "v") == doc["content_hash"]
    # The enrichment's own round trip (staging files, `newsetl enrich --jsonl`) keeps every place field.
    assert Enrichment.from_dict(json.loads(json.dumps(item.enrichment.to_dict()))) == item.enrichment
    # Place fields reach the document: ids and codes as keyword values, one valid point per resolved place.
    assert set(stored["entities"]["geonames_id"]) == {str(m.geonames_id) for m in entities if m.geonames_id}
    assert set(stored["entities"]["country_code"]) == {m.country_code for m in entities if m.country_code}
    located = {m.geonames_id for m in entities if m.geonames_id and m.lat is not None and m.lon is not None
               and -90 <= m.lat <= 90 and -180 <= m.lon <= 180}
    assert len(stored["geo"]) == len(located)
    assert all(-90 <= p["lat"] <= 90 and -180 <= p["lon"] <= 180 for p in stored["geo"])


def test_each_article_field_is_stored_or_named_as_not_stored():
    fields = {f.name for f in dataclasses.fields(Article)}
    assert fields == set(ARTICLE_FIELDS) | set(NOT_STORED)
    assert not set(ARTICLE_FIELDS) & set(NOT_STORED)


def test_stored_and_derived_fields_are_all_in_the_mapping():
    mapped = set(mappings()["properties"])
    assert {field for field in ARTICLE_FIELDS.values() if field != "_id"} <= mapped
    assert set(DERIVED_FIELDS) <= mapped
    assert mapped == {field for field in ARTICLE_FIELDS.values() if field != "_id"} | set(DERIVED_FIELDS)


def test_a_document_written_before_a_field_existed_reads_it_as_empty():
    old = {"input_ref": "a.txt", "source": "landing", "title": "T", "body": "B", "url": None}
    article = from_document("abc", old)
    assert (article.authors, article.site_name, article.extra, article.language) == ((), None, {}, None)
    assert dataclasses.replace(article, doc_id="x").ref == "a.txt"
