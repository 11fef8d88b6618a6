"""Cleaning keeps paragraphs and the title, drops page furniture, and rejects input without article text."""

from datetime import UTC, datetime

import pytest

from pipeline.clean.article import clean_article, truncate_words
from pipeline.clean.html import extract_page, extract_with_bs4
from pipeline.core.records import Article, RawArticle, Rejection
from pipeline.core.text import first_sentence, normalize_text

NOW = datetime(2026, 11, 24, tzinfo=UTC)

PAGE = """<html lang="en"><head><title>Port strike ends | Ledger</title>
<meta property="article:published_time" content="2019-06-24T16:30:00+02:00">
<style>p { color: red }</style><script>var tracking = "do not index me";</script></head>
<body><nav><a href="/">Home</a><a href="/ports">Ports</a></nav>
<article><h1>Port strike ends</h1>
<p>Dock workers returned to work on Monday after their union reached a wage agreement.</p>
<p>The union said members would vote on the agreement on Thursday, and the backlog should clear soon.</p>
</article><footer>Copyright 2019 Ledger</footer></body></html>"""


def test_html_page_keeps_paragraphs_and_drops_furniture():
    page = extract_page(PAGE)
    assert page.title == "Port strike ends"
    assert page.published == "2019-06-24"
    paragraphs = page.text.split("\n\n")
    # trafilatura keeps the in-article headline as the first block; the title already says it, the body does not
    assert paragraphs[0].startswith("Dock workers returned") and paragraphs[1].startswith("The union said")
    assert len(paragraphs) == 2
    for furniture in ("do not index me", "color: red", "Home", "Copyright"):
        assert furniture not in page.text


@pytest.mark.parametrize("extract", [extract_page, extract_with_bs4])
def test_short_pages_lose_navigation_and_keep_paragraphs(extract):
    page = extract("<html><body><nav>Menu</nav><div><p>Short one.</p><p>Two words.</p></div>"
                   "<footer><p>Footer</p></footer><script>s()</script></body></html>")
    assert page.text == "Short one.\n\nTwo words."


def raw(content, fmt="text", **fields):
    return RawArticle(ref="ref", source="landing", format=fmt, content=content, **fields)


def test_text_article_gets_title_from_first_sentence_and_keeps_paragraphs():
    article = clean_article(raw("First sentence of the U.S. story here. Second.\n\nNext  paragraph\nwraps."), now=NOW)
    assert isinstance(article, Article)
    assert article.title == "First sentence of the U.S. story here."
    assert article.body == "First sentence of the U.S. story here. Second.\n\nNext paragraph wraps."
    assert article.language == "en"


@pytest.mark.parametrize(
    ("content", "fmt", "reason"),
    [
        ("<html><head><script>x()</script><style>a{}</style></head><body></body></html>", "html",
         "no article text found in the HTML page"),
        ("Too short.", "text", "too little text"),
    ],
)
def test_input_without_article_text_is_rejected(content, fmt, reason):
    result = clean_article(raw(content, fmt), now=NOW)
    assert isinstance(result, Rejection) and result.stage == "clean" and reason in result.reason


def test_impossible_date_keeps_the_article_undated_with_the_reason():
    article = clean_article(raw("A perfectly good article body with words.", published="2019-02-30"), now=NOW)
    assert article.published_at is None and article.published_at_source is None
    assert "unparseable date '2019-02-30'" in article.extra["published_error"]


def test_stated_dates_are_trusted_further_back_than_page_dates():
    # Page dates before 1990 are refused (see test_dates); a date the input states is kept back to 1900.
    wire = clean_article(raw("Cocoa showers continued in Bahia this week.", published="1987-02-26T15:01:01"), now=NOW)
    assert wire.published_at == "1987-02-26T15:01:01Z"
    ancient = clean_article(raw("Cocoa showers continued in Bahia this week.", published="1850-01-01"), now=NOW)
    assert ancient.published_at is None and "before 1900" in ancient.extra["published_error"]


def test_published_input_field_wins_over_page_metadata():
    article = clean_article(raw(PAGE, "html", published="2019-06-25T08:00:00Z"), now=NOW)
    assert (article.published_at, article.published_at_source) == ("2019-06-25T08:00:00Z", "input")
    page_dated = clean_article(raw(PAGE, "html"), now=NOW)
    assert (page_dated.published_at, page_dated.published_at_source) == ("2019-06-24", "meta")


def test_page_authors_site_and_date_source_reach_the_article():
    head = ('<meta property="og:site_name" content="The Ledger"><meta name="author" content="By Jane Doe">'
            '</head>')
    article = clean_article(raw(PAGE.replace("</head>", head), "html"), now=NOW)
    assert article.authors == ("Jane Doe",) and article.site_name == "The Ledger"
    assert Article.from_dict(article.to_dict()) == article


@pytest.mark.parametrize(("stated", "expected"), [
    ("2019-06-24T16:30:00+02:00", ("2019-06-24", "meta")),
    ("1985-06-24T16:30:00+02:00", (None, None)),  # a page's own date before 1990 is a misreading
    ("2027-06-24T16:30:00+02:00", (None, None)),  # after the run: never a publication date
])
def test_page_dates_outside_1990_to_now_leave_the_article_undated(stated, expected):
    # (without the footer: htmldate reads a copyright year as 1 January of that year)
    html = PAGE.replace("2019-06-24T16:30:00+02:00", stated).replace("<footer>Copyright 2019 Ledger</footer>", "")
    article = clean_article(raw(html, "html"), now=NOW)
    assert (article.published_at, article.published_at_source) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("caf\u00c3\u00a9", "caf\u00e9"),  # mojibake repaired
        ("a\x00b\x07c", "abc"),  # control characters dropped
        ("a \u00a0  b\r\nc", "a b\nc"),  # spaces collapsed, newlines kept
        ("e\u0301", "\u00e9"),  # NFC
    ],
)
def test_normalize_text(text, expected):
    assert normalize_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The U.S. said it will go. Then more.", "The U.S. said it will go."),
        ("\u201cIt is over.\u201d Said Mr. Smith. Next.", "\u201cIt is over.\u201d"),
        ("No full stop at all", "No full stop at all"),
        ("word " * 60, ("word " * 32).strip() + "\u2026"),
    ],
)
def test_first_sentence(text, expected):
    assert first_sentence(text) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("one two\n\nthree four\n\nfive", 4, "one two\n\nthree four"),
        ("one two\n\nthree four\n\nfive", 5, "one two\n\nthree four\n\nfive"),
        ("one two three four five", 3, "one two three"),  # a single long paragraph is cut by words
        ("one two\n\nthree four five six", 3, "one two"),  # whole paragraphs only once one fits
    ],
)
def test_truncate_words_keeps_whole_paragraphs(text, limit, expected):
    assert truncate_words(text, limit) == expected


def test_overlong_article_is_cut_and_the_cut_recorded(monkeypatch):
    monkeypatch.setattr("pipeline.clean.article.MAX_BODY_WORDS", 10)
    article = clean_article(raw("Seven words make up this first paragraph.\n\nAnd five more words here.\n\nEnd."),
                            now=NOW)
    assert article.body == "Seven words make up this first paragraph."
    assert article.extra["truncated_from_words"] == 13
    assert article.warnings == ("body cut to 7 of 13 words (limit 10)",)


def test_oversized_page_is_rejected_unless_scripts_and_styles_made_it_big(monkeypatch):
    monkeypatch.setattr("pipeline.clean.article.MAX_HTML_CHARS", 2000)
    padding = "<script>var x = '" + "y" * 5000 + "';</script><!-- " + "z" * 3000 + " -->"
    result = clean_article(raw(PAGE.replace("</head>", padding + "</head>"), "html"), now=NOW)
    assert isinstance(result, Article) and result.title == "Port strike ends"
    result = clean_article(raw(PAGE + "<div>" + "<span>filler</span>" * 200 + "</div>", "html"), now=NOW)
    assert isinstance(result, Rejection) and "page too large" in result.reason


def test_invalid_date_is_reported_as_a_warning():
    article = clean_article(raw("A perfectly good article body with words.", published="2999-01-01"), now=NOW)
    assert article.published_at is None and article.warnings[0].startswith("indexed undated: ")
