"""One real entity is one facet value with one label, decided from all its mentions in the article."""

import pytest

from pipeline.entities import RawMention, canonicalize, clean_surface, facet_values


def mentions(text: str, *spans: tuple[str, str]) -> list[RawMention]:
    """Raw NER spans for each (surface, label), located at successive occurrences in text."""
    found, cursor = [], 0
    for surface, label in spans:
        start = text.index(surface, cursor)
        found.append(RawMention(surface, label, start, start + len(surface)))
        cursor = start + len(surface)
    return found


@pytest.mark.parametrize(
    ("surface", "label", "expected"),
    [
        ("AK Party's", "ORG", "AK Party"),
        ("the European Union", "ORG", "European Union"),
        ("Erdogan’s", "PERSON", "Erdogan"),
        ("President Donald Trump", "PERSON", "Donald Trump"),
        ("Defense Minister Hulusi Akar", "PERSON", "Hulusi Akar"),
        ("Mr. Smith", "PERSON", "Smith"),
        ('"NATO"', "ORG", "NATO"),
        ("President", "PERSON", "President"),  # a lone title stays: there is nothing else to keep
    ],
)
def test_clean_surface(surface, label, expected):
    assert clean_surface(surface, label) == expected


def test_surname_becomes_the_full_name_used_in_the_article():
    text = "Hulusi Akar held talks. Akar will attend. The minister (Akar) spoke."
    result = canonicalize(text, mentions(text, ("Hulusi Akar", "PERSON"), ("Akar", "PERSON"), ("Akar", "ORG")))
    assert {m.canonical for m in result} == {"Hulusi Akar"}
    assert {m.label for m in result} == {"PERSON"}


def test_one_label_per_canonical_name_trump_is_never_an_org():
    text = "US President Donald Trump will meet Erdogan. Erdogan and Trump talked. Recep Tayyip Erdogan smiled."
    raw = mentions(text, ("Donald Trump", "PERSON"), ("Erdogan", "PERSON"), ("Erdogan", "PERSON"),
                   ("Trump", "ORG"), ("Recep Tayyip Erdogan", "PERSON"))
    facets = facet_values(canonicalize(text, raw))
    assert facets["person"] == ["Donald Trump", "Recep Tayyip Erdogan"]
    assert facets["org"] == []


def test_ambiguous_surname_is_not_merged():
    text = "Donald Trump and Melania Trump arrived. Trump waved."
    raw = mentions(text, ("Donald Trump", "PERSON"), ("Melania Trump", "PERSON"), ("Trump", "PERSON"))
    assert facet_values(canonicalize(text, raw))["person"] == ["Donald Trump", "Melania Trump", "Trump"]


def test_different_entities_with_a_shared_word_stay_apart():
    text = "Washington said Denzel Washington would visit. Washington is rainy."
    raw = mentions(text, ("Washington", "GPE"), ("Denzel Washington", "PERSON"), ("Washington", "GPE"))
    facets = facet_values(canonicalize(text, raw))
    assert facets["person"] == ["Denzel Washington"]
    assert facets["place"] == ["Washington"]


def test_job_title_fragment_is_not_an_organisation():
    text = "Turkey's Defense Minister spoke to NATO."
    raw = mentions(text, ("Turkey", "GPE"), ("Defense", "ORG"), ("NATO", "ORG"))
    assert facet_values(canonicalize(text, raw))["org"] == ["NATO"]


def test_places_group_gpe_loc_fac_and_unused_labels_are_dropped():
    text = "In Brussels near the Alps at JFK Airport on Wednesday, 40 people"
    raw = mentions(text, ("Brussels", "GPE"), ("the Alps", "LOC"), ("JFK Airport", "FAC"),
                   ("Wednesday", "DATE"), ("40", "CARDINAL"))
    facets = facet_values(canonicalize(text, raw))
    assert facets["place"] == ["Brussels", "Alps", "JFK Airport"]
    assert sum(len(v) for v in facets.values()) == 3


def test_mentions_keep_offsets_and_original_text():
    text = "The AK Party's ally."
    (mention,) = canonicalize(text, mentions(text, ("AK Party's", "ORG")))
    assert (mention.text, mention.start, mention.end, mention.canonical) == ("AK Party's", 4, 14, "AK Party")


def test_all_caps_form_loses_to_mixed_case_spelling():
    text = "ANGELA MERKEL spoke. Angela Merkel left."
    raw = mentions(text, ("ANGELA MERKEL", "PERSON"), ("Angela Merkel", "PERSON"))
    assert facet_values(canonicalize(text, raw))["person"] == ["Angela Merkel"]
