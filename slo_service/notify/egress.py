"""Which addresses notifications may be sent to: the policy, as pure address logic.

A route's channel URL is chosen by whoever holds an admin token, and the service posts to it
from inside the network it runs in. Left unchecked, that URL reaches what only the service can
reach: its own port, a database on loopback, a cloud metadata service on a link-local address,
an intranet's private addresses. So by default a channel may only go to a public (globally
routable) address; ``allowed`` networks (``SLO_NOTIFY_ALLOWED_NETWORKS``) let intranet
receivers through.

The policy judges addresses, never host names: a name is resolved first, and every address it
resolves to is judged (``notify.pinned`` does that, and connects only to an address it judged).
Odd spellings of an address (``2130706433``, ``0x7f.1``, ``127.1``) are read by the resolver
as the address they spell, so they are judged as that address. An IPv6 address that carries an
IPv4 one (IPv4-mapped ``::ffff:127.0.0.1``, IPv4-compatible ``::127.0.0.1``, 6to4
``2002:7f00:1::``) is judged by the IPv4 address inside, which is where it leads.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# Checked in this order, so an address gets its most telling name (169.254.169.254 is
# link-local before it is private).
_KINDS: tuple[tuple[str, Callable[[IPAddress], bool]], ...] = (
    ("unspecified", lambda a: a.is_unspecified),  # 0.0.0.0 and :: reach this very host
    ("loopback", lambda a: a.is_loopback),
    ("link-local", lambda a: a.is_link_local),
    ("multicast", lambda a: a.is_multicast),
    ("site-local", lambda a: isinstance(a, IPv6Address) and a.is_site_local),
    ("reserved", lambda a: a.is_reserved),  # 240.0.0.0/4 is "private" too, and less exact
    ("private", lambda a: a.is_private),
    # Not private, yet not on the internet either: shared address space (100.64.0.0/10).
    ("not publicly routable", lambda a: not a.is_global),
)


class EgressRefused(Exception):
    """A destination the policy refuses. ``reason`` ("address 127.0.0.1 is loopback") names
    the address, never the URL, so it may be shown and stored."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class EgressPolicy:
    """Public addresses only, and any address in ``allowed``."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def allowing(cls, networks: Iterable[str | IPNetwork]) -> "EgressPolicy":
        """A policy that also allows ``networks`` ("10.0.0.0/8", "192.168.1.5", "::1")."""
        return cls(tuple(ip_network(n) if isinstance(n, str) else n for n in networks))

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` may not be sent to ("address 10.0.0.5 is private"); None if it may."""
        if any(address in network for network in self.allowed):
            return None
        kind = address_kind(address)
        if kind is None:
            return None
        inner = embedded_ipv4(address)
        shown = f"{address} (IPv4 {inner})" if inner is not None else str(address)
        return f"address {shown} is {kind}"

    def check(self, addresses: Iterable[IPAddress]) -> None:
        """Raise ``EgressRefused`` for the first address refused: one bad address of a name is
        enough, or the name's owner could pick which one a connection tries."""
        for address in addresses:
            reason = self.refusal(address)
            if reason is not None:
                raise EgressRefused(reason)


PUBLIC_ONLY = EgressPolicy()  # the default: nothing allowed beyond public addresses


def address_kind(address: IPAddress) -> str | None:
    """What kind of non-public address ``address`` is ("loopback", "private", ...), judged by
    the IPv4 address it carries if it carries one; None for a public address."""
    inner = embedded_ipv4(address)
    if inner is not None:
        return address_kind(inner)
    for kind, test in _KINDS:
        if test(address):
            return kind
    return None


def embedded_ipv4(address: IPAddress) -> IPv4Address | None:
    """The IPv4 address an IPv6 address leads to: IPv4-mapped (``::ffff:a.b.c.d``, which the
    kernel connects over IPv4), IPv4-compatible (``::a.b.c.d``, deprecated) or 6to4."""
    if not isinstance(address, IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    value = int(address)
    if 1 < value < 2**32:  # ::a.b.c.d, but not :: (unspecified) nor ::1 (loopback)
        return IPv4Address(value)
    return None
