"""Extraction rules, one small hand-written page each: what the page states, where the date comes from, the text."""

import json

import pytest
from lxml.html import fromstring

from pipeline.clean import html as clean_html
from pipeline.clean.html import extract_page
from pipeline.clean.pagemeta import read_metadata, split_authors
from pipeline.clean.pubdate import iso_day, url_day

BODY = ("<p>Dock workers returned to work on Monday after their union reached a wage agreement with the port.</p>"
        "<p>The union said members would vote on the agreement on Thursday, and the backlog should clear soon.</p>"
        "<p>Shipping lines had diverted dozens of vessels to other harbours during the two weeks of the strike.</p>")


def page(head: str = "", body: str = BODY, lang: str = "en") -> str:
    """A minimal news page: optional head markup, an <article> with three paragraphs."""
    return (f'<html lang="{lang}"><head><title>Port strike ends | The Ledger</title>{head}</head>'
            f"<body><article><h1>Port strike ends</h1>{body}</article></body></html>")


def jsonld(obj: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


NEWS_ARTICLE = {
    "@context": "https://schema.org", "@type": "NewsArticle", "headline": "Port strike ends after two weeks",
    "datePublished": "2019-06-24T16:30:00+02:00", "dateModified": "2019-06-26T09:00:00+02:00",
    "author": [{"@type": "Person", "name": "Jane Doe"}, {"@type": "Person", "name": "John Roe"}],
    "publisher": {"@type": "Organization", "name": "The Ledger"},
}


@pytest.mark.parametrize(("head", "field", "expected"), [
    (jsonld(NEWS_ARTICLE), "title", "Port strike ends after two weeks"),
    (jsonld(NEWS_ARTICLE), "authors", ("Jane Doe", "John Roe")),
    (jsonld(NEWS_ARTICLE), "site_name", "The Ledger"),
    # @graph with the author given by reference, as Yoast/WordPress pages write it
    (jsonld({"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "@id": "#site", "name": "Harbour Times"},
        {"@type": "Person", "@id": "#jane", "name": "Jane Doe"},
        {"@type": ["Article", "NewsArticle"], "headline": "Strike", "author": {"@id": "#jane"}}]}),
     "authors", ("Jane Doe",)),
    # ... or with no Article node, the post described as a WebPage whose author is a Person of the graph
    (jsonld({"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "@id": "#page", "name": "Strike", "author": {"@id": "#jane"}},
        {"@type": "Person", "@id": "#jane", "name": "Jane Doe"}]}),
     "authors", ("Jane Doe",)),
    (jsonld({"@type": "NewsArticle", "author": "By Jane Doe and John Roe"}), "authors", ("Jane Doe", "John Roe")),
    # a block broken by an unescaped quote elsewhere still names its author
    ('<script type="application/ld+json">{"@type": "NewsArticle", "author": {"@type": "Person", "name": "Jane Doe"},'
     ' "image": {"url": "<img src="/a.jpg">"}}</script>', "authors", ("Jane Doe",)),
    ('<script type="application/ld+json">{"@type": "NewsArticle",'
     ' "author": [{"name": "Jane Doe"}, {"name": "John Roe"}], "image": "<img src="/a.jpg">"}</script>',
     "authors", ("Jane Doe", "John Roe")),
    # a video or a breadcrumb list is not the article: its name is not the headline
    (jsonld({"@type": "VideoObject", "name": "Watch: the port", "uploadDate": "2019-01-01"}), "title", None),
    ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>', "title", None),
    ('<meta property="og:title" content="Port strike ends (OG)">', "title", "Port strike ends (OG)"),
    ('<meta name="author" content="Jane Doe">', "authors", ("Jane Doe",)),
    ('<meta name="byl" content="By Jane Doe, John Roe">', "authors", ("Jane Doe", "John Roe")),
    # a profile URL is not a name
    ('<meta property="article:author" content="https://facebook.com/jane">', "authors", ()),
    ('<meta property="og:site_name" content="The Ledger">', "site_name", "The Ledger"),
    ('<link rel="canonical" href="https://ledger.example/2019/06/24/strike">', "canonical_url",
     "https://ledger.example/2019/06/24/strike"),
    ('<link rel="canonical" href="/relative/path">', "canonical_url", None),
    ('<meta property="og:locale" content="en_GB">', "language", "en"),
])
def test_stated_metadata(head, field, expected):
    stated = read_metadata(fromstring(page(head, lang="")), None)
    assert getattr(stated, field) == expected


def test_stated_dates_keep_their_source_in_reading_order():
    html = page(jsonld(NEWS_ARTICLE) + '<meta property="article:published_time" content="2019-06-23T10:00:00Z">',
                body=BODY + '<time datetime="2019-06-22T08:00" pubdate>22 June</time>')
    stated = read_metadata(fromstring(html), "https://ledger.example/2019/06/21/strike")
    assert [(d.day, d.source) for d in stated.dates] == [
        ("2019-06-24", "jsonld"), ("2019-06-23", "meta"), ("2019-06-22", "time"), ("2019-06-21", "url")]
    assert stated.stated_source("2019-06-23") == "meta"
    assert stated.stated_source("2019-06-20") is None


@pytest.mark.parametrize(("value", "expected"), [
    ("2019-06-25T10:00:00Z", "2019-06-25"),
    (" 2019-06-25", "2019-06-25"),
    ("25 June 2019", None),
    ("2019-13-01", None),
    ("", None),
])
def test_iso_day(value, expected):
    assert iso_day(value) == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("https://ledger.example/2019/06/25/port-strike", "2019-06-25"),
    ("https://ledger.example/news/2019-06-25-port-strike.html", "2019-06-25"),
    ("https://ledger.example/20190625/port", "2019-06-25"),
    ("https://ledger.example/2019/06/port-strike", None),  # a month is not a publication day
    ("https://ledger.example/article/123456789", None),
    (None, None),
])
def test_url_day(url, expected):
    assert url_day(url) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("By Jane Doe", ["Jane Doe"]),
    ("Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
    ("Jane Doe; John Roe, Max Mustermann", ["Jane Doe", "John Roe", "Max Mustermann"]),
    ("von Max Mustermann und Erika Musterfrau", ["Max Mustermann", "Erika Musterfrau"]),
    ("@janedoe", []),
    ("https://ledger.example/authors/jane", []),
    ("Jane Doe is a reporter who has covered ports and shipping for the paper since 2004", []),
    # theme phrases around the link to an author's page
    ("View all posts by Daniel Lemire", ["Daniel Lemire"]),
    ("Zeige alle Beiträge von Petra Ruland", ["Petra Ruland"]),
    # agencies joined by a slash are two bylines
    ("det/dpa", ["det", "dpa"]),
    ("AP/Reuters", ["AP", "Reuters"]),
    ("facebook.com/jane.doe", []),
    ("Zum Profil von jesusfreak", ["jesusfreak"]),
    # the label of a byline is nobody's name
    ("Auteurs", []),
    ("Ursula von der Leyen", ["Ursula von der Leyen"]),
])
def test_split_authors(value, expected):
    assert split_authors(value) == expected


@pytest.mark.parametrize(("head", "body", "url", "expected"), [
    (jsonld(NEWS_ARTICLE), BODY, None, ("2019-06-24", "jsonld")),
    ('<meta property="article:published_time" content="2019-06-24T16:30:00Z">', BODY, None, ("2019-06-24", "meta")),
    ("", BODY + '<time datetime="2019-06-24T16:30:00Z" pubdate>Monday</time>', None, ("2019-06-24", "time")),
    ("", BODY, "https://ledger.example/2019/06/24/port-strike", ("2019-06-24", "url")),
    ("", '<p class="date">Published 24 June 2019</p>' + BODY, None, ("2019-06-24", "text")),
    ("", BODY, None, (None, None)),
    # a copyright line names a year, not a day: never 1 January of it
    ("", BODY + "<footer><p>© 2019 Ledger Media</p></footer>", None, (None, None)),
    ("", BODY + "<footer><p>Copyright 2015-2019 Ledger Media.</p></footer>", None, (None, None)),
    ('<meta property="article:published_time" content="2019-01-01T08:00:00Z">',
     BODY + "<footer><p>© 2019 Ledger Media</p></footer>", None, ("2019-01-01", "meta")),
    ("", '<p class="date">Published 24 June 2019</p>' + BODY + "<footer><p>© 2019 Ledger</p></footer>", None,
     ("2019-06-24", "text")),
])
def test_publication_date_and_where_it_came_from(head, body, url, expected):
    extracted = extract_page(page(head, body), url=url)
    assert (extracted.published, extracted.published_source) == expected


def test_original_date_wins_over_the_modification_date():
    extracted = extract_page(page('<meta property="article:published_time" content="2019-06-24T16:30:00Z">'
                                  '<meta property="article:modified_time" content="2019-06-26T09:00:00Z">'))
    assert (extracted.published, extracted.published_source) == ("2019-06-24", "meta")


def test_a_stated_date_after_today_is_not_the_publication_date():
    extracted = extract_page(page('<meta property="article:published_time" content="2999-01-01T00:00:00Z">'))
    assert extracted.published in (None, "2999-01-01")  # htmldate refuses it; the clean stage rejects the rest


def test_stated_title_and_authors_win_and_the_byline_fills_in():
    stated = extract_page(page(jsonld(NEWS_ARTICLE)))
    assert stated.title == "Port strike ends after two weeks"
    assert stated.authors == ("Jane Doe", "John Roe")
    assert stated.sources["title"] == "stated" and stated.sources["authors"] == "stated"
    bylined = extract_page(page(body='<p class="byline">By <span class="author">Jane Doe</span></p>' + BODY))
    assert bylined.title == "Port strike ends"  # the single <h1>
    assert bylined.authors == ("Jane Doe",)
    assert bylined.sources["authors"] == "byline"


def test_the_site_named_as_author_gives_way_to_a_byline_and_stays_when_there_is_none():
    head = '<meta property="og:site_name" content="The Ledger"><meta name="author" content="The Ledger">'
    bylined = extract_page(page(head, body='<p class="byline">By <span class="author">Jane Doe</span></p>' + BODY))
    assert bylined.authors == ("Jane Doe",)
    unsigned = extract_page(page(head))
    assert unsigned.authors == ("The Ledger",)
    # a "byline" of more names than a byline holds is a tag list the byline search ran into
    tagged = extract_page(page(head, body='<p class="byline">By Ports, Shipping, Unions, Europe and Trade</p>' + BODY))
    assert tagged.authors == ("The Ledger",)
    assert read_metadata(fromstring(page('<meta name="author" content="Ledger.com">')), None).site_authors == (
        "Ledger.com",)


def test_stated_article_body_replaces_a_text_that_misses_it():
    story = " ".join(f"Sentence {i} of the full story says something new about the strike." for i in range(12))
    # the visible text is another story (a teaser grid, a paywall page) long enough for trafilatura to keep it
    extracted = extract_page(page(jsonld({**NEWS_ARTICLE, "articleBody": story})))
    assert extracted.extractor == "jsonld"
    assert extracted.text.startswith("Sentence 0 of the full story")


def test_article_body_that_the_text_already_holds_changes_nothing():
    story = " ".join(p.removeprefix("<p>").removesuffix("</p>") for p in BODY.split("</p>") if p) * 3
    extracted = extract_page(page(jsonld({**NEWS_ARTICLE, "articleBody": story})))
    assert extracted.extractor == "trafilatura"
    assert extracted.text.split("\n\n")[1].startswith("Dock workers returned")


LONG_BODY = "".join(f"<p>Paragraph {i} of the long report on the strike goes on about the port and its ships "
                    f"for twenty words or so.</p>" for i in range(120))


@pytest.mark.parametrize(("body", "readings"), [
    # a short article: the precise reading, then the recall one asked whether it finds several times more
    (BODY, ["precision", "recall"]),
    # 2,000+ words in <p>: the recall reading alone
    (LONG_BODY, ["recall"]),
    # a precise reading of 150+ words stands
    (BODY * 5, ["precision"]),
])
def test_trafilatura_readings_by_page_length(monkeypatch, body, readings):
    asked = []
    real = clean_html._trafilatura

    def spy(tree, url, *, prune=True, focus="balanced"):
        asked.append(focus)
        return real(tree, url, prune=prune, focus=focus)

    monkeypatch.setattr(clean_html, "_trafilatura", spy)
    assert extract_page(page(body=body)).text
    assert asked == readings
