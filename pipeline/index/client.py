"""Elasticsearch connection in two modes: a configured cluster (ELASTICSEARCH_URL), or the embedded server."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from elasticsearch import Elasticsearch
from elasticsearch import exceptions as es_exceptions

from pipeline.errors import InfrastructureError
from pipeline.index.embedded import ensure_embedded_server
from pipeline.settings import Settings


def redact(url: str) -> str:
    """A URL safe to print: user info (credentials) removed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def connect(settings: Settings) -> Elasticsearch:
    """A checked client for the configured cluster, or for the embedded server (started if needed)."""
    url = ensure_embedded_server(settings.embedded_es_dir) if settings.elasticsearch.embedded else None
    client = build_client(settings, url)
    check_reachable(client, url or str(settings.elasticsearch.url))
    return client


def build_client(settings: Settings, embedded_url: str | None = None) -> Elasticsearch:
    """An unchecked client: credentials from settings or the URL, TLS certificates verified unless disabled."""
    cfg = settings.elasticsearch
    kwargs: dict = {"request_timeout": settings.index.request_timeout, "retry_on_timeout": True, "max_retries": 3}
    if embedded_url:
        url = embedded_url
    else:
        url = str(cfg.url)
        if cfg.api_key:
            kwargs["api_key"] = cfg.api_key.get_secret_value()
        elif cfg.username and cfg.password:
            kwargs["basic_auth"] = (cfg.username, cfg.password.get_secret_value())
        if url.startswith("https"):
            kwargs["verify_certs"] = cfg.verify_certs
            if cfg.ca_certs:
                kwargs["ca_certs"] = cfg.ca_certs
    return Elasticsearch(url, **kwargs)


def check_reachable(client: Elasticsearch, url: str) -> None:
    """Raise InfrastructureError with a clear, credential-free message unless the cluster answers."""
    try:
        client.info()
    except es_exceptions.AuthenticationException as exc:
        status = exc.meta.status
        raise InfrastructureError(f"Elasticsearch at {redact(url)} rejected the credentials ({status})") from None
    except (es_exceptions.ConnectionError, es_exceptions.TransportError, es_exceptions.ApiError) as exc:
        raise InfrastructureError(f"Elasticsearch at {redact(url)} is unreachable: {type(exc).__name__}") from None
