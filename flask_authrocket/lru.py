"""The one bounded LRU of the package: verified tokens, the in-process answers, the header memory.

Ground floor, the standard library only.

Eviction is least-recently-used by the *second chance* rule (the CLOCK algorithm): entries sit
in insertion order; a hit only marks its key as used; when room is needed, the oldest entry is
evicted unless it was used since it last moved, in which case it loses the mark and moves to the
newest end. An entry read since it was put or moved is never evicted before one that was not.
A hit is one ``dict`` lookup and one ``set.add``: it sits on every logged-in request's path.

Thread safety, on every CPython this project supports, free-threaded 3.13t included:

* Reads take no lock of ours. ``dict.get`` and ``set.add`` are atomic under the GIL, and on a
  free-threaded build each ``dict`` and ``set`` operation takes the container's own lock
  (PEP 703, "container thread-safety"): a reader never sees a torn entry.
* Every change (insert, evict, remove, move to the newest end) is made under one
  ``threading.Lock``, so writers never interleave, on either build. Values are replaced whole,
  never mutated in place: a reader sees the old entry or the new one. The bound is exact: only
  writers, under the lock, add entries.
* A use mark that lands while a writer evicts may be lost or kept for a key already gone: the
  cost is one entry evicted a little early or one stale mark dropped at the next eviction, never
  a wrong value.

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
    """At most ``size`` entries; a new one pushes out the least recently used (second chance).

    ``size`` 0 keeps nothing (every :meth:`put` is dropped). Values are never ``None``:
    :meth:`get` answers ``None`` for a missing key.

    >>> memory = BoundedLRU[str, int](2)
    >>> memory.put("a", 1); memory.put("b", 2); memory.get("a"); memory.put("c", 3)
    1
    >>> sorted(memory)
    ['a', 'c']
    """

    __slots__ = ("_entries", "_lock", "_used", "size")

    def __init__(self, size: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be a whole number of at least 0, not {size!r}")
        self.size = size
        self._entries: dict[K, V] = {}
        self._used: set[K] = set()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value under ``key``, now marked as used, or ``None``."""
        value = self._entries.get(key)
        if value is not None:
            self._used.add(key)
        return value

    def peek(self, key: K) -> V | None:
        """The value under ``key``, or ``None``, without marking it used."""
        return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` under ``key`` as the newest entry, evicting beyond ``size`` (second chance)."""
        if not self.size:
            return
        with self._lock:
            entries, used = self._entries, self._used
            entries.pop(key, None)
            used.discard(key)
            # Room first, then the new entry: an entry given a second chance moves behind the others,
            # never behind the one being put.
            chances = len(entries)  # readers marking keys meanwhile cannot keep this loop going
            while len(entries) >= self.size:
                oldest = next(iter(entries))
                if oldest in used and chances > 0:  # used since it last moved: to the newest end instead
                    chances -= 1
                    used.discard(oldest)
                    entries[oldest] = entries.pop(oldest)
                    continue
                del entries[oldest]
                used.discard(oldest)
            entries[key] = value
            if len(used) > len(entries):  # marks a reader left on keys evicted under it
                used.intersection_update(entries)

    def discard(self, key: K, value: V | None = None) -> None:
        """Forget ``key``; when ``value`` is given, only while that very value is still kept there."""
        with self._lock:
            if value is None or self._entries.get(key) is value:
                self._entries.pop(key, None)
                self._used.discard(key)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._used.clear()

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
