"""Is a page one article, or a listing of several (a section front, a tag page, search results, a gallery index)?

A listing run through a main-text extractor comes out as one "article" stitched from unrelated teasers and dated by
one of them. The signals, strongest first:
1. what the page says it is: schema.org JSON-LD `@type` (CollectionPage, ItemList, SearchResultsPage… against
   NewsArticle and the other article types), then `og:type` ("article");
2. its shape: at least MIN_TEASERS teaser blocks (a heading that links to another page, with at most a short
   standfirst beside it), and a main text that is mostly teaser text — the extractor stitched the teasers
   together. A page stating a listing type (some SEO plugins call every post's page a CollectionPage) needs the
   teasers too, at a lower share.
A page that states an article type is an article whatever its shape (long reads with many "related" boxes).
Measured on 1,945 article pages of three extraction corpora: see docs/extraction.md.
"""

from __future__ import annotations

from typing import Literal

from lxml.html import HtmlElement

from pipeline.clean.pagemeta import ARTICLE_TYPES
from pipeline.core.text import word_shingles

PageType = Literal["article", "listing"]

# schema.org types that describe a page listing other pages.
LISTING_TYPES = frozenset({"CollectionPage", "ItemList", "SearchResultsPage", "ProfilePage", "ImageGallery",
                           "MediaGallery", "VideoGallery"})
MIN_TEASERS = 4
# A teaser is a linked headline plus a standfirst; a block with more words than this is article text.
MAX_TEASER_WORDS = 80
# Share of the page's readable words inside teasers from which the page is a listing: an article's "related
# stories" box holds far less than half of its words.
MIN_TEASER_SHARE = 0.5
MIN_TEASER_SHARE_STATED = 0.25  # when the page states a listing type


def page_type(tree: HtmlElement, main_text: str, schema_types: frozenset[str], og_type: str | None,
              teasers: list[HtmlElement] | None = None) -> PageType:
    """'listing' or 'article' for a parsed page.

    `main_text`: what the main-text extractor found; `schema_types`: the JSON-LD @type values the page states;
    `og_type`: its og:type, if any; `teasers`: `teaser_blocks(tree)` when the caller has them already. Pure;
    reads the tree.
    """
    if schema_types & ARTICLE_TYPES or (og_type or "").strip().lower() == "article":
        return "article"
    teasers = teaser_blocks(tree) if teasers is None else teasers
    if len(teasers) < MIN_TEASERS or not main_text:
        return "article"
    wanted = word_shingles(main_text)
    if not wanted:
        return "article"
    in_teasers = word_shingles(" ".join(t.text_content() for t in teasers))
    share = len(wanted & in_teasers) / len(wanted)
    threshold = MIN_TEASER_SHARE_STATED if schema_types & LISTING_TYPES else MIN_TEASER_SHARE
    return "listing" if share >= threshold else "article"


def teaser_blocks(tree: HtmlElement) -> list[HtmlElement]:
    """Teasers of other pages: around each linked heading (<h2>-<h4> holding or inside a link, outside <nav>,
    <header>, <footer>, <aside>), the largest enclosing block of at most MAX_TEASER_WORDS words that holds no other
    linked heading: the teaser card, whatever its element (<div>, <li>, <article> — WordPress archives wrap each
    excerpt in its own <article>); a heading whose parent is already larger is a teaser block alone. Each block
    once, outermost once.

    A heading whose links all point into a page (`#respond`: a comment form's "Leave a reply · Cancel reply", a
    table of contents) links to no other page, and a heading inside a <blockquote> is quoted text: neither is a
    teaser (a blog post counted as a listing through both, docs/extraction.md).
    """
    blocks: list[HtmlElement] = []
    headings = []
    for heading in tree.xpath(_LINKED_HEADINGS):
        if heading.xpath("ancestor::nav or ancestor::header"
                         " or ancestor::footer or ancestor::aside or ancestor::blockquote"):
            continue
        if all("#" in href for href in heading.xpath(".//a/@href | ancestor::a/@href")):
            continue
        headings.append(heading)
    for heading in headings:
        block = _teaser_block(heading)
        if all(block is not seen for seen in blocks):
            blocks.append(block)
    # A block inside another counted block is counted with it (its ancestors looked up in a set: comparing every
    # pair of blocks walked each block's subtree once per block, seconds on a page of hundreds of teasers).
    counted = set(blocks)
    return [b for b in blocks if not any(ancestor in counted for ancestor in b.iterancestors())]


_LINKED_HEADINGS = "//*[self::h2 or self::h3 or self::h4][.//a[@href] or ancestor::a[@href]]"
_LINKED_HEADINGS_INSIDE = "count(.//*[self::h2 or self::h3 or self::h4][.//a[@href] or ancestor::a[@href]])"
# Page-level containers: never one teaser's block, however short the page.
_PAGE_CONTAINERS = frozenset({"body", "html", "main"})


def _teaser_block(heading: HtmlElement) -> HtmlElement:
    """The largest ancestor of `heading` (or the heading) of at most MAX_TEASER_WORDS words holding no other
    linked heading: climbing stops at the first larger one, so a long read's section heading stays alone."""
    block = heading
    for ancestor in heading.iterancestors():
        if (ancestor.tag in _PAGE_CONTAINERS or _words(ancestor) > MAX_TEASER_WORDS
                or ancestor.xpath(_LINKED_HEADINGS_INSIDE) > 1):
            break
        block = ancestor
    return block


def _words(element: HtmlElement) -> int:
    return len(element.text_content().split())
