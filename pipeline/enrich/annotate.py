"""Annotate texts: spaCy NER, the entity rules and the mentioned-date resolver over one stream of texts.

The one place where a loaded spaCy pipeline meets the rules; it runs in this process or inside a worker
(pipeline.enrich.workers), which is why it knows nothing about articles or batching. Each text is read by the
pipeline of its own language; a text in a language without one gets no entities and the status "no-model".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date
from itertools import islice
from typing import TypeVar, cast

from pipeline.core.dateorder import day_first
from pipeline.core.facets import facet_label
from pipeline.core.records import ENRICHMENT_NO_MODEL, ENRICHMENT_OK, Enrichment, EntityMention
from pipeline.core.text import recase_shouting, sentence_case_headline
from pipeline.enrich.clauses import ClauseDirection, load_parser
from pipeline.enrich.dates_locale import find_mentioned_dates
from pipeline.enrich.entities import EntityConfig, RawMention, canonicalize
from pipeline.enrich.nlp import LanguageModels
from pipeline.enrich.places import PlaceResolver

Context = TypeVar("Context")
# (text, publication day, language, numeric date order "DMY"/"MDY"/"YMD" or None, context)
Item = tuple[str, date | None, str | None, str | None, Context]


def enrich_texts(
    models: LanguageModels,
    items: Iterable[Item],
    *,
    batch_size: int = 64,
    entity_config: EntityConfig | None = None,
    places: PlaceResolver | None = None,
) -> Iterator[tuple[Enrichment, Context]]:
    """Enrich (text, publication day, language, date order, context) items in order; the context is passed through
    untouched. The date order (pipeline.core.dateorder) decides how numeric dates such as "7/8/07" are read; None
    leaves an ambiguous one to the text's own unambiguous ones, else out.

    Items are read batch_size at a time; within a batch each language's texts go through that language's
    pipeline together. NER reads a copy of the text in which ALL-CAPS lines are re-cased (same length, so offsets
    hold); mentions and dates are reported against the original text. With `places`, place mentions are resolved
    to GeoNames entries after canonicalisation (pipeline.enrich.places) and demonyms get their country.
    """
    iterator = iter(items)
    while batch := list(islice(iterator, batch_size)):
        results: list[Enrichment | None] = [None] * len(batch)
        for language in dict.fromkeys(item[2] for item in batch):
            positions = [i for i, item in enumerate(batch) if item[2] == language]
            for i, enrichment in zip(positions, _enrich_language(models, language, [batch[i] for i in positions],
                                                                 entity_config, places), strict=True):
                results[i] = enrichment
        for enrichment, (_text, _day, _language, _order, context) in zip(results, batch, strict=True):
            yield cast(Enrichment, enrichment), context


def _enrich_language(models: LanguageModels, language: str | None, items: list[Item],
                     entity_config: EntityConfig | None, places: PlaceResolver | None) -> Iterator[Enrichment]:
    """One language's texts: its pipeline's entities, or none at all when it has no pipeline."""
    nlp = models.for_language(language)
    if nlp is None:
        for text, day, _language, order, _context in items:
            dates = find_mentioned_dates(text, day, language, day_first=day_first(order))
            yield Enrichment(entities=(), dates=tuple(dates), language=language, status=ENRICHMENT_NO_MODEL)
        return
    labels = models.label_map(language)
    # English dates: the parser runs only on the sentences of bare weekdays and months whose direction is in
    # doubt (lazily); the clause rules read English auxiliaries, so other languages go without.
    parser = load_parser(nlp) if language in (None, "en") else None
    recased = [recase_shouting(text) for text, *_rest in items]
    # NER reads a Title Case headline in sentence case too; the rules read names in the re-cased spelling.
    texts = (recase_shouting(sentence_case_headline(text)) for text, *_rest in items)
    # In this process: parallelism is pipeline.enrich.workers' job (whole batches per worker), not nlp.pipe's.
    for doc, shown, (text, day, _language, order, _context) in zip(nlp.pipe(texts, batch_size=len(items)), recased,
                                                                   items, strict=True):
        raw = [RawMention(text[ent.start_char:ent.end_char], facet_label(ent.label_, labels), ent.start_char,
                          ent.end_char) for ent in doc.ents]
        # Mentions the rules add or narrow are cut from the text NER read; report them in the original spelling.
        entities: list[EntityMention] = [
            replace(m, text=text[m.start:m.end])
            for m in canonicalize(shown, raw, entity_config, language, original=text)]
        if places is not None:
            entities = places.resolve(text, entities)
        direction = ClauseDirection(parser, text) if parser is not None else None
        dates = find_mentioned_dates(text, day, language, direction=direction, day_first=day_first(order))
        yield Enrichment(entities=tuple(entities), dates=tuple(dates), language=language, status=ENRICHMENT_OK)
