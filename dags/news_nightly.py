"""news_nightly: every night, each configured source's new articles -> clean -> enrich -> Elasticsearch.

Thin on purpose: each task calls one function of pipeline.staged and passes only names, paths and counts through
XCom. Dynamic task mapping: one `collect` task per source (config/sources.yml), one `enrich` and one `index` task
per batch of articles. Pools bound the expensive parts: `newsetl_nlp` (spaCy processes) and `newsetl_es` (bulk
writers). A source that cannot be read fails alone; the others are indexed, then `finish` fails the run so it
shows red. `airflow backfill create --dag-id news_nightly --from-date ... --to-date ...` re-reads dated sources.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Connection, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException
from airflow.timetables.interval import CronDataIntervalTimetable

from pipeline import run, staged
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

NLP_POOL = "newsetl_nlp"  # create with: airflow pools set newsetl_nlp 2 "spaCy enrich tasks"
ES_POOL = "newsetl_es"  # create with: airflow pools set newsetl_es 4 "Elasticsearch bulk writers"
# Downstream DAGs (exports, alerts) can be scheduled on this: it is updated whenever articles were indexed.
NEWS_INDEX = Asset(name="newsetl_news_index", uri="elasticsearch://newsetl/news")


def task_settings():
    """Settings for a task: the Elasticsearch Airflow connection when it is defined, else the environment."""
    return settings_for_task(Connection.get, AirflowNotFoundException)


def window():
    """Days [start, end) of this run's data interval."""
    ctx = get_current_context()
    return run.partition_window(ctx["logical_date"], ctx.get("data_interval_start"), ctx.get("data_interval_end"))


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
    def sources() -> list[str]:
        """The enabled sources; the partition's work folder starts empty."""
        return staged.plan_sources(task_settings(), *window())

    @task(map_index_template="{{ source_name }}")
    def collect(name: str) -> dict:
        """One source: list, fetch (conditionally), read and clean its new units into batches."""
        get_current_context()["source_name"] = name  # the mapped task is labelled by its source in the UI
        return staged.collect_source(task_settings(), name, *window())

    @task(trigger_rule="all_done")
    def batches(collected: list) -> list[str]:
        """Batch files of every source whose collect task finished (a failed source does not stop the others)."""
        return staged.list_batches(task_settings(), *window())

    @task(pool=NLP_POOL, execution_timeout=timedelta(hours=3))
    def enrich(batch: str) -> str:
        """Entities and dates with spaCy for one batch; the model is loaded once per task."""
        return staged.enrich_batch(task_settings(), batch)

    @task(pool=ES_POOL, retries=5, outlets=[NEWS_INDEX])
    def index(enriched: str) -> dict:
        """Bulk-index one batch; fails (and is retried) if Elasticsearch is unavailable."""
        return staged.index_batch(task_settings(), enriched)

    @task(trigger_rule="all_done")
    def finish(indexed: list) -> dict:
        """Settle ledger and quarantine, write report.json, record the run in the runs index; red if a source failed."""
        run_id = f"nightly:{get_current_context()['run_id']}"
        report = staged.finish_run(task_settings(), *window(), run_id=run_id)
        counts = {k: v for k, v in report.to_dict().items() if k not in ("rejections", "warnings")}
        if report.failed_sources:
            errors = "; ".join(f"{name}: {report.sources[name].get('error')}" for name in report.failed_sources)
            raise AirflowFailException(f"{len(report.failed_sources)} source(s) failed (the others were indexed): "
                                       f"{errors}")
        return counts

    collected = collect.expand(name=sources())
    indexed = index.expand(enriched=enrich.expand(batch=batches(collected)))
    finish(indexed)


news_nightly()
