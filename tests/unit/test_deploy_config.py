"""What ships for users with Docker and Kibana: compose file, saved objects and mapping agree with the code.

The compose file holds two stacks: the single-machine default and the `scale` profile (CeleryExecutor, Redis,
MinIO staging, a 3-node Elasticsearch cluster). A profile only adds services, so the shared services are switched by
variables in .env: the commented "Scale stack" block of .env.example. These tests render the file with .env.example
as it ships (the default stack) and with that block uncommented (the scale stack).
"""

import json
import os
import re
import subprocess
import tomllib

import pytest
import yaml

from pipeline.core.facets import FACETS
from pipeline.core.records import Article, DateMention, EnrichedArticle, Enrichment, EntityMention
from pipeline.index.document import to_document
from pipeline.index.mapping import index_template, mappings
from pipeline.kibana.saved_objects import (
    FACET_LABELS,
    NDJSON_PATH,
    build_saved_objects,
    fields_by_view,
    main,
    mapped_fields,
    places_map,
    validate,
)
from tests.conftest import REPO, have_docker_compose

COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
AIRFLOW_IMAGE = "newsetl-airflow:local"
SCALE_ONLY = ["scale-check", "redis", "airflow-worker-1", "airflow-worker-2", "minio", "minio-bucket", "es02", "es03"]
ES_NODES = {"elasticsearch": "es01", "es02": "es02", "es03": "es03"}


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _env_lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if re.match(r"^[A-Z_][A-Z0-9_]*=", line))


def default_env() -> dict[str, str]:
    """The variables of .env.example as it ships: `cp .env.example .env`."""
    return _env_lines(ENV_EXAMPLE.read_text())


def scale_block() -> dict[str, str]:
    """The commented switches that turn the default stack into the scale stack, from COMPOSE_PROFILES=scale on."""
    lines = ENV_EXAMPLE.read_text().splitlines()
    start = lines.index("# COMPOSE_PROFILES=scale")
    block = []
    for line in lines[start:]:
        if not re.match(r"^# [A-Z_][A-Z0-9_]*=", line):
            break
        block.append(line[2:])
    return _env_lines("\n".join(block))


def scale_env() -> dict[str, str]:
    return {**default_env(), **scale_block()}


_VAR = re.compile(r"\$\$|\$\{(\w+)(?:(:-|:\?)([^}]*))?\}")


def interpolate(node, env: dict[str, str]):
    """Compose's substitution for the forms this file uses: ${VAR}, ${VAR:-default}, ${VAR:?error}; `$$` stays
    escaped, as in `docker-compose config` output."""
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(value, env) for value in node]
    if not isinstance(node, str):
        return node

    def sub(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$$"
        name, op, arg = match.groups()
        value = env.get(name, "")
        if op == ":?" and not value:
            raise KeyError(f"{name}: {arg}")
        return value or (arg if op == ":-" else "")

    return _VAR.sub(sub, node)


def active(profiles: set[str]) -> dict[str, dict]:
    """The services `docker compose up` starts with these profiles (services without profiles always start)."""
    return {name: svc for name, svc in compose()["services"].items()
            if not svc.get("profiles") or profiles & set(svc["profiles"])}


def rendered(env: dict[str, str]) -> dict[str, dict]:
    """The services active with the env's COMPOSE_PROFILES, their values substituted from env."""
    profiles = {p for p in env.get("COMPOSE_PROFILES", "").split(",") if p}
    return {name: interpolate(svc, env) for name, svc in active(profiles).items()}


def airflow_services(services: dict[str, dict]) -> dict[str, dict]:
    return {name: svc for name, svc in services.items() if svc.get("image") == AIRFLOW_IMAGE}


def _run_script(service: str, env: dict[str, str], path: str | None = None) -> subprocess.CompletedProcess:
    """Run a one-shot's `sh -c` script here, with the environment compose would give its container."""
    svc = compose()["services"][service]
    assert svc["entrypoint"] == ["/bin/sh", "-c"]
    script = svc["command"][0].replace("$$", "$")
    container_env = {key: str(value) for key, value in interpolate(svc["environment"], env).items()}
    container_env["PATH"] = f"{path}:/usr/bin:/bin" if path else "/usr/bin:/bin"
    return subprocess.run(["sh", "-c", script], env=container_env, capture_output=True, text=True, check=False)


def test_compose_has_the_whole_stack():
    services = compose()["services"]
    assert {"postgres", "airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer", "elasticsearch", "kibana", "kibana-password", "kibana-import"} <= set(services)
    assert services["elasticsearch"]["image"].endswith(":${STACK_VERSION:-9.2.0}")
    assert services["elasticsearch"]["environment"]["xpack.security.enabled"] == "true"
    assert rendered(default_env())["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    # The saved objects go in through `newsetl kibana import` (built from code for the alias, retried while busy).
    assert services["kibana-import"]["command"] == ["bash", "-c", "newsetl kibana import"]
    assert services["kibana-import"]["environment"]["KIBANA_URL"] == "http://kibana:5601"
    assert services["kibana-import"]["image"] == services["airflow-scheduler"]["image"]


def test_default_stack_is_the_single_machine_one():
    services = rendered(default_env())
    assert not set(SCALE_ONLY) & set(services)
    assert set(airflow_services(services)) == {"airflow-init", "airflow-apiserver", "airflow-scheduler",
                                               "airflow-dag-processor", "airflow-triggerer", "kibana-import"}
    for name, svc in airflow_services(services).items():
        env = svc["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        # Empty values: settings.yml applies (local staging folder, 1 shard, 0 replicas).
        assert env["NEWSETL_STAGING_URL"] == "" and env["NEWSETL_INDEX_REPLICAS"] == "", name
    es = services["elasticsearch"]
    assert es["environment"]["discovery.type"] == "single-node"
    assert es["environment"]["discovery.seed_hosts"] == ""
    # Elasticsearch refuses to start a single node that also has initial master nodes.
    assert "cluster.initial_master_nodes" not in es["environment"]
    assert "es-data:/usr/share/elasticsearch/data" in es["volumes"]  # today's data volume, kept


@pytest.mark.parametrize("name", SCALE_ONLY)
def test_scale_profile_service_runs_only_in_that_profile(name):
    assert compose()["services"][name]["profiles"] == ["scale"]
    assert name in active({"scale"}) and name not in active(set())


@pytest.mark.parametrize("profiles", [set(), {"scale"}], ids=["default", "scale"])
def test_depends_on_names_only_active_services(profiles):
    services = active(profiles)
    for name, svc in services.items():
        missing = set(svc.get("depends_on", {})) - set(services)
        assert not missing, f"{name} depends on {missing}, not started with profiles {profiles or 'none'}"


def test_scale_stack_runs_two_celery_workers_on_redis():
    services = rendered(scale_env())
    workers = {name: svc for name, svc in airflow_services(services).items()
               if svc.get("command") == ["celery", "worker"]}
    assert sorted(workers) == ["airflow-worker-1", "airflow-worker-2"]
    assert len({svc["hostname"] for svc in workers.values()}) == 2
    for name, svc in workers.items():
        deps = svc["depends_on"]
        # The pools exist before a worker takes work: airflow-init creates them (the scheduler enforces them).
        assert deps["airflow-init"]["condition"] == "service_completed_successfully", name
        assert deps["redis"]["condition"] == "service_healthy", name
        assert deps["minio-bucket"]["condition"] == "service_completed_successfully", name
        assert deps["scale-check"]["condition"] == "service_completed_successfully", name
        assert svc["environment"]["AIRFLOW__CELERY__BROKER_URL"] == (
            f"redis://:{scale_env()['REDIS_PASSWORD']}@redis:6379/0")
        assert svc["environment"]["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://airflow:")
    assert "--requirepass" in " ".join(services["redis"]["command"])
    init = " ".join(services["airflow-init"]["command"])
    assert "CeleryExecutor" in init and "/dev/tcp/redis/6379" in init  # the broker is up before the scheduler


@pytest.mark.parametrize("name", ["airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                                  "airflow-triggerer", "airflow-worker-1", "airflow-worker-2"])
def test_every_airflow_service_of_the_scale_stack_uses_celery_and_minio_staging(name):
    services = rendered(scale_env())
    assert set(airflow_services(services)) >= {name}
    env = services[name]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["NEWSETL_STAGING_URL"].startswith("s3://")
    conn_id = env["NEWSETL_STAGING_CONN_ID"]
    conn = json.loads(env[f"AIRFLOW_CONN_{conn_id.upper()}"])
    assert conn["conn_type"] == "aws" and conn["extra"]["endpoint_url"] == "http://minio:9000"
    assert (conn["login"], conn["password"]) == (scale_env()["MINIO_ROOT_USER"], scale_env()["MINIO_ROOT_PASSWORD"])
    assert int(env["NEWSETL_INDEX_REPLICAS"]) >= 1 and int(env["NEWSETL_INDEX_SHARDS"]) >= 1
    assert services[name]["environment"]["ELASTICSEARCH_URL"] == "http://elasticsearch:9200"


def test_staging_connection_takes_its_credentials_from_the_environment():
    raw = compose()["x-airflow"]["environment"]["AIRFLOW_CONN_NEWSETL_STAGING"]
    assert '"password":"${MINIO_ROOT_PASSWORD:?set MINIO_ROOT_PASSWORD in .env}"' in raw


def test_scale_stack_has_a_three_node_elasticsearch_cluster():
    services = rendered(scale_env())
    nodes = {service: services[service]["environment"] for service in ES_NODES}
    assert {env["node.name"] for env in nodes.values()} == set(ES_NODES.values())
    assert "es01" in services["elasticsearch"]["networks"]["default"]["aliases"]  # es01 resolves to that service
    masters = set()
    for service, env in nodes.items():
        assert env["discovery.type"] == "multi-node", service
        others = set(ES_NODES.values()) - {env["node.name"]}
        assert set(env["discovery.seed_hosts"].split(",")) == others, service  # each node seeds from the other two
        if "cluster.initial_master_nodes" in env:
            masters.add(env["cluster.initial_master_nodes"])
        assert env["xpack.security.enabled"] == "true" and env["xpack.security.http.ssl.enabled"] == "false"
        assert env["xpack.security.transport.ssl.enabled"] == "true"  # required between nodes with security on
        assert env["xpack.security.transport.ssl.keystore.path"] == "certs/transport.p12"
        assert "es-certs:/usr/share/elasticsearch/config/certs:ro" in services[service]["volumes"]
        assert services[service]["depends_on"]["es-certs"]["condition"] == "service_completed_successfully"
        assert env["ELASTIC_PASSWORD"] == scale_env()["ELASTIC_PASSWORD"]
    assert len(masters) == 1 and set(masters.pop().split(",")) == set(ES_NODES.values())  # one cluster, bootstrapped
    data = [volume for service in ES_NODES for volume in services[service]["volumes"]
            if volume.endswith(":/usr/share/elasticsearch/data")]
    # Fresh volumes, never the single node's: the two clusters' data never mix.
    assert len(set(data)) == 3 and not any(volume.startswith("es-data:") for volume in data)


def test_kibana_and_airflow_reach_elasticsearch_at_one_url_in_both_stacks():
    for env in (default_env(), scale_env()):
        services = rendered(env)
        assert services["kibana"]["environment"]["ELASTICSEARCH_HOSTS"] == "http://elasticsearch:9200"
        for name, svc in airflow_services(services).items():
            assert svc["environment"]["ELASTICSEARCH_URL"] == "http://elasticsearch:9200", name


def test_scale_check_passes_with_the_documented_switches():
    result = _run_script("scale-check", scale_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "scale settings ok" in result.stdout


@pytest.mark.parametrize("switch", ["AIRFLOW_EXECUTOR", "ES_DISCOVERY_TYPE", "ES_SEED_HOSTS", "ES_DATA_VOLUME",
                                    "STAGING_URL", "INDEX_REPLICAS"])
def test_scale_check_names_a_missing_switch(switch):
    env = {key: value for key, value in scale_env().items() if key != switch}
    result = _run_script("scale-check", env)
    assert result.returncode != 0
    assert f"set {switch}=" in result.stdout
    assert result.stdout.count("scale profile: set") == 1


def test_every_switch_of_the_scale_block_is_used_by_the_compose_file():
    text = COMPOSE.read_text()
    for key in set(scale_block()) - {"COMPOSE_PROFILES"}:
        assert "${" + key + ":-" in text, key
    assert scale_block()["COMPOSE_PROFILES"] == "scale"


def test_minio_bucket_one_shot_creates_the_staging_bucket(tmp_path):
    log = tmp_path / "mc.log"
    mc = tmp_path / "mc"
    mc.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    mc.chmod(0o755)
    result = _run_script("minio-bucket", scale_env(), path=str(tmp_path))
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    env = scale_env()
    bucket = env["STAGING_URL"].removeprefix("s3://").split("/")[0]
    assert calls == [f"alias set staging http://minio:9000 {env['MINIO_ROOT_USER']} {env['MINIO_ROOT_PASSWORD']}",
                     f"mb --ignore-existing staging/{bucket}"]


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
        if path.upper().endswith("KEYSTORE.PATH"):
            # A keystore's location, not a secret: the generated certificate in the es-certs volume.
            assert value.startswith("certs/"), path
        elif any(word in key for word in ("PASSWORD", "SECRET", "KEY")):
            assert value.startswith("${"), f"{path} must come from .env, not be written in the compose file"


def test_airflow_image_uses_the_pinned_versions():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    assert "-c constraints.txt" in dockerfile
    # the S3 staging, the CeleryExecutor of the scale stack, the French NER model of nlp.models
    assert '".[airflow,s3,celery,fr]"' in dockerfile


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]).lower()


@pytest.mark.parametrize("extra", ["airflow", "s3", "celery", "fr"])
def test_image_extras_are_pinned_in_constraints(extra):
    requirements = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"][extra]
    pinned = {_name(line) for line in (REPO / "constraints.txt").read_text().splitlines() if "==" in line}
    assert requirements and {_name(r) for r in requirements} <= pinned


def test_celery_extra_brings_the_provider_and_the_redis_client():
    pins = dict(line.split("==") for line in (REPO / "constraints.txt").read_text().splitlines() if "==" in line)
    for name in ("apache-airflow-providers-celery", "celery", "kombu", "redis"):
        assert name in pins, name


@pytest.mark.skipif(not have_docker_compose(), reason="Debian's docker-compose is not installed")
def test_docker_compose_config_validates(tmp_path):
    ok = subprocess.run(["docker-compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE),
                         "config", "-q"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    empty = tmp_path / "empty.env"
    empty.write_text("\n")
    missing = subprocess.run(["docker-compose", "--env-file", str(empty), "-f", str(COMPOSE), "config", "-q"],
                             capture_output=True, text=True, check=False, env={"PATH": "/usr/bin:/bin"})
    assert missing.returncode != 0 and "set" in missing.stderr and "in .env" in missing.stderr


def _compose_config(env_file, *args: str) -> subprocess.CompletedProcess:
    # Only PATH from this process: a COMPOSE_PROFILES or switch set here must not leak into the check.
    return subprocess.run(["docker-compose", "--env-file", str(env_file), "-f", str(COMPOSE), *args, "config"],
                          capture_output=True, text=True, check=False,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})


@pytest.mark.skipif(not have_docker_compose(), reason="Debian's docker-compose is not installed")
@pytest.mark.parametrize("stack", ["default", "scale", "profile-flag"])
def test_docker_compose_renders_each_stack_as_these_tests_do(tmp_path, stack):
    env = scale_env() if stack == "scale" else default_env()
    env_file = tmp_path / "stack.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
    result = _compose_config(env_file, *(["--profile", "scale"] if stack == "profile-flag" else []))
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert set(services) == set(compose()["services"])  # v1 renders every service, whatever the profiles
    ours = {name: interpolate(svc, env) for name, svc in compose()["services"].items()}
    for name in ("airflow-scheduler", "airflow-worker-1", "elasticsearch", "es02", "minio-bucket", "scale-check"):
        assert services[name]["environment"] == ours[name]["environment"], name


def test_committed_saved_objects_are_generated_from_code():
    assert main(["--check"]) == 0, "run: python -m pipeline.kibana.saved_objects"
    lines = NDJSON_PATH.read_text().splitlines()
    assert [json.loads(line) for line in lines] == json.loads(json.dumps(build_saved_objects()))


def test_saved_objects_reference_existing_objects_and_mapped_fields():
    objects = build_saved_objects()
    assert validate(objects, fields_by_view()) == []
    views = {o["attributes"]["title"]: o["attributes"]["timeFieldName"]
             for o in objects if o["type"] == "index-pattern"}
    assert views == {"news": "timeline_at", "news-runs": "started_at",  # timeline_at: undated articles too
                     "news-alerts": "matched_at"}
    dashboards = {o["attributes"]["title"]: o for o in objects if o["type"] == "dashboard"}
    assert set(dashboards) == {"News overview", "Pipeline health", "Watchlist alerts"}
    assert {(d["attributes"]["timeRestore"], d["attributes"]["timeFrom"], d["attributes"]["timeTo"])
            for d in dashboards.values()} == {(True, "now-1y", "now"), (True, "now-30d", "now")}
    searches = {o["attributes"]["title"]: o for o in objects if o["type"] == "search"}
    assert set(searches) == {"News articles", "Watchlist alerts"} | {f"Articles by {label}"
                                                                     for label in FACET_LABELS.values()}
    by_person = json.loads(searches["Articles by person"]["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert by_person["filter"][0]["query"] == {"exists": {"field": "entities.person"}}
    lens_titles = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "lens"}
    overview = [r["id"] for r in dashboards["News overview"]["references"] if r["type"] == "lens"]
    assert {lens_titles[i] for i in overview} == {"Articles over time", "Top persons", "Top organisations",
                                                  "Top places", "Top other names", "Mentioned dates", "Top sources",
                                                  "Languages", "Articles without an NER model", "Stories",
                                                  "Most copied stories"}
    controls = json.loads(dashboards["News overview"]["attributes"]["controlGroupInput"]["panelsJSON"])
    assert {c["explicitInput"].get("fieldName") for c in controls.values()} == {
        "entities.person", "entities.org", "entities.place", "entities.misc", "entities.country", "source",
        "site_name", "authors", "language", "enrichment", None}  # None: the time slider
    # The articles a language without a model left without facets, as a chart of their own.
    no_model = next(o for o in objects if o["type"] == "lens" and o["attributes"]["title"].endswith("NER model"))
    assert no_model["attributes"]["state"]["query"]["query"] == 'enrichment : "no-model"'
    maps = [r["id"] for r in dashboards["News overview"]["references"] if r["type"] == "map"]
    assert maps == [places_map("news")["id"]]


def test_the_map_shows_resolved_places_and_articles_per_country_code():
    layers = {layer["label"]: layer for layer in json.loads(places_map("news")["attributes"]["layerListJSON"])}
    assert layers["Places in articles"]["sourceDescriptor"]["geoField"] == "geo"
    assert mappings()["properties"]["geo"] == {"type": "geo_point"}
    join = layers["Articles per country"]["joins"][0]
    assert (join["leftField"], join["right"]["term"]) == ("iso2", "entities.country_code")


def _object(objects, obj_type, title):
    return next(o for o in objects if o["type"] == obj_type and o["attributes"]["title"] == title)


def test_a_saved_search_per_facet_type_by_construction():
    assert {o["id"].rsplit("-by-", 1)[1] for o in build_saved_objects() if "-by-" in o["id"]} == set(FACETS)


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
    places_map_object = next(o for o in objects if o["type"] == "map")
    layers = json.loads(places_map_object["attributes"]["layerListJSON"])
    layers[2]["sourceDescriptor"]["geoField"] = "location"
    layers[1]["joins"][0]["right"]["indexPatternRefName"] = "nowhere"
    places_map_object["attributes"]["layerListJSON"] = json.dumps(layers)
    health["attributes"]["timeRestore"] = False
    by_org = _object(objects, "search", "Articles by organisation")
    source = json.loads(by_org["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    source["filter"][0]["meta"]["key"] = "entities.orgs"
    by_org["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"] = json.dumps(source)
    problems = "\n".join(validate(objects, fields_by_view()))
    for expected in ["'entities.nope' is not in the mapping", "does not exist", "uses 'entities.people'",
                     "layer layer1 has no data view reference", "panel 1 has no reference 1:panel_1",
                     "filters on 'entities.nobody'", "column headline uses 'published'",
                     "visualization uses unknown column 'gone'", "uses 'location', not in the mapping",
                     "names 'nowhere', which is not a reference", "no stored time range",
                     "'entities.orgs' is not in the mapping"]:
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
    doc.update(ingested_at="2019-06-25T00:00:00Z", timeline_at="2019-06-25T00:00:00Z", story_id="d",
               story_bands=["00ab"], story_signature="AAAA")
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
