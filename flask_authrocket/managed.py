"""Managed sessions: a verified token also has to name a session the Core API still knows.

A login token stays valid until its ``exp``, even after the user logged out
somewhere else. With managed sessions, each verified token is also looked up
through the API (``GET sessions/<token>``); a session that was logged out
anywhere in the realm is no longer found, so the token stops counting here too:
single sign-out.

The answer is cached for ``ttl`` seconds in a cachelib cache keyed by the
session id, so a user's requests cost one API call per ``ttl`` (per cache: a
``RedisCache`` shared by every worker makes it one call per ``ttl`` for the
whole deployment). Logging out through this app writes "ended" to that cache,
so every worker sharing it sees the logout at once.

"Ended" and "known" live under two keys (:func:`cache_keys`), and "ended"
wins: a check that asked the API before a logout and hears "known" after it
cannot undo the logout. While the shared cache is down, answers are kept in a
bounded cache of the process's own for the same ``ttl``, so an outage of Redis
costs one API call per session per ``ttl`` per process, not one per request.

When the API cannot be asked, ``failure`` decides: ``"open"`` trusts the
verified token (and logs a warning once per outage), ``"closed"`` treats the
token as *unavailable* (guarded views answer 503).

Ground floor: no Flask here.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from .cache import GuardedCache, InProcessCache
from .errors import ApiError, ApiUnavailable, RecordNotFound
from .models import Session

if TYPE_CHECKING:
    from cachelib import BaseCache

logger = logging.getLogger("flask_authrocket")

#: Seconds the API is not asked again after it did not answer at all (refused, timed
#: out): the failure mode decides meanwhile, so requests do not each wait for a timeout.
UNREACHABLE_RETRY_INTERVAL = 10

_KNOWN = "known"
_ENDED = "ended"


class SessionState(Enum):
    """What the API says of a verified token's session."""

    KNOWN = "known"
    ENDED = "ended"
    UNAVAILABLE = "unavailable"


class SessionLookup(Protocol):
    """The part of the Core API client a :class:`SessionCheck` needs."""

    def find(self, id: str) -> object | None:
        """The session with this id or token; raises RecordNotFound (or answers ``None``) when it is unknown."""
        ...

    def delete(self, id: str) -> None:
        """End the session with this id."""
        ...


class SessionCheck:
    """Checks verified sessions against the Core API, with a shared cache.

    ``sessions`` is ``AuthRocketClient.sessions`` (anything with ``find`` and
    ``delete``); ``cache`` any cachelib cache (a shared one is used through
    JSON, never pickles: :func:`~flask_authrocket.cache.without_pickles`).
    ``local_size`` bounds the process's own cache of logouts and of answers
    kept while the shared cache is down; ``clock`` is a monotonic clock in
    seconds, for tests.
    """

    def __init__(
        self,
        sessions: SessionLookup,
        cache: BaseCache,
        *,
        ttl: float,
        failure: str = "open",
        local_size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure not in ("open", "closed"):
            raise ValueError(f"failure must be 'open' or 'closed', not {failure!r}")
        self.sessions = sessions
        self.cache = cache
        # A cache that fails (Redis down) is an empty cache, logged once: never a 500.
        self._guarded = GuardedCache(
            cache, name="Managed sessions: AUTHROCKET_CACHE", fallback="keeping the answers in this process"
        )
        self._local = InProcessCache(local_size, clock=clock)
        self._clock = clock
        self.ttl = ttl
        self.failure = failure
        self._failing = False
        self._unreachable_at: float | None = None
        self._lock = threading.Lock()

    def state(self, session: Session) -> SessionState:
        """Whether ``session`` is still known to the API (cached for ``ttl`` seconds)."""
        known_key, ended_key = cache_keys(session)
        remembered = self._remembered(known_key, ended_key)
        if remembered is not None:
            return remembered
        unreachable_at = self._unreachable_at
        if unreachable_at is not None and self._clock() - unreachable_at < UNREACHABLE_RETRY_INTERVAL:
            return self._outcome()  # do not make every request wait for an API that does not answer
        try:
            found = self.sessions.find(session.token)
        except RecordNotFound:
            found = None
        except ApiUnavailable as error:
            self._unreachable_at = self._clock()
            return self._failed(error)
        except ApiError as error:
            return self._failed(error)
        self._unreachable_at = None
        self._recovered()
        if found is not None:
            self._remember(known_key, _KNOWN, int(self.ttl))
            return SessionState.KNOWN
        self._remember(ended_key, _ENDED, int(self.ttl))
        return SessionState.ENDED

    def end(self, session: Session) -> None:
        """Log ``session`` out everywhere: delete it through the API and mark it ended in the cache.

        The cache is marked first, so the workers sharing it see the logout
        even when the API call fails (which is logged, not raised). This
        process also keeps the mark itself, so the logout holds here through an
        outage of the shared cache and after it.
        """
        # Ended for good: remembered until the token expires, not just for the TTL.
        timeout = max(int(self.ttl), int(session.expires_at - time.time()))
        ended_key = cache_keys(session)[1]
        self._guarded.set(ended_key, _ENDED, timeout=timeout)
        self._local.set(ended_key, _ENDED, timeout)
        if not session.id:
            return
        try:
            self.sessions.delete(session.id)
        except RecordNotFound:
            pass  # already ended elsewhere
        except ApiError as error:
            logger.warning("Could not end session %s through the AuthRocket API: %s", session.id, error)

    def _remembered(self, known_key: str, ended_key: str) -> SessionState | None:
        """The cached answer: "ended" wins over "known"; ``None`` when the API has to be asked."""
        if self._local.get(ended_key) == _ENDED:
            return SessionState.ENDED  # logged out through this process
        ended, known = self._guarded.get_many(ended_key, known_key)
        if self._guarded.failing:
            # The shared cache is down or resting: this process's own answers stand in for it.
            ended, known = self._local.get(ended_key), self._local.get(known_key)
        # Anything but the two words (a value written by someone else) is a miss.
        if ended == _ENDED:
            return SessionState.ENDED
        if known == _KNOWN:
            return SessionState.KNOWN
        return None

    def _remember(self, key: str, answer: str, timeout: int) -> None:
        self._guarded.set(key, answer, timeout=timeout)
        if self._guarded.failing:
            self._local.set(key, answer, timeout)

    def _failed(self, error: ApiError) -> SessionState:
        with self._lock:
            first = not self._failing
            self._failing = True
        if first:
            outcome = (
                "trusting verified tokens until it answers (AUTHROCKET_SESSION_CHECK_FAILURE = 'open')"
                if self.failure == "open"
                else "guarded views answer 503 until it answers (AUTHROCKET_SESSION_CHECK_FAILURE = 'closed')"
            )
            logger.warning("Managed sessions: the AuthRocket API could not be asked (%s); %s.", error, outcome)
        return self._outcome()

    def _outcome(self) -> SessionState:
        """What a verified token counts for while the API cannot be asked."""
        return SessionState.KNOWN if self.failure == "open" else SessionState.UNAVAILABLE

    def _recovered(self) -> None:
        if self._failing:
            with self._lock:
                self._failing = False
            logger.info("Managed sessions: the AuthRocket API answers again.")


def cache_keys(session: Session) -> tuple[str, str]:
    """The cache keys of a session's answers: "known" under the first, "ended" under the second.

    Named by the session's id, else by a digest of its token (never the token
    itself). Two keys, so that writing "known" can never replace "ended".
    """
    if session.id:
        name = f"session:{session.id}"
    else:
        name = "session-token:" + hashlib.sha256(session.token.encode()).hexdigest()
    return f"{name}:known", name
