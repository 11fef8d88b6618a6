"""Exceptions for broken infrastructure; bad articles are data (Rejection), never exceptions."""

from __future__ import annotations

import re

# Credentials that could ride along in a message: user info in URLs and Authorization header values.
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_AUTH_VALUE = re.compile(r"(?i)\b(ApiKey|Basic|Bearer)\s+[A-Za-z0-9+/=._~-]{6,}")


def scrub(text: str) -> str:
    """The text with URL credentials and Authorization values replaced by '***'."""
    return _AUTH_VALUE.sub(r"\1 ***", _URL_USERINFO.sub("***@", text))


class InfrastructureError(RuntimeError):
    """Elasticsearch unreachable, the embedded server failing to start, a full disk: the run must fail loudly.

    Messages end up in terminals, Airflow task logs and run reports, so credentials are scrubbed from them.
    """

    def __init__(self, message: str) -> None:
        super().__init__(scrub(message))


class ConfigError(ValueError):
    """A configuration file that cannot be used: missing where one was named, or not valid YAML. One line."""


class ModelNotInstalled(RuntimeError):
    """The configured spaCy model is not installed in this environment (defined here, not beside spaCy, so that
    the CLI can catch it without importing spaCy)."""
