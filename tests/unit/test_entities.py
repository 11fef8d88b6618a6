"""One real entity is one facet value with one label, decided from all its mentions in the article."""

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.core.facets import facet_values
from pipeline.enrich.entities import RawMention, canonicalize, clean_surface


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
        ("the `` Lion ''", "ORG", "Lion"),  # quotes written as backticks, as tokenised sources do
        ("Apple 's iTunes", "ORG", "iTunes"),  # a tokenised possessive; a name may start in lower case
        ("the Macbook and Macbook Pro", "ORG", "Macbook"),
    ],
)
def test_clean_surface(surface, label, expected):
    assert clean_surface(surface, label) == expected


@pytest.mark.parametrize(
    ("surface", "label", "language", "expected"),
    [
        ("l'Assemblée nationale", "ORG", "fr", "Assemblée nationale"),  # a lower-case article is not the name's
        ("la France", "LOC", "fr", "France"),
        ("La Roche-sur-Yon", "LOC", "fr", "La Roche-sur-Yon"),  # a capitalised one is
        ("Le Pen", "PERSON", "fr", "Le Pen"),
        ("L'Oréal", "ORG", "fr", "L'Oréal"),
        ("cathédrale Notre-Dame de Paris", "LOC", "fr", "Notre-Dame de Paris"),  # the common noun before it goes
        ("start-up nantaise", "LOC", "fr", ""),  # no name at all
        ("ministre de l'Intérieur", "ORG", "fr", ""),  # a job title, not an organisation
        ("ministre", "PERSON", "fr", ""),
        ("Mme Anne Hidalgo", "PERSON", "fr", "Anne Hidalgo"),
        ("de Gaulle", "PERSON", "fr", "de Gaulle"),  # a name particle stays
        ("Croatie 4-2", "LOC", "fr", "Croatie"),  # a score after the name
        ("la France", "GPE", "en", "la France"),  # English spans keep the English rules, unchanged
        ("start-up nantaise", "ORG", "en", "start-up nantaise"),
    ],
)
def test_clean_surface_in_other_languages(surface, label, language, expected):
    assert clean_surface(surface, label, language) == expected


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


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [
        # a possessive or a leading "the" stays in the span as read; the value loses it
        ("The AK Party's ally.", ("AK Party's", "ORG"), ("AK Party's", 4, 14, "AK Party")),
        ("He met the Pope.", ("the Pope", "PERSON"), ("the Pope", 7, 15, "Pope")),
        # words that are no part of the name are cut from the span, so a highlight shows the name alone
        ("The new MacBook Pro - a notebook.", ("MacBook Pro - a", "PRODUCT"), ("MacBook Pro", 8, 19, "MacBook Pro")),
        ("Says former minister Ali Babacan.", ("minister Ali Babacan", "PERSON"),
         ("Ali Babacan", 21, 32, "Ali Babacan")),
    ],
)
def test_mentions_keep_offsets_and_the_text_they_point_at(text, span, expected):
    (mention,) = canonicalize(text, mentions(text, span))
    assert (mention.text, mention.start, mention.end, mention.canonical) == expected


def test_all_caps_form_loses_to_mixed_case_spelling():
    text = "ANGELA MERKEL spoke. Angela Merkel left."
    raw = mentions(text, ("ANGELA MERKEL", "PERSON"), ("Angela Merkel", "PERSON"))
    assert facet_values(canonicalize(text, raw))["person"] == ["Angela Merkel"]


@pytest.mark.parametrize(
    ("text", "spans", "facet", "expected"),
    [
        # organisation designators and legal forms: one company
        ("Apple Computer said Apple and Apple Inc. agree.", [("Apple Computer", "ORG"), ("Apple", "ORG"),
                                                            ("Apple Inc.", "ORG")], "org", ["Apple"]),
        ("NPD Group data: NPD said so.", [("NPD Group", "ORG"), ("NPD", "ORG")], "org", ["NPD"]),
        # a designator alone does not invent a short form that is not in the article
        ("General Motors cut jobs.", [("General Motors", "ORG")], "org", ["General Motors"]),
        # acronyms spell the one name in the article whose initials they are
        ("The United Kingdom and the UK.", [("United Kingdom", "GPE"), ("UK", "GPE")], "place", ["United Kingdom"]),
        ("iPhone Software Development Kit (SDK) ships; the SDK is free.",
         [("iPhone Software Development Kit (SDK", "PRODUCT"), ("SDK", "ORG")], "product",
         ["iPhone Software Development Kit"]),
        # names run together or coordinated in one span
        ("San Jose - Cisco grew.", [("San Jose - Cisco", "GPE")], "place", ["San Jose"]),
        ("Macbook and Macbook Pro sold.", [("Macbook and Macbook Pro", "ORG")], "org", ["Macbook", "Macbook Pro"]),
        ("Procter and Gamble sold.", [("Procter and Gamble", "ORG")], "org", ["Procter and Gamble"]),
        # the middle left out of one longer name; never between two longer names, nor from a three-word form
        ("George W. Bush spoke; George Bush left.", [("George W. Bush", "PERSON"), ("George Bush", "PERSON")],
         "person", ["George W. Bush"]),
        ("George W. Bush met George H. W. Bush; George Bush left.",
         [("George W. Bush", "PERSON"), ("George H. W. Bush", "PERSON"), ("George Bush", "PERSON")],
         "person", ["George W. Bush", "George H. W. Bush", "George Bush"]),
        ("The iTunes Music Store and the iTunes Store.", [("iTunes Music Store", "ORG"), ("iTunes Store", "ORG")],
         "org", ["iTunes Music Store"]),
        # what is owned is the name, unless only a designator is owned
        ("The Beatles' Apple Corps sued.", [("Beatles' Apple Corps", "ORG")], "org", ["Apple Corps"]),
        ("McDonald's Corp. grew.", [("McDonald's Corp.", "ORG")], "org", ["McDonald's"]),
        # two coordinated names each written alone elsewhere: two mentions
        ("Leeds and Hull drew. Leeds won before; Hull lost.",
         [("Leeds and Hull", "ORG"), ("Leeds", "ORG"), ("Hull", "ORG")], "org", ["Leeds", "Hull"]),
        # lower-case words around an organisation's name are no part of it
        ("A spokesman for the pro-Labour GMB union said the GMB agreed.",
         [("pro-Labour GMB union", "ORG"), ("GMB", "ORG")], "org", ["GMB"]),
        ("Tass news agency said.", [("Tass news agency", "ORG")], "org", ["Tass"]),
        # a surname the model gave a label no person has joins the one person ending in it
        ("Lucy Moss won. Moss said she was happy.", [("Lucy Moss", "PERSON"), ("Moss", "NORP")],
         "person", ["Lucy Moss"]),
        ("It beat Anna Kovac. Kovac served well.", [("Anna Kovac", "ORG"), ("Kovac", "PRODUCT")],
         "org", ["Anna Kovac"]),
        # a club by its nickname, read as a place no gazetteer knows
        ("The Dallas Cowboys won. The Cowboys scored.", [("Dallas Cowboys", "ORG"), ("Cowboys", "GPE")],
         "org", ["Dallas Cowboys"]),
    ],
)
def test_short_forms_and_span_repairs(text, spans, facet, expected):
    assert facet_values(canonicalize(text, mentions(text, *spans)))[facet] == expected


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        # a name the model tagged once is found again where it missed it
        ("Steve Jobs spoke. Jobs smiled. Later Jobs left.", [("Steve Jobs", "PERSON"), ("Jobs", "PERSON")],
         [("Steve Jobs", "Steve Jobs"), ("Jobs", "Steve Jobs"), ("Jobs", "Steve Jobs")]),
        # a longer name read elsewhere replaces the shorter span at the same place
        ("The iPod Nano sold. The iPod nano ships.", [("iPod Nano", "ORG"), ("iPod", "ORG")],
         [("iPod Nano", "iPod Nano"), ("iPod nano", "iPod Nano")]),
        # the first letter must match: a common word is not the name
        ("Apple said apple pie sells.", [("Apple", "ORG")], [("Apple", "Apple")]),
        # never inside a date or a number span; a number inside a known name is taken in
        ("May said so in May 2019.", [("May", "PERSON"), ("May 2019", "DATE")], [("May", "May")]),
        ("The iPhone 4 ships. iPhone 4 sold.", [("iPhone 4", "PRODUCT"), ("4", "CARDINAL")],
         [("iPhone 4", "iPhone 4"), ("iPhone 4", "iPhone 4")]),
        # not where another name follows at once: "iPhone SDK" is one longer name the model read in part
        ("The iPhone sold. The iPhone SDK ships.", [("iPhone", "PRODUCT"), ("SDK", "ORG")],
         [("iPhone", "iPhone"), ("SDK", "SDK")]),
        # a span holding two names gives up the other one, which is then found on its own
        ("Apple Computer's Mac OS runs. Apple Computer said.", [("Apple Computer's Mac OS", "ORG"),
                                                              ("Apple Computer", "ORG")],
         [("Apple Computer", "Apple Computer"), ("Mac OS", "Mac OS"), ("Apple Computer", "Apple Computer")]),
        # the tail of a product name read as a person of its own
        ("Mac OS X Lion ships. OS X Lion and Lion sold.", [("Mac OS X Lion", "ORG"), ("OS X Lion", "ORG"),
                                                          ("Lion", "PERSON")],
         [("Mac OS X Lion", "Mac OS X Lion"), ("OS X Lion", "Mac OS X Lion"), ("Lion", "Mac OS X Lion")]),
    ],
)
def test_names_found_again_in_the_article(text, spans, expected):
    result = canonicalize(text, mentions(text, *spans))
    assert [(m.text, m.canonical) for m in result] == expected
    assert all(text[m.start:m.end] == m.text for m in result)


def test_aliases_and_blocklist_from_config(tmp_path):
    from pipeline.enrich.entities import load_entity_config

    path = tmp_path / "entities.yml"
    path.write_text("aliases:\n  United States: [US, U.S.]\nblocklist: [Reuters]\n")
    config = load_entity_config(path)
    text = "US troops and U.S. ships, Reuters reported from the United States."
    raw = mentions(text, ("US", "GPE"), ("U.S.", "GPE"), ("Reuters", "ORG"), ("United States", "GPE"))
    facets = facet_values(canonicalize(text, raw, config))
    assert facets["place"] == ["United States"] and facets["org"] == []
    assert config.fingerprint != load_entity_config(tmp_path / "missing.yml").fingerprint


def test_labels_from_config_put_a_name_in_one_facet_in_every_article(tmp_path):
    from pipeline.enrich.entities import load_entity_config

    path = tmp_path / "entities.yml"
    path.write_text("aliases:\n  G20: [G-20]\nlabels:\n  ORG: [G-20]\n")
    config = load_entity_config(path)
    text = "The G-20 summit opens; G20 leaders arrive."
    raw = mentions(text, ("G-20", "PRODUCT"), ("G20", "PRODUCT"))
    facets = facet_values(canonicalize(text, raw, config))
    assert facets["org"] == ["G20"] and facets["product"] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("labels:\n  COMPANY: [Apple]\n", "unknown label 'COMPANY'"),
        ("labels:\n  ORG: Apple\n", "must be a list"),
        ("labels:\n  ORG: [Apple]\n  PRODUCT: [apple]\n", "labelled both"),
    ],
)
def test_bad_labels_are_a_clear_error(tmp_path, content, message):
    from pipeline.enrich.entities import load_entity_config

    path = tmp_path / "entities.yml"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_entity_config(path)


def test_conflicting_aliases_are_a_clear_error(tmp_path):
    from pipeline.enrich.entities import load_entity_config

    path = tmp_path / "entities.yml"
    path.write_text("aliases:\n  United States: [US]\n  Ultrasound: [US]\n")
    with pytest.raises(ValueError, match="alias of both"):
        load_entity_config(path)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("NATO CHIEF MEETS BIDEN'S ENVOY IN BRUSSELS", "NATO Chief Meets Biden's Envoy in Brussels"),
        ("LEICESTERSHIRE TAKE OVER AT TOP", "Leicestershire TAKE over at TOP"),
        ("LONDON 1996-08-30", "London 1996-08-30"),
        ("Normal text with NATO stays", "Normal text with NATO stays"),
    ],
)
def test_all_caps_lines_are_recased_for_ner(line, expected):
    from pipeline.core.text import recase_shouting

    assert recase_shouting(line) == expected
    assert len(recase_shouting(line)) == len(line)


_WORDS = ("Apple", "Computer's", "Mac", "OS", "and", "the", "Macbook", "Pro", "-", "San", "Jose", "'s", "``",
          "Lion", "''", "iPod", "nano", "May", "2019", "US", "us", "Jobs", "George", "W.", "Bush", ",", ".")
_LABELS = ("ORG", "PERSON", "GPE", "DATE", "CARDINAL", "PRODUCT", "NORP")


@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=25),
       st.lists(st.tuples(st.integers(0, 200), st.integers(1, 30), st.sampled_from(_LABELS)), max_size=8))
@settings(max_examples=300, deadline=None)
def test_mentions_never_overlap_and_always_point_at_their_text(words, spans):
    text = " ".join(words)
    raw, taken = [], []
    for start, length, label in spans:
        start = start % len(text)
        end = min(len(text), start + length)
        if all(end <= s or start >= e for s, e in taken):
            taken.append((start, end))
            raw.append(RawMention(text[start:end], label, start, end))
    result = canonicalize(text, sorted(raw, key=lambda m: m.start))
    assert all(text[m.start:m.end] == m.text for m in result)
    ordered = sorted((m.start, m.end) for m in result)
    assert all(end <= next_start for (_, end), (next_start, _) in pairwise(ordered))


@pytest.mark.parametrize(
    ("text", "spans", "facet", "expected"),
    [
        # span hygiene: no capital, markup, a headline run into the body, score lines and scorecards
        ("Prices rose 5 cts to 80 cts.", [("cts", "ORG")], "org", []),
        ("Shares of Gulf<Corp rose.", [("Gulf<Corp", "ORG")], "org", []),
        ("Bahia Cocoa Review\nShowers continued.", [("Bahia Cocoa Review\nShowers", "ORG")], "org", []),
        ("Blewett b Warne 24 was the top score.", [("Blewett b Warne 24", "PERSON")], "person", []),
        ("Liverpool 0 Sheffield 1 on Saturday.", [("Liverpool 0 Sheffield", "ORG")], "org", []),
        # a result after a name is cut, the name stays
        ("Mexico 2-0 in the qualifier.", [("Mexico 2-0", "GPE")], "place", ["Mexico"]),
        ("Windows 95 shipped.", [("Windows 95", "PRODUCT")], "product", ["Windows 95"]),
        # a place and the place it is in
        ("At the Oval , London on Friday.", [("Oval , London", "FAC")], "place", ["Oval"]),
        # a surname read as a place beside the person; a gazetteer's place stays a place
        ("Pierre Buyoya took power. Buyoya said so.", [("Pierre Buyoya", "PERSON"), ("Buyoya", "GPE")],
         "person", ["Pierre Buyoya"]),
        ("Denzel Washington flew to Washington.", [("Denzel Washington", "PERSON"), ("Washington", "GPE")],
         "place", ["Washington"]),
        # a first name alone, when one person of the article bears it
        ("Saddam Hussein spoke. Saddam was angry.", [("Saddam Hussein", "PERSON"), ("Saddam", "PERSON")],
         "person", ["Saddam Hussein"]),
        # a name written with its "'s" every time owns it; once proves nothing
        ("McDonald's said profits rose, and McDonald's shares gained.", [("McDonald's", "ORG"), ("McDonald", "ORG")],
         "org", ["McDonald's"]),
        # a Title Case headline's guesses give way to the body's names
        ("Veltrix Joins Samsung in Berlin Today\n\nThe start-up will show its tools alongside Samsung.",
         [("Veltrix Joins Samsung", "PERSON"), ("Samsung", "ORG")], "org", ["Samsung"]),
        # a headline's last name run into the body's first word: each piece that recurs is a name of its own
        ("Zentrova Partners With Siemens at Hanover Fair\n\nZentrova will show a pilot at the Hanover Fair.",
         [("Hanover Fair\n\nZentrova", "FAC"), ("Hanover Fair", "FAC")], "place", ["Zentrova", "Hanover Fair"]),
        ("Harbour Talks\nDelegates met at noon.", [("Harbour Talks\nDelegates", "ORG")], "org", []),
        # a nationality word the model took into a person's or an organisation's span is a mention of its own
        ("Canadian Paul Tracy won. Tracy led.", [("Canadian Paul Tracy", "PERSON"), ("Tracy", "PERSON")],
         "person", ["Paul Tracy"]),
        ("Canadian Paul Tracy won. Tracy led.", [("Canadian Paul Tracy", "PERSON"), ("Tracy", "PERSON")],
         "norp", ["Canadian"]),
        ("The Dutch transport ministry said so.", [("Dutch transport ministry", "ORG")], "norp", ["Dutch"]),
        ("Swedish Match shares rose. Swedish Match said so.", [("Swedish Match", "ORG"), ("Swedish Match", "ORG")],
         "org", ["Swedish Match"]),
        # a wire dateline is a place
        ("LISBON (Reuters) - The minister spoke.", [], "place", ["LISBON"]),
        ("London 1996-08-30\nEssex won.", [("London 1996-08-30", "DATE")], "place", ["London"]),
        # a nationality word keeps its name in the norp facet
        ("Iraqi troops left Iraq.", [("Iraqi", "NORP"), ("Iraq", "GPE")], "norp", ["Iraqi"]),
    ],
)
def test_rules_from_evidence(text, spans, facet, expected):
    assert facet_values(canonicalize(text, mentions(text, *spans)))[facet] == expected


def test_a_nationality_word_carries_its_country_id():
    text = "Iraqi troops left Iraq. Iraqis cheered."
    found = canonicalize(text, mentions(text, ("Iraqi", "NORP"), ("Iraq", "GPE"), ("Iraqis", "NORP")))
    assert len({m.id for m in found}) == 1
    assert {m.label for m in found} == {"NORP", "GPE"}


def test_a_recased_headline_guess_gives_way_to_the_body():
    original = "MILLER DEFENDS TITLE\nNate Miller beat Smith."
    text = "Miller Defends Title\nNate Miller beat Smith."
    found = canonicalize(text, mentions(text, ("Miller Defends Title", "PERSON"), ("Nate Miller", "PERSON")),
                         original=original)
    assert facet_values(found)["person"] == ["Nate Miller"]


@pytest.mark.parametrize(("text", "expected"), [
    # words the body writes as names keep their capital; the headline's other words are read in sentence case
    ("Zentrova Partners With Siemens in Munich to Launch Grid Pilot\n\nThe firm met Siemens staff in Munich.",
     "Zentrova partners with Siemens in Munich to launch grid pilot\n\nThe firm met Siemens staff in Munich."),
    # a capital the body shows only at a sentence's start is no evidence of a name; an acronym keeps its capitals
    ("Rates Rise Again as ECB Acts on Inflation\n\nRates rose. The ECB said so.",
     "Rates rise again as ECB acts on inflation\n\nRates rose. The ECB said so."),
    # no Title Case headline (a sentence, no blank line after it, or an ALL-CAPS line): unchanged
    ("The bank raised rates on Monday.\n\nMore follows.", "The bank raised rates on Monday.\n\nMore follows."),
    ("Zentrova Partners With Siemens\nThe firm met Siemens.", "Zentrova Partners With Siemens\nThe firm met Siemens."),
    ("ZENTROVA PARTNERS WITH SIEMENS\n\nThe firm met Siemens.",
     "ZENTROVA PARTNERS WITH SIEMENS\n\nThe firm met Siemens."),
])
def test_a_title_case_headline_is_read_in_sentence_case(text, expected):
    from pipeline.core.text import sentence_case_headline
    assert sentence_case_headline(text) == expected


@given(st.text(alphabet="AbcD eF\n.,'", max_size=80))
def test_sentence_casing_keeps_offsets(text):
    from pipeline.core.text import sentence_case_headline
    cased = sentence_case_headline(text)
    assert len(cased) == len(text) and cased.casefold() == text.casefold()



@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        # a headline runs two names together that the body writes apart
        ("Kohl Bonn visit ends .\nKohl left Bonn on Monday .", [("Kohl Bonn", "GPE"), ("Kohl", "PERSON"),
                                                                ("Bonn", "GPE")],
         {"person": ["Kohl"], "place": ["Bonn"]}),
        # ... not a first name and a surname the body writes apart
        ("Brian Lara hits century .\nLara scored ; Brian 's father watched .",
         [("Brian Lara", "PERSON"), ("Lara", "PERSON"), ("Brian", "PERSON")], {"person": ["Brian Lara"]}),
        # ... not when the body writes the whole too
        ("New York Knicks win .\nThe New York Knicks beat New York rivals and the Knicks won .",
         [("New York Knicks", "ORG"), ("New York Knicks", "ORG"), ("New York", "GPE")],
         {"org": ["New York Knicks"], "place": ["New York"]}),
        # a name and a score read as a law beside the name read as a place; a product's number stays
        ("Middlesex beat Hampshire .\nMiddlesex 20 points , Hampshire 5 .",
         [("Middlesex", "ORG"), ("Hampshire", "GPE"), ("Hampshire 5", "LAW")], {"place": ["Hampshire"], "law": []}),
        ("Windows 95 ships ; Windows said so .", [("Windows 95", "PRODUCT"), ("Windows", "ORG")],
         {"product": ["Windows 95"]}),
        # a sentence's first word before a nationality word is no name
        ("Outspoken Australian Tom Lee lost .\nTom Lee said so .", [("Outspoken Australian", "ORG"),
                                                                     ("Tom Lee", "PERSON")],
         {"norp": ["Australian"], "org": [], "person": ["Tom Lee"]}),
        # ... a name the article writes again stays
        ("Royal Dutch rose .\nShares of Royal Dutch gained .", [("Royal Dutch", "ORG"), ("Royal Dutch", "ORG")],
         {"org": ["Royal Dutch"], "norp": []}),
        # a demonym after a leading "the": the rest is no name
        ("The Dutch transport ministry said .", [("The Dutch transport ministry", "ORG")],
         {"org": [], "norp": ["Dutch"]}),
    ],
)
def test_spans_holding_two_names_are_cut(text, spans, expected):
    values = facet_values(canonicalize(text, mentions(text, *spans)))
    for facet, names in expected.items():
        assert values[facet] == names


@pytest.mark.parametrize(
    ("text", "spans", "linked", "norp"),
    [
        # a nationality word the tables lack, derived from a place of the article: one id with the place
        ("Tajik troops entered Tajikistan .", [("Tajik", "PERSON"), ("Tajikistan", "GPE")],
         [("Tajik", "Tajikistan")], ["Tadzhik"]),  # one name per id: the tables' word for the country
        ("The Briton left Britain .", [("Briton", "PERSON"), ("Britain", "GPE")], [("Briton", "Britain")],
         ["Briton"]),
        # the plural counts as its singular, and is written so
        ("Azeris and Azeri officials met in Azerbaijan .", [("Azeris", "NORP"), ("Azeri", "NORP"),
                                                          ("Azerbaijan", "GPE")],
         [("Azeris", "Azerbaijan"), ("Azeri", "Azerbaijan")], ["Azerbaijani"]),
        ("Chechens and a Chechen fled Chechnya .", [("Chechens", "NORP"), ("Chechen", "NORP"), ("Chechnya", "GPE")],
         [("Chechens", "Chechnya"), ("Chechen", "Chechnya")], ["Chechen"]),
        # the last word of a nationality the tables know
        ("South Korean traders sold ; the Koreans sold more .", [("South Korean", "NORP"), ("Koreans", "NORP")],
         [("Koreans", "South Korean")], ["South Korean"]),
        # a person's name is no nationality word, nor is a word without a demonym ending
        ("Georgi Parvanov visited Georgia . Georgi said so .",
         [("Georgi Parvanov", "PERSON"), ("Georgia", "GPE"), ("Georgi", "PERSON")], [], []),
        ("Francis met France .", [("Francis", "PERSON"), ("France", "GPE")], [], []),
        # a group word that begins one country's name and no other name of the data
        ("Saudi officials met in Saudi Arabia .", [("Saudi", "NORP"), ("Saudi Arabia", "GPE")],
         [], ["Saudi Arabian"]),
        ("North officials met .", [("North", "NORP")], [], ["North"]),
        # ... never cut from a longer span
        ("Sri Lanka - Arjuna Ranatunga won .", [("Sri Lanka", "PERSON")], [], []),
    ],
)
def test_nationality_words_by_stem(text, spans, linked, norp):
    result = canonicalize(text, mentions(text, *spans))
    id_of = {m.text: m.id for m in result}
    for word, place in linked:
        assert id_of[word] == id_of[place]
    assert facet_values(result)["norp"] == norp
