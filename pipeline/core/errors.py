"""Exceptions for broken infrastructure; bad articles are data (Rejection), never exceptions.

Credentials are kept out of every message by two means: by parsing (user info of any URL in the text, the value
after ApiKey/Basic/Bearer), and by value (the configured password and API key, registered when settings are
loaded, are replaced wherever they appear, also percent-encoded), so a credential with characters no pattern
expects is still masked whole.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote

# A URL's scheme and the rest of it up to the next whitespace. The user info is everything before the LAST "@" of
# that rest: a password may hold "/", "#", "?" or "@" (RFC 3986 wants them percent-encoded; people paste them raw),
# so the first "/" is no reliable end of the authority.
_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)(\S+)")
# An Authorization scheme and its value, whatever characters the value holds (up to whitespace).
_AUTH_VALUE = re.compile(r"(?i)\b(ApiKey|Basic|Bearer)\s+\S+")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_MIN_SECRET_CHARS = 4  # shorter values would mask ordinary words of messages; they are no credentials anyway


def split_userinfo(url: str) -> tuple[str | None, str]:
    """(user info, the URL without it) of `url`; user info is None when there is none.

    "http://user:se/cret@host:1/x" -> ("user:se/cret", "http://host:1/x").
    """
    match = _URL.match(url.strip())
    if not match or "@" not in match.group(2):
        return None, url
    scheme, rest = match.groups()
    userinfo, _, host_and_path = rest.rpartition("@")
    return userinfo, scheme + host_and_path


def register_secret(value: str | None) -> None:
    """Remember a credential so that `scrub` masks it wherever it turns up (raw or percent-encoded)."""
    if not value or len(value) < _MIN_SECRET_CHARS:
        return
    with _secrets_lock:
        _secrets.update({value, quote(value, safe=""), quote(value)})


def _scrub_url(match: re.Match[str]) -> str:
    scheme, rest = match.groups()
    if "@" not in rest:
        return match.group(0)
    return f"{scheme}***@{rest.rpartition('@')[2]}"


def scrub(text: str) -> str:
    """The text with URL credentials, Authorization values and registered secrets replaced by '***'."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)  # longest first: one secret may contain another
    for secret in secrets:
        text = text.replace(secret, "***")
    return _AUTH_VALUE.sub(r"\1 ***", _URL.sub(_scrub_url, text))


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
