"""The cache that managed sessions and the API client share, and the guard that keeps a failing one harmless.

``AUTHROCKET_CACHE`` becomes a cachelib cache here (:func:`build_cache`), and
each user of it wraps it in a :class:`GuardedCache`: a cache that fails (Redis
down, or hanging) is logged once, left alone for :data:`CACHE_RETRY_INTERVAL`
seconds, and never turns a request into a 500.

Ground floor: no Flask here. cachelib is imported only when a cache is built,
so ``import flask_authrocket`` does not load it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import ConfigurationError

if TYPE_CHECKING:
    from cachelib import BaseCache

logger = logging.getLogger("flask_authrocket")

#: Seconds a cache that failed is left alone before it is tried again.
CACHE_RETRY_INTERVAL = 30.0


class GuardedCache:
    """A cachelib cache whose failures are an empty cache for a while, logged once, never raised.

    ``name`` and ``fallback`` word the log lines: ``"<name> failed
    (<ErrorType>); <fallback> for the next 30 s."`` when an outage starts and
    ``"<name> answers again."`` when it ends. While the cache rests after a
    failure, :meth:`get` answers ``None`` and :meth:`set` and :meth:`delete`
    answer ``False`` without calling it, so a Redis that hangs costs one
    timeout per :data:`CACHE_RETRY_INTERVAL`, not one per request. ``clock``
    is a monotonic clock in seconds, for tests of the interval.

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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cache = cache
        self.name = name
        self.fallback = fallback
        self._clock = clock
        self._failing = False
        self._retry_at = 0.0
        self._lock = threading.Lock()  # so that an outage seen by many threads at once is logged once

    @property
    def failing(self) -> bool:
        """Whether the last call to the cache failed (it is left alone until its retry time)."""
        return self._failing

    def get(self, key: str) -> Any:
        """The value cached under ``key``; ``None`` when there is none or the cache fails."""
        if self._resting():
            return None
        try:
            value = self.cache.get(key)
        except Exception as error:  # cachelib lets the backend's own errors through
            self._failed(error)
            return None
        if self._failing:
            self._recovered()
        return value

    def set(self, key: str, value: Any, timeout: int | None = None) -> bool:
        """Cache ``value`` under ``key`` for ``timeout`` seconds (``None``: the cache's default).

        Returns whether the cache took it: ``False`` when it failed or rests.
        """
        if self._resting():
            return False
        try:
            stored = bool(self.cache.set(key, value, timeout=timeout))
        except Exception as error:
            self._failed(error)
            return False
        if self._failing:
            self._recovered()
        return stored

    def delete(self, key: str) -> bool:
        """Forget ``key``; returns whether the cache did (``False`` when it failed or rests)."""
        if self._resting():
            return False
        try:
            deleted = bool(self.cache.delete(key))
        except Exception as error:
            self._failed(error)
            return False
        if self._failing:
            self._recovered()
        return deleted

    def _resting(self) -> bool:
        return self._failing and self._clock() < self._retry_at

    def _failed(self, error: Exception) -> None:
        # A cache that does not answer can cost seconds per call (redis-py retries); leave it alone a while.
        with self._lock:
            first = not self._failing
            self._failing = True
            self._retry_at = self._clock() + CACHE_RETRY_INTERVAL
        if first:
            # The error's type only: a backend's message may carry its URL.
            logger.warning(
                "%s failed (%s); %s for the next %g s.",
                self.name,
                type(error).__name__,
                self.fallback,
                CACHE_RETRY_INTERVAL,
            )

    def _recovered(self) -> None:
        with self._lock:
            was_failing = self._failing
            self._failing = False
        if was_failing:
            logger.info("%s answers again.", self.name)


def build_cache(value: Any) -> BaseCache:
    """The cache ``AUTHROCKET_CACHE`` names: a cachelib cache, a ``redis://`` URL, or ``None``.

    ``None`` makes a new in-process ``SimpleCache``; a cachelib cache is used as
    it is; a ``redis://`` or ``rediss://`` URL makes :func:`redis_cache`.
    Raises :class:`~flask_authrocket.ConfigurationError` for anything else.
    """
    from cachelib import BaseCache, SimpleCache

    if value is None:
        return SimpleCache(threshold=10_000)
    if isinstance(value, BaseCache):
        return value
    if isinstance(value, str) and urlsplit(value).scheme in ("redis", "rediss"):
        return redis_cache(value)
    raise ConfigurationError(
        "AUTHROCKET_CACHE must be a cachelib cache (e.g. cachelib.RedisCache(...)), a redis:// URL "
        f"or None, not {value!r}."
    )


def redis_cache(url: str) -> BaseCache:
    """A cachelib ``RedisCache`` for ``url`` (``redis://[:password@]host[:port][/db]``).

    Keys are prefixed with ``flask_authrocket:`` so the extension can share a
    Redis database with other users. Needs the ``redis`` package
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
        parts = urlsplit(url)
        shown = parts._replace(netloc=f"***@{parts.hostname}" if parts.password else parts.netloc).geturl()
        raise ConfigurationError(
            f"AUTHROCKET_CACHE {shown!r} is not a usable redis:// URL ({error}); "
            "expected redis://[:password@]host[:port][/db]."
        ) from None
    return RedisCache(client, key_prefix="flask_authrocket:")
