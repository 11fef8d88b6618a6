"""The DAG file: it imports cleanly, is shaped as intended, and a dag.test() run indexes a day's partition."""

import ast
import importlib.util
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from tests.conftest import REPO, SEED, make_settings, raw_client

pytestmark = pytest.mark.airflow


def bundle_dagbag(**kwargs):
    """The DAG folder parsed as Airflow's dag-processor and `airflow dags test` parse it: as a bundle, whose folder is
    on sys.path (so the DAG files can share dags/newsetl_common.py)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=str(REPO / "dags"), bundle_path=REPO / "dags", **kwargs)


@pytest.fixture(scope="module")
def dagbag(airflow_db):
    return bundle_dagbag(known_pools={"default_pool", "newsetl_nlp", "newsetl_es"})


def test_dagbag_imports_without_errors_or_warnings(dagbag):
    assert dagbag.import_errors == {}
    assert not dagbag.dag_warnings
    assert {"news_nightly", "news_reenrich"} <= set(dagbag.dag_ids)


def test_dag_shape(dagbag):
    dag = dagbag.get_dag("news_nightly")
    assert [t.task_id for t in dag.topological_sort()][:5] == ["sources", "collect", "batches", "enrich", "index"]
    # finish and trends both follow the index tasks; recanonicalise follows finish (after the run has learnt).
    assert dag.get_task("index").downstream_task_ids == {"finish", "trends"}
    assert dag.get_task("finish").downstream_task_ids == {"recanonicalise"}
    assert {t.task_id for t in dag.leaves} == {"recanonicalise", "trends"}
    assert dag.get_task("trends").trigger_rule == "all_done"
    # Mapped over sources and over batches; NLP and bulk writes bounded by pools; the index is an Asset.
    assert {t.task_id for t in dag.tasks if t.is_mapped} == {"collect", "enrich", "index"}
    assert (dag.get_task("enrich").pool, dag.get_task("index").pool) == ("newsetl_nlp", "newsetl_es")
    assert [a.name for a in dag.get_task("index").outlets] == ["newsetl_news_index"]
    assert dag.get_task("batches").trigger_rule == "all_done"  # one failed source does not stop the others
    assert dag.get_task("finish").trigger_rule == "all_done"
    # registry changes reach the articles indexed before once the run has learnt; a failed finish keeps the run red
    assert dag.get_task("recanonicalise").trigger_rule == "all_success"
    assert dag.timetable.summary == "0 0 * * *"
    assert dag.max_active_runs == 1 and dag.catchup is False
    for task in dag.tasks:
        assert task.retries >= 3
        assert task.retry_exponential_backoff
    assert dag.get_task("index").retries == 5


@pytest.mark.parametrize(("name", "allowed"), [
    ("news_nightly.py", {"pipeline.runners", "pipeline.core.timestamps"}),
    ("news_reenrich.py", {"pipeline.runners", "pipeline.core.timestamps"}),
    ("newsetl_common.py", {"pipeline.collect.partitions", "pipeline.core.settings", "pipeline.runners.staging"}),
])
def test_dag_files_stay_thin(name, allowed):
    """A DAG only orchestrates: it imports Airflow, the shared helper and pipeline entry points, never NLP or ES
    libraries."""
    tree = ast.parse((REPO / "dags" / name).read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert modules <= {"__future__", "datetime", "pendulum", "airflow.sdk", "airflow.timetables.interval",
                       "airflow.sdk.exceptions", "newsetl_common"} | allowed


def test_parsing_the_dag_files_does_not_load_the_pipeline(airflow_db):
    """The dag-processor parses DAG files again and again: spaCy, SciPy and trafilatura load only in a task."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import news_nightly, news_reenrich; "
            "print(sorted(m for m in ('spacy', 'scipy', 'trafilatura', 'elasticsearch') if m in sys.modules))")
    parsed = subprocess.run([sys.executable, "-c", code, str(REPO / "dags")], capture_output=True, text=True,
                            check=False)
    assert parsed.returncode == 0, parsed.stderr[-2000:]
    assert parsed.stdout.strip() == "[]"


def test_the_shared_helper_is_not_parsed_as_a_dag():
    assert "newsetl_common.py" in (REPO / "dags" / ".airflowignore").read_text().split()


def test_tasks_take_elasticsearch_credentials_from_the_airflow_connection(monkeypatch, airflow_db):
    spec = importlib.util.spec_from_file_location("newsetl_common", REPO / "dags" / "newsetl_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    task_settings = module.task_settings

    monkeypatch.delenv("ELASTICSEARCH_URL", raising=False)
    assert task_settings().elasticsearch.embedded  # no connection: the environment decides
    secret = "c0nn-" + "pass"  # pragma: allowlist secret - a test value
    monkeypatch.setenv("AIRFLOW_CONN_NEWSETL_ELASTICSEARCH", json.dumps(
        {"conn_type": "elasticsearch", "host": "es.internal", "port": 9243, "schema": "https", "login": "etl",
         "password": secret, "extra": {"ca_certs": "/etc/ssl/news-ca.pem"}}))
    es = task_settings().elasticsearch
    assert (es.url, es.username, es.ca_certs, es.verify_certs) == ("https://es.internal:9243", "etl",
                                                                    "/etc/ssl/news-ca.pem", True)
    assert es.password.get_secret_value() == secret and secret not in repr(es)


def test_dag_run_indexes_only_its_partition(airflow_db, tmp_path, es_url, alias, monkeypatch):
    landing = tmp_path / "landing"
    (landing / "2019-06-25").mkdir(parents=True)
    (landing / "2019-06-26").mkdir()
    shutil.copy(SEED, landing / "2019-06-25" / "seed.txt")
    (landing / "2019-06-25" / "empty.txt").write_bytes(b"")
    (landing / "2019-06-26" / "next.txt").write_text("date 2019-06-26\nThe mayor of Lyon opened a bridge today.")
    settings = make_settings(tmp_path, es_url, alias, landing=landing)
    for var, value in {"NEWSETL_LANDING_DIR": landing, "NEWSETL_DATA_DIR": settings.data_dir,
                       "NEWSETL_INDEX_ALIAS": alias, "ELASTICSEARCH_URL": es_url}.items():
        monkeypatch.setenv(var, str(value))

    dag = bundle_dagbag().get_dag("news_nightly")
    run = dag.test(logical_date=datetime(2019, 6, 25, tzinfo=UTC))
    assert run.state == "success"

    report = json.loads((settings.runs_dir / "2019-06-25" / "report.json").read_text())
    assert (report["files"], report["indexed"], report["rejected"]) == (2, 1, 1)
    assert report["rejections"][0]["reason"] == "empty file"


    client = raw_client(settings)
    docs = client.search(index=alias)["hits"]["hits"]
    assert [d["_source"]["published_at"] for d in docs] == ["2019-06-25"]
    assert "Hulusi Akar" in docs[0]["_source"]["entities"]["person"]
    # Articles travel between tasks in the partition's work folder; XCom carries paths and counts only.
    assert "Hulusi Akar" in (settings.runs_dir / "2019-06-25" / "batches" / "enriched-0001.jsonl").read_text()
    for ti in run.get_task_instances():
        value = ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index)
        assert len(json.dumps(value)) < 2000, ti.task_id

    runs = client.search(index=f"{alias}-runs", size=20)["hits"]["hits"]
    stages = {hit["_source"]["stage"]: hit["_source"] for hit in runs}
    assert set(stages) == {"run", "collect", "enrich", "index"}
    assert all(doc["partition"] == "2019-06-25" and doc["kind"] == "nightly" for doc in stages.values())
    assert (stages["collect"]["seen"], stages["enrich"]["enriched"], stages["index"]["indexed"]) == (2, 1, 1)
    assert stages["run"]["indexed"] == 1 and stages["run"]["seconds"] > 0
    # The trends task ran for the run's day (one article has no baseline to rise against: no trend documents).
    (trends,) = [ti for ti in run.get_task_instances() if ti.task_id == "trends"]
    assert trends.xcom_pull(task_ids="trends", map_indexes=-1) == {"days": ["2019-06-25"], "trends": 0}
    assert client.indices.exists(index=f"{alias}-trends")

    # The empty file is quarantined with a reference to it.
    (failed,) = [hit["_source"] for hit in client.search(index=f"{alias}-quarantine")["hits"]["hits"]]
    assert (failed["stage"], failed["reason"], failed["source"]) == ("read", "empty file", "landing")
    assert failed["ref"].endswith("2019-06-25/empty.txt")

    # Re-running the same day, twice: the ledger knows both files, so neither is read again; nothing new to
    # enrich or write; same ids, same content, same count.
    for _ in range(2):
        rerun = dag.test(logical_date=datetime(2019, 6, 25, tzinfo=UTC))
        assert rerun.state == "success"
        report = json.loads((settings.runs_dir / "2019-06-25" / "report.json").read_text())
        assert (report["skipped"], report["seen"], report["enriched"], report["indexed"]) == (2, 0, 0, 0)
        assert report["unchanged"] == 1
        assert client.search(index=alias)["hits"]["hits"] == docs


def test_reenrich_dag_is_manual_only(dagbag):
    dag = dagbag.get_dag("news_reenrich")
    assert type(dag.timetable).__name__ == "NullTimetable"  # schedule=None: triggered by hand only
    assert [t.task_id for t in dag.tasks] == ["reenrich"]


def _use(monkeypatch, settings, es_url: str, **extra: str) -> None:
    """Point the DAG's tasks (which read the environment) at this test's folders, alias and server."""
    env = {"NEWSETL_LANDING_DIR": settings.landing_dir, "NEWSETL_DATA_DIR": settings.data_dir,
           "NEWSETL_INDEX_ALIAS": settings.index.alias, "ELASTICSEARCH_URL": es_url, **extra}
    for var, value in env.items():
        monkeypatch.setenv(var, str(value))


def test_a_multi_day_backfill_over_a_dated_landing_folder(airflow_db, tmp_path, es_url, alias, monkeypatch):
    """What `airflow backfill create --from-date 2019-06-24 --to-date 2019-06-26` runs: one run per day."""
    from tests.integration.test_sources import BRIDGE, article_html, write_warc

    landing = tmp_path / "landing"
    days = ["2019-06-24", "2019-06-25", "2019-06-26"]
    for number, day in enumerate(days):
        (landing / day).mkdir(parents=True)
        (landing / day / f"story-{number}.txt").write_text(
            f"date {day}\nThe mayor of Lyon opened bridge number {number} over the Rhone, officials said.")
    # A CC-NEWS-style WARC file dated by its name, in the landing root: it belongs to 2019-06-25.
    write_warc(landing / "CC-NEWS-20190625093000-00001.warc.gz",
               [("https://news.example/bridge", 200, "text/html", article_html("Lyon bridge", BRIDGE).encode())])
    settings = make_settings(tmp_path, es_url, alias, landing=landing)
    _use(monkeypatch, settings, es_url)
    dag = bundle_dagbag().get_dag("news_nightly")

    indexed = {}
    for day in days:
        run = dag.test(logical_date=datetime.fromisoformat(day).replace(tzinfo=UTC))
        assert run.state == "success", day
        indexed[day] = json.loads((settings.runs_dir / day / "report.json").read_text())["indexed"]
    assert indexed == {"2019-06-24": 1, "2019-06-25": 2, "2019-06-26": 1}  # each run read only its own day



    client = raw_client(settings)
    client.indices.refresh(index=alias)
    days_indexed = sorted(h["_source"]["input_ref"].split("/")[-2] if h["_source"]["input_ref"].endswith(".txt")
                          else "warc" for h in client.search(index=alias, size=10)["hits"]["hits"])
    assert days_indexed == ["2019-06-24", "2019-06-25", "2019-06-26", "warc"]

    # Re-running one day of the backfill reprocesses that day only, and finds nothing new in it.
    rerun = dag.test(logical_date=datetime(2019, 6, 25, tzinfo=UTC))
    assert rerun.state == "success"
    report = json.loads((settings.runs_dir / "2019-06-25" / "report.json").read_text())
    assert (report["files"], report["skipped"], report["indexed"], report["unchanged"]) == (0, 2, 0, 2)


def test_a_failing_source_fails_the_run_after_the_others_are_indexed(airflow_db, tmp_path, es_url, alias,
                                                                     monkeypatch):
    from tests.newsserver import NewsServer

    server = NewsServer().start()
    server.add("/feed.xml", fail_times=99, fail_status=404)
    landing = tmp_path / "landing"
    (landing / "2019-06-25").mkdir(parents=True)
    shutil.copy(SEED, landing / "2019-06-25" / "seed.txt")
    sources = tmp_path / "sources.yml"
    sources.write_text(f"sources:\n  - {{name: landing, kind: folder, location: {landing}}}\n"
                       f"  - {{name: broken-feed, kind: feed, location: '{server.url}/feed.xml'}}\n")
    settings = make_settings(tmp_path, es_url, alias, landing=landing)
    _use(monkeypatch, settings, es_url, NEWSETL_SOURCES_CONFIG=sources, NEWSETL_FETCH_DELAY="0")
    dag = bundle_dagbag().get_dag("news_nightly")
    # A live interval: the feed is only read for recent days.
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    (landing / today.date().isoformat()).mkdir()
    shutil.copy(SEED, landing / today.date().isoformat() / "seed.txt")
    try:
        run = dag.test(logical_date=today)
    finally:
        server.stop()
    assert run.state == "failed"  # red, so someone looks ...
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert states[("index", 0)] == "success" and states[("finish", -1)] == "failed"  # ... after the rest went in
    report = json.loads((settings.runs_dir / today.date().isoformat() / "report.json").read_text())
    assert report["indexed"] == 1
    assert report["sources"]["broken-feed"]["status"] == "failed"
    assert "HTTP 404" in report["sources"]["broken-feed"]["error"]


def test_a_backfill_of_an_archive_day_before_2019_indexes_it(airflow_db, tmp_path, es_url, alias, monkeypatch):
    """News archives are older than the DAG: a run for 2005-03-01 must process that day, not succeed empty."""
    landing = tmp_path / "landing"
    (landing / "2005-03-01").mkdir(parents=True)
    for n, city in enumerate(["Lyon", "Porto", "Gdansk"]):
        (landing / "2005-03-01" / f"story-{n}.txt").write_text(
            f"date 2005-03-01\nThe mayor of {city} opened a new tram line on Tuesday, officials said.")
    settings = make_settings(tmp_path, es_url, alias, landing=landing)
    _use(monkeypatch, settings, es_url)
    run = bundle_dagbag().get_dag("news_nightly").test(logical_date=datetime(2005, 3, 1, tzinfo=UTC))
    assert run.state == "success"
    assert {ti.task_id for ti in run.get_task_instances()} >= {"sources", "collect", "enrich", "index", "finish"}
    report = json.loads((settings.runs_dir / "2005-03-01" / "report.json").read_text())
    assert (report["seen"], report["indexed"]) == (3, 3)
    client = raw_client(settings)
    client.indices.refresh(index=alias)
    assert sorted(h["_source"]["published_at"] for h in client.search(index=alias)["hits"]["hits"]) == \
        ["2005-03-01"] * 3


def test_the_nightly_run_recanonicalises_articles_of_earlier_days(airflow_db, tmp_path, es_url, alias, monkeypatch):
    """Day 1 names a company by its short form only; day 2 names it in full. The second night's run learns that the
    short form stands for the company and rewrites day 1's article after indexing its own."""
    landing = tmp_path / "landing"
    stories = {"2019-06-24": "Ford said on Tuesday it would cut 500 jobs at its Michigan plant. Ford shares fell.",
               "2019-06-25": "Ford Motor Company (Ford) reported a higher quarterly profit on Wednesday. Ford Motor "
                             "Company said sales rose in Europe."}
    for day, text in stories.items():
        (landing / day).mkdir(parents=True)
        (landing / day / "story.txt").write_text(f"date {day}\n{text}")
    settings = make_settings(tmp_path, es_url, alias, landing=landing)
    _use(monkeypatch, settings, es_url)
    dag = bundle_dagbag().get_dag("news_nightly")
    client = raw_client(settings)

    def org_facets() -> dict[str, tuple[list[str], list[str]]]:
        client.indices.refresh(index=alias)
        return {h["_source"]["published_at"][:10]: (h["_source"]["entities"]["org"], h["_source"]["entities"]["org_id"])
                for h in client.search(index=alias, size=10)["hits"]["hits"]}

    assert dag.test(logical_date=datetime(2019, 6, 24, tzinfo=UTC)).state == "success"
    assert org_facets()["2019-06-24"][0] == ["Ford"]
    from pipeline.enrich.registry import Registry

    settles: list[str] = []
    settle = Registry.settle
    monkeypatch.setattr(Registry, "settle", lambda self, config=None: settles.append(sys._getframe(1).f_code.co_name)
                        or settle(self, config))
    run = dag.test(logical_date=datetime(2019, 6, 25, tzinfo=UTC))
    assert run.state == "success"
    # finish applied what the run taught with the registry it had just settled (before and after the run's counts;
    # `prepare` is the one enrich task's start state); the recanonicalise task found nothing left and settled nothing
    assert settles == ["prepare", "learn", "learn"]
    report = json.loads((settings.runs_dir / "2019-06-25" / "report.json").read_text())
    assert report["registry_changes"] >= 1 and report["recanonicalised"] >= 1
    (step,) = [ti for ti in run.get_task_instances() if ti.task_id == "recanonicalise"]
    assert step.state == "success" and step.xcom_pull(task_ids="recanonicalise")["changes"] == 0
    facets = org_facets()
    assert facets["2019-06-24"] == facets["2019-06-25"] == (["Ford Motor Company"], facets["2019-06-25"][1])


def test_a_finish_retried_after_the_registry_write_counts_the_run_once(airflow_db, tmp_path, es_url, alias,
                                                                       monkeypatch):
    """finish fails once after it wrote the registry (at the ledger); Airflow retries it in the same DAG run, with
    the same run id: the registry holds the run's counts once, as the first attempt left them."""
    from airflow.models.taskinstance import TaskInstance

    from pipeline.core.errors import InfrastructureError
    from pipeline.index.registry import load_registry
    from pipeline.index.store import Store
    from pipeline.runs.ledger import Ledger

    landing = tmp_path / "landing"
    (landing / "2019-06-25").mkdir(parents=True)
    shutil.copy(SEED, landing / "2019-06-25" / "seed.txt")
    settings = make_settings(tmp_path, es_url, alias, landing=landing)
    _use(monkeypatch, settings, es_url)
    commit, attempts = Ledger.commit, []

    def failing_once(self, *args, **kwargs):
        attempts.append({k: r.to_dict() for k, r in load_registry(Store.connect(settings)).records.items()})
        if len(attempts) == 1:
            raise InfrastructureError("search server went away at the ledger write")
        return commit(self, *args, **kwargs)

    monkeypatch.setattr(Ledger, "commit", failing_once)
    # The retry at once instead of after the DAG's 2-minute delay (dag.test() waits for it like a scheduler).
    monkeypatch.setattr(TaskInstance, "next_retry_datetime", lambda self: datetime.now(UTC))
    run = bundle_dagbag().get_dag("news_nightly").test(logical_date=datetime(2019, 6, 25, tzinfo=UTC))
    assert run.state == "success"
    (finish,) = [ti for ti in run.get_task_instances() if ti.task_id == "finish"]
    assert (finish.state, finish.try_number) == ("success", 2)
    first, retried = attempts
    assert first["hulusi akar"]["articles"] == 1  # the first attempt wrote the registry before it failed
    assert {k: r.to_dict() for k, r in load_registry(Store.connect(settings)).records.items()} == retried == first
