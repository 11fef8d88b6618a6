"""Parallel enrichment: word-bounded batches, same results as in one process, a dead worker fails the run."""

import os

import pytest

from pipeline.core.errors import InfrastructureError
from pipeline.enrich import workers
from pipeline.enrich.annotate import enrich_texts
from pipeline.enrich.workers import enrich_in_workers, word_batches


def sizes(batches):
    return [[item[4] for item in batch] for batch in batches]


@pytest.mark.parametrize(
    ("words", "max_words", "max_items", "expected"),
    [
        ([2, 2, 2], 10, 10, [[0, 1, 2]]),
        ([2, 2, 2], 4, 10, [[0, 1], [2]]),  # closed before a batch would pass the word budget
        ([2, 2, 2], 10, 2, [[0, 1], [2]]),  # or the article count
        ([1, 9, 1], 5, 10, [[0], [1], [2]]),  # a longer article is a batch of its own, never split or dropped
        ([], 5, 5, []),
    ],
)
def test_word_batches(words, max_words, max_items, expected):
    items = [(" ".join(["w"] * n), None, "en", None, i) for i, n in enumerate(words)]
    assert sizes(word_batches(items, max_words=max_words, max_items=max_items)) == expected


TEXTS = [
    ("Hulusi Akar met Mark Esper in Brussels on Wednesday. Akar said Turkey would not back down.", "en"),
    ("The mayor of Lyon opened a bridge on Monday.", "en"),
    ("La maire de Lyon, Claire Dubois, a inauguré lundi un pont sur le Rhône.", "fr"),
    ("Apple Inc. said on Tuesday that Apple will open a store in Paris next month.", "en"),
    ("Die Bürgermeisterin Katrin Vogel hat am Montag in Köln den Rheinhafen eröffnet.", "de"),
    ("Nothing named here at all.", "en"),
] * 2


@pytest.mark.integration
def test_workers_give_the_same_results_in_the_same_order(models):
    from datetime import date

    # Three languages in one stream: English and French read by their models (French loaded in the workers on
    # first use), German by none.
    items = [(text, date(2019, 6, 25), language, None, i) for i, (text, language) in enumerate(TEXTS)]
    alone = list(enrich_texts(models, items, batch_size=4))
    parallel = list(enrich_in_workers(models, items, processes=2, max_words=30, max_items=3, entity_config=None))
    assert [context for _, context in parallel] == list(range(len(TEXTS)))
    assert [enrichment for enrichment, _ in parallel] == [enrichment for enrichment, _ in alone]
    by_language = {e.language: e for e, _ in alone}
    assert by_language["de"].status == "no-model" and by_language["de"].entities == ()
    assert {m.canonical for m in by_language["fr"].entities if m.label == "PERSON"} == {"Claire Dubois"}


def die(_texts):
    os._exit(3)  # a worker killed mid-batch (the OOM killer, a segfault)


@pytest.mark.integration
def test_a_dead_worker_fails_the_run_loudly(models, monkeypatch):
    monkeypatch.setattr(workers, "_enrich_batch", die)
    with pytest.raises(InfrastructureError, match="NLP worker process died"):
        list(enrich_in_workers(models, [(t, None, lang, None, i) for i, (t, lang) in enumerate(TEXTS)], processes=2,
                               max_words=30, max_items=3, entity_config=None))


@pytest.mark.integration
def test_enrich_articles_gives_the_same_documents_with_one_or_two_processes(models):
    from pipeline.core.records import Article
    from pipeline.enrich.articles import enrich_articles

    articles = [Article(doc_id=str(i), ref=str(i), source="s", title=f"Story {i}", body=text, language=language,
                        published_at="2019-06-25") for i, (text, language) in enumerate(TEXTS)]
    one = list(enrich_articles(models, articles, n_process=1, batch_words=30, batch_size=3))
    two = list(enrich_articles(models, articles, n_process=2, batch_words=30, batch_size=3))
    assert one == two and [e.article for e in one] == articles
    assert any(m.canonical == "Mark Esper" for m in one[0].enrichment.entities)  # and it did find entities
