"""The cache that managed sessions and the API client share, and the guard that keeps a failing one harmless.

``AUTHROCKET_CACHE`` becomes a cachelib cache here (:func:`build_cache`), and
each user of it wraps it in a :class:`GuardedCache`: a cache that fails (Redis
down, or hanging) is logged once, left alone for a while (the API client's for
:data:`CACHE_RETRY_INTERVAL` seconds; managed sessions let one request probe it
every second), and never turns a request into a 500.

A shared cache holds JSON, never pickles (:class:`JsonSerializer`): cachelib's
caches unpickle what they read, so anyone who could write to the Redis would
run code in the app. What is not JSON is a miss. :class:`InProcessCache` is a
small bounded cache of the process's own, for what must not wait for a shared
cache that is down.

Ground floor: no Flask here. cachelib is imported only when a cache is built,
so ``import flask_authrocket`` does not load it.
"""

from __future__ import annotations

import copy
import json
import math
import threading
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from .errors import ConfigurationError
from .logs import logger, redact_url
from .lru import BoundedLRU

if TYPE_CHECKING:
    from cachelib import BaseCache


#: Seconds a cache that failed is left alone before it is tried again (the default of :class:`GuardedCache`).
CACHE_RETRY_INTERVAL = 30.0

#: The attribute :func:`build_cache` sets on the cache it makes when ``AUTHROCKET_CACHE`` is unset.
_PROCESS_ONLY = "_flask_authrocket_process_only"


class _Unstorable(TypeError):
    """A value JSON cannot hold: it is not cached, and the cache is not to blame."""


class JsonSerializer:
    """A cachelib serializer that writes JSON and reads nothing else: no value it reads can run code.

    It replaces the pickles of cachelib's own serializers in every cache the
    extension shares with other processes (:func:`without_pickles`). A value
    that is not JSON (a pickle written by an older version, or planted by
    someone who can write to the cache) reads as ``None``, a miss, and is
    logged once. Integers are stored as plain digits, as cachelib's
    ``inc``/``dec`` expect.
    """

    def __init__(self) -> None:
        self._warned = False

    def dumps(self, value: Any) -> bytes:
        """``value`` as compact JSON bytes; raises a ``TypeError`` for a value JSON cannot hold."""
        try:
            return json.dumps(value, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError, RecursionError):
            raise _Unstorable(f"a {type(value).__name__} cannot be cached as JSON") from None

    def loads(self, value: bytes | str | None) -> Any:
        """The value JSON ``value`` holds; ``None`` for nothing, or for anything that is not JSON."""
        if value is None:
            return None
        try:
            return json.loads(value)
        except (TypeError, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            if not self._warned:
                self._warned = True
                logger.warning(
                    "A value in the shared cache is not JSON (a pickle, or something written by someone else); "
                    "it is ignored, never unpickled."
                )
            return None

    def dump(self, value: Any, f: IO[bytes]) -> None:
        """Write ``value`` as JSON to the file ``f`` (a ``FileSystemCache`` entry)."""
        f.write(self.dumps(value))

    def load(self, f: IO[bytes]) -> Any:
        """The value the file ``f`` holds as JSON; ``None`` when it holds anything else."""
        return self.loads(f.read())


def without_pickles(cache: BaseCache) -> BaseCache:
    """``cache``, or a copy of it that stores JSON: what the extension reads back from it cannot run code.

    A ``SimpleCache`` lives in the process and nobody else writes to it: it is
    used as it is. Any other cachelib cache with a ``serializer`` (Redis,
    Valkey, file system, MongoDB, DynamoDB, uWSGI) is copied with a
    :class:`JsonSerializer`; the copy shares the connection, and the app's
    own object keeps its serializer for the app's own uses. A cache without a
    ``serializer`` (cachelib's ``MemcachedCache``, whose client library
    pickles by itself) is used as it is: do not share one with anyone who
    should not run code in the app.
    """
    from cachelib import SimpleCache

    serializer = getattr(cache, "serializer", None)
    if isinstance(cache, SimpleCache) or serializer is None or isinstance(serializer, JsonSerializer):
        return cache
    safe = copy.copy(cache)
    cast(Any, safe).serializer = JsonSerializer()
    return safe


class GuardedCache:
    """A cachelib cache whose failures are an empty cache for a while, logged once, never raised.

    ``name`` and ``fallback`` word the log lines: ``"<name> failed
    (<ErrorType>); <fallback> for the next 30 s."`` when an outage starts and
    ``"<name> answers again."`` when it ends. While the cache rests after a
    failure, :meth:`get` answers ``None`` and :meth:`set`, :meth:`add` and
    :meth:`delete` answer ``False`` without calling it. Once every
    ``retry_interval`` seconds (default :data:`CACHE_RETRY_INTERVAL`) one call,
    and only one, probes it: a Redis that hangs costs one timeout per interval,
    not one per request, and a Redis that is back is used from the first call
    that finds it answering. ``clock`` is a monotonic clock in seconds, for
    tests of the interval.

    A shared cache is used through :func:`without_pickles` (it stores JSON,
    and reads anything else as a miss); :attr:`cache` is what is used.

    >>> guarded = GuardedCache(SimpleCache(), name="The API client's cache",
    ...                        fallback="calling the API without it")  # doctest: +SKIP
    >>> guarded.set("answer", 42, timeout=60)                            # doctest: +SKIP
    True
    """

    def __init__(
        self,
        cache: BaseCache,
        *,
        name: str,
        fallback: str,
        retry_interval: float = CACHE_RETRY_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = without_pickles(cache)
        self.name = name
        self.fallback = fallback
        self.retry_interval = retry_interval
        self._clock = clock
        self._failing = False
        self._retry_at = 0.0
        self._lock = threading.Lock()  # so that an outage seen by many threads at once is logged once

    @property
    def failing(self) -> bool:
        """Whether the last call to the cache failed (it is left alone until its retry time)."""
        return self._failing

    @property
    def process_only(self) -> bool:
        """Whether the cache is the in-process one :func:`build_cache` made for an unset ``AUTHROCKET_CACHE``.

        Nobody else reads or writes that cache, so a user of it may as well keep
        what it stores in an :class:`InProcessCache` of its own (no pickling, no
        lock on a read).
        """
        return bool(getattr(self.cache, _PROCESS_ONLY, False))

    def get(self, key: str) -> Any:
        """The value cached under ``key``; ``None`` when there is none or the cache fails."""
        return self._attempt(lambda: self.cache.get(key), None)

    def get_many(self, *keys: str) -> list[Any]:
        """The values cached under ``keys``, in order (one round trip to Redis); ``None`` for each missing one."""
        missing: list[Any] = [None] * len(keys)
        values: list[Any] = self._attempt(lambda: list(self.cache.get_many(*keys)), missing)
        return values

    def set(self, key: str, value: Any, timeout: int | None = None) -> bool:
        """Cache ``value`` under ``key`` for ``timeout`` seconds (``None``: the cache's default).

        Returns whether the cache took it: ``False`` when it failed or rests,
        or when a shared cache was given a value JSON cannot hold.
        """
        cache = self.cache
        try:
            stored: bool = self._attempt(lambda: store(cache, key, value, timeout), False)
        except _Unstorable as error:
            logger.debug("%s: %s; not cached.", self.name, error)
            return False
        return stored

    def add(self, key: str, value: Any, timeout: float) -> bool:
        """Cache ``value`` under ``key`` for ``timeout`` seconds unless the key holds a value: a short-lived lock.

        Returns whether this call took the key (``False`` when another holds
        it, or when the cache fails or rests). On a cachelib ``RedisCache`` it
        is one ``SET key value NX PX <milliseconds>``, so a lock whose holder
        died still expires; other caches use their ``add`` with the timeout
        rounded up to whole seconds.
        """
        cache = self.cache
        redis = _redis_parts(cache)
        if redis is not None:
            # cachelib's RedisCache.add is SETNX then EXPIRE: a worker that dies between the two
            # leaves a lock that never expires. One SET NX PX cannot.
            write_client, prefix, serializer = redis
            milliseconds = max(1, int(timeout * 1000))
            data = serializer.dumps(value)

            def call() -> bool:
                return bool(write_client.set(prefix() + key, data, nx=True, px=milliseconds))

        else:

            def call() -> bool:
                return bool(cache.add(key, value, timeout=max(1, math.ceil(timeout))))

        try:
            taken: bool = self._attempt(call, False)
        except _Unstorable as error:
            logger.debug("%s: %s; not cached.", self.name, error)
            return False
        return taken

    def delete(self, key: str) -> bool:
        """Forget ``key``; returns whether the cache did (``False`` when it failed or rests)."""
        deleted: bool = self._attempt(lambda: bool(self.cache.delete(key)), False)
        return deleted

    def _attempt(self, call: Callable[[], Any], default: Any) -> Any:
        """``call()``, or ``default`` when the cache rests or fails; a value JSON cannot hold is raised."""
        if self._resting():
            return default
        try:
            result = call()
        except _Unstorable:
            raise  # the value's fault: nothing reached the cache
        except Exception as error:  # cachelib lets the backend's own errors through
            self._failed(error)
            return default
        if self._failing:
            self._recovered()
        return result

    def _resting(self) -> bool:
        if not self._failing:
            return False
        now = self._clock()
        if now < self._retry_at:
            return True
        with self._lock:
            if now < self._retry_at:
                return True  # another call took this probe
            # This call probes; the others rest until it answers (or until the next interval, if it hangs).
            self._retry_at = now + self.retry_interval
        return False

    def _failed(self, error: Exception) -> None:
        # A cache that does not answer can cost seconds per call (redis-py retries); leave it alone a while.
        with self._lock:
            first = not self._failing
            self._failing = True
            self._retry_at = self._clock() + self.retry_interval
        if first:
            # The error's type only: a backend's message may carry its URL.
            logger.warning(
                "%s failed (%s); %s for the next %g s.",
                self.name,
                type(error).__name__,
                self.fallback,
                self.retry_interval,
            )

    def _recovered(self) -> None:
        with self._lock:
            was_failing = self._failing
            self._failing = False
        if was_failing:
            logger.info("%s answers again.", self.name)


class InProcessCache:
    """A small cache of this process's own: at most ``size`` entries, each kept for its ``timeout``.

    Managed sessions keep their logouts here, and the API's answers while the
    shared cache is down, so an outage of Redis costs one API call per session
    per TTL per process, not one per request. The least recently used entry
    makes room for a new one (:class:`~flask_authrocket.lru.BoundedLRU`, whose
    docstring says how it is thread-safe, free-threaded Python included);
    ``clock`` is a monotonic clock in seconds, for tests.
    """

    def __init__(self, size: int = 10_000, *, clock: Callable[[], float] = time.monotonic) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size!r}")
        self.size = size
        self._clock = clock
        self._entries: BoundedLRU[str, tuple[float, Any]] = BoundedLRU(size)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Any:
        """The value kept under ``key``; ``None`` when there is none or its time is over."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if self._clock() >= expires_at:
            self._entries.discard(key, entry)  # unless renewed meanwhile
            return None
        return value

    def set(self, key: str, value: Any, timeout: float) -> None:
        """Keep ``value`` under ``key`` for ``timeout`` seconds."""
        self._entries.put(key, (self._clock() + timeout, value))


def build_cache(value: Any) -> BaseCache:
    """The cache ``AUTHROCKET_CACHE`` names: a cachelib cache, a ``redis://`` URL, or ``None``.

    ``None`` makes a new in-process ``SimpleCache`` of this app alone (marked
    so, see :attr:`GuardedCache.process_only`); a cachelib cache is used as it
    is; a ``redis://`` or ``rediss://`` URL makes :func:`redis_cache`.
    Raises :class:`~flask_authrocket.ConfigurationError` for anything else.
    """
    from cachelib import BaseCache, SimpleCache

    if value is None:
        own = SimpleCache(threshold=10_000)
        setattr(own, _PROCESS_ONLY, True)  # nobody else can reach it: managed sessions skip it
        return own
    if isinstance(value, BaseCache):
        return value
    if isinstance(value, str) and urlsplit(value).scheme in ("redis", "rediss"):
        return redis_cache(value)
    # A string may be another kind of URL with a password in it: shown without its secrets.
    shown = redact_url(value) if isinstance(value, str) else type(value).__name__
    raise ConfigurationError(
        "AUTHROCKET_CACHE must be a cachelib cache (e.g. cachelib.RedisCache(...)), a redis:// URL "
        f"or None, not {shown!r}."
    )


def redis_cache(url: str) -> BaseCache:
    """A cachelib ``RedisCache`` for ``url`` (``redis://[:password@]host[:port][/db]``).

    Keys are prefixed with ``flask_authrocket:`` so the extension can share a
    Redis database with other users; values are JSON (:class:`JsonSerializer`),
    never pickles. Needs the ``redis`` package
    (``pip install flask-authrocket[redis]``). Raises
    :class:`~flask_authrocket.ConfigurationError` (without the password) for a
    URL redis cannot use.
    """
    try:
        import redis
    except ImportError:
        raise ConfigurationError(
            "AUTHROCKET_CACHE is a redis:// URL but the redis package is not installed; "
            "pip install 'flask-authrocket[redis]'."
        ) from None
    from cachelib import RedisCache
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # Fail fast: a cache that does not answer is skipped, never waited for.
    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0))
        database = urlsplit(url).path.strip("/")
        if database and not database.isdigit():
            raise ValueError(f"the database {database!r} is not a number")
    except ValueError as error:
        raise ConfigurationError(
            f"AUTHROCKET_CACHE {redact_url(url)!r} is not a usable redis:// URL ({redact_url(str(error))}); "
            "expected redis://[:password@]host[:port][/db]."
        ) from None
    cache = RedisCache(client, key_prefix="flask_authrocket:")
    # Whoever can write to this Redis must not be able to run code in the app: JSON, not pickles.
    cast(Any, cache).serializer = JsonSerializer()
    return cache


def _redis_parts(cache: BaseCache) -> tuple[Any, Callable[[], str], Any] | None:
    """A cachelib ``RedisCache``'s redis-py client, key prefix and serializer; ``None`` for other caches."""
    write_client = getattr(cache, "_write_client", None)
    serializer = getattr(cache, "serializer", None)
    if write_client is None or serializer is None or not hasattr(cache, "_normalize_timeout"):
        return None
    prefix = getattr(cache, "_get_prefix", None)  # cachelib 0.11 and later
    if prefix is None:
        if not isinstance(getattr(cache, "key_prefix", None), str):
            return None
        prefix = lambda: cast(Any, cache).key_prefix  # noqa: E731 - cachelib 0.10 keeps a plain string
    return write_client, prefix, serializer


def store(cache: BaseCache, key: str, value: Any, timeout: int | None = None) -> bool:
    """``cache.set(key, value, timeout=timeout)``, except that a cachelib ``RedisCache`` is written
    through redis-py with ``SET ... EX``: cachelib before 0.15 calls ``SETEX``, which redis-py 8
    deprecates (a warning on every write, an error under ``-W error``). Errors propagate."""
    redis = _redis_parts(cache)
    if redis is None:
        return bool(cache.set(key, value, timeout=timeout))
    write_client, prefix, serializer = redis
    seconds = cast(Any, cache)._normalize_timeout(timeout)  # None: the cache's default; -1: no expiry
    data = serializer.dumps(value)
    if seconds == -1:
        return bool(write_client.set(prefix() + key, data))
    return bool(write_client.set(prefix() + key, data, ex=seconds))
