"""HTTP for every provider client: one session per account, timeouts, retries, redaction.

One retry policy, in one place: throttle answers and connection failures that happened before
the request reached the server are retried for every call; timeouts, dropped connections and
5xx are retried only for idempotent calls (reads, PUT, DELETE), because a create may have been
committed. Backoff is exponential with full jitter, bounded in attempts and total time.

Every answer is read as a stream under two per-account :class:`Limits`: ``timeout``, the longest
one request may take with its whole body (a server dripping one byte at a time is cut off), and
``max_response_bytes``, past which the answer is abandoned without being read whole. Text quoted
from an answer in a message goes through :func:`excerpt`: redacted, control characters shown
escaped, a few hundred characters at most.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import requests

from reconciler import __version__
from reconciler.errors import ProviderError, RateLimited, TransportError
from reconciler.escapes import escape_controls
from reconciler.pool import check_cancelled
from reconciler.ratelimit import RateLimiter
from reconciler.secrets import redact, redact_url
from reconciler.urls import check_url, is_loopback, origin

log = logging.getLogger(__name__)
# Progress on a terminal listens to these (reconciler/cli_progress.py): one record per request sent
# and one per retry, worded for the user.
requests_log = logging.getLogger(f"{__name__}.requests")
retries_log = logging.getLogger(f"{__name__}.retries")

USER_AGENT = f"reconciler/{__version__} (+https://github.com/reconciler/reconciler)"
CONNECT_TIMEOUT = 5.0  # seconds to open a connection (within the request's timeout)
DEFAULT_TIMEOUT = 60.0  # seconds one request may take, whole body included
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
EXCERPT_CHARS = 200
_CHUNK = 64 * 1024
MAX_THREADS = 64  # threads that may share one client: apply --parallelism's ceiling (cli.py), readers


@dataclass(frozen=True)
class Limits:
    """Per-account bounds on one request: total seconds (body included) and answer size in bytes."""

    timeout: float = DEFAULT_TIMEOUT
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` fit to quote in a one-line message: redacted, control characters escaped, clipped."""
    clipped = text[: limit * 4]
    shown = escape_controls(redact(clipped.strip()))
    if len(shown) > limit or len(text) > len(clipped):
        shown = shown[:limit] + f"... ({len(text)} characters)"
    return shown


class _Abandoned(Exception):
    """The answer broke a limit while it was being read; ``why`` says which."""

    def __init__(self, why: str, *, retryable: bool) -> None:
        super().__init__(why)
        self.why = why
        self.retryable = retryable


class _CrossOriginRedirect(Exception):
    """Raised inside requests' redirect loop so that no request reaches the new origin."""

    def __init__(self, status: int, location: str) -> None:
        super().__init__(location)
        self.status = status
        self.location = location


class _SameOriginSession(requests.Session):
    """A session that follows redirects only within the origin of the request that was sent.

    Credentials travel in headers (Intouch), bodies (SMSConnector) and query strings (InTime), so
    a redirect to another scheme, host or port is never followed: requests would re-send some of
    them there. The check runs before requests builds the next request.
    """

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target is None:
            return None
        location = urljoin(resp.url, target)
        if origin(location) != origin(resp.url):
            resp.close()
            raise _CrossOriginRedirect(resp.status_code, location)
        return target


@dataclass
class RetryPolicy:
    """Bounded exponential backoff with full jitter.

    ``scale`` multiplies every delay (tests set ``RECONCILER_RETRY_SCALE=0`` for zero backoff).
    ``throttle_min_delay`` is the shortest wait after a second throttle answer to one request (Intouch
    counts requests per minute); after the first, the :class:`RateLimiter`'s hold is the wait.
    """

    max_attempts: int = 6
    # Nothing listening (connection refused) rarely heals within seconds: one quick retry only.
    refused_attempts: int = 2
    base_delay: float = 1.0
    max_delay: float = 60.0
    total_time: float = 300.0
    throttle_min_delay: float = 5.0
    scale: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_env(cls) -> RetryPolicy:
        scale = float(os.environ.get("RECONCILER_RETRY_SCALE", "1"))
        attempts = int(os.environ.get("RECONCILER_RETRY_ATTEMPTS", "6"))
        return cls(scale=scale, max_attempts=attempts)

    def delay(self, attempt: int, throttled: bool) -> float:
        """Delay before retry number ``attempt`` (1-based)."""
        if throttled and attempt == 1:
            # The rate limiter holds every thread until the provider's window has room (see
            # RateLimiter.throttled): that is the wait a first throttle needs. Only when the retry
            # is throttled again is the limiter's model of the window off, and backoff applies.
            return 0.0
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        wait = self.rng.uniform(0, ceiling)
        if throttled:
            wait = max(wait, self.throttle_min_delay)
        return wait * self.scale


class HttpClient:
    """Base of every provider client: base URL, session, timeouts, retries, error mapping.

    Subclasses override :meth:`is_throttled` for their provider's throttle answer and may override
    :meth:`describe_status` to turn a status code into advice.
    """

    provider = "provider"

    def __init__(
        self,
        base_url: str,
        *,
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = check_url(base_url.rstrip("/") + "/", self.provider)
        self.limits = limits or Limits()
        self.retry = retry or RetryPolicy.from_env()
        self.limiter = RateLimiter(rate_limit, scale=self.retry.scale)
        self.session: requests.Session = _SameOriginSession()
        self.session.max_redirects = 5
        # Connections kept for reuse: one per thread that may share the session (the refresh's
        # readers, apply --parallelism up to 64); requests keeps 10, and closes the rest after use.
        for scheme in ("https://", "http://"):
            self.session.mount(scheme, requests.adapters.HTTPAdapter(pool_maxsize=MAX_THREADS))
        _read_environment_once(self.session, self.base_url)
        self._prepared: dict[str, requests.PreparedRequest] = {}  # method -> template (see _send_request)
        self.session.headers["User-Agent"] = USER_AGENT
        if headers:
            self.session.headers.update(headers)

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path.lstrip("/"))

    def is_throttled(self, response: requests.Response) -> bool:
        return response.status_code == 429

    def close(self) -> None:
        self.session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        what: str,
        ok_statuses: tuple[int, ...] = (),
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request, retrying what is safe to retry; return the final response.

        Any status is returned to the caller (who maps it) except throttling and, for idempotent
        calls, 5xx, which are retried and raise when the budget runs out. ``what`` names the
        operation for messages ("create contact +46701234567").
        """
        url = self.url(path)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            check_cancelled()
            self.limiter.wait()
            failure: str
            throttled = False
            connect_failed = False  # the request never reached the server
            retryable: bool
            requests_log.debug("%s %s", method, redact_url(url))
            budget = min(self.limits.timeout, self.retry.total_time - (time.monotonic() - started))
            deadline = time.monotonic() + max(budget, 0.001)
            try:
                response = self._attempt(method, url, deadline, kwargs)
            except _Abandoned as exc:
                retryable = idempotent and exc.retryable
                failure = exc.why
                if not exc.retryable:  # the same answer would come again: say so now
                    where = f"{method} {redact_url(url)}"
                    committed = method.upper() == "POST"
                    advice = " (the request may have been applied)" if committed else ""
                    msg = f"{self.provider}: {what}: {failure} at {where}{advice}"
                    raise TransportError(redact(msg), maybe_committed=committed) from None
            except _CrossOriginRedirect as exc:
                msg = (
                    f"{self.provider}: {what}: {method} {redact_url(url)} was redirected (HTTP {exc.status}) "
                    f"to another origin, {redact_url(exc.location)}; not followed, so no credentials went "
                    "there. If the API has moved, set the account's url to the new address"
                )
                raise ProviderError(redact(msg)) from None
            except requests.exceptions.TooManyRedirects:
                msg = f"{self.provider}: {what}: {method} {redact_url(url)} redirected more than 5 times"
                raise ProviderError(redact(msg)) from None
            except requests.exceptions.ConnectionError as exc:
                # A refused or reset connection before any response: the request may or may not
                # have reached the application, unless the connect itself failed.
                refused = _connect_refused(exc)
                connect_failed = isinstance(exc, requests.exceptions.ConnectTimeout) or refused
                retryable = (idempotent or connect_failed) and not (
                    refused and attempt >= self.retry.refused_attempts
                )
                failure = _connection_failure(exc, url, refused)
            except requests.exceptions.Timeout:
                retryable = idempotent
                failure = "timed out"
            except requests.exceptions.RequestException as exc:
                retryable = idempotent
                failure = f"request failed ({type(exc).__name__})"
            else:
                if self.is_throttled(response):
                    throttled = True
                    retryable = True
                    self.limiter.throttled()
                    failure = f"throttled (HTTP {response.status_code})"
                elif response.status_code >= 500 and response.status_code not in ok_statuses:
                    retryable = idempotent
                    failure = f"HTTP {response.status_code}"
                else:
                    return response
            elapsed = time.monotonic() - started
            if not retryable or attempt >= self.retry.max_attempts or elapsed >= self.retry.total_time:
                where = f"{method} {redact_url(url)}"
                committed = not retryable and not connect_failed and method.upper() == "POST"
                advice = " (not retried: the request may have been applied)" if committed else ""
                msg = f"{self.provider}: {what}: {failure} after {attempt} attempt(s) at {where}{advice}"
                if throttled:
                    raise RateLimited(msg + "; lower the account's rate_limit or try again later")
                raise TransportError(redact(msg), maybe_committed=committed)
            wait = self.retry.delay(attempt, throttled)
            when = f"in {wait:.0f} s" if wait or not throttled else "when the provider's window has room"
            retries_log.info(
                "%s: %s: %s; retrying %s (attempt %d of %d)",
                self.provider,
                what,
                failure,
                when,
                attempt + 1,
                self.retry.max_attempts,
            )
            if wait > 0:
                self.retry.sleep(wait)

    def _attempt(
        self, method: str, url: str, deadline: float, kwargs: Mapping[str, Any]
    ) -> requests.Response:
        """One attempt: send, then read the whole answer within ``deadline`` and the size cap.

        Raises :class:`_Abandoned` when the answer is too large or too slow; requests' own
        exceptions otherwise. The returned response has its body loaded (``content`` works).
        """
        remaining = deadline - time.monotonic()
        timeout = (min(CONNECT_TIMEOUT, remaining), remaining)
        response = self._send_request(method, url, timeout, kwargs)
        try:
            body = self._read_body(response, deadline)
        except BaseException:
            response.close()
            raise
        response._content = body  # noqa: SLF001 - requests' documented way to keep a streamed body
        response._content_consumed = True  # type: ignore[attr-defined]  # noqa: SLF001
        response.close()
        return response

    def _send_request(
        self, method: str, url: str, timeout: tuple[float, float], kwargs: Mapping[str, Any]
    ) -> requests.Response:
        """``session.request(method, url, ...)``, streamed; a request without body, parameters or
        cookies is copied from one prepared per method instead of merging the session's headers,
        auth and settings again (0.13 ms of a 0.4 ms request: a refresh sends 1,000 of them).

        The session's headers and auth are set when the client is built and never change after.
        """
        session = self.session
        if kwargs or session.cookies:
            return session.request(method, url, stream=True, timeout=timeout, **kwargs)
        template = self._prepared.get(method)
        if template is None:
            template = session.prepare_request(requests.Request(method, self.base_url))
            self._prepared[method] = template
        prepared = template.copy()
        prepared.prepare_url(url, None)
        proxies, verify, cert = session.proxies, session.verify, session.cert
        return session.send(prepared, stream=True, timeout=timeout, proxies=proxies, verify=verify, cert=cert)

    def _read_body(self, response: requests.Response, deadline: float) -> bytes:
        cap = self.limits.max_response_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _Abandoned(
                f"the answer is {int(declared):,} bytes, over the account's max_response_bytes ({cap:,}); "
                "not read",
                retryable=False,
            )
        chunks: list[bytes] = []
        size = 0
        raw = response.raw
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Abandoned(
                    f"the answer took longer than the account's timeout ({self.limits.timeout:g}s) "
                    f"after {size:,} bytes",
                    retryable=True,
                )
            _set_socket_timeout(raw, remaining)
            try:
                chunk = raw.read1(_CHUNK, decode_content=True)
            except (TimeoutError, OSError) as exc:
                if time.monotonic() >= deadline or "timed out" in str(exc).lower():
                    continue  # reported by the deadline check above
                raise requests.exceptions.ConnectionError(str(exc)) from None
            except Exception as exc:  # urllib3's ReadTimeoutError, ProtocolError, DecodeError
                if "timed out" in str(exc).lower():
                    continue
                raise requests.exceptions.ConnectionError(type(exc).__name__) from None
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > cap:
                raise _Abandoned(
                    f"the answer grew past the account's max_response_bytes ({cap:,} bytes); abandoned",
                    retryable=False,
                )
            chunks.append(chunk)


def take_json(response: requests.Response) -> Any:
    """``response.json()``, letting go of the body's bytes before the text is parsed; the response
    keeps no body afterwards. At 100,000 contacts the Intouch contact list is 24 MB: parsed so,
    its bytes are gone while its objects are built. Raises ValueError as ``json()`` does."""
    body = response.content
    encoding = response.encoding or requests.utils.guess_json_utf(body) or "utf-8"  # type: ignore[no-untyped-call]
    response._content = b""  # noqa: SLF001 - see _attempt
    text = str(body, encoding, errors="replace")
    del body
    return json.loads(text)


def _read_environment_once(session: requests.Session, base_url: str) -> None:
    """The proxy (``HTTPS_PROXY``, ``NO_PROXY``, ...) and CA bundle (``REQUESTS_CA_BUNDLE``,
    ``CURL_CA_BUNDLE``) variables, read as requests reads them, once per client.

    requests reads them again for every request, walking the whole environment twice: 0.2 ms per
    request, a fifth of a 1,000-request refresh's own work. Every request of a client goes to its
    one origin (redirects elsewhere are refused), so the answer cannot differ between requests.
    ``.netrc`` is not read: credentials come from the config only.
    """
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle


def _set_socket_timeout(raw: Any, seconds: float) -> None:
    """Bound the next socket read by what is left of the request's deadline (best effort)."""
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    if sock is not None:
        try:
            sock.settimeout(max(seconds, 0.001))
        except OSError:
            pass


def _connection_failure(exc: Exception, url: str, refused: bool) -> str:
    """What went wrong with a connection, and what to check."""
    scheme, host, port = origin(url)
    if refused:
        hint = "check the account's url"
        if is_loopback(host):
            hint += ", or start the sandbox (`reconciler sandbox`)"
        return f"connection refused: nothing listens at {host}:{port} ({hint})"
    if "NameResolutionError" in repr(exc) or "Name or service not known" in repr(exc):
        return f"cannot resolve the host {host} (check the account's url and the network)"
    return f"connection failed ({type(exc).__name__}; check the account's url and the network)"


def _connect_refused(exc: Exception) -> bool:
    """True when the TCP connection was never made, so the server cannot have acted."""
    return "NewConnectionError" in repr(exc)
