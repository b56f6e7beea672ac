"""Whose request this is: the socket peer, or, behind a trusted proxy, the address that
proxy says it served (``X-Forwarded-For``). Clients choose what they write in that header,
so it is believed only from the proxies a setting names."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``10.0.0.0/8, 192.0.2.7, ::1``: addresses or networks, separated by commas."""
    networks = []
    for part in text.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ValueError(f"{part.strip()!r} is not an IP address or network") from None
    return tuple(networks)


def client_address(scope: Scope, trusted_proxies: tuple[Network, ...]) -> str:
    """The key failed attempts are counted under. IPv6 clients count by their /64: one host
    usually holds a whole /64, and would otherwise have 2**64 addresses to try from."""
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    if trusted_proxies and _within(peer, trusted_proxies):
        peer = _forwarded_client(scope, trusted_proxies) or peer
    return _counting_key(peer)


def _forwarded_client(scope: Scope, trusted: tuple[Network, ...]) -> str | None:
    """Walking ``X-Forwarded-For`` from the right (the hops our proxies added), the first
    address that is not one of our proxies; what lies left of it, the client wrote."""
    hops: list[str] = [
        hop.strip()
        for name, value in scope["headers"]
        if name == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
    ]
    for hop in reversed(hops):
        if not _is_address(hop):
            return None  # not written by a proxy of ours: keep the peer
        if not _within(hop, trusted):
            return hop
    return hops[0] if hops else None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _within(address: str, networks: Iterable[Network]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def _counting_key(address: str) -> str:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
