"""Place resolution within one article: GPE/LOC mentions -> GeoNames entries, demonyms -> their country.

Runs after entity canonicalisation (pipeline.enrich.annotate), on the article's mentions. A cascade per distinct
name, cheap first:

1. candidates from the gazetteer (pipeline.enrich.gazetteer) and `config/places.yml` (extra names, extra entries,
   names never resolved). Entries found only by an alternate name give way to entries of that primary name
   ("Victoria" is not Hong Kong, once called Victoria); a city inside a country of the same name gives way to the
   country ("Singapore"), a region to the city of its name inside it ("New York");
2. an explicit qualifier keeps the candidates inside it: "Cambridge, Massachusetts" (one span or two);
3. the prior: population, times AREA_WEIGHT for a country or a state (feature class), CAPITAL_WEIGHT for a national
   capital (so "Washington" is not the state by default), and for the dateline, CITY_WEIGHT for cities (datelines
   name cities);
4. the article's other places: a candidate in a country that another place of the article lies in counts
   COUNTRY_WEIGHT times, one in the same US state as another city of the article REGION_WEIGHT times ("Paris"
   beside Texas towns, "Georgia" beside Atlanta or beside Tbilisi). Only US states count as regions: GeoNames'
   first-order divisions elsewhere can be whole nations (England), too coarse to tell two towns apart;
5. the best candidate wins only when it outweighs the next by CONFIDENCE_RATIO; otherwise the name stays a place name
   without coordinates: no confident wrong point.

Weights were set on the dev half of the AIDA-CoNLL dev set (bench/places.py); the held-out half was scored once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline.core.facets import entity_id
from pipeline.core.records import EntityMention
from pipeline.enrich.entities import country_demonym
from pipeline.enrich.gazetteer import Gazetteer, Place, default_gazetteer, name_key

# Labels whose mentions are resolved. FAC (buildings, airports, roads) is not: GeoNames cities would only give
# a confident wrong point for "White House" or "Wall Street".
PLACE_LABELS = frozenset({"GPE", "LOC"})
# Kinds of gazetteer entries that are geopolitical entities (OntoNotes GPE); a continent stays LOC.
GPE_KINDS = frozenset({"country", "region", "city"})
# Labels whose mentions may be a demonym or nationality word ("German", "Brazilians").
DEMONYM_LABELS = frozenset({"NORP", "GPE"})
CONFIDENCE_RATIO = 5.0
AREA_WEIGHT = 5.0  # feature class: a country or a state is named more often than a town of the same size
CAPITAL_WEIGHT = 25.0
CITY_WEIGHT = 10.0
COUNTRY_WEIGHT = 10.0
REGION_WEIGHT = 5000.0
MIN_POPULATION = 1_000  # a floor, so an entry without a population figure is not scored as zero
DEFAULT_PLACES_CONFIG = Path(__file__).resolve().parents[2] / "config" / "places.yml"
_KINDS = ("continent", "country", "region", "city")
DATELINE_CHARS = 400  # a dateline opens one of the first lines
# A person name that is a city of this size (or a country or state) and follows a locative preposition is the place.
PERSON_PLACE_MIN_POPULATION = 100_000
_LOCATIVE = re.compile(r"(?i:\b(?:in|at|from|near|of|outside|across|around|into|inside|within|throughout|"
                       r"towards?)\s+)\Z")
# An ALL-CAPS name opening a line, then an optional ", State" and a date, a dash or "(Reuters)".
_CAPS_DATELINE = re.compile(r"(?m)^(?P<name>[A-Z][A-Z.'\- ]{1,40}?[A-Z.])"
                            r"(?=(?:\s*,\s*[A-Za-z. ]{2,30}?)?\s*(?:\(|[-–—]\s|\d{1,4}[-/ ]))")
_TRAILING_DATE = re.compile(r"\s+\d[\d/.-]*$")
_DATELINE_TAIL = re.compile(r"\s*(?:\s*,\s*[A-Za-z. ]{2,30}?)?\s*(?:\(|[-–—]|\d)")


class PlacesConfigError(ValueError):
    """config/places.yml is malformed; the message names the file, the entry and what is wrong."""


@dataclass(frozen=True)
class PlacesConfig:
    """User rules from config/places.yml: names of entries, entries the data lacks, names never resolved."""

    aliases: dict[str, int] = field(default_factory=dict)  # name key -> GeoNames id
    additions: tuple[Place, ...] = ()
    ambiguous: frozenset[str] = frozenset()  # name keys
    fingerprint: str = "none"


def load_places_config(path: Path | str | None = None) -> PlacesConfig:
    """Read and validate config/places.yml (missing file = no rules); PlacesConfigError names what is wrong."""
    path = Path(path or DEFAULT_PLACES_CONFIG)
    if not path.exists():
        return PlacesConfig()
    raw = path.read_bytes()
    try:
        tree = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        raise PlacesConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(tree, dict):
        raise PlacesConfigError(f"{path}: expected a mapping with 'aliases', 'add' and 'ambiguous'")
    unknown = set(tree) - {"aliases", "add", "ambiguous"}
    if unknown:
        raise PlacesConfigError(f"{path}: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
                                "(expected 'aliases', 'add', 'ambiguous')")
    additions = tuple(_addition(path, i, entry) for i, entry in enumerate(tree.get("add") or []))
    aliases: dict[str, int] = {}
    for place in additions:
        aliases[name_key(place.name)] = place.geonames_id
    for geonames_id, names in (tree.get("aliases") or {}).items():
        if not isinstance(geonames_id, int) or geonames_id <= 0:
            raise PlacesConfigError(f"{path}: aliases: {geonames_id!r} is not a GeoNames id (a positive integer)")
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise PlacesConfigError(f"{path}: aliases of {geonames_id}: expected a list of names")
        for name in names:
            key = name_key(name)
            if aliases.get(key, geonames_id) != geonames_id:
                raise PlacesConfigError(f"{path}: {name!r} is a name of both {aliases[key]} and {geonames_id}")
            aliases[key] = geonames_id
    ambiguous = tree.get("ambiguous") or []
    if not isinstance(ambiguous, list) or not all(isinstance(n, str) for n in ambiguous):
        raise PlacesConfigError(f"{path}: ambiguous: expected a list of names")
    clash = {name_key(n) for n in ambiguous} & set(aliases)
    if clash:
        raise PlacesConfigError(f"{path}: {', '.join(sorted(clash))} both ambiguous and an alias")
    return PlacesConfig(aliases, additions, frozenset(name_key(n) for n in ambiguous),
                        hashlib.sha1(raw).hexdigest()[:12])


def _addition(path: Path, index: int, entry: object) -> Place:
    """One entry of `add:`, validated: id, name, kind, country code, a point on the globe."""
    where = f"{path}: add[{index}]"
    if not isinstance(entry, dict):
        raise PlacesConfigError(f"{where}: expected a mapping with geonames_id, name, kind, country_code, lat, lon")
    missing = {"geonames_id", "name", "kind", "lat", "lon"} - set(entry)
    if missing:
        raise PlacesConfigError(f"{where}: missing {', '.join(sorted(missing))}")
    if not isinstance(entry["geonames_id"], int) or entry["geonames_id"] <= 0:
        raise PlacesConfigError(f"{where}: geonames_id must be a positive integer")
    if entry["kind"] not in _KINDS:
        raise PlacesConfigError(f"{where}: kind {entry['kind']!r} is not one of {', '.join(_KINDS)}")
    code = entry.get("country_code")
    if code is not None and not (isinstance(code, str) and re.fullmatch(r"[A-Z]{2}", code)):
        raise PlacesConfigError(f"{where}: country_code {code!r} is not an ISO 3166 alpha-2 code")
    lat, lon = entry["lat"], entry["lon"]
    if not valid_point(lat, lon):
        raise PlacesConfigError(f"{where}: ({lat!r}, {lon!r}) is not a point (lat -90..90, lon -180..180)")
    return Place(entry["geonames_id"], str(entry["name"]), entry["kind"], code, entry.get("admin1"),
                 float(lat), float(lon), int(entry.get("population") or 0))


def valid_point(lat: object, lon: object) -> bool:
    """True for a WGS84 point in degrees (lat -90..90, lon -180..180); the index would store others silently."""
    return (isinstance(lat, int | float) and isinstance(lon, int | float) and not isinstance(lat, bool)
            and not isinstance(lon, bool) and math.isfinite(lat) and math.isfinite(lon)
            and -90 <= lat <= 90 and -180 <= lon <= 180)


@dataclass(frozen=True)
class Candidate:
    """One entry a name may denote, its score in the article and the reasons behind the score."""

    place: Place
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Resolution:
    """How one name resolved: the candidates by score, the chosen entry (None: unresolved) and why."""

    name: str
    candidates: tuple[Candidate, ...]
    chosen: Place | None
    reason: str
    demonym_of: str | None = None  # ISO alpha-2, when the name is a demonym and no place


class PlaceResolver:
    """Resolves the place mentions of one article at a time; holds the gazetteer and the user's rules."""

    def __init__(self, gazetteer: Gazetteer, config: PlacesConfig | None = None) -> None:
        self.gazetteer = gazetteer
        self.config = config or PlacesConfig()
        self._added = {p.geonames_id: p for p in self.config.additions}

    @property
    def fingerprint(self) -> str:
        """Data versions and rules: part of the pipeline version."""
        return f"{self.gazetteer.data_version}+{self.config.fingerprint}"

    def place(self, geonames_id: int) -> Place:
        """An entry of the gazetteer or of the user's additions; KeyError when neither has it."""
        return self._added.get(geonames_id) or self.gazetteer.place(geonames_id)

    def candidates(self, name: str) -> list[Place]:
        """The entries `name` may denote after the rules of step 1 (module docstring), most populous first."""
        key = name_key(name)
        if key in self.config.ambiguous or key in self.config.aliases:
            return self._entries_named(name)
        found = self.gazetteer.candidates(name)
        primary = [p for p, is_primary in found if is_primary]
        kept = [p for p, is_primary in found
                if is_primary or not primary or any(_contains(outer, p) for outer in primary)]
        return [p for p in kept if not any(_nested_preferred(p, other) for other in kept if other is not p)]

    def resolve(self, text: str, mentions: Sequence[EntityMention]) -> list[EntityMention]:
        """The mentions with GeoNames id, country code and point on every resolved place mention (canonical
        becomes the entry's display name, and the label GPE when the entry is a country, state or city) and the
        country code on demonyms; other mentions unchanged.

        A dateline the model did not read as a place ("BUCHAREST 1996-08-30", "KHASAVYURT, Russia -") becomes a
        GPE mention when the gazetteer knows the name (replacing a non-place mention on the same span).
        """
        mentions = self._with_dateline(text, self._places_read_as_persons(text, mentions))
        resolutions = self.resolve_names(text, mentions)
        out: list[EntityMention] = []
        for mention in mentions:
            resolution = resolutions.get(_group_key(mention))
            container = self._container_qualifying(text, out[-1] if out else None, mention)
            if resolution is None:
                out.append(mention)
            elif resolution.chosen is not None or container is not None:
                place = container or resolution.chosen
                # OntoNotes' GPE is a country, city or state; WikiNER models (French) label those LOC, like
                # seas and mountains. A place resolved to such an entry is a GPE whatever the model said, so one
                # place has one label in every language; the id follows the entry's name, so one place has one id
                # whatever the article called it.
                label = "GPE" if place.kind in GPE_KINDS else mention.label
                out.append(dataclasses.replace(mention, label=label, canonical=place.name,
                                               id=entity_id(label, place.name), geonames_id=place.geonames_id,
                                               country_code=place.country_code, country=self._country_name(place),
                                               lat=place.lat, lon=place.lon))
            elif resolution.demonym_of is not None:
                # A demonym carries the id of its country's entry, as the country's own mentions do.
                country = self.gazetteer.country(resolution.demonym_of)
                out.append(dataclasses.replace(mention, country_code=resolution.demonym_of,
                                               country=country.name if country else None,
                                               id=entity_id("GPE", country.name) if country else mention.id))
            else:
                out.append(mention)
        # A nationality word the rules linked to a place of the article by its id ("Briton" to "Britain") follows
        # that place's id when the place resolved to an entry ("United Kingdom"), and is written as that country's
        # nationality word when it has one ("British"), so one id keeps one name in the norp facet.
        moved = {old.id: new for old, new in zip(mentions, out, strict=True)
                 if old.label in PLACE_LABELS and old.id and new.id != old.id}
        return [self._follow(new, moved[new.id]) if new is old and new.label not in PLACE_LABELS
                and new.id in moved else new for old, new in zip(mentions, out, strict=True)]

    @staticmethod
    def _follow(mention: EntityMention, place: EntityMention) -> EntityMention:
        is_country = place.country is not None and name_key(place.country) == name_key(place.canonical)
        name = country_demonym(place.canonical) if is_country else None
        return dataclasses.replace(mention, id=place.id, canonical=name or mention.canonical)

    def _container_qualifying(self, text: str, previous: EntityMention | None,
                              mention: EntityMention) -> Place | None:
        """The entry a qualifier names: in "Buffalo, New York" the mention after the comma is the state or country
        containing the resolved place before it, not the city its name alone resolves to. None when the mention
        qualifies no resolved place or none of its name's entries (a country or a state) contains that place."""
        if (previous is None or previous.geonames_id is None or mention.label not in PLACE_LABELS
                or text[previous.end:mention.start] != ", "):
            return None
        inner = self.place(previous.geonames_id)
        return next((p for p in self._entries_named(mention.canonical) if _contains(p, inner)), None)

    def _entries_named(self, name: str) -> list[Place]:
        """Every entry of a name before step 1 narrows them: the user's alias, primary and alternate names."""
        key = name_key(name)
        if key in self.config.ambiguous:
            return []
        if key in self.config.aliases:
            return [self.place(self.config.aliases[key])]
        return [p for p, _primary in self.gazetteer.candidates(name)]

    def _country_name(self, place: Place) -> str | None:
        if place.country_code is None:
            return None
        country = self.gazetteer.country(place.country_code)
        return country.name if country else None

    def resolve_names(self, text: str, mentions: Sequence[EntityMention]) -> dict[tuple[str, str], Resolution]:
        """One Resolution per distinct (label kind, canonical name) of the article's place and demonym mentions."""
        groups: dict[tuple[str, str], list[EntityMention]] = defaultdict(list)
        for mention in mentions:
            if mention.label in PLACE_LABELS or mention.label in DEMONYM_LABELS:
                groups[_group_key(mention)].append(mention)
        dateline = _dateline(text, mentions)
        options: dict[tuple[str, str], list[Place]] = {}
        demonyms: dict[tuple[str, str], str] = {}
        for key, group in groups.items():
            first = group[0]
            places = self._qualified(text, first, mentions) if first.label in PLACE_LABELS else []
            if not places:
                code = self.gazetteer.demonym(first.canonical) or self.gazetteer.demonym(first.text)
                if code and first.label in DEMONYM_LABELS:
                    demonyms[key] = code
            options[key] = places
        # Anchors: what the names that resolve without any context say about where the article is.
        anchors: dict[tuple[str, str], tuple[str | None, tuple[str, str] | None, int]] = {}
        for key, places in options.items():
            chosen, _ = self._choose(self._score(places, key == dateline, set(), Counter()))
            if chosen is not None and chosen.country_code:
                region = (chosen.country_code, chosen.admin1 or "")
                in_region = region in self.gazetteer.regions and chosen.kind in ("city", "region")
                # A state named outright counts like two of its towns.
                anchors[key] = (chosen.country_code, region if in_region else None, 2 if chosen.kind == "region" else 1)
            elif key in demonyms:
                anchors[key] = (demonyms[key], None, 0)
        resolutions = {}
        for key, places in options.items():
            others = [anchor for k, anchor in anchors.items() if k != key]
            countries = {country for country, _, _ in others if country}
            regions: Counter[tuple[str, str]] = Counter()
            for _, region, weight in others:
                if region is not None:
                    regions[region] += weight
            scored = self._score(places, key == dateline, countries, regions)
            chosen, reason = self._choose(scored)
            if self._ambiguous_by_rule(groups[key][0]):
                chosen, reason = None, "listed as ambiguous in the places config"
            if chosen is None and key in demonyms:
                reason = f"a demonym of {demonyms[key]}, not a place"
            resolutions[key] = Resolution(groups[key][0].canonical, tuple(scored), chosen, reason, demonyms.get(key))
        return resolutions

    def explain(self, name: str, context: Sequence[str] = ()) -> Resolution:
        """How `name` resolves in an article that also names the places of `context` (for `newsetl places`)."""
        text = ". ".join([name, *context])
        mentions, start = [], 0
        for value in [name, *context]:
            label = "NORP" if not self.candidates(value) and self.gazetteer.demonym(value) else "GPE"
            mentions.append(EntityMention(value, label, start, start + len(value), value))
            start += len(value) + 2
        # Never read as a dateline: a name typed alone is no article's first line.
        return self.resolve_names(" " + text, [dataclasses.replace(m, start=m.start + 1, end=m.end + 1)
                                               for m in mentions])[_group_key(mentions[0])]

    def _with_dateline(self, text: str, mentions: Sequence[EntityMention]) -> Sequence[EntityMention]:
        match = next((m for m in _CAPS_DATELINE.finditer(text, 0, DATELINE_CHARS) if self.candidates(m["name"])),
                     None)
        if match is None:
            return mentions
        start, end = match.span("name")
        overlapping = [m for m in mentions if m.start < end and start < m.end]
        if any(m.label in PLACE_LABELS for m in overlapping):
            return mentions
        surface = match["name"]
        added = EntityMention(surface, "GPE", start, end, surface.title())
        kept = [m for m in mentions if m not in overlapping]
        return sorted([*kept, added], key=lambda m: (m.start, m.end))

    def _places_read_as_persons(self, text: str, mentions: Sequence[EntityMention]) -> Sequence[EntityMention]:
        """One-word names the model read as a person that are places by the article's own evidence: the name
        follows a locative preposition at least once ("the flooded districts of Porto", "in Braga"), the gazetteer
        knows it as the primary name of a country, a state or a city of PERSON_PLACE_MIN_POPULATION+ inhabitants,
        and no person of the article bears it as a first name or surname ("Jordan" beside "Michael Jordan",
        "Ardahan" beside "Mehmet Ardahan" stay persons). They become GPE mentions, resolved like any place."""
        persons = [m for m in mentions if m.label == "PERSON"]
        names_of_people = {word for m in persons if " " in m.canonical for word in name_key(m.canonical).split()}
        places: set[str] = set()
        for name in {m.canonical for m in persons if " " not in m.canonical.strip()}:
            key = name_key(name)
            if key in names_of_people or not any(
                    p.kind != "city" or p.population >= PERSON_PLACE_MIN_POPULATION for p in self.candidates(name)
                    if name_key(p.name) == key):
                continue
            if any(_LOCATIVE.search(text[max(0, m.start - 16):m.start]) for m in persons if m.canonical == name):
                places.add(name)
        if not places:
            return mentions
        return [dataclasses.replace(m, label="GPE", id=entity_id("GPE", m.canonical))
                if m.label == "PERSON" and m.canonical in places else m for m in mentions]

    def _ambiguous_by_rule(self, mention: EntityMention) -> bool:
        return name_key(mention.canonical) in self.config.ambiguous or name_key(mention.text) in self.config.ambiguous

    def _qualified(self, text: str, mention: EntityMention, mentions: Sequence[EntityMention]) -> list[Place]:
        """Candidates of the mention, kept inside an explicit qualifier when there is one (step 2)."""
        # A span the model ran into the dateline's date: "Calif 1996-08-30".
        name, qualifier = _TRAILING_DATE.sub("", mention.canonical), None
        if "," in name:  # "Cambridge, Massachusetts" read as one span
            name, _, qualifier = (part.strip() for part in name.partition(","))
        else:
            following = [m for m in mentions if m.start == mention.end + 2 and text[mention.end:m.start] == ", "]
            if following and following[0].label in PLACE_LABELS:
                qualifier = following[0].canonical
        places = self.candidates(name) or (self.candidates(mention.text) if mention.text != name else [])
        if qualifier:
            outer = self._entries_named(qualifier)  # "New York" as a qualifier is the state, not the city
            inside = [p for p in places if any(_contains(o, p) for o in outer)]
            if inside:
                return inside
        return places

    def _score(self, places: list[Place], dateline: bool, countries: set[str],
               regions: Counter[tuple[str, str]]) -> list[Candidate]:
        """Prior times context (steps 3 and 4); `regions` counts the article's other places per US state."""
        scored = []
        for place in places:
            score, reasons = float(max(place.population, MIN_POPULATION)), [f"population {place.population:,}"]
            if place.kind in ("country", "region"):
                score *= AREA_WEIGHT
                reasons.append(place.kind)
            if place.geonames_id in self.gazetteer.capitals:
                score *= CAPITAL_WEIGHT
                reasons.append("national capital")
            if dateline and place.kind == "city":
                score *= CITY_WEIGHT
                reasons.append("dateline city")
            if place.country_code in countries:
                score *= COUNTRY_WEIGHT
                reasons.append(f"the article names other places in {place.country_code}")
            # A state is backed by one town in it ("Georgia" beside Atlanta); a town needs two others in its state
            # or the state itself ("Paris" beside Tyler and Dallas), or one big city would pull in every namesake.
            near = regions[(place.country_code or "", place.admin1 or "")]
            if near >= (1 if place.kind == "region" else 2):
                score *= REGION_WEIGHT
                reasons.append(f"the article names other places in {place.country_code}-{place.admin1}")
            scored.append(Candidate(place, score, tuple(reasons)))
        return sorted(scored, key=lambda c: -c.score)

    @staticmethod
    def _choose(scored: list[Candidate]) -> tuple[Place | None, str]:
        if not scored:
            return None, "no entry of that name"
        if len(scored) == 1:
            return scored[0].place, "the only entry of that name"
        ratio = scored[0].score / scored[1].score
        if ratio >= CONFIDENCE_RATIO:
            return scored[0].place, f"outweighs the next candidate {ratio:.1f} times"
        return None, f"ambiguous: the best candidate outweighs the next only {ratio:.1f} times"


def _group_key(mention: EntityMention) -> tuple[str, str]:
    kind = "place" if mention.label in PLACE_LABELS else mention.label
    return kind, name_key(mention.canonical)


def _contains(outer: Place, inner: Place) -> bool:
    """True when `inner` lies in `outer` (a country or a first-order division) and is not `outer` itself."""
    if outer.geonames_id == inner.geonames_id or outer.country_code is None:
        return False
    if outer.kind == "country":
        return inner.country_code == outer.country_code
    return outer.kind == "region" and (inner.country_code, inner.admin1) == (outer.country_code, outer.admin1)


def _nested_preferred(place: Place, other: Place) -> bool:
    """True when `place` gives way to `other` of the same name: a city to the country it lies in ("Singapore",
    "Kuwait"), a region to the city of its name inside it ("New York")."""
    if place.kind == "city" and other.kind == "country":
        return _contains(other, place)
    return place.kind == "region" and other.kind == "city" and _contains(place, other)


def _dateline(text: str, mentions: Sequence[EntityMention]) -> tuple[str, str] | None:
    """The group key of the dateline place: a place mention opening one of the first lines, followed by a date,
    a dash or "(Reuters)" ("WASHINGTON, March 3 -", "LONDON 1996-08-30")."""
    for mention in sorted(mentions, key=lambda m: m.start):
        if mention.start > DATELINE_CHARS:
            break
        if (mention.label in PLACE_LABELS and (mention.start == 0 or text[mention.start - 1] == "\n")
                and _DATELINE_TAIL.match(text, mention.end)):
            return _group_key(mention)
    return None


_LOADED: dict[tuple[str, str], PlaceResolver] = {}


def place_resolver(config_path: Path | str | None = None, cache_dir: Path | None = None) -> PlaceResolver:
    """This process's resolver for a config file: the gazetteer is loaded once (cached in `cache_dir`)."""
    key = (str(config_path or DEFAULT_PLACES_CONFIG), str(cache_dir))
    if key not in _LOADED:
        _LOADED[key] = PlaceResolver(default_gazetteer(cache_dir), load_places_config(config_path))
    return _LOADED[key]
