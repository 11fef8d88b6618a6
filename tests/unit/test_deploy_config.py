"""What ships for users with Docker and Kibana: compose file, saved objects and mapping agree with the code."""

import json
import subprocess

import pytest
import yaml

from pipeline.core.records import Article, DateMention, EnrichedArticle, Enrichment, EntityMention
from pipeline.index.document import to_document
from pipeline.index.mapping import index_template, mappings
from pipeline.kibana.saved_objects import (
    NDJSON_PATH,
    build_saved_objects,
    fields_by_view,
    main,
    mapped_fields,
    validate,
)
from tests.conftest import REPO, have_docker_compose

COMPOSE = REPO / "docker-compose.yml"


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_has_the_whole_stack():
    services = compose()["services"]
    assert {"postgres", "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "elasticsearch", "kibana", "kibana-password", "kibana-import"} <= set(services)
    assert services["elasticsearch"]["image"].endswith(":${STACK_VERSION:-9.2.0}")
    assert services["elasticsearch"]["environment"]["xpack.security.enabled"] == "true"
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert "_import?overwrite=true" in " ".join(services["kibana-import"]["command"])
    assert "./config/kibana:/objects:ro" in services["kibana-import"]["volumes"]


def test_compose_takes_every_secret_from_the_environment():
    def walk(node, path=""):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for value in node:
                yield from walk(value, path)
        else:
            yield path, str(node)

    for path, value in walk(compose()):
        key = path.rsplit(".", 1)[-1].upper()
        if any(word in key for word in ("PASSWORD", "SECRET", "KEY")):
            assert value.startswith("${"), f"{path} must come from .env, not be written in the compose file"


def test_airflow_image_uses_the_pinned_versions():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    assert "-c constraints.txt" in dockerfile


@pytest.mark.skipif(not have_docker_compose(), reason="Debian's docker-compose is not installed")
def test_docker_compose_config_validates(tmp_path):
    ok = subprocess.run(["docker-compose", "--env-file", str(REPO / ".env.example"), "-f", str(COMPOSE),
                         "config", "-q"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    empty = tmp_path / "empty.env"
    empty.write_text("\n")
    missing = subprocess.run(["docker-compose", "--env-file", str(empty), "-f", str(COMPOSE), "config", "-q"],
                             capture_output=True, text=True, check=False, env={"PATH": "/usr/bin:/bin"})
    assert missing.returncode != 0 and "set" in missing.stderr and "in .env" in missing.stderr


def test_env_example_holds_placeholders_only():
    for line in (REPO / ".env.example").read_text().splitlines():
        if "PASSWORD=" in line or "SECRET=" in line:
            assert "change-me" in line or line.startswith("#"), line


def test_committed_saved_objects_are_generated_from_code():
    assert main(["--check"]) == 0, "run: python -m pipeline.kibana.saved_objects"
    lines = NDJSON_PATH.read_text().splitlines()
    assert [json.loads(line) for line in lines] == json.loads(json.dumps(build_saved_objects()))


def test_saved_objects_reference_existing_objects_and_mapped_fields():
    objects = build_saved_objects()
    assert validate(objects, fields_by_view()) == []
    views = {o["attributes"]["title"]: o["attributes"]["timeFieldName"]
             for o in objects if o["type"] == "index-pattern"}
    assert views == {"news": "published_at", "news-runs": "started_at"}
    dashboards = {o["attributes"]["title"]: o for o in objects if o["type"] == "dashboard"}
    assert set(dashboards) == {"News overview", "Pipeline health"}
    lens_titles = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "lens"}
    overview = [r["id"] for r in dashboards["News overview"]["references"] if r["type"] == "lens"]
    assert {lens_titles[i] for i in overview} == {"Articles over time", "Top persons", "Top organisations",
                                                  "Top places", "Mentioned dates", "Top sources", "Languages",
                                                  "Stories", "Most copied stories"}
    controls = json.loads(dashboards["News overview"]["attributes"]["controlGroupInput"]["panelsJSON"])
    assert {c["explicitInput"].get("fieldName") for c in controls.values()} == {
        "entities.person", "entities.org", "entities.place", "source", "site_name", "authors", None}  # None: slider


def _object(objects, obj_type, title):
    return next(o for o in objects if o["type"] == obj_type and o["attributes"]["title"] == title)


def test_validator_catches_broken_objects():
    objects = build_saved_objects()
    search = _object(objects, "search", "News articles")
    search["attributes"]["columns"].append("entities.nope")
    search["references"][0]["id"] = "missing"
    persons = _object(objects, "lens", "Top persons")
    persons["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]["layer1"]["columns"]["values"][
        "sourceField"] = "entities.people"
    places = _object(objects, "lens", "Top places")
    places["references"] = []
    health = _object(objects, "dashboard", "Pipeline health")
    health["references"] = health["references"][1:]
    overview = _object(objects, "dashboard", "News overview")
    controls = json.loads(overview["attributes"]["controlGroupInput"]["panelsJSON"])
    next(iter(controls.values()))["explicitInput"]["fieldName"] = "entities.nobody"
    overview["attributes"]["controlGroupInput"]["panelsJSON"] = json.dumps(controls)
    copied = _object(objects, "lens", "Most copied stories")
    copied["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]["layer1"]["columns"]["headline"][
        "params"]["sortField"] = "published"
    stories = _object(objects, "lens", "Stories")
    stories["attributes"]["state"]["visualization"]["metricAccessor"] = "gone"
    problems = "\n".join(validate(objects, fields_by_view()))
    for expected in ["'entities.nope' is not in the mapping", "does not exist", "uses 'entities.people'",
                     "layer layer1 has no data view reference", "panel 1 has no reference 1:panel_1",
                     "filters on 'entities.nobody'", "column headline uses 'published'",
                     "visualization uses unknown column 'gone'"]:
        assert expected in problems


def test_every_document_field_is_mapped():
    article = Article(doc_id="d", ref="r", source="s", title="T", body="Body", url="https://x.example/a",
                      language="en", published_at="2019-06-25", published_at_source="input",
                      extra={"section": {"nested": ["anything"]}}, authors=("Jane Doe",), site_name="Ledger")
    enrichment = Enrichment(
        entities=(EntityMention("Akar", "PERSON", 0, 4, "Hulusi Akar"),),
        dates=(DateMention("Wednesday", 5, 14, "2019-06-26"),),
    )
    doc = to_document(EnrichedArticle(article, enrichment), pipeline_version="v")
    doc.update(ingested_at="2019-06-25T00:00:00Z", story_id="d", story_bands=["00ab"], story_signature="AAAA")
    fields = mapped_fields()

    def paths(node, prefix=""):
        for key, value in node.items():
            if isinstance(value, dict) and key != "extra":
                yield from paths(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}"

    assert set(paths(doc)) <= fields
    assert {"url", "source", "title", "body", "language", "published_at", "mentioned_dates", "entities.person",
            "entities.org", "entities.place", "ingested_at", "authors", "site_name"} <= set(paths(doc))


def test_template_matches_versioned_indices_and_is_strict():
    template = index_template("news")
    assert template["index_patterns"] == ["news-v*"]
    assert mappings()["dynamic"] == "strict"


def test_compose_creates_the_pools_the_dag_uses():
    init = " ".join(compose()["services"]["airflow-init"]["command"])
    dag_source = (REPO / "dags" / "news_nightly.py").read_text()
    for pool in ("newsetl_nlp", "newsetl_es"):
        assert f'"{pool}"' in dag_source and f"airflow pools set {pool} " in init
