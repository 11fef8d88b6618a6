"""The pipeline version recorded on every document: code and document version, NLP model and version, entity rules."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import spacy.util

from pipeline.core.settings import Settings
from pipeline.enrich.entities import load_entity_config

# Bump when the documents this code writes change shape or meaning (a derived field added, computed differently),
# so every stored document counts as outdated and `newsetl index migrate` / re-enrichment rewrites it even between
# two builds that share a package version. 2: story_id and its fingerprint. 3: authors, site_name and where a
# page's publication date was read (jsonld/meta/time/url/text instead of "page"). 4: entity rules (names found
# again where the model missed them, narrowed spans, short forms of product names and of two-word names). 5: mention
# spans cut to the name when the model's span ran into other words ("MacBook Pro - a"); a copyright year is no
# longer read as 1 January, and authors are read from more places (pages fetched again are dated and signed from
# what they state, or left undated). 6: timeline_at (published_at, else ingested_at), Kibana's time field.
DOCUMENT_VERSION = 6


def code_version() -> str:
    """Installed version of the newsetl distribution."""
    try:
        return version("newsetl")
    except PackageNotFoundError:
        return "0+unknown"


def pipeline_version(model: str, entity_rules: str = "none") -> str:
    """'newsetl-<code>/doc-<N>/<model>-<model version>/entities-<rules fingerprint>' for `pipeline_version`.

    Everything that changes what enrichment produces is in it, so a change re-enriches documents.
    """
    model_version = spacy.util.get_package_version(model) or "unknown"
    return f"newsetl-{code_version()}/doc-{DOCUMENT_VERSION}/{model}-{model_version}/entities-{entity_rules}"


def version_of(settings: Settings) -> str:
    """The pipeline version documents get under these settings (code, document version, model, entity rules)."""
    return pipeline_version(settings.nlp.model, load_entity_config(settings.entities_config).fingerprint)
