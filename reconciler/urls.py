"""Which URLs a credential may travel to: an origin, and the plain-http rule.

Credentials travel in headers (Intouch), bodies (SMSConnector) and query strings (InTime), so
plain http is accepted only to a loopback address (the sandbox), and a redirect never leaves the
origin of the request that was sent (:mod:`reconciler.http`).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from reconciler.errors import ReconcilerError
from reconciler.secrets import redact_url


def origin(url: str) -> tuple[str, str, int | None]:
    """The (scheme, host, port) a URL addresses, with the scheme's default port made explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IP addresses (where plain http is allowed)."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str) -> str:
    """Return ``url`` if it is https, or http on a loopback address; raise otherwise."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return url
    if parts.scheme == "http":
        msg = (
            f"{what}: refusing plain http to {parts.hostname} (credentials would travel in clear text); "
            "use https"
        )
    else:
        msg = f"{what}: {redact_url(url)!r} is not an http(s) URL"
    raise ReconcilerError(msg)
