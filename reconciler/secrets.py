"""Secret values known to this process, and their redaction from any text.

Credential values are registered when the config is loaded; every error message, log line and
rendered URL passes through :func:`redact`, so a secret that slips into a message shows as ``***``.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

_lock = threading.Lock()
_secrets: set[str] = set()
# Query parameters that carry secrets on some provider (InTime: ``hash``).
SECRET_PARAMS = frozenset({"hash", "password", "token", "sessiontoken", "key", "apikey"})


def register(value: str) -> None:
    """Remember ``value`` as a secret; short values (< 4 chars) are ignored to keep text readable."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)
            _secrets.add(quote(value, safe=""))


def redact(text: str) -> str:
    """Replace every registered secret in ``text`` with ``***``."""
    if not _secrets:
        return text
    with _lock:
        values = sorted(_secrets, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, "***")
    return text


def redact_url(url: str) -> str:
    """Return ``url`` with secret query parameters and registered secrets replaced by ``***``."""
    parts = urlsplit(url)
    if parts.query:
        pairs = [
            (k, "***" if k.lower() in SECRET_PARAMS else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        query = urlencode(pairs, safe="*")
        parts = parts._replace(query=query)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=netloc)
    return redact(urlunsplit(parts))


_BASIC = re.compile(r"(?i)(authorization:\s*basic\s+)\S+")


def redact_headers(text: str) -> str:
    """Hide Basic credentials in a dumped header block."""
    return _BASIC.sub(r"\1***", redact(text))
