"""news_watchlists: after every index update, each watchlist of config/watchlists.yml alerts on its new matches.

Scheduled on the `newsetl_news_index` Asset that news_nightly's `index` tasks update: one run per update (queued
updates are combined by Airflow), one mapped `run` task per watchlist, so one watchlist whose webhook is down fails
(and is retried) alone. Each task calls pipeline.search.watchlists.run_configured: the articles indexed since the
watchlist's high-water mark are searched with the product's query language, matches are recorded once in
`<alias>-alerts` and sent to the watchlist's targets; a target that refuses fails the task (Airflow retries it),
the matches stay recorded and owed, the high-water mark does not move. Webhook URLs and SMTP credentials come
from Airflow connections (or environment variables) named in the YAML.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Connection, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from newsetl_common import NEWS_INDEX, default_args, task_settings

DEFAULT_ARGS = default_args(execution_timeout=timedelta(minutes=30))


@dag(
    dag_id="news_watchlists",
    schedule=[NEWS_INDEX],
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    # Two runs of one watchlist at once would notify the same matches twice: runs queue instead.
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["news", "alerts"],
    doc_md=__doc__,
)
def news_watchlists():
    @task
    def watchlists() -> list[str]:
        """The names of the configured watchlists; a bad watchlists.yml fails here, in one line, without retries
        (retrying cannot fix a file)."""
        from pipeline.core.errors import ConfigError
        from pipeline.search.watchlists import load_watchlists

        try:
            return [w.name for w in load_watchlists(task_settings().watchlists_config)]
        except ConfigError as exc:
            raise AirflowFailException(str(exc)) from None

    @task(map_index_template="{{ watchlist_name }}")
    def run(name: str) -> dict:
        """One watchlist: search the new articles, record the matches, notify (connections read by Airflow)."""
        from pipeline.search.notify import Notifier
        from pipeline.search.watchlists import run_configured

        get_current_context()["watchlist_name"] = name  # the mapped task is labelled by its watchlist in the UI
        result = run_configured(task_settings(), name, Notifier(get_connection=Connection.get)).to_dict()
        return {k: v for k, v in result.items() if k != "articles"}  # XCom: counts, not article lists

    run.expand(name=watchlists())


news_watchlists()
