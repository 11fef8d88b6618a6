"""Faults: the cluster stopping, refusing or throttling, the process dying, the disk failing.

Each test states what the product promises: a loud failure within bounded time (so Airflow retries), and a
re-run that ends with every article indexed exactly once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from datetime import date
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.core.errors import InfrastructureError
from pipeline.index.embedded import ensure_embedded_server, free_port, stop_embedded_server
from pipeline.runners.core import Run
from pipeline.runners.staging import Staging
from pipeline.runners.stream import ingest
from pipeline.runners.tasks import collect_source, enrich_batch, index_batch, plan_batches, plan_run
from tests.conftest import REPO, make_settings, raw_client
from tests.faultproxy import Fault, FaultProxy, through, tuned

pytestmark = pytest.mark.integration

CITIES = ["Lyon", "Porto", "Gdansk", "Leeds", "Bergen", "Graz", "Turin", "Malmo", "Cork", "Ghent", "Brno", "Split"]


def write_articles(folder: Path, count: int = 12) -> list[Path]:
    """One small, distinct article per JSONL file (so progress callbacks fire per article)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        city = CITIES[i % len(CITIES)]
        record = {"id": f"a{i}", "title": f"{city} opens its new harbour bridge",
                  "published": "2019-06-25",
                  "text": f"The mayor of {city} opened a new bridge on Monday, article {i}, after years of works."}
        path = folder / f"{i:02d}.jsonl"
        path.write_text(json.dumps(record) + "\n")
        paths.append(path)
    return paths


def documents(client: Elasticsearch, alias: str) -> dict[str, dict]:
    client.indices.refresh(index=alias)
    hits = client.search(index=alias, size=1000, sort=["_doc"])["hits"]["hits"]
    return {h["_id"]: h["_source"] for h in hits}


# ---------------------------------------------------------------------------------------------------------------


def test_three_runs_of_a_partition_give_the_same_documents(es_settings, es_client, tmp_path):
    write_articles(tmp_path / "in")
    alias = es_settings.index.alias
    snapshots = []
    for _ in range(3):
        report = ingest([tmp_path / "in"], es_settings)
        assert report.rejected == 0
        snapshots.append(documents(es_client, alias))
    assert len(snapshots[0]) == 12
    assert snapshots[0] == snapshots[1] == snapshots[2]  # same ids, same content, same count


def test_throttled_and_unavailable_bulk_requests_are_retried_until_they_succeed(es_settings, es_url, tmp_path):
    write_articles(tmp_path / "in")

    def plan(method: str, path: str, count: int) -> Fault | None:
        if path.endswith("/_bulk"):
            if count < 2:
                return Fault(429)  # the whole request throttled
            if count < 4:
                return Fault(503, "unavailable_shards_exception")
        return None

    def rewrite(method: str, path: str, count: int, body: bytes) -> bytes:
        # The first bulk that gets through reports its first item as throttled (an item-level 429).
        if not path.endswith("/_bulk") or count != 4:
            return body
        response = json.loads(body)
        first = next(iter(response["items"][0].values()))
        first.update(status=429, error={"type": "es_rejected_execution_exception", "reason": "injected"})
        response["errors"] = True
        return json.dumps(response).encode()

    proxy = FaultProxy(es_url, plan=plan, rewrite=rewrite)
    settings = tuned(through(es_settings, proxy.start()), retry_seconds=30.0)
    try:
        report = ingest([tmp_path / "in"], settings)
    finally:
        proxy.stop()
    statuses = proxy.statuses("/_bulk")
    assert statuses[:4] == [429, 429, 503, 503]
    client = Elasticsearch(es_url)
    client.indices.refresh(index=f"{settings.index.alias}-entities")
    names = client.count(index=f"{settings.index.alias}-entities")["count"]
    # 3 chunks of 4, one re-sent item, the entity registry's names in chunks of 4, the ledger's 12 entries in 3
    # chunks of 4, the run report; every failure was retried, nothing lost or doubled.
    assert statuses.count(200) == 8 + -(-names // 4)
    assert (report.indexed, report.rejected) == (12, 0)
    assert len(documents(client, settings.index.alias)) == 12


def test_bulk_that_stays_unavailable_fails_the_run_after_the_retry_budget(es_settings, es_url, tmp_path):
    write_articles(tmp_path / "in", 4)
    proxy = FaultProxy(es_url, plan=lambda m, path, c: Fault(503) if path.endswith("/_bulk") else None)
    settings = tuned(through(es_settings, proxy.start()))
    try:
        with pytest.raises(InfrastructureError, match=r"writing to .* failed on .*HTTP 503"):
            ingest([tmp_path / "in"], settings)
    finally:
        proxy.stop()
    assert len(proxy.statuses("/_bulk")) >= 2  # retried with backoff before giving up


@pytest.fixture
def own_server(tmp_path):
    """A server of this test's own, which the test may stop and restart on the same port and data folder."""
    data_dir = Path(tempfile.mkdtemp(prefix="newsetl-es-fault-"))
    port = free_port()
    url = ensure_embedded_server(data_dir, port=port)
    yield data_dir, port, url
    stop_embedded_server(data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.mark.timeout(120)  # "fails within bounded time": a hang would trip this
def test_elasticsearch_stopping_mid_run_fails_loudly_and_a_rerun_completes(own_server, tmp_path, alias):
    data_dir, port, url = own_server
    files = write_articles(tmp_path / "in")
    settings = tuned(make_settings(tmp_path, url, alias))

    def stop_after_half(_read: int, _total: int | None) -> None:
        stop_after_half.files += 1
        if stop_after_half.files == 6:
            stop_embedded_server(data_dir)

    stop_after_half.files = 0
    with pytest.raises(InfrastructureError) as failure:
        ingest(files, settings, on_progress=stop_after_half)
    assert "failed" in str(failure.value) and "127.0.0.1" in str(failure.value)

    assert ensure_embedded_server(data_dir, port=port) == url  # the cluster is back
    report = ingest(files, settings)
    assert report.rejected == 0 and report.indexed + report.unchanged == 12
    docs = documents(Elasticsearch(url), alias)
    assert sorted(d["title"] for d in docs.values()) == sorted(json.loads(f.read_text())["title"] for f in files)


KILLER = textwrap.dedent("""
    import os, signal, sys
    from elasticsearch import Elasticsearch
    from pipeline.runners.stream import ingest
    from pipeline.core.settings import load_settings

    original, calls = Elasticsearch.bulk, []

    def bulk_then_die(self, *args, **kwargs):
        response = original(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 2:  # two batches are in the index: the process dies before the third
            os.kill(os.getpid(), signal.SIGKILL)
        return response

    Elasticsearch.bulk = bulk_then_die
    ingest([sys.argv[1]], load_settings(sys.argv[2]))
""")


def test_a_run_killed_between_batches_resumes_without_duplicates(es_settings, es_url, tmp_path):
    write_articles(tmp_path / "in")
    config = tmp_path / "config" / "settings.yml"
    config.parent.mkdir()
    config.write_text("index:\n  bulk_chunk_size: 4\n")
    env = {**os.environ, "ELASTICSEARCH_URL": es_url, "NEWSETL_INDEX_ALIAS": es_settings.index.alias,
           "NEWSETL_DATA_DIR": str(es_settings.data_dir), "NEWSETL_ENTITIES_CONFIG": str(es_settings.entities_config),
           "NEWSETL_PLACES_CONFIG": str(es_settings.places_config), "PYTHONPATH": str(REPO)}
    killed = subprocess.run([sys.executable, "-c", KILLER, str(tmp_path / "in"), str(config)], env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    client = Elasticsearch(es_url)
    assert len(documents(client, es_settings.index.alias)) == 8

    report = ingest([tmp_path / "in"], tuned(es_settings))
    assert (report.unchanged, report.indexed, report.rejected) == (8, 4, 0)  # resumed where it died
    assert len(documents(client, es_settings.index.alias)) == 12


# ---------------------------------------------------------------------------------------------------------------
# The local disk


def test_unwritable_data_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    settings = make_settings(tmp_path, None, "news").model_copy(update={"data_dir": blocker})
    with pytest.raises(InfrastructureError, match="cannot write .*not-a-folder"):
        plan_run(settings, Staging(settings.runs_dir), date(2019, 6, 25), date(2019, 6, 26))
    with pytest.raises(InfrastructureError, match="cannot create the embedded Elasticsearch data folder"):
        ensure_embedded_server(blocker / "es")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to simulate a full disk")
def test_full_disk_fails_the_stage_and_keeps_the_previous_output(tmp_path, es_url, alias):
    landing = tmp_path / "landing" / "2019-06-25"
    write_articles(landing, 3)
    settings = make_settings(tmp_path, es_url, alias)
    day = (date(2019, 6, 25), date(2019, 6, 26))
    staging = Staging(settings.runs_dir)
    collected = collect_source(settings, staging, "landing", *day)
    assert collected["articles"] == 3
    staged = settings.runs_dir / "2019-06-25" / "sources" / "landing" / "articles.jsonl"
    complete = staged.read_bytes()

    staged.with_name(staged.name + ".tmp").symlink_to("/dev/full")  # every write to the staging file: ENOSPC
    with pytest.raises(InfrastructureError, match="No space left on device"):
        collect_source(settings, staging, "landing", *day)
    assert staged.read_bytes() == complete  # the last good output is untouched
    assert not staged.with_name("collect.json").exists()  # and the source does not count as collected


# ---------------------------------------------------------------------------------------------------------------
# The DAG's enrich task writes to the index along with NER; the index task is its fallback


def _staged_batch(tmp_path: Path, es_url: str, alias: str):
    write_articles(tmp_path / "landing" / "2019-06-25", 3)
    settings = make_settings(tmp_path, es_url, alias)
    day = (date(2019, 6, 25), date(2019, 6, 26))
    staging = Staging(settings.runs_dir)
    plan_run(settings, staging, *day)
    collect_source(settings, staging, "landing", *day)
    (batch,) = plan_batches(settings, staging, *day)
    return settings, staging, day, batch, settings.runs_dir / "2019-06-25"


def test_the_enrich_task_indexes_its_batch_and_the_index_task_only_reports_it(tmp_path, es_url, alias):
    settings, staging, day, batch, part = _staged_batch(tmp_path, es_url, alias)
    enriched = enrich_batch(settings, staging, *day, batch)
    client = raw_client(settings)
    assert len(documents(client, alias)) == 3  # written before the index task ran
    assert index_batch(settings, staging, *day, enriched) == {"indexed": 3, "unchanged": 0, "rejected": 0}


def test_a_cluster_failing_during_the_enrich_task_leaves_the_batch_to_the_index_task(tmp_path, es_url, alias,
                                                                                      monkeypatch):
    settings, staging, day, batch, part = _staged_batch(tmp_path, es_url, alias)

    def refused(self, items):
        raise InfrastructureError("Elasticsearch unavailable")

    with monkeypatch.context() as patched:
        patched.setattr(Run, "index", refused)
        enriched = enrich_batch(settings, staging, *day, batch)
    assert len((part / enriched).read_text().splitlines()) == 3  # NER's work is staged all the same
    assert not (part / "batches" / "index-0001.json").exists()  # and the batch does not count as indexed
    assert index_batch(settings, staging, *day, enriched) == {"indexed": 3, "unchanged": 0, "rejected": 0}
    assert json.loads((part / "batches" / "index-0001.json").read_text())["indexed"] == 3
    assert len(documents(raw_client(settings), alias)) == 3


# ---------------------------------------------------------------------------------------------------------------
# A busy cluster on every write path: item-level 429s and whole requests refused now and then

CITY_WORDS = ["harbour", "bridge", "tram", "library", "stadium", "market", "museum", "school", "park", "station"]


def busy_cluster() -> FaultProxy:
    """A proxy in front of the test server that behaves like a loaded cluster: the first two items of every third
    bulk request come back 429 (the request itself succeeded), every seventh bulk request and every fifth search
    is refused whole with 429 or 503, and the first attempt to create any index meets a 503."""
    def plan(method: str, path: str, count: int) -> Fault | None:
        if path.endswith("/_bulk") and count % 7 == 6:
            return Fault(429 if count % 2 else 503)
        if path.endswith(("/_search", "/_mget")) and count % 5 == 4:
            return Fault(503, "unavailable_shards_exception")
        if method == "PUT" and path.count("/") == 1 and count == 0:  # PUT /<index>: creating an index
            return Fault(503, "unavailable_shards_exception")
        return None

    def rewrite(method: str, path: str, count: int, body: bytes) -> bytes:
        if not path.endswith("/_bulk") or count % 3 != 2:
            return body
        response = json.loads(body)
        throttled.extend(response["items"][:2])
        for item in response["items"][:2]:
            answer = next(iter(item.values()))
            answer.pop("result", None)
            answer.update(status=429, error={"type": "es_rejected_execution_exception",
                                             "reason": "rejected execution of coordinating operation (injected)"})
        response["errors"] = True
        return json.dumps(response).encode()

    throttled: list[dict] = []
    proxy = FaultProxy("", plan=plan, rewrite=rewrite)
    proxy.throttled = throttled  # the bulk items answered 429
    return proxy


def write_many(folder: Path, files: int = 30, per_file: int = 10) -> int:
    """`files` JSONL files of `per_file` distinct articles each, plus one file of two bad lines."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        lines = []
        for i in range(per_file):
            n = f * per_file + i
            city, thing = CITIES[n % len(CITIES)], CITY_WORDS[(n // len(CITIES)) % len(CITY_WORDS)]
            lines.append(json.dumps({"id": f"n{n}", "title": f"{city} opens its new {thing} number {n}",
                                     "published": "2019-06-25",
                                     "text": f"The mayor of {city} opened the new {thing} number {n} on Monday, "
                                             f"after {n % 9 + 2} years of works and a long public debate."}))
        (folder / f"{f:03d}.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "bad.jsonl").write_text('{"title": "no text"}\n{not json\n')
    return files * per_file


def ledger_and_index_agree(client: Elasticsearch, alias: str, articles: int) -> None:
    """Every unit is in the ledger once, every document it names exists, and every document is named once."""
    client.indices.refresh(index=[alias, f"{alias}-ledger"])
    entries = [hit["_source"] for hit in client.search(index=f"{alias}-ledger", size=1000)["hits"]["hits"]]
    named = [doc_id for entry in entries for doc_id in entry["doc_ids"]]
    stored = set(documents(client, alias))
    assert len(named) == len(set(named)) == len(stored) == articles
    assert set(named) == stored
    assert sorted(entry["outcome"] for entry in entries).count("indexed") == len(entries) - 1  # bad.jsonl: rejected


@pytest.mark.timeout(300)
def test_a_busy_cluster_loses_and_doubles_nothing_on_any_write_path(es_settings, es_url, tmp_path):
    from pipeline.index.store import Store
    from pipeline.runners.stream import migrate, reenrich, retry_quarantine
    from pipeline.runs.quarantine import list_quarantine
    from pipeline.search.query import SearchRequest, search

    articles = write_many(tmp_path / "in")
    proxy = busy_cluster()
    proxy.upstream = es_url
    settings = tuned(through(es_settings, proxy.start()), bulk_chunk_size=50, retry_seconds=20.0)
    client = Elasticsearch(es_url)
    alias = settings.index.alias
    try:
        report = ingest([tmp_path / "in"], settings)  # articles, ledger, quarantine, runs
        assert (report.indexed, report.rejected, report.quarantined) == (articles, 2, 2)
        ledger_and_index_agree(client, alias, articles)
        assert list_quarantine(Store.connect(settings))[0] == 2

        again = ingest([tmp_path / "in"], settings)  # the ledger is read back through the same faults
        assert (again.indexed, again.skipped, again.unchanged) == (0, 31, articles)

        rules = tmp_path / "entities.yml"
        rules.write_text((REPO / "config" / "entities.yml").read_text() + "\n# a new fingerprint\n")
        changed = settings.model_copy(update={"entities_config": rules})
        assert reenrich(changed).indexed == articles  # documents rewritten in place
        _migration, migrated = migrate(changed, rebuild=True)  # a new index, the alias swapped
        assert (migrated.indexed, migrated.rejected) == (articles, 0)
        assert retry_quarantine(changed).quarantined == 2  # the bad lines stay quarantined, once each
        assert search(Store.connect(changed), SearchRequest(query="mayor")).total == articles
    finally:
        proxy.stop()
    ledger_and_index_agree(client, alias, articles)
    statuses = proxy.statuses("/_bulk")
    # The faults did happen, on every kind of request, and were ridden out.
    assert len(proxy.throttled) >= 20 and statuses.count(429) + statuses.count(503) >= 5
    assert any(status == 503 for _method, path, status in proxy.seen if path.endswith(("/_search", "/_mget")))
    assert any(status == 503 for method, path, status in proxy.seen if method == "PUT")
    runs = client.search(index=f"{alias}-runs", size=50)["hits"]["hits"]
    assert sorted(hit["_source"]["kind"] for hit in runs) == ["ingest", "ingest", "migrate", "reenrich", "retry"]
