"""news_reenrich: on demand, bring every indexed article up to the current model and entity rules.

Trigger it after changing config/entities.yml or the spaCy model (`airflow dags trigger news_reenrich`); documents
already enriched by the current pipeline version are skipped without NLP, so a re-trigger is cheap.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from newsetl_common import task_settings
from pipeline.core.timestamps import EARLIEST_STATED_PUBLICATION


@dag(
    dag_id="news_reenrich",
    schedule=None,
    start_date=pendulum.datetime(EARLIEST_STATED_PUBLICATION.year, 1, 1, tz="UTC"),
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
        from pipeline.runners import stream  # imported when the task runs, not when the file is parsed

        counts = stream.reenrich(task_settings()).to_dict()
        # XCom stays small: the first 20 of each list; the counts are complete, and the run is in news-runs.
        counts["rejections"], counts["warnings"] = counts["rejections"][:20], counts["warnings"][:20]
        return counts

    reenrich()


news_reenrich()
