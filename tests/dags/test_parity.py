"""`newsetl ingest` and the nightly DAG are the same run cut differently: they must write the same documents.

The landing folder has two sources that both carry one story under the same URL (the copy in the first source in
sources.yml wins on both paths), a bad file, and an article that changes between the first and the second run.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.collect.config import select_sources
from pipeline.runners.stream import ingest
from tests.conftest import drop_alias, make_settings, raw_client
from tests.dags.test_news_nightly import bundle_dagbag

pytestmark = pytest.mark.airflow

DAY = "2019-06-25"
SHARED = "https://news.example/2019/06/25/port-strike"
# Fields that say when a document was written, not what it holds.
TIMESTAMPS = {"ingested_at", "timeline_at"}  # timeline_at: the ingest time of undated articles


def record(url: str, title: str, text: str) -> str:
    return json.dumps({"url": url, "title": title, "text": text, "published": DAY}) + "\n"


def landing_folder(root: Path) -> Path:
    """Two folder sources, `alpha` (first in sources.yml) and `beta`, and the sources file naming them."""
    alpha, beta = root / "alpha" / DAY, root / "beta" / DAY
    alpha.mkdir(parents=True)
    beta.mkdir(parents=True)
    (alpha / "wire.jsonl").write_text(
        record(SHARED, "Port strike ends in Rotterdam", "Dockers in Rotterdam ended their strike on Monday after "
               "the port authority agreed to new shift rules, union leader Anna de Vries said.")
        + record("https://news.example/2019/06/25/bridge", "Lyon opens its bridge", "The mayor of Lyon, Gerard "
                 "Collomb, opened the new bridge over the Rhone on Tuesday after four years of works."))
    (beta / "papers.jsonl").write_text(
        record(SHARED, "Rotterdam strike is over", "The strike at the port of Rotterdam is over, the union of "
               "Anna de Vries said on Monday; ships are expected to leave on Wednesday.")
        + record("https://news.example/2019/06/25/budget", "Budget talks stall in Brussels", "Ministers of the "
                 "European Union failed on Tuesday to agree on the budget, Finance Minister Olaf Scholz said."))
    (beta / "broken.jsonl").write_text('{"title": "no text at all"}\n{not json\n')
    sources = root / "sources.yml"
    sources.write_text(f"sources:\n  - {{name: alpha, kind: folder, location: {root / 'alpha'}}}\n"
                       f"  - {{name: beta, kind: folder, location: {root / 'beta'}}}\n")
    return sources


def documents(settings) -> dict[str, dict]:
    client = raw_client(settings)
    client.indices.refresh(index=settings.index.alias)
    hits = client.search(index=settings.index.alias, size=100)["hits"]["hits"]
    return {hit["_id"]: {k: v for k, v in hit["_source"].items() if k not in TIMESTAMPS} for hit in hits}


def test_the_cli_and_the_dag_write_identical_documents(airflow_db, tmp_path, es_url, monkeypatch):
    landing = tmp_path / "landing"
    sources_file = landing_folder(landing)
    env = {"NEWSETL_SOURCES_CONFIG": str(sources_file), "NEWSETL_LANDING_DIR": str(landing)}
    cli = make_settings(tmp_path / "cli", es_url, "parity-cli").model_copy(update={"sources_config": sources_file})
    dag_settings = make_settings(tmp_path / "dag", es_url, "parity-dag")
    for var, value in {**env, "NEWSETL_DATA_DIR": str(dag_settings.data_dir), "ELASTICSEARCH_URL": es_url,
                       "NEWSETL_INDEX_ALIAS": dag_settings.index.alias}.items():
        monkeypatch.setenv(var, value)
    dag = bundle_dagbag().get_dag("news_nightly")
    day = datetime.fromisoformat(DAY).replace(tzinfo=UTC)
    try:
        for attempt in ("first run", "after an article changed"):
            streamed = ingest([], cli, sources=select_sources(cli, None))
            assert dag.test(logical_date=day).state == "success", attempt
            nightly = json.loads((dag_settings.runs_dir / DAY / "report.json").read_text())

            via_cli, via_dag = documents(cli), documents(dag_settings)
            assert via_cli == via_dag, attempt
            assert len(via_cli) == 3  # the shared URL is one document
            for count in ("seen", "cleaned", "duplicates", "enriched", "indexed", "unchanged", "rejected"):
                assert getattr(streamed, count) == nightly[count], (attempt, count)
            if attempt == "first run":
                assert (streamed.duplicates, streamed.indexed, streamed.rejected) == (1, 3, 3)
                shared = next(doc for doc in via_cli.values() if doc["url"] == SHARED)
                assert shared["source"] == "alpha" and shared["title"] == "Port strike ends in Rotterdam"
                # Between the runs, one article is rewritten by its publisher.
                papers = landing / "beta" / DAY / "papers.jsonl"
                papers.write_text(papers.read_text().replace("failed on Tuesday", "failed again on Tuesday"))
    finally:
        drop_alias(es_url, "parity-cli")
        drop_alias(es_url, "parity-dag")
