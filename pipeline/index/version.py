"""The pipeline version recorded on every document: code and document version, NLP models and versions, entity
rules."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from pipeline.core.settings import Settings
from pipeline.enrich.entities import load_entity_config
from pipeline.enrich.gazetteer import data_version
from pipeline.enrich.nlp import LanguageModels
from pipeline.enrich.places import PlaceResolver, load_places_config, place_resolver

# Bump when the documents this code writes change shape or meaning (a derived field added, computed differently),
# so every stored document counts as outdated and `newsetl index migrate` / re-enrichment rewrites it even between
# two builds that share a package version. 2: story_id and its fingerprint. 3: authors, site_name and where a
# page's publication date was read (jsonld/meta/time/url/text instead of "page"). 4: entity rules (names found
# again where the model missed them, narrowed spans, short forms of product names and of two-word names). 5: mention
# spans cut to the name when the model's span ran into other words ("MacBook Pro - a"); a copyright year is no
# longer read as 1 January, and authors are read from more places (pages fetched again are dated and signed from
# what they state, or left undated). 6 (one release, several changes): mentioned dates (direction of bare weekdays
# and months from the parse, reference expressions, slashed dates by the text's order, "'82", weekday + time of day);
# word_count by script (core/text.py count_words); enrichment routed by language (`enrichment` "ok"/"no-model",
# a `misc` facet, French dates, the language resolved with the detector's confidence); pages: listing pages
# refused, a stated publication day over a URL day, CJK-notation days, site names cut from titles, bylines without
# dates, and timestamps that keep the publisher's UTC offset; places resolved to GeoNames entries (entities.country,
# entities.country_code, entities.geonames_id, geo), a resolved place's facet value is the entry's display name
# ("America" and "United States" are one value); entity ids per facet (`entities.<facet>_id`), entity rules from
# evidence (datelines, scores, headline joins, surnames read as places) and the cross-article entity registry;
# timeline_at (published_at, else ingested_at), Kibana's time field. 7: entity rules (a Title Case headline read in
# sentence case, spans across a line break cut into the names that recur, a city the model read as a person after a
# locative preposition made a place) and mentioned dates, second round of issue 25 (holidays, spelled and
# coordinated days, seasons/weeks/sets left out, direction rules of the parse). 8: numeric dates ("7/8/07") read in the
# article's date order (its source's, else its locale's: `date_order`), mentioned dates of issue 25's third round;
# entity rules, third round of issue 17 (spans holding two names the article writes apart are cut, lower-case words
# around an English organisation's name dropped, surnames under other labels join their person, nationality words
# linked to their place by stem); a page's publication day read from the date line next to its headline
# (published_at_source `headline`) where no JSON-LD/meta datePublished is stated; page bodies read in trafilatura's
# precision mode (recall for long pages) with the dropped standfirst put back in front (issue 20, main text). 9: numeric
# dates with a two-digit year ("7/8/07", "7.8.07") read in every language the date finder supports when the order is
# known, and a locale whose region CLDR does not know ("en-ZZ") gives the language's order, not en-US's; a nationality
# word of the demonym tables carries the id of its country's entity known under another of countryinfo's spellings
# ("Czech" -> "Czechia"), as the registry lists it; a teaser block is its whole card whatever its element (WordPress
# archives of <article> teasers refused as listings, teaser paragraphs cut from article bodies by the same blocks).
DOCUMENT_VERSION = 9


def code_version() -> str:
    """Installed version of the newsetl distribution."""
    try:
        return version("newsetl")
    except PackageNotFoundError:
        return "0+unknown"


def pipeline_version(models: LanguageModels, entity_rules: str = "none", places: str = "none") -> str:
    """'newsetl-<code>/doc-<N>/en:<model>-<version>+fr:.../entities-<rules fingerprint>/places-<data+rules>'.

    Everything that changes what enrichment produces is in it (a language's model added or upgraded, the
    gazetteer's data package versions too), so a change re-enriches documents.
    """
    return (f"newsetl-{code_version()}/doc-{DOCUMENT_VERSION}/{models.versions()}/entities-{entity_rules}"
            f"/places-{places}")


def resolver_of(settings: Settings) -> PlaceResolver:
    """The place resolver for these settings: config/places.yml, the gazetteer cached in the data folder."""
    return place_resolver(settings.places_config, settings.cache_dir)


def version_of(settings: Settings) -> str:
    """The pipeline version documents get under these settings (code, document version, models, entity rules,
    gazetteer data versions and place rules)."""
    rules = load_entity_config(settings.entities_config).fingerprint
    places = f"{data_version()}+{load_places_config(settings.places_config).fingerprint}"
    return pipeline_version(LanguageModels(settings.nlp.models), rules, places)
