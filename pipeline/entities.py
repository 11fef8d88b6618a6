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
# Words that follow an organisation's name without changing which organisation it is: "Apple Computer",
# "Apple Inc." and "Apple" in one article are one company.
ORG_DESIGNATORS = frozenset(
    """
    inc inc. incorporated corp corp. corporation co co. company ltd ltd. limited llc l.l.c. plc ag sa s.a. nv n.v.
    gmbh se llp lp group holdings holding international computer computers technologies industries systems
    communications
    """.split()
)
_LEGAL_FORM = re.compile(
    r"(?:\s*,)?\s+(?:Inc|Incorporated|Corp|Co|Ltd|Limited|LLC|L\.L\.C|plc|PLC|AG|S\.A|SA|N\.V|NV|GmbH|LLP)\.?$"
)
_PARENTHETICAL = re.compile(r"\s*\((?:[^()]*\)|[^()]*$)")  # "Kit (SDK)" or a span cut inside "( SDK"
_SPACED_DASH = re.compile(r"\s+(?:-|–|—|--)\s+")
_INNER_POSSESSIVE = re.compile(r"(?:['’]s|s['’])\s+(?=\S)")
_ACRONYM_STOPWORDS = frozenset("of the and for de du la le des on in at to".split())
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
    value = _SPACED_DASH.split(value, maxsplit=1)[0]  # "San Jose - Cisco": two names run together
    value = _split_coordination(value)
    value = _after_inner_possessive(value)
    value = _EDGE_PUNCT.sub("", value)
    value = _LEADING_THE.sub("", value)
    value = _POSSESSIVE.sub("", value)
    value = _PARENTHETICAL.sub("", value) or value
    value = _EDGE_PUNCT.sub("", value)
    if label == "ORG":
        stripped = _LEGAL_FORM.sub("", value)
        value = stripped if _HAS_LETTER.search(stripped) else value
    if label == "PERSON":
        tokens = value.split()
        while len(tokens) > 1 and tokens[0].lower() in TITLE_WORDS:
            tokens.pop(0)
        value = " ".join(tokens)
    return value


def _split_coordination(value: str) -> str:
    """'Macbook and Macbook Pro' names two things: keep the first. 'Procter and Gamble' stays whole."""
    first, sep, second = value.partition(" and ")
    if sep and first and second and first.split()[0].lower() == second.split()[0].lower():
        return first
    return value


def _after_inner_possessive(value: str) -> str:
    """'Apple's iPhone' or "Beatles' Apple Corps": the name is what is owned, when it is a name of its own."""
    parts = _INNER_POSSESSIVE.split(value, maxsplit=1)
    if len(parts) == 2:
        tail = parts[1].strip()
        if any(w[:1].isupper() and w.lower() not in ORG_DESIGNATORS for w in tail.split()):
            return tail
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
    shapes = {key: max(forms, key=forms.__getitem__) for key, forms in surfaces.items()}
    target = _resolve_short_forms(label_of, shapes)

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


def _resolve_short_forms(label_of: dict[str, str], shapes: dict[str, str]) -> dict[str, str]:
    """Map the short forms of names in one article onto one key each (and fix the cluster's label).

    - a person's surname (or other tail) of exactly one longer person name: "Akar" -> "Hulusi Akar";
    - an organisation name followed only by designators onto the bare name: "Apple Computer" -> "Apple",
      when the bare name occurs in the article too;
    - an acronym onto the one name whose initials it spells: "UK" -> "United Kingdom", "SDK" -> "Software
      Development Kit".
    `label_of` is updated in place where a rule decides the label.
    """
    mapping: dict[str, str] = {}
    persons = [key for key, label in label_of.items() if label == "PERSON" and " " in key]
    for key, label in label_of.items():
        if label not in _SURNAME_LABELS:
            continue
        tokens = key.split()
        candidates = [full for full in persons
                      if len(full.split()) > len(tokens) and full.split()[-len(tokens):] == tokens]
        if len(candidates) == 1:
            mapping[key] = candidates[0]

    for key, label in list(label_of.items()):
        tokens = key.split()
        if label != "ORG" or len(tokens) < 2 or key in mapping:
            continue
        for cut in range(len(tokens) - 1, 0, -1):
            if all(t in ORG_DESIGNATORS for t in tokens[cut:]):
                bare = " ".join(tokens[:cut])
                if bare in label_of and bare not in mapping:
                    mapping[key] = bare
                    label_of[bare] = "ORG"
                break

    multi_word = [key for key in label_of if " " in key and key not in mapping]
    for key in label_of:
        letters = shapes[key].replace(".", "")
        if key in mapping or " " in key or not (2 <= len(letters) <= 6) or not letters.isupper():
            continue
        candidates = [full for full in multi_word if _spells(letters, shapes[full])]
        if len(candidates) == 1:
            mapping[key] = candidates[0]
    return mapping


def _spells(acronym: str, name: str) -> bool:
    """True if the acronym is the initials of the name's words, or of its last words ("iPhone SDK")."""
    words = [w for w in name.replace("-", " ").split() if w.lower() not in _ACRONYM_STOPWORDS]
    initials = "".join(w[0] for w in words if w[0].isalpha()).upper()
    return len(words) >= 2 and (initials == acronym.upper() or (
        len(words) > len(acronym) and initials.endswith(acronym.upper())
        and all(w[0].isupper() for w in words[-len(acronym):])))


def facet_values(mentions: Sequence[EntityMention]) -> dict[str, list[str]]:
    """Flat keyword arrays per facet (`person`, `org`, `place`, ...), distinct values in first-mention order."""
    facets: dict[str, dict[str, None]] = {facet: {} for facet in FACETS}
    for mention in mentions:
        facets[FACET_OF_LABEL[mention.label]].setdefault(mention.canonical, None)
    return {facet: list(values) for facet, values in facets.items()}
