"""Enrich cleaned articles: the text NER reads, batches bounded by words, in this process or in forked workers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from pipeline.core.records import Article, EnrichedArticle, Enrichment
from pipeline.enrich.annotate import enrich_texts
from pipeline.enrich.entities import EntityConfig
from pipeline.enrich.nlp import LanguageModels
from pipeline.enrich.places import PlaceResolver
from pipeline.enrich.workers import enrich_in_workers, word_batches


def text_for_nlp(article: Article, max_chars: int) -> str:
    """Title and body as one text (title first, unless it is just the body's first sentence), capped in length."""
    body = article.body
    text = body if body.startswith(article.title.rstrip("…")) else f"{article.title}\n\n{body}"
    return text[:max_chars]


def enrich_articles(
    models: LanguageModels,
    articles: Iterable[Article],
    *,
    batch_size: int = 64,
    batch_words: int = 5_000,
    n_process: int = 1,
    max_chars: int = 200_000,
    entity_config: EntityConfig | None = None,
    places: PlaceResolver | None = None,
) -> Iterator[EnrichedArticle]:
    """Enrich cleaned articles in batches of at most batch_size articles and batch_words words, in input order.

    Each article is read by the pipeline of its `language` (none: no entities, status "no-model"), its numeric
    dates in its `date_order`. With
    n_process > 1 the batches go to forked worker processes (pipeline.enrich.workers); with 1 they run here.
    """
    items = ((text_for_nlp(a, max_chars), _day(a.published_at), a.language, a.date_order, a) for a in articles)
    if n_process > 1:
        results = enrich_in_workers(models, items, processes=n_process, max_words=batch_words, max_items=batch_size,
                                    entity_config=entity_config, places=places)
    else:
        results = _enrich_here(models, items, batch_words=batch_words, batch_size=batch_size,
                               entity_config=entity_config, places=places)
    for enrichment, article in results:
        yield EnrichedArticle(article, enrichment)


def _enrich_here(models: LanguageModels, items: Iterable[tuple[str, date | None, str | None, str | None, Article]], *,
                 batch_words: int, batch_size: int, entity_config: EntityConfig | None,
                 places: PlaceResolver | None) -> Iterator[tuple[Enrichment, Article]]:
    for batch in word_batches(items, max_words=batch_words, max_items=batch_size):
        # As in the workers: spaCy's strings for this batch are freed after it, so memory stays flat.
        with models.memory_zone(item[2] for item in batch):
            yield from enrich_texts(models, batch, batch_size=len(batch), entity_config=entity_config, places=places)


def _day(published_at: str | None) -> date | None:
    return date.fromisoformat(published_at[:10]) if published_at else None
