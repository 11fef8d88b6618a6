"""config/watchlists.yml: what a valid watchlist is, and one clear line (file + watchlist) for each way it is not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.cli.main import main
from pipeline.core.errors import ConfigError
from pipeline.search.notify import (
    MAX_MESSAGE_ARTICLES,
    NotificationError,
    Notifier,
    Target,
    build_message,
    email_text,
    env_connection,
)
from pipeline.search.watchlists import Watchlist, load_watchlists, parse_since, watchlist_query
from tests.conftest import REPO

GOOD = """\
watchlists:
  - name: s400
    query: '"S-400" OR S400 -football'
    filters: {place: Turkey, country: [TR]}
    notify:
      - {kind: webhook, env: ALERTS_URL}
      - {kind: webhook, connection: desk_webhook}
      - {kind: email, to: [desk@example.org]}
  - name: blair
    filters: {person: "tony blair"}
"""


def write(tmp_path, text):
    path = tmp_path / "watchlists.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_reads_as_written(tmp_path):
    s400, blair = load_watchlists(write(tmp_path, GOOD))
    assert s400.name == "s400" and s400.filters == {"place": ["Turkey"], "country": ["TR"]}
    assert [t.id for t in s400.targets()] == ["webhook:env:ALERTS_URL", "webhook:connection:desk_webhook",
                                              "email:desk@example.org"]
    assert s400.targets()[2].connection == "smtp_default"  # Airflow's default SMTP connection
    assert blair.query is None and blair.notify == [] and blair.first_window_days == 1


def test_the_shipped_example_is_valid():
    assert [w.name for w in load_watchlists(REPO / "config" / "watchlists.yml")] == ["s400-turkey"]


ENTRY = "watchlists:\n  - name: desk\n"
BAD = [
    # (case, file text, what the one line must say)
    ("yaml syntax", "watchlists:\n  - name: [desk\n", "line 3, column 1: YAML syntax error"),
    ("not a list", "watchlists: {name: desk}\n", "'watchlists:' must be a list"),
    ("unknown top-level key", "watchlist:\n  - name: desk\n", "unknown key(s) ['watchlist']"),
    ("unknown key", ENTRY + "    query: x\n    quer: y\n", "watchlist 'desk': unknown key 'quer'"),
    ("secret in the file", ENTRY + "    query: x\n    notify: [{kind: webhook, url: 'https://h/x'}]\n",
     "watchlist 'desk': unknown key 'notify.0.url'"),
    ("bad query", ENTRY + "    query: '\"unclosed'\n", "watchlist 'desk': unclosed quote"),
    ("unknown field prefix", ENTRY + "    query: 'titel:x'\n", "watchlist 'desk': unknown field 'titel'"),
    ("unknown facet", ENTRY + "    filters: {persons: [x]}\n", "watchlist 'desk': unknown facet(s) ['persons']"),
    ("no query nor filter", ENTRY + "    description: all\n", "watchlist 'desk': needs a 'query' or 'filters'"),
    ("bad name", "watchlists:\n  - {name: 'Desk One', query: x}\n", "watchlist 'Desk One': name:"),
    ("name too long", "watchlists:\n  - {name: " + "d" * 600 + ", query: x}\n",
     "characters]…dddddddddddddddddddddddddd': name: 600 characters, at most 64"),
    ("name 65 characters", "watchlists:\n  - {name: " + "d" * 65 + ", query: x}\n", "65 characters, at most 64"),
    ("name with a space", "watchlists:\n  - {name: 'desk one', query: x}\n", "only a-z, 0-9, '-' and '_'"),
    ("name starting with -", "watchlists:\n  - {name: '-desk', query: x}\n", "starting with a letter or a digit"),
    ("duplicate name", ENTRY + "    query: x\n  - {name: desk, query: y}\n",
     "watchlist 'desk': the name is used twice"),
    ("webhook without secret", ENTRY + "    query: x\n    notify: [{kind: webhook}]\n", "exactly one of"),
    ("webhook with both", ENTRY + "    query: x\n    notify: [{kind: webhook, env: A, connection: b}]\n",
     "exactly one of"),
    ("env is a URL", ENTRY + "    query: x\n    notify: [{kind: webhook, env: 'https://h/x'}]\n",
     "must name an environment variable"),
    ("email without to", ENTRY + "    query: x\n    notify: [{kind: email}]\n", "needs 'to'"),
    ("email bad address", ENTRY + "    query: x\n    notify: [{kind: email, to: [desk]}]\n", "not an e-mail address"),
    ("unknown kind", ENTRY + "    query: x\n    notify: [{kind: pager, env: A}]\n", "notify.0.kind"),
    ("target twice", ENTRY + "    query: x\n    notify: [{kind: webhook, env: A}, {kind: webhook, env: A}]\n",
     "listed twice"),
    ("entry not a mapping", "watchlists:\n  - desk\n", "watchlist #1: expected a mapping"),
    ("first window", ENTRY + "    query: x\n    first_window_days: 0\n", "first_window_days"),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_file_is_one_line_naming_the_file_and_the_watchlist(tmp_path, case, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_watchlists(path)
    line = str(caught.value)
    assert "\n" not in line and line.startswith(str(path)), line
    assert message in line, line


def test_the_longest_name_gives_ids_elasticsearch_accepts(tmp_path):
    # Elasticsearch refuses a document id over 512 bytes: the state document's id is the name, an alert's
    # `<name>:<article id>` (an article id is 40 hex digits).
    from pipeline.runs.alerts import alert_id
    from pipeline.search.watchlists import MAX_NAME_CHARS

    name = "d" * MAX_NAME_CHARS
    (watchlist,) = load_watchlists(write(tmp_path, f"watchlists:\n  - {{name: {name}, query: x}}\n"))
    assert watchlist.name == name
    assert len(alert_id(name, "f" * 40).encode("utf-8")) <= 512


def test_a_missing_file_is_an_error_not_an_empty_list(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_watchlists(tmp_path / "nope.yml")


def test_the_cli_reports_a_bad_file_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NEWSETL_WATCHLISTS_CONFIG", str(write(tmp_path, ENTRY + "    query: 'titel:x'\n")))
    assert main(["watchlists", "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "watchlist 'desk'" in err and "Traceback" not in err


NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("36h", NOW - timedelta(hours=36)),
    ("7d", NOW - timedelta(days=7)),
    ("2026-11-30", datetime(2026, 11, 30, tzinfo=UTC)),
    ("2026-11-30T12:00:00Z", datetime(2026, 11, 30, 12, tzinfo=UTC)),
    ("2026-11-30T12:00:00+02:00", datetime(2026, 11, 30, 10, tzinfo=UTC)),
])
def test_since_reads_dates_and_durations(text, expected):
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "7 weeks", "-3d", ""])
def test_since_refuses_anything_else(text):
    with pytest.raises(ValueError, match="--since"):
        parse_since(text, NOW)


def test_the_query_is_the_search_services_own_restricted_to_the_ingest_window():
    watchlist = Watchlist(name="w", query='"S-400" -football', filters={"place": ["Turkey"]})
    query = watchlist_query(watchlist, NOW - timedelta(days=1), NOW)
    assert query["bool"]["must_not"]  # -football, as `newsetl search` builds it
    assert {"term": {"entities.place.folded": "Turkey"}} in query["bool"]["filter"]
    assert {"range": {"ingested_at": {"gte": "2026-12-01T03:00:00Z", "lte": "2026-12-02T03:00:00Z"}}} \
        in query["bool"]["filter"]


@given(st.text(max_size=200))
def test_a_query_never_reaches_elasticsearch_as_syntax(text):
    """Whatever the YAML says, the query is valid or refused; never passed on as query_string syntax."""
    try:
        watchlist = Watchlist(name="w", query=text)
    except ValueError:
        return
    body = json.dumps(watchlist_query(watchlist, NOW, NOW))
    assert "query_string" not in body and "simple_query_string" not in body


@pytest.mark.parametrize(("value", "expected"), [
    ('{"conn_type": "http", "host": "https://hooks.example.org/T1", '
     '"password": "p4ss", "extra": {"a": 1}}',  # pragma: allowlist secret
     ("https://hooks.example.org/T1", None, "p4ss", {"a": 1})),
    ('{"conn_type": "http", "host": "h", "extra": "{\\"endpoint\\": \\"/x\\"}"}',
     ("h", None, None, {"endpoint": "/x"})),
    ("smtp://user:s%40cret@mail.example.org:2525/?from_email=a%40b.org",  # pragma: allowlist secret
     ("mail.example.org", 2525, "s@cret", {"from_email": "a@b.org"})),
])
def test_connections_are_read_from_the_environment_in_airflows_forms(value, expected):
    conn = env_connection("desk", {"AIRFLOW_CONN_DESK": value})
    assert (conn.host, conn.port, conn.password, conn.extra_dejson) == expected


def test_a_webhook_url_is_built_from_a_connection_and_kept_secret():
    secret = "t0ps3cret"  # pragma: allowlist secret
    env = {"AIRFLOW_CONN_DESK": json.dumps({"conn_type": "http", "host": "hooks.example.org", "port": 8443,
                                            "schema": "https", "login": "bot", "password": secret,
                                            "extra": {"endpoint": "/in/abc", "headers": {"X-Token": "tok3n"}}})}
    url, headers, auth = Notifier(env=env).webhook_request(Target("webhook", connection="desk"))
    assert (url, headers, auth) == ("https://hooks.example.org:8443/in/abc", {"X-Token": "tok3n"}, ("bot", secret))
    with pytest.raises(NotificationError) as caught:
        Notifier(env={}).webhook_request(Target("webhook", env="NOT_SET"))
    assert "NOT_SET is not set" in str(caught.value)


def test_a_message_lists_the_matches_with_their_facets_and_caps_the_list():
    alerts = [{"article_id": f"a{i}", "title": f"T{i}", "url": f"https://x/{i}", "published_at": "2019-06-25",
               "source": "wire", "entities": {"person": ["Hulusi Akar"], "place": [], "country": ["Turkey"]}}
              for i in range(MAX_MESSAGE_ARTICLES + 3)]
    message = build_message({"name": "s400", "query": "S-400", "filters": {"place": ["Turkey"]}}, alerts)
    assert message["matches"] == MAX_MESSAGE_ARTICLES + 3 and message["omitted"] == 3
    assert message["articles"][0]["facets"] == {"person": ["Hulusi Akar"], "country": ["Turkey"]}
    text = email_text(message)
    assert "T0" in text and "https://x/0" in text and "person: Hulusi Akar" in text and "and 3 more" in text
