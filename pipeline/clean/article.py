"""Clean stage: RawArticle -> Article (plain text paragraphs, title, publication date, language) or Rejection."""

from __future__ import annotations

import re
from datetime import datetime

from pipeline.clean.html import extract_page
from pipeline.clean.language import resolve_language
from pipeline.clean.pubdate import PAGE_DATE_SOURCES
from pipeline.core.dateorder import article_date_order
from pipeline.core.ids import canonical_url, document_id, same_site
from pipeline.core.records import Article, RawArticle, Rejection
from pipeline.core.text import (
    count_words,
    cut_words,
    first_sentence,
    join_paragraphs,
    normalize_text,
    paragraphs_from_blank_lines,
)
from pipeline.core.timestamps import EARLIEST_PUBLICATION, EARLIEST_STATED_PUBLICATION, InvalidDate, parse_published

MIN_WORDS = 5  # fewer words than this is not an article (an empty page, a stub, a lone caption)
# Longer bodies are cut at a paragraph boundary (and the cut recorded): the longest real news features run to
# ~20k words, while a runaway body would cost minutes of NLP and megabytes per document in the index.
MAX_BODY_WORDS = 100_000
# Markup beyond this, after scripts/styles/comments are gone, is not a news page; extracting it takes minutes.
MAX_HTML_CHARS = 5_000_000
_NON_TEXT_MARKUP = re.compile(
    r"<(script|style|svg|noscript|template)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)


def clean_article(raw: RawArticle, *, now: datetime, default_language: str | None = None) -> Article | Rejection:
    """Turn one raw input into a clean Article; bad input becomes a Rejection with a specific reason.

    The language: the input's own, else the page's, else the detected one when the detector is sure, else the
    source's configured language, else `default_language` (pipeline/clean/language.py). The order of its numeric
    dates: the input's or source's stated one, else the stated locale's, else its language's when all its countries
    agree, else the source language's country's (pipeline/core/dateorder.py).
    """
    title = normalize_text(raw.title) if raw.title else None
    url = raw.url
    published_raw = raw.published
    published_source = (raw.published_source or "input") if raw.published else None
    language = raw.language
    stated_locales = [raw.language]
    warnings = list(raw.warnings)
    authors: tuple[str, ...] = ()
    site_name = None
    if raw.format == "html":
        html = raw.content
        if len(html) > MAX_HTML_CHARS:
            html = _NON_TEXT_MARKUP.sub("", html)
            if len(html) > MAX_HTML_CHARS:
                return Rejection(raw.ref, "clean", f"page too large: {len(html):,} characters of markup without "
                                 f"scripts and styles (limit {MAX_HTML_CHARS:,})")
        page = extract_page(html, url=url)
        if page.page_type != "article":
            return Rejection(raw.ref, "clean", f"not an article: {page.page_type} page")
        paragraphs_text = page.text
        title = title or page.title
        if page.canonical_url and (not url or raw.canonical_from_page and same_site(url, page.canonical_url)):
            url = page.canonical_url
        if not published_raw and page.published:
            published_raw, published_source = page.published, page.published_source
        language = language or page.language
        stated_locales.append(page.locale)
        authors, site_name = page.authors, page.site_name
    else:
        paragraphs_text = join_paragraphs(paragraphs_from_blank_lines(raw.content))

    word_count = count_words(paragraphs_text)
    if word_count == 0:
        where = " in the HTML page" if raw.format == "html" else ""
        return Rejection(raw.ref, "clean", f"no article text found{where}")
    if word_count < MIN_WORDS:
        return Rejection(raw.ref, "clean", f"too little text to be an article ({word_count} words)")
    extra = dict(raw.extra)
    if word_count > MAX_BODY_WORDS:
        paragraphs_text = truncate_words(paragraphs_text, MAX_BODY_WORDS)
        extra["truncated_from_words"] = word_count
        warnings.append(f"body cut to {count_words(paragraphs_text):,} of {word_count:,} words "
                        f"(limit {MAX_BODY_WORDS:,})")

    if not title:
        title = first_sentence(paragraphs_text)
        title_source = "first_sentence"
    else:
        title_source = "input"

    published_at = None
    if published_raw:
        try:
            # A page's own date (read by htmldate or from its markup) before 1990 is a parsing error; a date given
            # with the input, a feed or a sitemap may be an archive's and is trusted back to 1900.
            earliest = EARLIEST_PUBLICATION if published_source in PAGE_DATE_SOURCES else EARLIEST_STATED_PUBLICATION
            published_at = parse_published(published_raw, now, earliest).value
        except InvalidDate as exc:
            # Keep the article, undated, and say why; never fall back to the ingest time.
            extra["published_error"] = str(exc)
            warnings.append(f"indexed undated: {exc}")
            published_source = None
    else:
        published_source = None

    language = resolve_language(language, paragraphs_text, raw.source_language or default_language)
    if title_source == "first_sentence":
        extra["title_source"] = title_source

    return Article(
        doc_id=document_id(source=raw.source, own_id=raw.id, url=url, body=paragraphs_text),
        ref=raw.ref,
        source=raw.source,
        title=title,
        body=paragraphs_text,
        url=canonical_url(url) if url else None,
        language=language,
        published_at=published_at,
        published_at_source=published_source,
        extra=extra,
        warnings=tuple(warnings),
        authors=authors,
        site_name=site_name,
        date_order=article_date_order(raw.date_order, stated_locales, language, raw.source_language),
    )


def truncate_words(text: str, limit: int) -> str:
    """The longest run of whole paragraphs within `limit` words (the first paragraph cut by words if it is longer)."""
    kept: list[str] = []
    count = 0
    for paragraph in text.split("\n\n"):
        words = count_words(paragraph)
        if count + words > limit:
            if not kept:
                kept.append(cut_words(paragraph, limit))
            break
        kept.append(paragraph)
        count += words
    return "\n\n".join(kept)
