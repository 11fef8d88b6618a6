"""A fault-injecting HTTP proxy for tests: it sits in front of the test server and fails the requests a plan picks."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from pipeline.core.settings import Settings


@dataclass(frozen=True)
class Fault:
    """Answer a request with this status instead of forwarding it (and say so in an Elasticsearch error body)."""

    status: int
    error_type: str = "es_rejected_execution_exception"


# A plan sees (method, path, how many requests to this path came before) and returns a Fault, or None to forward.
Plan = Callable[[str, str, int], Fault | None]
# Rewrites a forwarded response body (for item-level failures inside a successful bulk response).
Rewrite = Callable[[str, str, int, bytes], bytes]


@dataclass
class FaultProxy:
    """Forward HTTP requests to `upstream`, failing some according to `plan`; `seen` logs every request."""

    upstream: str
    plan: Plan = lambda method, path, count: None  # noqa: E731 - a default that forwards everything
    rewrite: Rewrite | None = None
    seen: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, status answered)
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> str:
        """Serve on a free loopback port in a background thread; returns the proxy's URL."""
        proxy = self
        target = urlsplit(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                with proxy._lock:
                    count = proxy._counts.get(path, 0)
                    proxy._counts[path] = count + 1
                fault = proxy.plan(self.command, path, count)
                if fault:
                    payload = json.dumps({"error": {"type": fault.error_type, "reason": "injected by the test"},
                                          "status": fault.status}).encode()
                    self._answer(fault.status, payload, {"Content-Type": "application/json"})
                    proxy.seen.append((self.command, path, fault.status))
                    return
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if proxy.rewrite and self.command != "HEAD":
                    data = proxy.rewrite(self.command, path, count, data)
                keep = {k: v for k, v in response.getheaders()
                        if k.lower() not in ("content-length", "transfer-encoding", "connection")}
                conn.close()
                self._answer(response.status, data, keep, head=self.command == "HEAD")
                proxy.seen.append((self.command, path, response.status))

            def _answer(self, status: int, data: bytes, headers: dict[str, str], head: bool = False) -> None:
                self.send_response(status)
                headers.setdefault("X-Elastic-Product", "Elasticsearch")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle  # noqa: N815 - http.server's naming

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def statuses(self, path_suffix: str) -> list[int]:
        """Statuses answered to requests whose path ends with `path_suffix`, in order."""
        return [status for _method, path, status in self.seen if path.endswith(path_suffix)]


def tuned(settings: Settings, **index) -> Settings:
    """Settings with small bulk chunks and fast, short retries, so faults show up quickly."""
    values = {"bulk_chunk_size": 4, "retry_seconds": 2.0, "retry_initial_backoff": 0.05, "request_timeout": 5.0}
    values.update(index)
    return settings.model_copy(update={"index": settings.index.model_copy(update=values)})


def through(settings: Settings, url: str) -> Settings:
    """Settings that reach Elasticsearch at another URL (the fault proxy)."""
    return settings.model_copy(update={"elasticsearch": settings.elasticsearch.model_copy(update={"url": url})})
