"""news_nightly: every night, the landing folder's files of the day -> clean -> enrich -> Elasticsearch.

Thin on purpose: each task calls one function of pipeline.run and passes only paths and counts through XCom.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Connection, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.timetables.interval import CronDataIntervalTimetable

from pipeline import run
from pipeline.settings import settings_for_task

DEFAULT_ARGS = {
    "owner": "newsetl",
    "retries": 3,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=30),
    # The outer bound on a task that keeps retrying a barely-answering cluster inside one attempt.
    "execution_timeout": timedelta(hours=2),
}


def task_settings():
    """Settings for a task: the Elasticsearch Airflow connection when it is defined, else the environment."""
    return settings_for_task(Connection.get, AirflowNotFoundException)


@dag(
    dag_id="news_nightly",
    # One run per UTC day, after the day has closed; its data interval is that day.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2019, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(hours=6),
    tags=["news", "etl"],
    doc_md=__doc__,
)
def news_nightly():
    @task
    def discover() -> dict:
        """Landing files of this run's partition."""
        ctx = get_current_context()
        start, end = run.partition_window(ctx["logical_date"], ctx.get("data_interval_start"),
                                          ctx.get("data_interval_end"))
        return run.discover(task_settings(), start, end)

    @task
    def clean(found: dict) -> dict:
        """Read and clean the files into the partition's articles.jsonl."""
        return run.clean_stage(task_settings(), found["files"], found["workdir"])

    @task(execution_timeout=timedelta(hours=3))
    def enrich(found: dict, cleaned: dict) -> dict:
        """Entities and dates with spaCy; the model is loaded once for the whole partition."""
        return run.enrich_stage(task_settings(), found["workdir"])

    @task(retries=5)
    def index(found: dict, enriched: dict) -> dict:
        """Bulk-index into the alias; fails (and is retried) if Elasticsearch is unavailable."""
        return run.index_stage(task_settings(), found["workdir"])

    @task
    def report(found: dict, cleaned: dict, enriched: dict, indexed: dict) -> dict:
        """Write report.json for the partition, record the run in the runs index, return its counts."""
        run_id = f"nightly:{get_current_context()['run_id']}"
        summary = run.publish_report(task_settings(), found["workdir"], found["partition"],
                                     {"clean": cleaned, "enrich": enriched, "index": indexed}, run_id=run_id)
        counts = summary.to_dict()
        counts.pop("rejections")
        counts.pop("warnings")  # lists live in report.json; XCom keeps counts
        return counts

    found = discover()
    cleaned = clean(found)
    enriched = enrich(found, cleaned)
    indexed = index(found, enriched)
    report(found, cleaned, enriched, indexed)


news_nightly()
