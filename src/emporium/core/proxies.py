"""The client's address behind a reverse proxy, believed only from the proxies the shop names.

Every limit is keyed by the client address, so whoever may set ``X-Forwarded-For`` chooses their own key.
Only a connection from a network listed in ``EMPORIUM_TRUSTED_PROXIES`` may: the client is then the
right-most address of the header that is not itself a trusted proxy (the left part is whatever the client
sent). Without the setting the middleware is not installed and the headers change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from starlette.types import ASGIApp, Receive, Scope, Send


class TrustedProxyMiddleware:
    def __init__(self, app: ASGIApp, trusted: Iterable[str]) -> None:
        self.app = app
        self.networks: tuple[IPv4Network | IPv6Network, ...] = tuple(
            ip_network(entry, strict=False) for entry in trusted
        )

    def trusts(self, host: str) -> bool:
        try:
            address = ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if client and self.trusts(client[0]):
                self._apply(scope, client[1])
        await self.app(scope, receive, send)

    def _apply(self, scope: Scope, port: int) -> None:
        forwarded: list[str] = []
        proto: str | None = None
        for key, value in scope["headers"]:
            if key == b"x-forwarded-for":
                forwarded.extend(part.strip() for part in value.decode("latin-1").split(","))
            elif key == b"x-forwarded-proto":
                proto = value.decode("latin-1").split(",")[-1].strip().lower()
        for host in reversed(forwarded):
            if not host:
                continue
            if not self.trusts(host):
                try:
                    ip_address(host)
                except ValueError:
                    return  # not an address: believe nothing of this header
                scope["client"] = (host, port)
                break
        if proto in ("http", "https"):
            scope["scheme"] = proto
