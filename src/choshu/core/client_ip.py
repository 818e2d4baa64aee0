"""The client's address behind the reverse proxies the deployment trusts (issue 14 §6).

A reverse proxy (nginx, a load balancer) makes every request arrive from its own address, and names the
client in ``X-Forwarded-For``, appending the address it received the request from to whatever the
header held. Only the entries appended by proxies we run can be believed: everything to their left was
written by the client. So, when ``REMOTE_ADDR`` is a trusted proxy (``CHOSHU_TRUSTED_PROXIES``), the
header is walked from the right, trusted proxies are skipped, and the first address that is not one of
them is the client. A header from a client that is not a trusted proxy is ignored entirely (anyone can
send one), and a malformed header falls back to ``REMOTE_ADDR`` — a record then names the proxy, never
an address the client chose.

This is the one address the audit log records and the login lockout counts
(``audit.services.client_addr`` and ``AXES_CLIENT_IP_CALLABLE`` both come here).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Longer than any written IPv6 address (45 characters with an embedded IPv4 part): not an address.
_MAX_ADDRESS_LENGTH = 45


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``203.0.113.5``, ``10.0.0.0/8``, ``2001:db8::/32`` → networks; ``ValueError`` naming a bad entry."""
    networks = []
    for entry in entries:
        text = entry.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise ValueError(text) from exc
    return tuple(networks)


@lru_cache(maxsize=8)
def _trusted(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(entries)


def trusted_proxies() -> tuple[Network, ...]:
    return _trusted(tuple(getattr(settings, "CHOSHU_TRUSTED_PROXIES", ())))


def parse_address(text: str) -> Address | None:
    """One address as a proxy writes it, or ``None`` (a port, brackets, ``unknown``, a zone, junk)."""
    text = text.strip()
    if not text or len(text) > _MAX_ADDRESS_LENGTH or "%" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:192.0.2.1 is 192.0.2.1
    return address


def _is_trusted(address: Address, proxies: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_ip(request: HttpRequest) -> str:
    """The address of the client that sent ``request`` (``REMOTE_ADDR`` unless it is a trusted proxy)."""
    remote = str(request.META.get("REMOTE_ADDR", "") or "")
    proxies = trusted_proxies()
    peer = parse_address(remote)
    if not proxies or peer is None or not _is_trusted(peer, proxies):
        return remote
    header = str(request.META.get("HTTP_X_FORWARDED_FOR", "") or "")
    if not header.strip():
        return remote
    hops = header.split(",")
    nearest = remote
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            return remote  # malformed: believe nothing the header says
        if not _is_trusted(address, proxies):
            return str(address)
        nearest = str(address)
    return nearest  # every hop is a trusted proxy: the request began at the leftmost of them
