"""The article's standfirst (lead paragraph) that a main-text extractor dropped.

News and magazine pages set the standfirst apart from the body — in the article's <header>, in a "lead" or
"teaser" block, in bold — and trafilatura prunes those containers as boilerplate, so the summary sentence the page
opens with is lost. The page states that summary in its description meta (`og:description`, `description`,
`twitter:description`); a block of the page's body whose text is that description is the visible standfirst.
Measured on the dev half of the trafilatura evaluation set (docs/extraction.md): 19 of 1,385 wanted snippets
found in addition, 1 unwanted one more; Readability pages unchanged.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from pipeline.core.text import word_shingles

# A description shorter than this is a tagline, not a standfirst.
MIN_WORDS = 8
MAX_WORDS = 120
# The block holds this share of the description's word 4-grams, and this share of its own are the description's.
MIN_DESCRIPTION_SHARE = 0.8
MIN_BLOCK_SHARE = 0.8
# The body already holds the standfirst when it holds this share of the block's word 4-grams.
MAX_COVERED = 0.5
_DESCRIPTIONS = ("//meta[@property='og:description' or @name='description' or @name='twitter:description']"
                 "/@content")
_CANDIDATES = ("p", "div", "span", "h2", "strong")
_WORD = re.compile(r"\w+")
# Blocks that hold other blocks are never the smallest one that holds the description.
_INNER_BLOCKS = ("p", "div", "section", "article", "ul", "ol", "table")
_OUTSIDE = "ancestor::nav or ancestor::footer or ancestor::a or ancestor::aside"


def _holding(body: HtmlElement, word: str) -> list[HtmlElement]:
    """The candidate blocks (`_CANDIDATES`) that hold `word` (the description's longest word) in their text, each
    text node's innermost block first; every candidate block when `word` is empty.

    The blocks that show the description hold each of its words; looking the longest one up in the text nodes
    (one XPath, in C) spares reading the text of every block of a large page.
    """
    if not word:
        return list(body.iter(*_CANDIDATES))
    found: dict[HtmlElement, None] = {}
    for node in body.xpath(".//text()[contains(., $word)]", word=word):
        element = node.getparent()
        while element is not None and element is not body:
            if element.tag in _CANDIDATES:
                found[element] = None
            element = element.getparent()
    return list(found)


def standfirst(tree: HtmlElement, text: str) -> str | None:
    """The standfirst the page shows and `text` (the extracted body, blank-line paragraphs) lacks, else None.

    The first description meta of MIN_WORDS+ words names it; the smallest block of <body> (a <p>, <div>, <span>,
    <h2> or <strong> of MIN_WORDS..MAX_WORDS words, outside <nav>, <footer>, <aside> and links) that holds
    MIN_DESCRIPTION_SHARE of the description's word 4-grams, with MIN_BLOCK_SHARE of its own among them, is its
    visible form; returned (whitespace collapsed) unless `text` already holds MAX_COVERED of it. Pure.
    """
    description = next((d for d in tree.xpath(_DESCRIPTIONS) if len(d.split()) >= MIN_WORDS), None)
    body = tree.find(".//body")
    if description is None or body is None or not text:
        return None
    wanted = word_shingles(description)
    # A block sharing MIN_DESCRIPTION_SHARE of the description's 4-grams, MIN_BLOCK_SHARE of its own being among
    # them, has about as many words as the description: blocks far from that length are skipped before their
    # 4-grams are counted (the scan then costs about a millisecond on a large page).
    described = len(description.split())
    fewest = max(MIN_WORDS, int(MIN_DESCRIPTION_SHARE * described) - 4)
    most = min(MAX_WORDS, int(described / MIN_BLOCK_SHARE) + 4)
    best: str | None = None
    for element in _holding(body, max(_WORD.findall(description), key=len, default="")):
        if next(element.iterdescendants(*_INNER_BLOCKS), None) is not None:
            continue
        block = " ".join(element.text_content().split())
        if not fewest <= len(block.split()) <= most or (best is not None and len(block) >= len(best)):
            continue
        grams = word_shingles(block)
        shared = len(grams & wanted)
        if shared >= MIN_DESCRIPTION_SHARE * len(wanted) and shared >= MIN_BLOCK_SHARE * len(grams) \
                and not element.xpath(_OUTSIDE):
            best = block
    if best is None:
        return None
    grams = word_shingles(best)
    return best if len(grams & word_shingles(text)) < MAX_COVERED * len(grams) else None
