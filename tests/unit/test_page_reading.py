"""Kinds of page-reading faults the libraries make (reported upstream against trafilatura, htmldate, newspaper and
feedparser), each fixed as a kind: headlines with the site name, bylines with dates, dates from URLs or other
scripts, listing pages read as one article. Every page here is written for the test."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml.html import fromstring

from pipeline.clean.html import extract_page, without_headline, without_teasers
from pipeline.clean.pagemeta import split_authors
from pipeline.clean.pagetype import teaser_blocks
from pipeline.clean.pubdate import cjk_day
from pipeline.clean.titles import strip_site_affix

PARAGRAPHS = "".join(
    f"<p>{text}</p>" for text in (
        "The council voted on Tuesday to close the old swimming baths after engineers found cracks in the roof.",
        "Residents who opposed the closure said the town had no other public pool within twenty kilometres.",
        "A spokesman for the council said a new leisure centre would be built within three years if funds allow.",
    )
)


def article_page(head: str = "", header: str = "", url_date_body: str = PARAGRAPHS, h1: str = "Baths to close") -> str:
    return (f"<html lang='en'><head><meta charset='utf-8'>{head}</head><body><article><h1>{h1}</h1>{header}"
            f"{url_date_body}</article></body></html>")


# --- titles --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("title", "site_name", "heading", "expected"), [
    # the site's name after a separator, or starting the last segment
    ("Baths to close - Harbour Gazette", "Harbour Gazette", None, "Baths to close"),
    ("Baths to close | Harbour Gazette Online Edition", "Harbour Gazette", None, "Baths to close"),
    ("Harbour Gazette — Baths to close", "Harbour Gazette", None, "Baths to close"),
    ("Baths to close · HARBOUR-GAZETTE", "Harbour Gazette", None, "Baths to close"),
    ("Baths to close - BBC", "BBC News", None, "Baths to close"),
    # no site name known: the <h1> says which part is the headline
    ("Will the baths close? - Gazette Co. Ltd", None, "Will the baths close?", "Will the baths close?"),
    # ... but not a head: an <h1> that is the title's last part is often the site's logo
    ("Will the baths close? :: Gazette", None, "Gazette", "Will the baths close? :: Gazette"),
    # a home page whose title is the site's name keeps it
    ("Gazette - Local News", "Gazette - Local News", None, "Gazette - Local News"),
    # a dash or colon inside the headline stays
    ("Covid-19 - the latest figures", "Harbour Gazette", None, "Covid-19 - the latest figures"),
    ("Brexit: what happens next", "Harbour Gazette", "Brexit: what happens next", "Brexit: what happens next"),
    # the page's own <h1> decides between headline and a short tail
    ("Baths to close - council confirms", "Harbour Gazette", "Baths to close", "Baths to close"),
    ("Baths to close - council confirms", "Harbour Gazette", None, "Baths to close - council confirms"),
    # a title that is only the site's name is kept rather than emptied
    ("Harbour Gazette", "Harbour Gazette", None, "Harbour Gazette"),
    ("Baths to close", None, None, "Baths to close"),
])
def test_the_site_name_is_cut_from_a_headline(title, site_name, heading, expected):
    assert strip_site_affix(title, site_name=site_name, heading=heading) == expected


@given(st.text(min_size=1, max_size=60).filter(str.strip), st.text(max_size=20), st.text(max_size=60))
def test_stripping_a_site_name_never_empties_or_lengthens_a_title(title, site_name, heading):
    result = strip_site_affix(title, site_name=site_name or None, heading=heading or None)
    assert result.strip() and len(result) <= len(title)


def test_an_og_title_with_the_site_name_gives_the_clean_h1_headline():
    head = ("<title>Will the baths close? - Gazette Co. %100 Local</title>"
            "<meta property='og:title' content='Will the baths close? - Gazette Co. %100 Local'>"
            "<meta property='og:site_name' content='Gazette'>")
    assert extract_page(article_page(head, h1="Will the baths close?")).title == "Will the baths close?"


# --- bylines ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("byline", "expected"), [
    ("By Ada Lindqvist · Published March 3, 2020 · Updated March 4, 2020", ["Ada Lindqvist"]),
    ("By Ada Lindqvist | Published 3 March 2020", ["Ada Lindqvist"]),
    ("Ada Lindqvist • Mar 3, 2020", ["Ada Lindqvist"]),
    ("By Ada Lindqvist and Tom Reyes · Updated Mar. 4", ["Ada Lindqvist", "Tom Reyes"]),
    ("Ada Lindqvist Published March 3, 2020", ["Ada Lindqvist"]),  # no separator at all
    ("Von Ada Lindqvist · Veröffentlicht am 3. März 2020", ["Ada Lindqvist"]),
    ("Par Ada Lindqvist | Publié le 3 mars 2020", ["Ada Lindqvist"]),
    ("By Ada Lindqvist, Staff Writer", ["Ada Lindqvist"]),  # a role is not a second author
    ("Ada Lindqvist, Senior Political Correspondent", ["Ada Lindqvist"]),
    ("Published March 3, 2020", []),  # only history: nobody, never a fragment
    ("By Ada Lindqvist · This story appears in the March 9, 2020, issue", ["Ada Lindqvist"]),
])
def test_a_byline_with_dates_and_roles_gives_the_names_only(byline, expected):
    assert split_authors(byline) == expected


def test_a_byline_paragraph_with_dates_keeps_the_author():
    header = "<p class='byline'>By Ada Lindqvist · Published March 3, 2020 · Updated March 4, 2020</p>"
    head = "<meta property='article:published_time' content='2020-03-03T08:00:00Z'>"
    assert extract_page(article_page(head, header)).authors == ("Ada Lindqvist",)


# --- publication dates -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("head", "url", "expected"), [
    # the article's stated publication day beats an issue day in the URL
    ("<meta property='article:published_time' content='2020-03-03T06:00:00-05:00'>",
     "https://gazette.example/2020/03/11/baths-to-close.html", ("2020-03-03", "meta")),
    ('<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2020-03-03"}</script>',
     "https://gazette.example/2020/03/11/baths-to-close.html", ("2020-03-03", "jsonld")),
    # with nothing stated, the URL's day is still read
    ("", "https://gazette.example/2020/03/11/baths-to-close.html", ("2020-03-11", "url")),
    # one day apart is a UTC timestamp against the publisher's local day in the URL: the URL's day stays
    ("<meta property='article:published_time' content='2020-03-10T23:30:00Z'>",
     "https://gazette.example/2020/03/11/baths-to-close.html", ("2020-03-11", "url")),
    # a <time> marked as published does not overrule the URL (pages list many: comments, related posts)
    ("<time datetime='2020-03-01T09:00:00Z' pubdate>1 March</time>",
     "https://gazette.example/2020/03/11/baths-to-close.html", ("2020-03-11", "url")),
    # an unlabelled <meta name=date> does not overrule (it may be a revision or an event day)
    ("<meta name='date' content='2020-03-01'>", "https://gazette.example/2020/03/11/baths.html", ("2020-03-11", "url")),
    # a URL naming a year and month only: the slug's number is not a day, the stated day stands
    ("<meta property='article:published_time' content='2020-03-30T06:00:00Z'>",
     "https://gazette.example/2020/03/5-reasons-the-baths-close/", ("2020-03-30", "meta")),
    ("<meta property='article:published_time' content='2020-03-30T06:00:00Z'>",
     "https://gazette.example/2020/03/baths-close/", ("2020-03-30", "meta")),
])
def test_a_stated_publication_day_beats_a_url_day(head, url, expected):
    result = extract_page(article_page(head), url=url)
    assert (result.published[:10] if result.published else None, result.published_source) == expected


@pytest.mark.parametrize(("header", "footer", "expected"), [
    # the article's microdata datePublished beats a day found only in the text
    ("<span itemprop='datePublished' content='2021-05-04T10:00'></span>", "Stand: 12.05.2021 10:16 Uhr",
     ("2021-05-04", "meta")),
    ("<div itemprop='datePublished' content='2021-05-04'></div><p class='date'>Aktualisiert 12.05.2021</p>", "",
     ("2021-05-04", "meta")),
    # two microdata days disagree: no statement to follow
    ("<span itemprop='datePublished' content='2021-05-04'></span><span itemprop='datePublished' "
     "content='2021-05-06'></span>", "Stand: 12.05.2021 10:16 Uhr", ("2021-05-12", "text")),
])
def test_a_microdata_publication_day_beats_a_day_from_the_text(header, footer, expected):
    html = article_page("", header).replace("</body>", f"<footer>{footer}</footer></body>")
    result = extract_page(html)
    assert (result.published, result.published_source) == expected


@pytest.mark.parametrize(("head", "written", "expected"), [
    # 11/01/2023 reads either way; the page's dotted day-first date says 1 November
    ("<meta name='date' content='11/01/2023 12:43:42'>", "Erstellt am: 01.11.2023", "2023-11-01"),
    ("<meta name='date' content='11/01/2023 12:43:42'>", "Erstellt am: 1. 11. 2023", "2023-11-01"),
    # the page writes htmldate's reading too: nothing settles the order, its reading stays
    ("<meta name='date' content='11/01/2023 12:43:42'>", "01.11.2023 and 11.01.2023", "2023-01-11"),
    # no dotted date at all
    ("<meta name='date' content='11/01/2023 12:43:42'>", "Created in 2023", "2023-01-11"),
])
def test_an_ambiguous_numeric_day_follows_the_pages_dotted_day_first_date(head, written, expected):
    # below the body, beyond the lines next to the headline (a date line there is read first: test_pubdate.py)
    html = article_page(head, url_date_body=PARAGRAPHS * 2 + f"<p>{written}</p>")
    assert extract_page(html).published == expected


@pytest.mark.parametrize(("header", "expected"), [
    ("<div class='meta'><span class='date'>2021年03月23日</span></div>", "2021-03-23"),
    ("<div class='meta'><span class='post-date'>2021年3月5日 14:00</span></div>", "2021-03-05"),
    ("<div class='meta'><span class='date'>2021년 3월 23일</span></div>", "2021-03-23"),
    ("<div class='meta'><span class='date'>２０２１年０３月２３日</span></div>", "2021-03-23"),  # full-width digits
])
def test_a_day_written_in_cjk_notation_is_read_not_guessed_as_1_january(header, expected):
    body = "<p>地方の商店街でキャッシュレス決済を導入する店舗が増えている。自治体の事業が後押しとなった。</p>" * 3
    html = (f"<html lang='ja'><head><meta charset='utf-8'></head><body><article><h1>見出し</h1>{header}{body}"
            f"</article><footer>© 2021</footer></body></html>")
    assert extract_page(html).published == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("発表日 2019年12月31日", "2019-12-31"),
    ("2019年2月30日 then 2019年3月1日", "2019-03-01"),  # an impossible day is skipped
    ("2019年 only", None),
])
def test_cjk_day(text, expected):
    assert cjk_day(fromstring(f"<html><body><p>{text}</p></body></html>")) == expected


# --- main text ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "title", "expected"), [
    ("Baths to close\n\nThe council voted.", "Baths to close", "The council voted."),
    ("BATHS TO CLOSE!\n\nThe council voted.", "Baths to close", "The council voted."),  # case, punctuation
    ("Baths to close for good\n\nThe council voted.", "Baths to close",
     "Baths to close for good\n\nThe council voted."),
    ("The council voted.\n\nBaths to close", "Baths to close", "The council voted.\n\nBaths to close"),
    ("Baths to close", "Baths to close", "Baths to close"),  # nothing but the headline: left to the word count
    ("Baths to close\n\nThe council voted.", None, "Baths to close\n\nThe council voted."),
])
def test_a_leading_paragraph_repeating_the_title_is_dropped(text, title, expected):
    assert without_headline(text, title) == expected


def test_extracted_text_starts_after_the_headline():
    page = extract_page(article_page("<title>Baths to close - Gazette</title>"))
    assert page.title == "Baths to close"
    assert page.text.startswith("The council voted on Tuesday")


MORE_STORIES = "".join(
    f"<div class='more'><h3><a href='/story/{n}'>{headline}</a></h3><p>{standfirst}</p></div>"
    for n, (headline, standfirst) in enumerate([
        ("Ferry fares to rise", "The harbour board approved higher fares for the island ferry from next spring."),
        ("Library hours cut", "Branch libraries will open on four days a week instead of six after budget cuts."),
    ])
)


def test_teasers_of_other_stories_are_not_article_text():
    html = article_page(url_date_body=PARAGRAPHS + MORE_STORIES)
    text = extract_page(html).text
    assert "The council voted on Tuesday" in text and "A spokesman for the council" in text
    assert "harbour board approved higher fares" not in text and "Branch libraries" not in text


@pytest.mark.parametrize(("text", "expected"), [
    # a paragraph inside the teasers goes; the article's own paragraphs and a short "More" stay
    ("The council voted.\n\nThe harbour board approved higher fares for the island ferry from next spring.\n\n"
     "More", "The council voted.\n\nMore"),
    # a paragraph only partly quoting a teaser is article text
    ("The harbour board approved higher fares for the island ferry, the mayor said on Monday, and the council "
     "will appeal the decision before the end of the year.", None),
    # nothing but teaser text: kept whole rather than emptied
    ("Branch libraries will open on four days a week instead of six after budget cuts.", None),
])
def test_without_teasers(text, expected):
    teasers = teaser_blocks(fromstring(f"<html><body><main>{MORE_STORIES}</main></body></html>"))
    assert len(teasers) == 2
    assert without_teasers(text, teasers) == (text if expected is None else expected)


@pytest.mark.parametrize("opening", ["<nav>", "<nav role='navigation'>"])
def test_an_article_inside_a_nav_element_is_still_read(opening):
    # some themes wrap the whole page in <nav> or role=navigation; pruning navigation must not lose the article
    html = (f"<html lang='en'><head><title>Baths to close</title></head><body>{opening}<article>"
            f"<h1>Baths to close</h1>{PARAGRAPHS}</article></nav></body></html>")
    page = extract_page(html)
    assert "The council voted on Tuesday" in page.text and page.extractor == "trafilatura"


# --- page type ----------------------------------------------------------------------------------------------------

def teaser(n: int) -> str:
    return (f"<div class='card'><h3><a href='/story/{n}'>Story number {n} about the harbour</a></h3>"
            f"<p>A short standfirst for story {n} that says what the story is about.</p><span>2 May 2025</span></div>")


SECTION_FRONT = ("<html><head><title>Harbour - Gazette</title></head><body><nav><a href='/'>Home</a></nav><main>"
                 "<h1>Harbour</h1>" + "".join(teaser(n) for n in range(6)) + "</main></body></html>")


@pytest.mark.parametrize(("html", "expected"), [
    (SECTION_FRONT, "listing"),
    # the page says what it is: a stated listing type needs the teasers too (SEO plugins call posts CollectionPage)
    (SECTION_FRONT.replace("<head>", '<head><script type="application/ld+json">{"@type": "CollectionPage"}</script>'),
     "listing"),
    ('<html><head><script type="application/ld+json">{"@type": "CollectionPage"}</script></head><body><article>'
     + PARAGRAPHS + "</article></body></html>", "article"),
    (SECTION_FRONT.replace("<head>", '<head><script type="application/ld+json">{"@type": "NewsArticle"}</script>'),
     "article"),
    (SECTION_FRONT.replace("<head>", "<head><meta property='og:type' content='article'>"), "article"),
    # an article with a box of related stories is an article: its main text is not the teasers'
    (article_page(url_date_body=PARAGRAPHS * 2 + "<section>" + "".join(teaser(n) for n in range(8)) + "</section>"),
     "article"),
    # three teasers are not yet a listing
    ("<html><body><main>" + "".join(teaser(n) for n in range(3)) + "</main></body></html>", "article"),
    # a short post: a quoted call with a linked heading and a comment form's heading that links into the page
    # are not teasers of other pages, so two related posts leave it an article
    ("<html><body><main><article><h1>Keep our waters clean</h1><blockquote><h4><a href='https://contest.example/'>"
     "Join the poster contest</a></h4><p>Children aged six to twelve can send a poster about clean water by "
     "April.</p></blockquote></article><div class='comment-respond'><h3>Leave a reply <a href='/clean/#respond'>"
     "Cancel reply</a></h3><p>Your email address will not be published.</p></div>"
     + "".join(teaser(n) for n in range(2)) + "</main></body></html>", "article"),
])
def test_a_listing_page_is_told_from_an_article(html, expected):
    assert extract_page(html, url="https://gazette.example/harbour").page_type == expected


def article_teaser(n: int, figure: str = "", tag: str = "article") -> str:
    # WordPress archive markup: each excerpt its own <article>, the heading's parent being that <article>
    return (f"<{tag} class='post'>{figure}<h2 class='entry-title'><a href='/2025/05/post-{n}/'>Post number {n} about"
            f" the harbour works</a></h2><p>A short excerpt for post {n} that says what the post is about and why it"
            f" matters.</p></{tag}>")


def archive(teasers: str) -> str:
    return ("<html><head><title>Harbour - Blog</title></head><body><header><h1>Blog</h1><nav><a href='/'>Home</a>"
            "</nav></header><main><h1>Category: Harbour</h1>" + teasers + "</main></body></html>")


FIGURE = "<figure><a href='/2025/05/post/'><img src='/harbour.jpg' alt=''></a></figure>"
RELATED_ARTICLES = ("<section class='related'><h2>Related stories</h2>"
                    + "".join(article_teaser(n) for n in range(3)) + "</section>")


@pytest.mark.parametrize(("html", "expected"), [
    # repeated teaser blocks are a listing whatever their element
    (archive("".join(article_teaser(n) for n in range(20))), "listing"),
    (archive("".join(article_teaser(n, tag="div") for n in range(20))), "listing"),
    (archive("<ul>" + "".join(article_teaser(n, tag="li") for n in range(20)) + "</ul>"), "listing"),
    (archive("".join(article_teaser(n, figure=FIGURE) for n in range(20))), "listing"),
    # a real article with an <article> "related stories" box of three items, inside or after its own <article>
    (article_page(url_date_body=PARAGRAPHS * 2 + RELATED_ARTICLES), "article"),
    (article_page(url_date_body=PARAGRAPHS * 2).replace("</article>", "</article>" + RELATED_ARTICLES), "article"),
    # ... and with a longer box of six, still a minority of its words
    (article_page(url_date_body=PARAGRAPHS * 3 + "".join(article_teaser(n) for n in range(6))), "article"),
])
def test_teasers_in_article_elements_are_teasers(html, expected):
    assert extract_page(html, url="https://blog.example/category/harbour/").page_type == expected


@pytest.mark.parametrize(("teasers", "count", "holds"), [
    # the block is the whole card, excerpt included, not the heading alone
    ("".join(article_teaser(n) for n in range(5)), 5, "why it matters"),
    ("".join(article_teaser(n, figure=FIGURE) for n in range(5)), 5, "why it matters"),
])
def test_a_teaser_block_is_its_card(teasers, count, holds):
    blocks = teaser_blocks(fromstring(archive(teasers)))
    assert len(blocks) == count and all(holds in block.text_content() for block in blocks)


def test_a_section_front_gives_no_text_and_its_page_type():
    page = extract_page(SECTION_FRONT, url="https://gazette.example/harbour")
    assert (page.text, page.page_type, page.published) == ("", "listing", None)


def test_the_clean_stage_rejects_a_listing_page_with_its_reason():
    from datetime import UTC, datetime

    from pipeline.clean.article import clean_article
    from pipeline.core.records import RawArticle, Rejection

    raw = RawArticle(ref="ref", source="web", format="html", content=SECTION_FRONT, url="https://gazette.example/h")
    result = clean_article(raw, now=datetime(2026, 11, 24, tzinfo=UTC))
    assert isinstance(result, Rejection) and result.reason == "not an article: listing page"
