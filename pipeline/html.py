"""HTML news page -> main text (paragraphs), title and metadata: trafilatura first, a bs4 cleaner as fallback."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import htmldate
import trafilatura
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning
from trafilatura.settings import use_config

from pipeline.text import join_paragraphs, normalize_text

# Elements that never hold article text.
_NON_CONTENT = ["script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form",
                "iframe", "button", "select", "figure", "figcaption"]
_BLOCKS = ["p", "h2", "h3", "h4", "li", "blockquote", "pre"]
MAX_TREE_SIZE = 200_000  # elements; larger trees are refused by trafilatura instead of exhausting memory


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
    authors: str | None
    extractor: str


def extract_page(html: str, url: str | None = None) -> ExtractedPage:
    """Extract the article from an HTML page; text is '' when the page has no article text."""
    doc = None
    try:
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=True,
            include_images=False, config=_CONFIG,
            # Navigation is never article text; on short pages trafilatura's own fallback would keep it.
            prune_xpath=["//nav", "//*[@role='navigation']"],
        )
    except (ValueError, TypeError, RecursionError):  # trafilatura raises these on pathological markup
        doc = None
    if doc is not None and (doc.text or "").strip():
        paragraphs = [p for p in (normalize_text(line) for line in doc.text.split("\n")) if p]
        title = normalize_text(doc.title) if doc.title else None
        return ExtractedPage(
            text=join_paragraphs(paragraphs),
            title=title,
            published=publication_date(html, url) or doc.date,
            language=doc.language,
            site_name=doc.sitename,
            canonical_url=doc.url,
            authors=doc.author,
            extractor="trafilatura",
        )
    return extract_with_bs4(html, doc)


def publication_date(html: str, url: str | None = None) -> str | None:
    """The page's original publication day (htmldate: metadata, then URL, then the page's own markup)."""
    try:
        return htmldate.find_date(html, url=url, original_date=True)
    except (ValueError, TypeError, RecursionError):
        return None


def extract_with_bs4(html: str, doc: object | None = None) -> ExtractedPage:
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
        published=publication_date(html) or getattr(doc, "date", None),
        language=str(lang).split("-")[0].lower() if lang else None,
        site_name=getattr(doc, "sitename", None),
        canonical_url=getattr(doc, "url", None),
        authors=getattr(doc, "author", None),
        extractor="bs4",
    )
