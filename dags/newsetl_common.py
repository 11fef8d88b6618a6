"""Shared by the newsetl DAG files (not a DAG; listed in .airflowignore): what every task needs from Airflow.

The Elasticsearch connection and the staging store come from Airflow connections here, so `pipeline/` never
imports Airflow; the run's days come from the task's context.
"""

from __future__ import annotations

from datetime import date, timedelta

from airflow.sdk import Asset, Connection, ObjectStoragePath, get_current_context
from airflow.sdk.exceptions import AirflowNotFoundException

from pipeline.collect.partitions import partition_window
from pipeline.core.settings import Settings, settings_for_task
from pipeline.runners.staging import Staging

# Updated by news_nightly's `index` tasks whenever articles were indexed; downstream DAGs (news_watchlists, exports)
# are scheduled on it.
NEWS_INDEX = Asset(name="newsetl_news_index", uri="elasticsearch://newsetl/news")


def default_args(execution_timeout: timedelta) -> dict:
    """The retry policy every newsetl task shares: 3 retries with exponential backoff from 2 to 30 minutes (an
    Elasticsearch restart or a source's outage outlasts a quick retry); `execution_timeout` is the outer bound on
    one attempt that keeps retrying a barely-answering cluster inside itself."""
    return {"owner": "newsetl", "retries": 3, "retry_delay": timedelta(minutes=2), "retry_exponential_backoff": True,
            "max_retry_delay": timedelta(minutes=30), "execution_timeout": execution_timeout}


def task_settings() -> Settings:
    """Settings for a task: the Elasticsearch Airflow connection (`newsetl_elasticsearch`) when it is defined,
    else the environment."""
    return settings_for_task(Connection.get, AirflowNotFoundException)


def task_staging(settings: Settings) -> Staging:
    """Where tasks hand each other files: the local data folder, or `staging.url` on an object store reached
    through Airflow's ObjectStoragePath with the credentials of the connection `staging.conn_id`."""
    if not settings.staging.url:
        return Staging(settings.runs_dir)
    return Staging(ObjectStoragePath(settings.staging.url, conn_id=settings.staging.conn_id))


def window() -> tuple[date, date]:
    """Days [start, end) of this run's data interval."""
    ctx = get_current_context()
    return partition_window(ctx["logical_date"], ctx.get("data_interval_start"), ctx.get("data_interval_end"))
