"""The one bounded LRU of the package: verified tokens, the in-process answers, the header memory.

Ground floor, the standard library only.

Thread safety, on every CPython this project supports, free-threaded 3.13t included:

* The entries live in a plain ``dict``, whose insertion order is the recency order (oldest
  first). A ``dict`` lookup is atomic under the GIL, and on a free-threaded build each
  ``dict`` operation takes the dict's own lock (PEP 703, "container thread-safety"), so a
  read never sees a torn entry and needs no lock of ours: a hit costs one ``dict.get``.
* Every change (an insert, an eviction, a removal, moving an entry to the newest end) is made
  under one ``threading.Lock``, so two writers never interleave, on either build. Values are
  replaced whole, never mutated in place: a reader sees the old entry or the new one.
* A hit refreshes the entry's recency only if the lock is free at that moment
  (``acquire(blocking=False)``): a reader never waits for a writer. Under contention an entry
  may keep its place for one hit, so eviction is least-recently-used *almost* exactly; the
  bound itself is exact, since only the writers, under the lock, add entries.

Nothing here depends on the GIL for correctness; only the cost of a hit differs between builds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

__all__ = ["BoundedLRU", "InProcessCache"]

K = TypeVar("K")
V = TypeVar("V")


class BoundedLRU(Generic[K, V]):
    """At most ``size`` entries; a new one pushes out the least recently used.

    ``size`` 0 keeps nothing (every :meth:`put` is dropped). ``on_evict``, when given, is called
    with each key pushed out to make room (under the lock: keep it short).

    >>> memory = BoundedLRU[str, int](2)
    >>> memory.put("a", 1); memory.put("b", 2); memory.get("a"); memory.put("c", 3)
    1
    >>> sorted(memory)
    ['a', 'c']
    """

    __slots__ = ("_entries", "_lock", "_on_evict", "size")

    def __init__(self, size: int, *, on_evict: Callable[[K], None] | None = None) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be a whole number of at least 0, not {size!r}")
        self.size = size
        self._entries: dict[K, V] = {}
        self._lock = threading.Lock()
        self._on_evict = on_evict

    def get(self, key: K) -> V | None:
        """The value under ``key`` (now the most recently used), or ``None``."""
        entries = self._entries
        value = entries.get(key)
        if value is not None and self._lock.acquire(blocking=False):
            try:
                # Moved to the newest end, unless a writer removed it meanwhile.
                if entries.get(key) is value:
                    del entries[key]
                    entries[key] = value
            finally:
                self._lock.release()
        return value

    def peek(self, key: K) -> V | None:
        """The value under ``key``, or ``None``, without touching its recency."""
        return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` under ``key`` as the most recently used entry, evicting the oldest beyond ``size``."""
        if not self.size:
            return
        with self._lock:
            entries = self._entries
            entries.pop(key, None)
            entries[key] = value
            while len(entries) > self.size:
                oldest = next(iter(entries))
                del entries[oldest]
                if self._on_evict is not None:
                    self._on_evict(oldest)

    def discard(self, key: K, value: V | None = None) -> None:
        """Forget ``key``; when ``value`` is given, only while that very value is still kept there."""
        with self._lock:
            if value is None or self._entries.get(key) is value:
                self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[K]:
        """The keys, oldest first (a copy: safe while others write)."""
        with self._lock:
            return iter(list(self._entries))


class InProcessCache:
    """A small cache of this process's own: at most ``size`` entries, each kept for its ``timeout``.

    Managed sessions keep their logouts here, and the API's answers while the
    shared cache is down, so an outage of Redis costs one API call per session
    per TTL per process, not one per request. The least recently used entry
    makes room for a new one (:class:`~flask_authrocket.lru.BoundedLRU`, whose
    docstring says how it is thread-safe, free-threaded Python included);
    ``clock`` is a clock in seconds, for tests.
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
