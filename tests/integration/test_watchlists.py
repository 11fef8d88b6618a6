"""Watchlists end to end on the embedded server, with a webhook receiver on 127.0.0.1: matches recorded once,
one message per run, a failing receiver fails the run without losing matches or moving the high-water mark."""

from __future__ import annotations

import email
import json
import logging
import socketserver
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipeline.cli.main import main
from pipeline.index.store import Store
from pipeline.runners.stream import ingest
from pipeline.runs.alerts import alert_counts, alerts_index, read_states
from pipeline.search.notify import NotificationError, Notifier
from pipeline.search.watchlists import Watchlist, load_watchlists, run_watchlist
from tests.conftest import REPO, SEED

pytestmark = pytest.mark.integration

S400 = ("Turkey's defence minister Hulusi Akar briefed opposition leaders in Ankara on the purchase of the S-400 "
        "missile defence system from Russia, days before a NATO meeting in Brussels.")
ARTICLES = [
    {"id": "s400-a", "source": "wire", "published": "2019-06-25", "url": "https://news.example.org/s400-a",
     "title": "Ankara stands firm on S-400 deal", "text": S400},
    {"id": "s400-b", "source": "daily", "published": "2019-06-26", "url": "https://news.example.org/s400-b",
     "title": "Washington warns Turkey over S-400",
     "text": "Washington warned Turkey on Wednesday that the S-400 purchase from Russia would end its part in the "
             "F-35 programme, officials in Ankara said."},
    {"id": "harbour", "source": "daily", "published": "2019-06-26", "url": "https://news.example.org/harbour",
     "title": "Harbour strike ends in Rotterdam",
     "text": "Dock workers in Rotterdam ended a three-day strike on Friday after the port authority agreed to "
             "talks on pay."},
]
LATER = {"id": "s400-c", "source": "wire", "published": "2019-06-27", "url": "https://news.example.org/s400-c",
         "title": "First S-400 parts land in Ankara",
         "text": "The first parts of the S-400 system landed at an air base near Ankara, Turkey's defence ministry "
                 "said on Friday."}
SECRET_PATH = "/hooks/T0-s3cr3t-t0ken"


class Receiver:
    """A webhook endpoint on 127.0.0.1 (free port) that records every JSON body and answers `status`."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.paths: list[str] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                receiver.paths.append(self.path)
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{SECRET_PATH}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


class MailServer:
    """Just enough SMTP (RFC 5321: EHLO, MAIL, RCPT, DATA, QUIT) on 127.0.0.1 to receive what the notifier sends."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.recipients: list[str] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 test ESMTP\r\n")
                while line := self.rfile.readline():
                    verb = line[:4].upper()
                    if verb == b"DATA":
                        self.wfile.write(b"354 end with .\r\n")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk
                        outer.messages.append(email.message_from_bytes(data))
                        self.wfile.write(b"250 queued\r\n")
                    elif verb == b"RCPT":
                        outer.recipients.append(line.decode().split(":", 1)[1].strip(" <>\r\n"))
                        self.wfile.write(b"250 ok\r\n")
                    elif verb == b"QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def indexed(es_settings, tmp_path):
    ingest([write_jsonl(tmp_path / "night1.jsonl", ARTICLES)], es_settings)
    return Store.connect(es_settings)


def watchlist(**notify_env) -> Watchlist:
    notify = [{"kind": "webhook", "env": var} for var in notify_env] or [{"kind": "webhook", "env": "DESK_URL"}]
    return Watchlist(name="s400", query='"S-400" OR S400', filters={"place": ["Ankara"]}, notify=notify)


def alerts(store):
    store.refresh(alerts_index(store.alias))
    hits = store.search(alerts_index(store.alias), size=100, sort=[{"article_id": "asc"}])["hits"]["hits"]
    return {hit["_id"]: hit["_source"] for hit in hits}


def test_a_watchlist_alerts_once_per_match_and_then_only_on_new_articles(indexed, receiver, es_settings, tmp_path):
    notifier = Notifier(env={"DESK_URL": receiver.url})
    first = run_watchlist(indexed, watchlist(), notifier)

    assert first.new == 2 and first.notified == {"webhook:env:DESK_URL": 2}
    assert len(receiver.bodies) == 1 and receiver.paths == [SECRET_PATH]
    message = receiver.bodies[0]
    assert message["watchlist"]["name"] == "s400" and message["matches"] == 2
    by_url = {a["url"]: a for a in message["articles"]}
    assert set(by_url) == {"https://news.example.org/s400-a", "https://news.example.org/s400-b"}
    article = by_url["https://news.example.org/s400-a"]
    assert article["title"] == "Ankara stands firm on S-400 deal"
    assert article["published_at"].startswith("2019-06-25")
    assert "Ankara" in article["facets"]["place"] and "Hulusi Akar" in article["facets"]["person"]

    recorded = alerts(indexed)
    assert {doc["article_id"] for doc in recorded.values()} == {a["article_id"] for a in first.matches}
    assert all(key == f"s400:{doc['article_id']}" for key, doc in recorded.items())
    assert all(doc["pending"] == [] and doc["notified_at"] for doc in recorded.values())
    state = read_states(indexed, ["s400"])["s400"]
    assert state.high_water_mark == first.until and state.last_matches == 2

    # The same articles again: re-read (the window overlaps), recorded nowhere twice, nobody notified.
    second = run_watchlist(indexed, watchlist(), notifier)
    assert second.new == 0 and second.notified == {} and len(receiver.bodies) == 1
    assert alerts(indexed) == recorded

    # The next night brings one more matching article: the message holds it alone.
    ingest([write_jsonl(tmp_path / "night2.jsonl", [LATER])], es_settings)
    third = run_watchlist(indexed, watchlist(), notifier)
    assert third.new == 1 and len(receiver.bodies) == 2
    assert [a["url"] for a in receiver.bodies[1]["articles"]] == ["https://news.example.org/s400-c"]
    assert alert_counts(indexed) == {"s400": (3, 0)}


def test_a_failing_webhook_fails_the_run_keeps_the_matches_and_the_high_water_mark(indexed, receiver, caplog):
    notifier = Notifier(env={"DESK_URL": receiver.url})
    receiver.status = 500
    with caplog.at_level(logging.DEBUG), pytest.raises(NotificationError) as caught:
        run_watchlist(indexed, watchlist(), notifier)
    assert "HTTP 500" in str(caught.value) and "2 match(es) are recorded" in str(caught.value)
    assert SECRET_PATH not in str(caught.value) and "s3cr3t" not in caplog.text
    owed = alerts(indexed).values()
    assert [doc["pending"] for doc in owed] == [["webhook:env:DESK_URL"]] * 2
    # The mark is not past any unnotified match (so a retry days later still searches from there).
    mark = read_states(indexed, ["s400"])["s400"].high_water_mark
    assert mark == min(datetime.fromisoformat(doc["ingested_at"].replace("Z", "+00:00")) for doc in owed)

    receiver.status = 204  # Airflow's retry: the receiver is back, the owed matches go out, once
    retried = run_watchlist(indexed, watchlist(), notifier)
    assert retried.new == 0 and retried.notified == {"webhook:env:DESK_URL": 2}
    assert [body["matches"] for body in receiver.bodies] == [2, 2]
    assert read_states(indexed, ["s400"])["s400"].high_water_mark == retried.until


def test_a_target_that_worked_is_not_notified_again_when_another_failed(indexed, receiver):
    notifier = Notifier(env={"DESK_URL": receiver.url, "DOWN_URL": "http://127.0.0.1:9/unreachable"})
    with pytest.raises(NotificationError, match="1 of 2 target"):
        run_watchlist(indexed, watchlist(DESK_URL=1, DOWN_URL=1), notifier)
    assert len(receiver.bodies) == 1
    with pytest.raises(NotificationError):
        run_watchlist(indexed, watchlist(DESK_URL=1, DOWN_URL=1), notifier)
    assert len(receiver.bodies) == 1  # the desk got its message once
    assert alert_counts(indexed) == {"s400": (2, 2)}  # both still owed to the unreachable target


def test_a_dry_run_records_sends_and_moves_nothing(indexed, receiver):
    run = run_watchlist(indexed, watchlist(), Notifier(env={"DESK_URL": receiver.url}), dry_run=True)
    assert len(run.matches) == 2 and receiver.bodies == []
    assert not indexed.exists(alerts_index(indexed.alias))
    assert read_states(indexed, ["s400"])["s400"].high_water_mark is None


def test_since_limits_the_window_of_one_run(indexed, receiver):
    run = run_watchlist(indexed, watchlist(), Notifier(env={"DESK_URL": receiver.url}), dry_run=True,
                        since=datetime(2100, 1, 1, tzinfo=UTC))
    assert run.matches == []


def test_the_cli_lists_and_runs_watchlists(indexed, receiver, tmp_path, monkeypatch, capsys, es_settings, es_url):
    config = tmp_path / "watchlists.yml"
    config.write_text("watchlists:\n  - name: s400\n    query: '\"S-400\"'\n    filters: {place: Ankara}\n"
                      "    notify: [{kind: webhook, env: DESK_URL}]\n")
    for var, value in {"NEWSETL_WATCHLISTS_CONFIG": config, "NEWSETL_INDEX_ALIAS": es_settings.index.alias,
                       "NEWSETL_DATA_DIR": es_settings.data_dir, "ELASTICSEARCH_URL": es_url,
                       "DESK_URL": receiver.url}.items():
        monkeypatch.setenv(var, str(value))

    assert main(["watchlists", "run", "s400", "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["matches"] == 2 and receiver.bodies == []
    assert main(["watchlists", "run", "s400", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notified"] == {"webhook:env:DESK_URL": 2}
    assert main(["watchlists", "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["name"], row["alerts"], row["pending"], row["last_matches"]) == ("s400", 2, 0, 2)
    assert row["notify"] == ["webhook:env:DESK_URL"] and row["last_run_at"]

    receiver.status = 503
    ingest([write_jsonl(tmp_path / "night2.jsonl", [LATER])], es_settings)
    assert main(["watchlists", "run", "s400", "--since", "7d"]) == 1  # fails loudly: exit 1, one line
    err = capsys.readouterr().err
    assert "no watchlist" not in err and receiver.url not in err
    assert main(["watchlists", "run", "nope"]) == 2
    assert "no watchlist 'nope'; known: s400" in capsys.readouterr().err


def test_an_email_target_sends_through_the_smtp_connection(indexed):
    mail = MailServer()
    try:
        smtp = json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": mail.port,
                           "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "newsetl@example.org"}})
        desk = Watchlist(name="s400", query='"S-400"', notify=[{"kind": "email", "to": ["desk@example.org"],
                                                                 "connection": "desk_smtp"}])
        run = run_watchlist(indexed, desk, Notifier(env={"AIRFLOW_CONN_DESK_SMTP": smtp}))
        assert run.notified == {"email:desk@example.org": 2}
        (message,) = mail.messages
        assert mail.recipients == ["desk@example.org"] and message["From"] == "newsetl@example.org"
        assert message["Subject"] == "newsetl watchlist 's400': 2 new articles"
        body = message.get_payload(decode=True).decode()
        assert "https://news.example.org/s400-a" in body and "Washington warns Turkey over S-400" in body
    finally:
        mail.close()


def test_the_shipped_example_finds_the_seed_story_of_the_demo_data(es_settings, es_store):
    ingest([SEED], es_settings)
    (example,) = load_watchlists(REPO / "config" / "watchlists.yml")
    run = run_watchlist(es_store, example, Notifier(env={}))
    assert run.new == 1 and run.matches[0]["title"].startswith("Turkey's Defense Minister")
    assert alert_counts(es_store) == {example.name: (1, 0)}  # no target configured: nothing owed
