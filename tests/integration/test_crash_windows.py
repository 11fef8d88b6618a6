"""Crash windows and concurrency: a process killed between two bookkeeping writes, two runs at once, a
re-enrichment racing an ingest. Each test kills or interleaves at a named point and then checks what an operator
would see: nothing lost, nothing doubled, nothing stale written over something newer.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from pipeline.index.store import Store, WritesBlocked
from pipeline.runners.stream import ingest
from pipeline.runs.quarantine import list_quarantine
from tests.conftest import raw_client
from tests.killpoints import run_killed

pytestmark = pytest.mark.integration

TOWNS = ["Lyon", "Porto", "Gdansk", "Leeds", "Bergen", "Graz", "Turin", "Malmo"]


def article(n: int, *, text: str | None = None) -> dict:
    """A small distinct article (id `a<n>`)."""
    town = TOWNS[n % len(TOWNS)]
    return {"id": f"a{n}", "title": f"{town} opens a harbour bridge, number {n}", "published": "2019-06-25",
            "text": text or f"The mayor of {town} opened harbour bridge number {n} on Monday after {n + 2} years "
                            f"of works, a long public debate and two changes of contractor."}


def write_jsonl(path: Path, records: list[dict], bad_lines: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r) for r in records] + [f"{{not json, bad line {i}" for i in range(bad_lines)]
    path.write_text("\n".join(lines) + "\n")
    return path


def ledger_entries(settings) -> dict[str, dict]:
    client = raw_client(settings)
    index = f"{settings.index.alias}-ledger"
    if not client.indices.exists(index=index):
        return {}
    client.indices.refresh(index=index)
    return {hit["_source"]["key"]: hit["_source"] for hit in client.search(index=index, size=100)["hits"]["hits"]}


def stored(settings) -> dict[str, dict]:
    client = raw_client(settings)
    client.indices.refresh(index=settings.index.alias)
    return {hit["_id"]: hit["_source"] for hit in client.search(index=settings.index.alias, size=1000)["hits"]["hits"]}


# ---------------------------------------------------------------------------------------------------------------
# Quarantine and ledger: a unit is never marked done before its failures are recorded


@pytest.mark.parametrize(("point", "when"), [
    ("pipeline.runners.core:update_quarantine", "before"),  # nothing recorded yet
    ("pipeline.runners.core:update_quarantine", "after"),   # failures recorded, the file not yet done
    ("pipeline.runs.ledger:Ledger.commit", "after"),         # both written, the run not yet recorded
])
def test_a_kill_around_the_quarantine_and_ledger_writes_loses_no_failure(es_settings, tmp_path, point, when):
    folder = tmp_path / "in"
    write_jsonl(folder / "wire.jsonl", [article(n) for n in range(4)], bad_lines=3)
    run_killed(point, ["ingest", str(folder)], es_settings, when=when)

    entries = ledger_entries(es_settings)
    total, _ = list_quarantine(Store.connect(es_settings))
    # Whatever the kill point: a file the ledger calls done has its 3 bad lines in the quarantine.
    assert total == 3 or not entries, (total, entries)

    report = ingest([folder], es_settings)
    total, quarantined = list_quarantine(Store.connect(es_settings))
    assert total == 3 and len({q["ref"] for q in quarantined}) == 3
    assert ledger_entries(es_settings)[str(folder / "wire.jsonl")]["outcome"] == "indexed"
    assert len(stored(es_settings)) == 4
    assert report.rejected == (3 if not entries else 0)


# ---------------------------------------------------------------------------------------------------------------
# Re-enrichment racing an ingest: derived data never replaces newer source data


def test_reenrich_never_writes_old_text_over_text_an_ingest_changed_meanwhile(es_settings, tmp_path, monkeypatch):
    import pipeline.runners.core as core
    from pipeline.index.version import version_of
    from pipeline.runners.stream import reenrich
    from tests.integration.test_reenrich import rules

    first, second = tmp_path / "v1", tmp_path / "v2"
    write_jsonl(first / "wire.jsonl", [article(n) for n in range(6)])
    changed_text = {n: f"Correction: the bridge in {TOWNS[n % 8]} number {n} stays closed until the inspectors of "
                       f"the port authority sign off the welds, the council said on Tuesday." for n in range(6)}
    write_jsonl(second / "wire.jsonl", [article(n, text=changed_text[n]) for n in range(6)])
    assert ingest([first], es_settings).indexed == 6

    new_rules = es_settings.model_copy(update={"entities_config": rules(tmp_path, "entities.yml", "Zyxwv")})
    original = core.enrich_articles
    raced = []

    def read_then_ingest_then_enrich(nlp, articles, **kwargs):
        articles = list(articles)  # reenrich has read every stored article ...
        if not raced:  # ... when an ingest (still on the old rules) writes new text for all of them
            raced.append(None)
            raced[0] = ingest([second], es_settings).indexed
        return original(nlp, articles, **kwargs)

    monkeypatch.setattr(core, "enrich_articles", read_then_ingest_then_enrich)
    report = reenrich(new_rules)
    assert raced == [6]

    docs = stored(es_settings)
    assert sorted(doc["body"] for doc in docs.values()) == sorted(changed_text.values())  # nothing reverted
    assert {doc["pipeline_version"] for doc in docs.values()} == {version_of(new_rules)}  # and all re-enriched
    assert (report.retried, report.indexed, report.rejected) == (6, 6, 0)
    monkeypatch.undo()
    again = ingest([second], new_rules)
    assert (again.unchanged, again.indexed) == (6, 0)  # what reenrich wrote is what this text gives


# ---------------------------------------------------------------------------------------------------------------
# A killed migration: its lease expires, status shows what it left, recover (or the next run) clears it


def killed_migration(es_settings, tmp_path, lease_seconds: float) -> dict:
    """Ingest 4 articles, then `index migrate --rebuild` killed while it fills the new index; returns the index
    status seen right after the kill."""
    from pipeline.index.lifecycle import index_status
    from pipeline.index.version import version_of

    write_jsonl(tmp_path / "in" / "wire.jsonl", [article(n) for n in range(4)])
    assert ingest([tmp_path / "in"], es_settings).indexed == 4
    config = tmp_path / "settings.yml"
    config.write_text(f"index:\n  migration_lease_seconds: {lease_seconds}\n")
    run_killed("pipeline.runners.stream:refresh_stale", ["index", "migrate", "--rebuild"], es_settings,
               config=config)
    return index_status(Store.connect(es_settings), version_of(es_settings))


def test_a_killed_migration_shows_its_lease_block_and_partial_index_and_recover_clears_them(es_settings, tmp_path,
                                                                                            capsys):
    from pipeline.cli.main import main

    status = killed_migration(es_settings, tmp_path, lease_seconds=3600)
    lease = status["lease"]
    assert status["write_blocked"] and lease and not lease["stale"]
    assert lease["new_index"] in status["other_indices"] and lease["old_index"] == status["index"]
    with pytest.raises(WritesBlocked, match="migration .* is running"):  # a live lease is respected
        ingest([tmp_path / "in"], es_settings)

    store = Store.connect(es_settings)
    env = {"ELASTICSEARCH_URL": str(es_settings.elasticsearch.url), "NEWSETL_INDEX_ALIAS": es_settings.index.alias}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        assert main(["index", "status"]) == 0
        shown = capsys.readouterr().out
        assert "writes blocked" in shown and "partial index" in shown and "up to date" not in shown
        assert main(["index", "recover"]) == 1  # live lease: refused without --force
        assert "is running" in capsys.readouterr().err
        assert main(["index", "recover", "--force"]) == 0  # the operator knows its holder is dead
        shown = capsys.readouterr().out
        assert f"deleted the partial index {lease['new_index']}" in shown and "lifted the write block" in shown

    assert not store.writes_blocked(status["index"]) and not store.exists(lease["new_index"])
    assert store.alias_target() == status["index"] and store.count() == 4
    write_jsonl(tmp_path / "in" / "more.jsonl", [article(9)])
    assert ingest([tmp_path / "in"], es_settings).indexed == 1  # writable again


def test_the_next_run_clears_a_killed_migration_once_its_lease_expired(es_settings, tmp_path):
    import time

    from pipeline.index.lifecycle import lease_expired, recover

    status = killed_migration(es_settings, tmp_path, lease_seconds=1)
    lease = status["lease"]
    expiry = datetime.fromisoformat(lease["expires_at"]).timestamp()
    with pytest.raises(WritesBlocked):  # just before the expiry the lease still holds
        recover(Store.connect(es_settings), now=expiry - 0.001)
    while not lease_expired(lease):  # the holder is dead; its lease runs out on its own
        time.sleep(0.2)
    write_jsonl(tmp_path / "in" / "more.jsonl", [article(9)])
    report = ingest([tmp_path / "in"], es_settings)
    assert (report.indexed, report.skipped) == (1, 1)
    store = Store.connect(es_settings)
    assert not store.exists(lease["new_index"]) and store.count() == 5
    assert not store.writes_blocked(status["index"])


# ---------------------------------------------------------------------------------------------------------------
# Deletions: an article whose file disappeared stays searchable unless the run prunes


def test_ingest_prune_removes_the_articles_of_files_gone_from_their_folder(es_settings, tmp_path, capsys):
    from pipeline.cli.main import main

    folder = tmp_path / "in"
    write_jsonl(folder / "kept.jsonl", [article(0), article(1)])
    write_jsonl(folder / "gone.jsonl", [article(2), article(3), article(1)], bad_lines=1)  # a1: also in kept
    write_jsonl(tmp_path / "elsewhere" / "gone.jsonl", [article(4)])  # another folder of the same source name
    first = ingest([folder, tmp_path / "elsewhere"], es_settings)
    assert (first.indexed, first.quarantined) == (5, 1)

    (folder / "gone.jsonl").unlink()
    (tmp_path / "elsewhere" / "gone.jsonl").unlink()
    kept = ingest([folder], es_settings)  # the default keeps what was indexed
    assert kept.pruned == 0 and len(stored(es_settings)) == 5

    env = {"ELASTICSEARCH_URL": str(es_settings.elasticsearch.url), "NEWSETL_INDEX_ALIAS": es_settings.index.alias,
           "NEWSETL_DATA_DIR": str(es_settings.data_dir)}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        assert main(["ingest", str(folder), "--prune", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # a2 and a3 went with their file; a1 is still in kept.jsonl; a4's folder was not part of this run.
    assert report["pruned"] == 2 and report["released"] == 1
    titles = sorted(doc["title"] for doc in stored(es_settings).values())
    assert titles == sorted(article(n)["title"] for n in (0, 1, 4))
    assert str(folder / "gone.jsonl") not in ledger_entries(es_settings)
    assert list_quarantine(Store.connect(es_settings))[0] == 0
    assert ingest([folder], es_settings, prune=True).pruned == 0  # nothing left to prune


# ---------------------------------------------------------------------------------------------------------------
# The embedded server saves on a tick: a run reports success only once its writes are on disk


def test_an_embedded_server_killed_right_after_a_run_keeps_everything_the_run_reported(tmp_path, alias):
    import os
    import shutil
    import signal
    import tempfile

    from pipeline.index.embedded import ensure_embedded_server, stop_embedded_server
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, None, alias)
    assert settings.elasticsearch.embedded
    data_dir = Path(tempfile.mkdtemp(prefix="newsetl-es-durable-"))
    settings = settings.model_copy(update={"data_dir": data_dir})
    write_jsonl(tmp_path / "in" / "wire.jsonl", [article(n) for n in range(8)], bad_lines=2)
    try:
        report = ingest([tmp_path / "in"], settings)
        assert (report.indexed, report.quarantined) == (8, 2)
        control = json.loads((settings.embedded_es_dir / "noida.control.json").read_text())
        os.kill(control["pid"], signal.SIGKILL)  # the moment the run has reported, the server dies

        ensure_embedded_server(settings.embedded_es_dir)
        store = Store.connect(settings)
        store.refresh([alias, f"{alias}-ledger", f"{alias}-quarantine", f"{alias}-runs"])
        assert store.count() == 8
        assert store.count(f"{alias}-ledger") == 1 and store.count(f"{alias}-quarantine") == 2
        assert store.count(f"{alias}-runs") == 1  # even the run's own record
    finally:
        stop_embedded_server(settings.embedded_es_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------
# Stories: two runs at once over copies, and an article whose text changed


SUBJECTS = ["ferry line", "tram depot", "grain silo", "rail bridge", "fish market", "lighthouse", "dry dock",
            "cable car", "ice rink", "bus station", "water tower", "concert hall"]
VERBS = ["confirmed", "denied", "announced", "postponed", "celebrated", "questioned", "approved", "cancelled",
         "reviewed", "praised", "criticised", "delayed"]
REASONS = ["storm damage to the quay", "a dispute with the crews' union", "rising steel prices",
           "a lawsuit by residents", "a shortage of welders", "new safety rules from the ministry",
           "a flooded basement", "an archaeological find", "a missing permit", "an unexpected budget surplus",
           "a fire in the workshop", "protests by fishermen"]


def copies(prefix: str, count: int) -> list[dict]:
    """`count` unrelated stories, each long enough to fingerprint; ids `<prefix><n>`, the same text per n."""
    return [{"id": f"{prefix}{n}", "title": f"Copy {prefix}{n}", "published": "2019-06-25",
             "text": f"Officials in {TOWNS[n % 8]} {VERBS[n]} on Monday that the {SUBJECTS[n]} project would "
                     f"change course because of {REASONS[n]}. The {SUBJECTS[n]} had been {VERBS[(n + 5) % 12]} "
                     f"by the mayor, and {REASONS[(n + 7) % 12]} made matters worse for the {SUBJECTS[(n + 3) % 12]} "
                     f"as well."} for n in range(count)]


def stories_of(settings) -> dict[str, str]:
    return {doc_id: doc["story_id"] for doc_id, doc in stored(settings).items()}


def test_two_runs_writing_copies_at_once_group_every_pair(es_settings, tmp_path, monkeypatch):
    import threading

    import pipeline.index.articles as articles
    import pipeline.runners.core as core

    pairs = 12
    write_jsonl(tmp_path / "a" / "wire.jsonl", copies("a", pairs))
    write_jsonl(tmp_path / "b" / "wire.jsonl", copies("b", pairs))
    write_jsonl(tmp_path / "first" / "x.jsonl", [article(0)])
    settings = es_settings.model_copy(update={"nlp": es_settings.nlp.model_copy(update={"processes": 1})})
    ingest([tmp_path / "first"], settings)  # the index exists before the two runs race

    # Each run has chosen its stories from what is stored before either writes: the window the DAG's parallel
    # index tasks hit every night. NER itself runs one run at a time (one model object in this process).
    enrich_lock, both_chose = threading.Lock(), threading.Barrier(2, timeout=300)
    original_enrich, original_stories = core.enrich_articles, articles._add_stories

    def one_at_a_time(nlp, items, **kwargs):
        with enrich_lock:
            return iter(list(original_enrich(nlp, items, **kwargs)))

    def choose_then_wait(store, docs, **kwargs):
        original_stories(store, docs, **kwargs)
        both_chose.wait()

    monkeypatch.setattr(core, "enrich_articles", one_at_a_time)
    monkeypatch.setattr(articles, "_add_stories", choose_then_wait)
    reports, errors = [], []

    def run(folder: Path) -> None:
        try:
            reports.append(ingest([folder], settings))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(tmp_path / name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and [r.indexed for r in reports] == [pairs, pairs]

    stories = stories_of(settings)
    by_title = {doc["title"]: doc_id for doc_id, doc in stored(settings).items()}
    grouped = sum(stories[by_title[f"Copy a{n}"]] == stories[by_title[f"Copy b{n}"]] for n in range(pairs))
    assert grouped == pairs
    assert len({stories[by_title[f"Copy a{n}"]] for n in range(pairs)}) == pairs  # and no two stories merged


def test_an_article_whose_text_changed_leaves_its_old_story(es_settings, tmp_path):
    original, copy = copies("a", 1)[0], {**copies("a", 1)[0], "id": "copy-of-a0", "title": "Copy of a0"}
    write_jsonl(tmp_path / "in" / "wire.jsonl", [original, copy])
    ingest([tmp_path / "in"], es_settings)
    before = {doc["title"]: doc["story_id"] for doc in stored(es_settings).values()}
    assert before["Copy a0"] == before["Copy of a0"]

    unrelated = {**original, "text": "The city council of Graz voted on Thursday to extend the opening hours of "
                                     "its public libraries to Sunday afternoons, starting with the main library "
                                     "on the river bank and two branches in the suburbs next spring."}
    write_jsonl(tmp_path / "in" / "wire.jsonl", [unrelated, copy])
    ingest([tmp_path / "in"], es_settings)
    after = {doc["title"]: doc["story_id"] for doc in stored(es_settings).values()}
    assert after["Copy a0"] != after["Copy of a0"]  # the changed article left the story
    assert after["Copy of a0"] == before["Copy of a0"]  # which the copy keeps

    write_jsonl(tmp_path / "later" / "wire.jsonl", [{**original, "id": "second-copy", "title": "Second copy"}])
    ingest([tmp_path / "later"], es_settings)
    later = {doc["title"]: doc["story_id"] for doc in stored(es_settings).values()}
    assert later["Second copy"] == later["Copy of a0"]  # a new copy of the old text joins the old story


# ---------------------------------------------------------------------------------------------------------------
# Entity registry: an ingest killed after it learnt, run again, counts its articles once


@pytest.mark.parametrize("point", [
    "pipeline.runners.core:record_changes",   # counts written, the changes they make not queued yet
    "pipeline.runners.core:update_quarantine",
    "pipeline.runs.ledger:Ledger.commit",
])
def test_an_ingest_killed_after_learning_and_run_again_counts_its_articles_once(es_settings, es_url, tmp_path, point):
    from pipeline.index.registry import load_registry
    from tests.conftest import drop_alias

    folder = tmp_path / "in"
    write_jsonl(folder / "wire.jsonl", [article(n) for n in range(4)])
    clean_alias = es_settings.index.alias + "-clean"
    try:
        ingest([folder], es_settings.model_copy(update={"index": es_settings.index.model_copy(
            update={"alias": clean_alias})}))
        clean = load_registry(Store.connect(es_settings).for_alias(clean_alias)).records
    finally:
        drop_alias(es_url, clean_alias)
    assert clean["lyon"].articles == 1

    run_killed(point, ["ingest", str(folder)], es_settings, when="before")
    assert load_registry(Store.connect(es_settings)).records == clean  # learnt before the kill
    report = ingest([folder], es_settings)
    # The articles are found indexed and unchanged: nothing is enriched, so nothing is learnt a second time.
    assert (report.unchanged, report.enriched) == (4, 0)
    assert load_registry(Store.connect(es_settings)).records == clean
