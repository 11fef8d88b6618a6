"""The news_watchlists DAG: scheduled on the index Asset, one mapped task per watchlist, and a dag.test() run that
alerts a local webhook receiver once."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, make_settings
from tests.dags.test_news_nightly import bundle_dagbag
from tests.integration.test_watchlists import ARTICLES, Receiver, write_jsonl

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def dagbag(airflow_db):
    return bundle_dagbag(known_pools={"default_pool", "newsetl_nlp", "newsetl_es"})


def test_the_dag_imports_cleanly_and_is_scheduled_on_the_index_asset(dagbag):
    assert dagbag.import_errors == {} and not dagbag.dag_warnings
    dag = dagbag.get_dag("news_watchlists")
    nightly = dagbag.get_dag("news_nightly")
    emitted = {asset.name for asset in nightly.get_task("index").outlets}
    assert emitted == {"newsetl_news_index"}
    assert {asset.name for asset in dag.timetable.asset_condition.objects} == emitted
    assert [t.task_id for t in dag.topological_sort()] == ["watchlists", "run"]
    assert dag.get_task("run").is_mapped  # one watchlist whose webhook is down fails alone
    assert dag.max_active_runs == 1 and dag.catchup is False
    assert all(task.retries >= 3 and task.retry_exponential_backoff for task in dag.tasks)


def test_the_dag_file_stays_thin():
    tree = ast.parse((REPO / "dags" / "news_watchlists.py").read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert modules <= {"__future__", "datetime", "airflow.sdk", "airflow.sdk.exceptions", "newsetl_common",
                       "pipeline.core.errors", "pipeline.search.notify", "pipeline.search.watchlists"}


def test_parsing_the_dag_file_does_not_load_the_pipeline(airflow_db):
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import news_watchlists; "
            "print(sorted(m for m in ('spacy', 'elasticsearch', 'pipeline.search.watchlists') "
            "if m in sys.modules))")
    parsed = subprocess.run([sys.executable, "-c", code, str(REPO / "dags")], capture_output=True, text=True,
                            check=False)
    assert parsed.returncode == 0, parsed.stderr[-2000:]
    assert parsed.stdout.strip() == "[]"


def test_a_dag_run_alerts_the_webhook_of_its_airflow_connection_once(airflow_db, tmp_path, es_url, alias,
                                                                    monkeypatch):
    from pipeline.runners.stream import ingest

    settings = make_settings(tmp_path, es_url, alias)
    ingest([write_jsonl(tmp_path / "night.jsonl", ARTICLES)], settings)
    config = tmp_path / "watchlists.yml"
    config.write_text("watchlists:\n"
                      "  - {name: s400, query: '\"S-400\"', filters: {place: Ankara},\n"
                      "     notify: [{kind: webhook, connection: desk_webhook}]}\n"
                      "  - {name: harbour, query: strike}\n")
    receiver = Receiver()
    try:
        # The webhook's URL is an Airflow connection (here defined by environment variable, as Airflow reads it).
        env = {"NEWSETL_DATA_DIR": settings.data_dir, "NEWSETL_INDEX_ALIAS": alias, "ELASTICSEARCH_URL": es_url,
               "NEWSETL_WATCHLISTS_CONFIG": config,
               "AIRFLOW_CONN_DESK_WEBHOOK": json.dumps({"conn_type": "http", "host": receiver.url})}
        for var, value in env.items():
            monkeypatch.setenv(var, str(value))
        dag = bundle_dagbag().get_dag("news_watchlists")
        run = dag.test()
        assert run.state == "success"
        assert [body["matches"] for body in receiver.bodies] == [2]
        results = {ti.map_index: ti.xcom_pull(task_ids="run", map_indexes=ti.map_index)
                   for ti in run.get_task_instances() if ti.task_id == "run"}
        assert sorted((r["watchlist"], r["new"]) for r in results.values()) == [("harbour", 1), ("s400", 2)]

        assert dag.test().state == "success"  # the asset updated again with nothing new: nobody alerted twice
        assert len(receiver.bodies) == 1
    finally:
        receiver.close()


def test_a_bad_watchlists_file_fails_the_dag_run_at_once(airflow_db, tmp_path, es_url, alias, monkeypatch):
    config = tmp_path / "watchlists.yml"
    config.write_text("watchlists:\n  - {name: s400, query: 'titel:x'}\n")
    for var, value in {"NEWSETL_DATA_DIR": tmp_path / "data", "NEWSETL_INDEX_ALIAS": alias,
                       "ELASTICSEARCH_URL": es_url, "NEWSETL_WATCHLISTS_CONFIG": config}.items():
        monkeypatch.setenv(var, str(value))
    run = bundle_dagbag().get_dag("news_watchlists").test()
    assert run.state == "failed"
    (listing,) = [ti for ti in run.get_task_instances() if ti.task_id == "watchlists"]
    assert (listing.state, listing.try_number) == ("failed", 1)  # no retries: retrying cannot fix a file
