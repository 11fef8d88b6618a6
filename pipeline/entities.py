"""Entity canonicalisation within one article: one real entity -> one facet value with one label.

Pure functions over raw NER spans, so the rules are testable without a model:
surface cleaning (leading "the", possessives, titles), short forms resolved to the full name used in the same
article ("Akar" -> "Hulusi Akar"), and one label per canonical name voted from its mentions.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline.models import EntityMention
from pipeline.text import strip_accents_casefold

# spaCy (OntoNotes) labels kept as facets, and the facet each one feeds.
FACET_OF_LABEL = {
    "PERSON": "person",
    "ORG": "org",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "NORP": "norp",
    "EVENT": "event",
    "PRODUCT": "product",
    "WORK_OF_ART": "work_of_art",
    "LAW": "law",
    "LANGUAGE": "language",
}
FACETS = tuple(dict.fromkeys(FACET_OF_LABEL.values()))

# Words that precede a name as a title or honorific; dropped from person values.
TITLE_WORDS = frozenset(
    """
    mr mr. mrs mrs. ms ms. miss dr dr. prof prof. sir dame lord lady madam mx
    president vice prime minister secretary chancellor premier governor gov gov. senator sen sen.
    representative rep rep. congressman congresswoman mayor ambassador envoy spokesman spokeswoman spokesperson
    general gen gen. admiral colonel col col. captain capt capt. lieutenant lt lt. sergeant sgt major commander
    king queen prince princess pope cardinal bishop archbishop rabbi imam sheikh emir sultan
    judge justice chief ceo chairman chairwoman chair director head leader coach officer acting former late
    deputy foreign defense defence interior finance economy health justice trade state
    """.split()
)
# Single-word organisations followed by one of these are part of a job title ("Defense Minister"), not an ORG.
TITLE_HEADS = frozenset(
    "minister ministers secretary secretaries chief chiefs spokesman spokeswoman spokesperson official officials "
    "ministry's minister's secretary's".split()
)
_LEADING_THE = re.compile(r"^(?:the|The|THE)\s+")
_POSSESSIVE = re.compile(r"(?:['’]s|['’])$", re.IGNORECASE)
_EDGE_PUNCT = re.compile(r"^[\s\"“”‘’'()\[\],.;:!?-]+|[\s\"“”‘’'()\[\],;:!?-]+$")
_HAS_LETTER = re.compile(r"[^\W\d_]")


DEFAULT_ENTITY_CONFIG = Path(__file__).resolve().parent.parent / "config" / "entities.yml"


@dataclass(frozen=True)
class EntityConfig:
    """Cross-article rules from config/entities.yml: aliases to one canonical name, and a blocklist."""

    aliases: dict[str, str] = field(default_factory=dict)  # comparison key of a variant -> canonical name
    blocklist: frozenset[str] = frozenset()  # comparison keys of values that are never entities
    fingerprint: str = "none"  # changes whenever the file's content changes; part of the pipeline version

    def canonical(self, value: str) -> str:
        """The configured canonical name for value, or value itself."""
        return self.aliases.get(_key(value), value)

    def blocked(self, value: str) -> bool:
        """True for a configured false positive."""
        return _key(value) in self.blocklist


def load_entity_config(path: Path | str | None = None) -> EntityConfig:
    """Read the aliases and blocklist; a missing file means no cross-article rules."""
    path = Path(path or DEFAULT_ENTITY_CONFIG)
    if not path.exists():
        return EntityConfig()
    raw = path.read_bytes()
    tree = yaml.safe_load(raw) or {}
    if not isinstance(tree, dict):
        raise ValueError(f"{path}: expected a mapping with 'aliases' and 'blocklist'")
    aliases: dict[str, str] = {}
    for canonical, variants in (tree.get("aliases") or {}).items():
        if not isinstance(variants, list):
            raise ValueError(f"{path}: aliases of {canonical!r} must be a list")
        for variant in [canonical, *variants]:
            key = _key(str(variant))
            if key in aliases and aliases[key] != canonical:
                raise ValueError(f"{path}: {variant!r} is an alias of both {aliases[key]!r} and {canonical!r}")
            aliases[key] = str(canonical)
    blocklist = frozenset(_key(str(v)) for v in tree.get("blocklist") or [])
    return EntityConfig(aliases, blocklist, hashlib.sha1(raw).hexdigest()[:12])


@dataclass(frozen=True, slots=True)
class RawMention:
    """An NER span as the model produced it."""

    text: str
    label: str
    start: int
    end: int


def clean_surface(surface: str, label: str) -> str:
    """Strip a leading 'the', possessives, edge punctuation and (for persons) leading titles."""
    value = " ".join(surface.split())
    value = _EDGE_PUNCT.sub("", value)
    value = _LEADING_THE.sub("", value)
    value = _POSSESSIVE.sub("", value)
    value = _EDGE_PUNCT.sub("", value)
    if label == "PERSON":
        tokens = value.split()
        while len(tokens) > 1 and tokens[0].lower() in TITLE_WORDS:
            tokens.pop(0)
        value = " ".join(tokens)
    return value


def _is_title_fragment(mention: RawMention, text: str) -> bool:
    """'Defense' in "Defense Minister": a one-word ORG that is really part of a job title."""
    if mention.label != "ORG" or " " in mention.text.strip():
        return False
    following = text[mention.end: mention.end + 40].split()
    return bool(following) and following[0].lower().strip(",.;:") in TITLE_HEADS


def _key(value: str) -> str:
    return strip_accents_casefold(value)


def _display_form(surfaces: Counter[str]) -> str:
    """The most frequent spelling, preferring mixed case over ALL CAPS; first seen wins ties."""
    return max(surfaces, key=lambda s: (not s.isupper() or len(s) <= 5, surfaces[s]))


def canonicalize(text: str, mentions: Iterable[RawMention], config: EntityConfig | None = None) -> list[EntityMention]:
    """Turn raw NER spans of one text into mentions carrying one canonical value and one label per entity.

    `text` is the text NER read (possibly re-cased); each mention's own `text` is kept as given.
    """
    config = config or EntityConfig()
    kept: list[tuple[RawMention, str]] = []
    for mention in mentions:
        if mention.label not in FACET_OF_LABEL or _is_title_fragment(mention, text):
            continue
        value = clean_surface(text[mention.start:mention.end], mention.label)
        if len(value) < 2 or not _HAS_LETTER.search(value) or config.blocked(value):
            continue
        kept.append((mention, config.canonical(value)))

    surfaces: dict[str, Counter[str]] = defaultdict(Counter)
    label_votes: dict[str, Counter[str]] = defaultdict(Counter)
    for mention, value in kept:
        key = _key(value)
        surfaces[key][value] += 1
        # Longer mentions are more reliable evidence of the type than a bare surname.
        label_votes[key][mention.label] += len(value.split())

    label_of = {key: _vote(votes) for key, votes in label_votes.items()}
    target = _resolve_short_forms(label_of)

    result: list[EntityMention] = []
    for mention, value in kept:
        key = target.get(_key(value), _key(value))
        result.append(
            EntityMention(
                text=mention.text,
                label=label_of[key],
                start=mention.start,
                end=mention.end,
                canonical=_display_form(surfaces[key]),
            )
        )
    return result


def _vote(votes: Counter[str]) -> str:
    # Ties go to PERSON, then ORG: a name seen as both is more often a person misread as an organisation.
    preference = {"PERSON": 2, "ORG": 1}
    return max(votes, key=lambda label: (votes[label], preference.get(label, 0)))


# A short form is only taken for a surname when NER itself read it as a person or (a frequent confusion) an
# organisation; a name it reads as a place ("Washington" beside "Denzel Washington") is a different entity.
_SURNAME_LABELS = frozenset({"PERSON", "ORG"})


def _resolve_short_forms(label_of: dict[str, str]) -> dict[str, str]:
    """Map a name that is the tail of exactly one longer person name in the article onto that name."""
    persons = [key for key, label in label_of.items() if label == "PERSON" and " " in key]
    mapping: dict[str, str] = {}
    for key, label in label_of.items():
        if label not in _SURNAME_LABELS:
            continue
        tokens = key.split()
        candidates = [
            full for full in persons
            if full != key and len(full.split()) > len(tokens) and full.split()[-len(tokens):] == tokens
        ]
        if len(candidates) == 1:
            mapping[key] = candidates[0]
    return mapping


def facet_values(mentions: Sequence[EntityMention]) -> dict[str, list[str]]:
    """Flat keyword arrays per facet (`person`, `org`, `place`, ...), distinct values in first-mention order."""
    facets: dict[str, dict[str, None]] = {facet: {} for facet in FACETS}
    for mention in mentions:
        facets[FACET_OF_LABEL[mention.label]].setdefault(mention.canonical, None)
    return {facet: list(values) for facet, values in facets.items()}
