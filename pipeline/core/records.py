"""Typed records passed between stages: RawArticle -> Article -> EnrichedArticle, and Rejection for bad input."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

RawFormat = Literal["text", "html"]


@dataclass(frozen=True, slots=True)
class RawArticle:
    """One article as read from a source, before cleaning; `ref` points back to the raw input."""

    ref: str
    source: str
    format: RawFormat
    content: str
    id: str | None = None
    url: str | None = None
    title: str | None = None
    published: str | None = None
    language: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Problems that were repaired rather than rejected (a wrong charset): they go to the run report.
    warnings: tuple[str, ...] = ()
    # Where `published` came from when not the input itself: "feed" (a feed entry), "sitemap" (news sitemap).
    published_source: str | None = None
    # A fetched page: its own <link rel=canonical> names the article better than the URL it was reached by.
    canonical_from_page: bool = False


@dataclass(frozen=True, slots=True)
class Rejection:
    """An article that could not be processed: where it came from, at which stage, and why."""

    ref: str
    stage: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON lines and run reports."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Article:
    """A cleaned article: plain text with paragraphs separated by blank lines, plus metadata."""

    doc_id: str
    ref: str
    source: str
    title: str
    body: str
    url: str | None = None
    language: str | None = None
    published_at: str | None = None
    published_at_source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # What cleaning repaired or cut (charset, truncation, an invalid date): reported, the article still indexed.
    warnings: tuple[str, ...] = ()
    # From a page's byline, JSON-LD or meta tags (HTML inputs); empty when the input does not say.
    authors: tuple[str, ...] = ()
    site_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for staging files."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """Inverse of to_dict."""
        return cls(**{**data, "warnings": tuple(data.get("warnings", ())), "authors": tuple(data.get("authors", ()))})


@dataclass(frozen=True, slots=True)
class EntityMention:
    """One entity mention: character offsets into the enriched text and the canonical value it counts as."""

    text: str
    label: str
    start: int
    end: int
    canonical: str
    # Stable id of the entity (pipeline.core.facets.entity_id: its facet and canonical name), so Kibana can count
    # by entity whatever the display form; empty only in records written before ids existed.
    id: str = ""


@dataclass(frozen=True, slots=True)
class DateMention:
    """One temporal expression resolved to an ISO value at its precision (YYYY, YYYY-MM or YYYY-MM-DD)."""

    text: str
    start: int
    end: int
    value: str

    @property
    def precision(self) -> str:
        """'year', 'month' or 'day', read off the value's shape."""
        return {4: "year", 7: "month", 10: "day"}[len(self.value)]


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What enrichment found in one text."""

    entities: tuple[EntityMention, ...]
    dates: tuple[DateMention, ...]

    def to_dict(self) -> dict[str, Any]:
        """The `newsetl enrich --jsonl` contract (without the id)."""
        return {
            "entities": [asdict(m) for m in self.entities],
            "dates": [asdict(d) for d in self.dates],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Enrichment:
        """Inverse of to_dict."""
        return cls(
            entities=tuple(EntityMention(**m) for m in data.get("entities", [])),
            dates=tuple(DateMention(**d) for d in data.get("dates", [])),
        )


@dataclass(frozen=True, slots=True)
class EnrichedArticle:
    """A cleaned article with its entities and dates; the index stage turns it into a document."""

    article: Article
    enrichment: Enrichment

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for staging files."""
        return {"article": self.article.to_dict(), "enrichment": self.enrichment.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnrichedArticle:
        """Inverse of to_dict."""
        return cls(Article.from_dict(data["article"]), Enrichment.from_dict(data["enrichment"]))
