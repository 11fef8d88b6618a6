"""The order of an article's numeric dates: CLDR locale orders, the precedence of source, record, page and
language, and how the order reaches the record, the source config and the cleaned article."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pipeline.clean.article import clean_article
from pipeline.collect.config import SourceConfig
from pipeline.collect.files import raw_article_from_record
from pipeline.collect.sources import with_source_settings
from pipeline.core.dateorder import article_date_order, day_first, order_of_locale, parse_date_order
from pipeline.core.records import Article, RawArticle
from pipeline.enrich.dates_locale import find_mentioned_dates

NOW = datetime(2019, 6, 25, 12, tzinfo=UTC)
TEXT = "The two companies signed the agreement on 7/8/07 in London, a spokesman said on Tuesday evening."


@pytest.mark.parametrize(("tag", "expected"), [
    ("en-GB", "DMY"), ("en_GB", "DMY"), ("EN-gb", "DMY"), ("en-IN", "DMY"), ("en-AU", "DMY"), ("en-001", "DMY"),
    ("en-US", "MDY"), ("en_US", "MDY"), ("en-PH", "MDY"),
    ("fr", "DMY"), ("fr-FR", "DMY"), ("de", "DMY"), ("de-AT", "DMY"), ("it", "DMY"), ("pt-BR", "DMY"),
    ("ja", "YMD"), ("fr-CA", "YMD"), ("en-CA", "YMD"),
    ("en", None),  # the United States and Britain disagree: no order for the language alone
    ("es", None),  # nor for Spanish (es-US, es-PA write month first)
    ("", None), (None, None), ("xx", None), ("not a locale", None), ("und", None), ("root", None),
    ("en-US, en", None),
    # a region CLDR has no locale for says no more than the language alone (Babel reads en-ZZ as en-US)
    ("en-ZZ", None), ("en-XX", None), ("fr-ZZ", "DMY"), ("fr-US", "DMY"), ("zz-ZZ", None),
    ("zh-Hant-TW", "YMD"), ("en_US.UTF-8", "MDY"),
])
def test_order_of_locale(tag, expected):
    assert order_of_locale(tag) == expected


@pytest.mark.parametrize(("source", "stated", "language", "source_language", "expected"), [
    ("MDY", ["en-GB"], "en", "en-GB", "MDY"),  # the source's (or record's) order first
    (None, ["en-GB"], "en", "en-US", "DMY"),  # then the article's stated locale
    (None, [None, "en-US"], "en", None, "MDY"),  # the page's when the input states none
    (None, ["en"], "en", "en-GB", "DMY"),  # "en" says nothing: the source's configured locale does
    (None, [None], "fr", "en-US", "DMY"),  # the article's language when all its countries agree
    (None, [None], "en", None, None),
    (None, [], None, None, None),
])
def test_article_date_order_precedence(source, stated, language, source_language, expected):
    assert article_date_order(source, stated, language, source_language) == expected


@pytest.mark.parametrize(("value", "expected"), [("dmy", "DMY"), (" MDY ", "MDY"), ("YMD", "YMD"), ("", None),
                                                 (None, None)])
def test_parse_date_order(value, expected):
    assert parse_date_order(value) == expected


@pytest.mark.parametrize("value", ["DM", "D/M/Y", 1])
def test_parse_date_order_refuses_other_values(value):
    with pytest.raises(ValueError, match="one of DMY, MDY, YMD"):
        parse_date_order(value)


@pytest.mark.parametrize(("order", "expected"), [("DMY", True), ("MDY", False), ("YMD", None), (None, None)])
def test_day_first(order, expected):
    assert day_first(order) is expected


def test_a_source_declares_its_order_and_a_record_its_own():
    source = SourceConfig(name="wire", kind="folder", location="x", date_order="dmy")
    assert source.date_order == "DMY"
    with pytest.raises(ValidationError, match="date order must be one of"):
        SourceConfig(name="wire", kind="folder", location="x", date_order="day first")
    own = RawArticle(ref="a", source="wire", format="text", content=TEXT, date_order="MDY")
    plain = RawArticle(ref="b", source="wire", format="text", content=TEXT)
    assert [r.date_order for r in with_source_settings([own, plain], source)] == ["MDY", "DMY"]


@pytest.mark.parametrize(("value", "order", "warnings"), [
    ("dmy", "DMY", ()),
    ("sometimes", None, ("ignored: date order must be one of DMY, MDY, YMD, got 'sometimes'",)),
    (None, None, ()),
])
def test_a_jsonl_record_states_its_order(value, order, warnings):
    raw = raw_article_from_record({"text": TEXT, "date_order": value}, ref="r", default_source="s")
    assert isinstance(raw, RawArticle) and (raw.date_order, raw.warnings) == (order, warnings)
    assert "date_order" not in raw.extra


@pytest.mark.parametrize(("html_lang", "expected"), [("en-GB", "DMY"), ("en-US", "MDY"), ("en", None),
                                                     ("fr-FR", "DMY")])
def test_a_pages_declared_locale_decides_the_order(html_lang, expected):
    html = (f"<html lang='{html_lang}'><head><title>Deal</title></head><body><article><h1>Deal</h1><p>{TEXT}</p>"
            "<p>The regulator will rule on the merger in the autumn, after a public consultation.</p></article>"
            "</body></html>")
    article = clean_article(RawArticle(ref="p", source="s", format="html", content=html), now=NOW)
    assert isinstance(article, Article) and article.date_order == expected


def test_the_article_order_reads_an_ambiguous_date_and_no_order_leaves_it_out():
    day = NOW.date()

    def value(order):
        return [d.value for d in find_mentioned_dates(TEXT, day, "en", day_first=day_first(order)) if "/" in d.text]

    assert (value("DMY"), value("MDY"), value(None), value("YMD")) == (["2007-08-07"], ["2007-07-08"], [], [])
    french = "L'accord a été signé le 7/8/2007 à Paris."
    assert [d.value for d in find_mentioned_dates(french, day, "fr")] == ["2007-08-07"]  # French: day first
    assert [d.value for d in find_mentioned_dates(french, day, "fr", day_first=False)] == ["2007-07-08"]


@pytest.mark.parametrize(("language", "text", "day_first_", "expected"), [
    ("fr", "L'accord a été signé le 7/8/07 à Paris.", True, ["2007-08-07"]),
    ("fr", "L'accord a été signé le 7/8/07 à Paris.", False, ["2007-07-08"]),
    ("fr", "L'accord a été signé le 07/08/2007 à Paris.", True, ["2007-08-07"]),
    ("de", "Der Vertrag wurde am 7.8.07 in Berlin unterzeichnet.", True, ["2007-08-07"]),
    ("it", "L'accordo è stato firmato il 7/8/07 a Roma.", True, ["2007-08-07"]),
    ("nl", "Het akkoord werd op 7-8-07 getekend.", True, []),  # a hyphen is no numeric-date separator here
    ("nl", "Het akkoord werd op 7/8/07 getekend.", True, ["2007-08-07"]),
    ("pl", "Umowę podpisano 31.12.99 w Warszawie.", True, ["1999-12-31"]),  # the century from the publication day
    ("es", "El acuerdo se firmó el 7/8/07 en Madrid.", None, []),  # no order known: a short date is left out
    ("de", "Der Vertrag wurde am 31.2.07 unterzeichnet.", True, []),  # no such day
])
def test_two_digit_years_are_read_in_every_language_when_the_order_is_known(language, text, day_first_, expected):
    found = find_mentioned_dates(text, NOW.date(), language, day_first=day_first_)
    assert [d.value for d in found if any(c.isdigit() for c in d.text)] == expected


def test_a_two_digit_year_needs_a_publication_day_for_its_century():
    assert find_mentioned_dates("Der Vertrag wurde am 7.8.07 unterzeichnet.", None, "de", day_first=True) == []
