"""Staging on object storage: a DAG run whose tasks hand each other files through S3 (moto's server on 127.0.0.1),
as Celery or Kubernetes workers that share no disk would."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.conftest import SEED, make_settings, raw_client
from tests.dags.test_news_nightly import _use, bundle_dagbag

pytestmark = pytest.mark.airflow

BUCKET = "newsetl-staging"
CONN_ID = "newsetl_staging"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A local S3-compatible server (moto in server mode) on a free loopback port."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, monkeypatch) -> Iterator[object]:
    """An empty bucket, and the Airflow connection (from the environment, as a deployment would set it) whose
    credentials and endpoint the DAG's ObjectStoragePath uses."""
    import boto3
    import requests
    from airflow.sdk.io import store

    requests.post(f"{s3_endpoint}/moto-api/reset", timeout=5)  # moto keeps its buckets per process
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps({
        "conn_type": "aws", "login": "testing", "password": "testing",  # pragma: allowlist secret - moto's
        "extra": {"endpoint_url": s3_endpoint, "region_name": "us-east-1"}}))
    store._STORE_CACHE.clear()  # Airflow caches one filesystem per connection id for the whole process
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")  # pragma: allowlist secret - moto's
    client.create_bucket(Bucket=BUCKET)
    yield client
    store._STORE_CACHE.clear()


def keys(client, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(obj["Key"][len(prefix):] for page in pages for obj in page.get("Contents", []))


def test_a_dag_run_stages_through_s3_and_indexes(airflow_db, tmp_path, es_url, alias, bucket, monkeypatch):
    landing = tmp_path / "landing"
    (landing / "2019-06-25").mkdir(parents=True)
    shutil.copy(SEED, landing / "2019-06-25" / "seed.txt")
    (landing / "2019-06-25" / "empty.txt").write_bytes(b"")
    settings = make_settings(tmp_path, es_url, alias, landing=landing)
    _use(monkeypatch, settings, es_url, NEWSETL_STAGING_URL=f"s3://{BUCKET}/runs", NEWSETL_STAGING_CONN_ID=CONN_ID)

    run = bundle_dagbag().get_dag("news_nightly").test(logical_date=datetime(2019, 6, 25, tzinfo=UTC))
    assert run.state == "success"

    staged = keys(bucket, "runs/2019-06-25/")
    assert staged == ["batches.json", "batches/articles-0001.jsonl", "batches/enrich-0001.json",
                      "batches/enriched-0001.jsonl", "batches/index-0001.json", "batches/learnt-0001.jsonl",
                      "plan.json", "report.json",
                      "sources/landing/articles.jsonl", "sources/landing/collect.json",
                      "sources/landing/listings.jsonl", "sources/landing/pending.jsonl"]
    assert not (settings.runs_dir / "2019-06-25").exists()  # nothing went through the local disk
    report = json.loads(bucket.get_object(Bucket=BUCKET, Key="runs/2019-06-25/report.json")["Body"].read())
    assert (report["seen"], report["indexed"], report["rejected"]) == (2, 1, 1)
    enriched = bucket.get_object(Bucket=BUCKET, Key="runs/2019-06-25/batches/enriched-0001.jsonl")["Body"].read()
    assert "Hulusi Akar" in enriched.decode()

    client = raw_client(settings)
    client.indices.refresh(index=alias)
    (doc,) = [hit["_source"] for hit in client.search(index=alias)["hits"]["hits"]]
    assert "Hulusi Akar" in doc["entities"]["person"]

    # A re-run of the day starts from an empty partition on the store and finds nothing new.
    rerun = bundle_dagbag().get_dag("news_nightly").test(logical_date=datetime(2019, 6, 25, tzinfo=UTC))
    assert rerun.state == "success"
    report = json.loads(bucket.get_object(Bucket=BUCKET, Key="runs/2019-06-25/report.json")["Body"].read())
    assert (report["skipped"], report["indexed"], report["unchanged"]) == (2, 0, 1)
    assert "batches/articles-0001.jsonl" not in keys(bucket, "runs/2019-06-25/")  # no batch: nothing to enrich
