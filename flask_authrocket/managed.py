"""Managed sessions: a verified token also has to name a session the Core API still knows.

A login token stays valid until its ``exp``, even after the user logged out
somewhere else. With managed sessions, each verified token is also looked up
through the API (``GET sessions/<token>``); a session that was logged out
anywhere in the realm is no longer found, so the token stops counting here too:
single sign-out.

The load is one look-up per active session per ``ttl`` for the whole
deployment, when the workers share a cache (Redis):

* The answer is cached for ``ttl`` seconds under the session's id. Logging out
  through this app writes "ended" there, so every worker sharing it sees the
  logout at once. "Ended" and "known" live under different keys
  (:func:`cache_keys`) and "ended" wins: a check that asked the API before a
  logout and hears "known" after it cannot undo the logout.
* When an answer expires, one request asks: in each process the others wait for
  its answer (single flight, bounded by the HTTP timeout), and across workers a
  short-lived lock in the shared cache (``SET NX PX``) lets one worker ask while
  the others keep the answer of a moment ago.
* An answer outlives its ``ttl`` as a *stale* answer: "ended" until the token
  expires (an ended session never comes back), "known" for ``grace`` seconds.
  When the API cannot answer, a session last known ended stays ended, and one
  confirmed alive within ``grace`` keeps working, whatever ``failure`` says;
  ``failure`` (``"open"`` trusts the verified token, ``"closed"`` makes it
  *unavailable*, a 503 on guarded views) decides only for sessions with no
  answer at all.
* While the shared cache is down, each process keeps the answers itself, and one
  request probes the cache every :data:`CACHE_PROBE_INTERVAL` seconds: an outage
  of Redis costs one look-up per session per ``ttl`` per process, and a Redis
  that is back is used at once.

Ground floor: no Flask here.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from .cache import GuardedCache, InProcessCache
from .errors import ApiError, ApiUnavailable, RecordNotFound
from .logs import logger
from .models import Session

if TYPE_CHECKING:
    from cachelib import BaseCache


#: Seconds the API is not asked again after it did not answer at all (refused, timed
#: out): stale answers and the failure mode decide meanwhile, so requests do not each
#: wait for a timeout. A session last known ended stays ended throughout.
UNREACHABLE_RETRY_INTERVAL = 10

#: Seconds between the probes of a shared cache that failed: one request tries it, the others
#: use this process's own answers, and the first answer from the cache puts it back in use.
CACHE_PROBE_INTERVAL = 1.0

#: ``grace`` left unset is this many TTLs.
GRACE_TTLS = 3

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

    def delete(self, id: str) -> object | None:
        """End the session with this id (what the API answers is not needed)."""
        ...


@dataclass
class SessionCheckStats:
    """What a :class:`SessionCheck` did since it was made, for soaks and dashboards (counts are approximate).

    ``lookups``: API calls made (``GET sessions/<token>``); ``failures``: those
    that got no answer; ``joined``: requests that waited for another request's
    look-up of the same session in this process; ``stale``: requests answered
    from a stale answer while the fresh one was being fetched (here or by
    another worker) or could not be fetched; ``without_answer``: requests the
    failure mode decided, the session having no answer at all.
    """

    lookups: int = 0
    failures: int = 0
    joined: int = 0
    stale: int = 0
    without_answer: int = 0


class _Flight:
    """One look-up in progress in this process: the requests for the same session wait for its answer."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.state = SessionState.UNAVAILABLE


class SessionCheck:
    """Checks verified sessions against the Core API, with a shared cache.

    ``sessions`` is ``AuthRocketClient.sessions`` (anything with ``find`` and
    ``delete``); ``cache`` any cachelib cache (a shared one is used through
    JSON, never pickles: :func:`~flask_authrocket.cache.without_pickles`; the
    in-process one :func:`~flask_authrocket.cache.build_cache` makes for an
    unset ``AUTHROCKET_CACHE`` is skipped, the answers kept in this object).
    ``ttl`` is how long an answer counts as fresh, ``grace`` how long a "known"
    answer may stand in when the API cannot answer (``None``: ``3 * ttl``),
    ``failure`` (``"open"`` or ``"closed"``) what a session with no answer at
    all counts for then. ``timeout`` is the API call's own bound (the HTTP
    timeout): requests waiting for another's look-up wait no longer than that.
    ``local_size`` bounds the process's own copy of the answers; ``clock`` is
    a monotonic clock in seconds, for tests. :attr:`stats` counts what it did.
    """

    def __init__(
        self,
        sessions: SessionLookup,
        cache: BaseCache,
        *,
        ttl: float,
        failure: str = "open",
        grace: float | None = None,
        timeout: float = 5.0,
        local_size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure not in ("open", "closed"):
            raise ValueError(f"failure must be 'open' or 'closed', not {failure!r}")
        self.sessions = sessions
        self.cache = cache
        # A cache that fails (Redis down) is an empty cache, logged once: never a 500.
        guarded = GuardedCache(
            cache,
            name="Managed sessions: AUTHROCKET_CACHE",
            fallback="keeping the answers in this process",
            retry_interval=CACHE_PROBE_INTERVAL,
            clock=clock,
        )
        #: The shared cache; ``None`` when it is this app's own in-process cache: the answers
        #: then live only in ``_local``, the cheapest place to read them.
        self._shared: GuardedCache | None = None if guarded.process_only else guarded
        #: This process's own copy of every answer it fetched, and of its logouts: read first for
        #: "ended", and in place of the shared cache while that is down or has lost its data.
        self._local = InProcessCache(local_size, clock=clock)
        self._clock = clock
        self.ttl = ttl
        self.grace = max(float(ttl), GRACE_TTLS * ttl if grace is None else grace)
        self.failure = failure
        self.timeout = timeout
        #: What this check did, for soaks and dashboards.
        self.stats = SessionCheckStats()
        self._failing = False
        #: Until when this process's own answers stand in for the shared cache (it failed lately).
        self._stand_in_until = float("-inf")
        self._unreachable_at: float | None = None
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}

    def state(self, session: Session) -> SessionState:
        """Whether ``session`` is still known to the API (asked at most once per ``ttl``)."""
        known_key, ended_key = cache_keys(session)
        local = self._local
        if local.get(ended_key) == _ENDED:
            return SessionState.ENDED  # logged out through this process, or ended for good
        shared = self._shared
        if shared is not None:
            ended, known = shared.get_many(ended_key, known_key)
            # Anything but the two words (a value written by someone else) is a miss.
            if ended == _ENDED:
                return SessionState.ENDED
            if known == _KNOWN:
                return SessionState.KNOWN
            if shared.failing:
                self._stand_in_until = self._clock() + self.ttl
            elif self._clock() >= self._stand_in_until:
                return self._ask(session, ended_key)  # a healthy shared cache is the one truth
        # The shared cache is down, or came back less than a TTL ago (perhaps empty): this
        # process's own answer, fetched at most a TTL ago, stands in. It expires with the shared
        # copy written with it, so it never outlives that by more than a TTL.
        if local.get(known_key) == _KNOWN:
            return SessionState.KNOWN
        return self._ask(session, ended_key)

    def end(self, session: Session) -> None:
        """Log ``session`` out everywhere: delete it through the API and mark it ended in the cache.

        The cache is marked first, so the workers sharing it see the logout
        even when the API call fails (which is logged, not raised). This
        process also keeps the mark itself, so the logout holds here through an
        outage of the shared cache and after it.
        """
        self._remember_ended(session, cache_keys(session)[1])
        if not session.id:
            return
        try:
            self.sessions.delete(session.id)
        except RecordNotFound:
            pass  # already ended elsewhere
        except ApiError as error:
            logger.warning("Could not end session %s through the AuthRocket API: %s", session.id, error)

    # -- asking the API ----------------------------------------------------------------------

    def _ask(self, session: Session, name: str) -> SessionState:
        """The API's answer for a session with no fresh one; one request per session per process asks."""
        stale = self._stale(name)
        with self._lock:
            flight = self._flights.get(name)
            leader = flight is None
            if flight is None:
                flight = self._flights[name] = _Flight()
        if not leader:
            if stale:
                self.stats.stale += 1
                return SessionState.KNOWN  # another request is asking; the answer of a moment ago holds meanwhile
            self.stats.joined += 1
            # The look-up ends within the timeout (a total bound); a little more for the thread to run.
            if flight.done.wait(self.timeout + 1):
                return flight.state
            return self._without_answer(stale)
        try:
            flight.state = self._look_up(session, name, stale)
        finally:
            flight.done.set()
            with self._lock:
                del self._flights[name]
        return flight.state

    def _look_up(self, session: Session, name: str, stale: bool) -> SessionState:
        unreachable_at = self._unreachable_at
        if unreachable_at is not None and self._clock() - unreachable_at < UNREACHABLE_RETRY_INTERVAL:
            return self._without_answer(stale)  # do not make every request wait for an API that does not answer
        shared = self._shared
        # One worker asks for everyone; the lock lasts as long as its call may, so a worker that
        # died asking holds nobody up for longer. With no stale answer to give, a worker asks
        # anyway rather than make its request wait.
        if (
            stale
            and shared is not None
            and not shared.failing
            and not shared.add(name + ":asking", "1", timeout=self.timeout + 1)
            and not shared.failing
        ):
            self.stats.stale += 1
            return SessionState.KNOWN
        with self._lock:
            self.stats.lookups += 1
        try:
            found = self.sessions.find(session.token)
        except RecordNotFound:
            found = None
        except ApiUnavailable as error:
            self._unreachable_at = self._clock()
            return self._failed(error, stale)
        except ApiError as error:
            return self._failed(error, stale)
        self._unreachable_at = None
        self._recovered()
        if found is None:
            self._remember_ended(session, name)
            return SessionState.ENDED
        self._remember_known(name)
        return SessionState.KNOWN

    def _stale(self, name: str) -> bool:
        """Whether the session was confirmed alive within ``grace`` (by any worker, or by this process)."""
        alive_key = name + ":alive"
        shared = self._shared
        if shared is not None and shared.get(alive_key) == _KNOWN:
            return True
        return bool(self._local.get(alive_key) == _KNOWN)

    def _remember_known(self, name: str) -> None:
        known_key, alive_key = name + ":known", name + ":alive"
        ttl, grace = int(self.ttl), int(self.grace)
        shared = self._shared
        if shared is not None:
            shared.set(known_key, _KNOWN, timeout=ttl)
            shared.set(alive_key, _KNOWN, timeout=grace)
        # Always kept here too, for the same times: it stands in when the shared cache is down
        # or comes back empty, and is never older than the shared copy written with it.
        self._local.set(known_key, _KNOWN, self.ttl)
        self._local.set(alive_key, _KNOWN, self.grace)

    def _remember_ended(self, session: Session, name: str) -> None:
        # Ended for good: remembered until the token expires, so that no outage revives it.
        timeout = max(int(self.ttl), int(session.expires_at - time.time()))
        shared = self._shared
        if shared is not None:
            shared.set(name, _ENDED, timeout=timeout)
        self._local.set(name, _ENDED, timeout)

    # -- when the API cannot answer ------------------------------------------------------------

    def _failed(self, error: ApiError, stale: bool) -> SessionState:
        with self._lock:
            first = not self._failing
            self._failing = True
            self.stats.failures += 1
        if first:
            outcome = (
                "trusting verified tokens until it answers (AUTHROCKET_SESSION_CHECK_FAILURE = 'open')"
                if self.failure == "open"
                else "guarded views answer 503 until it answers (AUTHROCKET_SESSION_CHECK_FAILURE = 'closed')"
            )
            logger.warning(
                "Managed sessions: the AuthRocket API could not be asked (%s); sessions last known ended stay "
                "ended, sessions confirmed alive in the last %g s keep working, others: %s.",
                error,
                self.grace,
                outcome,
            )
        return self._without_answer(stale)

    def _without_answer(self, stale: bool) -> SessionState:
        """What a verified token counts for while the API cannot be asked ("ended" was ruled out before)."""
        if stale:
            self.stats.stale += 1
            return SessionState.KNOWN  # confirmed alive within the grace period, in either mode
        self.stats.without_answer += 1
        return SessionState.KNOWN if self.failure == "open" else SessionState.UNAVAILABLE

    def _recovered(self) -> None:
        if self._failing:
            with self._lock:
                self._failing = False
            logger.info("Managed sessions: the AuthRocket API answers again.")


def cache_keys(session: Session) -> tuple[str, str]:
    """The cache keys of a session's answers: "known" under the first, "ended" under the second.

    Named by the session's id, else by a digest of its token (never the token
    itself). Two keys, so that writing "known" can never replace "ended". The
    second is also the stem of the session's other keys: ``<stem>:alive`` (the
    stale "known", kept for the grace period) and ``<stem>:asking`` (the lock
    of the worker asking the API).
    """
    if session.id:
        name = f"session:{session.id}"
    else:
        name = "session-token:" + hashlib.sha256(session.token.encode()).hexdigest()
    return f"{name}:known", name
