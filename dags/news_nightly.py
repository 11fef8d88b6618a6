"""news_nightly: every night, each configured source's new articles -> clean -> enrich -> Elasticsearch.

Thin on purpose: each task calls one function of pipeline.runners.tasks (the run core of `newsetl ingest`, cut at
task boundaries) and passes only names and counts through XCom; files go through the staging store (a local
folder, or `staging.url` on S3/GCS when workers share no disk). Dynamic task mapping: one `collect` task per
source (config/sources.yml), then duplicates are dropped over the whole run, then one `enrich` and one `index`
task per batch of articles (`enrich` bulk-writes its batch while NER runs; `index` writes it only if that failed).
Pools bound the expensive parts: `newsetl_nlp` (spaCy processes) and `newsetl_es` (fallback bulk writers). A
source that cannot be read fails alone; the others are indexed, then `finish` fails the run so it shows red.
`trends` then refreshes the day's trending facet values (`<alias>-trends`, pipeline/index/trends.py).
`airflow backfill create --dag-id news_nightly --from-date ... --to-date ...` re-reads dated sources.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException
from airflow.timetables.interval import CronDataIntervalTimetable

from newsetl_common import NEWS_INDEX, default_args, task_settings, task_staging, window
from pipeline.core.timestamps import EARLIEST_STATED_PUBLICATION

DEFAULT_ARGS = default_args(execution_timeout=timedelta(hours=2))

# Each task imports the pipeline when it runs, not when the file is parsed: the dag-processor parses this file
# every `min_file_process_interval` seconds, and the pipeline (spaCy, SciPy, trafilatura) takes seconds to import
# (Airflow's best practices, "Top level Python Code").
NLP_POOL = "newsetl_nlp"  # create with: airflow pools set newsetl_nlp 2 "spaCy enrich tasks"
ES_POOL = "newsetl_es"  # create with: airflow pools set newsetl_es 4 "Elasticsearch bulk writers"


@dag(
    dag_id="news_nightly",
    # One run per UTC day, after the day has closed; its data interval is that day.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    # As early as any publication date newsetl accepts, so a backfill or `airflow dags test` of an archive day
    # runs: Airflow creates no task instances for a logical date before start_date. With catchup off, the
    # scheduler itself never goes back there.
    start_date=pendulum.datetime(EARLIEST_STATED_PUBLICATION.year, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(hours=6),
    tags=["news", "etl"],
    doc_md=__doc__,
    # Trigger with {"prune": true} to remove the articles of landing files deleted since they were indexed
    # (docs/reliability.md, "Deletions"); scheduled runs keep them.
    params={"prune": Param(False, type="boolean", description="remove articles whose landing file is gone")},
)
def news_nightly():
    @task
    def sources() -> list[str]:
        """The enabled sources, in order; the partition's staging folder starts empty."""
        from pipeline.runners import tasks

        settings = task_settings()
        return tasks.plan_run(settings, task_staging(settings), *window())

    @task(map_index_template="{{ source_name }}")
    def collect(name: str) -> dict:
        """One source: list, fetch (conditionally), read and clean its new units."""
        from pipeline.runners import tasks

        get_current_context()["source_name"] = name  # the mapped task is labelled by its source in the UI
        settings = task_settings()
        return tasks.collect_source(settings, task_staging(settings), name, *window())

    @task(trigger_rule="all_done")
    def batches(collected: list) -> list[str]:
        """First copies over the whole run (duplicates dropped), in batches; a failed source does not stop it."""
        from pipeline.runners import tasks

        settings = task_settings()
        return tasks.plan_batches(settings, task_staging(settings), *window())

    @task(pool=NLP_POOL, execution_timeout=timedelta(hours=3))
    def enrich(batch: str) -> str:
        """Entities and dates with spaCy for one batch (the model loaded once per task), bulk-written to the index
        while NER runs; `index` writes the batch only if that failed."""
        from pipeline.runners import tasks

        settings = task_settings()
        return tasks.enrich_batch(settings, task_staging(settings), *window(), batch)

    @task(pool=ES_POOL, retries=5, outlets=[NEWS_INDEX])
    def index(enriched: str) -> dict:
        """Bulk-index one batch unless `enrich` already did; fails (and is retried) if Elasticsearch is unavailable."""
        from pipeline.runners import tasks

        settings = task_settings()
        return tasks.index_batch(settings, task_staging(settings), *window(), enriched)

    @task(trigger_rule="all_done")
    def finish(indexed: list) -> dict:
        """Settle quarantine and ledger, write report.json, record the run in the runs index; red if a source failed."""
        from pipeline.runners import tasks

        settings = task_settings()
        context = get_current_context()
        run_id = f"nightly:{context['run_id']}"
        report = tasks.finish_run(settings, task_staging(settings), *window(), run_id=run_id,
                                  prune=bool(context["params"].get("prune")))
        counts = {k: v for k, v in report.to_dict().items() if k not in ("rejections", "warnings")}
        if report.failed_sources:
            errors = "; ".join(f"{name}: {report.sources[name].get('error')}" for name in report.failed_sources)
            raise AirflowFailException(f"{len(report.failed_sources)} source(s) failed (the others were indexed): "
                                       f"{errors}")
        return counts

    @task(trigger_rule="all_done")
    def trends(_indexed: list) -> dict:
        """The day's trending facet values into `<alias>-trends` (the overview dashboard's panel), once the
        batches are written, beside `finish` (which stays a leaf, so a failed source still turns the run red)."""
        from pipeline.runners import tasks

        return tasks.refresh_day_trends(task_settings(), *window())

    # Default trigger rule: after a finish that failed (a source could not be read) what is left stays queued for
    # the next night, and this leaf's upstream_failed keeps the run red.
    @task(pool=ES_POOL, retries=5)
    def recanonicalise() -> dict:
        """Give indexed articles the new values of the names whose entity the registry changed that `finish` left
        pending (it applies what the run learnt itself, with the registry it has just settled): a change another
        run queued, or one Elasticsearch refused then. Entity facets only, no NER; nothing is read when no change
        is pending. After a run whose finish failed it does not run (the run stays red); the next run applies them."""
        from pipeline.runners import tasks

        return tasks.recanonicalise(task_settings())

    collected = collect.expand(name=sources())
    indexed = index.expand(enriched=enrich.expand(batch=batches(collected)))
    finish(indexed) >> recanonicalise()
    trends(indexed)


news_nightly()
