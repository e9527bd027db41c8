"""Result links from the gateway are fetched by the server: a hostile or compromised
answer must not make it reach inside (loopback, the private network, link-local cloud
metadata at 169.254.169.254, multicast).

`check_url()` is called on every URL before it is fetched, including every redirect hop:
https only, and every address the host resolves to must be public. The configured gateway
bases are trusted as they are (the local simulator serves http links on 127.0.0.1).

What is left: the name is resolved again when the connection is made, so a name whose
DNS answer changes between the two lookups (rebinding, with a TTL of 0) could still slip
through; pinning the connection to the checked address needs a custom httpcore network
backend in the client."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(ValueError):
    """A URL the server will not fetch. str() is for logs (it names the host, never an
    address); show people web.messages.result_link_refused() instead."""


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not loopback, private, shared (CGNAT), link-local,
    reserved, unspecified or multicast; an IPv4-mapped or 6to4/Teredo-wrapped IPv6
    address is judged by the IPv4 address inside it."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = (
            address.ipv4_mapped
            or address.sixtofour
            or (address.teredo[1] if address.teredo else None)
        )
        if inner is not None and not is_public(inner):
            return False
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host resolves to (a literal address is its own answer)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise AddressRefused(f"{host}: does not resolve ({exc.__class__.__name__})") from None
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]  # an IPv6 zone id
        addresses.append(ipaddress.ip_address(text))
    if not addresses:
        raise AddressRefused(f"{host}: no address")
    return addresses


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port


def check_url(url: str, *, trusted_bases: Iterable[str] = ()) -> list[IPAddress]:
    """Raise AddressRefused unless `url` may be fetched; the addresses it resolved to.

    Allowed: a URL on the origin of one of `trusted_bases` (the configured gateway, even
    when that is http on loopback, as the simulator is), or an https URL whose host
    resolves only to public addresses."""
    origin = _origin(url)
    if origin is None:
        raise AddressRefused("not an absolute http(s) URL")
    scheme, host, port = origin
    if origin in {o for base in trusted_bases if (o := _origin(base))}:
        return []
    if scheme != "https":
        raise AddressRefused(f"{host}: only https links are fetched")
    addresses = resolve(host, port)
    if not all(is_public(address) for address in addresses):
        raise AddressRefused(f"{host}: resolves to a non-public address")
    return addresses
