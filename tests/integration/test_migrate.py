"""`newsetl index migrate` against the local server: upgrade, searches during the swap, and failures mid-way."""

from __future__ import annotations

import json
import threading

import pytest

from pipeline.core.errors import InfrastructureError
from pipeline.index.lifecycle import index_status
from pipeline.index.mapping import MAPPING_VERSION, mappings, template_name
from pipeline.index.version import version_of
from pipeline.runners.stream import ingest, migrate
from pipeline.runs.history import RUNS_MAPPING_VERSION, runs_index, runs_mappings
from pipeline.search.query import SearchRequest, search
from tests.conftest import REPO
from tests.faultproxy import Fault, FaultProxy, through, tuned

pytestmark = pytest.mark.integration

SAMPLES = REPO / "samples" / "landing"
STORY_FIELDS = ("story_id", "story_bands", "story_signature")
PLACE_FIELDS = ("country", "country_code", "geonames_id")  # under `entities`, beside the top-level `geo`


def live_index(client, alias: str) -> str:
    return next(iter(client.indices.get_alias(name=alias)))


def indices_of(client, alias: str) -> set[str]:
    return {name for name in client.indices.get(index=f"{alias}-v*") if name.startswith(f"{alias}-v")}


def downgrade_to_v1(client, alias: str) -> str:
    """Leave the alias as newsetl 0.1.0 did: `<alias>-v1`, mapping v1 (no story fields), older pipeline version."""
    current = live_index(client, alias)
    client.indices.refresh(index=alias)
    docs = {h["_id"]: h["_source"] for h in client.search(index=alias, size=100)["hits"]["hits"]}
    v1 = mappings()
    v1["_meta"] = {"mapping_version": 1}
    for name in (*STORY_FIELDS, "geo"):
        del v1["properties"][name]
    for name in PLACE_FIELDS:
        del v1["properties"]["entities"]["properties"][name]
    # Before v4: English analysis without sub-fields, facets without their `.folded` filter field.
    for name in ("title", "body"):
        v1["properties"][name] = {"type": "text", "analyzer": "english"}
    for spec in [v1["properties"]["source"], v1["properties"]["language"], v1["properties"]["enrichment"],
                 *v1["properties"]["entities"]["properties"].values()]:
        spec.pop("fields", None)
    client.indices.delete_index_template(name=template_name(alias))
    client.indices.create(index=f"{alias}-v1", mappings=v1)
    for doc_id, source in docs.items():
        old = {k: v for k, v in source.items() if k not in (*STORY_FIELDS, "geo")}
        old["entities"] = {k: v for k, v in source["entities"].items() if k not in PLACE_FIELDS}
        old["pipeline_version"] = "newsetl-0.1.0/" + source["pipeline_version"].split("/", 1)[1]
        old["content_hash"] = f"hash-by-0.1.0-{doc_id}"  # the old version's hash covered its own version
        client.index(index=f"{alias}-v1", id=doc_id, document=old)
    client.indices.refresh(index=f"{alias}-v1")
    client.indices.update_aliases(actions=[{"remove": {"index": current, "alias": alias}},
                                           {"add": {"index": f"{alias}-v1", "alias": alias}}])
    client.indices.delete(index=current)
    return f"{alias}-v1"


@pytest.fixture
def indexed(es_settings, es_client, es_store):
    """The bundled samples (5 articles) indexed behind the test alias."""
    assert ingest([SAMPLES], es_settings).indexed == 5
    return es_settings, es_client, es_store


def test_migrate_upgrades_an_old_index_and_swaps_the_alias(indexed):
    settings, client, store = indexed
    alias = store.alias
    old = downgrade_to_v1(client, alias)
    with pytest.raises(InfrastructureError, match="newsetl index migrate"):
        ingest([SAMPLES], settings)  # this version refuses to write into a v1 index
    status = index_status(store, version_of(settings))
    assert (status["index"], status["mapping_version"], status["outdated_documents"], status["migrate"]) == \
        (old, 1, 5, True)

    migration, report = migrate(settings, store=store)

    new = live_index(client, alias)
    assert new == migration.new_index and new.startswith(f"{alias}-v{MAPPING_VERSION}-")
    assert indices_of(client, alias) == {new}  # the old index is gone
    assert (migration.old_count, migration.new_count, migration.copied) == (5, 5, 5)
    assert (report.seen, report.enriched, report.indexed, report.rejected) == (5, 5, 5, 0)
    docs = [h["_source"] for h in client.search(index=alias, size=100)["hits"]["hits"]]
    assert {d["pipeline_version"] for d in docs} == {version_of(settings)}
    assert all(d["story_id"] for d in docs)
    # the places of the new mapping are filled: countries with their codes, one point per resolved place
    assert any(d["geo"] for d in docs) and all(len(d["geo"]) == len(d["entities"]["geonames_id"]) for d in docs)
    assert any("TR" in d["entities"]["country_code"] for d in docs)
    after = index_status(store, version_of(settings))
    assert (after["mapping_version"], after["outdated_documents"], after["migrate"]) == (MAPPING_VERSION, 0, False)
    again = ingest([SAMPLES], settings)  # the nightly run writes again, into the new index
    assert (again.unchanged, again.indexed) == (5, 0)
    # The copied documents have the v4 sub-fields: filters ignore case, phrases and acronyms use the new analysis.
    person = next(p for d in docs for p in d["entities"]["person"])
    assert search(store, SearchRequest(filters={"person": (person.upper(),)})).total >= 1
    word = docs[0]["title"].split()[0]
    assert search(store, SearchRequest(query=f"title:{word.lower()}")).total >= 1


def test_migrate_rebuild_re_enriches_every_article_and_can_keep_the_old_index(indexed):
    settings, client, store = indexed
    alias = store.alias
    old = live_index(client, alias)
    migration, report = migrate(settings, rebuild=True, keep_old=True, store=store)
    assert (migration.mode, migration.copied, report.enriched, migration.new_count) == ("rebuild", 0, 5, 5)
    assert indices_of(client, alias) == {old, migration.new_index}
    assert live_index(client, alias) == migration.new_index
    assert client.indices.get_settings(index=old)[old]["settings"]["index"]["blocks"]["write"] in (True, "true")


def test_searches_keep_working_while_the_index_is_migrated(indexed):
    settings, _client, store = indexed
    totals: list[int] = []
    errors: list[Exception] = []
    done = threading.Event()

    def keep_searching() -> None:
        while not done.is_set():
            try:
                totals.append(search(store, SearchRequest(query="the", size=1)).total)
            except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
                errors.append(exc)

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        migrate(settings, rebuild=True, store=store)
    finally:
        done.set()
        searcher.join()
    assert not errors
    assert len(totals) > 3 and len(set(totals)) == 1  # the same answer before, during and after the swap


def test_a_reindex_that_fails_mid_copy_leaves_the_alias_and_deletes_the_partial_index(indexed, es_url):
    settings, client, store = indexed
    alias = store.alias
    old = live_index(client, alias)

    def partial_copy(method, path, count, data):  # the server copied the documents; report two as failed
        if not path.endswith("/_reindex"):
            return data
        body = json.loads(data)
        body["failures"] = [{"index": "x", "id": "a", "status": 503,
                             "cause": {"type": "es_rejected_execution_exception", "reason": "injected"}}] * 2
        return json.dumps(body).encode()

    proxy = FaultProxy(es_url, rewrite=partial_copy)
    try:
        with pytest.raises(InfrastructureError, match=f"still points at '{old}'.*2 document"):
            migrate(tuned(through(settings, proxy.start())))
    finally:
        proxy.stop()
    assert 200 in proxy.statuses("/_reindex")  # the copy did run, and did write into the new index
    assert live_index(client, alias) == old
    assert indices_of(client, alias) == {old}
    assert search(store, SearchRequest()).total == 5
    assert ingest([SAMPLES], settings).unchanged == 5  # the write block is lifted again


def test_a_failure_while_re_enriching_leaves_the_alias_and_deletes_the_partial_index(indexed, es_url):
    settings, client, store = indexed
    alias = store.alias
    old = live_index(client, alias)

    def second_bulk_fails(method, path, count):  # the first chunk reaches the new index, then it stays down
        return Fault(503) if path.endswith("/_bulk") and count >= 1 else None

    proxy = FaultProxy(es_url, plan=second_bulk_fails)
    try:
        with pytest.raises(InfrastructureError, match=f"still points at '{old}'"):
            migrate(tuned(through(settings, proxy.start()), bulk_chunk_size=2, retry_seconds=0.5), rebuild=True)
    finally:
        proxy.stop()
    assert proxy.statuses("/_bulk")[:2] == [200, 503]
    assert live_index(client, alias) == old
    assert indices_of(client, alias) == {old}
    assert search(store, SearchRequest()).total == 5


def test_writes_during_a_migration_fail_loudly_instead_of_being_lost(indexed, tmp_path):
    settings, client, store = indexed
    alias = store.alias
    changed = tmp_path / "changed.jsonl"
    changed.write_text('{"id": "late", "title": "Late news", "text": "Officials in Oslo met on Monday."}\n')
    client.indices.put_settings(index=live_index(client, alias), settings={"index.blocks.write": True})
    try:
        with pytest.raises(InfrastructureError, match="refuses writes"):
            ingest([changed], tuned(settings))
    finally:
        client.indices.put_settings(index=live_index(client, alias), settings={"index.blocks.write": None})
    assert ingest([changed], settings).indexed == 1


def test_an_older_runs_index_gains_the_new_fields_in_place(es_settings, es_client):
    old = runs_mappings()
    old["_meta"] = {"mapping_version": 0}
    del old["properties"]["duplicates"], old["properties"]["warned"]
    index = runs_index(es_settings.index.alias)
    es_client.indices.create(index=index, mappings=old)
    es_client.index(index=index, id="earlier:run", document={"run_id": "earlier", "stage": "run", "seen": 3},
                    refresh=True)

    report = ingest([SAMPLES], es_settings)  # records its run, with `duplicates` and `warned`

    assert report.indexed == 5
    mapping = es_client.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["_meta"]["mapping_version"] == RUNS_MAPPING_VERSION
    assert {"duplicates", "warned"} <= set(mapping["properties"])
    assert es_client.count(index=index)["count"] == 2  # the earlier report kept, the new one added


def test_a_runs_index_from_a_newer_newsetl_is_refused(es_settings, es_client):
    newer = runs_mappings()
    newer["_meta"] = {"mapping_version": RUNS_MAPPING_VERSION + 1}
    es_client.indices.create(index=runs_index(es_settings.index.alias), mappings=newer)
    with pytest.raises(InfrastructureError, match="upgrade newsetl"):
        ingest([SAMPLES], es_settings)
