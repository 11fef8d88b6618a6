"""The entity registry in the index: one run teaches it, the next run resolves against it; manual decisions win."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.cli.main import main
from pipeline.enrich.entities import load_entity_config
from pipeline.enrich.registry import NameRecord, Registry
from pipeline.index.recanon import changes_index, record_changes
from pipeline.index.registry import entities_index, learn_records, load_registry
from pipeline.runners.stream import apply_registry_changes, ingest
from tests.conftest import drop_alias

pytestmark = pytest.mark.integration

# Two articles that name one man in full, a third that names him by surname only.
FIRST = [
    {"id": "a1", "title": "Talks", "text": "Defence minister Kemal Ardahan met envoys in Ankara. Kemal Ardahan said "
                                           "talks would go on.", "published": "2019-06-24"},
    {"id": "a2", "title": "Visit", "text": "Kemal Ardahan flew to Brussels on Monday, where Kemal Ardahan met "
                                           "officials.", "published": "2019-06-24"},
]
SECOND = [{"id": "b1", "title": "Budget", "text": "The budget is fixed, Ardahan told reporters on Tuesday. "
                                                 "Ardahan spoke in Ankara.", "published": "2019-06-25"}]


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def facet(client, alias: str, title: str, name: str = "person") -> tuple[list[str], list[str]]:
    """A facet (names and ids) of the document with this title."""
    client.indices.refresh(index=alias)
    (doc,) = [h["_source"] for h in client.search(index=alias, size=20)["hits"]["hits"]
              if h["_source"]["title"] == title]
    return doc["entities"][name], doc["entities"][f"{name}_id"]


def persons(client, alias: str, title: str) -> tuple[list[str], list[str]]:
    return facet(client, alias, title)


def orgs(client, alias: str, title: str) -> tuple[list[str], list[str]]:
    return facet(client, alias, title, "org")


NATO_RULES = "# kept\naliases:\n  NATO: [North Atlantic Treaty Organization]\n"


def cli_with_rules(settings, tmp_path, monkeypatch, text: str):
    """Point the `newsetl` CLI at the test's server and alias, with `text` as its config/entities.yml; the file."""
    rules = tmp_path / "entities.yml"
    rules.write_text(text, encoding="utf-8")
    for key, value in [("ELASTICSEARCH_URL", str(settings.elasticsearch.url)),
                       ("NEWSETL_INDEX_ALIAS", settings.index.alias), ("NEWSETL_ENTITIES_CONFIG", str(rules)),
                       ("NEWSETL_DATA_DIR", str(tmp_path / "data"))]:
        monkeypatch.setenv(key, value)
    return rules


def test_a_later_run_resolves_short_forms_against_what_earlier_runs_learnt(es_settings, es_client, es_store,
                                                                           tmp_path):
    assert ingest([write(tmp_path / "first.jsonl", FIRST)], es_settings).indexed == 2
    learnt = load_registry(es_store)
    assert learnt.records["kemal ardahan"].articles == 2  # one count per article, however often it is named
    assert es_client.count(index=entities_index(es_settings.index.alias))["count"] == len(learnt.records)

    assert ingest([write(tmp_path / "second.jsonl", SECOND)], es_settings).indexed == 1
    names, ids = persons(es_client, es_settings.index.alias, "Budget")
    first_names, first_ids = persons(es_client, es_settings.index.alias, "Visit")
    assert names == first_names == ["Kemal Ardahan"]
    assert ids == first_ids
    assert load_registry(es_store).records["ardahan"].articles == 1


def test_entities_cli_shows_why_and_writes_manual_decisions(es_settings, tmp_path, capsys, monkeypatch):
    ingest([write(tmp_path / "first.jsonl", FIRST)], es_settings)
    ingest([write(tmp_path / "second.jsonl", SECOND)], es_settings)
    rules = cli_with_rules(es_settings, tmp_path, monkeypatch, NATO_RULES)

    assert main(["entities", "show", "Ardahan", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["name"], shown["label"]) == ("Kemal Ardahan", "PERSON")
    assert "short form of 'Kemal Ardahan'" in shown["why"]["ardahan"]

    assert main(["entities", "list", "--label", "PERSON", "--json"]) == 0
    assert [e["name"] for e in json.loads(capsys.readouterr().out)] == ["Kemal Ardahan"]

    # merges the registry cannot vouch for are refused, naming why, and write nothing
    for names, why in [(["Ardahan", "ardahan"], "into itself"), (["Kemal Ardhan", "Kemal Ardahan"], "no entity"),
                       (["Ankara", "Kemal Ardahan"], "one real entity has one label")]:
        assert main(["entities", "merge", *names]) == 2
        assert why in capsys.readouterr().err
        assert rules.read_text(encoding="utf-8").endswith("[North Atlantic Treaty Organization]\n")

    # so is a split of a name the registry does not know (a typo), unless forced
    assert main(["entities", "split", "Nobody"]) == 2
    assert "no entity named 'Nobody' in the registry" in capsys.readouterr().err
    assert rules.read_text(encoding="utf-8").endswith("[North Atlantic Treaty Organization]\n")

    assert main(["entities", "split", "Ardahan"]) == 0
    assert main(["entities", "merge", "N.A.T.O.", "NATO", "--force"]) == 0  # not in these articles: forced
    capsys.readouterr()
    text = rules.read_text(encoding="utf-8")
    assert text.startswith("# kept\n") and "Organization, N.A.T.O.]" in text and "distinct:\n  - Ardahan\n" in text
    assert main(["entities", "show", "Ardahan", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "Ardahan"  # the split wins over learning

    # a merge that would carry other configured names with it is refused, naming them, and leaves the file as it was
    assert main(["entities", "merge", "NATO", "United Nations", "--force"]) == 2
    assert "'NATO' has configured spellings of its own" in capsys.readouterr().err
    assert rules.read_text(encoding="utf-8") == text
    assert main(["entities", "show"]) == 2


# A nationality word of the demonym tables, in an article that names its country and in one that does not.
TURKISH = [{"id": "t1", "title": "Drills", "text": "Turkish troops held drills near Izmir on Monday. Turkey said the "
                                                 "drills would end on Friday.", "published": "2019-06-24"},
           {"id": "t2", "title": "Lira", "text": "Turkish banks raised rates on Tuesday, bankers in Istanbul said.",
            "published": "2019-06-25"}]


def test_a_nationality_word_has_one_id_in_the_registry_and_in_the_articles(es_settings, es_client, tmp_path,
                                                                          capsys, monkeypatch):
    ingest([write(tmp_path / "turkish.jsonl", TURKISH)], es_settings)
    cli_with_rules(es_settings, tmp_path, monkeypatch, "# none\n")
    stored = {title: dict(zip(*facet(es_client, es_settings.index.alias, title, "norp"), strict=True))
              for title in ("Drills", "Lira")}
    assert stored["Drills"]["Turkish"] == stored["Lira"]["Turkish"]
    assert main(["entities", "list", "--label", "NORP", "--json"]) == 0
    listed = {e["name"]: e["id"] for e in json.loads(capsys.readouterr().out)}
    assert main(["entities", "show", "Turkish", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["id"]
    assert listed["Turkish"] == shown == stored["Drills"]["Turkish"]


# A company named by its short form alone; a later article names it in full and defines the short form.
SHORT = [{"id": "f1", "title": "Jobs", "text": "Ford said on Tuesday it would cut 500 jobs at its Michigan plant. "
                                              "Ford shares fell 2 percent.", "published": "2019-06-24"}]
FULL = [{"id": "f2", "title": "Profit", "text": "Ford Motor Company (Ford) reported a higher quarterly profit on "
                                               "Wednesday. Ford Motor Company said sales rose in Europe.",
         "published": "2019-06-25"}]


def test_articles_indexed_before_the_registry_learnt_a_merge_are_recanonicalised(es_settings, es_client, es_store,
                                                                                 tmp_path):
    alias = es_settings.index.alias
    ingest([write(tmp_path / "short.jsonl", SHORT)], es_settings)
    assert orgs(es_client, alias, "Jobs")[0] == ["Ford"]

    report = ingest([write(tmp_path / "full.jsonl", FULL)], es_settings)
    # The second run taught the registry that "Ford" stands for the one company of that name it knows, and
    # rewrote the article indexed the day before: its facet now holds the company's canonical name and id.
    assert report.registry_changes >= 1 and report.recanonicalised >= 1
    jobs, profit = orgs(es_client, alias, "Jobs"), orgs(es_client, alias, "Profit")
    assert jobs[0] == profit[0] == ["Ford Motor Company"]
    assert jobs[1] == profit[1]
    # The change was applied once: nothing is pending, and applying again rewrites nothing.
    assert es_client.count(index=changes_index(alias))["count"] == 0
    again = apply_registry_changes(es_settings, store=es_store)
    assert (again.changes, again.rewritten) == (0, 0)
    # The article keeps its own names, so a later split can give "Ford" back its own value.
    stored = es_client.search(index=alias, size=20)["hits"]["hits"]
    (jobs_doc,) = [h["_source"] for h in stored if h["_source"]["title"] == "Jobs"]
    assert {n["name"] for n in jobs_doc["entity_names"] if n["label"] == "ORG"} == {"Ford"}


def test_a_manual_split_is_applied_to_indexed_articles(es_settings, es_client, tmp_path, capsys, monkeypatch):
    alias = es_settings.index.alias
    ingest([write(tmp_path / "short.jsonl", SHORT)], es_settings)
    ingest([write(tmp_path / "full.jsonl", FULL)], es_settings)
    cli_with_rules(es_settings, tmp_path, monkeypatch, "aliases: {}\n")
    assert main(["entities", "split", "Ford"]) == 0
    assert "indexed articles updated: 2 of 2" in capsys.readouterr().out
    assert orgs(es_client, alias, "Jobs")[0] == ["Ford"]
    assert orgs(es_client, alias, "Profit")[0] == ["Ford Motor Company", "Ford"]
    # nothing left to apply by hand
    assert main(["reenrich", "--registry-changes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"changes": 0, "candidates": 0, "rewritten": 0, "conflicts": 0,
                                                   "pending": 0}


# An economist named twice in one article: an entity of its own, a person like Kemal Ardahan of FIRST.
LIRA = [{"id": "s1", "title": "Lira", "text": "\"Any sign that Washington will delay sanctions would help the lira,\" "
                                            "said Selin Aydin, an economist in Istanbul. Selin Aydin expects a cut "
                                            "in interest rates.", "published": "2019-06-25"}]


def test_a_split_after_a_merge_undoes_it_and_a_merge_after_a_split_redoes_it(es_settings, es_client, tmp_path,
                                                                              capsys, monkeypatch):
    alias = es_settings.index.alias
    ingest([write(tmp_path / "first.jsonl", FIRST), write(tmp_path / "lira.jsonl", LIRA)], es_settings)
    rules = cli_with_rules(es_settings, tmp_path, monkeypatch, NATO_RULES)

    def facets() -> dict[str, tuple[list[str], list[str]]]:
        return {title: persons(es_client, alias, title) for title in ("Talks", "Visit", "Lira")}

    own = facets()
    assert own["Lira"][0] == ["Selin Aydin"] and own["Talks"][0] == ["Kemal Ardahan"]
    merged = {**own, "Lira": own["Talks"]}  # name and id of the entity it joined
    nato = {"north atlantic treaty organization": "NATO"}
    steps = [  # (command, facets after it, configured variants, distinct keys)
        (["merge", "Selin Aydin", "Kemal Ardahan"], merged, {**nato, "selin aydin": "Kemal Ardahan"}, set()),
        (["split", "Selin Aydin"], own, nato, {"selin aydin"}),
        (["merge", "Selin Aydin", "Kemal Ardahan"], merged, {**nato, "selin aydin": "Kemal Ardahan"}, set()),
        (["split", "Selin Aydin"], own, nato, {"selin aydin"}),
    ]
    for command, expected, aliases, distinct in steps:
        assert main(["entities", *command]) == 0
        assert facets() == expected, command
        config = load_entity_config(rules)  # the file holds the last decision only
        assert ({k: v for k, v in config.aliases.items() if k != v.casefold()}, set(config.distinct)) == \
            (aliases, distinct), command
    assert "no longer a spelling of 'Kemal Ardahan'" in capsys.readouterr().out

    assert main(["entities", "show", "Selin Aydin", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["name"], shown["names"]) == ("Selin Aydin", ["selin aydin"])
    # Nothing is left pending, and re-enriching every article under the final rules gives the same facets.
    assert main(["reenrich", "--registry-changes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["changes"] == 0
    assert main(["reenrich", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["indexed"] == 3
    assert facets() == own


def counted_settles(monkeypatch) -> list[str]:
    """From now on, every `Registry.settle` call, named by the function that made it (a lambda: `<lambda>`)."""
    calls: list[str] = []
    settle = Registry.settle

    def counting(self, config=None):
        calls.append(sys._getframe(1).f_code.co_name)
        return settle(self, config)

    monkeypatch.setattr(Registry, "settle", counting)
    return calls


# (case, a change some other run left pending, the settles of the run that learns "Ford" is "Ford Motor Company")
SETTLES = [
    # the start state (prepare), before and after the run's counts (learn); its own changes are applied with
    # learn's "after": the same registry is not loaded and settled a second time
    ("only this run's changes", False, ["prepare", "learn", "learn"]),
    # a change another run left was taught by counts this run may not hold: the registry is read again
    ("a change left by another run", True, ["prepare", "learn", "learn", "<lambda>"]),
]


@pytest.mark.parametrize(("case", "foreign", "settles"), SETTLES, ids=[s[0] for s in SETTLES])
def test_a_run_settles_the_registry_once_after_learning(es_settings, es_client, es_store, tmp_path, monkeypatch,
                                                        case, foreign, settles):
    alias = es_settings.index.alias
    ingest([write(tmp_path / "short.jsonl", SHORT)], es_settings)
    if foreign:
        record_changes(es_store, {"ankara": {"ankara"}}, now=datetime(2019, 6, 24, tzinfo=UTC))
    calls = counted_settles(monkeypatch)
    report = ingest([write(tmp_path / "full.jsonl", FULL)], es_settings)
    assert calls == settles
    assert report.registry_changes >= 1 and report.recanonicalised >= 1
    assert orgs(es_client, alias, "Jobs") == orgs(es_client, alias, "Profit")  # applied all the same
    assert es_client.count(index=changes_index(alias))["count"] == 0


def test_a_manual_decision_settles_the_registry_once_per_rules(es_settings, es_client, tmp_path, capsys,
                                                               monkeypatch):
    alias = es_settings.index.alias
    ingest([write(tmp_path / "short.jsonl", SHORT)], es_settings)
    ingest([write(tmp_path / "full.jsonl", FULL)], es_settings)
    cli_with_rules(es_settings, tmp_path, monkeypatch, "aliases:\n")
    calls = counted_settles(monkeypatch)
    assert main(["entities", "split", "Ford"]) == 0
    assert "indexed articles updated: 2 of 2" in capsys.readouterr().out
    # the check that the registry knows the name (as for a merge), then the registry under the rules before and
    # after the split; what that queued is applied with the "after"
    assert calls == ["split_refusal", "queue_manual_decision", "queue_manual_decision"]
    assert orgs(es_client, alias, "Jobs")[0] == ["Ford"]


def test_finish_leaves_what_elasticsearch_refused_to_the_recanonicalise_task(es_settings, es_client, es_store,
                                                                             tmp_path, monkeypatch):
    from datetime import date

    from pipeline.core.errors import InfrastructureError
    from pipeline.runners import core, tasks
    from pipeline.runners.staging import Staging

    ingest([write(tmp_path / "short.jsonl", SHORT)], es_settings)
    record_changes(es_store, {"ankara": {"ankara"}}, now=datetime(2019, 6, 24, tzinfo=UTC))

    def refused(*_args, **_kwargs):
        raise InfrastructureError("search server refused the update")

    monkeypatch.setattr(core, "recanonicalise", refused)
    day = date(2019, 6, 25)
    report = tasks.finish_run(es_settings, Staging.from_settings(es_settings), day, day + timedelta(days=1))
    assert [w["stage"] for w in report.warnings] == ["recanonicalise"]
    assert "left for the recanonicalise task: search server refused" in report.warnings[0]["message"]
    assert es_client.count(index=changes_index(es_settings.index.alias))["count"] == 1  # still queued
    monkeypatch.undo()
    assert tasks.recanonicalise(es_settings)["changes"] == 1
    assert es_client.count(index=changes_index(es_settings.index.alias))["count"] == 0


def test_a_decision_not_applied_at_once_is_applied_by_the_next_run(es_settings, es_client, tmp_path, capsys,
                                                                   monkeypatch):
    alias = es_settings.index.alias
    ingest([write(tmp_path / "short.jsonl", SHORT)], es_settings)
    ingest([write(tmp_path / "full.jsonl", FULL)], es_settings)
    rules = cli_with_rules(es_settings, tmp_path, monkeypatch, "aliases:\n")
    assert main(["entities", "split", "Ford", "--no-apply"]) == 0
    assert "changed name(s) queued; the next run" in capsys.readouterr().out
    assert orgs(es_client, alias, "Jobs")[0] == ["Ford Motor Company"]  # not yet
    # the next run, about something else, rewrites them
    report = ingest([write(tmp_path / "first.jsonl", FIRST)], es_settings.model_copy(
        update={"entities_config": rules}))
    assert report.recanonicalised == 2
    assert orgs(es_client, alias, "Jobs")[0] == ["Ford"]
    assert orgs(es_client, alias, "Profit")[0] == ["Ford Motor Company", "Ford"]


# ---------------------------------------------------------------------------------------------------------------
# Learning is idempotent per run: a finish that fails after the registry write and is retried counts once

STORIES = {"ardahan.txt": "Defence minister Kemal Ardahan met envoys in Ankara. Kemal Ardahan said talks would go on.",
           "visit.txt": "Kemal Ardahan flew to Brussels on Monday, where Ardahan met officials of Ford Motor Company."}


def staged_day(settings, staging, day):
    """A nightly partition run task by task up to `finish` (as the DAG's tasks run it), its stories in the landing
    folder."""
    from pipeline.runners import tasks

    folder = settings.landing_dir / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in STORIES.items():
        (folder / name).write_text(f"date {day.isoformat()}\n{text}", encoding="utf-8")
    end = day + timedelta(days=1)
    for name in tasks.plan_run(settings, staging, day, end):
        tasks.collect_source(settings, staging, name, day, end)
    for batch in tasks.plan_batches(settings, staging, day, end):
        tasks.index_batch(settings, staging, day, end, tasks.enrich_batch(settings, staging, day, end, batch))
    return end


def counts(store) -> dict[str, dict]:
    return {key: record.to_dict() for key, record in load_registry(store).records.items()}


# (case, the call that fails once, after the registry write, and its n-th call)
FAILING_FINISH = [
    ("the ledger write", "pipeline.runs.ledger:Ledger.commit", 1),
    ("queueing the registry changes", "pipeline.runners.core:record_changes", 1),
    ("the quarantine write", "pipeline.runners.core:update_quarantine", 1),
]


@pytest.mark.parametrize(("case", "point", "nth"), FAILING_FINISH, ids=[c[0] for c in FAILING_FINISH])
def test_a_retried_finish_counts_the_run_once(es_settings, es_url, es_store, tmp_path, monkeypatch, case, point,
                                              nth):
    import importlib
    from datetime import date

    from pipeline.core.errors import InfrastructureError
    from pipeline.runners import tasks
    from pipeline.runners.staging import Staging

    day = date(2019, 6, 25)
    # The clean run: another alias, the same stories.
    clean_settings = es_settings.model_copy(update={"index": es_settings.index.model_copy(
        update={"alias": es_settings.index.alias + "-clean"})})
    clean_staging = Staging.from_settings(clean_settings.model_copy(update={"data_dir": tmp_path / "clean"}))
    try:
        end = staged_day(clean_settings, clean_staging, day)
        tasks.finish_run(clean_settings, clean_staging, day, end, run_id="nightly:clean")
        clean = counts(es_store.for_alias(clean_settings.index.alias))
    finally:
        drop_alias(es_url, clean_settings.index.alias)
    assert clean["kemal ardahan"]["articles"] == 2

    staging = Staging.from_settings(es_settings)
    staged_day(es_settings, staging, day)
    module_name, _, attr = point.partition(":")
    owner = importlib.import_module(module_name)
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    original, calls = getattr(owner, name), []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == nth:
            raise InfrastructureError(f"search server went away ({case})")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)
    with pytest.raises(InfrastructureError, match="went away"):
        tasks.finish_run(es_settings, staging, day, end, run_id="nightly:scheduled__2019-06-25")
    monkeypatch.undo()
    assert counts(es_store)["kemal ardahan"]["articles"] == 2  # the registry write went through before the failure
    # Airflow retries the task: same run id, same staged partition.
    tasks.finish_run(es_settings, staging, day, end, run_id="nightly:scheduled__2019-06-25")
    assert counts(es_store) == clean


def name(key: str, articles: int, label: str = "PERSON") -> NameRecord:
    return NameRecord(key, Counter({key.title(): articles}), Counter({label: articles}), articles)


EARLIER = [name("kemal ardahan", 3), name("ankara", 2, "GPE")]
RUN = [name("kemal ardahan", 2), name("ardahan", 1), name("ankara", 1, "GPE")]


# (case, the keys of RUN an earlier attempt of the run had written before it died)
ATTEMPTS = [
    ("first attempt", []),
    ("after a partial bulk write", ["ardahan"]),
    ("after the whole write", ["kemal ardahan", "ardahan", "ankara"]),
]


@pytest.mark.parametrize(("case", "written"), ATTEMPTS, ids=[a[0] for a in ATTEMPTS])
def test_learning_counts_a_run_once_whatever_its_earlier_attempt_wrote(es_store, case, written):
    now = datetime(2019, 6, 25, tzinfo=UTC)
    learn_records(es_store, Registry(EARLIER), run_id="nightly:earlier", now=now - timedelta(days=1))
    if written:
        learn_records(es_store, Registry(r for r in RUN if r.key in written), run_id="nightly:this", now=now)
    learnt = learn_records(es_store, Registry(RUN), run_id="nightly:this", now=now)

    expected = Registry(EARLIER)
    for record in RUN:
        expected.add(record)
    assert load_registry(es_store).records == expected.records
    assert learnt.after.records == expected.records
    assert learnt.before.records == Registry(EARLIER).records  # what a clean run found, so it queues the same
    assert (learnt.written, learnt.counted) == (len(RUN) - len(written), sorted(written))


def test_two_runs_learning_at_once_both_count(es_store, monkeypatch):
    """Run A reads the registry, run B writes its counts, then A writes: A's conditional write is refused, A reads
    the records again and adds its counts to B's instead of writing over them."""
    from pipeline.index.store import Store

    now = datetime(2019, 6, 25, tzinfo=UTC)
    learn_records(es_store, Registry(EARLIER), run_id="nightly:earlier", now=now)
    bulk, interleaved = Store.bulk, []

    def other_run_first(self, actions, **kwargs):
        if not interleaved:
            interleaved.append(1)
            monkeypatch.setattr(Store, "bulk", bulk)  # B runs plainly
            learn_records(es_store, Registry(RUN), run_id="ingest:b", now=now)
            monkeypatch.setattr(Store, "bulk", other_run_first)
        return bulk(self, actions, **kwargs)

    monkeypatch.setattr(Store, "bulk", other_run_first)
    learnt = learn_records(es_store, Registry(RUN), run_id="ingest:a", now=now)
    assert load_registry(es_store).records["kemal ardahan"].articles == 3 + 2 + 2
    assert load_registry(es_store).records["ardahan"].articles == 1 + 1  # created by B, added to by A
    assert learnt.written == len(RUN)


# (case, the registry index as an earlier or later newsetl left it, what learning does)
INDEX_VERSIONS = [
    ("version 1: runs added in place, counts kept", 1, None),
    ("version 3: refused", 3, "newer than this newsetl's 2"),
]


@pytest.mark.parametrize(("case", "version", "refused"), INDEX_VERSIONS, ids=[v[0] for v in INDEX_VERSIONS])
def test_learning_upgrades_a_version_1_registry_and_refuses_a_newer_one(es_store, es_client, case, version, refused):
    from pipeline.core.errors import InfrastructureError
    from pipeline.index.registry import record_id, registry_mappings

    index = entities_index(es_store.alias)
    mappings = registry_mappings()
    properties = {k: v for k, v in mappings["properties"].items() if k != "runs" or version > 1}
    es_client.indices.create(index=index, mappings={**mappings, "properties": properties,
                                                    "_meta": {"mapping_version": version}})
    es_client.index(index=index, id=record_id("ankara"), document=EARLIER[1].to_dict(), refresh=True)
    now = datetime(2019, 6, 25, tzinfo=UTC)
    if refused:
        with pytest.raises(InfrastructureError, match=refused):
            learn_records(es_store, Registry(RUN), run_id="nightly:this", now=now)
        return
    learn_records(es_store, Registry(RUN), run_id="nightly:this", now=now)
    assert load_registry(es_store).records["ankara"].articles == 2 + 1
    assert es_client.indices.get_mapping(index=index)[index]["mappings"]["_meta"]["mapping_version"] == 2


# (case, days between a run's first attempt and its retry, with another run writing the records just before the
# retry, the times the run is counted)
MEMORY = [
    ("retried the next day", 1, 1),
    ("retried 29 days later", 29, 1),
    ("retried 31 days later: forgotten, counted again", 31, 2),
]


@pytest.mark.parametrize(("case", "days", "times"), MEMORY, ids=[m[0] for m in MEMORY])
def test_a_record_remembers_the_runs_it_counted_for_30_days(es_store, case, days, times):
    start = datetime(2019, 6, 25, tzinfo=UTC)
    learn_records(es_store, Registry(RUN), run_id="nightly:this", now=start)
    learn_records(es_store, Registry(EARLIER), run_id="nightly:other", now=start + timedelta(days=days))
    learn_records(es_store, Registry(RUN), run_id="nightly:this", now=start + timedelta(days=days))
    # "ankara" was written by the other run in between, which forgets runs older than 30 days; "ardahan" was not
    assert load_registry(es_store).records["ankara"].articles == 2 + times
    assert load_registry(es_store).records["ardahan"].articles == 1
