"""Where Mailer may connect for an admin-supplied URL: public addresses only (no SSRF).

:func:`check_host` decides for a host (every address it resolves to); :class:`GuardedAdapter`
makes requests connect only to addresses that passed, and checks the peer again before writing
(DNS rebinding). ``allow_private`` (``MAILER_WEBHOOK_ALLOW_PRIVATE``) opens private and loopback
ranges; link-local, cloud metadata, multicast and reserved ranges stay closed.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as u3connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SETTING = "MAILER_WEBHOOK_ALLOW_PRIVATE"
OPENABLE = frozenset({"loopback", "private"})  # what the setting allows

_net = ipaddress.ip_network
_THIS_NETWORK = _net("0.0.0.0/8")  # connecting to 0.x reaches this host on Linux
_PRIVATE = tuple(
    _net(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
_V4_COMPATIBLE = _net("::/96")  # ::a.b.c.d, deprecated but still routed to a.b.c.d
_NAT64 = _net("64:ff9b::/96")  # a NAT64 gateway translates it to the last 32 bits
# Cloud metadata services inside private ranges (the others are link-local: 169.254.169.254).
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200"))


class AddressRefused(OSError):
    """A connection to a refused address was not made (or was closed before any byte)."""


def classify(ip: IPAddress) -> str | None:
    """The kind of non-public address ``ip`` is, or None for a public one: "loopback",
    "link-local", "cloud metadata" (a metadata service in a private range), "private"
    (RFC 1918, CGNAT, fc00::/7), "unspecified", "multicast" or
    "reserved" (broadcast, future use, documentation, benchmarking, other special ranges).
    An IPv6 address carrying an IPv4 one (mapped, compatible, NAT64, 6to4) is that one."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(ip.packed)
        inner = _embedded_v4(ip)
        if inner is not None:
            return classify(inner)
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_reserved:
        return "reserved"
    if ip in _METADATA:
        return "cloud metadata"
    if any(ip in net for net in _PRIVATE) or getattr(ip, "is_site_local", False):
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _V4_COMPATIBLE and int(ip) > 1):  # not :: nor ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IPAddress, allow_private: bool, *, name: str | None = None) -> str | None:
    """Why Mailer may not connect to ``ip`` (found by resolving ``name``), or None."""
    kind = classify(ip)
    if kind is None or (allow_private and kind in OPENABLE):
        return None
    article = "an" if kind[0] in "aeiou" else "a"
    inner = _embedded_v4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    shown = f"{ip} ({inner})" if inner else str(ip)
    what = f"{name} resolves to {shown}, {article}" if name else f"{shown} is {article}"
    if kind in OPENABLE:
        return (
            f"{what} {kind} address; Mailer does not post webhooks into its own network "
            f"unless {SETTING} is set."
        )
    return f"{what} {kind} address; Mailer never posts webhooks there."


def parse_ip(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is a literal (brackets allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (a literal: itself), in the resolver's order.
    Raises socket.gaierror when the name does not resolve."""
    literal = parse_ip(host)
    if literal is not None:
        return [literal]
    found: list[IPAddress] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        ip = ipaddress.ip_address(sockaddr[0])
        if ip not in found:
            found.append(ip)
    return found


def check_host(host: str, port: int, allow_private: bool) -> str | None:
    """Why ``host`` may not be connected to (it is, or resolves also to, a refused address),
    or None. A name that does not resolve passes: connecting will report it."""
    try:
        addresses = resolve(host, port)
    except (socket.gaierror, UnicodeError):
        return None
    return _first_refusal(host, addresses, allow_private)


def _first_refusal(host: str, addresses: list[IPAddress], allow_private: bool) -> str | None:
    """Why the first refused one of ``host``'s addresses is refused, or None."""
    name = None if parse_ip(host) else host  # a literal is not said to resolve to itself
    for ip in addresses:
        reason = refusal(ip, allow_private, name=name)
        if reason:
            return reason
    return None


def check_url(parts: SplitResult, allow_private: bool) -> str | None:
    """:func:`check_host` for a parsed http(s) URL: its host, on its port or the scheme's.
    Raises ValueError for a port that is not a number in range."""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    return check_host(parts.hostname or "", port, allow_private)


# ------------------------------------------------------------------------------ requests


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections (http and https) open only to permitted addresses.

    The host is resolved once per new connection; if any address is refused nothing is
    connected, otherwise the socket connects to those very addresses (no second lookup for
    a rebinding resolver to answer differently) and its peer is checked again before TLS or
    the request starts. A refusal raises requests.ConnectionError with the reason. Through
    a proxy (HTTP(S)_PROXY) the socket goes to the proxy, so the target's name is checked
    just before the request instead."""

    def __init__(self, *, allow_private: bool = False, **kwargs: Any) -> None:
        self.allow_private = allow_private  # before super(): it builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.allow_private)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        if proxies and select_proxy(request.url or "", proxies):
            reason = check_url(urlsplit(request.url), self.allow_private)
            if reason:
                raise requests.ConnectionError(AddressRefused(reason), request=request)
        return super().send(request, stream, timeout, verify, cert, proxies)


class _Guard:
    """Mixed into urllib3's connection classes: replaces how the socket is opened."""

    allow_private: bool = False
    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        try:
            addresses = resolve(self.host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        reason = _first_refusal(self.host, addresses, self.allow_private)
        if reason:
            raise AddressRefused(reason)
        for i, ip in enumerate(addresses, 1):
            try:
                sock = u3connection.create_connection(
                    (str(ip), self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:
                if i < len(addresses):
                    continue  # the next address, as urllib3 does
                if isinstance(exc, TimeoutError):
                    message = (
                        f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                    )
                    raise ConnectTimeoutError(self, message) from exc
                message = f"Failed to establish a new connection: {exc}"
                raise NewConnectionError(self, message) from exc  # type: ignore[arg-type]
            reason = refusal(ipaddress.ip_address(sock.getpeername()[0]), self.allow_private)
            if reason:
                sock.close()
                raise AddressRefused(reason)
            return sock
        raise NewConnectionError(self, f"{self.host} has no address.")  # type: ignore[arg-type]


@functools.cache
def _guarded_classes(allow_private: bool) -> tuple[tuple[str, type[HTTPConnectionPool]], ...]:
    classes = []
    for scheme, pool, conn in (
        ("http", HTTPConnectionPool, HTTPConnection),
        ("https", HTTPSConnectionPool, HTTPSConnection),
    ):
        guarded = type(f"Guarded{conn.__name__}", (_Guard, conn), {"allow_private": allow_private})
        classes.append(
            (scheme, type(f"Guarded{pool.__name__}", (pool,), {"ConnectionCls": guarded}))
        )
    return tuple(classes)


def _pool_classes(allow_private: bool) -> dict[str, type[HTTPConnectionPool]]:
    return dict(_guarded_classes(allow_private))
