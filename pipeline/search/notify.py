"""Sending a watchlist's matches: one message per target and run, by webhook (JSON POST) or e-mail (SMTP).

Secrets never come from config/watchlists.yml: a target names an Airflow connection id or an environment variable.
In a DAG task the connection is read by Airflow (`Connection.get`, with its secrets backends) and passed in as
`get_connection`, so this module never imports Airflow; outside Airflow (`newsetl watchlists run`) a connection
is read from `AIRFLOW_CONN_<ID>` in the environment, in Airflow's JSON or URI form. URLs, passwords and headers
are registered as secrets, so no message or log line shows them (pipeline.core.errors.scrub).
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

import requests

from pipeline.core.errors import InfrastructureError, register_secret, scrub
from pipeline.core.facets import FACETS

# A message lists at most this many articles (a chat message or an e-mail past that is not read); the count says
# how many more were recorded, and the alerts index has them all.
MAX_MESSAGE_ARTICLES = 100
# Seconds a webhook or SMTP server may take to answer; then the target failed and the task is retried.
TIMEOUT_S = 10.0
# Airflow's own default SMTP connection id (apache-airflow-providers-smtp).
DEFAULT_SMTP_CONNECTION = "smtp_default"


class NotificationError(InfrastructureError):
    """A target did not accept a message (HTTP status >= 300, refused connection, SMTP error): the run fails so
    that Airflow retries it; the matches stay recorded and pending."""


class ConnectionFields(Protocol):
    """What is read from an Airflow connection (airflow.sdk.Connection has these attributes)."""

    host: str | None
    port: int | None
    schema: str | None
    login: str | None
    password: str | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class EnvConnection:
    """An Airflow connection read from the environment (`AIRFLOW_CONN_<ID>`), outside Airflow."""

    conn_type: str | None = None
    host: str | None = None
    port: int | None = None
    schema: str | None = None
    login: str | None = None
    password: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def extra_dejson(self) -> dict[str, Any]:
        """The connection's extra fields, as Airflow's Connection names them."""
        return self.extra


def env_connection(conn_id: str, env: Mapping[str, str] | None = None) -> EnvConnection:
    """The connection `conn_id` from `AIRFLOW_CONN_<CONN_ID>` (Airflow's naming: upper case), JSON or URI form.

    Raises KeyError when the variable is not set, ValueError when it cannot be read.
    """
    env = os.environ if env is None else env
    var = f"AIRFLOW_CONN_{conn_id.upper()}"
    raw = env.get(var)
    if not raw:
        raise KeyError(f"connection {conn_id!r} is not defined (set {var} or define it in Airflow)")
    if raw.lstrip().startswith("{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError:
            raise ValueError(f"{var} is not valid JSON") from None
        extra = data.get("extra") or {}
        return EnvConnection(data.get("conn_type"), data.get("host"), data.get("port"), data.get("schema"),
                             data.get("login"), data.get("password"),
                             json.loads(extra) if isinstance(extra, str) else dict(extra))
    parts = urlsplit(raw)  # Airflow's URI form: conn-type://login:password@host:port/schema?extra=value
    return EnvConnection(parts.scheme.replace("-", "_"), unquote(parts.hostname or "") or None, parts.port,
                         unquote(parts.path.lstrip("/")) or None, unquote(parts.username or "") or None,
                         unquote(parts.password or "") or None, dict(parse_qsl(parts.query)))


GetConnection = Callable[[str], ConnectionFields]


class _ScrubSecrets(logging.Filter):
    """urllib3 logs every request with its path at DEBUG; a webhook URL is a secret (Slack's carries its token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_ScrubSecrets())


@dataclass(frozen=True)
class Target:
    """Where a watchlist's messages go: `kind` webhook (URL from `connection` or the variable `env`) or email
    (to `to`, through the SMTP `connection`). `id` names it in the alerts index without any secret."""

    kind: str
    connection: str | None = None
    env: str | None = None
    to: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """A stable, secret-free name: webhook:env:VAR, webhook:connection:ID or email:a@x,b@y."""
        if self.kind == "email":
            return "email:" + ",".join(self.to)
        return f"webhook:env:{self.env}" if self.env else f"webhook:connection:{self.connection}"


def article_entry(alert: dict[str, Any]) -> dict[str, Any]:
    """What a message says of one matched article: title, url, dates, source, language and its facets."""
    entities = alert.get("entities") or {}
    return {"id": alert.get("article_id"), "title": alert.get("title"), "url": alert.get("url"),
            "published_at": alert.get("published_at"), "source": alert.get("source"),
            "language": alert.get("language"),
            "facets": {facet: entities[facet] for facet in FACETS if entities.get(facet)}}


def build_message(watchlist: dict[str, Any], alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON body of a webhook (the e-mail says the same in text): `text` (a one-line summary, which Slack,
    Mattermost and Teams-compatible incoming webhooks display), the watchlist (name, description, query, filters),
    `matches` (how many), `articles` (at most MAX_MESSAGE_ARTICLES, oldest match first) and `omitted`."""
    name, count = watchlist["name"], len(alerts)
    return {
        "text": f"newsetl watchlist {name!r}: {count} new article{'' if count == 1 else 's'}",
        "watchlist": watchlist,
        "matches": count,
        "articles": [article_entry(a) for a in alerts[:MAX_MESSAGE_ARTICLES]],
        "omitted": max(0, count - MAX_MESSAGE_ARTICLES),
    }


def email_text(message: dict[str, Any]) -> str:
    """The plain-text body of the e-mail for a message."""
    lines = [message["text"], ""]
    query = message["watchlist"].get("query")
    if query:
        lines.append(f"query: {query}")
    for facet, values in (message["watchlist"].get("filters") or {}).items():
        lines.append(f"{facet}: {', '.join(values)}")
    for article in message["articles"]:
        lines += ["", f"- {article['title'] or '(no title)'}",
                  f"  {article['url'] or article['id']}",
                  f"  published {article['published_at'] or 'undated'}, source {article['source']}"]
        lines += [f"  {facet}: {', '.join(values)}" for facet, values in article["facets"].items()]
    if message["omitted"]:
        lines += ["", f"... and {message['omitted']} more (see the alerts index in Kibana)"]
    return "\n".join(lines) + "\n"


class Notifier:
    """Sends messages to targets; connections come from `get_connection` (Airflow's, or the environment's)."""

    def __init__(self, get_connection: GetConnection | None = None, env: Mapping[str, str] | None = None,
                 timeout: float = TIMEOUT_S) -> None:
        self.env = os.environ if env is None else env
        self.get_connection: GetConnection = get_connection or (lambda cid: env_connection(cid, self.env))
        self.timeout = timeout

    def send(self, target: Target, message: dict[str, Any]) -> None:
        """Deliver one message; NotificationError (secret-free) when the target does not accept it."""
        if target.kind == "webhook":
            self._webhook(target, message)
        elif target.kind == "email":
            self._email(target, message)
        else:
            raise NotificationError(f"unknown notification kind {target.kind!r}")

    def _connection(self, target: Target, conn_id: str) -> ConnectionFields:
        try:
            conn = self.get_connection(conn_id)
        except Exception as exc:  # noqa: BLE001 - Airflow's not-found, KeyError, ValueError: all say "not usable"
            raise NotificationError(f"{target.id}: connection {conn_id!r} cannot be read: {exc}") from None
        register_secret(conn.password)
        return conn

    def webhook_request(self, target: Target) -> tuple[str, dict[str, str], tuple[str, str] | None]:
        """(url, headers, basic auth) of a webhook target. From a connection: `host` as a whole URL, or
        scheme (extra `scheme`, else the schema field when it is http/https, else https) + host + port + extra
        `endpoint`; extra `headers` (e.g. an Authorization token) and login/password as HTTP basic auth."""
        if target.env:
            url = self.env.get(target.env, "")
            if not url:
                raise NotificationError(f"{target.id}: the environment variable {target.env} is not set")
            _register_url(url)
            return url, {}, None
        conn = self._connection(target, target.connection or "")
        extra = conn.extra_dejson or {}
        host = conn.host or ""
        if not host:
            raise NotificationError(f"{target.id}: connection {target.connection!r} has no host")
        if "://" in host:
            url = host + str(extra.get("endpoint") or "")
        else:
            scheme = extra.get("scheme") or (conn.schema if conn.schema in ("http", "https") else "https")
            url = f"{scheme}://{host}{f':{conn.port}' if conn.port else ''}{extra.get('endpoint') or ''}"
        _register_url(url)
        headers = {str(k): str(v) for k, v in (extra.get("headers") or {}).items()}
        for value in headers.values():
            register_secret(value)
        auth = (conn.login, conn.password or "") if conn.login else None
        return url, headers, auth

    def _webhook(self, target: Target, message: dict[str, Any]) -> None:
        url, headers, auth = self.webhook_request(target)
        try:
            # No redirects: a POST redirected would arrive as a GET elsewhere; a 3xx is reported as a failure.
            response = requests.post(url, json=message, headers=headers, auth=auth, timeout=self.timeout,
                                     allow_redirects=False)
        except requests.RequestException as exc:  # the URL is a secret (Slack's carries its token): type only
            raise NotificationError(f"{target.id}: the webhook could not be reached ({type(exc).__name__})") from None
        if response.status_code >= 300:
            raise NotificationError(f"{target.id}: the webhook answered HTTP {response.status_code}")

    def _email(self, target: Target, message: dict[str, Any]) -> None:
        """Send through the SMTP connection as Airflow's SMTP provider reads it: host, port, login/password;
        extra `from_email`, `disable_ssl` (default false: SMTP over TLS), `disable_tls` (default false: STARTTLS
        when SSL is disabled)."""
        conn_id = target.connection or DEFAULT_SMTP_CONNECTION
        conn = self._connection(target, conn_id)
        extra = conn.extra_dejson or {}
        mail = EmailMessage()
        mail["Subject"] = message["text"]
        mail["From"] = str(extra.get("from_email") or conn.login or "newsetl@localhost")
        mail["To"] = ", ".join(target.to)
        mail.set_content(email_text(message))
        use_ssl = not _flag(extra.get("disable_ssl"))
        try:
            if use_ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(conn.host or "localhost", conn.port or 465,
                                                      timeout=self.timeout, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(conn.host or "localhost", conn.port or 25, timeout=self.timeout)
            with smtp:
                if not use_ssl and not _flag(extra.get("disable_tls")):
                    smtp.starttls(context=ssl.create_default_context())
                if conn.login:
                    smtp.login(conn.login, conn.password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotificationError(f"{target.id}: the SMTP server of connection {conn_id!r} refused the message "
                                    f"({type(exc).__name__})") from None


def _register_url(url: str) -> None:
    """Mask the URL wherever it turns up, and its path and query alone: urllib3 logs the request target only."""
    parts = urlsplit(url)
    register_secret(url)
    if parts.path not in ("", "/") or parts.query:
        register_secret(parts.path + (f"?{parts.query}" if parts.query else ""))
        register_secret(parts.path)


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "1", "yes")
