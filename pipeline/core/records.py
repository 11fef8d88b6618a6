"""Typed records passed between stages: RawArticle -> Article -> EnrichedArticle, and Rejection for bad input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

RawFormat = Literal["text", "html"]
# What enrichment could do for an article's language: "ok" (its language's model ran) or "no-model" (no model is
# configured for the language, so it has no entities: never another language's guesses). Indexed as `enrichment`.
EnrichmentStatus = Literal["ok", "no-model"]
ENRICHMENT_OK: EnrichmentStatus = "ok"
ENRICHMENT_NO_MODEL: EnrichmentStatus = "no-model"


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
    # The input's own statement of its language (a JSONL `language` key); a page's is read when it is cleaned.
    language: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Problems that were repaired rather than rejected (a wrong charset): they go to the run report.
    warnings: tuple[str, ...] = ()
    # Where `published` came from when not the input itself: "feed" (a feed entry), "sitemap" (news sitemap).
    published_source: str | None = None
    # A fetched page: its own <link rel=canonical> names the article better than the URL it was reached by.
    canonical_from_page: bool = False
    # The source's configured language: the fallback when neither the input nor the page states one and the
    # detector is not sure (pipeline/clean/language.py).
    source_language: str | None = None
    # How the input writes numeric dates ("7/8/07"): DMY, MDY or YMD, as its record (a JSONL `date_order` key),
    # else its configured source, states it; it comes before any locale (pipeline.core.dateorder).
    date_order: str | None = None


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
    # The order its numeric dates are read in ("7/8/07"): DMY, MDY or YMD, from its source or locale; None: none
    # known, an ambiguous one is left out (pipeline.core.dateorder).
    date_order: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for staging files."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """Inverse of to_dict."""
        return cls(**{**data, "warnings": tuple(data.get("warnings", ())), "authors": tuple(data.get("authors", ()))})


@dataclass(frozen=True, slots=True)
class EntityMention:
    """One entity mention: character offsets into the enriched text and the canonical value it counts as.

    A resolved place also carries its GeoNames id, ISO 3166 alpha-2 country code and the country's display name
    (both None for a continent) and point (WGS84 degrees); a demonym ("German") carries only its country code and
    name; any other mention none of them.
    """

    text: str
    label: str
    start: int
    end: int
    canonical: str
    # Stable id of the entity (pipeline.core.facets.entity_id: its facet and canonical name), so Kibana can count
    # by entity whatever the display form; empty only in records written before ids existed.
    id: str = ""
    geonames_id: int | None = None
    country_code: str | None = None
    country: str | None = None
    lat: float | None = None
    lon: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The mention for `newsetl enrich --jsonl` and staging files: place fields only when set."""
        return {k: v for k, v in asdict(self).items() if v is not None or k not in _PLACE_FIELDS}


_PLACE_FIELDS = frozenset({"geonames_id", "country_code", "country", "lat", "lon"})


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
    """What enrichment found in one text, in which language, and whether that language had a model."""

    entities: tuple[EntityMention, ...]
    dates: tuple[DateMention, ...]
    language: str | None = None  # ISO 639-1 code the text was enriched as; None: unknown (then no model)
    status: EnrichmentStatus = ENRICHMENT_OK

    def to_dict(self) -> dict[str, Any]:
        """The `newsetl enrich --jsonl` contract (without the id)."""
        return {
            "language": self.language,
            "enrichment": self.status,
            "entities": [m.to_dict() for m in self.entities],
            "dates": [asdict(d) for d in self.dates],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Enrichment:
        """Inverse of to_dict (staging files written before languages were routed read as "ok")."""
        return cls(
            entities=tuple(EntityMention(**m) for m in data.get("entities", [])),
            dates=tuple(DateMention(**d) for d in data.get("dates", [])),
            language=data.get("language"),
            status=data.get("enrichment", ENRICHMENT_OK),
        )


@dataclass(frozen=True, slots=True)
class EntityName:
    """One distinct entity value of an article as its own mentions gave it (label, canonical name, id), before the
    entity registry resolved it: stored with the document, so a change of the registry re-resolves the article's
    facets from these without reading the text again (pipeline.index.recanon)."""

    label: str
    name: str
    id: str = ""

    def as_mention(self) -> EntityMention:
        """A mention standing for this value (no span), as the registry's `resolve` takes it."""
        return EntityMention(self.name, self.label, 0, 0, self.name, self.id)

    @classmethod
    def of(cls, mentions: Sequence[EntityMention]) -> tuple[EntityName, ...]:
        """The distinct values of mentions, in first-mention order."""
        return tuple(dict.fromkeys(cls(m.label, m.canonical, m.id) for m in mentions))


@dataclass(frozen=True, slots=True)
class EnrichedArticle:
    """A cleaned article with its entities and dates; the index stage turns it into a document.

    `names`: the article's own entity values before the entity registry resolved its mentions (empty when no
    registry ran: the mentions are then the article's own values)."""

    article: Article
    enrichment: Enrichment
    names: tuple[EntityName, ...] = ()

    def own_names(self) -> tuple[EntityName, ...]:
        """The article's own entity values: `names`, else those of its mentions."""
        return self.names or EntityName.of(self.enrichment.entities)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for staging files."""
        return {"article": self.article.to_dict(), "enrichment": self.enrichment.to_dict(),
                "names": [asdict(n) for n in self.names]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnrichedArticle:
        """Inverse of to_dict (staging files written before `names` existed read as none)."""
        return cls(Article.from_dict(data["article"]), Enrichment.from_dict(data["enrichment"]),
                   tuple(EntityName(**n) for n in data.get("names") or ()))
