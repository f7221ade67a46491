"""Connections that go only where the egress policy allows: each host name is resolved once,
every address it resolves to is judged (``notify.egress``), and the connection is made to an
address that was judged, never to the name again.

Resolving to check and then letting the HTTP client resolve again to connect would leave a
window in which a name's owner answers a public address to the check and 127.0.0.1 to the
connection (DNS rebinding). So the check sits in the HTTP client's network backend: httpcore
asks it for a TCP connection to ``(host, port)``, it resolves and judges, and hands httpcore's
own socket code the checked IP. The URL is untouched, so the Host header and the TLS server
name (SNI, and the certificate's check) are still the URL's host.

httpx has no public argument for a network backend yet (encode/httpx#3749 proposes one), so
``pinned_transport`` builds httpx's own transport and swaps its connection pool for one alike
but for the backend; a test connects through it, so an httpx upgrade that moves the pool
fails there rather than silently unchecked.
"""

import logging
import socket
from collections.abc import Callable, Iterable, Sequence
from ipaddress import ip_address
from urllib.parse import urlsplit

import httpcore
import httpx

from slo_service.notify.egress import EgressPolicy, EgressRefused, IPAddress

log = logging.getLogger(__name__)

# (host, port) → its addresses, in the order to try them; raises socket.gaierror.
Resolver = Callable[[str, int], Sequence[IPAddress]]
_DEFAULT_PORTS = {"http": 80, "https": 443}
# getaddrinfo's answers that say the name has no address at all (not that DNS failed).
_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
ALLOW_HINT = (
    "notifications go only to public addresses; an intranet receiver's network may be "
    "allowed with SLO_NOTIFY_ALLOWED_NETWORKS"
)


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The system's answer for ``host`` (/etc/hosts, DNS, or the address a literal spells:
    getaddrinfo reads 2130706433 and 0x7f.1 as 127.0.0.1), without repeats."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ip_address(info[4][0]) for info in found))


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend behind the policy: ``connect_tcp`` refuses (``EgressRefused``)
    a host with any address the policy refuses, else connects to its checked addresses in
    turn, as ``socket.create_connection`` would to the name's."""

    def __init__(self, policy: EgressPolicy, resolve: Resolver = system_resolver) -> None:
        self.policy = policy
        self._resolve = resolve
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        *others, last = self.addresses(host, port)
        for address in others:
            try:
                return self._sockets.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                pass  # the next address may answer
        return self._sockets.connect_tcp(str(last), port, timeout, local_address, socket_options)

    def addresses(self, host: str, port: int) -> Sequence[IPAddress]:
        """``host``'s addresses (at least one), each allowed by the policy."""
        try:
            found = self._resolve(host, port)
            if not found:
                raise socket.gaierror(socket.EAI_NONAME, "no address")
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError("name does not resolve") from exc
        self.policy.check(found)
        return found

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


def pinned_transport(
    policy: EgressPolicy, resolve: Resolver = system_resolver
) -> httpx.HTTPTransport:
    """httpx's transport with its pool connecting through ``PinnedBackend``. Proxies from the
    environment are not used: a proxy would make the connection, unchecked."""
    transport = httpx.HTTPTransport(trust_env=False)
    if not isinstance(getattr(transport, "_pool", None), httpcore.ConnectionPool):
        raise RuntimeError("this httpx keeps its connection pool elsewhere: update pinned.py")
    limits = httpx.Limits()  # httpx's defaults, as the replaced pool had them
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=PinnedBackend(policy, resolve),
    )
    return transport


def destination_problem(
    url: str, policy: EgressPolicy, resolve: Resolver = system_resolver
) -> str | None:
    """Why a route may not be saved with ``url`` (a well-formed http(s) URL), or None.

    A name that does not exist is refused: a typo is better told now than found in the
    delivery log after the first page went nowhere. A name whose lookup fails for another
    reason (the DNS server is down or slow) is accepted with a warning in the log: the check
    at send time still guards every delivery, and an admin should not be kept from changing
    routes, perhaps in the middle of an incident, because DNS is briefly unwell."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        policy.check(resolve(host, parts.port or _DEFAULT_PORTS.get(parts.scheme, 443)))
    except EgressRefused as exc:
        return f"refused: {exc.reason}; {ALLOW_HINT}"
    except (socket.gaierror, UnicodeError) as exc:
        if isinstance(exc, UnicodeError) or exc.errno in _NO_SUCH_NAME:
            return "its host name does not resolve: is it spelled right?"
        log.warning("could not look up a channel's host now (%s): saved unchecked", exc)
    return None
