"""The entity registry: what one article teaches serves the others, and wrong merges are refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.facets import entity_id, label_facet_fields
from pipeline.core.records import EntityMention, EntityName
from pipeline.enrich.entities import EntityConfig
from pipeline.enrich.registry import NameRecord, Registry, changed_names


def mention(canonical: str, label: str, start: int = 0, text: str | None = None) -> EntityMention:
    surface = text or canonical
    return EntityMention(surface, label, start, start + len(surface), canonical, entity_id(label, canonical))


def learn(*articles: list[tuple[str, str]], config: EntityConfig | None = None):
    """A registry shown articles given as [(canonical, label), ...]; returns its settled resolution."""
    registry = Registry()
    for names in articles:
        registry.observe("", [mention(name, label) for name, label in names])
    return registry.settle(config)


def resolved(resolution, name: str, label: str) -> tuple[str, str]:
    (out,) = resolution.resolve([mention(name, label)])
    assert out.id == entity_id(out.label, out.canonical)
    return out.canonical, out.label


@pytest.mark.parametrize(("articles", "name", "label", "expected"), [
    # a surname resolves to the one full name the corpus knows
    ([[("Brian Lara", "PERSON")], [("Lara", "PERSON")]], "Lara", "PERSON", ("Brian Lara", "PERSON")),
    # ... also when the model read it as an organisation
    ([[("Brian Lara", "PERSON")], [("Lara", "ORG")]], "Lara", "ORG", ("Brian Lara", "PERSON")),
    # two full names end with it: ambiguous, left alone
    ([[("Gordon Brown", "PERSON")], [("James Brown", "PERSON")], [("Brown", "PERSON")]], "Brown", "PERSON",
     ("Brown", "PERSON")),
    # an organisation's first word(s) resolve to the one organisation starting with them
    ([[("Northrop Grumman", "ORG")], [("Northrop", "ORG")]], "Northrop", "ORG", ("Northrop Grumman", "ORG")),
    # a place is not a person's surname
    ([[("Denzel Washington", "PERSON")], [("Washington", "GPE")], [("Washington", "GPE")]], "Washington", "GPE",
     ("Washington", "GPE")),
    # group words of one stem: the most used form stands for the others
    ([[("Kurdish", "NORP")], [("Kurdish", "NORP")], [("Kurds", "NORP")]], "Kurds", "NORP", ("Kurdish", "NORP")),
    ([[("Democratic", "NORP")], [("Democrat", "NORP")], [("Democrat", "NORP")]], "Democratic", "NORP",
     ("Democrat", "NORP")),
    # ... not when two others share the stem ("Kurd" is a form of both), nor across other endings
    ([[("Kurdish", "NORP")], [("Kurdi", "NORP")], [("Kurd", "NORP")]], "Kurd", "NORP", ("Kurd", "NORP")),
    ([[("Christian", "NORP")], [("Christian", "NORP")], [("Christchurch", "NORP")]], "Christchurch", "NORP",
     ("Christchurch", "NORP")),
    # an organisation named without its country
    ([[("U.S. Treasury Department", "ORG")], [("Treasury", "ORG")]], "Treasury", "ORG",
     ("U.S. Treasury Department", "ORG")),
    ([[("U.S. Treasury Department", "ORG")], [("British Treasury", "ORG")], [("Treasury", "ORG")]], "Treasury", "ORG",
     ("Treasury", "ORG")),
    # initials of the one known name spelling them
    ([[("General Motors", "ORG")], [("GM", "ORG")]], "GM", "ORG", ("General Motors", "ORG")),
    ([[("Bank of Japan", "ORG")], [("BOJ", "ORG")]], "BOJ", "ORG", ("Bank of Japan", "ORG")),
    ([[("National Hockey League", "ORG")], [("NHL", "ORG")]], "NHL", "ORG", ("National Hockey League", "ORG")),
    # case-only variants are one name, shown in the most frequent mixed-case spelling, never the dateline's
    ([[("NEW YORK", "GPE")], [("New York", "GPE")], [("NEW YORK", "GPE")]], "NEW YORK", "GPE", ("New York", "GPE")),
    ([[("Treasury", "ORG")], [("treasury", "ORG")], [("Treasury", "ORG")]], "treasury", "ORG", ("Treasury", "ORG")),
    # legal forms (cleanco's tables)
    ([[("Ford Motor Co", "ORG")], [("Ford Motor Company", "ORG")], [("Ford Motor Company", "ORG")]],
     "Ford Motor Co", "ORG", ("Ford Motor Company", "ORG")),
    # an initial and a surname: the one known person matching both
    ([[("Alec Stewart", "PERSON")], [("A. Stewart", "PERSON")]], "A. Stewart", "PERSON", ("Alec Stewart", "PERSON")),
    ([[("Alec Stewart", "PERSON")], [("Mike Stewart", "PERSON")], [("R. Stewart", "PERSON")]], "R. Stewart",
     "PERSON", ("R. Stewart", "PERSON")),
    # a plural nationality or party word is its singular
    ([[("Kurd", "NORP")], [("Kurds", "NORP")]], "Kurds", "NORP", ("Kurd", "NORP")),
    # a name not seen yet resolves through the tables too
    ([[("Brian Lara", "PERSON")]], "Lara", "PERSON", ("Brian Lara", "PERSON")),
    ([[("General Motors", "ORG")]], "GM", "ORG", ("General Motors", "ORG")),
    # the label most articles give a name
    ([[("Paris", "GPE")], [("Paris", "GPE")], [("Paris", "PERSON")]], "Paris", "PERSON", ("Paris", "GPE")),
])
def test_what_one_article_teaches_serves_the_others(articles, name, label, expected):
    assert resolved(learn(*articles), name, label) == expected


def test_an_acronym_defined_in_parentheses_joins_its_name():
    registry = Registry()
    text = "Singapore Airlines (SIA) said on Monday."
    registry.observe(text, [mention("Singapore Airlines", "ORG")])
    registry.observe("SIA shares rose.", [mention("SIA", "ORG")])
    resolution = registry.settle()
    assert resolved(resolution, "SIA", "ORG") == ("Singapore Airlines", "ORG")
    assert "parentheses" in resolution.entity("SIA").why["sia"]


def test_a_distinct_name_never_joins_another_one():
    config = EntityConfig(distinct=frozenset({"lara"}))
    assert resolved(learn([("Brian Lara", "PERSON")], [("Lara", "PERSON")], config=config), "Lara", "PERSON") == (
        "Lara", "PERSON")


def test_a_name_the_registry_never_saw_keeps_its_values():
    original = mention("Hulusi Akar", "PERSON")
    assert learn([("Brian Lara", "PERSON")]).resolve([original]) == (original,)


def test_show_explains_every_merge():
    entity = learn([("Brian Lara", "PERSON")], [("Lara", "PERSON")]).entity("lara")
    assert (entity.name, entity.label, entity.names) == ("Brian Lara", "PERSON", ("brian lara", "lara"))
    assert entity.why == {"lara": "short form of 'Brian Lara', the only known person name with it"}


def test_records_add_up_and_survive_json():
    one, two = Registry(), Registry()
    delta = one.observe("", [mention("Brian Lara", "PERSON"), mention("Brian Lara", "PERSON", 30)])
    assert [r.articles for r in delta] == [1]  # an article counts once per name
    two.observe("", [mention("Brian Lara", "PERSON")])
    merged = Registry(NameRecord.from_dict(r.to_dict()) for r in [*one.records.values(), *two.records.values()])
    assert merged.records["brian lara"].articles == 2
    with pytest.raises(ValueError, match="not a name record"):
        NameRecord.from_dict({"forms": {}})


names = st.lists(st.sampled_from(["Brian Lara", "Lara", "Gordon Brown", "Brown", "James Brown", "GM",
                                  "General Motors", "NEW YORK", "New York", "Ford Motor Co", "Ford"]),
                 min_size=1, max_size=5)
labels = st.sampled_from(["PERSON", "ORG", "GPE"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(names.map(lambda n: n[0]), labels), min_size=1, max_size=4), max_size=6))
def test_every_name_has_one_entity_one_label_one_display(articles):
    resolution = learn(*articles)
    shown: dict[str, set[tuple[str, str]]] = {}
    for names_of_article in articles:
        for name, label in names_of_article:
            canonical, final = resolved(resolution, name, label)
            shown.setdefault(name.casefold(), set()).add((canonical, final))
    assert all(len(values) == 1 for values in shown.values())
    # entities are roots: resolving an entity's display form gives itself
    for values in shown.values():
        (canonical, final), = values
        assert resolved(resolution, canonical, final) == (canonical, final)


def registry_of(*articles: list[tuple[str, str]]) -> Registry:
    registry = Registry()
    for names in articles:
        registry.observe("", [mention(name, label) for name, label in names])
    return registry


@pytest.mark.parametrize(("before", "learnt", "config", "expected"), [
    # a short form indexed alone joins the full name an article brought: "ford" changed (it was its own entity)
    ([[("Ford", "ORG")]], [[("Ford Motor Company", "ORG")]], None, {"ford": {"ford"}}),
    # the label vote flips: every name of the entity changed
    ([[("Paris", "PERSON")]], [[("Paris", "GPE")], [("Paris", "GPE")]], None, {"paris": {"paris"}}),
    # a second full name makes a surname ambiguous: it leaves the entity it joined before
    ([[("Gordon Brown", "PERSON")], [("Brown", "PERSON")]], [[("James Brown", "PERSON")]], None,
     {"brown": {"brown", "gordon brown"}}),
    # a manual split (config `distinct`), nothing learnt
    ([[("Brian Lara", "PERSON")], [("Lara", "PERSON")]], [], EntityConfig(distinct=frozenset({"lara"})),
     {"lara": {"lara", "brian lara"}}),
    # more articles saying the same: nothing changed
    ([[("Brian Lara", "PERSON")], [("Lara", "PERSON")]], [[("Lara", "PERSON")], [("Brian Lara", "PERSON")]], None,
     {}),
    # a new name that is its own entity, written one way: nothing to rewrite
    ([[("Brian Lara", "PERSON")]], [[("Shane Warne", "PERSON")]], None, {}),
])
def test_changed_names_are_those_whose_value_moved(before, learnt, config, expected):
    registry = registry_of(*before)
    old = registry.settle()
    for names in learnt:
        registry.observe("", [mention(name, label) for name, label in names])
    assert changed_names(old, registry.settle(config), registry) == expected


def test_an_article_resolved_from_its_own_names_gets_what_enrichment_would_give():
    resolution = learn([("Ford Motor Company", "ORG")], [("Ford", "ORG")], [("Iraq", "GPE")])
    article = [mention("Ford", "ORG"), mention("Iraqi", "NORP"), mention("Ford", "ORG"), mention("Acme", "ORG")]
    from_names = resolution.resolve(name.as_mention() for name in EntityName.of(article))
    assert label_facet_fields(from_names) == label_facet_fields(resolution.resolve(article))


def test_a_demonym_linked_by_place_resolution_counts_under_its_country():
    # Place resolution names countries by their GeoNames entry ("Czechia"); the demonym it linked carries that
    # country's id in every article, whatever spelling the demonym tables give the country.
    resolution = learn([("Czechia", "GPE")], [("Czechia", "GPE")])
    czech = EntityMention("Czech", "NORP", 0, 5, "Czech", country_code="CZ", country="Czechia")
    place = EntityMention("Prague", "GPE", 0, 6, "Prague", entity_id("GPE", "Prague"), geonames_id=3067696,
                          country_code="CZ", country="Czechia")
    out_czech, out_place = resolution.resolve([czech, place])
    assert out_czech.id == entity_id("GPE", "Czechia") and out_czech.canonical == "Czech"
    assert out_place.id == entity_id("GPE", "Prague")  # a place of the country is not its demonym


def test_a_place_the_gazetteer_resolved_outweighs_one_organisation_reading():
    registry = Registry()
    registry.observe("", [EntityMention("Lyon", "LOC", 0, 4, "Lyon", entity_id("LOC", "Lyon"), geonames_id=2996944)])
    registry.observe("", [mention("Lyon", "ORG")])
    assert resolved(registry.settle(), "Lyon", "ORG") == ("Lyon", "LOC")
    registry.observe("", [mention("Lyon", "ORG")])  # two articles against one: the organisation
    assert resolved(registry.settle(), "Lyon", "LOC") == ("Lyon", "ORG")


@pytest.mark.parametrize(("articles", "linked_to", "expected"), [
    # a nationality word an article linked to its place by id follows the place's entity across the index
    ([[("Britain", "GPE")], [("Britain", "GPE")]], "Britain", ("Briton", entity_id("GPE", "Britain"))),
    # ... and takes the group name the entity already has when the place is read as a group everywhere
    ([[("Tajikistan", "NORP")]], "Tajikistan", ("Tajikistan", entity_id("NORP", "Tajikistan"))),
    # ... and is written as its country's nationality word when the entity is a country
    ([[("United Kingdom", "GPE")]], "United Kingdom", ("British", entity_id("GPE", "United Kingdom"))),
])
def test_nationality_word_linked_by_id_follows_its_place(articles, linked_to, expected):
    resolution = learn(*articles)
    word = EntityMention("Briton", "NORP", 0, 6, "Briton", entity_id("GPE", linked_to))
    if linked_to == "Tajikistan":
        word = EntityMention("Tajik", "NORP", 0, 5, "Tajik", entity_id("NORP", "Tajikistan"))
    (out,) = resolution.resolve([word])
    assert (out.canonical, out.id) == expected and out.label == "NORP"


@pytest.mark.parametrize(("articles", "word", "expected"), [
    # the country is known: its entity's id, in the listing as in the article
    ([[("Turkey", "GPE")], [("Turkish", "NORP")]], "Turkish", entity_id("GPE", "Turkey")),
    # ... also under another spelling of countryinfo's ("Czech" is the Czech Republic's, the articles say Czechia)
    ([[("Czechia", "GPE")], [("Czech", "NORP")]], "Czech", entity_id("GPE", "Czechia")),
    # the country is not known: the country's own id, as place resolution gives the word
    ([[("Turkish", "NORP")]], "Turkish", entity_id("GPE", "Turkey")),
    # a group word of no country's keeps its own id
    ([[("Republican", "NORP")]], "Republican", entity_id("NORP", "Republican")),
])
def test_a_nationality_word_is_listed_under_the_id_its_articles_carry(articles, word, expected):
    resolution = learn(*articles)
    listed = resolution.entity(word)
    assert listed is not None and (listed.name, listed.label, listed.id) == (word, "NORP", expected)
    if len(articles) > 1:  # the country known: the article's mention gets that id from the registry
        (out,) = resolution.resolve([mention(word, "NORP")])
        assert (out.canonical, out.id) == (word, expected)
