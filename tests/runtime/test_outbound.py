"""The outbound policy: which addresses from the settings DockBack may connect to, and that a
refusal reads the same whatever the reason. Name resolution is the resolver's (a stand-in
answers for the invented names; IP addresses resolve without any DNS)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from dockback_runtime.outbound import OutboundPolicy, TargetRefused, is_public

PRIVATE = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.9",
    "192.168.1.20",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",  # noqa: S104 - an address checked, not bound
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "fe80::1%eth0",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", PRIVATE)
def test_private_loopback_and_link_local_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_global_addresses_are_public(address: str) -> None:
    assert is_public(address)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Answers for invented names (anything else: the real resolver)."""
    answers: dict[str, list[str]] = {}
    real = asyncio.base_events.BaseEventLoop.getaddrinfo

    async def getaddrinfo(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host in answers:
            family = lambda a: socket.AF_INET6 if ":" in a else socket.AF_INET  # noqa: E731
            return [(family(a), socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]
        return await real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "getaddrinfo", getaddrinfo)
    return answers


async def test_a_public_address_is_allowed_as_it_is() -> None:
    assert await OutboundPolicy().addresses("8.8.8.8", 443, what="webhook ops") == ["8.8.8.8"]


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "localhost", "169.254.169.254"])
async def test_a_private_host_is_refused(host: str) -> None:
    with pytest.raises(TargetRefused, match="DOCKBACK_ALLOW_PRIVATE_TARGETS=true"):
        await OutboundPolicy().addresses(host, 25, what="SMTP")


async def test_a_name_with_one_private_address_among_public_ones_is_refused(dns: dict[str, list[str]]) -> None:
    dns["mixed.example"] = ["8.8.8.8", "10.0.0.5"]
    with pytest.raises(TargetRefused):
        await OutboundPolicy().addresses("mixed.example", 443, what="webhook ops")


async def test_a_refusal_reads_the_same_whether_the_host_is_private_or_does_not_exist(
    dns: dict[str, list[str]],
) -> None:
    dns["nas.example"] = ["192.168.1.20"]
    refusals = []
    for host in ("nas.example", "nothing-here.invalid"):
        with pytest.raises(TargetRefused) as refused:
            await OutboundPolicy().addresses(host, 9000, what="S3 target 'offsite'")
        refusals.append(str(refused.value).replace(host, "HOST"))
    assert refusals[0] == refusals[1]
    assert "9000" not in refusals[0]


async def test_allowing_private_targets_connects_by_name_as_before() -> None:
    policy = OutboundPolicy(allow_private=True)
    assert await policy.addresses("localhost", 25, what="SMTP") == ["localhost"]
    assert (await policy.pin_url("http://127.0.0.1:8080/hook", what="webhook ops")).url == "http://127.0.0.1:8080/hook"


async def test_a_url_is_pinned_to_the_checked_address_keeping_host_and_tls_name(dns: dict[str, list[str]]) -> None:
    dns["hooks.example.net"] = ["93.184.216.34"]
    pinned = await OutboundPolicy().pin_url("https://hooks.example.net:8443/services/T0/B0/x?y=1", what="webhook")
    assert pinned.url == "https://93.184.216.34:8443/services/T0/B0/x?y=1"
    assert (pinned.host_header, pinned.sni_hostname) == ("hooks.example.net:8443", "hooks.example.net")
    dns["v6.example.net"] = ["2606:4700:4700::1111"]
    pinned = await OutboundPolicy().pin_url("http://v6.example.net/x", what="webhook")
    assert pinned.url == "http://[2606:4700:4700::1111]/x"
    assert (pinned.host_header, pinned.sni_hostname) == ("v6.example.net", None)


async def test_a_url_refusal_never_names_the_url(dns: dict[str, list[str]]) -> None:
    dns["hooks.lan"] = ["10.0.0.7"]
    with pytest.raises(TargetRefused) as refused:
        await OutboundPolicy().pin_url("https://hooks.lan/services/SECRET-TOKEN", what="webhook ops")
    assert "SECRET-TOKEN" not in str(refused.value)
