"""HTML news page -> main text (paragraphs), title and metadata, each with where it came from.

The cascade, cheapest first, keeping the best candidate:
1. the page is parsed once (lxml, through trafilatura's tolerant loader);
2. what the page states about itself is read from JSON-LD, <meta>, <time> and the URL (`pipeline.clean.pagemeta`);
3. the publication day is arbitrated between htmldate's pick and the page's stated days
   (`pipeline.clean.pubdate`); the title and authors come from the stated metadata, else from trafilatura's
   readers of <h1>/<title> and bylines;
4. trafilatura reads the main text, in its precision mode (recall mode for a long page, or when the precise reading
   is short and the recall one finds several times more); when a JSON-LD `articleBody` is stated and that text
   holds little of it (a paywall stub, a teaser grid), the stated body is used; the standfirst the page shows and
   the extractor dropped is put back in front (`pipeline.clean.standfirst`);
5. a bs4 reader of <article>/<main>/<body> blocks when nothing else finds text.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Literal

import trafilatura
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning
from lxml.html import HtmlElement

# extract_title/extract_author are trafilatura's own readers of <h1>/<title> and bylines (not in its __all__;
# the version is pinned in constraints.txt and tests/unit/test_html.py exercises both).
from trafilatura import metadata as trafilatura_metadata
from trafilatura.settings import use_config

from pipeline.clean.pagemeta import PageMetadata, clean_value, read_metadata, split_authors
from pipeline.clean.pagetype import PageType, page_type, teaser_blocks
from pipeline.clean.pubdate import publication_date
from pipeline.clean.standfirst import standfirst
from pipeline.clean.titles import strip_site_affix
from pipeline.core.text import join_paragraphs, normalize_text, strip_accents_casefold, word_shingles

# Elements that never hold article text.
_NON_CONTENT = ["script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form",
                "iframe", "button", "select", "figure", "figcaption"]
_BLOCKS = ["p", "h2", "h3", "h4", "li", "blockquote", "pre"]
MAX_TREE_SIZE = 200_000  # elements; larger trees are refused by trafilatura instead of exhausting memory
# A JSON-LD articleBody this long is a real statement of the text; a main text holding less than this share of
# its word 4-grams missed part of the article.
MIN_ARTICLE_BODY_WORDS = 80
MIN_ARTICLE_BODY_COVERAGE = 0.3
MAX_BYLINE_NAMES = 4
# trafilatura's precision mode drops more boilerplate (share lines, "read more" strips, credits) than its balanced
# mode, and costs less (it prunes before comparing with readability); a precise reading shorter than
# PRECISION_MIN_WORDS words gives way to the recall reading when that finds more than PRECISION_SHORTFALL times its
# words (measured on the dev halves: docs/extraction.md).
PRECISION_MIN_WORDS = 150
PRECISION_SHORTFALL = 3
# A page with more words than this in its <p> elements is read in recall mode from the start.
LONG_PAGE_WORDS = 2000
# A paragraph of this many words or more lying this much inside the page's teaser blocks is another page's teaser.
MIN_TEASER_PARAGRAPH_WORDS = 8
MIN_TEASER_OVERLAP = 0.9
# Navigation is never article text; on short pages trafilatura's own fallback would keep it.
_PRUNE = ["//nav", "//*[@role='navigation']"]
_WORD = re.compile(r"\w+")


def _trafilatura_config():
    config = use_config()
    config["DEFAULT"]["max_tree_size"] = str(MAX_TREE_SIZE)
    config["DEFAULT"]["extraction_timeout"] = "0"  # its timeout uses signals, which fail outside the main thread
    return config


_CONFIG = _trafilatura_config()


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    """What a page yields: main text with blank-line paragraphs, and the metadata found on the page."""

    text: str
    title: str | None
    published: str | None
    language: str | None
    site_name: str | None
    canonical_url: str | None
    authors: tuple[str, ...] = ()
    extractor: str = "none"
    # jsonld | meta | time | url (the page states the date there) | text (found in the page's text only)
    published_source: str | None = None
    # Which candidate supplied the title and authors, for debugging: {"title": "stated", "authors": "byline"}.
    sources: dict[str, str] = field(default_factory=dict)
    # "listing" for a section front, tag page or search results (`pipeline.clean.pagetype`): text is then ''.
    page_type: PageType = "article"
    # The declared language tag as written ("en-GB"): its country decides how numeric dates are read.
    locale: str | None = None


def extract_page(html: str, url: str | None = None) -> ExtractedPage:
    """Extract the article from an HTML page; text is '' when the page has no article text."""
    tree = _parse(html)
    if tree is None:
        return extract_with_bs4(html)
    stated = read_metadata(tree, url)
    text, extractor = _main_text(tree, url, stated)
    teasers = teaser_blocks(tree)
    if page_type(tree, text, stated.schema_types, stated.og_type, teasers) == "listing":
        # Not one article: no text, date or byline is read from it (they would be one teaser's).
        return ExtractedPage(text="", title=None, published=None, language=stated.language,
                             site_name=stated.site_name, canonical_url=stated.canonical_url, extractor="none",
                             page_type="listing", locale=stated.locale)
    text = without_teasers(text, teasers)
    published, published_source = publication_date(tree, url or stated.canonical_url, stated.dates)
    title, title_source = _title(tree, stated)
    authors, authors_source = _authors(tree, stated)
    if not text:
        fallback = extract_with_bs4(html)
        text, extractor = fallback.text, fallback.extractor
        title = title or fallback.title
    text = without_headline(text, title)
    lead = standfirst(tree, text)
    if lead:
        text = join_paragraphs([_paragraphs(lead), text])
    sources = {"title": title_source, "authors": authors_source}
    return ExtractedPage(
        text=text,
        title=normalize_text(title) if title else None,
        published=published,
        language=stated.language,
        site_name=stated.site_name,
        canonical_url=stated.canonical_url,
        authors=authors,
        locale=stated.locale,
        extractor=extractor,
        published_source=published_source,
        sources={k: v for k, v in sources.items() if v},
    )


def _main_text(tree: HtmlElement, url: str | None, stated: PageMetadata) -> tuple[str, str]:
    """The article text and the extractor that found it: trafilatura, or the stated articleBody it mostly missed."""
    if _paragraph_words(tree) > LONG_PAGE_WORDS:
        # A long text: the recall reading keeps the headings and lists the precision one prunes from long articles,
        # and costs less (it skips the readability comparison when its own text is long).
        text = _text_of(_trafilatura(tree, url, focus="recall"))
        words = PRECISION_MIN_WORDS
    else:
        text = _text_of(_trafilatura(tree, url, focus="precision"))
        words = len(text.split())
    if words < PRECISION_MIN_WORDS:
        # A short precise reading may have dropped the article with the boilerplate (a product page, a recipe, a
        # page of short blocks): the recall reading replaces it when it finds several times the text.
        wider = _text_of(_trafilatura(tree, url, focus="recall"))
        if len(wider.split()) > PRECISION_SHORTFALL * words:
            text = wider
    if not text and tree.xpath(" | ".join(_PRUNE)):
        # The pruned navigation held the article (a theme that wraps the whole page in role=navigation or <nav>).
        text = _text_of(_trafilatura(tree, url, prune=False))
    body = stated.article_body
    if body and len(body.split()) >= MIN_ARTICLE_BODY_WORDS and _coverage(text, body) < MIN_ARTICLE_BODY_COVERAGE:
        # The page states its whole text and the extractor found little of it (a paywall stub, a teaser grid).
        return _paragraphs(body), "jsonld"
    return text, "trafilatura" if text else ""


def _paragraph_words(tree: HtmlElement) -> int:
    """Words in the page's <p> elements (an upper bound of a long article's length, read before extraction)."""
    return sum(len(text.split()) for text in tree.xpath("//p//text()"))



def _title(tree: HtmlElement, stated: PageMetadata) -> tuple[str | None, str]:
    """The headline the page states (JSON-LD, OpenGraph), else trafilatura's reading of <h1>/<title>; without the
    site name that <title>/og:title add to it (`pipeline.clean.titles`)."""
    title = stated.title
    source = "stated"
    if not title:
        title = clean_value(trafilatura_metadata.extract_title(tree)) or None
        source = "markup"
    if not title:
        return None, ""
    return strip_site_affix(title, site_name=stated.site_name, heading=_heading(tree)), source


def _heading(tree: HtmlElement) -> str | None:
    """Text of the article's <h1> (the first one inside <article>, else the page's first)."""
    headings = tree.xpath("(//article//h1)[1]") or tree.xpath("(//h1)[1]")
    return (clean_value(headings[0].text_content()) or None) if headings else None


def _authors(tree: HtmlElement, stated: PageMetadata) -> tuple[tuple[str, ...], str]:
    """Authors the page states (JSON-LD people, author meta), else the byline trafilatura finds in the markup,
    else the site or publisher the page names as author."""
    if stated.authors:
        return stated.authors, "stated"
    byline = trafilatura_metadata.extract_author(tree)
    names = tuple(split_authors(byline)) if byline else ()
    # More names than a byline holds are a list of tags or categories the byline search ran into.
    if names and len(names) <= MAX_BYLINE_NAMES:
        return names, "byline"
    return stated.site_authors, "stated" if stated.site_authors else ""


def _parse(html: str) -> HtmlElement | None:
    try:
        return trafilatura.load_html(html)
    except (ValueError, TypeError, RecursionError):
        return None


def _trafilatura(tree: HtmlElement, url: str | None, *, prune: bool = True,
                 focus: Literal["precision", "balanced", "recall"] = "balanced") -> object | None:
    """trafilatura's main-text extraction (on its own copy of the tree) in the given mode, navigation pruned
    unless `prune` is False; None when it finds nothing."""
    try:
        return trafilatura.bare_extraction(
            # Its full cascade: the fast mode alone (no comparison with readability/jusText) measured 0.5 points
            # lower F1, and running it first with the full cascade only for short texts was slower overall.
            tree, url=url, with_metadata=False, include_comments=False, include_tables=True,
            include_images=False, config=_CONFIG, prune_xpath=_PRUNE if prune else None,
            favor_precision=focus == "precision", favor_recall=focus == "recall",
        )
    except (ValueError, TypeError, RecursionError):  # trafilatura raises these on pathological markup
        return None


def _text_of(doc: object | None) -> str:
    if doc is None or not (getattr(doc, "text", None) or "").strip():
        return ""
    return _paragraphs(doc.text)


def without_teasers(text: str, teasers: list[HtmlElement]) -> str:
    """The body without paragraphs that are teasers of other pages (`pagetype.teaser_blocks`: a linked headline
    and its standfirst) which the extractor took into the article — a "more stories" strip below it.

    A paragraph of MIN_TEASER_PARAGRAPH_WORDS+ words whose word 4-grams lie MIN_TEASER_OVERLAP or more inside
    the teasers' text goes; shorter ones (a lone "More") are left to the extractor. Measured on the dev halves
    (docs/extraction.md): Readability pages +0.007 F1, trafilatura set 4 of 130 unwanted snippets fewer, no wanted
    one lost. A body that would lose every paragraph is kept whole.
    """
    if not teasers or not text:
        return text
    in_teasers = word_shingles(" ".join(block.text_content() for block in teasers))
    kept = []
    for paragraph in text.split("\n\n"):
        grams = word_shingles(paragraph)
        teaser_like = (len(paragraph.split()) >= MIN_TEASER_PARAGRAPH_WORDS and grams
                       and len(grams & in_teasers) / len(grams) >= MIN_TEASER_OVERLAP)
        if not teaser_like:
            kept.append(paragraph)
    return join_paragraphs(kept) if kept else text


def without_headline(text: str, title: str | None) -> str:
    """The body without a first paragraph that only repeats the title (the in-article `<h1>` extractors keep).

    Compared case-, accent- and punctuation-insensitively; a headline repeated further down is article text and
    stays. A body that is nothing but the headline is kept as it is (the clean stage then counts its words).
    """
    if not title or not text:
        return text
    first, _, rest = text.partition("\n\n")
    if rest and _words_key(first) == _words_key(title):
        return rest
    return text


def _words_key(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(strip_accents_casefold(text)))


def _coverage(text: str, reference: str) -> float:
    """Share of the reference's word 4-grams that the text contains."""
    wanted = word_shingles(reference)
    return len(wanted & word_shingles(text)) / len(wanted) if wanted else 0.0


def _paragraphs(text: str) -> str:
    """One paragraph per non-empty line, normalised, in the body format."""
    # normalize_text keeps lines, so the whole text is repaired in one call (per-line calls cost ~8 ms on large
    # pages, all of it ftfy's per-call overhead).
    return join_paragraphs([line for line in normalize_text(text).split("\n") if line])


def extract_with_bs4(html: str) -> ExtractedPage:
    """Fallback: all text blocks of <article>, <main> or <body> once non-content elements are gone."""
    with warnings.catch_warnings():
        # Input is always markup here, even when a short page looks like a file name or URL to bs4.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(html, "lxml")
    for element in soup(_NON_CONTENT):
        element.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    paragraphs = []
    for block in root.find_all(_BLOCKS):
        if block.find(_BLOCKS):  # an outer block; its inner blocks are visited on their own
            continue
        text = normalize_text(block.get_text(" "))
        if text:
            paragraphs.append(" ".join(text.split()))
    if not paragraphs:
        loose = normalize_text(root.get_text("\n")) if root else ""
        paragraphs = [" ".join(line.split()) for line in loose.split("\n") if line.strip()]
    heading = soup.find("h1")
    title_tag = soup.find("title")
    title = (heading or title_tag).get_text(" ") if (heading or title_tag) else None
    html_tag = soup.find("html")
    lang = html_tag.get("lang") if html_tag else None
    return ExtractedPage(
        text=join_paragraphs(paragraphs),
        title=normalize_text(title) if title else None,
        published=None,
        language=str(lang).split("-")[0].lower() if lang else None,
        site_name=None,
        canonical_url=None,
        extractor="bs4",
        locale=str(lang).strip() or None if lang else None,
    )
