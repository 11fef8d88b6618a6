"""Runs in one process, streaming from source to index: `newsetl ingest`, `quarantine retry`, `reenrich`, `migrate`.

Each is the run core (pipeline/runners/core.py) chained end to end; memory stays bounded by the batch sizes
(units are read lazily, NER runs in word-bounded batches, bulk requests are chunked).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from pipeline.clean.language import language_read_back
from pipeline.collect.config import SourceConfig, load_sources, source_for_target
from pipeline.core.errors import InfrastructureError
from pipeline.core.records import Article, Rejection
from pipeline.core.settings import Settings
from pipeline.enrich.entities import EntityConfig, load_entity_config
from pipeline.enrich.nlp import LanguageModels
from pipeline.enrich.registry import Resolution, changed_names
from pipeline.index.articles import iter_indexed_articles, reread_articles
from pipeline.index.lifecycle import Migration, migrate_index
from pipeline.index.recanon import RecanonReport, change_ids, recanonicalise, record_changes
from pipeline.index.registry import load_registry
from pipeline.index.store import Store
from pipeline.runners.core import ProgressCallback, Run, utcnow
from pipeline.runs.quarantine import list_quarantine
from pipeline.runs.report import RunReport


class Interrupted(KeyboardInterrupt):
    """A run stopped by the user (Ctrl-C, SIGINT), with its report as far as it got.

    Nothing is marked done that is not written: the ledger records a unit only once its articles are indexed, when
    the run settles, so the next run reads the interrupted run's units again; the articles it indexed are found
    unchanged there (no NER, no write) and the others are read, enriched and indexed then. Interrupted while
    settling, a unit may already be recorded: only with its articles written (the order of `Run.settle`). A
    KeyboardInterrupt, so code that does not know it still stops.
    """

    def __init__(self, report: RunReport, *, done: int, left: int) -> None:
        super().__init__("interrupted")
        self.report = report
        self.done = done  # articles whose document is written (indexed, or found already current)
        self.left = left  # articles read and cleaned but not written yet


def ingest(targets: Iterable[Path | str], settings: Settings, *, store: Store | None = None,
           on_progress: ProgressCallback | None = None, sources: list[SourceConfig] | None = None,
           window: tuple[date, date] | None = None, full: bool = False, prune: bool = False) -> RunReport:
    """The whole pipeline on targets (files, folders, URL lists, WARC files, feed/sitemap/page URLs) or on
    configured sources. Article problems are reported and quarantined; infrastructure failures raise
    InfrastructureError. The ledger skips what earlier runs already processed (`full=True` reads everything);
    `prune=True` then removes the documents of files gone from their folder (`Run.prune`, `report.pruned`).
    `on_progress(articles read, total once known)` follows the reading. Ctrl-C raises `Interrupted` at once.
    """
    if sources is None:
        sources = [source_for_target(str(t), name=settings.source_name) for t in targets]
    return process_sources(settings, sources, kind="ingest", store=store, on_progress=on_progress, window=window,
                           full=full, prune=prune)


def process_sources(settings: Settings, sources: list[SourceConfig], *, kind: str, store: Store | None = None,
                    on_progress: ProgressCallback | None = None, window: tuple[date, date] | None = None,
                    full: bool = False, only_keys: dict[tuple[str, str], frozenset[str]] | None = None,
                    prune: bool = False) -> RunReport:
    """Sources -> units -> read -> first copies -> changed only -> enrich -> index, streaming; then settle (and
    prune). Ctrl-C while articles are processed raises `Interrupted` with the report so far, settling nothing."""
    run = Run(settings, store or Store.connect(settings), kind=kind).prepare()
    units = run.units(sources, window=window, full=full, only_keys=only_keys)
    articles = run.changed_only(run.first_copies(run.read(units, on_progress=on_progress)))
    try:
        run.index(run.enrich(articles))
        run.settle(sources)
        run.recanonicalise()  # what the run taught the registry, applied to the articles indexed before
        if prune:
            run.prune(sources)
    except KeyboardInterrupt:
        # No bookkeeping on the way out: it would hold the user for seconds, and a unit marked done here could
        # have articles still in NER. What is not marked done is read again next run (see Interrupted).
        _close_quietly(articles, units)
        raise Interrupted(run.report, done=len(run.ok), left=run.unwritten()) from None
    return run.close()


def _close_quietly(*generators: Iterable[object]) -> None:
    """Close the run's generators now, outermost first, a second Ctrl-C ignored: left to garbage collection, their
    `finally` (closing the fetcher) ran during the interpreter's exit, where a second Ctrl-C (a terminal sends one to
    every process of the group, the NER workers' exit can take a moment) printed "Exception ignored in: <generator
    object Run.units>" with a traceback under the one-line summary."""
    for generator in generators:
        close = getattr(generator, "close", None)  # generators have it; a plain iterator has nothing to close
        if close is not None:
            with contextlib.suppress(KeyboardInterrupt):
                close()


def retry_quarantine(settings: Settings, *, names: list[str] | None = None, stage: str | None = None,
                     store: Store | None = None) -> RunReport:
    """`newsetl quarantine retry`: read and fetch the quarantined units again, unconditionally, and process them.

    Entries whose unit now goes through leave the quarantine; the others stay with one more attempt counted.
    """
    store = store or Store.connect(settings)
    _total, entries = list_quarantine(store, sources=names, stage=stage)
    configured = {(s.name, s.kind, s.location): s for s in load_sources(settings, include_disabled=True)}
    sources: dict[tuple[str, str], SourceConfig] = {}
    keys: dict[tuple[str, str], set[str]] = {}
    for entry in entries:
        where = (entry["source"], entry["location"])
        # Sources named on the command line (not in sources.yml) are rebuilt from what the entry recorded.
        sources.setdefault(where, configured.get((entry["source"], entry["source_kind"], entry["location"]))
                           or SourceConfig(name=entry["source"], kind=entry["source_kind"],
                                           location=entry["location"], language=entry.get("language")))
        keys.setdefault(where, set()).add(entry["unit"])
    only_keys = {where: frozenset(units) for where, units in keys.items()}
    return process_sources(settings, list(sources.values()), kind="retry", store=store, only_keys=only_keys)


def reenrich(settings: Settings, *, store: Store | None = None) -> RunReport:
    """Re-enrich every indexed article whose pipeline version is outdated (new model or entity rules).

    Reads the stored clean text back from the index, so no source has to be fetched again; documents already
    enriched by the current version are skipped without NLP.
    """
    store = store or Store.connect(settings)
    run = Run(settings, store, kind="reenrich", partition="reenrich").prepare()
    refresh_stale(run, source=store)
    run.recanonicalise()  # pending registry changes (a manual merge or split) reach the documents not re-read
    return run.close()


def apply_registry_changes(settings: Settings, *, store: Store | None = None) -> RecanonReport:
    """`newsetl reenrich --registry-changes`: rewrite the entity facets of the indexed articles that hold a name
    whose value the registry changed (pending changes only; no NER, no text read). Raises InfrastructureError when
    Elasticsearch fails (the changes stay pending)."""
    run = Run(settings, store or Store.connect(settings), kind="reenrich", partition="registry-changes")
    return run.recanonicalise()


def queue_manual_decision(settings: Settings, before: EntityConfig, *,
                          store: Store | None = None) -> tuple[Resolution, dict[str, set[str]]]:
    """After `newsetl entities merge|split` rewrote the entity rules (`before`: the rules as they were): queue the
    names whose value the decision changes (`<alias>-entity-changes`), so the next run's re-canonicalisation or
    `newsetl reenrich --registry-changes` rewrites the indexed articles that hold them. Returns the registry settled
    under the new rules and the changes queued. Raises InfrastructureError when Elasticsearch fails."""
    store = store or Store.connect(settings)
    registry = load_registry(store)
    after = registry.settle(load_entity_config(settings.entities_config))
    changed = changed_names(registry.settle(before), after, registry)
    record_changes(store, changed, now=utcnow())
    return after, changed


def apply_manual_decision(settings: Settings, before: EntityConfig, *, store: Store | None = None) -> RecanonReport:
    """`queue_manual_decision`, then rewrite the indexed articles that hold a changed name at once, with the registry
    settled once under the new rules (not loaded and settled again to apply what was just queued). Raises
    InfrastructureError when Elasticsearch fails (`newsetl reenrich --registry-changes` applies them later)."""
    store = store or Store.connect(settings)
    after, changed = queue_manual_decision(settings, before, store=store)
    return recanonicalise(store, lambda: load_registry(store).settle(load_entity_config(settings.entities_config)),
                          settled=after, own=change_ids(changed))


# Rounds of "read again, enrich again" for documents rewritten while they were being re-enriched.
CONFLICT_ROUNDS = 5


def refresh_stale(run: Run, *, source: Store) -> None:
    """Enrich the articles stored behind `source` whose document behind the run's store is missing or outdated.

    When `source` is the run's own index (reenrich, migrate's reindex mode), each write is conditional on the
    document being the version that was read: a document an ingest rewrote meanwhile is refused (409), read
    again and, unless its new version is already current, enriched again — at most CONFLICT_ROUNDS times, then
    it is reported and left for the next run. A re-enrichment never writes old text over new.
    """
    def counted(articles: Iterable[Article]) -> Iterator[Article]:
        for article in articles:
            run.report.seen += 1
            language = language_read_back(article.language, article.body, run.settings.default_language)
            yield article if language == article.language else dataclasses.replace(article, language=language)

    conditional = source.alias == run.store.alias
    versions = run.expected if conditional else None
    run.index(run.enrich(run.changed_only(counted(iter_indexed_articles(source, versions=versions)))))
    for _round in range(CONFLICT_ROUNDS):
        if not run.conflicts:
            return
        ids, run.conflicts = run.conflicts, []
        run.report.retried += len(ids)
        run.index(run.enrich(run.changed_only(reread_articles(run.store, ids, versions=run.expected))))
    for doc_id in run.conflicts:
        run.report.reject(Rejection(doc_id, "index", f"rewritten by another run {CONFLICT_ROUNDS + 1} times while "
                                                     f"it was re-enriched; left for the next reenrich"),
                          doc_id=doc_id)


def migrate(settings: Settings, *, rebuild: bool = False, keep_old: bool = False,
            store: Store | None = None) -> tuple[Migration, RunReport]:
    """`newsetl index migrate`: rebuild the index behind the alias under the current mapping and pipeline version.

    Default: server-side copy into the new index, then re-enrich only the documents whose pipeline version is
    outdated. `rebuild`: re-enrich every article from the stored clean text (when the copy itself would not fit
    the new mapping). Either way nothing is fetched from the sources again.
    """
    store = store or Store.connect(settings)
    LanguageModels(settings.nlp.models).check_installed()  # fail on a missing model before touching the index
    run = Run(settings, store, kind="migrate", partition="migrate")

    def fill(old_index: str, new_index: str) -> None:
        target = Run(settings, store.for_alias(new_index), kind="migrate", now=run.now)
        refresh_stale(target, source=store.for_alias(new_index if not rebuild else old_index))
        run.report.merge(target.report)
        if target.report.rejections:
            first = target.report.rejections[0]
            raise InfrastructureError(f"{target.report.rejected} article(s) could not be re-enriched (first: "
                                      f"{first['ref']}: {first['reason']})")

    migration = migrate_index(store, mode="rebuild" if rebuild else "reindex", now=run.now, fill=fill,
                              keep_old=keep_old)
    return migration, run.close()
