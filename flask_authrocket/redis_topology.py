"""Redis in every shape a host offers: clients for ``AUTHROCKET_CACHE`` URLs, a given client's bounds, its errors.

Ground floor, no Flask. :func:`client_factory` reads a URL in the spellings
Flask-Limiter's ``limits`` library uses and returns a function that builds the
redis-py client for it (built on first use, in the worker, never at import):

==============================================================  ===========================================
URL                                                             client
==============================================================  ===========================================
``redis://[[user]:password@]host[:port][/db][?option=...]``     ``redis.Redis``
``rediss://...?ssl_ca_certs=/path/ca.pem``                      ``redis.Redis`` over TLS
``unix:///path/redis.sock[?db=0]``, ``redis+unix://...``        ``redis.Redis`` on a Unix socket
``redis+sentinel://[[user]:password@]host:port[,host:port...]``  ``Sentinel(...).master_for(service)``
``/service[?option=...]``
``redis+cluster://[[user]:password@]host:port[,host:port...]``   ``redis.cluster.RedisCluster``
``valkey://``, ``valkeys://``, ``valkey+unix://``,              the same, for Valkey (redis-py talks to
``valkey+sentinel://``, ``valkey+cluster://``                   Valkey as to Redis)
==============================================================  ===========================================

The query options are redis-py's own (``ssl_ca_certs``, ``ssl_cert_reqs``,
``socket_timeout`` ...; ``ssl=true`` turns TLS on for a cluster or the nodes
behind sentinels). A client built here never waits long: ``socket_timeout``
and ``socket_connect_timeout`` default to :data:`SOCKET_TIMEOUT` seconds and
it does not retry with backoff, so a Redis that is down or hangs costs one
short wait, after which the extension's guard leaves it alone.

A client the app builds itself is used as it is; :func:`client_warnings` says
what in it can hold a request (no ``socket_timeout``: a Redis that stops
answering hangs every request that reads it; retries with backoff).
:func:`explain_error` turns what redis-py raises into what to fix: a
certificate that is not trusted, a command an ACL refuses, keys of one command
in two hash slots, a Cluster reached through a plain client.
"""

from __future__ import annotations

import inspect
import math
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import ConfigurationError
from .logs import redact_url

#: Seconds a client built from a URL waits to connect, and for each answer, unless the URL says otherwise.
SOCKET_TIMEOUT = 2.0

#: The kinds of Redis, by URL scheme (``limits``' spellings, and redis-py's ``unix://``).
SCHEMES: dict[str, str] = {
    "redis": "Redis",
    "rediss": "Redis",
    "unix": "Redis",
    "redis+unix": "Redis",
    "valkey": "Redis",
    "valkeys": "Redis",
    "valkey+unix": "Redis",
    "redis+sentinel": "Sentinel",
    "valkey+sentinel": "Sentinel",
    "redis+cluster": "RedisCluster",
    "valkey+cluster": "RedisCluster",
}
#: What the ``valkey`` spellings and ``redis+unix`` are in redis-py's own.
_REDIS_PY_SCHEME = {"valkey": "redis", "valkeys": "rediss", "redis+unix": "unix", "valkey+unix": "unix"}

#: The ACL rules of a user that may do everything the extension does, and nothing else
#: (docs/deployment.md).
ACL_RULES = "~flask_authrocket:* resetchannels -@all +get +mget +set +del"
#: The same on a Cluster, whose client reads the command table and the slots' owners to find its way.
ACL_CLUSTER_RULES = ACL_RULES + " +command +cluster|slots"

_URL_SHAPES = (
    "redis://[[user]:password@]host[:port][/db], rediss://..., unix:///path/redis.sock, "
    "redis+sentinel://[[user]:password@]host:port[,host:port...]/service_name or "
    "redis+cluster://[[user]:password@]host:port[,host:port...] (or their valkey spellings)"
)


def client_factory(url: str) -> tuple[str, Callable[[], Any]]:
    """The kind of Redis ``url`` names and a function that builds its redis-py client.

    Everything that can be checked without a server is checked here: the
    scheme, hosts and ports, the database, the sentinel service, the names and
    values of the query options. Raises
    :class:`~flask_authrocket.ConfigurationError` naming ``AUTHROCKET_CACHE``
    (the URL shown without its password) for a URL that cannot work, and when
    redis-py is not installed.
    """
    scheme = urlsplit(url).scheme.lower()
    kind = SCHEMES.get(scheme)
    if kind is None:
        raise _url_error(url, f"the scheme {scheme + '://' if scheme else '(none)'} is not one of Redis's")
    try:
        import redis  # noqa: F401 - a clear error now, not at the first request
    except ImportError:
        raise ConfigurationError(
            f"AUTHROCKET_CACHE is a {scheme}:// URL but the redis package is not installed; "
            "pip install 'flask-authrocket[redis]'."
        ) from None
    try:
        if kind == "Sentinel":
            return kind, _sentinel_factory(url)
        if kind == "RedisCluster":
            return kind, _cluster_factory(url)
        return kind, _redis_factory(url, scheme)
    except ValueError as error:
        raise _url_error(url, str(error)) from None


def _url_error(url: str, why: str) -> ConfigurationError:
    return ConfigurationError(
        f"AUTHROCKET_CACHE {redact_url(url)!r} is not a usable Redis URL ({redact_url(why)}); expected {_URL_SHAPES}."
    )


def _bounded() -> dict[str, Any]:
    """What every client built here gets unless its URL says otherwise: short waits, no retry backoff."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": SOCKET_TIMEOUT,
        "retry": Retry(NoBackoff(), 0),
    }


def _redis_factory(url: str, scheme: str) -> Callable[[], Any]:
    import redis
    from redis.connection import parse_url

    native = _REDIS_PY_SCHEME.get(scheme, scheme) + url[len(scheme) :]
    cast(Any, parse_url)(native)  # raises ValueError for a port or an option value it cannot read
    parts = urlsplit(native)
    if parts.scheme != "unix":
        _host(parts.hostname or "localhost", parts.netloc)
    parts.port  # noqa: B018 - raises ValueError for a port that is not one
    database = parts.path.strip("/")
    if parts.scheme != "unix" and database and not database.isdigit():
        raise ValueError(f"the database {database!r} is not a number")
    _check_options(_query_options(parts.query), tls=parts.scheme == "rediss")
    defaults = _bounded()

    def connect() -> Any:
        # The URL's own options win over the defaults (redis-py's rule for from_url).
        return redis.Redis.from_url(native, **defaults)

    return connect


def _sentinel_factory(url: str) -> Callable[[], Any]:
    from redis.sentinel import Sentinel

    parts = urlsplit(url)
    service = unquote(parts.path).strip("/")
    if not service or "/" in service:
        raise ValueError("the sentinels' service name, the path after the hosts, is missing")
    sentinels = _locations(parts.netloc, default_port=26379)
    auth = _auth(parts.netloc)
    options = _query_options(parts.query)
    _check_options(options, tls=bool(options.get("ssl")))
    bounded = _bounded()
    # As in Flask-Limiter: the user name and password are given to the sentinels and to the nodes.
    sentinel_options = {**auth, **{key: value for key, value in options.items() if key.startswith("ssl")}}
    for key in ("socket_timeout", "socket_connect_timeout"):
        sentinel_options[key] = options.get(key, bounded[key])

    def connect() -> Any:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # Typed as Any: redis-py annotates Sentinel from 8.2 on, not before (8.1 is the newest on 3.10).
        sentinel_class: Any = Sentinel
        sentinel = sentinel_class(
            sentinels, sentinel_kwargs={**sentinel_options, "retry": Retry(NoBackoff(), 0)}, **{**bounded, **auth}
        )
        return sentinel.master_for(service, **options)

    return connect


def _cluster_factory(url: str) -> Callable[[], Any]:
    from redis.cluster import ClusterNode, RedisCluster

    parts = urlsplit(url)
    if parts.path.strip("/"):
        raise ValueError("a Redis Cluster has no database or service: drop the path")
    nodes = _locations(parts.netloc, default_port=6379)
    given = _query_options(parts.query)
    if given.pop("db", 0) != 0:
        raise ValueError("a Redis Cluster has only database 0")
    _check_options(given, tls=bool(given.get("ssl")))
    options = {**_bounded(), **_auth(parts.netloc), **given}

    def connect() -> Any:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # RedisCluster connects when it is made (it asks for the slots): here, at first use.
        # One retry, at once, after the topology refresh a dead node causes: the node's replica
        # may have taken its slots. Never a backoff that would hold the request.
        return RedisCluster(
            startup_nodes=[cast(Any, ClusterNode)(host, port) for host, port in nodes],
            retry=Retry(NoBackoff(), 1),
            **{key: value for key, value in options.items() if key != "retry"},
        )

    return connect


def _locations(netloc: str, *, default_port: int) -> list[tuple[str, int]]:
    hosts = netloc.rpartition("@")[2]
    found = []
    for location in hosts.split(","):
        parts = urlsplit("//" + location.strip())
        port = parts.port  # raises ValueError for a port that is not one
        found.append((_host(parts.hostname, location), default_port if port is None else port))
    return found


def _host(name: str | None, location: str) -> str:
    """``name`` if it can be a host's name or address (at most 253 characters, nothing odd in it)."""
    if not name:
        raise ValueError(f"{location.strip()[:40]!r} names no host")
    if len(name) > 253 or any(char.isspace() or not char.isprintable() or char in "\\/" for char in name):
        raise ValueError(f"{name[:40]!r}... is not a host name")
    return name


def _auth(netloc: str) -> dict[str, str]:
    userinfo, at, _ = netloc.rpartition("@")
    if not at:
        return {}
    user, colon, password = userinfo.partition(":")
    auth = {}
    if user:
        auth["username"] = unquote(user)
    if colon and password:
        auth["password"] = unquote(password)
    return auth


def _query_options(query: str) -> dict[str, Any]:
    """The query's options, typed as redis-py types those of a ``redis://`` URL (and ``ssl`` as a flag)."""
    from redis.connection import URL_QUERY_ARGUMENT_PARSERS

    options: dict[str, Any] = {}
    for name, value in parse_qsl(query):
        if name == "ssl":
            if value.lower() not in _FLAGS:
                raise ValueError(f"ssl={value!r} is not true or false")
            options[name] = _FLAGS[value.lower()]
            continue
        parser = cast("dict[str, Callable[[str], Any]]", URL_QUERY_ARGUMENT_PARSERS).get(name)
        try:
            options[name] = parser(value) if parser is not None else value
        except (TypeError, ValueError):
            raise ValueError(f"the value of {name!r} is not valid") from None
    return options


_FLAGS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _check_options(options: dict[str, Any], *, tls: bool) -> None:
    """Refuse options redis-py would only refuse at the first request, and unbounded waits."""
    allowed = _connection_options()
    for name in options:
        if name not in allowed:
            raise ValueError(f"{name!r} is not an option of redis-py's connections")
        if name.startswith("ssl_") and not tls:
            raise ValueError(f"{name} is a TLS option: use rediss:// (or ssl=true for a cluster or sentinels)")
    for name in ("socket_timeout", "socket_connect_timeout"):
        value = options.get(name)
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number of seconds")


def _connection_options() -> frozenset[str]:
    """The keyword arguments redis-py's connections take (this release's), and the few a client adds."""
    from redis.connection import AbstractConnection, Connection, SSLConnection, UnixDomainSocketConnection

    names = {"db", "ssl", "username", "password", "path", "host", "port", "timeout", "protocol"}
    for connection_class in (AbstractConnection, Connection, SSLConnection, UnixDomainSocketConnection):
        names.update(inspect.signature(connection_class.__init__).parameters)
    return frozenset(names - {"self", "kwargs", "args", "retry", "connection_pool", "redis_connect_func"})


# -- a client the app built ----------------------------------------------------------------------


def client_kind(client: Any) -> str | None:
    """``"Redis"`` or ``"RedisCluster"`` for a redis-py client (a sentinel's ``master_for`` is a Redis); else None."""
    import sys

    if "redis" not in sys.modules:
        return None  # nobody made a redis-py client without importing redis
    from redis import Redis
    from redis.cluster import RedisCluster

    if isinstance(client, RedisCluster):
        return "RedisCluster"
    if isinstance(client, Redis):
        return "Redis"
    return None


def socket_timeout(client: Any) -> float | None:
    """The ``socket_timeout`` the connections of ``client`` get (``None``: they wait forever)."""
    if client_kind(client) == "RedisCluster":
        kwargs = client.nodes_manager.connection_kwargs
        connection_class = kwargs.get("connection_class")
    else:
        pool = client.connection_pool
        kwargs, connection_class = pool.connection_kwargs, pool.connection_class
    if "socket_timeout" in kwargs:
        value: float | None = kwargs["socket_timeout"]
        return value
    from redis.connection import Connection

    # Not given: the connection class's own default (None before redis-py 8, 5 s since).
    for klass in (connection_class or Connection).__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            parameter = inspect.signature(init).parameters.get("socket_timeout")
            if parameter is not None and parameter.default is not inspect.Parameter.empty:
                default: float | None = parameter.default
                return default
    return None


def client_warnings(client: Any) -> list[str]:
    """What in a client the app built can hold a request: each as a sentence that says what to pass instead."""
    found = []
    if socket_timeout(client) is None:
        found.append(
            "AUTHROCKET_CACHE is a redis-py client without socket_timeout: a Redis that stops answering "
            "(a failover, a network partition) holds every request that reads it, for as long as the socket "
            "stays open, and the extension cannot step aside. Pass socket_timeout=1 and "
            "socket_connect_timeout=1 (and retry=Retry(NoBackoff(), 0)) to the client, or give a redis:// URL."
        )
    getter = getattr(client, "get_retry", None)
    retry = getter() if callable(getter) else getattr(client, "retry", None)
    retries = getattr(retry, "_retries", 0) if retry is not None else 0
    backoff = type(getattr(retry, "_backoff", None)).__name__
    if isinstance(retries, int) and retries > 0 and backoff not in ("NoBackoff", "NoneType"):
        found.append(
            f"AUTHROCKET_CACHE is a redis-py client that retries {retries} times with {backoff}: a Redis that is "
            "down holds a request for the sum of those waits (seconds) once a second. Pass "
            "retry=Retry(NoBackoff(), 0) to the client, or give a redis:// URL."
        )
    return found


# -- what its errors mean ------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheError:
    """What a failed call to a shared cache means: ``short`` for a log line, ``fix`` for ``check``."""

    #: One phrase naming the cause, safe for a log line (no address, no password): "ConnectionError",
    #: "certificate verify failed: ... set ssl_ca_certs ...", "NOPERM: the ACL user may not run MGET".
    short: str
    #: What to change.
    fix: str


_ACL_FIX = (
    f"grant the Redis ACL user the extension's commands and keys: ACL SETUSER <user> {ACL_RULES} "
    "(on a Cluster, also +command +cluster|slots; docs/deployment.md lists them)."
)
# The command's name only as Redis spells commands: what a server says is outside text, and goes to a terminal.
_NOPERM_COMMAND = re.compile(r"permissions? to (?:run|access) the '([A-Za-z0-9|_.-]{1,40})' (?:command|key)", re.I)
_VERIFY_REASON = re.compile(r"certificate verify failed: ([^()\]]{1,120})", re.IGNORECASE)


def explain_error(error: BaseException) -> CacheError:
    """What ``error``, raised by a cache call, means and how to fix it (never its full text: it may hold an address)."""
    text = " ".join(str(error).split())
    name = type(error).__name__
    upper = text.upper()
    if _certificate_failure(error):
        reason = _VERIFY_REASON.search(_chain_text(error))
        detail = f" ({_printable(reason.group(1).strip())})" if reason else ""
        return CacheError(
            f"certificate verify failed{detail}: the Redis server's TLS certificate is not signed by a CA this "
            "app trusts; set ssl_ca_certs",
            "set ssl_ca_certs=/path/to/ca.pem in the rediss:// URL (the CA that signed the server's certificate; "
            "your provider publishes it), or pass ssl_ca_certs to your client. Verification is never turned off.",
        )
    if "NOPERM" in upper or name == "NoPermissionError":
        match = _NOPERM_COMMAND.search(text)
        what = f"run {match.group(1).upper()}" if match else "use these keys or commands"
        return CacheError(f"NOPERM: the ACL user may not {what}", _ACL_FIX)
    if "CLUSTER MODE IS NOT ENABLED" in upper:
        # What redis-py says when a node refuses CLUSTER SLOTS, whether to an ACL or because it is no cluster.
        return CacheError(
            "the node did not tell which node serves which slot (CLUSTER SLOTS): an ACL user without "
            "+command +cluster|slots, or a server that is not a Cluster",
            _ACL_FIX + " A single server is redis://, not redis+cluster://.",
        )
    if (
        "CROSSSLOT" in upper
        or "SAME KEY SLOT" in upper
        or name in ("ClusterCrossSlotError", "CrossSlotTransactionError")
    ):
        return CacheError(
            "CROSSSLOT: the keys of one command are in two hash slots",
            "keep the extension's key names (every key of a session carries its {session id} hash tag); a key "
            "prefix of your own must not contain { or }.",
        )
    if upper.startswith(("MOVED", "ASK ")) or name in ("MovedError", "AskError"):
        return CacheError(
            "MOVED: this Redis is a node of a Cluster, reached through a client that is not a cluster client",
            "use redis+cluster://host:port[,host:port...] in AUTHROCKET_CACHE, or a redis.cluster.RedisCluster.",
        )
    if upper.startswith(("WRONGPASS", "NOAUTH")) or name == "AuthenticationError" or "INVALID PASSWORD" in upper:
        return CacheError(
            f"{name}: the user name or password was refused",
            "check the user name and password in AUTHROCKET_CACHE (redis://user:password@host).",
        )
    if upper.startswith("READONLY") or name == "ReadOnlyError":
        return CacheError(
            "READONLY: this Redis is a replica",
            "point AUTHROCKET_CACHE at the master, or at the sentinels (redis+sentinel://...) so that it follows "
            "failovers.",
        )
    if name == "MasterNotFoundError":
        return CacheError(
            "MasterNotFoundError: no sentinel named a master for the service",
            "check the service name after the hosts in redis+sentinel://host:port/service_name, and that the "
            "sentinels run.",
        )
    return CacheError(
        name,
        "check that Redis runs and that this app can reach it (host, port, password, TLS in AUTHROCKET_CACHE).",
    )


def _chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found and len(found) < 10:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _chain_text(error: BaseException) -> str:
    return " ".join(str(each) for each in _chain(error))


def _certificate_failure(error: BaseException) -> bool:
    return any(isinstance(each, ssl.SSLCertVerificationError) for each in _chain(error)) or (
        "CERTIFICATE_VERIFY_FAILED" in _chain_text(error).upper()
    )


def _printable(text: str) -> str:
    return "".join(char if char.isprintable() else "?" for char in text)
