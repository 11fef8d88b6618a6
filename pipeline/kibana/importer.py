"""Import the generated saved objects into Kibana: data views, saved search and dashboards in one request.

Kibana is reached over its saved-objects API (`POST /api/saved_objects/_import?overwrite=true`, header
`kbn-xsrf`, multipart `file`), with Elasticsearch's credentials (Kibana authenticates against the same realm).
The request follows the cluster calls' policy (pipeline/index/store.py): the same retry policy and budget for
timeouts, dropped connections and 429/502/503/504 (503 "Kibana server is not ready yet" while it starts), failures
raised as InfrastructureError with credentials scrubbed. A refused connection or a host name that does not resolve
fails at once: nothing listens at that address, and waiting the whole budget (two minutes) only hid a wrong
KIBANA_URL or a Kibana that is not running.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

import requests

from pipeline.core.errors import InfrastructureError
from pipeline.core.settings import Settings
from pipeline.index.store import TRANSIENT_STATUS, redact, retry_policy


class _TransientAnswer(Exception):
    """Kibana answered with a status that means "not now" (it is starting, or busy)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text[:200]}")
        self.status = status


@dataclass
class ImportResult:
    """What Kibana reported: objects imported, and the objects it refused with their reason."""

    imported: int
    errors: list[dict[str, Any]] = field(default_factory=list)


def import_url(base: str, space: str | None = None) -> str:
    """The import endpoint of a Kibana (in a space, when one is named), overwriting objects with the same id."""
    prefix = f"/s/{space}" if space else ""
    return f"{base.rstrip('/')}{prefix}/api/saved_objects/_import?overwrite=true"


def import_saved_objects(settings: Settings, ndjson: bytes, *, url: str | None = None,
                         space: str | None = None) -> ImportResult:
    """Send the NDJSON saved objects to Kibana; returns the count imported.

    Raises InfrastructureError when Kibana is not configured, cannot be reached within the retry budget, refuses
    the credentials, or refuses any object (the message names the first ones and why).
    """
    base = url or settings.kibana.url
    if not base:
        raise InfrastructureError("no Kibana to import into: set KIBANA_URL (or pass --url)")
    endpoint = import_url(base, space if space is not None else settings.kibana.space)
    session = _session(settings)

    def send() -> requests.Response:
        response = session.post(endpoint, headers={"kbn-xsrf": "true"}, timeout=settings.index.request_timeout,
                                files={"file": ("saved_objects.ndjson", ndjson, "application/ndjson")})
        if response.status_code in TRANSIENT_STATUS:
            raise _TransientAnswer(response.status_code, response.text)
        return response

    where = redact(base)
    try:
        response = retry_policy(settings.index, _is_transient)(send)
    except _TransientAnswer as exc:
        raise InfrastructureError(f"Kibana at {where} kept answering {exc}") from None
    except requests.RequestException as exc:
        cause = _not_there(exc)
        if cause:
            raise InfrastructureError(f"Kibana at {where} {cause}: is Kibana running, and is KIBANA_URL (or --url) "
                                      f"right?") from None
        raise InfrastructureError(f"Kibana at {where} is unreachable: {type(exc).__name__}") from None
    if response.status_code in (401, 403):
        raise InfrastructureError(f"Kibana at {where} rejected the credentials ({response.status_code})")
    if response.status_code >= 400:
        raise InfrastructureError(f"Kibana at {where} refused the import: HTTP {response.status_code} "
                                  f"{response.text[:300]}")
    body = response.json()
    errors = body.get("errors") or []
    if not body.get("success", False) or errors:
        first = "; ".join(f"{e.get('type')} {e.get('id')}: {(e.get('error') or {}).get('type')}" for e in errors[:3])
        raise InfrastructureError(f"Kibana at {where} refused {len(errors)} saved object(s): {first}")
    return ImportResult(imported=int(body.get("successCount", 0)))


def _session(settings: Settings) -> requests.Session:
    session = requests.Session()
    es = settings.elasticsearch
    if es.api_key:
        session.headers["Authorization"] = f"ApiKey {es.api_key.get_secret_value()}"
    elif es.username and es.password:
        session.auth = (es.username, es.password.get_secret_value())
    session.verify = es.ca_certs or es.verify_certs
    return session


def _is_transient(exc: BaseException) -> bool:
    if _not_there(exc):
        return False
    return isinstance(exc, (_TransientAnswer, requests.ConnectionError, requests.Timeout))


def _not_there(exc: BaseException) -> str | None:
    """Why nothing can answer at the address ("refused the connection", "has a host name that does not resolve"),
    or None for a failure worth retrying. requests wraps the socket error in urllib3's errors: the chain of causes,
    reasons and arguments is searched."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "refused the connection"
        if isinstance(current, socket.gaierror):
            return "has a host name that does not resolve"
        pending += [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
    return None
