"""Where DockBack may connect on an admin's word: webhook URLs, SMTP servers, S3 endpoints.

An address typed into the settings must not turn the notifier or an uploader into a probe
of the networks they sit in (the database, the Docker socket proxy, a cloud metadata
service). So, unless `DOCKBACK_ALLOW_PRIVATE_TARGETS=true` (self-hosters whose NAS or mail
relay is on the LAN), such a host must resolve to public addresses only, checked when the
connection is made: the name is resolved once, every address is checked, and the connection
goes to a checked address (the name still travels as Host header and TLS SNI), so a DNS
answer that changes between a check and the connect cannot slip a private address in.

A refusal is one message whatever the reason (a private address, a name that does not
resolve), given before any connection is tried: it tells nobody which internal hosts exist
or answer, on which port, or how fast.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

ALLOW_PRIVATE_TARGETS_ENV = "DOCKBACK_ALLOW_PRIVATE_TARGETS"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class TargetRefused(Exception):
    """A settings address the policy does not allow DockBack to connect to."""

    def __init__(self, what: str, host: str) -> None:
        self.what = what
        self.host = host
        super().__init__(
            f"{what}: {host} is not an address DockBack may connect to: only public addresses are allowed "
            f"(set {ALLOW_PRIVATE_TARGETS_ENV}=true to allow private, loopback and link-local ones)"
        )


def is_public(address: str) -> bool:
    """Whether an IP address is globally routable (not private, loopback, link-local, shared,
    reserved, unspecified or multicast, also when written as an IPv4-mapped IPv6 address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public(str(ip.ipv4_mapped))
        embedded = [ip.sixtofour, ip.teredo[1] if ip.teredo else None]
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(v4 is not None and not is_public(str(v4)) for v4 in embedded):
            return False
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class PinnedUrl:
    """An http(s) URL whose host is replaced by a checked address; send `host_header` as the
    Host header and `sni_hostname` as the TLS server name (None: the URL is used as given)."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


@dataclass(frozen=True)
class OutboundPolicy:
    """The rule for connections to addresses from the settings (one per process)."""

    allow_private: bool = False

    async def addresses(self, host: str, port: int, *, what: str) -> list[str]:
        """The IP addresses to connect to for host:port, every one checked; raises TargetRefused.
        With private targets allowed the name itself is returned (connect as before)."""
        if self.allow_private:
            return [host]
        bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        try:
            found = await asyncio.get_running_loop().getaddrinfo(bare, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise TargetRefused(what, host) from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        if not addresses or not all(is_public(a) for a in addresses):
            raise TargetRefused(what, host)
        return addresses

    async def address(self, host: str, port: int, *, what: str) -> str:
        """One checked address (the first the resolver gives) to connect to; raises TargetRefused."""
        return (await self.addresses(host, port, what=what))[0]

    async def pin_url(self, url: str, *, what: str) -> PinnedUrl:
        """`url` with its host replaced by a checked address; raises TargetRefused.
        Names only `what` in errors: the URL may carry a token."""
        if self.allow_private:
            return PinnedUrl(url)
        parts = urlsplit(url)
        host = parts.hostname
        if not host:
            raise TargetRefused(what, "(no host)")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = await self.address(host, port, what=what)
        netloc_host = f"[{address}]" if ":" in address else address
        netloc = netloc_host if parts.port is None else f"{netloc_host}:{parts.port}"
        host_header = parts.netloc.rpartition("@")[2]
        pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        return PinnedUrl(pinned, host_header=host_header, sni_hostname=host if parts.scheme == "https" else None)
