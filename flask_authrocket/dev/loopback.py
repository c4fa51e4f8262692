"""Is it this computer? The one loopback check of the development LoginRocket and of ``flask authrocket``.

The development LoginRocket binds to loopback and answers loopback clients
only; ``flask authrocket token`` asks only a LoginRocket on loopback for a
token; ``flask authrocket check`` says when a URL is (or is not) on loopback.
All three ask this module, which imports nothing but the standard library (and
the package's light :mod:`flask_authrocket.fetch`) so that the command line can
ask it without loading the development app.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from ..fetch import url_problem


def is_loopback_address(text: str) -> bool:
    """True for a loopback IP address: ``127.0.0.0/8``, ``::1``, or ``::ffff:127.x.y.z``.

    Brackets (``[::1]``) and an IPv6 zone (``::1%lo``) are allowed; a host
    name, even ``localhost``, is not an address and gives ``False``.
    """
    try:
        address = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    # Python before 3.13 does not look inside an IPv4-mapped IPv6 address.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and for loopback IP addresses (see :func:`is_loopback_address`).

    For a host to bind to or a client's address: ``localhost`` is taken at its word.
    """
    if not host:
        return False
    return host.lower() == "localhost" or is_loopback_address(host)


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is a loopback address, or ``localhost`` resolving to loopback addresses only.

    For a URL this computer is about to call: ``localhost`` is resolved, so a
    machine whose ``localhost`` points elsewhere is not trusted with a token.
    A URL that parsers could read differently (user info, a backslash,
    whitespace: see :func:`flask_authrocket.fetch.url_problem`) is never
    loopback: ``http://evil.example\\@127.0.0.1/`` goes to evil.example.
    """
    if url_problem(url) is not None:
        return False
    return is_loopback_host(urlsplit(url).hostname)


def is_loopback_host(host: str | None) -> bool:
    """True for a loopback address, or ``localhost`` resolving to loopback addresses only.

    The host part of :func:`is_loopback_url`, for a host another parser read (urllib3's, in
    ``flask authrocket token``).
    """
    if not host:
        return False
    host = host.lower()
    if host == "localhost":
        try:
            addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
        except OSError:
            return False
        return bool(addresses) and all(is_loopback_address(address) for address in addresses)
    return is_loopback_address(host)
