"""The query language: parsing into the typed tree, its errors, and the Elasticsearch query built from it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.search.query import FACET_FIELDS, SearchRequest, build_query, clause_query, fold, is_shouted
from pipeline.search.syntax import Clause, Phrase, Prefix, Query, QuerySyntaxError, Word, parse_query, to_text

FACETS = frozenset(FACET_FIELDS)


def c(*terms, negated=False):
    return Clause(tuple(terms), negated)


@pytest.mark.parametrize(("text", "expected"), [
    ("interest rates", (c(Word("interest")), c(Word("rates")))),
    ('"interest rates"', (c(Phrase(("interest", "rates"))),)),
    ('"interest   rates"  bank', (c(Phrase(("interest", "rates"))), c(Word("bank")))),
    ("rates OR prices bank", (c(Word("rates"), Word("prices")), c(Word("bank")))),
    ("a OR b OR c", (c(Word("a"), Word("b"), Word("c")),)),
    ("rates or prices", (c(Word("rates")), c(Word("or")), c(Word("prices")))),  # lower-case or is a word
    ("bank -england", (c(Word("bank")), c(Word("england"), negated=True))),
    ('bank -"bank of england"', (c(Word("bank")), c(Phrase(("bank", "of", "england")), negated=True))),
    ("title:US", (c(Word("US", "title")),)),
    ('Title:"São Paulo"', (c(Phrase(("São", "Paulo"), "title")),)),
    ("text:rates -title:rates", (c(Word("rates", "text")), c(Word("rates", "title"), negated=True))),
    ("infla*", (c(Prefix("infla")),)),
    ("title:infla*", (c(Prefix("infla", "title")),)),
    ('person:"tony blair"', (c(Phrase(("tony", "blair"), "person")),)),
    ("well-known 10:30 note: x", (c(Word("well-known")), c(Word("10:30")), c(Word("note:")), c(Word("x")))),
    ('"title:" rates', (c(Phrase(("title:",))), c(Word("rates")))),  # quoted: the word, searched
    ("AT&T C++ U.S.", (c(Word("AT&T")), c(Word("C++")), c(Word("U.S.")))),
    ("a*b ** *", (c(Word("a*b")), c(Word("**")), c(Word("*")))),
    ('say"hi"', (c(Word('say"hi"')),)),  # a quote inside a word is a character
])
def test_parse(text, expected):
    assert parse_query(text, FACETS) == Query(expected)


@pytest.mark.parametrize(("text", "message"), [
    ('"interest rates', "unclosed quote"),
    ('""', "empty phrase"),
    ("foo:bar", "unknown field 'foo'"),
    ('foo:"a b"', "unknown field 'foo'"),
    ("OR rates", "OR needs a term on each side"),
    ("rates OR", "ends with OR"),
    ("rates OR OR prices", "OR needs a term on each side"),
    ("rates OR -prices", "OR cannot join an exclusion"),
    ("-rates OR prices", "OR needs a term on each side"),
    ("bank -", 'lone "-"'),
    ("i*", "at least 2 characters"),
    ("   ", "no words"),
    # A known field with nothing after the colon names itself and where it is (1-based).
    ("title:", "'title:' at character 1 has no value"),
    ("rates title: bank", "'title:' at character 7 has no value"),
    ("rates -text:", "'-text:' at character 7 has no value"),
    ("person:", "'person:' at character 1 has no value"),
])
def test_parse_errors_say_what_is_wrong(text, message):
    with pytest.raises(QuerySyntaxError, match=message.replace("(", r"\(").replace("*", r"\*")):
        parse_query(text, FACETS)


QUERYISH = st.lists(st.sampled_from(
    ["rates", "US", "São", "AT&T", "C++", " ", " ", " OR ", "-", '"', "title:", "text:", "person:", "*", "ab*",
     "x", ":", "10:30", "é"]), max_size=25).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=QUERYISH)
def test_canonical_text_parses_to_the_same_tree(text):
    try:
        parsed = parse_query(text, FACETS)
    except QuerySyntaxError:
        return
    assert parse_query(to_text(parsed), FACETS) == parsed
    assert parsed.clauses  # a parsed query always has a term


@pytest.mark.parametrize(("word", "shouted"), [
    ("US", True), ("IT", True), ("WHO", True), ("G20", True), ("Us", False), ("I", False), ("us", False),
    ("AT&T", False), ("20", False), ("ÉU", True),
])
def test_all_caps_words_are_acronyms(word, shouted):
    assert is_shouted(word) is shouted


def one(text):
    return clause_query(parse_query(text, FACETS).clauses[0])


def test_a_quoted_phrase_is_a_phrase_query_over_title_and_text():
    assert one('"interest rates"') == {"multi_match": {
        "query": "interest rates", "type": "phrase", "fields": ["title^3", "body^1"]}}


def test_an_all_caps_word_is_boosted_in_the_case_exact_sub_field():
    query = one("US")
    exact, main = query["bool"]["should"]
    assert exact["multi_match"]["fields"] == ["title.exact^3", "body.exact^1"] and exact["multi_match"]["boost"] > 1
    assert main["multi_match"]["fields"] == ["title^3", "body^1"]
    assert "bool" not in one("Us")


@pytest.mark.parametrize("word", ["AT&T", "C++", "U.S.", "C#", "@reuters"])
def test_words_with_inner_symbols_are_searched_whole_in_the_tokens_sub_field(word):
    assert one(word)["multi_match"]["fields"] == ["title.tokens^3", "body.tokens^1"]


def test_prefixes_are_folded_and_search_the_tokens_sub_field():
    query = one("title:Sâo*")
    assert query == {"bool": {"should": [{"prefix": {"title.tokens": {"value": "sao"}}}], "minimum_should_match": 1}}


def test_field_prefixes_restrict_the_fields():
    assert one("text:rates")["multi_match"]["fields"] == ["body^1"]
    assert one('person:"Tony Blair"') == {"term": {"entities.person.folded": {"value": "Tony Blair"}}}
    assert one("place:sao*") == {"prefix": {"entities.place.folded": {"value": "sao"}}}


def test_or_alternatives_and_exclusions_become_should_and_must_not():
    body = build_query(SearchRequest(query="rates OR prices -bank"))["query"]["bool"]
    assert [q["multi_match"]["query"] for q in body["must"][0]["bool"]["should"]] == ["rates", "prices"]
    assert body["must"][0]["bool"]["minimum_should_match"] == 1
    assert [q["multi_match"]["query"] for q in body["must_not"]] == ["bank"]


def test_only_exclusions_match_everything_else():
    body = build_query(SearchRequest(query="-bank"))["query"]["bool"]
    assert body["must"] == [{"match_all": {}}] and body["must_not"][0]["multi_match"]["query"] == "bank"


def test_a_bad_query_is_refused_when_the_request_is_made():
    with pytest.raises(ValueError, match="unclosed quote"):
        SearchRequest(query='"rates')


@pytest.mark.parametrize(("text", "folded"), [("São Paulo", "sao paulo"), ("ÉCOLE", "ecole"), ("naïve", "naive")])
def test_fold(text, folded):
    assert fold(text) == folded
