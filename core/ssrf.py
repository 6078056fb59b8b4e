"""The SSRF guard of every outbound POST to a URL a client gave us (the webhook channel's
subscriber addresses, the status webhooks' endpoints).

A private, loopback, link-local, multicast, reserved or unspecified address is refused unless
RELAY_WEBHOOK_ALLOW_PRIVATE is set (tests, or receivers on the deployment's own network).
At send time the host is resolved once and the request goes to the address that was checked
(``pinned``), so a second lookup cannot swap it for a private one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import httpx
from django.conf import settings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(ip: IpAddress) -> bool:
    """A globally routable unicast address (an IPv4-mapped IPv6 address is judged as IPv4)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def _addresses(infos: list[Any]) -> list[IpAddress]:
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


async def public_address(url: httpx.URL) -> str | None:
    """The address to connect to, or None when any address the host resolves to is not public."""
    infos = await asyncio.get_running_loop().getaddrinfo(url.host, _port(url), type=socket.SOCK_STREAM)
    addresses = _addresses(infos)
    if not addresses or not all(is_public(ip) for ip in addresses):
        return None
    return str(addresses[0])


def url_problem(value: str) -> str | None:
    """Why ``value`` cannot be a webhook target, or None; for validating at create time.

    A host that does not resolve now is accepted (it is checked again before every POST); one
    that resolves to a non-public address is refused unless private targets are allowed.
    """
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        return "Use an http(s) URL, e.g. https://hooks.example.com/relay."
    if url.scheme not in ("http", "https") or not url.host:
        return "Use an http(s) URL, e.g. https://hooks.example.com/relay."
    if settings.RELAY_WEBHOOK_ALLOW_PRIVATE:
        return None
    try:
        addresses = _addresses(socket.getaddrinfo(url.host, _port(url), type=socket.SOCK_STREAM))
    except (OSError, UnicodeError):
        return None
    if not all(is_public(ip) for ip in addresses):
        return "This host is a private, loopback or link-local address; Relay does not post there."
    return None


async def pinned(url: httpx.URL) -> tuple[httpx.URL, dict[str, Any]] | None:
    """The URL to POST to and the request's extra arguments (Host header, SNI), after the guard;
    None when the guard refuses the target. OSError when the host does not resolve."""
    if settings.RELAY_WEBHOOK_ALLOW_PRIVATE:
        return url, {}
    address = await public_address(url)
    if address is None:
        return None
    extra = {"extensions": {"sni_hostname": url.host}, "headers": {"host": url.netloc.decode("ascii")}}
    return url.copy_with(host=address), extra
