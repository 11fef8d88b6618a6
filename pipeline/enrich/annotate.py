"""Annotate texts: spaCy NER, the entity rules and the mentioned-date resolver over one stream of texts.

The one place where a loaded spaCy pipeline meets the rules; it runs in this process or inside a worker
(pipeline.enrich.workers), which is why it knows nothing about articles or batching.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date
from typing import TypeVar

from spacy.language import Language

from pipeline.core.records import Enrichment
from pipeline.core.text import recase_shouting
from pipeline.enrich.dates import find_dates
from pipeline.enrich.entities import EntityConfig, RawMention, canonicalize

Context = TypeVar("Context")


def enrich_texts(
    nlp: Language,
    items: Iterable[tuple[str, date | None, Context]],
    *,
    batch_size: int = 64,
    entity_config: EntityConfig | None = None,
) -> Iterator[tuple[Enrichment, Context]]:
    """Enrich (text, publication day, context) triples in order; the context is passed through untouched.

    NER reads a copy of the text in which ALL-CAPS lines are re-cased (same length, so offsets hold);
    mentions and dates are reported against the original text.
    """
    as_tuples = ((recase_shouting(text), (text, day, context)) for text, day, context in items)
    # In this process: parallelism is pipeline.enrich.workers' job (whole batches per worker), not nlp.pipe's.
    for doc, (text, day, context) in nlp.pipe(as_tuples, as_tuples=True, batch_size=batch_size):
        raw = [RawMention(text[ent.start_char:ent.end_char], ent.label_, ent.start_char, ent.end_char)
               for ent in doc.ents]
        # Mentions the rules add or narrow are cut from the text NER read; report them in the original spelling.
        entities = [replace(m, text=text[m.start:m.end]) for m in canonicalize(doc.text, raw, entity_config,
                                                                            original=text)]
        dates = find_dates(text, day)
        yield Enrichment(entities=tuple(entities), dates=tuple(dates)), context
