"""Outbound HTTP with bounds: a deadline for a whole call, one GET of a JSON document, safe JSON, sane URLs.

Ground floor, no Flask. The key-set fetch and the diagnostics of ``flask
authrocket check`` go through :func:`get_json`, and the Core API client sends
through the same :class:`Deadline`, so they share one set of limits: a
deadline for the whole call (connect, headers and body, not per read), a size
limit, JSON that cannot raise anything but ``ValueError`` however deep it
nests, and URLs that every parser reads alike (:func:`url_problem`). The one loopback check
(:func:`is_loopback_url` and its kin) is here too, for the commands and the development LoginRocket.
``requests`` is imported on the first call, not when the package is imported.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import os
import re
import socket
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    import requests

#: Deeper JSON is refused: no AuthRocket answer nests more than a few levels, and the code
#: that reads records walks them recursively, so an absurd depth must stop at the door.
MAX_JSON_DEPTH = 64

_local = threading.local()


class FetchError(ValueError):
    """A GET that gave no usable JSON document.

    ``kind`` says which way it failed: ``"timeout"`` or ``"unreachable"`` (nothing
    answered: :attr:`unreachable` is true), ``"status"`` (an answer other than
    200; ``status`` holds it), ``"redirect"`` (a 3xx with a ``Location``, never
    followed; the message names it), ``"oversize"`` or ``"not_json"``
    (``start`` holds the first characters of the body).
    """

    def __init__(self, message: str, kind: str, *, status: int | None = None, start: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.start = start

    @property
    def unreachable(self) -> bool:
        """True when nothing answered at all (refused, no such host, timed out)."""
        return self.kind in ("timeout", "unreachable")


class Deadline:
    """The end of one outbound call: ``seconds`` after the block starts, whatever it still reads is cut off.

    requests' ``timeout`` bounds each read, so a server that sends one byte
    every half second holds a call for as long as it likes; a deadline bounds
    the whole call. Leaving the block after the deadline cut the call off
    raises ``requests.Timeout`` (from whatever the cut-off read raised)::

        with Deadline(5) as deadline:
            answer = http.get(url, timeout=deadline.timeout, stream=True)
            deadline.watch_response(answer)
            body = answer.content

    The connections of a session from :func:`new_session` are watched from the
    moment they connect, so a slow connect or slow headers end too; with any
    other session, :meth:`watch_response` cuts the body off. A thread has one
    deadline at a time; the timer is one short-lived thread per call.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        #: True once the deadline passed while the block ran.
        self.expired = False
        self._ends_at = time.monotonic() + seconds
        self._stops: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    @property
    def timeout(self) -> tuple[float, float]:
        """requests' ``timeout=`` for a call made now: the time left, for the connect and for each read."""
        left = max(0.001, self._ends_at - time.monotonic())
        return (left, left)

    def watch(self, stop: Callable[[], None]) -> None:
        """Call ``stop`` (which ends a blocked read) when the deadline passes; at once if it has."""
        with self._lock:
            if not self.expired:
                self._stops.append(stop)
                return
        _quietly(stop)

    def watch_response(self, answer: requests.Response) -> None:
        """Cut ``answer``'s body off at the deadline, whichever session sent it (urllib3 2.3 and later)."""
        shutdown = getattr(answer.raw, "shutdown", None)
        if callable(shutdown):
            self.watch(shutdown)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            stops, self._stops = self._stops, []
        for stop in stops:
            _quietly(stop)

    def __enter__(self) -> Deadline:
        self._ends_at = time.monotonic() + self.seconds
        _local.deadline = self
        self._timer.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._timer.cancel()
        _local.deadline = None
        if self.expired:
            import requests

            # Whatever the cut-off read raised (or a body cut short that looked complete) is a timeout.
            raise requests.Timeout(f"the call took over {self.seconds:g} s") from exc


def _quietly(stop: Callable[[], None]) -> None:
    with contextlib.suppress(OSError, ValueError, RuntimeError):  # already closed, or handed back to the pool
        stop()


def _shutdown(sock: socket.socket) -> None:
    # socket.socket's own shutdown, also for an SSLSocket: it ends a read blocked in another thread.
    socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watch_socket(connection: Any) -> None:
    """Put ``connection``'s socket under the current thread's :class:`Deadline`, if any."""
    deadline: Deadline | None = getattr(_local, "deadline", None)
    sock = getattr(connection, "sock", None)
    if deadline is not None and isinstance(sock, socket.socket):
        deadline.watch(functools.partial(_shutdown, sock))


@functools.cache
def _watched_adapter() -> type[Any]:
    """A requests ``HTTPAdapter`` whose connections put their sockets under the thread's :class:`Deadline`."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class WatchedHTTPConnection(HTTPConnection):
        def connect(self) -> None:
            super().connect()
            _watch_socket(self)

        def request(self, *args: Any, **kwargs: Any) -> None:
            _watch_socket(self)  # a pooled connection, connected during an earlier call
            super().request(*args, **kwargs)

    class WatchedHTTPSConnection(HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            _watch_socket(self)

        def request(self, *args: Any, **kwargs: Any) -> None:
            _watch_socket(self)
            super().request(*args, **kwargs)

    class WatchedHTTPPool(HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

    class WatchedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPSConnection

    pools = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}

    class WatchedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            if not proxy.lower().startswith("socks"):  # SOCKS managers bring pools of their own
                manager.pool_classes_by_scheme = pools
            return manager

    return WatchedAdapter


def new_session(ca_bundle: str | None = None) -> requests.Session:
    """A :class:`requests.Session` whose calls a :class:`Deadline` bounds from the connect on; imports requests now.

    ``ca_bundle`` (``AUTHROCKET_CA_BUNDLE``) is a file of CA certificates that https
    servers are checked against instead of the usual ones (for a TLS-inspecting proxy).
    """
    import requests

    http = requests.Session()
    adapter = _watched_adapter()
    http.mount("http://", adapter())
    http.mount("https://", adapter())
    if ca_bundle:
        http.verify = ca_bundle
    return http


def tls_verify(http: requests.Session) -> bool | str:
    """What to pass as ``verify=`` on each call of ``http``: its CA file when it has one, else ``True``.

    Passed on every call because requests lets ``REQUESTS_CA_BUNDLE`` in the environment
    override a session's own ``verify``; and never ``False``: certificates are always checked,
    even through a session whose ``verify`` was turned off.
    """
    return http.verify if isinstance(http.verify, str) and http.verify else True


def ca_bundle_problem(path: str) -> str | None:
    """Why ``path`` cannot serve as a file of CA certificates, or ``None`` when it can (it is loaded to see)."""
    import ssl

    if not os.path.isfile(path):
        return "is not a file"
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ValueError, ssl.SSLError):
        return "holds no PEM certificate that can be loaded"
    return None


def get_json(
    http: requests.Session,
    url: str,
    *,
    timeout: float,
    max_bytes: int,
    answer_headers: dict[str, str] | None = None,
) -> Any:
    """GET ``url`` and return its JSON, within ``timeout`` seconds and ``max_bytes`` bytes in all.

    ``answer_headers``, when given, receives the answer's headers (lower-cased names), as soon
    as they arrive: ``check`` compares the server's ``Date`` with this machine's clock.

    Raises :class:`FetchError` for anything else: no answer, a status other
    than 200, a redirect (never followed: it could lead to anyone's server), a
    body too large, or a body that is not JSON (see :func:`parse_json`). The
    whole call, connect to last byte, ends within ``timeout`` plus a moment.
    """
    import requests
    import urllib3

    body = bytearray()
    try:
        with (
            Deadline(timeout) as deadline,
            http.get(
                url,
                timeout=deadline.timeout,
                stream=True,
                allow_redirects=False,
                headers={"Accept": "application/json"},
                verify=tls_verify(http),
            ) as answer,
        ):
            deadline.watch_response(answer)
            status = answer.status_code
            if answer_headers is not None:
                answer_headers.update((name.lower(), value) for name, value in answer.headers.items())
            if answer.is_redirect:
                location = answer.headers.get("Location", "")[:200]
                raise FetchError(f"{url} redirected to {location!r}, which is not followed", "redirect", status=status)
            for chunk in answer.iter_content(8192):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(f"{url} answered over {max_bytes // 1024} KB", "oversize", status=status)
    except requests.Timeout as exc:
        raise FetchError(f"{url} did not answer within {timeout:g} s", "timeout") from exc
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise FetchError(f"{url} is unreachable: {network_reason(exc)}", "unreachable") from exc
    if status != 200:
        raise FetchError(f"{url} answered HTTP {status}", "status", status=status)
    try:
        return parse_json(bytes(body))
    except ValueError as exc:
        start = bytes(body[:40]).decode("utf-8", "replace")
        raise FetchError(f"{url} answered something that is not JSON", "not_json", status=status, start=start) from exc


def parse_json(body: bytes | str) -> Any:
    """The JSON document in ``body``; ``ValueError`` for anything else.

    That includes JSON nested deeper than :data:`MAX_JSON_DEPTH` (the standard
    parser raises ``RecursionError`` on a few thousand levels, and shallower
    nesting can still overflow code that walks it), and bytes that are not UTF-8.
    """
    try:
        document = json.loads(body)
    except RecursionError as exc:
        raise ValueError("the JSON is nested too deeply") from exc
    pending = [(document, 1)] if isinstance(document, (dict, list)) else []
    while pending:  # a loop, not recursion: the depth is what is being checked
        value, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"the JSON is nested over {MAX_JSON_DEPTH} levels deep")
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return document


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be called, in words that never repeat it (it may hold a password); ``None`` when it can.

    A URL to call is ``http`` or ``https`` with a host, and holds no user info
    (``name:password@``), no backslash, no whitespace and no control character.
    Those are where URL parsers disagree about the host:
    ``http://evil.example\\@127.0.0.1/`` is 127.0.0.1 to
    :func:`urllib.parse.urlsplit` but evil.example to requests.
    """
    if "\\" in url:
        return "holds a backslash"
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in url):
        return "holds whitespace or a control character"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # raises ValueError for a port that is not one
    except ValueError:
        return "is not a well-formed URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an absolute http(s) URL"
    if "@" in parts.netloc:
        return "holds user info (name:password@), which must not be in it"
    return None


#: What the parts of an ``AUTHROCKET_URI``'s user info are, by their prefix (authrocket-ruby api_config.rb).
_URI_PARTS = (("jsk_", "jwt_key"), ("key_", "api_key"), ("ks_", "api_key"), ("rl_", "realm"), ("svc_", "service"))


@dataclass(frozen=True)
class ApiUri:
    """An ``AUTHROCKET_URI``: the API's URL with credentials inside, as the Ruby gem reads it.

    ``https://ks_...:rl_...@api-e2.authrocket.com/v2``: the user and password of the URL are
    each an API key (``ks_``/``key_``), a realm (``rl_``), a service (``svc_``) or a JWT key
    (``jsk_``), told apart by their prefix (``parse_credentials`` in authrocket-ruby
    ``lib/authrocket/api/api_config.rb``); ``url`` is the URL without them. Its ``repr``
    and :meth:`masked` never show the API key or JWT key.
    """

    url: str
    api_key: str | None = field(default=None, repr=False)
    realm: str | None = None
    service: str | None = None
    jwt_key: str | None = field(default=None, repr=False)

    def masked(self) -> str:
        """The URI as it may be shown: ``https://ks_...3f9a:rl_abc@api-e2.authrocket.com/v2``."""
        parts = [
            _masked_key(self.api_key) if self.api_key else None,
            self.realm,
            self.service,
            "jsk_***" if self.jwt_key else None,
        ]
        user_info = ":".join(part for part in parts if part)
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{user_info}@{rest}" if user_info else self.url


def _masked_key(key: str) -> str:
    prefix = key.split("_", 1)[0] + "_"
    return f"{prefix}...{key[-4:]}" if len(key) >= 16 else f"{prefix}..."


def parse_api_uri(text: str) -> ApiUri:
    """The parts of an ``AUTHROCKET_URI`` (see :class:`ApiUri`).

    Raises ``ValueError`` with a message that never repeats the URI (it holds a key) when it
    is not an absolute http(s) URL with user info, when the URL left without its user info
    is not one :func:`url_problem` accepts, or when a part of the user info has none of the
    prefixes above (the gem drops such a part silently; a mistyped key should not go unnoticed).
    """
    if "\\" in text or any(char.isspace() or unicodedata.category(char) == "Cc" for char in text):
        raise ValueError("holds a backslash, whitespace or a control character")
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018  # raises ValueError for a port that is not one
    except ValueError:
        raise ValueError("is not a well-formed URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError("is not an absolute http(s) URL")
    netloc = parts.netloc.rpartition("@")[2]
    url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    problem = url_problem(url)
    if problem is not None:
        raise ValueError(f"without its user info {problem}")
    found: dict[str, str] = {}
    for part in (parts.username, parts.password):
        if not part:
            continue
        part = unquote(part)
        name = next((name for prefix, name in _URI_PARTS if part.startswith(prefix)), None)
        if name is None:
            raise ValueError(
                "holds user info that is neither an API key (ks_...), a realm (rl_...), a service (svc_...) "
                "nor a JWT key (jsk_...)"
            )
        if name in found:
            raise ValueError(f"holds two values for the {name.replace('_', ' ')}")
        found[name] = part
    if not found:
        raise ValueError("holds no credentials: write them as https://<api key>:<realm>@<host>/v2")
    return ApiUri(url=url.rstrip("/"), **found)


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def network_reason(exc: BaseException) -> str:
    """The few words that matter in a connection error: ``"Connection refused"``, a name that does not resolve."""
    text = str(exc)
    if "NameResolutionError" in text or "Name or service not known" in text or "nodename nor servname" in text:
        return "the host name does not resolve"
    found = _ERRNO.search(text)
    if found:
        return found.group(1).strip()
    return type(exc).__name__


# Is it this computer? The one loopback check: the development LoginRocket binds to loopback and
# answers loopback clients only; ``flask authrocket token`` asks only a LoginRocket on loopback
# for a token; ``flask authrocket check`` says when a URL is (or is not) on loopback.


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
    whitespace: see :func:`url_problem`) is never
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
