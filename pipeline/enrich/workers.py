"""Enrichment over several cores: batches bounded by words, worker processes that return only the results.

Why not `nlp.pipe(n_process=N)`: spaCy's workers send every Doc back to the parent (serialised, then rebuilt), and
the parent still runs the entity rules and the date resolver on one core; here workers run the whole enrichment
and send back the small `Enrichment` records. Batches are closed by a word budget as well as a count, so a batch of
long articles cannot need several times the memory of an average one, and at most a fixed number of batches is in
flight: memory stays flat however many articles a run has.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from typing import TypeVar

from pipeline.core.errors import InfrastructureError
from pipeline.core.records import Enrichment
from pipeline.enrich.annotate import enrich_texts
from pipeline.enrich.clauses import load_parser
from pipeline.enrich.entities import EntityConfig
from pipeline.enrich.nlp import LanguageModels
from pipeline.enrich.places import PlaceResolver

Context = TypeVar("Context")
Item = tuple[str, date | None, str | None, str | None, Context]  # as pipeline.enrich.annotate's

_PR_SET_PDEATHSIG = 1  # prctl option from <sys/prctl.h>

# Set in the parent right before the pool forks; workers inherit the models loaded so far instead of loading their
# own, and load another language's model only when one of their batches needs it (once per worker).
_WORKER_STATE: dict[str, object] = {}


def word_batches(items: Iterable[Item], *, max_words: int, max_items: int) -> Iterator[list[Item]]:
    """Consecutive batches of at most max_items items and max_words words (a longer single item is its own batch)."""
    batch: list[Item] = []
    words = 0
    for item in items:
        size = item[0].count(" ") + 1
        if batch and (words + size > max_words or len(batch) >= max_items):
            yield batch
            batch, words = [], 0
        batch.append(item)
        words += size
    if batch:
        yield batch


def _die_with_parent() -> None:
    """Worker initializer: ask Linux to kill this worker when its parent dies, so a killed run leaves no orphans;
    and leave Ctrl-C to the parent (a terminal sends SIGINT to the whole process group): the parent decides what
    an interrupted run keeps and ends the workers itself, instead of each printing a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != _WORKER_STATE.get("parent_pid"):  # the parent died before prctl took effect
        os._exit(1)


def _enrich_batch(texts: list[tuple[str, date | None, str | None, str | None]]) -> list[Enrichment]:
    """Worker side: one batch through NER, entity rules and dates."""
    models = _WORKER_STATE["models"]
    assert isinstance(models, LanguageModels)
    config = _WORKER_STATE["entity_config"]
    assert config is None or isinstance(config, EntityConfig)
    places = _WORKER_STATE["places"]
    items = [(text, day, language, order, None) for text, day, language, order in texts]
    # Strings and lexemes spaCy adds for this batch are freed afterwards; without the zone a worker's vocabulary
    # (and memory) grows with every new word it ever sees. Results are plain Python records, valid outside it.
    with models.memory_zone(language for _text, _day, language, _order in texts):
        return [enrichment for enrichment, _ in enrich_texts(models, items, batch_size=len(texts),
                                                             entity_config=config, places=places)]


def enrich_in_workers(
    models: LanguageModels,
    items: Iterable[Item],
    *,
    processes: int,
    max_words: int,
    max_items: int,
    entity_config: EntityConfig | None,
    places: PlaceResolver | None = None,
) -> Iterator[tuple[Enrichment, Context]]:
    """Enrich items in `processes` forked workers, in input order, with a bounded number of batches in flight.

    The place resolver (and its gazetteer) is loaded here, before the fork, so workers share it like the model.
    """
    _WORKER_STATE.update(models=models, entity_config=entity_config, places=places, parent_pid=os.getpid())
    english = models.for_language("en")
    if english is not None:
        # The English clause parser (mentioned dates' direction) is loaded and cached before the fork, so the
        # workers share it instead of loading one each.
        load_parser(english)
    # fork: workers share the parent's loaded model pages; spawn would load the model once more per worker.
    context = multiprocessing.get_context("fork")
    # Objects alive now (the model above all) move to a generation the garbage collector never scans: a collection
    # writes to every object it visits, which would copy the shared pages into each worker, one by one, over a run.
    gc.freeze()
    in_flight: deque[tuple[list[Item], Future[list[Enrichment]]]] = deque()
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=_die_with_parent)
    try:
        for batch in word_batches(items, max_words=max_words, max_items=max_items):
            texts = [(text, day, language, order) for text, day, language, order, _ in batch]
            in_flight.append((batch, pool.submit(_enrich_batch, texts)))
            # Two batches per worker keep every core busy while the parent yields results.
            while len(in_flight) > 2 * processes:
                yield from _collect(*in_flight.popleft())
        while in_flight:
            yield from _collect(*in_flight.popleft())
        pool.shutdown(wait=True)
    except BrokenProcessPool as exc:
        pool.shutdown(wait=False, cancel_futures=True)
        raise InfrastructureError(f"an NLP worker process died ({exc}); out of memory? lower nlp.batch_words "
                                  "or nlp.n_process") from None
    except BaseException:
        # Ctrl-C, or a reader that stopped (GeneratorExit): the batches in flight are not wanted any more. Waiting
        # for them (the executor's shutdown, also run at interpreter exit) would hold an interrupted run for as
        # long as NER takes, so the workers are ended now; their articles are read again by the next run. The pool
        # is told first: once the workers are dead, its manager thread may hold the pool's lock for good (draining
        # the call queue into pipes nobody reads), and a shutdown after that would wait on the lock forever.
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in set(multiprocessing.active_children()) - before:
            worker.terminate()
        raise
    finally:
        _WORKER_STATE.clear()
        gc.unfreeze()


def _collect(batch: list[Item], future: Future[list[Enrichment]]) -> Iterator[tuple[Enrichment, Context]]:
    for enrichment, (_text, _day, _language, _order, context) in zip(future.result(), batch, strict=True):
        yield enrichment, context
