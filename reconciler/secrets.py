"""Secret values known to this process, and their redaction from any text.

Credential values a provider marks secret (passwords, hashes, tokens; not usernames, domains or
hosts) are registered when the config is loaded; every error message, log line and rendered URL
passes through :func:`redact`, so a secret that slips into a message shows as ``***``.

A secret is also recognised in the encodings it travels in: percent-encoded (query strings),
JSON- and XML-escaped (bodies a server may echo) and as the base64 of a Basic ``Authorization``
header (:func:`register_basic`). A secret of one to three characters is replaced only where it
stands as a whole token (not inside a longer word), so that it is hidden without turning every
occurrence of a common letter into ``***``.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

_lock = threading.Lock()
_secrets: set[str] = set()
SHORT = 4  # secrets shorter than this are redacted as whole tokens only
# Query parameters that carry secrets on some provider (InTime: ``hash``).
SECRET_PARAMS = frozenset({"hash", "password", "token", "sessiontoken", "key", "apikey"})


def _forms(value: str) -> set[str]:
    """``value`` as it may appear in a URL, a JSON string or an XML document."""
    return {
        value,
        quote(value, safe=""),
        quote(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        html.escape(value),
        html.escape(value, quote=False),
    }


def register(value: str) -> None:
    """Remember ``value`` (and its URL/JSON/XML encodings) as a secret; empty values are ignored."""
    if not value:
        return
    with _lock:
        _secrets.update(form for form in _forms(value) if form)


def register_basic(user: str, password: str) -> None:
    """Remember the base64 token of a Basic ``Authorization`` header for ``user``:``password``."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    register(token)


def redact(text: str) -> str:
    """Replace every registered secret in ``text`` with ``***``."""
    if not _secrets:
        return text
    with _lock:
        values = sorted(_secrets, key=len, reverse=True)
    for value in values:
        if value not in text:
            continue
        if len(value) >= SHORT:
            text = text.replace(value, "***")
        else:
            text = re.sub(rf"(?<![\w*]){re.escape(value)}(?![\w*])", "***", text)
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


_AUTHORIZATION = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:basic|bearer)?\s*)[^\s'\",}]+")


def redact_headers(text: str) -> str:
    """Hide the credentials of ``Authorization`` headers (Basic or Bearer) in a dumped header block."""
    return _AUTHORIZATION.sub(r"\1***", redact(text))
