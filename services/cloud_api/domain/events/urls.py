"""Where a hook may point: ``http(s)`` only, and not at this network's own machines.

A hook URL is a request the cloud makes on the owner's behalf; pointed at loopback, a
link-local metadata service or a private range, it would let an owner probe the cloud's
own network. Every address the host resolves to must be public, unless
``CLOUD_API_HOOKS_ALLOW_PRIVATE=true`` (tests, closed networks). The check runs when the
hook is saved and again before each delivery, since a name can be pointed elsewhere later.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from services.cloud_api.domain.errors import InvalidInputError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def parse_hook_url(url: str) -> SplitResult:
    """The URL's parts, or a 422 naming what is wrong with it."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as error:
        raise _invalid(f"url: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise _invalid(f"url: the scheme must be http or https, not {parts.scheme!r}")
    if not parts.hostname:
        raise _invalid("url: a host is required")
    return parts


def check_hook_url(url: str, *, allow_private: bool) -> str:
    """The URL to store, after checking its scheme and (unless allowed) its addresses."""
    parts = parse_hook_url(url)
    if not allow_private:
        assert parts.hostname is not None
        try:
            addresses = resolve(parts.hostname, parts.port or default_port(parts))
        except OSError:
            raise _invalid(f"url: the host {parts.hostname!r} does not resolve") from None
        refused = refused_address(addresses)
        if refused is not None:
            raise _invalid(
                f"url: {parts.hostname!r} is {refused}, a loopback, link-local or private "
                "address; hooks must point to public addresses"
            )
    return url.strip()


async def address_refusal(url: str) -> str | None:
    """Why a delivery to ``url`` may not be sent now (checked just before sending)."""
    parts = parse_hook_url(url)
    assert parts.hostname is not None
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(
            parts.hostname, parts.port or default_port(parts), type=socket.SOCK_STREAM
        )
    except OSError:
        return f"the host {parts.hostname} does not resolve"
    refused = refused_address([ipaddress.ip_address(info[4][0]) for info in infos])
    return None if refused is None else f"{parts.hostname} resolves to {refused}, not public"


def resolve(host: str, port: int) -> list[IPAddress]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def refused_address(addresses: list[IPAddress]) -> IPAddress | None:
    """The first address that is not public (an IPv6 form of an IPv4 address counts as it)."""
    for address in addresses:
        if not _public(address):
            return address
    return None


def _public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _public(embedded)
    return address.is_global and not address.is_multicast


def default_port(parts: SplitResult) -> int:
    return 443 if parts.scheme == "https" else 80


def _invalid(detail: str) -> InvalidInputError:
    return InvalidInputError(detail, code="invalid_hook_url")
