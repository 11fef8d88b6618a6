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
from pipeline.runners.staging import Staging
from pipeline.runners.stream import ingest
from pipeline.runners.tasks import collect_source, plan_run
from tests.conftest import REPO, make_settings
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
    # 3 chunks of 4, one re-sent item, the ledger's 12 entries in 3 chunks of 4, the run report; every failure
    # was retried, nothing lost or doubled.
    assert statuses.count(200) == 8
    assert (report.indexed, report.rejected) == (12, 0)
    client = Elasticsearch(es_url)
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

    def stop_after_half(_n: int) -> None:
        stop_after_half.files += 1
        if stop_after_half.files == 6:
            stop_embedded_server(data_dir)

    stop_after_half.files = 0
    with pytest.raises(InfrastructureError) as failure:
        ingest(files, settings, on_file=stop_after_half)
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
           "PYTHONPATH": str(REPO)}
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
