"""The headline date line (`pubdate.headline_day`) and where it ranks among a page's date candidates
(`pubdate.publication_date` through `extract_page`). Every page here is written for the test."""

from __future__ import annotations

import pytest
from lxml.html import fromstring

from pipeline.clean.html import extract_page
from pipeline.clean.pubdate import PAGE_DATE_SOURCES, headline_day

BODY = ("<p>Dock workers returned to work on Monday after their union reached a wage agreement with the port "
        "authority.</p>"
        "<p>The union said members would vote on the agreement on Thursday, and the backlog should clear soon after "
        "that.</p>"
        "<p>Shipping lines had diverted dozens of vessels to other harbours during the two weeks of the strike, "
        "the port said.</p>")


def page(header: str = "", *, before: str = "", head: str = "", lang: str = "en", h1: str = "Port strike ends",
         body: str = BODY) -> str:
    """A news page: `before` above the <h1>, `header` between the <h1> and the body."""
    return (f'<html lang="{lang}"><head><title>Port strike ends | The Ledger</title>{head}</head><body>'
            f"<article>{before}<h1>{h1}</h1>{header}{body}</article></body></html>")


@pytest.mark.parametrize(("html", "expected"), [
    # the line under the headline, in the forms newsrooms write it
    (page("<p class='dateline'>Published 12 March 2019</p>"), "2019-03-12"),
    (page("<div><span>By Jane Doe</span></div><div>March 12, 2019 | 10:41</div>"), "2019-03-12"),
    (page("<p>Von Jana Berg | 12.03.2019, 10:41 Uhr</p>", lang="de"), "2019-03-12"),
    (page("<p>1. Februar 2022, Daniel Dillenburg</p>", lang="de"), "2022-02-01"),
    (page("<p>Publié le 12 mars 2019 à 10h41</p>", lang="fr"), "2019-03-12"),
    (page("<p>By Jane Doe · Nov. 3rd, 2023 5:19pm</p>"), "2023-11-03"),
    (page("<p>Posted 2019-03-12T10:41:00Z</p>"), "2019-03-12"),
    # just above the headline (a kicker with the date)
    (page(before="<p class='kicker'>Ports · 12 March 2019</p>"), "2019-03-12"),
    # the update is the revision, not the publication
    (page("<p>Published 12 March 2019 · Updated 14 March 2019</p>"), "2019-03-12"),
    (page("<p>Updated 14 March 2019</p>"), None),
    (page("<p>Aktualisiert: 14.03.2019, 10:27</p>", lang="de"), None),
    # outside the plausible range: before 1990, after today
    (page("<p>Published 12 March 1985</p>"), None),
    (page("<p>Published 12 March 2999</p>"), None),
    # a date further down, beyond the lines next to the headline, is a date in the story
    (page(body=BODY * 2 + "<p>12 March 2019</p>"), None),
    # a standfirst between the headline and the date line
    (page("<p class='standfirst'>Dock workers return after their union reaches a wage agreement with the port "
          "authority, ending two weeks of strikes.</p><p>12 March 2019</p>"), "2019-03-12"),
    # a date inside a long line is prose, not a date line
    (page("<p>The union first called the strike on 12 March 2019, when talks with the port authority over the "
          "wage agreement broke down.</p>"), None),
    # no date near the headline at all
    (page(), None),
])
def test_the_date_line_next_to_the_headline(html, expected):
    assert headline_day(fromstring(html)) == expected


@pytest.mark.parametrize(("html", "expected"), [
    # the site's logo is the first <h1>; the <h2> that agrees with the title is the headline
    ("<html><head><title>Port strike ends after two weeks | KBS WORLD</title></head><body>"
     "<header><h1>KBS WORLD</h1><p>Today 1 December 2023</p></header>"
     "<main><h2>Port strike ends after two weeks</h2><p>Written: 2023-11-07 15:03:30</p>" + BODY + "</main>"
     "</body></html>", "2023-11-07"),
    # no headline: the byline block's own line
    ("<html><body><div class='byline'>By Jane Doe, 12 March 2019</div>" + BODY + "</body></html>", "2019-03-12"),
])
def test_the_headline_is_the_heading_that_agrees_with_the_title(html, expected):
    assert headline_day(fromstring(html)) == expected


@pytest.mark.parametrize(("lang", "month_first", "expected"), [
    # 11/08/23 reads either way: month first on a page in US English, day first elsewhere
    ("en-US", True, "2023-11-08"),
    ("en-GB", False, "2023-08-11"),
    # the order is CLDR's for the declared locale, not a list of tags: English of the Philippines is month-first too
    ("en-PH", True, "2023-11-08"),
    ("en_US", True, "2023-11-08"),
    ("fr", False, "2023-08-11"),
])
def test_a_numeric_date_line_follows_the_pages_locale(lang, month_first, expected):
    tree = fromstring(page("<p>By Jane Doe • 11/08/23 5:19pm</p>", lang=lang))
    assert headline_day(tree, month_first=month_first) == expected
    assert extract_page(page("<p>By Jane Doe • 11/08/23 5:19pm</p>", lang=lang)).published == expected


LINE = "<p>Published 12 March 2019</p>"
ISSUE_URL = "https://ledger.example/2019/03/10/port-strike"


@pytest.mark.parametrize(("head", "body", "url", "expected"), [
    # the headline's date line beats a day in the URL (a print issue's) ...
    ("", BODY, ISSUE_URL, ("2019-03-12", "headline")),
    # ... a day stated without saying it is the publication day ...
    ("<meta name='date' content='2019-03-01'>", BODY, None, ("2019-03-12", "headline")),
    # ... and a day htmldate takes from the story's text further down
    ("", BODY + "<p>Photo taken 2 March 2019</p>", None, ("2019-03-12", "headline")),
    # a JSON-LD or <meta> datePublished beats it
    ("<meta property='article:published_time' content='2019-03-11T08:00:00Z'>", BODY, None, ("2019-03-11", "meta")),
    ('<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2019-03-11"}</script>',
     BODY, None, ("2019-03-11", "jsonld")),
    ('<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2019-03-01"}</script>',
     BODY, ISSUE_URL, ("2019-03-01", "jsonld")),
    # the day htmldate finds and the date line agree: where htmldate found it is kept
    ("<meta property='article:published_time' content='2019-03-12T08:00:00Z'>", BODY, None, ("2019-03-12", "meta")),
    ("", BODY, None, ("2019-03-12", "text")),
])
def test_where_the_headline_date_ranks(head, body, url, expected):
    extracted = extract_page(page(LINE, head=head, body=body), url=url)
    assert (extracted.published, extracted.published_source) == expected


def test_a_headline_date_is_a_page_date_for_the_clean_stage():
    # the clean stage applies a page date's plausible range (1990 on) to it, not a stated input's (1900 on)
    assert "headline" in PAGE_DATE_SOURCES
