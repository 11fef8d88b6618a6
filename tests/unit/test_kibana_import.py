"""`newsetl kibana import` against a stand-in Kibana on loopback: the request Kibana expects, retries, clear errors."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from pydantic import SecretStr

from pipeline.cli.main import main
from pipeline.core.errors import InfrastructureError
from pipeline.kibana.importer import import_saved_objects, import_url
from pipeline.kibana.saved_objects import build_saved_objects
from tests.conftest import REPO, make_settings

SECRET = "kib-" + "pass"  # pragma: allowlist secret - a test value


@dataclass
class FakeKibana:
    """Answers POST /api/saved_objects/_import: `statuses` first (one per request), then success or `errors`."""

    statuses: list[int] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)

    def start(self) -> str:
        kibana = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                message = BytesParser(policy=HTTP).parsebytes(
                    b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body)
                files = {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                         for part in message.iter_parts()}
                kibana.requests.append({"path": self.path, "xsrf": self.headers.get("kbn-xsrf"),
                                        "auth": self.headers.get("Authorization"), "file": files.get("file")})
                if kibana.statuses:
                    self._send(kibana.statuses.pop(0), {"statusCode": 503, "message": "Kibana is not ready yet"})
                    return
                lines = (files.get("file") or b"").decode().splitlines()
                self._send(200, {"success": not kibana.errors, "successCount": len(lines) - len(kibana.errors),
                                 "errors": kibana.errors})

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def kibana() -> Iterator[tuple[FakeKibana, str]]:
    fake = FakeKibana()
    url = fake.start()
    yield fake, url
    fake.stop()


def settings_for(tmp_path, url: str, **env: str):
    settings = make_settings(tmp_path, "http://127.0.0.1:9", "news")
    es = settings.elasticsearch.model_copy(update={"username": "elastic", "password": SecretStr(SECRET)})
    index = settings.index.model_copy(update={"retry_seconds": 1.5, "retry_initial_backoff": 0.05})
    return settings.model_copy(update={"elasticsearch": es, "index": index,
                                       "kibana": settings.kibana.model_copy(update={"url": url, **env})})


@pytest.mark.parametrize(("space", "path"), [
    (None, "/api/saved_objects/_import?overwrite=true"),
    ("newsroom", "/s/newsroom/api/saved_objects/_import?overwrite=true"),
])
def test_import_url_names_the_space(space, path):
    assert import_url("http://kibana:5601/", space) == "http://kibana:5601" + path


def test_the_saved_objects_reach_kibana_after_it_answered_busy(kibana, tmp_path):
    fake, url = kibana
    fake.statuses = [503, 503]  # still starting
    ndjson = (REPO / "config" / "kibana" / "saved_objects.ndjson").read_bytes()
    result = import_saved_objects(settings_for(tmp_path, url), ndjson)
    assert result.imported == len(ndjson.decode().splitlines())
    assert len(fake.requests) == 3
    last = fake.requests[-1]
    assert last["xsrf"] == "true" and last["file"] == ndjson
    assert last["auth"] == "Basic " + base64.b64encode(f"elastic:{SECRET}".encode()).decode()


def test_objects_kibana_refuses_are_a_clear_error(kibana, tmp_path):
    fake, url = kibana
    fake.errors = [{"type": "lens", "id": "news-top-people", "error": {"type": "missing_references"}}]
    with pytest.raises(InfrastructureError, match="refused 1 saved object.*lens news-top-people: missing_references"):
        import_saved_objects(settings_for(tmp_path, url), b'{"id": "x"}\n')


@pytest.mark.parametrize(("status", "message"), [(401, "rejected the credentials"), (400, "refused the import")])
def test_a_refused_request_fails_without_retrying_or_leaking_the_password(kibana, tmp_path, status, message):
    fake, url = kibana
    fake.statuses = [status]
    with pytest.raises(InfrastructureError, match=message) as failure:
        import_saved_objects(settings_for(tmp_path, url.replace("http://", f"http://elastic:{SECRET}@")), b"{}\n")
    assert SECRET not in str(failure.value) and len(fake.requests) == 1


@pytest.mark.parametrize(("url", "said"), [
    ("http://127.0.0.1:{port}", "Kibana at http://127.0.0.1:{port} refused the connection: is Kibana running"),
    ("http://kibana.invalid:5601", "Kibana at http://kibana.invalid:5601 has a host name that does not resolve"),
])
def test_kibana_that_is_not_there_fails_at_once_naming_the_url(tmp_path, monkeypatch, url, said):
    """Connection refused or an unknown host: one attempt, not the whole retry budget (two minutes by default)."""
    from pipeline.index.embedded import free_port

    port = free_port()  # nothing listens there
    attempts = []
    post = requests.Session.post
    monkeypatch.setattr(requests.Session, "post", lambda self, *a, **k: attempts.append(1) or post(self, *a, **k))
    settings = settings_for(tmp_path, url.format(port=port))
    settings = settings.model_copy(update={"index": settings.index.model_copy(update={"retry_seconds": 600})})
    with pytest.raises(InfrastructureError, match=said.format(port=port)):
        import_saved_objects(settings, b"{}\n")
    assert len(attempts) == 1


def test_cli_imports_the_objects_of_the_configured_alias(kibana, tmp_path, monkeypatch, capsys):
    fake, url = kibana
    monkeypatch.setenv("KIBANA_URL", url)
    monkeypatch.setenv("NEWSETL_INDEX_ALIAS", "newsroom")
    monkeypatch.setenv("NEWSETL_DATA_DIR", str(tmp_path))  # no embedded server there: the default time range
    monkeypatch.delenv("ELASTICSEARCH_URL", raising=False)
    assert main(["kibana", "import"]) == 0
    sent = [json.loads(line) for line in fake.requests[-1]["file"].decode().splitlines()]
    assert sent == json.loads(json.dumps(build_saved_objects("newsroom")))
    assert "newsroom" in capsys.readouterr().out
    monkeypatch.delenv("KIBANA_URL")
    assert main(["kibana", "import"]) == 1
    assert "set KIBANA_URL" in capsys.readouterr().err
