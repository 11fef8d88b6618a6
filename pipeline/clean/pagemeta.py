"""What a news page states about itself: schema.org JSON-LD, <meta> tags, <time> elements and the URL.

Every value keeps where it was read from; the stated publication days are collected by `pipeline.clean.pubdate`
(so the clean stage can record `published_at_source` and a reader can tell a stated date from one guessed out of
the text). Pure functions of an lxml tree: no network, no state.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml.html import HtmlElement

from pipeline.clean.pubdate import DateSource, StatedDate, stated_dates, stated_source

# schema.org types whose datePublished/author/headline describe the article itself (not the site or a video).
ARTICLE_TYPES = frozenset({
    "Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle", "OpinionNewsArticle",
    "BackgroundNewsArticle", "ReviewNewsArticle", "AskPublicNewsArticle", "BlogPosting", "LiveBlogPosting",
    "Report", "SatiricalArticle", "TechArticle", "ScholarlyArticle", "SocialMediaPosting", "DiscussionForumPosting",
})
AUTHOR_META = ("author", "authors", "article:author", "parsely-author", "sailthru.author", "dc.creator", "dc:creator",
               "dcterms.creator", "byl", "citation_author", "creator", "rbauthors", "dcsext.author",
               "shareaholic:article_author_name")
SITE_META = ("og:site_name", "application-name", "twitter:site", "publisher")
TITLE_META = ("og:title", "twitter:title", "headline", "dc.title", "title")

_BYLINE_PREFIX = re.compile(r"^\s*(?:by|von|par|por|di|door)\s*[:\-]?\s+", re.IGNORECASE)
# Blog themes label the link to an author's page with a phrase around the name, in the site's language.
_AUTHOR_PAGE_LINK = re.compile(
    r"^\s*(?:(?:view|see|show|read)\s+)?(?:all|more)\s+(?:posts|articles|stories)\s+by\s+"
    r"|^\s*(?:zeige\s+)?(?:alle\s+)?(?:beiträge|artikel)\s+von\s+|^\s*zum\s+profil\s+von\s+"
    r"|^\s*voir\s+tous\s+les\s+(?:articles|billets)\s+(?:de|par)\s+"
    r"|^\s*ver\s+todas\s+las\s+(?:entradas|publicaciones)\s+de\s+",
    re.IGNORECASE)
# The "author" value in a JSON-LD block: one object, a list of objects, or a string.
_AUTHOR_VALUE = re.compile(r'"author"\s*:\s*(\{[^{}]*\}|\[(?:[^\[\]{}]|\{[^{}]*\})*\]|"[^"]*")')
# A byline that is only the label of one ("Auteurs", "Author") names nobody.
_AUTHOR_LABELS = frozenset("author authors auteur auteurs autor autoren autore autori autora autores".split())
_AUTHOR_SPLIT = re.compile(r"\s*(?:;|,|\band\b|&|\bund\b|\bet\b|\by\b)\s*")
# Bylines put the name, the dates and the story's history in one line, between bullets or bars:
# "By Martin Hale · Published May 10, 2018 · Updated May 11". Each piece is read on its own.
_BYLINE_PIECES = re.compile(r"\s*[·•|]\s*")
# Where a piece stops naming people: the start of a date or history phrase, in the languages bylines are written
# in ("Published", "Updated", "Veröffentlicht", "Publié le", "Actualizado"…), or a month name followed by a day.
_BYLINE_HISTORY = re.compile(
    r"\b(?:published|updated|posted|modified|last\s+updated|first\s+published|this\s+(?:story|article)|"
    r"veröffentlicht|aktualisiert|publié|mis\s+à\s+jour|modifié|publicado|actualizado|pubblicato|aggiornato)\b"
    r"|\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+\d",
    re.IGNORECASE)
# Job titles a byline adds after a comma or a bar ("Jane Doe, Staff Writer"): a piece made only of these words
# is a role, not a name. The vocabulary of newsroom roles (AP Stylebook usage), not of one site.
_ROLE_WORDS = frozenset(
    "staff senior chief deputy associate assistant managing contributing executive special political foreign "
    "business economics sports science health technology investigative national international bureau "
    "writer writers reporter reporters correspondent correspondents editor editors columnist contributor "
    "journalist photographer analyst producer desk team news of the and for at".split())
_PATH = re.compile(r"\.\w+/|/\S*\.")  # "facebook.com/jane", "/authors/jane.doe": a link, not names
_DOMAIN = re.compile(r"\w\.(?:com|net|org|de|fr|co\.uk|at|ch|it|es|info)\b", re.IGNORECASE)
MAX_AUTHOR_CHARS = 60  # longer "authors" are sentences, bios or lists of keywords
MAX_BYLINE_CHARS = 200  # a longer value is a bio or a paragraph, not a list of names
MAX_NAME_WORDS = 5


@dataclass(frozen=True, slots=True)
class PageMetadata:
    """Structured metadata of a page; every field None/empty when the page does not state it."""

    title: str | None = None
    authors: tuple[str, ...] = ()
    # Authors that are the site or its publisher ("Reuters" on reuters.com): used only when no byline names a person.
    site_authors: tuple[str, ...] = ()
    site_name: str | None = None
    canonical_url: str | None = None
    language: str | None = None
    # The declared locale as written ("en-GB", "en_US"): its country decides how numeric dates are read.
    locale: str | None = None
    dates: tuple[StatedDate, ...] = ()
    article_body: str | None = None
    schema_types: frozenset[str] = frozenset()  # every JSON-LD @type the page states
    og_type: str | None = None

    def stated_source(self, day: str) -> DateSource | None:
        """Where the page states this publication day, None when only its text does."""
        return stated_source(self.dates, day)


def read_metadata(tree: HtmlElement, url: str | None = None) -> PageMetadata:
    """Collect the page's own statements about the article, JSON-LD first, then <meta>, <time> and the URL."""
    articles, pages, site_names, schema_types = _jsonld_nodes(tree)
    meta = _meta_values(tree)
    canonical = _canonical(tree)
    dates = stated_dates(tree, [(_text(a.get("datePublished")), _text(a.get("dateCreated"))) for a in articles],
                         meta, (url, canonical))
    authors: list[str] = []
    for article in articles:
        authors.extend(_jsonld_people(article.get("author")))
    if not authors:
        # Yoast and other SEO plugins describe a post as a WebPage whose author is a Person node of the graph.
        for web_page in pages:
            authors.extend(_jsonld_people(web_page.get("author")))
    if not authors:
        for key in AUTHOR_META:
            for value in meta.get(key, ()):
                authors.extend(split_authors(value))
            if authors:
                break

    publishers = [clean_value(p) for p in (_text(a.get("publisher")) for a in articles) if p]
    # The site or its publisher named as author says nothing about who wrote the article; a byline may.
    not_people = {clean_value(name).lower() for name in (*site_names, *publishers, *meta.get("og:site_name", ()))}
    site_authors = [name for name in authors if name.lower() in not_people or _DOMAIN.search(name)]
    authors = [name for name in authors if name not in site_authors]

    title = next((clean_value(_text(a.get("headline")) or _text(a.get("name"))) for a in articles
                  if _text(a.get("headline")) or _text(a.get("name"))), None)
    title = title or next((clean_value(v) for key in TITLE_META for v in meta.get(key, ()) if clean_value(v)), None)
    site_name = (next((clean_value(v).lstrip("@") for key in SITE_META for v in meta.get(key, ())
                       if clean_value(v) and not clean_value(v).startswith("http")), None)
                 or next(iter(site_names + publishers), None))
    body = next((_text(a.get("articleBody")) for a in articles if _text(a.get("articleBody"))), None)
    return PageMetadata(
        title=title,
        authors=tuple(dict.fromkeys(authors)),
        site_authors=tuple(dict.fromkeys(site_authors)),
        site_name=site_name or None,
        canonical_url=canonical,
        language=_language(tree, meta),
        locale=_declared_language(tree, meta),
        dates=tuple(dates),
        article_body=body,
        schema_types=schema_types,
        og_type=next(iter(meta.get("og:type", ())), None),
    )


def split_authors(value: str) -> list[str]:
    """'By Jane Doe and John Roe' -> ['Jane Doe', 'John Roe']; URLs, handles and sentences are not names."""
    value = _BYLINE_PREFIX.sub("", _AUTHOR_PAGE_LINK.sub("", clean_value(value)))
    if len(value) > MAX_BYLINE_CHARS:
        return []
    names = []
    for part in _AUTHOR_SPLIT.split(_names_part(value)):
        part = _BYLINE_PREFIX.sub("", part).strip(" .|-–—")
        if "http" in part or "@" in part or any(ch.isdigit() for ch in part) or _PATH.search(part):
            continue
        # "det/dpa", "AP/Reuters": a slash between names separates them.
        names.extend(name for name in (n.strip() for n in part.split("/")) if _is_name(name))
    return names


def _names_part(byline: str) -> str:
    """The pieces of a byline that name people: each bullet-separated piece up to where a date or history phrase
    starts ("Martin Hale · Published May 10, 2018 · Updated …" -> "Martin Hale")."""
    kept = []
    for piece in _BYLINE_PIECES.split(byline):
        history = _BYLINE_HISTORY.search(piece)
        piece = (piece[:history.start()] if history else piece).strip(" ,;.")
        if piece:
            kept.append(piece)
    return ", ".join(kept)


def _is_name(part: str) -> bool:
    """A person's (or an agency's) name, not a sentence, a job title or the label of a byline."""
    if not part or len(part) > MAX_AUTHOR_CHARS or len(part.split()) > MAX_NAME_WORDS:
        return False
    if all(word in _ROLE_WORDS for word in part.lower().split()):
        return False
    return any(ch.isalpha() for ch in part) and part.lower() not in _AUTHOR_LABELS


def clean_value(value: str | None) -> str:
    """Whitespace-collapsed text of a metadata value."""
    return " ".join((value or "").split())


def _jsonld_nodes(
    tree: HtmlElement,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str], frozenset[str]]:
    """Article and WebPage objects of every JSON-LD block (with @graph references resolved), WebSite names, and
    every @type stated."""
    objects: list[dict[str, Any]] = []
    for script in tree.xpath("//script[contains(@type, 'ld+json')]"):
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)  # strict=False: raw newlines inside strings are common
        except ValueError:
            objects.extend(_authors_of_broken_block(raw))
            continue
        objects.extend(_flatten(data))
    by_id = {obj["@id"]: obj for obj in objects if isinstance(obj.get("@id"), str)}
    articles = []
    pages = []
    sites = []
    all_types: set[str] = set()
    for obj in objects:
        types = _types(obj)
        all_types |= types
        if types & ARTICLE_TYPES:
            articles.append(_resolve(obj, by_id))
        elif "WebPage" in types:
            pages.append(_resolve(obj, by_id))
        elif "WebSite" in types and _text(obj.get("name")):
            sites.append(clean_value(_text(obj.get("name"))))
    return articles, pages, sites, frozenset(all_types)


def _authors_of_broken_block(raw: str) -> list[dict[str, Any]]:
    """The author of an article block that is not valid JSON (an unescaped quote in another field, often an <img>
    pasted into "image"), read from its own "author" value, which usually still parses on its own."""
    if not any(f'"{kind}"' in raw for kind in ARTICLE_TYPES):
        return []
    match = _AUTHOR_VALUE.search(raw)
    try:
        author = json.loads(match.group(1), strict=False) if match else None
    except ValueError:
        return []
    return [{"@type": "Article", "author": author}] if author else []


def _flatten(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every dict at the top of a JSON-LD block, inside lists and @graph, and an article's mainEntity."""
    if depth > 4:
        return
    if isinstance(data, list):
        for item in data:
            yield from _flatten(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            if isinstance(data.get(key), (dict, list)):
                yield from _flatten(data[key], depth + 1)


def _resolve(obj: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An object whose {"@id": ...} references (authors, publisher) are replaced by the objects they name."""
    def deref(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"@id"} and value["@id"] in by_id:
            return by_id[value["@id"]]
        if isinstance(value, list):
            return [deref(v) for v in value]
        return value
    return {key: deref(value) for key, value in obj.items()}


def _types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.rsplit("/", 1)[-1] for k in kinds if isinstance(k, str)}


def _text(value: Any) -> str | None:
    """A JSON-LD value as text: strings as they are, the first of a list, {"@value"/"name": ...} unwrapped."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@value") or value.get("name")
    return value if isinstance(value, str) and value.strip() else None


def _jsonld_people(value: Any) -> list[str]:
    """Author names from a JSON-LD author value: a string, a Person/Organization, or a list of them."""
    items = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in items:
        if isinstance(item, str):
            names.extend(split_authors(item))
        elif isinstance(item, dict):
            name = item.get("name")
            if isinstance(name, list):
                name = " ".join(n for n in name if isinstance(n, str))
            if isinstance(name, str):
                names.extend(split_authors(name))
    return names


def _meta_values(tree: HtmlElement) -> dict[str, list[str]]:
    """<meta> contents by lower-cased name, property or itemprop, in document order."""
    values: dict[str, list[str]] = {}
    for element in tree.xpath("//meta[@content]"):
        content = element.get("content", "").strip()
        if not content:
            continue
        for attribute in ("name", "property", "itemprop"):
            key = element.get(attribute)
            if key:
                values.setdefault(key.strip().lower(), []).append(content)
    return values


def _canonical(tree: HtmlElement) -> str | None:
    for href in tree.xpath("//link[@rel='canonical']/@href | //meta[@property='og:url']/@content"):
        href = href.strip()
        if href.startswith(("http://", "https://")):
            return href
    return None


def _declared_language(tree: HtmlElement, meta: dict[str, list[str]]) -> str | None:
    """The page's declared language tag as written ('en-GB', 'en_US'): <html lang>, else its meta tags."""
    declared = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    for key in ("og:locale", "content-language", "language", "dc.language"):
        declared = declared or next(iter(meta.get(key, ())), None)
    return declared.strip() or None if declared else None


def _language(tree: HtmlElement, meta: dict[str, list[str]]) -> str | None:
    """The page's declared language as a lower-case ISO 639-1 code ('en-GB' -> 'en')."""
    declared = _declared_language(tree, meta)
    code = re.split(r"[-_]", declared)[0].lower() if declared else ""
    return code if re.fullmatch(r"[a-z]{2}", code) else None
