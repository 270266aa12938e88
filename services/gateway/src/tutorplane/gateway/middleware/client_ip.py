"""Proxy-aware client address.

``X-Forwarded-For`` is believed only when the socket peer is a trusted proxy; the list is walked
from the right, skipping trusted hops, and the first untrusted address is the client. The result
is stored as ``scope["state"]["client_ip"]``; ``X-Forwarded-Proto`` from a trusted proxy sets
``scope["scheme"]`` so HSTS and secure cookies know the browser used https.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _trusted(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def resolve_client_ip(peer: str, forwarded_for: str | None, networks: tuple[IPNetwork, ...]) -> str:
    if not forwarded_for or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer
    return hops[0] if hops else peer


class ClientIPMiddleware:
    def __init__(self, app: ASGIApp, trusted_proxies: Iterable[str]) -> None:
        self.app = app
        self.networks = parse_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            peer = client[0] if client else ""
            forwarded_for: str | None = None
            forwarded_proto: str | None = None
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    forwarded_for = value.decode("latin-1")
                elif name == b"x-forwarded-proto":
                    forwarded_proto = value.decode("latin-1").split(",")[0].strip().lower()
            client_ip = resolve_client_ip(peer, forwarded_for, self.networks)
            scope.setdefault("state", {})["client_ip"] = client_ip
            if forwarded_proto in ("http", "https") and _trusted(peer, self.networks):
                scope["scheme"] = (
                    forwarded_proto
                    if scope["type"] == "http"
                    else ("wss" if forwarded_proto == "https" else "ws")
                )
        await self.app(scope, receive, send)
