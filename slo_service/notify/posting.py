"""Posting a channel's message over HTTP, and what its answer (or its absence) means.

Reasons end up in logs and in the API (``GET /notifications`` shows them to any read token),
so they come from a fixed set: the receiver's status, a short cause ("did not answer within
5 s", "connection refused", "refused: address 127.0.0.1 is loopback"), and never the URL
(Slack's webhook URLs are credentials) nor what the receiver sent: its body could be an
internal page's content, which is what a channel pointed at the wrong place would fish for.
Slack's own error codes are the one exception, as they come from a fixed set of their own.
"""

import errno
import math
import socket
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from slo_service import __version__
from slo_service.errors import causes
from slo_service.notify.base import (
    DEFAULT_TIMEOUT,
    Delivered,
    Outcome,
    Problem,
    Rejected,
    RetryLater,
)
from slo_service.notify.egress import EgressPolicy, EgressRefused
from slo_service.notify.pinned import (
    Resolver,
    destination_problem,
    pinned_transport,
    system_resolver,
)

# Slack's documented error answers (its whole body): shown when a receiver answers exactly one
# of them, since they say what to fix; any other body is never read past its first bytes.
KNOWN_ERRORS = frozenset({
    "invalid_payload", "invalid_token", "no_text", "user_not_found", "channel_not_found",
    "channel_is_archived", "action_prohibited", "posting_to_general_channel_denied",
    "too_many_attachments", "no_service", "no_service_id", "no_team", "team_disabled",
    "rollup_error",
})  # fmt: skip
_READ_AT_MOST = 64  # bytes of an error answer read: a known error fits, nothing else matters


class HttpSender:
    """Posts JSON bodies for one channel (``channel`` names it in reasons, e.g. "Slack
    webhook"), with a timeout on every request and no redirects followed: a webhook that
    redirects is misconfigured, and following it would hand the body to another host.

    With a ``policy``, a URL's host is resolved and judged before every new connection, and
    the connection goes to an address that was judged (``notify.pinned``); without one (the
    operator's own PagerDuty URL) it is trusted. Safe to share between threads; ``close`` it
    when done."""

    def __init__(
        self,
        channel: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        policy: EgressPolicy | None = None,
        resolve: Resolver = system_resolver,
    ) -> None:
        self.channel = channel
        self.timeout = timeout
        self.policy = policy
        self._resolve = resolve
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            # Identity: the few bytes of an error answer that are read stay readable.
            headers={"User-Agent": f"slo-service/{__version__}", "Accept-Encoding": "identity"},
            transport=None if policy is None else pinned_transport(policy, resolve),
        )

    def close(self) -> None:
        self._client.close()

    def check_destination(self, url: str) -> str | None:
        """Why ``url`` (well-formed) may not be saved; None if it may, or if it is trusted."""
        return None if self.policy is None else destination_problem(url, self.policy, self._resolve)

    def post(
        self,
        url: str,
        body: bytes,
        *,
        idempotency_key: str,
        headers: Mapping[str, str] | None = None,
    ) -> Outcome:
        """POST ``body`` (JSON bytes, sent as they are: a signature may cover them)."""
        sent = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key}
        try:
            # Streamed: of an error answer only its first bytes are read, never all of it.
            with self._client.stream(
                "POST", url, content=body, headers={**sent, **(headers or {})}
            ) as response:
                said = b"" if response.is_success else _first_bytes(response, _READ_AT_MOST)
                retry = response.headers.get("Retry-After")
                return outcome(
                    self.channel, response.status_code, retry_after_header=retry, said=said
                )
        except EgressRefused as exc:  # nothing was sent: another try would go to the same place
            return Rejected(f"{self.channel} refused: {exc.reason}")
        except httpx.TimeoutException:
            return RetryLater(f"{self.channel} did not answer within {self.timeout:g} s", None)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError):
            # Raised before anything was sent: the stored URL or a header cannot be used.
            return Rejected(f"{self.channel} cannot be posted to: its URL or a header is invalid")
        except httpx.ConnectError as exc:
            return RetryLater(f"{self.channel} unreachable: {_connect_why(exc)}", None)
        except httpx.RemoteProtocolError:  # its error would quote what the receiver sent
            return RetryLater(f"{self.channel} failed: the answer was not HTTP", None)
        except httpx.TransportError:  # the connection broke while sending or reading
            return RetryLater(f"{self.channel} failed: the connection broke", None)


def outcome(
    channel: str, status: int, *, retry_after_header: str | None = None, said: bytes = b""
) -> Outcome:
    """An HTTP answer → the Outcome it means (PagerDuty's retry table; the others agree).
    ``said`` is the start of the answer's body: named only when it is a ``KNOWN_ERRORS``."""
    if 200 <= status < 300:
        return Delivered(status)
    reason = f"{channel} answered {status}"
    code = said.strip().decode("ascii", "replace")
    if code in KNOWN_ERRORS:
        reason += f": {code}"
    if status in (408, 429) or status >= 500:
        # Honoured on 5xx too: a 503 with Retry-After asks for just as much patience.
        return RetryLater(reason, retry_after(retry_after_header))
    if 300 <= status < 400:  # the Location is not repeated: it may carry the secret too
        return Rejected(f"{reason} (a redirect, not followed: is the URL right?)")
    return Rejected(reason)


def _first_bytes(response: httpx.Response, limit: int) -> bytes:
    """At most about ``limit`` bytes of the body: a receiver's endless answer is not read."""
    taken = b""
    for chunk in response.iter_raw():
        taken += chunk
        if len(taken) >= limit:
            break
    return taken[:limit]


def _connect_why(exc: BaseException) -> str:
    """A failed connection's cause, from a fixed set (the OS error is found in the chain)."""
    for cause in causes(exc):  # httpx wraps httpcore's error, which wraps the OS error
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "name does not resolve"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "its TLS certificate did not verify"
        if isinstance(cause, ssl.SSLError):
            return "the TLS handshake failed"
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "no route to host"
    return "connection failed"


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110);
    None when absent or unreadable, 0 for a date already past."""
    if not value or not value.strip():
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000" in an HTTP-date: UTC by definition
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def check_url(config: Mapping[str, Any], key: str) -> list[Problem]:
    """Whether ``config[key]`` is an http(s) URL with a host. The URL is not quoted back."""
    value = config.get(key)
    if value is None or value == "":
        return [((key,), "required")]
    if not isinstance(value, str):
        return [((key,), "must be a string")]
    try:
        parts = urlsplit(value)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a bad IPv6 literal, a port out of range
        return [((key,), "not a valid URL")]
    return [] if usable else [((key,), "must be an http:// or https:// URL with a host")]


def check_destination(sender: HttpSender, config: Mapping[str, Any], key: str) -> list[Problem]:
    """``check_url``, then where ``config[key]`` leads, judged by ``sender``'s policy."""
    problems = check_url(config, key)
    problem = None if problems else sender.check_destination(config[key])
    return problems or ([((key,), problem)] if problem else [])
