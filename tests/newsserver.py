"""A local HTTP server for fetch tests: pages, feeds and sitemaps with ETags, redirects, failures and delays."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What one path answers."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    etag: bool = True  # send an ETag and answer a matching If-None-Match with 304
    delay: float = 0.0  # seconds before answering (slow server)
    fail_times: int = 0  # answer the first N requests with fail_status, then normally
    fail_status: int = 500
    location: str | None = None  # a redirect target (with status 301/302)
    trickle: float = 0.0  # seconds between single bytes of the body (a slow-loris server)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """One request the server received."""

    path: str
    conditional: bool
    user_agent: str
    status: int


class NewsServer:
    """Threaded server on a free local port; `routes` may be changed while it runs."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._answer(server.routes.get(self.path.split("?")[0]))

            def _answer(self, route: Route | None) -> int:
                if route is None:
                    return self._send(404, b"not found", "text/plain")
                if route.delay:
                    time.sleep(route.delay)
                if route.fail_times > 0:
                    route.fail_times -= 1
                    return self._send(route.fail_status, b"failure", "text/plain")
                if route.location:
                    return self._send(route.status, b"", "text/plain", {"Location": route.location})
                etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"' if route.etag else None
                if etag and self.headers.get("If-None-Match") == etag:
                    return self._send(304, b"", None, {"ETag": etag})
                headers = dict(route.headers)
                if etag:
                    headers["ETag"] = etag
                return self._send(route.status, route.body, route.content_type, headers, trickle=route.trickle)

            def _send(self, status: int, body: bytes, content_type: str | None,
                      headers: dict[str, str] | None = None, trickle: float = 0.0) -> int:
                # Logged before answering: a client may look at the log as soon as it has its answer.
                conditional = bool(self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since"))
                server.hits.append(Hit(self.path, conditional, self.headers.get("User-Agent", ""), status))
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304 and trickle:
                    try:
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(trickle)
                    except OSError:  # the client gave up: that is the point of the test
                        pass
                elif status != 304:
                    self.wfile.write(body)
                return status

            def log_message(self, *args) -> None:  # quiet test output
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def start(self) -> NewsServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def add(self, path: str, body: str | bytes = b"", **kwargs) -> str:
        """Serve `body` at `path`; returns the absolute URL."""
        self.routes[path] = Route(body=body.encode() if isinstance(body, str) else body, **kwargs)
        return self.url + path

    def requests_to(self, path: str) -> list[Hit]:
        """Requests received for one path."""
        return [hit for hit in self.hits if hit.path.split("?")[0] == path]


def article_html(title: str, paragraphs: list[str], *, canonical: str | None = None, charset: str = "utf-8") -> str:
    """A small news page with a title, an optional canonical link and paragraphs of text."""
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<html><head><meta charset="{charset}"><title>{title}</title>{link}</head><body><nav>Home | World</nav>'
            f"<article><h1>{title}</h1>{body}</article><footer>Copyright</footer></body></html>")


def rss(items: list[tuple[str, str, str]]) -> str:
    """An RSS 2.0 feed of (title, link, RFC 822 date) items."""
    entries = "".join(f"<item><title>{t}</title><link>{link}</link><pubDate>{d}</pubDate></item>"
                      for t, link, d in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Test</title>{entries}</channel></rss>'
