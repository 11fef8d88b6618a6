"""Deterministic ids, landing partitions, and settings from config + environment."""

import os
from datetime import UTC, date, datetime, timedelta

import pendulum
import pytest

from pipeline.collect.partitions import file_partition, files_in_window, partition_window
from pipeline.core.errors import ConfigError
from pipeline.core.ids import canonical_url, document_id
from pipeline.core.settings import connection_env, load_settings
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (dict(own_id="1", url="https://a.example/x"), dict(own_id="1", url="https://a.example/other"), True),
        (dict(own_id="1"), dict(own_id="2"), False),
        (dict(url="https://A.example/x?utm_source=rss#top"), dict(url="https://a.example/x"), True),
        (dict(url="https://a.example/x"), dict(url="https://a.example/y"), False),
        (dict(body="Same  words\n\nhere."), dict(body="same words here."), True),
        (dict(body="Some words."), dict(body="Other words."), False),
    ],
)
def test_document_id_prefers_own_id_then_url_then_content(a, b, same):
    def doc_id(fields):
        return document_id(source="s", own_id=fields.get("own_id"), url=fields.get("url"),
                           body=fields.get("body", "body"))

    assert (doc_id(a) == doc_id(b)) is same


def test_own_ids_are_namespaced_by_source():
    assert document_id(source="a", own_id="1", url=None, body="") != document_id(source="b", own_id="1", url=None,
                                                                                    body="")


def test_canonical_url_drops_tracking_and_fragment():
    assert canonical_url("HTTPS://News.Example/a/?utm_source=x&id=2#frag") == "https://news.example/a/?id=2"


@pytest.mark.parametrize(
    ("logical", "start", "end", "expected"),
    [
        # scheduled nightly run: the interval is the day itself
        (datetime(2019, 6, 25, tzinfo=UTC), datetime(2019, 6, 25, tzinfo=UTC), datetime(2019, 6, 26, tzinfo=UTC),
         (date(2019, 6, 25), date(2019, 6, 26))),
        # manual run / `airflow dags test news_nightly 2019-06-25`: Airflow hands the interval ending that day
        (pendulum.datetime(2019, 6, 25), pendulum.datetime(2019, 6, 24), pendulum.datetime(2019, 6, 25),
         (date(2019, 6, 25), date(2019, 6, 26))),
        # a trigger timetable with an empty interval still covers one day
        (datetime(2019, 6, 25, 3, tzinfo=UTC), datetime(2019, 6, 25, 3, tzinfo=UTC),
         datetime(2019, 6, 25, 3, tzinfo=UTC), (date(2019, 6, 25), date(2019, 6, 26))),
        # a weekly interval covers seven days
        (datetime(2019, 6, 24, tzinfo=UTC), datetime(2019, 6, 24, tzinfo=UTC), datetime(2019, 7, 1, tzinfo=UTC),
         (date(2019, 6, 24), date(2019, 7, 1))),
    ],
)
def test_partition_window(logical, start, end, expected):
    assert partition_window(logical, start, end) == expected


def test_files_belong_to_the_day_in_their_path_or_their_mtime(tmp_path):
    paths = {
        "2019-06-25/a.txt": date(2019, 6, 25),
        "dt=2019-06-26/b.jsonl": date(2019, 6, 26),
        "inbox/story_2019-06-27.html": date(2019, 6, 27),
        "2019-06-25/late_2019-06-28.txt": date(2019, 6, 28),  # the most specific (innermost) date wins
        "undated.txt": date(2020, 1, 2),
    }
    for rel in paths:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    stamp = datetime(2020, 1, 2, 12, tzinfo=UTC).timestamp()
    os.utime(tmp_path / "undated.txt", (stamp, stamp))
    for rel, expected in paths.items():
        assert file_partition(tmp_path / rel, tmp_path) == expected
    window = [p.name for p in files_in_window(tmp_path, date(2019, 6, 25), date(2019, 6, 27))]
    assert window == ["a.txt", "b.jsonl"]
    with pytest.raises(FileNotFoundError, match="landing folder"):
        list(files_in_window(tmp_path / "missing", date(2019, 6, 25), date(2019, 6, 25) + timedelta(days=1)))


def test_settings_from_config_and_environment():
    settings = load_settings(REPO / "config" / "settings.yml", env={
        "NEWSETL_INDEX_ALIAS": "newsroom", "NEWSETL_SPACY_MODEL": "en_core_web_md", "NEWSETL_NLP_BATCH_SIZE": "16",
        "ELASTICSEARCH_URL": "https://es.example:9200", "ELASTICSEARCH_API_KEY": "c2VjcmV0",  # pragma: allowlist secret
    })
    assert settings.index.alias == "newsroom"
    assert (settings.nlp.model, settings.nlp.batch_size) == ("en_core_web_md", 16)
    assert settings.landing_dir == REPO / "samples" / "landing"
    assert not settings.elasticsearch.embedded
    assert "c2VjcmV0" not in repr(settings) and "c2VjcmV0" not in str(settings.model_dump())
    default = load_settings(REPO / "config" / "settings.yml", env={})
    assert default.elasticsearch.embedded and default.embedded_es_dir == REPO / ".newsetl" / "es"
    assert (default.staging.url, default.index.shards, default.index.replicas) == (None, 1, 0)


def test_staging_and_cluster_sizing_from_the_environment():
    settings = load_settings(REPO / "config" / "settings.yml", env={
        "NEWSETL_STAGING_URL": "s3://newsetl-staging/runs", "NEWSETL_STAGING_CONN_ID": "newsetl_staging",
        "NEWSETL_INDEX_SHARDS": "3", "NEWSETL_INDEX_REPLICAS": "1"})
    assert (settings.staging.url, settings.staging.conn_id) == ("s3://newsetl-staging/runs", "newsetl_staging")
    assert (settings.index.shards, settings.index.replicas) == (3, 1)
    with pytest.raises(ConfigError, match="must be a URL such as s3://bucket/prefix"):
        load_settings(REPO / "config" / "settings.yml", env={"NEWSETL_STAGING_URL": "newsetl-staging/runs"})


@pytest.mark.parametrize("alias", ["News", "has space", "a*b", ""])
def test_invalid_alias_is_a_clear_error(alias):
    with pytest.raises(ConfigError, match="lowercase Elasticsearch name"):
        load_settings(REPO / "config" / "settings.yml", env={"NEWSETL_INDEX_ALIAS": alias or " "})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"host": "es.internal", "port": 9243, "scheme": "https", "login": "etl", "password": "p"},
         {"ELASTICSEARCH_URL": "https://es.internal:9243", "ELASTICSEARCH_USERNAME": "etl",
          "ELASTICSEARCH_PASSWORD": "p"}),
        ({"host": "es.internal", "extra": {"api_key": "k", "scheme": "http"}},
         {"ELASTICSEARCH_URL": "http://es.internal:9200", "ELASTICSEARCH_API_KEY": "k"}),
        ({"host": "https://cloud.example:443", "scheme": "news"},  # schema used for something else: ignored
         {"ELASTICSEARCH_URL": "https://cloud.example:443"}),
        ({"host": None}, {}),
    ],
)
def test_airflow_connection_fields_become_elasticsearch_settings(fields, expected):
    assert connection_env(**fields) == expected


def test_run_documents_hold_the_whole_run_and_each_stage():
    from pipeline.runs.history import run_documents, runs_mappings

    report = {"partition": "2019-06-25", "started_at": "2019-06-26T00:00:01+00:00", "seen": 3, "indexed": 2,
              "rejected": 1, "duplicates": 1, "seconds": {"clean": 1.5, "enrich": 2.0}}
    stages = {"clean": {"seen": 3, "rejected": 1, "seconds": 1.5, "started_at": "x"}, "enrich": {"seconds": 2.0}}
    docs = dict(run_documents(report, run_id="nightly:r1", kind="nightly", pipeline_version="v", stages=stages))
    assert list(docs) == ["nightly:r1:run", "nightly:r1:clean", "nightly:r1:enrich"]
    whole = docs["nightly:r1:run"]
    assert (whole["seen"], whole["indexed"], whole["rejected"], whole["duplicates"], whole["seconds"]) == \
        (3, 2, 1, 1, 3.5)
    assert docs["nightly:r1:clean"]["seen"] == 3 and "indexed" not in docs["nightly:r1:enrich"]
    fields = set(runs_mappings()["properties"])
    assert all(set(doc) <= fields for doc in docs.values())  # the strict mapping accepts every document


def test_a_copy_of_settings_elsewhere_keeps_the_project_relative_paths(tmp_path):
    """settings.yml says relative paths are relative to the project root: a copy used through NEWSETL_CONFIG or
    --config must not silently move the data folder or lose the entity and place rules."""
    copy = tmp_path / "elsewhere" / "settings.yml"
    copy.parent.mkdir()
    copy.write_text((REPO / "config" / "settings.yml").read_text())
    settings = load_settings(copy, env={})
    assert settings.data_dir == (REPO / ".newsetl").resolve()
    assert settings.entities_config == (REPO / "config" / "entities.yml").resolve()
    assert settings.places_config.is_file() and settings.entities_config.is_file()


@pytest.mark.parametrize("language, ok", [("en", True), ("de", True), ("fr", True), ("english", False),
                                          ("EN", False), ("xx", False), ("en-GB", False), ("", False)])
def test_default_language_must_be_an_iso_639_1_code(tmp_path, language, ok):
    config = tmp_path / "settings.yml"
    config.write_text((REPO / "config" / "settings.yml").read_text(encoding="utf-8")
                      .replace("default_language: en", f"default_language: {language!r}"), encoding="utf-8")
    if ok:
        assert load_settings(config, env={}).default_language == language
    else:
        with pytest.raises(ConfigError, match=r"default_language in .*settings\.yml: not an ISO 639-1 language code"):
            load_settings(config, env={})
