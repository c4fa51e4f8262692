"""The shared store of managed sessions and the API client, and the guard that keeps a failing one harmless.

``AUTHROCKET_CACHE`` becomes a :class:`SharedStore` (:func:`build_cache`): Redis in
any topology (:mod:`flask_authrocket.redis_topology`), by URL or client, is a
:class:`RedisStore` that speaks redis-py directly, one command per operation (a
cachelib ``RedisCache`` is taken apart into its client and prefix); any other
cachelib cache (the in-process default, ``FileSystemCache`` for the workers of one
host) is a :class:`CachelibStore`. That is where cachelib keeps its place.

Each user wraps the store in a :class:`GuardedCache`: a store that fails is logged
once, by what went wrong (a certificate, an ACL, a Cluster reached the wrong way),
left alone for a while, and never turns a request into a 500; writes that must not
be lost (a logout's "ended") wait in a bounded queue until it answers.

A shared store holds JSON, never pickles (:class:`JsonSerializer`): cachelib's caches
unpickle what they read, so anyone who could write to the Redis would run code in the
app. What is not JSON is a miss. Ground floor, no Flask; neither cachelib nor redis-py
is imported until a store of theirs is built.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Protocol, cast

from .errors import ConfigurationError
from .logs import logger
from .lru import InProcessCache as InProcessCache  # where it lived before lru.py took it in
from .redis_topology import client_factory, client_kind, client_warnings, explain_error

if TYPE_CHECKING:
    from cachelib import BaseCache


#: Seconds a cache that failed is left alone before it is tried again (the default of :class:`GuardedCache`).
CACHE_RETRY_INTERVAL = 30.0
#: What every key the extension writes to a shared Redis starts with.
KEY_PREFIX = "flask_authrocket:"
#: Seconds a value written without a timeout is kept (cachelib's default too).
DEFAULT_TIMEOUT = 300
#: The most writes a :class:`GuardedCache` holds while its store fails; beyond it, the oldest is dropped.
QUEUE_SIZE = 10_000

_MISSED = object()  # what GuardedCache._attempt answers when the store rests or failed


class _Unstorable(TypeError):
    """A value JSON cannot hold: it is not cached, and the cache is not to blame."""


class JsonSerializer:
    """A serializer that writes JSON and reads nothing else: no value it reads can run code.

    How :class:`RedisStore` writes, and what replaces cachelib's pickles in every
    cachelib cache shared with other processes (:func:`without_pickles`). A value
    that is not JSON (a pickle of an older version, or planted) reads as ``None``,
    a miss, logged once."""

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

    A ``SimpleCache`` lives in the process, nobody else writes to it: used as it is.
    Any other cachelib cache with a ``serializer`` is copied with a
    :class:`JsonSerializer` (the copy shares the connection; the app's own object
    keeps its serializer). One without (``MemcachedCache``) is used as it is by the
    API client; ``AUTHROCKET_CACHE`` refuses it (:func:`build_cache`).
    """
    from cachelib import SimpleCache

    serializer = getattr(cache, "serializer", None)
    if isinstance(cache, SimpleCache) or serializer is None or isinstance(serializer, JsonSerializer):
        return cache
    safe = copy.copy(cache)
    cast(Any, safe).serializer = JsonSerializer()
    return safe


class SharedStore(Protocol):
    """What the extension asks of a store: JSON values under keys, kept for a time; a short lock.

    Timeouts are seconds (fractions kept where the store can: Redis keeps
    milliseconds); ``None`` is :data:`DEFAULT_TIMEOUT`. Errors of the backend
    propagate: :class:`GuardedCache` is what turns them into misses.
    """

    #: What it is, for log lines and ``check``: ``"Redis"``, ``"RedisCluster"``, ``"Sentinel"``, ``"SimpleCache"`` ...
    kind: str
    #: Whether nobody but this process can reach it (the in-process default).
    process_only: bool

    def get(self, key: str) -> Any:
        """The value under ``key``; ``None`` when there is none."""
        ...

    def get_many(self, *keys: str) -> list[Any]:
        """The values under ``keys``, in order, in one command: the keys of one session, which share a hash slot."""
        ...

    def set(self, key: str, value: Any, timeout: float | None = None) -> bool:
        """Keep ``value`` under ``key`` for ``timeout`` seconds; whether the store took it."""
        ...

    def add(self, key: str, value: Any, timeout: float) -> bool:
        """Keep ``value`` under ``key`` for ``timeout`` seconds unless the key holds one: whether this call took it."""
        ...

    def delete(self, key: str) -> bool:
        """Forget ``key``; whether there was a value."""
        ...

    def shard(self, key: str) -> str:
        """Which part of the store serves ``key`` (a Cluster's node), ``""`` for the whole: the guard rests per part."""
        ...


class RedisStore:
    """A :class:`SharedStore` on redis-py: one Redis, TLS, a Unix socket, sentinels' master, or a Cluster.

    Give the ``client`` the app built, or ``connect``, a function that builds
    it on first use (:func:`~flask_authrocket.redis_topology.client_factory`):
    a ``RedisCluster`` connects when it is made, and a worker should make its
    own. A ``connect`` that fails raises at that use, and is tried again at the
    next. Every operation is one command on one key, except :meth:`get_many`
    (``MGET``), whose keys the extension names with one hash tag: each works on
    a Cluster. Values are JSON; keys get ``prefix``.
    """

    process_only = False

    def __init__(
        self,
        client: Any = None,
        *,
        connect: Callable[[], Any] | None = None,
        prefix: str = KEY_PREFIX,
        kind: str | None = None,
    ) -> None:
        if (client is None) == (connect is None):
            raise ValueError("give exactly one of client and connect")
        self._client = client
        self._connect = connect
        self.prefix = prefix
        self.kind = kind or client_kind(client) or type(client).__name__
        #: What in a client the app built can hold a request (:func:`~flask_authrocket.redis_topology.client_warnings`).
        self.advice: list[str] = client_warnings(client) if client is not None else []
        self._serializer = JsonSerializer()
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The redis-py client, built on first use when the store was given ``connect``."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = cast(Callable[[], Any], self._connect)()
                client = self._client
        return client

    def get(self, key: str) -> Any:
        """The value under ``key`` (``GET``); ``None`` when there is none or it is not JSON."""
        return self._serializer.loads(self.client.get(self.prefix + key))

    def get_many(self, *keys: str) -> list[Any]:
        """The values under ``keys`` (one ``MGET``: on a Cluster, the keys must share a hash tag)."""
        values = self.client.mget([self.prefix + key for key in keys])
        return [self._serializer.loads(value) for value in values]

    def set(self, key: str, value: Any, timeout: float | None = None) -> bool:
        """``SET key value PX <milliseconds>``: kept for ``timeout`` seconds (``None``: :data:`DEFAULT_TIMEOUT`)."""
        data = self._serializer.dumps(value)
        return bool(self.client.set(self.prefix + key, data, px=_milliseconds(timeout)))

    def add(self, key: str, value: Any, timeout: float) -> bool:
        """``SET key value NX PX <milliseconds>``: a lock whose holder may die, since it expires by itself."""
        data = self._serializer.dumps(value)
        return bool(self.client.set(self.prefix + key, data, nx=True, px=_milliseconds(timeout)))

    def delete(self, key: str) -> bool:
        """``DEL key``."""
        return bool(self.client.delete(self.prefix + key))

    def shard(self, key: str) -> str:
        """The Cluster node that serves ``key`` as the client knows it now (no network); ``""`` for other Redis.

        A master that dies takes only its own slots' keys out of use; after a
        failover, its slots' new node is a shard that has not failed.
        """
        client = self._client
        if self.kind != "RedisCluster" or client is None:
            return ""
        try:
            return str(client.get_node_from_key(self.prefix + key).name)
        except Exception:  # no slot map yet, a slot not covered: the whole store is the shard
            return ""


def _milliseconds(timeout: float | None) -> int:
    return max(1, math.ceil((DEFAULT_TIMEOUT if timeout is None else timeout) * 1000))


class CachelibStore:
    """A :class:`SharedStore` on a cachelib cache that is not Redis (``SimpleCache``, ``FileSystemCache`` ...).

    It stores JSON through :func:`without_pickles`. cachelib counts whole
    seconds, so timeouts are rounded up (a lock lasts at least a second).
    ``process_only`` marks the in-process cache :func:`build_cache` makes for
    an unset ``AUTHROCKET_CACHE``.
    """

    def __init__(self, cache: BaseCache, *, process_only: bool = False) -> None:
        #: The cachelib cache used (a JSON copy of the one given, when that one pickles).
        self.cache = without_pickles(cache)
        self.kind = type(cache).__name__
        self.process_only = process_only

    def get(self, key: str) -> Any:
        """The value under ``key``; ``None`` when there is none."""
        return self.cache.get(key)

    def get_many(self, *keys: str) -> list[Any]:
        """The values under ``keys``, in order."""
        return list(self.cache.get_many(*keys))

    def set(self, key: str, value: Any, timeout: float | None = None) -> bool:
        """Keep ``value`` for ``timeout`` seconds, rounded up (``None``: the cache's default)."""
        return bool(self.cache.set(key, value, timeout=None if timeout is None else _whole_seconds(timeout)))

    def add(self, key: str, value: Any, timeout: float) -> bool:
        """Keep ``value`` unless ``key`` holds one, for ``timeout`` seconds rounded up."""
        return bool(self.cache.add(key, value, timeout=_whole_seconds(timeout)))

    def delete(self, key: str) -> bool:
        """Forget ``key``."""
        return bool(self.cache.delete(key))

    def shard(self, key: str) -> str:
        """``""``: one cache, one part."""
        return ""


def _whole_seconds(timeout: float) -> int:
    return max(1, math.ceil(timeout))  # 0 would be "forever" to cachelib


def as_store(cache: SharedStore | BaseCache) -> SharedStore:
    """``cache`` as a :class:`SharedStore`: a store as it is; a cachelib ``RedisCache`` as a :class:`RedisStore`
    on its redis-py client and key prefix; any other cachelib cache in a :class:`CachelibStore`."""
    if not _is_cachelib(cache):
        return cast("SharedStore", cache)
    client = getattr(cache, "_write_client", None)
    if client_kind(client) is not None:  # cachelib's RedisCache: its client, spoken to directly
        prefix = getattr(cache, "key_prefix", "")  # a string, or (cachelib 0.11+) maybe a function
        return RedisStore(client, prefix=str(prefix() if callable(prefix) else prefix or ""))
    return CachelibStore(cast("BaseCache", cache))


def _is_cachelib(value: Any) -> bool:
    cachelib = sys.modules.get("cachelib")  # nobody made a cachelib cache without importing cachelib
    return cachelib is not None and isinstance(value, cachelib.BaseCache)


class GuardedCache:
    """A shared store whose failures are an empty cache for a while, logged once, never raised.

    ``name`` and ``fallback`` word the log lines: ``"<name> failed (<what went
    wrong>); <fallback> for the next 30 s."`` when an outage starts (the error's
    type, or what to fix when that is known: ``ssl_ca_certs`` for a certificate not
    trusted, the command an ACL refused) and ``"<name> answers again."`` when it
    ends. While the store rests after a failure, :meth:`get` answers ``None`` and
    :meth:`set`, :meth:`add` and :meth:`delete` answer ``False`` without calling it.
    Once every ``retry_interval`` seconds (default :data:`CACHE_RETRY_INTERVAL`) one
    call, and only one, probes it: a Redis that hangs costs one timeout per interval,
    not one per request. On a Cluster each node rests on its own
    (:meth:`SharedStore.shard`): a dead master takes only its slots out of use.
    ``clock`` is a clock in seconds, for tests; one that steps back ends a rest early.

    A write made with ``queue=True`` while the store fails waits in a queue of at
    most ``queue_size`` writes (beyond it the oldest is dropped, logged), each until
    its own expiry, and is written once the store answers: at once when a call finds
    it answering again, or by a thread of this object's that tries every
    ``retry_interval`` seconds while writes wait. ``cache`` is a
    :class:`SharedStore` or a cachelib cache (:func:`as_store`); :attr:`store` is
    what is used.

    >>> guarded = GuardedCache(SimpleCache(), name="The API client's cache",
    ...                        fallback="calling the API without it")  # doctest: +SKIP
    >>> guarded.set("answer", 42, timeout=60)                            # doctest: +SKIP
    True
    """

    def __init__(
        self,
        cache: SharedStore | BaseCache,
        *,
        name: str,
        fallback: str,
        retry_interval: float = CACHE_RETRY_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.store = as_store(cache)
        self.name = name
        self.fallback = fallback
        self.retry_interval = retry_interval
        self.queue_size = queue_size
        self._clock = clock
        #: The failing shards of the store (``""``: all of it), each with when it failed or was last probed.
        self._failing: dict[str, float] = {}
        self._lock = threading.Lock()  # so that an outage seen by many threads at once is logged once
        self._queue: dict[str, tuple[Any, float]] = {}  # key: (value, until when it is worth writing)
        self._queue_lock = threading.Lock()
        self._dropped = 0
        self._flusher: threading.Thread | None = None
        self._wake = threading.Event()

    @property
    def failing(self) -> bool:
        """Whether a call to the store (or to a shard of it) failed lately: left alone until its retry time."""
        return bool(self._failing)

    def failing_for(self, key: str) -> bool:
        """Whether the shard serving ``key`` (all of a store that is not a Cluster) failed lately."""
        return bool(self._failing) and self.store.shard(key) in self._failing

    @property
    def process_only(self) -> bool:
        """Whether the store is the in-process one :func:`build_cache` made for an unset ``AUTHROCKET_CACHE``.

        Nobody else reads or writes that store, so a user of it may as well keep
        what it stores in an :class:`InProcessCache` of its own.
        """
        return self.store.process_only

    @property
    def queued(self) -> int:
        """How many writes wait for the store to answer again."""
        return len(self._queue)

    def get(self, key: str) -> Any:
        """The value cached under ``key``; ``None`` when there is none or the store fails."""
        return self._attempt(key, lambda: self.store.get(key), None)

    def get_many(self, *keys: str) -> list[Any]:
        """The values cached under ``keys``, in order (one round trip to Redis); ``None`` for each missing one."""
        missing: list[Any] = [None] * len(keys)
        values: list[Any] = self._attempt(keys[0], lambda: self.store.get_many(*keys), missing)
        return values

    def set(self, key: str, value: Any, timeout: float | None = None, *, queue: bool = False) -> bool:
        """Cache ``value`` under ``key`` for ``timeout`` seconds (``None``: the store's default).

        Returns whether the store took it: ``False`` when it failed or rests,
        or when a shared store was given a value JSON cannot hold. With
        ``queue=True`` (and a timeout), a write the failing store could not
        take is queued and written once it answers.
        """
        try:
            stored = self._attempt(key, lambda: self.store.set(key, value, timeout), _MISSED)
        except _Unstorable as error:
            logger.debug("%s: %s; not cached.", self.name, error)
            return False
        if stored is _MISSED:
            if queue and timeout is not None:
                self._enqueue(key, value, timeout)
            return False
        return bool(stored)

    def add(self, key: str, value: Any, timeout: float) -> bool:
        """Cache ``value`` under ``key`` for ``timeout`` seconds unless the key holds a value: a short-lived lock.

        Returns whether this call took the key (``False`` when another holds
        it, or when the store fails or rests). On Redis it is one ``SET key
        value NX PX <milliseconds>``, so a lock whose holder died still expires.
        """
        try:
            taken: bool = self._attempt(key, lambda: self.store.add(key, value, timeout), False)
        except _Unstorable as error:
            logger.debug("%s: %s; not cached.", self.name, error)
            return False
        return taken

    def delete(self, key: str) -> bool:
        """Forget ``key``; returns whether the store did (``False`` when it failed or rests)."""
        deleted: bool = self._attempt(key, lambda: self.store.delete(key), False)
        return deleted

    def flush(self) -> int:
        """Write the queued writes, oldest first, until one fails; returns how many were written.

        A write whose time ran out while it waited is dropped unwritten.
        """
        written = 0
        while True:
            with self._queue_lock:
                if not self._queue:
                    break
                key, entry = next(iter(self._queue.items()))
            value, until = entry
            left = until - self._clock()
            if left > 0:
                stored = self._attempt(key, functools.partial(self.store.set, key, value, left), _MISSED)
                if stored is _MISSED:
                    return written
                written += 1
            with self._queue_lock:
                if self._queue.get(key) is entry:  # unless queued again meanwhile
                    del self._queue[key]
        if written:
            logger.info("%s: %d write(s) made during its outage written now.", self.name, written)
        return written

    def _enqueue(self, key: str, value: Any, timeout: float) -> None:
        with self._queue_lock:
            self._queue.pop(key, None)
            self._queue[key] = (value, self._clock() + timeout)
            dropped = 0
            while len(self._queue) > self.queue_size:
                del self._queue[next(iter(self._queue))]
                dropped += 1
            self._dropped += dropped
            if dropped and self._dropped == dropped:
                logger.warning(
                    "%s: more than %d writes wait for it to answer; the oldest are dropped (their logouts reach "
                    "the other workers only when their cached answers expire).",
                    self.name,
                    self.queue_size,
                )
            if self._flusher is None or not self._flusher.is_alive():
                self._flusher = threading.Thread(
                    target=self._flush_while_queued, name="flask-authrocket-cache-queue", daemon=True
                )
                self._flusher.start()

    def _flush_while_queued(self) -> None:
        # A process that gets no request after the store is back still writes what it queued.
        while True:
            self._wake.wait(max(self.retry_interval, 0.05))
            self._wake.clear()
            self.flush()
            with self._queue_lock:
                if not self._queue:
                    self._flusher = None
                    return

    def _attempt(self, key: str, call: Callable[[], Any], default: Any) -> Any:
        """``call()`` on ``key``, or ``default`` when its shard rests or fails; a value JSON cannot hold is raised."""
        shard = self.store.shard(key) if self._failing else ""
        if self._resting(shard):
            return default
        try:
            result = call()
        except _Unstorable:
            raise  # the value's fault: nothing reached the store
        except Exception as error:  # each backend raises its own errors
            self._failed(self.store.shard(key), error)
            return default
        if shard in self._failing:
            self._recovered(shard)
        return result

    def _resting(self, shard: str) -> bool:
        since = self._failing.get(shard)
        if since is None:
            return False
        now = self._clock()
        if 0 <= now - since < self.retry_interval:
            return True
        with self._lock:
            since = self._failing.get(shard)
            if since is None or 0 <= now - since < self.retry_interval:
                return since is not None  # another call took this probe (or it answered meanwhile)
            # This call probes; the others rest until it answers (or until the next interval, if it hangs).
            self._failing[shard] = now
        return False

    def _failed(self, shard: str, error: Exception) -> None:
        # A store that does not answer can cost seconds per call; leave it (or that one node) alone a while.
        with self._lock:
            first = not self._failing
            self._failing[shard] = self._clock()
        if first:
            # What went wrong in words that carry no address nor password: never the error's own text.
            logger.warning(
                "%s failed (%s); %s for the next %g s.",
                self.name,
                explain_error(error).short,
                self.fallback,
                self.retry_interval,
            )

    def _recovered(self, shard: str) -> None:
        with self._lock:
            self._failing.pop(shard, None)
            answers = not self._failing
            if answers:
                self._dropped = 0
        if answers:
            logger.info("%s answers again.", self.name)
        if self._queue:
            self._wake.set()  # the queue's thread writes at once, not in this request


def build_cache(value: Any) -> SharedStore:
    """The store ``AUTHROCKET_CACHE`` names: a Redis URL, a redis-py client, a cachelib cache, or ``None``.

    * ``None``: a new in-process ``SimpleCache`` of this app alone (marked
      :attr:`~SharedStore.process_only`);
    * a URL (``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://``,
      ``redis+cluster://``, their ``valkey`` spellings: see
      :mod:`flask_authrocket.redis_topology`): a :class:`RedisStore` whose
      client is built on first use, with short timeouts and no retry backoff;
    * a redis-py ``Redis`` (a sentinel's ``master_for(...)`` is one) or
      ``RedisCluster``: a :class:`RedisStore` on it. What in it can hold a
      request (no ``socket_timeout``) is logged as a warning, and failed by
      ``flask authrocket check``;
    * a cachelib ``RedisCache``: a :class:`RedisStore` on its redis-py client,
      with its key prefix; any other cachelib cache but ``MemcachedCache``
      (which pickles): a :class:`CachelibStore`;
    * a :class:`SharedStore` already built: as it is.

    Raises :class:`~flask_authrocket.ConfigurationError` naming
    ``AUTHROCKET_CACHE`` for anything else (a URL shown without its password).
    """
    if value is None:
        from cachelib import SimpleCache

        return CachelibStore(SimpleCache(threshold=10_000), process_only=True)
    if isinstance(value, str):
        kind, connect = client_factory(value)
        return RedisStore(connect=connect, kind=kind)
    if isinstance(value, (RedisStore, CachelibStore)):
        return value
    if type(value).__module__.startswith("redis.asyncio"):
        raise ConfigurationError(
            f"AUTHROCKET_CACHE is an asyncio client ({type(value).__name__}); the extension runs in Flask's "
            "request threads: give a redis.Redis or redis.cluster.RedisCluster, or a redis:// URL."
        )
    if client_kind(value) is not None:
        return _given(RedisStore(value))
    if _is_cachelib(value):
        if getattr(value, "serializer", None) is None:
            raise ConfigurationError(
                f"AUTHROCKET_CACHE is a cachelib {type(value).__name__}, whose client library pickles what it "
                "stores: whoever can write to it could run code in the app. Use Redis (a redis:// URL)."
            )
        store = as_store(value)
        return _given(store) if isinstance(store, RedisStore) else store
    raise ConfigurationError(
        "AUTHROCKET_CACHE must be a Redis URL (redis://, rediss://, unix://, redis+sentinel://, redis+cluster://), "
        f"a redis-py client, a cachelib cache or None, not a {type(value).__name__}."
    )


def _given(store: RedisStore) -> RedisStore:
    for advice in store.advice:
        logger.warning("%s", advice)
    return store
