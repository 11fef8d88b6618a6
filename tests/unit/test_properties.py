"""Property-based checks: the cleaner and the date normaliser never raise and keep their invariants."""

import re
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.clean.article import clean_article
from pipeline.clean.html import extract_page
from pipeline.core.records import Article, RawArticle, Rejection
from pipeline.core.text import normalize_text, recase_shouting
from pipeline.enrich.dates import find_dates

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
ISO_VALUE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")
# News-like text: fragments that exercise the date rules and the cleaner, glued together at random.
NEWSY = st.lists(st.sampled_from(
    list("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;-'\"\n\t\x00\x07é’") +
    ["Monday", " on Friday", " June 28, 2019", " last year", " 2019", " two days ago", " will ", " said ",
     "<p>", "</p>", "<script>x()</script>", "&amp;", " U.S. ", "Feb. 30", " 31 April", " May", " mid-",
     "Saturday, ", " of next year", " 12/31/1999", "1999-02-29"]), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=NEWSY, dct=st.one_of(st.none(), st.dates(min_value=date(1900, 3, 1), max_value=date(2099, 10, 1))))
def test_find_dates_never_raises_and_values_are_valid_dates(text, dct):
    for mention in find_dates(text, dct):
        assert ISO_VALUE.fullmatch(mention.value)
        assert text[mention.start:mention.end] == mention.text
        parts = [int(p) for p in mention.value.split("-")]
        date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)  # a real date
        assert 1800 <= parts[0] <= 2200


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400))
def test_normalize_text_removes_control_characters(text):
    cleaned = normalize_text(text)
    assert not CONTROL.search(cleaned)
    assert cleaned == cleaned.strip()


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_recasing_keeps_length(text):
    assert len(recase_shouting(text)) == len(text)


@settings(max_examples=150, deadline=None)
@given(html=NEWSY, fmt=st.sampled_from(["html", "text"]),
       published=st.one_of(st.none(), st.text(max_size=30), st.sampled_from(
           ["2019-02-30", "2999-01-01", "1899-12-31", "2026-11-25", "2026-11-24T23:59:59Z", "June 31, 2019",
            "0000-00-00", "2019-06-25T10:00:00+14:00", "20190625", "1e10", "-2019-01-01"])))
def test_clean_article_returns_an_article_or_a_rejection(html, fmt, published):
    result = clean_article(RawArticle(ref="r", source="s", format=fmt, content=html, published=published),
                           now=datetime(2026, 11, 24, tzinfo=UTC))
    assert isinstance(result, (Article, Rejection))
    if isinstance(result, Article):
        if fmt == "html":  # markup is removed from pages; in plain text "<p>" is just characters
            assert "<script" not in result.body and "<p>" not in result.body
        assert not CONTROL.search(result.body + result.title)
        if result.published_at:  # well-formed, a real date, not before 1900 and not after the run
            published = datetime.fromisoformat(result.published_at.replace("Z", "+00:00"))
            assert published.year >= 1900 and published.date() <= date(2026, 11, 24)


@settings(max_examples=100, deadline=None)
@given(html=st.text(max_size=500))
def test_extract_page_never_raises(html):
    page = extract_page(html)
    assert not CONTROL.search(page.text)
