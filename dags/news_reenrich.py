"""news_reenrich: on demand, bring every indexed article up to the current model and entity rules.

Trigger it after changing config/entities.yml or the spaCy model (`airflow dags trigger news_reenrich`); documents
already enriched by the current pipeline version are skipped without NLP, so a re-trigger is cheap.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Connection, dag, task
from airflow.sdk.exceptions import AirflowNotFoundException

from pipeline import run
from pipeline.settings import settings_for_task


def task_settings():
    """Settings for a task: the Elasticsearch Airflow connection when it is defined, else the environment."""
    return settings_for_task(Connection.get, AirflowNotFoundException)


@dag(
    dag_id="news_reenrich",
    schedule=None,
    start_date=pendulum.datetime(2019, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "newsetl", "retries": 3, "retry_delay": timedelta(minutes=2),
                  "retry_exponential_backoff": True},
    tags=["news", "backfill"],
    doc_md=__doc__,
)
def news_reenrich():
    @task(execution_timeout=timedelta(hours=12))
    def reenrich() -> dict:
        """Re-enrich outdated documents in place; returns the run's counts."""
        counts = run.reenrich(task_settings()).to_dict()
        # XCom stays small: the first 20 of each list; the counts are complete, and the run is in news-runs.
        counts["rejections"], counts["warnings"] = counts["rejections"][:20], counts["warnings"][:20]
        return counts

    reenrich()


news_reenrich()
