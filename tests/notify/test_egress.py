"""The egress policy as a table: which addresses a channel may be sent to, and the allow-list
setting that reads them."""

from ipaddress import ip_address, ip_network

import pytest
from pydantic import ValidationError

from slo_service.config import Settings
from slo_service.notify.egress import PUBLIC_ONLY, EgressPolicy, EgressRefused, address_kind

KINDS = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: the kernel connects over IPv4
    ("::127.0.0.1", "loopback"),  # IPv4-compatible (deprecated)
    ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("::ffff:0.0.0.0", "unspecified"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("::ffff:10.0.0.1", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.169.254", "link-local"),  # the cloud metadata service
    ("fe80::1", "link-local"),
    ("224.0.0.251", "multicast"),
    ("ff02::1", "multicast"),
    ("fec0::1", "site-local"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("100.64.0.1", "not publicly routable"),  # carrier-grade NAT's shared space
    ("8.8.8.8", None),
    ("::ffff:8.8.8.8", None),
    ("2606:4700:4700::1111", None),
]


@pytest.mark.parametrize(("address", "kind"), KINDS, ids=[a for a, _ in KINDS])
def test_address_kinds(address: str, kind: str | None) -> None:
    assert address_kind(ip_address(address)) == kind
    refusal = PUBLIC_ONLY.refusal(ip_address(address))
    assert (refusal is None) == (kind is None)
    if kind is not None:
        assert refusal is not None
        assert refusal.endswith(f" is {kind}")


POLICY = EgressPolicy.allowing(["10.20.0.0/16", "192.168.1.5", "::1"])
ALLOWED = [
    ("10.20.3.4", True),
    ("10.21.0.1", False),  # next door to the allowed network
    ("192.168.1.5", True),
    ("192.168.1.6", False),
    ("::1", True),
    ("127.0.0.1", False),  # ::1 allowed is not 127.0.0.1 allowed
    ("8.8.8.8", True),  # public addresses always are
]


@pytest.mark.parametrize(("address", "allowed"), ALLOWED, ids=[a for a, _ in ALLOWED])
def test_allowed_networks(address: str, allowed: bool) -> None:
    assert (POLICY.refusal(ip_address(address)) is None) == allowed


def test_one_refused_address_refuses_them_all() -> None:
    with pytest.raises(EgressRefused) as caught:
        POLICY.check([ip_address("10.20.0.9"), ip_address("10.30.0.9")])
    assert caught.value.reason == "address 10.30.0.9 is private"
    POLICY.check([ip_address("10.20.0.9"), ip_address("8.8.4.4")])  # raises nothing


def test_a_mapped_address_is_named_with_the_ipv4_it_carries() -> None:
    reason = PUBLIC_ONLY.refusal(ip_address("::ffff:127.0.0.1"))
    assert reason == "address ::ffff:7f00:1 (IPv4 127.0.0.1) is loopback"


@pytest.mark.parametrize(
    ("value", "networks"),
    [
        ("", []),
        ("10.0.0.0/8", ["10.0.0.0/8"]),
        ("10.0.0.0/8, 192.168.1.5 ,::1", ["10.0.0.0/8", "192.168.1.5/32", "::1/128"]),
        ("172.16.0.0/12 fd00::/8", ["172.16.0.0/12", "fd00::/8"]),
    ],
    ids=["empty", "one", "commas-and-spaces", "spaces"],
)
def test_the_setting_reads_a_list_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, networks: list[str]
) -> None:
    monkeypatch.setenv("SLO_NOTIFY_ALLOWED_NETWORKS", value)
    assert Settings().notify_allowed_networks == [ip_network(n) for n in networks]


@pytest.mark.parametrize(
    "value", ["10.0.0.1/8", "localhost", "10.0.0.0/33"], ids=["host-bits", "a-name", "prefix"]
)
def test_the_setting_refuses_what_is_not_a_network(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SLO_NOTIFY_ALLOWED_NETWORKS", value)
    with pytest.raises(ValidationError, match="notify_allowed_networks"):
        Settings()


def test_the_default_allows_nothing_but_public_addresses() -> None:
    assert Settings().notify_allowed_networks == []
