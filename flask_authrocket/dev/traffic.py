"""What the development Core API was asked, and the faults it was told to answer with.

Tests and the benchmark read the counts (``GET /v2/_dev/stats``) to see how
many calls a client made, and queue faults (``POST /v2/_dev/faults``) to see
how a client copes with a 429, a 503 or an answer lost after the change was
made. One :class:`Traffic` per development LoginRocket; it is thread-safe.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: How many calls ``recent`` remembers.
RECENT_CALLS = 200

#: ``apply`` values: answer instead of handling the call, or handle it and replace the answer.
BEFORE = "before"
AFTER = "after"


@dataclass
class Fault:
    """An error answer for the next ``count`` calls that match ``method`` and ``path``.

    ``path`` matches a call's path under ``/v2/`` or anything below it
    (``"users"`` matches ``users`` and ``users/usr_1/profile``); ``None``
    matches every call, as does ``method=None``. With ``apply="before"`` the
    call is not handled at all; with ``apply="after"`` it is handled and its
    answer is then replaced, as when an answer is lost on the way back.
    """

    status: int
    count: int = 1
    retry_after: float | None = None
    errors: tuple[str, ...] = ()
    method: str | None = None
    path: str | None = None
    apply: str = BEFORE

    def matches(self, method: str, path: str, stage: str) -> bool:
        """True when this fault answers a call of ``method`` to ``path`` (under ``/v2/``) at ``stage``."""
        if self.apply != stage or self.count <= 0:
            return False
        if self.method is not None and self.method != method:
            return False
        if self.path is None:
            return True
        prefix = self.path.strip("/")
        return path == prefix or path.startswith(prefix + "/")

    def to_json(self) -> dict[str, Any]:
        """The fault as ``POST /v2/_dev/faults`` takes it."""
        return {
            "status": self.status,
            "count": self.count,
            "retry_after": self.retry_after,
            "errors": list(self.errors),
            "method": self.method,
            "path": self.path,
            "apply": self.apply,
        }


@dataclass
class Traffic:
    """Counts of the calls made to the development Core API, recent calls, and queued faults."""

    _counts: Counter[str] = field(default_factory=Counter)
    _recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=RECENT_CALLS))
    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str, call: Mapping[str, Any]) -> None:
        """Count one call under ``name`` (``"GET /v2/users/<user_id>"``) and remember its details."""
        with self._lock:
            self._counts[name] += 1
            self._recent.append(dict(call))

    def stats(self) -> dict[str, Any]:
        """``{"total": n, "counts": {name: n}, "recent": [call, ...]}``, oldest call first."""
        with self._lock:
            return {
                "total": sum(self._counts.values()),
                "counts": dict(sorted(self._counts.items())),
                "recent": list(self._recent),
            }

    def reset_stats(self) -> None:
        """Forget every count and recent call."""
        with self._lock:
            self._counts.clear()
            self._recent.clear()

    def add_fault(self, fault: Fault) -> None:
        """Queue ``fault`` behind those already queued."""
        with self._lock:
            self._faults.append(fault)

    def take_fault(self, method: str, path: str, stage: str) -> Fault | None:
        """The first queued fault for this call at ``stage``, used up once (``None`` when there is none)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path, stage):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def faults(self) -> list[Fault]:
        """The faults still queued."""
        with self._lock:
            return list(self._faults)

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()
