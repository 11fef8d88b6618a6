"""The only network seam: every feed, sitemap, page and robots.txt request goes through `Fetcher`.

Polite and bounded: a product User-Agent, robots.txt (RFC 9309, via protego), a delay and a concurrency cap per
host, timeouts (per read and in total), a size limit, retries with exponential backoff on transient failures
(timeouts, dropped connections, 429, 5xx; Retry-After honoured), and conditional GET (ETag / Last-Modified -> 304).

Guarded against server-side request forgery: a feed, sitemap or redirect pointing at a loopback, private,
link-local or otherwise non-public address (127.0.0.1, 10.x, 169.254.169.254, ::1, ...) is refused after DNS
resolution, on the first request and on every redirect hop, unless its host is allowed explicitly
(`fetch.allow_hosts`, a source's `allow_hosts` option).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests
from protego import Protego
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

from pipeline.collect.decoding import DecodedText, decode_text
from pipeline.core.settings import FetchSettings

log = logging.getLogger(__name__)

_TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_MAX_RETRY_AFTER = 120.0  # seconds; a server asking for longer is treated as down for this run
_ROBOTS_BYTES = 500_000  # RFC 9309: parse at least 500 KiB


class FetchError(Exception):
    """A URL that could not be fetched: the reason is specific enough to act on."""

    def __init__(self, url: str, reason: str, *, status: int | None = None, transient: bool = False) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status
        self.transient = transient


@dataclass(frozen=True, slots=True)
class Validators:
    """What a conditional GET sends back: the ETag and Last-Modified of the copy already processed."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        """If-None-Match / If-Modified-Since headers for these validators."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)


@dataclass(frozen=True, slots=True)
class Response:
    """A fetched resource: final URL after redirects, status, body and the validators for next time."""

    url: str
    requested_url: str
    status: int
    content: bytes
    content_type: str
    charset: str | None
    validators: Validators
    redirected: bool = False

    @property
    def not_modified(self) -> bool:
        """True for a 304 answer to a conditional GET: the copy already processed is still current."""
        return self.status == 304

    def decoded(self) -> DecodedText:
        """The body as text: valid UTF-8, else the HTTP charset, else <meta>/XML declaration, else detected."""
        decoded = decode_text(self.content, declared=self.charset)
        if decoded is None:
            raise FetchError(self.url, f"binary content ({self.content_type or 'no content type'}), not text")
        return decoded


class Refused(requests.RequestException):
    """A request the SSRF guard stopped before it was sent."""


# ipaddress's flags, most specific first; an address none of them names but that is not globally routable
# (100.64.0.0/10 shared address space, documentation ranges) is "not public".
_NON_PUBLIC = (("is_loopback", "loopback"), ("is_link_local", "link-local"), ("is_private", "private"),
               ("is_multicast", "multicast"), ("is_unspecified", "unspecified"), ("is_reserved", "reserved"))


def non_public(address: str) -> str | None:
    """Why an IP address is not a public internet address ("loopback", "private", ...), or None when it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") is not part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for flag, label in _NON_PUBLIC:
        if getattr(ip, flag):
            return label
    return None if ip.is_global else "not public"


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter that resolves each request's host and refuses non-public addresses.

    requests sends every redirect hop through the adapter again, so each hop is checked. Hosts in `allowed`
    (lower-case names or IP literals) are not checked: a newsroom's own intranet feed, the test suite's server.
    """

    def __init__(self, allowed: set[str], *, resolve=socket.getaddrinfo, **kwargs) -> None:
        super().__init__(**kwargs)
        self.allowed = allowed
        self._resolve = resolve

    def send(self, request, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003 - HTTPAdapter's signature
        """Check the host of this hop, then send it."""
        self.check(request.url)
        return super().send(request, *args, **kwargs)

    def check(self, url: str) -> None:
        """Raise Refused when `url`'s host is not allowed and resolves to a non-public address."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host in self.allowed:
            return
        try:
            infos = self._resolve(host, parts.port or (443 if parts.scheme == "https" else 80),
                                  type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise requests.ConnectionError(f"cannot resolve {host}: {exc}") from None
        for info in infos:
            address = info[4][0]
            if reason := non_public(address):
                raise Refused(f"refused: {host} resolves to {address}, a {reason} address (fetching it could reach "
                              f"internal services; allow the host with fetch.allow_hosts or the source's allow_hosts "
                              f"if it is meant)")


@dataclass
class _Host:
    """Per-host politeness state: a concurrency cap, the time of the last request start, robots rules."""

    slots: threading.Semaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_start: float = 0.0
    delay: float = 0.0
    robots: Protego | None = None
    robots_loaded: bool = False
    robots_denies_all: bool = False
    unreachable: str | None = None  # why robots.txt could not even be requested (DNS, refused, timeout)


class Fetcher:
    """A polite HTTP client for one run; thread-safe, so `fetch_many` can overlap hosts."""

    def __init__(self, settings: FetchSettings, *, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._sleep = sleep
        self._session = session or requests.Session()
        adapter = GuardedAdapter({h.lower() for h in settings.allow_hosts}, pool_connections=settings.concurrency,
                                 pool_maxsize=settings.concurrency)
        self._guard = adapter
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers.update({"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"})
        self._session.max_redirects = settings.max_redirects
        self._hosts: dict[str, _Host] = {}
        self._hosts_lock = threading.Lock()
        self.requests_made = 0  # every HTTP request sent, robots.txt and retries included (run report)

    # -- public API ---------------------------------------------------------------------------------------------

    def allow_hosts(self, hosts: Iterable[str]) -> None:
        """Let this fetcher reach these hosts even at non-public addresses (a source's `allow_hosts` option)."""
        self._guard.allowed.update(h.lower() for h in hosts)

    def fetch(self, url: str, validators: Validators | None = None) -> Response:
        """GET one URL (conditionally when validators are given); raises FetchError with a specific reason.

        Everything, retries and redirects included, must finish within `fetch.total_timeout` seconds.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "not an http(s) URL")
        deadline = time.monotonic() + self.settings.total_timeout
        try:  # before robots.txt, so a refused host is reported as refused, not as "disallowed by robots.txt"
            self._guard.check(url)
        except Refused as exc:
            raise FetchError(url, str(exc)) from None
        except requests.ConnectionError:
            pass  # not resolvable now: the request itself tries again, with retries
        host = self._host(url)
        if self.settings.obey_robots and not self._allowed(url, host):
            if host.unreachable:  # no answer at all is not a robots.txt decision: say what happened
                raise FetchError(url, host.unreachable, transient=False)
            raise FetchError(url, f"disallowed by {parts.scheme}://{parts.netloc}/robots.txt for our User-Agent")
        retrying = Retrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, FetchError) and exc.transient),
            stop=stop_after_attempt(self.settings.retries + 1),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        return retrying(self._get_once, url, host, validators or Validators(), deadline=deadline)

    def fetch_many(self, requests_: Iterable[tuple[str, Validators | None]]
                   ) -> Iterator[tuple[str, Response | FetchError]]:
        """Fetch many URLs concurrently (bounded overall and per host); results in input order."""
        items = list(requests_)
        if not items:
            return
        with ThreadPoolExecutor(max_workers=self.settings.concurrency, thread_name_prefix="fetch") as pool:
            futures = [(url, pool.submit(self._fetch_or_error, url, validators)) for url, validators in items]
            for url, future in futures:
                yield url, future.result()

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    # -- internals ----------------------------------------------------------------------------------------------

    def _fetch_or_error(self, url: str, validators: Validators | None) -> Response | FetchError:
        try:
            return self.fetch(url, validators)
        except FetchError as exc:
            return exc

    def _host(self, url: str) -> _Host:
        key = urlsplit(url).netloc.lower()
        with self._hosts_lock:
            if key not in self._hosts:
                self._hosts[key] = _Host(slots=threading.Semaphore(self.settings.per_host_concurrency),
                                         delay=self.settings.per_host_delay)
            return self._hosts[key]

    def _allowed(self, url: str, host: _Host) -> bool:
        with host.lock:
            if not host.robots_loaded:
                self._load_robots(url, host)
                host.robots_loaded = True
        if host.robots_denies_all:
            return False
        return host.robots is None or host.robots.can_fetch(url, self.settings.user_agent)

    def _load_robots(self, url: str, host: _Host) -> None:
        """RFC 9309: 4xx means no rules; 5xx or unreachable means "disallow all" until the next run."""
        robots_url = urljoin(url, "/robots.txt")
        try:
            response = self._get_once(robots_url, host, Validators(), limit=_ROBOTS_BYTES, polite=False,
                                      deadline=time.monotonic() + self.settings.total_timeout)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return
            host.robots_denies_all = True
            if exc.status is None:
                host.unreachable = exc.reason if exc.reason.startswith("DNS") else f"host unreachable: {exc.reason}"
            log.warning("robots.txt of %s unavailable (%s): not fetching from this host in this run", robots_url,
                        exc.reason)
            return
        rules = Protego.parse(response.content.decode("utf-8", errors="replace"))
        host.robots = rules
        crawl_delay = rules.crawl_delay(self.settings.user_agent)
        if crawl_delay:
            host.delay = max(host.delay, min(float(crawl_delay), 60.0))

    def _get_once(self, url: str, host: _Host, validators: Validators, *, deadline: float,
                  limit: int | None = None, polite: bool = True) -> Response:
        limit = limit or self.settings.max_bytes
        with host.slots:
            if polite:
                self._wait_turn(host)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError(url, self._over_deadline())
            self.requests_made += 1
            try:
                with self._session.get(url, headers=validators.headers(), stream=True, allow_redirects=True,
                                       timeout=(min(self.settings.connect_timeout, remaining),
                                                min(self.settings.read_timeout, remaining))) as r:
                    return self._read(url, r, limit, deadline)
            except Refused as exc:
                raise FetchError(url, str(exc)) from None
            except requests.TooManyRedirects:
                raise FetchError(url, f"more than {self.settings.max_redirects} redirects") from None
            except (requests.Timeout, requests.ConnectionError) as exc:
                if _dns_failure(exc):  # a name that does not resolve: not worth retrying within the run
                    raise FetchError(url, f"DNS lookup failed for {urlsplit(url).hostname}: the host name does not "
                                          "resolve") from None
                raise FetchError(url, f"{_short(exc)}", transient=True) from None
            except requests.RequestException as exc:
                raise FetchError(url, f"request failed: {_short(exc)}") from None

    def _over_deadline(self) -> str:
        return f"not fetched within the total deadline of {self.settings.total_timeout:g} s (fetch.total_timeout)"

    def _wait_turn(self, host: _Host) -> None:
        """Space request starts on one host by its delay (the larger of ours and robots.txt's Crawl-delay)."""
        with host.lock:
            now = time.monotonic()
            start = max(now, host.next_start)
            host.next_start = start + host.delay
        if start > now:
            self._sleep(start - now)

    def _read(self, url: str, r: requests.Response, limit: int, deadline: float) -> Response:
        status = r.status_code
        if status == 304:
            return self._response(url, r, b"")
        if status in _TRANSIENT_STATUS:
            error = FetchError(url, f"HTTP {status} {r.reason or ''}".strip(), status=status, transient=True)
            error.retry_after = _retry_after(r.headers.get("Retry-After"))  # type: ignore[attr-defined]
            raise error
        if status >= 400:
            raise FetchError(url, f"HTTP {status} {r.reason or ''}".strip(), status=status)
        declared = r.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FetchError(url, f"response too large: {int(declared):,} bytes (limit {limit:,})")
        body = bytearray()
        try:
            # read1: whatever one receive brings (at most read_timeout apart), so the total deadline is checked
            # between trickled bytes too; iter_content would wait for a whole 64 KiB chunk.
            while chunk := r.raw.read1(65536, decode_content=True):
                body += chunk
                if len(body) > limit:
                    raise FetchError(url, f"response too large: more than {limit:,} bytes")
                if time.monotonic() > deadline:
                    raise FetchError(url, self._over_deadline())
        except (ProtocolError, ReadTimeoutError, OSError) as exc:  # dropped or stalled mid-body
            raise FetchError(url, f"body not received in full: {_short(exc)}", transient=True) from None
        except DecodeError as exc:  # undecodable gzip and the like
            raise FetchError(url, f"unreadable body: {_short(exc)}") from None
        return self._response(url, r, bytes(body))

    @staticmethod
    def _response(url: str, r: requests.Response, content: bytes) -> Response:
        content_type = r.headers.get("Content-Type", "")
        charset = None
        for param in content_type.split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip("\"' ")
        return Response(url=r.url, requested_url=url, status=r.status_code, content=content,
                        content_type=content_type.split(";")[0].strip().lower(), charset=charset,
                        validators=Validators(r.headers.get("ETag"), r.headers.get("Last-Modified")),
                        redirected=bool(r.history))

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff from settings.backoff, or the server's Retry-After when it names one."""
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(retry_after, _MAX_RETRY_AFTER)
        return min(self.settings.backoff * 2 ** (state.attempt_number - 1), 60.0)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _dns_failure(exc: BaseException) -> bool:
    """True when a connection error comes from name resolution (socket.gaierror somewhere in its chain, which
    urllib3 wraps as NameResolutionError)."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror) or type(current).__name__ == "NameResolutionError":
            return True
        stack += [current.__cause__, current.__context__, *(a for a in current.args if isinstance(a, BaseException)),
                  getattr(current, "reason", None) if isinstance(getattr(current, "reason", None), BaseException)
                  else None]
    return False


def _short(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("fetch failed (%s); attempt %d, retrying in %.1f s", exc,
                state.attempt_number, state.next_action.sleep if state.next_action else 0)
