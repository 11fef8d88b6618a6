"""`newsetl search` on a small fixture corpus: full text, every facet filter, date ranges, pages, story collapse."""

from __future__ import annotations

import json
import uuid

import pytest

from pipeline.cli.main import FACET_FLAGS, main
from pipeline.index.store import Store
from pipeline.runners.stream import ingest
from pipeline.search.query import FACET_FIELDS, SearchRequest, search
from tests.conftest import drop_alias, make_settings

pytestmark = pytest.mark.integration

RATE_WIRE = (
    "The central bank raised its main interest rate by half a point on Thursday, the third increase this year, "
    "saying inflation had proved more stubborn than expected. Governor Maria Lindqvist told reporters in "
    "Stockholm the board had been unanimous and that further moves would depend on wage talks due on March 3. "
    "Markets had expected a quarter-point rise. The krona jumped one percent against the euro after the "
    "announcement, and shares in Nordea rose. Economists said the decision showed the bank was willing to risk "
    "slower growth to bring prices under control before the election in September."
)
FIRST_RUN = [
    {"id": "rate-wire", "source": "wire", "published": "2023-02-09", "title": "Sweden raises rates again",
     "text": RATE_WIRE},
    {"id": "harbour", "source": "daily", "published": "2023-02-10", "title": "Harbour strike ends in Rotterdam",
     "text": "Dock workers in Rotterdam ended a three-day strike on Friday after the port authority agreed to "
             "talks on pay. Union leader Pieter de Vries said work would resume on Monday."},
    {"id": "chess", "source": "daily", "published": "2023-01-15", "title": "Chess final in Madrid",
     "text": "Magnus Carlsen won the final in Madrid on Sunday, beating Ding Liren after a long endgame. "
             "The next tournament opens in Paris on April 2."},
    {"id": "talks", "source": "weekly", "published": "2023-02-01", "title": "Budget negotiations stall",
     "text": "Ministers talked for nine hours in Berlin without agreeing on the budget, and will meet again "
             "next Tuesday, Chancellor Olaf Scholz said."},
    {"id": "undated", "source": "weekly", "title": "Letters to the editor",
     "text": "Readers in Lyon wrote about the new tram line, which opens in 2024."},
    {"id": "spanish", "source": "wire", "language": "es", "published": "2023-02-11", "title": "Noticias breves",
     "text": "El gobierno de España anunció nuevas medidas económicas el viernes en Madrid."},
]
# The next night: the wire story republished twice (new headline, dateline, credit line, last sentence cut).
SECOND_RUN = [
    {"id": "rate-copy-1", "source": "portal", "published": "2023-02-10", "title": "Riksbank hikes by 50 points",
     "text": "STOCKHOLM (Wire) - " + RATE_WIRE.rsplit(". ", 1)[0] + ".\n\n(Reporting by Jan Berg)"},
    {"id": "rate-copy-2", "source": "blog", "published": "2023-02-12", "title": "Rates up again",
     "text": RATE_WIRE + "\n\nThis article first appeared on the wire."},
]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpus(es_url, tmp_path_factory):
    """The fixture corpus indexed in two runs (the copies arrive the night after the original)."""
    tmp_path = tmp_path_factory.mktemp("search")
    name = f"test-{uuid.uuid4().hex[:10]}"
    settings = make_settings(tmp_path, es_url, name)
    ingest([write_jsonl(tmp_path / "night1.jsonl", FIRST_RUN)], settings)
    ingest([write_jsonl(tmp_path / "night2.jsonl", SECOND_RUN)], settings)
    yield Store.connect(settings), name, settings
    drop_alias(es_url, name)


def run(corpus, **request):
    store, _alias, _settings = corpus
    return search(store, SearchRequest(**request))


def ids(result):
    return {hit["id"] for hit in result.hits}


def doc_id(corpus, ref_id):
    """The document id the pipeline gave the article whose input id is `ref_id`."""
    store, _alias, _ = corpus
    hits = store.search(size=50, source_includes=["input_ref"])["hits"]["hits"]
    return next(h["_id"] for h in hits if h["_source"]["input_ref"].endswith(f"#{ref_id}") or
                h["_source"]["input_ref"].endswith(ref_id))


def by_title(result):
    return [hit["title"] for hit in result.hits]


def test_copies_from_a_later_run_join_the_original_story_and_others_stay_apart(corpus):
    result = run(corpus, size=20)
    story = {hit["title"]: hit["story_id"] for hit in result.hits}
    assert story["Riksbank hikes by 50 points"] == story["Rates up again"] == story["Sweden raises rates again"]
    assert len(set(story.values())) == 6 == result.stories  # 8 articles, 6 stories
    assert result.total == 8


def test_collapse_gives_one_hit_per_story_with_its_copies(corpus):
    result = run(corpus, query="interest rate", collapse=True)
    assert result.total == 3 and result.stories == 1 and len(result.hits) == 1
    hit = result.hits[0]
    assert hit["copies"] == 3
    assert {c["source"] for c in hit["copies_seen_in"]} | {hit["source"]} == {"wire", "portal", "blog"}
    assert run(corpus, collapse=True, size=20).pages == 1 and len(run(corpus, collapse=True, size=20).hits) == 6


@pytest.mark.parametrize(("query", "expected_first"), [
    ("Rotterdam", "Harbour strike ends in Rotterdam"),  # in the title and the body: title boosted
    ("negotiations", "Budget negotiations stall"),
])
def test_full_text_boosts_titles(corpus, query, expected_first):
    assert by_title(run(corpus, query=query))[0] == expected_first


def test_english_analysis_matches_other_word_forms(corpus):
    assert "Budget negotiations stall" in by_title(run(corpus, query="talks"))  # body says "talked"
    assert run(corpus, query="strikes").total == 1


def test_highlights_mark_the_matched_words(corpus):
    hit = run(corpus, query="Carlsen").hits[0]
    assert any("«Carlsen»" in fragment for fragment in hit["highlight"]["body"])


def test_every_facet_value_filters_to_exactly_its_count(corpus):
    everything = run(corpus, size=20, facet_size=50)
    checked = 0
    for facet, values in everything.facets.items():
        for value, count in values:
            result = run(corpus, size=20, filters={facet: (value,)})
            assert result.total == count, (facet, value)
            field = FACET_FIELDS[facet].split(".")
            for hit in result.hits:
                stored = hit[field[0]] if len(field) == 1 else hit[field[0]][field[1]]
                assert value in (stored if isinstance(stored, list) else [stored]), (facet, value, hit["id"])
            checked += 1
    assert checked > 15
    assert {"person", "place", "source", "language"} <= {f for f, v in everything.facets.items() if v}


def test_filters_on_several_facets_must_all_match(corpus):
    assert run(corpus, filters={"source": ("daily",), "language": ("en",)}).total == 2
    assert run(corpus, filters={"source": ("daily", "weekly")}).total == 0  # one source per article


@pytest.mark.parametrize(("request_", "titles"), [
    ({"published_from": "2023-02-10"}, {"Harbour strike ends in Rotterdam", "Noticias breves",
                                        "Riksbank hikes by 50 points", "Rates up again"}),
    ({"published_to": "2023-01-31"}, {"Chess final in Madrid"}),
    ({"published_from": "2023-02-01", "published_to": "2023-02-01"}, {"Budget negotiations stall"}),
    ({"mentioned_from": "2023-04-01", "mentioned_to": "2023-04-30"}, {"Chess final in Madrid"}),
    ({"mentioned_from": "2023-03-01", "mentioned_to": "2023-03-31"}, {"Sweden raises rates again",
                                                                      "Riksbank hikes by 50 points",
                                                                      "Rates up again"}),
])
def test_date_ranges_on_published_and_mentioned_dates(corpus, request_, titles):
    from datetime import date

    dates = {key: date.fromisoformat(value) for key, value in request_.items()}
    assert set(by_title(run(corpus, size=20, **dates))) == titles


def test_pages_split_the_hits_without_gaps_or_overlaps(corpus):
    pages = [run(corpus, sort="newest", size=3, page=n) for n in (1, 2, 3)]
    assert [p.pages for p in pages] == [3, 3, 3]
    seen = [hit["id"] for p in pages for hit in p.hits]
    assert len(seen) == len(set(seen)) == 8
    dated = [hit["published_at"] for p in pages for hit in p.hits if hit.get("published_at")]
    assert dated == sorted(dated, reverse=True)
    assert pages[2].hits[-1].get("published_at") is None  # undated last


@pytest.mark.parametrize(("request_", "message"), [
    ({"filters": {"colour": ("red",)}}, "unknown facet"),
    ({"page": 0}, "at least 1"),
    ({"page": 2000, "size": 10}, "at most 10000"),
    ({"sort": "random"}, "unknown sort"),
])
def test_bad_requests_are_refused_clearly(request_, message):
    with pytest.raises(ValueError, match=message):
        SearchRequest(**request_)


def test_cli_flags_cover_every_facet():
    assert tuple(FACET_FIELDS) == FACET_FLAGS


def test_cli_table_json_and_paging(corpus, capsys, monkeypatch):
    _store, alias, settings = corpus
    monkeypatch.setenv("NEWSETL_INDEX_ALIAS", alias)
    monkeypatch.setenv("ELASTICSEARCH_URL", settings.elasticsearch.url)
    monkeypatch.setenv("NEWSETL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("COLUMNS", "160")

    assert main(["search", "rate", "--collapse"]) == 0
    out = capsys.readouterr().out
    assert "3 article(s), 1 distinct story(ies)" in out and "copies" in out
    assert "Rates up again" in out and "blog" in out  # the best hit of the story, its source and the others'
    assert "portal" in out and "wire" in out

    assert main(["search", "--source", "daily", "--size", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["total"], result["pages"], len(result["hits"])) == (2, 2, 1)

    assert main(["search", "--size", "3", "--page", "2", "--mentioned-from", "2020-01-01"]) == 0
    assert "--page 3" in capsys.readouterr().out

    assert main(["search", "--page", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["FR", "fr", "France", "FRA", "French Republic", "250"])
def test_country_filter_takes_a_name_or_an_iso_code(corpus, value):
    result = run(corpus, size=20, filters={"country": (value,)})
    assert by_title(result) == ["Chess final in Madrid"]  # "Paris"
    # "Madrid" in two articles, but the Spanish one has no NER model (enrichment: no-model): no place, no country
    assert ("Spain", 1) in run(corpus, size=20).facets["country"]


def test_an_unknown_country_is_a_usage_error_naming_the_closest(corpus, monkeypatch, capsys):
    from pipeline.cli.main import main

    _store, alias, settings = corpus
    monkeypatch.setenv("ELASTICSEARCH_URL", str(settings.elasticsearch.url))
    monkeypatch.setenv("NEWSETL_INDEX_ALIAS", alias)
    assert main(["search", "--country", "Frnace"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "unknown country 'Frnace'" in err and "did you mean France" in err
    assert main(["search", "--country", "French Republic", "--json"]) == 0
    assert [h["title"] for h in json.loads(capsys.readouterr().out)["hits"]] == ["Chess final in Madrid"]


def test_resolved_places_are_points_for_geo_queries(corpus):
    store, _alias, _settings = corpus
    near_madrid = {"geo_distance": {"distance": "25km", "geo": {"lat": 40.42, "lon": -3.70}}}
    hits = store.search(size=20, query=near_madrid, source_includes=["title", "geo", "entities"])["hits"]["hits"]
    assert {h["_source"]["title"] for h in hits} == {"Chess final in Madrid"}  # the Spanish one has no model
    box = {"geo_bounding_box": {"geo": {"top_left": {"lat": 55.1, "lon": 5.8},
                                        "bottom_right": {"lat": 47.2, "lon": 15.1}}}}
    in_box = store.search(size=20, query=box, source_includes=["title"])["hits"]["hits"]
    titles = {h["_source"]["title"] for h in in_box}
    assert titles == {"Budget negotiations stall"}  # Berlin lies in the box; Paris, Madrid and Stockholm do not
    for hit in hits:
        source = hit["_source"]
        assert len(source["geo"]) == len(source["entities"]["geonames_id"])
        assert "ES" in source["entities"]["country_code"]
