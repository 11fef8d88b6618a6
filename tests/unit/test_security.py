"""Security: no committed secrets, credentials never shown, TLS verified, user input never acts as syntax or markup."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
from urllib.parse import quote

import pytest
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings
from elastic_transport import SecurityWarning
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.console import Console

from pipeline.cli.report import print_report
from pipeline.core.errors import InfrastructureError, scrub
from pipeline.core.settings import load_settings
from pipeline.index.embedded import free_port
from pipeline.index.store import Store, build_client
from pipeline.kibana.saved_objects import build_saved_objects
from pipeline.search.query import SearchRequest, build_query, fold
from pipeline.search.syntax import QuerySyntaxError
from tests.conftest import REPO

PASSWORD = "Tr0ub4dor-and-3"  # pragma: allowlist secret - a made-up test value
API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw"  # pragma: allowlist secret - made up


def repository_files() -> list[str]:
    """Every file git would commit: tracked files plus untracked ones that are not ignored."""
    listing = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                             capture_output=True, text=True, check=False)
    if listing.returncode != 0:
        pytest.skip("not a git checkout")
    return [str(REPO / name) for name in listing.stdout.splitlines() if (REPO / name).is_file()]


def scan(paths: list[str]) -> list[tuple[str, str, int]]:
    secrets = SecretsCollection()
    with default_settings():
        for path in paths:
            secrets.scan_file(path)
    return [(name, secret.type, secret.line_number) for name, secret in secrets]


def test_repository_has_no_committed_secrets():
    # A deliberate test value is marked `# pragma: allowlist secret` on its line; anything else fails here.
    assert scan(repository_files()) == []


def test_the_secret_scan_finds_a_planted_secret(tmp_path):
    planted = tmp_path / "settings.py"
    # Assembled at run time, so this test file itself holds nothing the scan would report.
    password, key = "Zq8ad1" + "LmW2vTk", "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
    planted.write_text(f'ELASTIC_URL = "https://elastic:{password}@es.example:9200"\n'
                       f'aws_secret_access_key = "{key}"\n')
    assert {kind for _name, kind, _line in scan([str(planted)])} >= {"Basic Auth Credentials", "Secret Keyword"}


@pytest.mark.parametrize("text,expected", [
    ("http://elastic:" + "pw@host:9200/x", "http://***@host:9200/x"),
    ("https://user@host", "https://***@host"),
    ("Authorization: ApiKey VnVhQ2ZHY0JDZGJr", "Authorization: ApiKey ***"),
    ("header Basic ZWxhc3RpYzpwdw==", "header Basic ***"),
    ("no credentials at http://host:9200", "no credentials at http://host:9200"),
])
def test_scrub_removes_credentials_from_messages(text, expected):
    assert scrub(text) == expected
    assert str(InfrastructureError(text)) == expected


@pytest.mark.parametrize("env", [
    {"ELASTICSEARCH_URL": "http://127.0.0.1:{port}", "ELASTICSEARCH_USERNAME": "elastic",
     "ELASTICSEARCH_PASSWORD": PASSWORD},
    {"ELASTICSEARCH_URL": "http://127.0.0.1:{port}", "ELASTICSEARCH_API_KEY": API_KEY},
    {"ELASTICSEARCH_URL": "http://elastic:" + PASSWORD + "@127.0.0.1:{port}"},
])
def test_credentials_never_appear_in_errors_or_logs(env, caplog, tmp_path):
    port = free_port()
    env = {k: v.format(port=port) for k, v in env.items()} | {"NEWSETL_DATA_DIR": str(tmp_path)}
    settings_ = load_settings(REPO / "config" / "settings.yml", env=env)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(InfrastructureError) as failure:
        Store.connect(settings_)
    shown = str(failure.value) + repr(failure.value) + caplog.text + repr(settings_) + str(settings_.model_dump())
    assert f"127.0.0.1:{port}" in str(failure.value)  # the message still says which cluster
    assert PASSWORD not in shown and API_KEY not in shown


def test_tls_certificates_are_verified_by_default_for_remote_clusters():
    remote = load_settings(REPO / "config" / "settings.yml", env={"ELASTICSEARCH_URL": "https://es.example:9200"})
    node = build_client(remote).transport.node_pool.all()[0]
    assert node.config.scheme == "https" and node.config.verify_certs is True


def test_turning_verification_off_is_an_explicit_setting(tmp_path):
    config = tmp_path / "config" / "settings.yml"
    config.parent.mkdir()
    config.write_text("elasticsearch:\n  verify_certs: false\n")
    insecure = load_settings(config, env={"ELASTICSEARCH_URL": "https://es.example:9200"})
    with pytest.warns(SecurityWarning, match="insecure"):  # and the client says so loudly
        client = build_client(insecure)
    assert client.transport.node_pool.all()[0].config.verify_certs is False


# ---------------------------------------------------------------------------------------------------------------
# User input is data


def _user_values(body: object) -> list[str]:
    """Every string in the query body that sits where user text goes (match text, term/prefix values)."""
    found: list[str] = []

    def walk(node: object, key: str | None = None) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in ("query", "value"):
            found.append(node)

    walk(body["query"])
    return found


SYNTAX = st.lists(st.sampled_from(list('ab :*?~^()[]{}"\\/!+-&|<>=') + [" OR ", " AND ", "NOT ", "_exists_:", "title:",
                                                                       "person:", "Sé", "US", "*"]),
                  max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(query=SYNTAX, person=st.lists(SYNTAX, max_size=3))
def test_queries_and_facet_values_are_never_parsed_as_query_syntax(query, person):
    try:
        body = build_query(SearchRequest(query=query or None, filters={"person": tuple(person)}))
    except QuerySyntaxError as exc:  # the parser refuses it with a message, before any request
        assert str(exc)
        return
    text = json.dumps(body)
    assert '"query_string"' not in text and '"simple_query_string"' not in text and '"regexp"' not in text
    assert '"wildcard"' not in text and '"script' not in text
    # Facet filters are plain values compared in the normalised sub-field.
    assert [f["term"]["entities.person.folded"] for f in body["query"]["bool"]["filter"]] == list(person)
    # Every piece of user text in the query is a piece of the input (lower-cased and accent-folded for prefixes).
    pieces = set(query.split()) | set(fold(query).split())
    for value in _user_values(body):
        for word in value.split():
            assert any(word in piece for piece in pieces), (word, query)
    if not query.strip():
        assert body["query"]["bool"]["must"] == [{"match_all": {}}]


def test_report_lines_from_input_are_printed_as_text_not_console_markup():
    out = io.StringIO()
    report = {"files": 1, "seen": 1, "indexed": 0, "unchanged": 0, "rejected": 1, "undated": 0,
              "rejections": [{"ref": "evil[/].txt", "stage": "read", "reason": "[bold red]fake[/] [link=x]y"}],
              "warnings": [{"ref": "w.txt", "stage": "clean", "message": "[/]"}]}
    print_report(report, Console(file=out, width=200, color_system=None))
    printed = out.getvalue()
    assert "evil[/].txt" in printed and "[bold red]fake[/] [link=x]y" in printed and "w.txt: [/]" in printed


def test_kibana_shows_article_fields_as_text_never_as_html():
    for obj in build_saved_objects("news"):
        if obj["type"] == "index-pattern":
            formats = json.loads(obj["attributes"].get("fieldFormatMap") or "{}")
            assert all(f.get("id") not in ("url", "html") for f in formats.values())
        assert "<script" not in json.dumps(obj)


def test_credentials_written_into_the_url_become_secret_settings():
    url = "https://elastic:" + PASSWORD + "@es.example:9200/"
    cfg = load_settings(REPO / "config" / "settings.yml", env={"ELASTICSEARCH_URL": url}).elasticsearch
    assert cfg.url == "https://es.example:9200/" and cfg.username == "elastic"
    assert cfg.password.get_secret_value() == PASSWORD and PASSWORD not in repr(cfg)


# -- credentials with any characters (issue 23) -----------------------------------------------------------------

# What people paste into a password or key: any printable ASCII but space, "/", "#", "?", "@" and "%" included
# (HTTP Basic and ApiKey headers carry ASCII only).
# A fixed start no message contains, so a generated value is never found in the text by coincidence ("batch_wo").
CREDENTIAL = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=4, max_size=40) \
    .map(lambda value: "Zq8" + value)


@pytest.mark.parametrize("password", ["se/cretpass", "se#cret?pass", "a@b/c#d?e", "pa:ss%word"])
def test_a_password_with_url_delimiters_is_taken_out_of_the_url_whole(password):
    url = f"http://user:{password}@es.example:9200/"
    cfg = load_settings(REPO / "config" / "settings.yml", env={"ELASTICSEARCH_URL": url}).elasticsearch
    assert (cfg.url, cfg.username) == ("http://es.example:9200/", "user")
    assert cfg.password.get_secret_value() in (password, "pa:ss%word")
    assert scrub(f"failed on {url}: refused") == "failed on http://***@es.example:9200/: refused"


@settings(max_examples=25, deadline=None)
@given(password=CREDENTIAL)
@example(password="Zq800000%80")  # pragma: allowlist secret - its %-escape decodes to non-ASCII: sent as UTF-8
@example(password="Zq8pässwörd-ü")  # pragma: allowlist secret - made up
def test_a_generated_password_in_the_url_never_shows(password):
    port = free_port()
    env = {"ELASTICSEARCH_URL": f"http://elastic:{password}@127.0.0.1:{port}"}
    settings_ = load_settings(REPO / "config" / "settings.yml", env=env)
    assert settings_.elasticsearch.url == f"http://127.0.0.1:{port}"
    with pytest.raises(InfrastructureError) as failure:
        Store.connect(settings_)
    shown = str(failure.value) + repr(failure.value) + repr(settings_) + str(settings_.model_dump())
    assert password not in shown and f"127.0.0.1:{port}" in str(failure.value)


@settings(max_examples=100, deadline=None)
@given(key=CREDENTIAL)
def test_a_generated_api_key_is_masked_whole(key):
    # By parsing: whatever characters follow "ApiKey", up to whitespace.
    assert key not in scrub(f"HEAD / Authorization: ApiKey {key} -> 401")
    # By value, once settings registered it: also where no pattern would find it, raw or percent-encoded.
    load_settings(REPO / "config" / "settings.yml", env={"ELASTICSEARCH_URL": "http://es.example:9200",
                                                         "ELASTICSEARCH_API_KEY": key})
    message = str(InfrastructureError(f"cluster said: invalid key [{key}] ({quote(key, safe='')})"))
    assert key not in message and quote(key, safe="") not in message


# -- bounded searches (issue 23) --------------------------------------------------------------------------------


@pytest.mark.parametrize(("request_", "error"), [
    ({"query": "word " * 20_000}, "query too long: 100,000 characters (limit 1,024)"),
    ({"query": "a " * 65}, "query too long: 65 words (limit 64)"),
    ({"query": "上海" * 40}, "query too long: 80 words (limit 64)"),  # every CJK character is a clause
    ({"filters": {"person": tuple(f"p{i}" for i in range(101))}}, "too many filter values: 101 (limit 100)"),
    ({"filters": {"org": ("x" * 257,)}}, "a filter value is longer than 256 characters"),
])
def test_oversized_searches_are_refused_with_a_clear_error(request_, error):
    with pytest.raises(ValueError, match=re.escape(error)):
        SearchRequest(**request_)


def test_the_largest_allowed_search_is_accepted():
    SearchRequest(query=" ".join(["word"] * 64), filters={"person": tuple(f"p{i}" for i in range(100))})


def test_a_100_kb_query_is_refused_before_anything_is_sent(monkeypatch, capsys, tmp_path):
    from pipeline.cli.main import main

    # No server listens there: reaching it would be exit 1, "unreachable".
    monkeypatch.setenv("ELASTICSEARCH_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NEWSETL_DATA_DIR", str(tmp_path))
    code = main(["search", "x" * 100_000])
    err = capsys.readouterr().err
    assert code == 2 and "query too long: 100,000 characters (limit 1,024)" in " ".join(err.split())
