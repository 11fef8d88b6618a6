"""Entity canonicalisation within one article: one real entity -> one facet value with one label.

Pure functions over raw NER spans, so the rules are testable without a model:
surface cleaning (leading "the", possessives, titles), names the model tagged found again where it missed or cut
them, short forms resolved to the full name used in the same article ("Akar" -> "Hulusi Akar"), and one label per
canonical name voted from its mentions.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from nameparser.config import CONSTANTS

from pipeline.core.facets import FACET_OF_LABEL, entity_id
from pipeline.core.records import EntityMention
from pipeline.core.settings import read_yaml
from pipeline.core.text import strip_accents_casefold, title_case_headline_end
from pipeline.enrich.gazetteer import countryinfo_rows

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
# "Apple's iPhone", "Beatles' Apple Corps"; tokenised sources write "Apple 's iPhone".
_INNER_POSSESSIVE = re.compile(r"(?:\s?['’]s|s\s?['’])\s+(?=\S)")
_ACRONYM_STOPWORDS = frozenset("of the and for de du la le des on in at to".split())
_LEADING_THE = re.compile(r"^(?:the|The|THE)\s+")
_POSSESSIVE = re.compile(r"(?:['’]s|['’])$", re.IGNORECASE)
_EDGE_PUNCT = re.compile(r"^[\s\"“”‘’'`()\[\]<>,.;:!?-]+|[\s\"“”‘’'`()\[\]<>,;:!?-]+$")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
_NUMBERED_LABELS = frozenset({"PRODUCT", "WORK_OF_ART", "LAW", "EVENT"})
# Numbers after a name: a score ("2-0"), a bowling figure ("9.5-0-44-1") or a runs total; kept on products and
# works ("iPhone 4", "Windows 95"), which are named with numbers.
_TRAILING_SCORE = re.compile(r"(?:\s+\d+(?:[.,:/-]\d+)*)+$")
_TRAILING_DASHED_SCORE = re.compile(r"(?:\s+\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)+)+$")
_TRAILING_LOWER = re.compile(r"(?:\s+[a-z]+)+$")
# A lower-case word or prefix ("pro-Socialist", "state-owned"); "iTunes", "eBay" are names.
_LOWER_PREFIX = re.compile(r"[a-z]+(?:-|$)")

# Other languages (the WikiNER-trained models, French first). In French and most European orthographies the article
# or the common noun a proper name carries is capitalised when it belongs to the name ("La Roche-sur-Yon", "Le Pen",
# "L'Oréal"); a lower-case one the model took into its span is not part of the name ("la France",
# "l'Assemblée nationale", "cathédrale Notre-Dame de Paris", "start-up nantaise").
_LOWER_ARTICLE = re.compile(r"^(?:le|la|les|der|die|das|el|los|las|il|lo|gli)\s+|^l['’](?=\w)")
# Name particles stay: "de Gaulle", "van Gogh", "von der Leyen" are names as the model reads a surname. nameparser's
# prefixes ("ibn", "van", "von", "de", ...); its "la"/"le" are articles at the start of a span (_LOWER_ARTICLE).
NAME_PARTICLES = frozenset(CONSTANTS.prefixes)
# A span that starts with a job title is the title, not an organisation or a place ("ministre de l'Intérieur").
FOREIGN_TITLE_WORDS = frozenset(
    """
    m. mme mlle mme. me dr pr président présidente ministre ministres ministère secrétaire maire directeur
    directrice député députée sénateur sénatrice gouverneur général premier première chef porte-parole ambassadeur
    ambassadrice juge procureur procureure préfet préfète commissaire eurodéputé eurodéputée
    """.split()
)
_NO_LETTER_TAIL = re.compile(r"(?:\s+[^\w\s]*\d[^\s]*)+$")  # "Croatie 4-2": the score is no part of the name


DEFAULT_ENTITY_CONFIG = Path(__file__).resolve().parents[2] / "config" / "entities.yml"


@dataclass(frozen=True)
class EntityConfig:
    """Cross-article rules from config/entities.yml: aliases to one canonical name, a blocklist, fixed labels."""

    aliases: dict[str, str] = field(default_factory=dict)  # comparison key of a variant -> canonical name
    blocklist: frozenset[str] = frozenset()  # comparison keys of values that are never entities
    fingerprint: str = "none"  # changes whenever the file's content changes; part of the pipeline version
    # comparison key of a canonical name -> the NER label it always gets ("G20" is an ORG in every article)
    labels: dict[str, str] = field(default_factory=dict)
    # comparison keys of names the registry never joins to another name (a manual split: "Paris" the person and the
    # city, two "Brown"s); pipeline.enrich.registry honours it
    distinct: frozenset[str] = frozenset()

    def canonical(self, value: str) -> str:
        """The configured canonical name for value, or value itself."""
        return self.aliases.get(_key(value), value)

    def blocked(self, value: str) -> bool:
        """True for a configured false positive."""
        return _key(value) in self.blocklist


def load_entity_config(path: Path | str | None = None) -> EntityConfig:
    """Read the aliases, blocklist and fixed labels; a missing file means no cross-article rules."""
    path = Path(path or DEFAULT_ENTITY_CONFIG)
    if not path.exists():
        return EntityConfig()
    raw = path.read_bytes()
    tree = read_yaml(path) or {}
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
    labels: dict[str, str] = {}
    for label, names in (tree.get("labels") or {}).items():
        if label not in FACET_OF_LABEL:
            raise ValueError(f"{path}: unknown label {label!r} in 'labels' (one of {', '.join(FACET_OF_LABEL)})")
        if not isinstance(names, list):
            raise ValueError(f"{path}: names labelled {label!r} must be a list")
        for name in names:
            key = _key(str(aliases.get(_key(str(name)), name)))
            if key in labels and labels[key] != label:
                raise ValueError(f"{path}: {name!r} is labelled both {labels[key]!r} and {label!r}")
            labels[key] = label
    distinct = frozenset(_key(str(aliases.get(_key(str(v)), v))) for v in tree.get("distinct") or [])
    return EntityConfig(aliases, blocklist, hashlib.sha1(raw).hexdigest()[:12], labels, distinct)


@dataclass(frozen=True, slots=True)
class RawMention:
    """An NER span as the model produced it."""

    text: str
    label: str
    start: int
    end: int


def clean_surface(surface: str, label: str, language: str | None = "en") -> str:
    """Strip a leading 'the', possessives, edge punctuation and (for persons) leading titles; in other languages
    also lower-case articles and common nouns before the name, job titles and trailing numbers ('' = no name)."""
    value = " ".join(surface.split())
    if language not in (None, "en"):
        value = _clean_foreign(value, label)
    value = _SPACED_DASH.split(value, maxsplit=1)[0]  # "San Jose - Cisco": two names run together
    value = _split_coordination(value)
    value = _after_inner_possessive(value)
    value = _EDGE_PUNCT.sub("", value)
    value = _LEADING_THE.sub("", value)
    value = _POSSESSIVE.sub("", value)
    value = _PARENTHETICAL.sub("", value) or value
    value = _EDGE_PUNCT.sub("", value)
    if label in _PLACE_LABELS:
        value = value.split(" , ")[0].split(", ")[0]  # "Oval, London": a place and the place it is in
    # "Mexico 2-0", "Cleveland 3": a result after the name; a score or bowling figure ("9.5-0-44-1") even after
    # a product's or a law's name, which may otherwise end in a number ("Windows 95").
    value = (_TRAILING_SCORE if label not in _NUMBERED_LABELS else _TRAILING_DASHED_SCORE).sub("", value) or value
    if label in _PLACE_LABELS:  # "Guangdong province": the name is the capitalised part
        value = _TRAILING_LOWER.sub("", value) or value
    if label == "ORG" and language in (None, "en") and _has_capital(value):
        # "pro-Socialist CFDT union", "Interfax news agency": in English the lower-case words the model took in
        # around an organisation's name are no part of it (a lower-case particle is: "de Beers"); other
        # orthographies write names with them ("Assemblée nationale")
        tokens = value.split()
        while (len(tokens) > 1 and _LOWER_PREFIX.match(tokens[0]) and tokens[0] not in NAME_PARTICLES
               and any(_has_capital(t) for t in tokens[1:])):
            tokens.pop(0)
        value = _TRAILING_LOWER.sub("", " ".join(tokens)) or value
    if label == "ORG":
        stripped = _LEGAL_FORM.sub("", value)
        value = stripped if _HAS_LETTER.search(stripped) else value
    if label == "PERSON":
        tokens = value.split()
        while len(tokens) > 1 and tokens[0].lower() in TITLE_WORDS:
            tokens.pop(0)
        value = " ".join(tokens)
    return value


def _clean_foreign(value: str, label: str) -> str:
    """The name inside a span of a non-English model ('' when it holds none): see _LOWER_ARTICLE."""
    value = _LOWER_ARTICLE.sub("", value)
    value = _NO_LETTER_TAIL.sub("", value)
    tokens = value.split()
    if label != "PERSON" and tokens and tokens[0].lower() in FOREIGN_TITLE_WORDS:
        return ""
    while len(tokens) > 1 and tokens[0].lower() in FOREIGN_TITLE_WORDS:
        tokens.pop(0)
    while tokens and tokens[0].islower() and (tokens[0] not in NAME_PARTICLES or _LOWER_ARTICLE.match(tokens[0] + " ")):
        tokens.pop(0)
    value = _LOWER_ARTICLE.sub("", " ".join(tokens))
    return value if _has_capital(value) else ""
_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
# Lower-case words that belong inside a person's name ("Ludwig van Beethoven", "Osama bin Laden"): the particles and
# nameparser's conjunctions. Any other lower-case word makes a span a phrase ("Blewett b Warne": a scorecard).
_IN_NAME_WORDS = NAME_PARTICLES | frozenset(CONSTANTS.conjunctions)
# Labels of names that never hold a free-standing number (a product, an event or a law may: "iPhone 4").
_NO_NUMBER_LABELS = frozenset({"PERSON", "GPE", "LOC", "NORP"})


def not_a_name(value: str, label: str, surface: str) -> bool:
    """True for a span that is no entity's name, by its shape alone (no word list of one corpus):

    - no capital letter at all ("cts", a wire's cents): names are capitalised;
    - markup left in it (`<`, `>` after the edges are cleaned: "<Gulf Corp" is cleaned, "Gulf<Corp" is not);
    - a line break inside the span: a headline run into the body's first words ("Bahia Cocoa Review\nShowers");
    - a free-standing number in a person or place name, or inside an organisation's: a score line or a
      scorecard ("Blewett b Warne 24", "Liverpool 0 Sheffield");
    - a person name with a lower-case word that is not a name particle ("Blewett b Warne").
    """
    if not any(c.isupper() for c in value) or "<" in value or ">" in value or "\n" in surface.strip():
        return True
    words = value.split()
    numbers = [i for i, word in enumerate(words) if _NUMBER.fullmatch(word)]
    if numbers and (label in _NO_NUMBER_LABELS or (label == "ORG" and any(0 < i < len(words) - 1 for i in numbers))):
        return True
    return label == "PERSON" and any(w.islower() and w not in _IN_NAME_WORDS for w in words)


# Labels under which the model reports a demonym ("Iraqi", "Germans"), or misreads one as a name ("Tajik").
_DEMONYM_LABELS = frozenset({"NORP", "PERSON", "ORG", "GPE"})


@lru_cache(maxsize=1)
def demonyms() -> dict[str, tuple[str, str]]:
    """Demonym key -> (the country it names, the demonym's spelling), from countryinfo's country data
    (pipeline.enrich.gazetteer.countryinfo_rows): "german" -> ("Germany", "German"). Where several territories share
    one ("French"), the most populous country wins."""
    best: dict[str, tuple[int, str, str]] = {}
    for country in countryinfo_rows():
        demonym, name = country.get("demonym"), country.get("name")
        population = int(country.get("population") or 0)
        if demonym and name and population >= best.get(_key(demonym), (-1, "", ""))[0]:
            best[_key(demonym)] = (population, name, demonym)
    return {key: (name, demonym) for key, (_population, name, demonym) in best.items()}


def country_demonym(country: str) -> str | None:
    """The nationality word of a country by its name, from the same tables ("United Kingdom" -> "British")."""
    return _demonym_of_country().get(_key(country))


@lru_cache(maxsize=1)
def _demonym_of_country() -> dict[str, str]:
    return {_key(name): spelling for name, spelling in demonyms().values()}


@lru_cache(maxsize=1)
def known_places() -> frozenset[str]:
    """Keys of names that are places beyond doubt: countries (and their other spellings), capitals and first-level
    divisions (US states, provinces), from countryinfo's data. A surname the model reads as a place is taken for the
    person beside it only when it is none of these ("Buyoya" beside "Pierre Buyoya", never "Washington")."""
    names: set[str] = set()
    for country in countryinfo_rows():
        for name in [country.get("name"), country.get("capital"), *(country.get("altSpellings") or []),
                     *(country.get("provinces") or [])]:
            if isinstance(name, str) and name:
                names.add(_key(name))
                names.add(_key(name.split(" ")[0]))  # "Washington D.C." -> "washington"
    return frozenset(names)


def demonym_country(value: str, label: str) -> str | None:
    """The country a demonym stands for ("Iraqis" -> "Iraq"), or None: a nationality adjective is linked to its
    country, so "Iraqi officials" and "Iraq" count under one place (as entity linkers such as AIDA do)."""
    if label not in _DEMONYM_LABELS or (label != "NORP" and " " in value):
        return None
    found = demonym_of(value, label)
    return found[0] if found else None


def country_spellings(country: str) -> tuple[str, ...]:
    """A country's name and its other spellings in countryinfo's data ("Czech Republic" -> (..., "Czechia", ...)),
    the name first (codes such as "CZ" left out); a name the data lacks is its only spelling."""
    return (country, *_spellings_of_country().get(_key(country), ()))


@lru_cache(maxsize=1)
def _spellings_of_country() -> dict[str, tuple[str, ...]]:
    # Codes ("CZ", "CZE") are no spellings of a name: countryinfo writes them as 2 or 3 capitals.
    return {_key(row["name"]): tuple(s for s in row.get("altSpellings") or []
                                     if isinstance(s, str) and not re.fullmatch(r"[A-Z]{2,3}", s))
            for row in countryinfo_rows() if row.get("name")}


def name_ids(label: str, name: str) -> frozenset[str]:
    """The entity ids a facet name may carry in an article: its own (`entity_id(label, name)`), and for a nationality
    word of the demonym tables its country's ("Japanese" -> Japan's id, as place resolution and the registry write
    it).

    Raises KeyError for a label that feeds no facet."""
    country = demonym_country(name, label) if label == "NORP" else None
    own = entity_id(label, name)
    return frozenset({own, entity_id("GPE", country)} if country else {own})


def demonym_of(value: str, label: str, *, first_words: bool = False) -> tuple[str, str] | None:
    """(country, the demonym's singular spelling) for a nationality word ("Iraqis" -> ("Iraq", "Iraqi")), or None.
    With `first_words`, a whole NORP span that is the first word of one country's name counts too ("Saudi")."""
    if label not in _DEMONYM_LABELS or (label != "NORP" and " " in value):
        return None
    key = _key(value)
    table = demonyms()
    found = table.get(key) or (table.get(key[:-1]) if key.endswith("s") else None)
    if found is None and first_words and label == "NORP" and " " not in key:
        # "Saudi": a group word that is the first word of exactly one country's name of several words, written as
        # that country's nationality word (one name per id in the norp facet).
        country = _country_of_first_word().get(key)
        found = (country, country_demonym(country) or value) if country else None
    return found


@lru_cache(maxsize=1)
def _country_of_first_word() -> dict[str, str]:
    """First word key -> the country name, for first words that begin a multi-word country name and no other name
    of countryinfo's data (other countries' names and spellings, capitals, provinces: "North", "Democratic", "San"
    begin several); a plural ("Turks") is a people, not the first word of a name."""
    names: dict[str, set[str]] = defaultdict(set)  # first word -> the countries whose names it begins
    begins: dict[str, set[str]] = defaultdict(set)  # first word -> every name of the data it begins
    for country in countryinfo_rows():
        name = country.get("name")
        if isinstance(name, str) and " " in name.strip():
            names[_key(name.split()[0])].add(name)
        for other in [name, country.get("capital"), *(country.get("altSpellings") or []),
                      *(country.get("provinces") or [])]:
            if isinstance(other, str) and other.strip():
                begins[_key(other.split()[0])].add(_key(other))
    return {word: next(iter(found)) for word, found in names.items()
            if len(found) == 1 and word.isalpha() and not word.endswith("s")  # "Turks" are no islands
            and all(other.startswith(_key(next(iter(found)))) or _key(next(iter(found))).startswith(other)
                    or other in _country_spellings(next(iter(found))) for other in begins[word])}


def _country_spellings(name: str) -> set[str]:
    """Keys of a country's name and other spellings in countryinfo's data."""
    for country in countryinfo_rows():
        if country.get("name") == name:
            return {_key(s) for s in [name, *(country.get("altSpellings") or [])] if isinstance(s, str)}
    return set()


# A wire dateline opens a line: the place in capitals (re-cased for NER or not), an optional region after a comma,
# then the agency in parentheses and a dash ("LISBON (Reuters) -"), or the date ("LONDON 1996-08-30").
_DATELINE = re.compile(
    r"^(?P<place>[A-Z][A-Za-z'.-]+(?: [A-Z][A-Za-z'.-]+){0,3})(?:, [A-Z][A-Za-z .]{1,30})?"
    r"(?: ?\([A-Za-z .&-]{2,40}\) ?[-–—]| \d{4}-\d{2}-\d{2}\s*$)",
    re.MULTILINE,
)


def _without_headline_guesses(text: str, original: str, mentions: list[RawMention]) -> list[RawMention]:
    """Drop the model's multi-word spans in a headline (a re-cased ALL-CAPS line, or a Title Case first line) that
    name nothing the rest of the article names: there the model cannot tell a name from the capitalised words around
    it ("Miller Defends Title", "Veltrix Joins Samsung"). Names of the body are found again in the headline by the
    repeat search."""
    headline_end = title_case_headline_end(text)

    def recased(m: RawMention) -> bool:
        return text[m.start:m.end] != original[m.start:m.end] or m.end <= headline_end

    body = {_key(clean_surface(text[m.start:m.end], m.label)) for m in mentions if not recased(m)}
    return [m for m in mentions if not recased(m) or len(m.text.split()) < 2
            or _key(clean_surface(text[m.start:m.end], m.label)) in body]


_LINE_BREAK = re.compile(r"[ \t]*\n\s*")


def _split_at_line_breaks(text: str, mentions: list[RawMention]) -> list[RawMention]:
    """A span run across the end of the first line holds a headline's last name and the body's first word
    ("Energy Storage Conference\n\nVeltrix"): it is cut there, and each piece is kept, with the span's label, only
    when the article writes it elsewhere too (names recur: "Veltrix" of the headline), not when the body merely
    starts a sentence with a capitalised word ("Bahia Cocoa Review\nShowers continued": neither piece)."""
    headline = text.find("\n")
    result: list[RawMention] = []
    for mention in mentions:
        surface = text[mention.start:mention.end]
        breaks = list(_LINE_BREAK.finditer(surface))
        if not breaks or not mention.start <= headline < mention.end:
            result.append(mention)  # within one line, or a join of two body lines (a table's rows): no name
            continue
        edges = [0, *(x for b in breaks for x in b.span()), len(surface)]
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            start, end = mention.start + start, mention.start + end
            piece = text[start:end]
            if not piece.strip():
                continue
            elsewhere = [m.start() for m in re.finditer(rf"(?<!\w){re.escape(piece)}(?!\w)", text)
                         if not mention.start <= m.start() < mention.end]
            if elsewhere:
                result.append(RawMention(piece, mention.label, start, end))
    return result


def _elsewhere(text: str, piece: str, start: int, end: int, outside: list[tuple[int, int]] = ()) -> bool:
    """True when `piece` occurs as whole words outside text[start:end] (first letter as written, the rest in any
    case) and outside the `outside` spans."""
    if not piece or not _has_capital(piece[0]):
        return False
    pattern = rf"(?<!\w){re.escape(piece[0])}(?i:{re.escape(piece[1:])})(?!\w)"
    return any(not (start <= m.start() < end) and not any(s <= m.start() < e for s, e in outside)
               for m in re.finditer(pattern, text))


_AND = re.compile(r"\s+and\s+")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*)\Z")


def _split_runs_of_names(text: str, headline_end: int, mentions: list[RawMention]) -> list[RawMention]:
    """Spans that hold two names the article also writes apart are cut into them, each with the span's label (the
    article's label vote then gives each its own):

    - "Derbyshire and Surrey": two coordinated names, each written alone elsewhere in the article, where the
      whole is not ("Procter and Gamble" stays whole unless the article names both halves on their own);
    - a headline's "Lebed Chechnya" (headlines drop the words between names): two parts the body reads as names
      of different kinds (a person, a place), where it does not write the whole ("Brian Lara" stays whole beside
      "Brian" and "Lara" in the body);
    - "Controversial Australian", "Total Canadian" at a sentence's start: a capitalised word the article never
      writes again before a nationality word is the sentence's first word, not a name; the nationality word stays.
    """
    body_labels: dict[str, set[str]] = defaultdict(set)  # what the model read the body's spans as
    for mention in mentions:
        if mention.start >= headline_end:
            body_labels[_key(text[mention.start:mention.end])].add(mention.label)
    result: list[RawMention] = []
    for mention in mentions:
        surface = text[mention.start:mention.end]

        def whole_elsewhere(surface: str = surface, mention: RawMention = mention) -> bool:
            # Looked up only for the few spans a rule applies to: a search of the whole text per span.
            return _elsewhere(text, surface.strip(), mention.start, mention.end)

        pieces: list[tuple[int, int]] = []
        conjunction = list(_AND.finditer(surface))
        if len(conjunction) == 1 and not whole_elsewhere():
            left, right = surface[:conjunction[0].start()], surface[conjunction[0].end():]
            left = _LEADING_THE.sub("", left)
            full = [(m.start(), m.end()) for m in re.finditer(re.escape(surface), text)]
            if all(_elsewhere(text, part.strip(), mention.start, mention.end, full) for part in (left, right)):
                pieces = [(mention.start + surface.index(left), mention.start + conjunction[0].start()),
                          (mention.start + conjunction[0].end(), mention.end)]
        words = [m.span() for m in re.finditer(r"\S+", surface)]
        if not pieces and mention.end <= headline_end and len(words) >= 2 and not whole_elsewhere():
            for cut in range(1, len(words)):
                left = (mention.start + words[0][0], mention.start + words[cut - 1][1])
                right = (mention.start + words[cut][0], mention.start + words[-1][1])
                labels = [body_labels.get(_key(text[s:e]), set()) for s, e in (left, right)]
                # Two names of different kinds (a person, a place): a first name and a surname are one name.
                if (all(_elsewhere(text, text[s:e], 0, headline_end) for s, e in (left, right))
                        and all(labels) and not labels[0] & labels[1]):
                    pieces = [left, right]
                    break
        if (not pieces and len(words) == 2 and mention.label in _DEMONYM_PREFIX_LABELS | {"NORP"}
                and demonym_of(surface, "NORP") is None and demonym_of(surface.split()[1], "NORP") is not None
                and demonym_of(surface.split()[0], "NORP") is None
                and _SENTENCE_START.search(text, 0, mention.start + words[0][0])
                and not _elsewhere(text, surface.split()[0], mention.start, mention.end)):
            start = mention.start + words[1][0]
            result.append(RawMention(text[start:mention.end], "NORP", start, mention.end))
            continue
        if not pieces:
            result.append(mention)
            continue
        result.extend(RawMention(text[s:e], mention.label, s, e) for s, e in pieces)
    return result


_FIRST_WORD = re.compile(r"\s*(?:[Tt]he\s+)?(\S+)\s+")  # after a leading "the": "The Dutch transport ministry"
# Labels of spans that may open with a nationality adjective the model took in ("Australian Rodney Eyles").
_DEMONYM_PREFIX_LABELS = frozenset({"PERSON", "ORG"})


def _split_demonym_prefix(text: str, mentions: list[RawMention]) -> list[RawMention]:
    """A person or organisation span that opens with a nationality word holds two mentions: "Australian Rodney
    Eyles" is the demonym (NORP) and the person; "Dutch transport ministry" the demonym and no name. Persons are
    never named by a nationality word, so a PERSON span is always cut; an organisation's only when the rest is no
    name or the article names the rest without the demonym too ("American Airlines" stays whole)."""
    result: list[RawMention] = []
    for mention in mentions:
        surface = text[mention.start:mention.end]
        first = _FIRST_WORD.match(surface)
        if mention.label not in _DEMONYM_PREFIX_LABELS or first is None or demonym_of(first.group(1), "NORP") is None:
            result.append(mention)
            continue
        rest_start = mention.start + first.end()
        rest = text[rest_start:mention.end]
        named = _has_capital(rest)
        if mention.label == "ORG" and named and not _named_elsewhere(text, rest, mention, first.group(1)):
            result.append(mention)
            continue
        start = mention.start + first.start(1)
        result.append(RawMention(first.group(1), "NORP", start, start + len(first.group(1))))
        if named:
            result.append(RawMention(rest, mention.label, rest_start, mention.end))
    return result


def _named_elsewhere(text: str, name: str, mention: RawMention, prefix: str) -> bool:
    """True when `name` (or its last word) occurs outside the mention's span, not after `prefix` again."""
    for probe in dict.fromkeys([_POSSESSIVE.sub("", name.strip()), name.split()[-1]]):
        for match in re.finditer(rf"(?<!\w){re.escape(probe)}(?!\w)", text):
            if not mention.start <= match.start() < mention.end and not text[:match.start()].rstrip().endswith(prefix):
                return True
    return False


def _with_datelines(text: str, mentions: list[RawMention]) -> list[RawMention]:
    """A dateline's place is a place whatever the model read there (it is the wire's convention, not a guess);
    mentions overlapping it are replaced by it."""
    places = [RawMention(m.group("place"), "GPE", m.start("place"), m.end("place")) for m in _DATELINE.finditer(text)]
    if not places:
        return mentions
    kept = [m for m in mentions if not any(m.start < p.end and p.start < m.end for p in places)]
    return sorted(kept + places, key=lambda m: m.start)


# Labels of names that may end in a possessive of their own (McDonald's, Sainsbury's); never a person's.
_OWN_POSSESSIVE_LABELS = frozenset({"ORG", "FAC", "PRODUCT"})
_FOLLOWING_POSSESSIVE = re.compile(r"['’]s(?!\w)")


def _with_own_possessive(text: str, value: str, label: str) -> str:
    """An organisation name the article writes twice or more, never without its "'s", keeps it ("McDonald's said
    ... McDonald's shares"): the possessive is part of the name. Where the bare name occurs too ("Le Verrier's
    prediction ... Le Verrier had said"), it is a possessive and stays cut."""
    if label not in _OWN_POSSESSIVE_LABELS or value.endswith(("'s", "’s")):
        return value
    suffixes = []
    for match in re.finditer(rf"(?<!\w){re.escape(value)}(?!\w)", text):
        following = _FOLLOWING_POSSESSIVE.match(text, match.end())
        if following is None:
            return value
        suffixes.append(following.group(0))
    # One "'s" proves nothing ("The AK Party's ally"); a name written with it every time, twice or more, owns it.
    return value + suffixes[0] if len(suffixes) >= 2 else value


def _conjuncts(value: str) -> tuple[str, str] | None:
    """'Macbook and Macbook Pro' names two things that share a first word; 'Procter and Gamble' is one name."""
    first, sep, second = _LEADING_THE.sub("", value.strip()).partition(" and ")
    if sep and first.strip() and second.strip() and first.split()[0].lower() == second.split()[0].lower():
        return first, second
    return None


def _split_coordination(value: str) -> str:
    """Of two coordinated names, the first ('Macbook and Macbook Pro' -> 'Macbook'); other values unchanged."""
    pair = _conjuncts(value)
    return pair[0] if pair else value


def _second_conjunct(mention: RawMention, text: str, config: EntityConfig) -> list[tuple[RawMention, str]]:
    """'Macbook and Macbook Pro' in one span: the second name, as a mention of its own with the same label."""
    surface = text[mention.start:mention.end]
    pair = _conjuncts(surface)
    if not pair:
        return []
    value = clean_surface(pair[1], mention.label)
    offset = surface.find(value, surface.index(" and ") + len(" and "))
    if len(value) < 2 or offset < 0 or not _has_capital(value) or config.blocked(value):
        return []  # without a capital it is no name (and the first name's span was not narrowed)
    start = mention.start + offset
    return [(RawMention(value, mention.label, start, start + len(value)), value)]


def _after_inner_possessive(value: str) -> str:
    """'Apple's iPhone' or "Beatles' Apple Corps": the name is what is owned, when it is a name of its own."""
    parts = _INNER_POSSESSIVE.split(value, maxsplit=1)
    if len(parts) == 2:
        tail = parts[1].strip()
        # A capital anywhere makes a name: "Apple Corps", and "iTunes" too.
        if any(_has_capital(w) and w.lower() not in ORG_DESIGNATORS for w in tail.split()):
            return tail
    return value


def _has_capital(word: str) -> bool:
    return any(c.isupper() for c in word)


def _is_title_fragment(mention: RawMention, text: str) -> bool:
    """'Defense' in "Defense Minister": a one-word ORG that is really part of a job title."""
    if mention.label != "ORG" or " " in mention.text.strip():
        return False
    following = text[mention.end: mention.end + 40].split()
    return bool(following) and following[0].lower().strip(",.;:") in TITLE_HEADS


def _key(value: str) -> str:
    return strip_accents_casefold(value)


def _display_form(surfaces: Counter[str]) -> str:
    """The most frequent spelling, preferring mixed case over ALL CAPS, then the spelling with the fewest words in
    capitals ("Ana Sousa Martins" over a re-cased headline's "ANA Sousa Martins"); first seen wins ties."""
    return max(surfaces, key=lambda s: (not s.isupper() or len(s) <= 5, surfaces[s],
                                        -sum(len(w) > 1 and w.isupper() for w in s.split())))


def canonicalize(text: str, mentions: Iterable[RawMention], config: EntityConfig | None = None,
                 language: str | None = "en", *, original: str | None = None) -> list[EntityMention]:
    """Turn raw NER spans of one text into mentions carrying one canonical value and one label per entity.

    `text` is the text NER read (possibly re-cased), `original` the text as written when it differs (same length);
    each mention's own `text` is kept as given. `language` selects the surface rules of clean_surface (English: as
    always).
    """
    config = config or EntityConfig()
    original = original if original is not None else text
    mentions = _without_headline_guesses(text, original, list(mentions))
    headline_end = title_case_headline_end(text)
    mentions = _split_at_line_breaks(text, mentions)
    mentions = _split_runs_of_names(text, headline_end or max(text.find("\n"), 0), mentions)
    mentions = _with_datelines(text, _split_demonym_prefix(text, mentions))
    named: list[tuple[RawMention, str]] = []
    other_spans: list[tuple[int, int]] = []  # dates, numbers, dropped fragments: never re-read as names
    linked: dict[str, str] = {}  # key of a demonym -> its country's name
    # Names the model read as a person, a place or a group, which hold no number: "Hampshire 5" read as a law beside
    # "Hampshire" is the name and a score ("Windows 95" beside the company "Windows" stays).
    plain = {_key(clean_surface(text[m.start:m.end], m.label, language)) for m in mentions
             if m.label in _NO_NUMBER_LABELS}
    for mention in mentions:
        value = ""
        if mention.label in FACET_OF_LABEL and not _is_title_fragment(mention, text):
            value = clean_surface(text[mention.start:mention.end], mention.label, language)
        if (len(value) < 2 or not _HAS_LETTER.search(value) or config.blocked(value)
                or not_a_name(value, mention.label, text[mention.start:mention.end])):
            other_spans.append((mention.start, mention.end))
            continue
        if mention.label in _NUMBERED_LABELS and _key(_TRAILING_SCORE.sub("", value)) in plain:
            value = _TRAILING_SCORE.sub("", value)
        value = _with_own_possessive(text, value, mention.label)
        demonym = demonym_of(value, mention.label, first_words=True)
        if demonym:
            # A nationality word keeps its span, its NORP label and its own name (singular: "Iraqis" -> "Iraqi") in
            # the norp facet, and carries its country's id: "Iraqi" and "Iraq" count as one entity by id.
            linked[_key(demonym[1])] = config.canonical(demonym[0])
            named.append((replace(mention, label="NORP"), demonym[1]))  # the span stays the word as written
            continue
        named.append((_narrowed(mention, text, value), value))
        named.extend(_second_conjunct(mention, text, config))
    repeats = _with_repeats(text, named, other_spans)
    kept = [(mention, config.canonical(value)) for mention, value in repeats]
    # the spelling an article wrote -> the key of the name it counts as ("britain" -> "united kingdom")
    written = {_key(value): _key(config.canonical(value)) for _mention, value in repeats}

    surfaces: dict[str, Counter[str]] = defaultdict(Counter)
    label_votes: dict[str, Counter[str]] = defaultdict(Counter)
    for mention, value in kept:
        key = _key(value)
        surfaces[key][value] += 1
        # Longer mentions are more reliable evidence of the type than a bare surname; a headline's (re-cased or
        # Title Case, where the model reads words without a sentence around them) count half.
        span = slice(mention.start, mention.end)
        in_headline = mention.end <= headline_end or text[span] != original[span]
        label_votes[key][mention.label] += len(value.split()) * (0.5 if in_headline else 1)

    # A label fixed in the configuration wins over the article's vote, so a name has one facet in every article.
    label_of = {key: config.labels.get(key) or vote_label(votes) for key, votes in label_votes.items()}
    shapes = {key: max(forms, key=forms.__getitem__) for key, forms in surfaces.items()}
    people_words = {word for key, label in label_of.items() if label == "PERSON" and " " in key
                    for word in key.split()}
    by_stem = _demonyms_by_stem(label_of, written, linked, people_words)
    target = _resolve_short_forms(label_of, shapes, frozenset(linked) | frozenset(by_stem))
    # Again after the short forms: the designator rule labels a bare company name ORG on its own.
    label_of.update((key, label) for key, label in config.labels.items() if key in label_of)
    label_of.update((key, "NORP") for key in [*linked, *by_stem] if key in label_of)

    def id_of(key: str) -> str:
        if key in linked:
            return entity_id("GPE", linked[key])
        if key in by_stem:
            return id_of(target.get(by_stem[key][0], by_stem[key][0]))
        return entity_id(label_of[key], _display_form(surfaces[key]))

    def name_of(key: str) -> str:
        """One name per id in the norp facet: a nationality word linked by its stem is written as the group name
        its place already has there ("Azeri" beside "Azerbaijani"), as its country's nationality word, or in the
        singular ("Azeris" -> "Azeri")."""
        if key not in by_stem:
            return _display_form(surfaces[key])
        place = target.get(by_stem[key][0], by_stem[key][0])
        if label_of[place] == "NORP":
            return _display_form(surfaces[place])
        return (country_demonym(_display_form(surfaces[place]))
                or _display_form(surfaces[key])[:len(by_stem[key][1])])

    result: list[EntityMention] = []
    for mention, value in kept:
        key = target.get(_key(value), _key(value))
        result.append(
            EntityMention(
                text=mention.text,
                label=label_of[key],
                start=mention.start,
                end=mention.end,
                canonical=name_of(key),
                id=id_of(key),
            )
        )
    return result


# What a nationality word adds to the stem it shares with its place's name: "Azer-i", "Brit-on", "Chech-en",
# "Zaire-an", "Tajik" (of Tajikistan).
_DEMONYM_ENDINGS = frozenset({"", "i", "n", "an", "en", "on", "ic", "er"})
# Labels under which the model reports a nationality word the demonym tables lack ("Tajik" PERSON, "Azeri" NORP).
_STEM_DEMONYM_LABELS = frozenset({"NORP", "PERSON"})


def _demonyms_by_stem(label_of: dict[str, str], written: dict[str, str], linked: dict[str, str],
                      people_words: set[str]) -> dict[str, tuple[str, str]]:
    """Nationality words the demonym tables lack, linked to the article's place they derive from: name key ->
    (the key of that place or of a nationality word the tables know, the key's singular form).

    A one-word group or person name (not a word of any person's full name in the article) derives from a place of
    the article (a name read as a place, or a country or province the gazetteer knows) when both share a stem of 4+
    letters, the word adds at most a demonym ending to it and the place at most 6 letters ("Tajik"/"Tajikistan",
    "Briton"/"Britain", "Azeri"/"Azerbaijan", "Chechen"/"Chechnya", "Zairean"/"Zaire"); a plural counts as its
    singular ("Azeris"). A word that is the last word of one multi-word nationality of the article ("Koreans" beside
    "South Korean") is that one. A place is compared as the article wrote it (`written`: spelling key -> name
    key; "Britain" counts as "United Kingdom"). Only a single candidate links.
    """
    places = {key for key, label in label_of.items() if label in _PLACE_LABELS or key in known_places()}
    places |= {key for key in linked}
    spellings = {(key, key) for key in places} | {(spelling, key) for spelling, key in written.items()
                                                  if key in places}
    links: dict[str, tuple[str, str]] = {}
    for key, label in label_of.items():
        if (label not in _STEM_DEMONYM_LABELS or " " in key or key in linked or key in places
                or key in people_words or len(key) < 4):
            continue
        # A plural: a group word, or a word whose singular the article writes too ("Azeris" beside "Azeri"), not a
        # name ending in s ("Francis").
        plural = key.endswith("s") and len(key) > 4 and (label == "NORP" or key[:-1] in label_of)
        forms = {key, key[:-1]} if plural else {key}
        matches = {(spelling, place) for spelling, place in spellings if place != key and any(
            _derives(form, spelling) or (" " in spelling and place in linked and spelling.split()[-1] == form)
            for form in forms)}
        if len({place for _spelling, place in matches}) == 1:
            spelling, place = min(matches)
            links[key] = (place, next(f for f in sorted(forms, key=len) if _derives(f, spelling) or " " in spelling))
    return links


def same_stem(word: str, other: str) -> bool:
    """True when two one-word name keys are forms of one word by shape: one adds at most a demonym ending to the
    stem of 4+ letters they share, the other at most 6 letters ("kurd"/"kurdish", "democrat"/"democratic")."""
    return _derives(word, other) or _derives(other, word)


def _derives(word: str, place: str) -> bool:
    """True when `word` is a demonym of `place` by shape (see _demonyms_by_stem); both are name keys."""
    if " " in place:
        return False
    stem = 0
    while stem < min(len(word), len(place)) and word[stem] == place[stem]:
        stem += 1
    return stem >= 4 and word[stem:] in _DEMONYM_ENDINGS and len(place) - stem <= 6


# Words a span may keep around its name: "the AK Party's" is still read as one span.
_KEPT_IN_SPAN = frozenset({"the", "'s", "’s", "s", "'", "’"})


def _narrowed(mention: RawMention, text: str, value: str) -> RawMention:
    """The span of the name alone when the model's span also held other words: another name ("Apple Computer's
    Mac OS", "San Jose - Cisco", "President Donald Trump"), so it can be found on its own, or words that are no
    part of any name ("MacBook Pro - a", cut mid-phrase), so a highlight shows the name and nothing else."""
    surface = text[mention.start:mention.end]
    offset = surface.find(value)
    if offset < 0:
        return mention
    dropped = surface[:offset].split() + surface[offset + len(value):].split()
    if not any(_HAS_LETTER.search(word) for word in dropped if word.lower() not in _KEPT_IN_SPAN):
        return mention  # only "the", possessives or punctuation were dropped: the span stays as read
    start = mention.start + offset
    return RawMention(text[start:start + len(value)], mention.label, start, start + len(value))


def _with_repeats(text: str, named: list[tuple[RawMention, str]],
                  other_spans: list[tuple[int, int]]) -> list[tuple[RawMention, str]]:
    """Add the places where a name NER found elsewhere in the article recurs without (or with a shorter) span.

    The small model reads the same name differently from sentence to sentence: it tags "iPod" in "the iPod nano"
    beside "the iPod Nano", or misses "Jobs" once. Each name it did tag is looked up again, longest first; an
    occurrence no span touches becomes a mention, and one that covers shorter spans entirely replaces them. The
    first letter must match exactly ("Apple", not "apple"); an all-capitals name must match exactly ("US", not "us").
    """
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    for mention, value in named:
        votes[value][mention.label] += 1
    found = list(named)
    for value in sorted(votes, key=len, reverse=True):
        if len(value) < (2 if value.isupper() else 3):
            continue
        label = votes[value].most_common(1)[0][0]
        for match in _occurrences(value).finditer(text):
            start, end = match.span()
            touching = [i for i, (m, _) in enumerate(found) if m.start < end and start < m.end]
            if any(s < end and start < e and (s < start or e > end) for s, e in other_spans):
                continue  # inside a date or number ("May" in "May 2019"); "4" in "iPhone 4" is taken in
            if any(found[i][0].start < start or found[i][0].end > end or
                   (found[i][0].start, found[i][0].end) == (start, end) for i in touching):
                continue  # already read, or inside / across a longer span
            if not touching and _next_name_starts(text, end, found):
                continue  # "iPhone" before "SDK": one longer name NER read only in part
            found = [item for i, item in enumerate(found) if i not in touching]
            found.append((RawMention(text[start:end], label, start, end), value))
    return sorted(found, key=lambda item: item[0].start)


def _next_name_starts(text: str, end: int, found: list[tuple[RawMention, str]]) -> bool:
    """True when another name's span begins right after `end`, separated only by spaces."""
    gap = len(text[end:]) - len(text[end:].lstrip(" \t"))
    return gap > 0 and any(mention.start == end + gap for mention, _ in found)


def _occurrences(value: str) -> re.Pattern[str]:
    if value.isupper():
        return re.compile(rf"(?<!\w){re.escape(value)}(?!\w)")
    return re.compile(rf"(?<!\w){re.escape(value[0])}(?i:{re.escape(value[1:])})(?!\w)")


def vote_label(votes: Counter[str]) -> str:
    """The label with the most votes; ties go to PERSON, then ORG (a name seen as both is more often a person
    misread as an organisation), then the alphabetically first."""
    preference = {"PERSON": 2, "ORG": 1}
    return max(votes, key=lambda label: (votes[label], preference.get(label, 0), [-ord(c) for c in label]))


# A short form is only taken for a surname when NER itself read it as a person or (a frequent confusion) an
# organisation; a name it reads as a place ("Washington" beside "Denzel Washington") is a different entity.
_SURNAME_LABELS = frozenset({"PERSON", "ORG"})
# Labels the small model gives a surname standing alone ("Allenby" NORP, "Eyles" PRODUCT in sports reports).
_MISREAD_SURNAME_LABELS = frozenset({"NORP", "PRODUCT", "WORK_OF_ART", "EVENT", "LAW"})


def _resolve_short_forms(label_of: dict[str, str], shapes: dict[str, str],
                         demonym_keys: frozenset[str] = frozenset()) -> dict[str, str]:
    """Map the short forms of names in one article onto one key each (and fix the cluster's label).

    - a person's surname (or other tail) of exactly one longer person name: "Akar" -> "Hulusi Akar", also when
      the model read it as a place no gazetteer knows ("Buyoya" GPE -> "Pierre Buyoya"), as a group ("Allenby"
      NORP -> "Robert Allenby") or as a product, work, event or law ("Eyles" PRODUCT -> "Rodney Eyles"); else a
      first name alone ("Saddam" -> "Saddam Hussein"). A one-word name read as a place no gazetteer knows, that
      no person bears, is the tail of the one organisation ending in it ("Eagles" -> "Philadelphia Eagles").
      Nationality words (`demonym_keys`) are never short forms: they keep their link to their country;
    - an organisation name followed only by designators onto the bare name: "Apple Computer" -> "Apple",
      when the bare name occurs in the article too;
    - a name with middle words left out onto the one longer name: "George Bush" -> "George W. Bush";
    - an acronym onto the one name whose initials it spells: "UK" -> "United Kingdom", "SDK" -> "Software
      Development Kit".
    `label_of` is updated in place where a rule decides the label.
    """
    mapping: dict[str, str] = {}
    persons = [key for key, label in label_of.items() if label == "PERSON" and " " in key]
    others = [key for key, label in label_of.items() if label != "PERSON" and " " in key]
    # Longest first, so "OS X Lion" -> "Mac OS X Lion" is known before "Lion" is resolved.
    for key in sorted(label_of, key=lambda k: -len(k.split())):
        tokens = key.split()
        if key in demonym_keys:
            continue
        if label_of[key] in _PLACE_LABELS and len(tokens) == 1 and key not in known_places():
            # "Buyoya" (GPE) beside "Pierre Buyoya": a surname the model read as a place, when no gazetteer knows
            # it as one; "Washington" beside "Denzel Washington" stays a place. Else the short form of one
            # organisation ("Eagles" beside "Philadelphia Eagles": a club by its nickname).
            candidates = ({full for full in persons if _ends_with(full, tokens)}
                          or {mapping.get(full, full) for full in others
                              if label_of[full] == "ORG" and _ends_with(full, tokens)})
            if len(candidates) == 1:
                mapping[key] = candidates.pop()
            continue
        if label_of[key] in _MISREAD_SURNAME_LABELS and len(tokens) == 1:
            # "Allenby" (NORP), "Eyles" (PRODUCT): a surname the model gave a label no person has, beside the one
            # longer name ending in it (a person's, or one the model misread as an organisation).
            candidates = ({full for full in persons if _ends_with(full, tokens)}
                          or {mapping.get(full, full) for full in others
                              if label_of[full] in _SURNAME_LABELS and _ends_with(full, tokens)})
            if len(candidates) == 1:
                mapping[key] = candidates.pop()
            continue
        if label_of[key] not in _SURNAME_LABELS:
            continue
        candidates = {full for full in persons if _ends_with(full, tokens)}
        if not candidates and label_of[key] == "PERSON" and len(tokens) == 1:
            # "Saddam" beside "Saddam Hussein": a first name alone, when one person of the article bears it.
            candidates = {full for full in persons if full.split()[0] == key}
        if not candidates:
            # "Lion" beside "Mac OS X Lion": the tail of a product or organisation name the model misread as a
            # person or an organisation of its own.
            candidates = {mapping.get(full, full) for full in others if _ends_with(full, tokens)}
        if len(candidates) == 1:
            mapping[key] = candidates.pop()

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

    for key, label in label_of.items():
        # "George Bush" -> "George W. Bush", "iTunes Store" -> "iTunes Music Store": the same first and last
        # word with the middle left out, of exactly one longer name of the same label. Two-word forms only:
        # "George W. Bush" is not "George H. W. Bush".
        if label not in _SURNAME_LABELS or key in mapping or len(key.split()) != 2:
            continue
        longer = {mapping.get(full, full) for full, other in label_of.items()
                  if other == label and _drops_middle_words(key.split(), full.split())}
        if len(longer) == 1:
            mapping[key] = longer.pop()

    multi_word = [key for key in label_of if " " in key and key not in mapping]
    for key in label_of:
        letters = shapes[key].replace(".", "")
        if key in mapping or " " in key or not (2 <= len(letters) <= 6) or not letters.isupper():
            continue
        candidates = [full for full in multi_word if spells(letters, shapes[full])]
        if len(candidates) == 1:
            mapping[key] = candidates[0]
    return mapping


def _ends_with(full: str, tokens: list[str]) -> bool:
    words = full.split()
    return len(words) > len(tokens) and words[-len(tokens):] == tokens


def _drops_middle_words(short: list[str], full: list[str]) -> bool:
    """True if the two-word `short` is `full`'s first and last word."""
    return len(full) > 2 and short == [full[0], full[-1]]


def spells(acronym: str, name: str) -> bool:
    """True if the acronym is the initials of the name's words ("GM": "General Motors"; with or without its function
    words: "BOJ" and "BJ" for "Bank of Japan"), or of its last words ("SDK" in "iPhone SDK")."""
    every = [w for w in name.replace("-", " ").split() if w[0].isalpha()]
    if len(every) >= 2 and "".join(w[0] for w in every).upper() == acronym.upper():
        return True
    words = [w for w in name.replace("-", " ").split() if w.lower() not in _ACRONYM_STOPWORDS]
    initials = "".join(w[0] for w in words if w[0].isalpha()).upper()
    return len(words) >= 2 and (initials == acronym.upper() or (
        len(words) > len(acronym) and initials.endswith(acronym.upper())
        and all(w[0].isupper() for w in words[-len(acronym):])))
