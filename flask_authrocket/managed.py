"""Managed sessions: a verified token also has to name a session the Core API still knows.

A login token stays valid until its ``exp``, even after the user logged out
somewhere else. With managed sessions, each verified token is also looked up
through the API (``GET sessions/<token>``); a session that was logged out
anywhere in the realm is no longer found, so the token stops counting here too:
single sign-out.

The load is one look-up per active session per ``ttl`` for the whole
deployment, when the workers share a cache (Redis):

* Each answer is stored with the time it was asked for, under the session's
  id (:func:`session_keys`), and each app reading it applies its *own*
  ``ttl``, ``grace`` and ``failure``: apps sharing one cache never inherit
  each other's lifetimes. Logging out through this app writes "ended" there,
  so every worker sharing it sees the logout at once. "Ended" and "known" live
  under different keys and "ended" wins: a check that asked the API before a
  logout and hears "known" after it cannot undo the logout.
* When an answer is older than the app's ``ttl``, one request asks: in each
  process the others wait for its answer (single flight, bounded by the HTTP
  timeout), and across workers a short-lived lock in the shared cache
  (``SET NX PX``) lets one worker ask while the others keep the answer of a
  moment ago.
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
  that is back is used at once. A logout made meanwhile is queued and written
  to the shared cache once it answers, so it reaches the other workers then.

All keys of one session carry its id as a Redis hash tag (``{kss_...}``): the
one command that reads two of them works on a Redis Cluster.

Ground floor: no Flask here.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .cache import GuardedCache, SharedStore
from .errors import ApiError, ApiUnavailable, RecordNotFound
from .logs import logger
from .lru import BoundedLRU, InProcessCache
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

#: Seconds a "known" answer is kept in the shared cache (or until the token expires, if sooner), whatever
#: the writer's own TTL: long enough for any app's grace period, since each reader applies its own.
ANSWER_KEPT = 86_400

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
    ``delete``); ``cache`` the shared store (a
    :class:`~flask_authrocket.cache.SharedStore`, or any cachelib cache, used
    through JSON, never pickles; the in-process one
    :func:`~flask_authrocket.cache.build_cache` makes for an unset
    ``AUTHROCKET_CACHE`` is skipped, the answers kept in this object). ``ttl``
    is how old an answer may be and still count as fresh *for this check*,
    ``grace`` how old a "known" answer may be and stand in when the API cannot
    answer (``None``: ``3 * ttl``), ``failure`` (``"open"`` or ``"closed"``)
    what a session with no answer at all counts for then: answers written by
    checks with other settings are read with these. ``timeout`` is the API
    call's own bound (the HTTP timeout): requests waiting for another's look-up
    wait no longer than that. ``local_ttl`` is how long, with a shared cache,
    this process trusts a fresh "known" answer it read before reading the
    shared cache again (``0``: every request reads it, where other workers'
    logouts are; ``n``: a logout through another worker counts here within
    ``n`` seconds, and requests in between cost no round trip). ``local_size``
    bounds the process's own copy of the answers; ``clock`` is a wall clock in
    seconds (answers are dated with it, and read by other hosts), for tests.
    :attr:`stats` counts what it did.
    """

    def __init__(
        self,
        sessions: SessionLookup,
        cache: SharedStore | BaseCache,
        *,
        ttl: float,
        failure: str = "open",
        grace: float | None = None,
        timeout: float = 5.0,
        local_ttl: float = 0.0,
        local_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if failure not in ("open", "closed"):
            raise ValueError(f"failure must be 'open' or 'closed', not {failure!r}")
        if not local_ttl >= 0:
            raise ValueError(f"local_ttl must be 0 or more seconds, not {local_ttl!r}")
        self.sessions = sessions
        # A cache that fails (Redis down) is an empty cache, logged once: never a 500.
        guarded = GuardedCache(
            cache,
            name="Managed sessions: AUTHROCKET_CACHE",
            fallback="keeping the answers in this process",
            retry_interval=CACHE_PROBE_INTERVAL,
            clock=clock,
        )
        self.cache = guarded.store
        #: The shared cache; ``None`` when it is this app's own in-process cache: the answers
        #: then live only in ``_local``, the cheapest place to read them.
        self._shared: GuardedCache | None = None if guarded.process_only else guarded
        #: This process's own copy of every answer it fetched, and of its logouts: read first for
        #: "ended", and in place of the shared cache while that is down or has lost its data.
        self._local = InProcessCache(local_size, clock=clock)
        #: The moment each session's "known" answer stops being fresh for this process (by
        #: ``clock``): a request of a session answered lately is one dict lookup and one comparison.
        #: Without a shared cache, until the answer's TTL ends; with one, at most ``local_ttl``
        #: after this process read it there (``0``: every request reads the shared cache, where
        #: other workers' logouts are).
        self._fresh: BoundedLRU[str, float] | None = (
            BoundedLRU(local_size) if self._shared is None or local_ttl > 0 else None
        )
        self.local_ttl = float(local_ttl)
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

    def known_lately(self, session: Session) -> bool:
        """Whether this process may answer "known" for ``session`` without a cache or the API.

        True while an answer of the API (or, with ``AUTHROCKET_SESSION_CHECK_LOCAL_TTL``, of the
        shared cache) is fresh here: one dict lookup and one clock reading, the request hook's
        path for a logged-in browser. ``False`` means "ask :meth:`state`", never "ended".
        """
        fresh = self._fresh
        if fresh is None:
            return False
        until = fresh.peek(session.id or session.token)
        return until is not None and self._clock() < until

    def state(self, session: Session) -> SessionState:
        """Whether ``session`` is still known to the API (asked once its answer is older than ``ttl``)."""
        if self.known_lately(session):
            return SessionState.KNOWN
        keys = session_keys(session)
        local = self._local
        if _answered_at(local.get(keys.ended), _ENDED) is not None:
            return SessionState.ENDED  # logged out through this process, or ended for good
        now = self._clock()
        local_age = self._age(local.get(keys.known), now)
        shared = self._shared
        shared_age = None
        if shared is not None:
            ended, known = shared.get_many(keys.ended, keys.known)
            # Anything but an answer of ours (a value written by someone else) is a miss.
            if _answered_at(ended, _ENDED) is not None:
                self._local.set(keys.ended, ended, self._ended_timeout(session))  # holds through an outage
                return SessionState.ENDED
            shared_age = self._age(known, now)
            if shared_age is not None and shared_age < self.ttl:
                if local_age is None or local_age > shared_age:
                    # Kept here too (once per answer): should the shared cache fail, this process
                    # goes on with it for the rest of its TTL instead of asking the API at once.
                    local.set(keys.known, known, self.grace)
                if self._fresh is not None:  # AUTHROCKET_SESSION_CHECK_LOCAL_TTL: trusted here for a while
                    self._trust_locally(self._fresh, session, keys, now + min(self.local_ttl, self.ttl - shared_age))
                return SessionState.KNOWN
            if shared.failing_for(keys.ended):
                self._stand_in_until = now + self.ttl
            elif not now < self._stand_in_until:
                # A healthy shared cache is the one truth.
                return self._ask(session, keys, self._stale(shared_age, local_age))
        # The shared cache is down, or came back less than a TTL ago (perhaps empty): this
        # process's own answer, fetched at most a TTL ago, stands in.
        if local_age is not None and local_age < self.ttl:
            return SessionState.KNOWN
        return self._ask(session, keys, self._stale(shared_age, local_age))

    def end(self, session: Session) -> None:
        """Log ``session`` out everywhere: delete it through the API and mark it ended in the cache.

        The cache is marked first, so the workers sharing it see the logout
        even when the API call fails (which is logged, not raised). This
        process also keeps the mark itself, so the logout holds here through an
        outage of the shared cache and after it; a mark the shared cache could
        not take is queued and written once it answers.
        """
        self._remember_ended(session, session_keys(session))
        if not session.id:
            return
        try:
            self.sessions.delete(session.id)
        except RecordNotFound:
            pass  # already ended elsewhere
        except ApiError as error:
            logger.warning("Could not end session %s through the AuthRocket API: %s", session.id, error)

    # -- asking the API ----------------------------------------------------------------------

    def _ask(self, session: Session, keys: SessionKeys, stale: bool) -> SessionState:
        """The API's answer for a session with no fresh one; one request per session per process asks."""
        with self._lock:
            flight = self._flights.get(keys.ended)
            leader = flight is None
            if flight is None:
                flight = self._flights[keys.ended] = _Flight()
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
            flight.state = self._look_up(session, keys, stale)
        finally:
            flight.done.set()
            with self._lock:
                del self._flights[keys.ended]
        return flight.state

    def _look_up(self, session: Session, keys: SessionKeys, stale: bool) -> SessionState:
        unreachable_at = self._unreachable_at
        if unreachable_at is not None and 0 <= self._clock() - unreachable_at < UNREACHABLE_RETRY_INTERVAL:
            return self._without_answer(stale)  # do not make every request wait for an API that does not answer
        shared = self._shared
        # One worker asks for everyone; the lock lasts as long as its call may, so a worker that
        # died asking holds nobody up for longer. With no stale answer to give, a worker asks
        # anyway rather than make its request wait.
        if (
            stale
            and shared is not None
            and not shared.failing_for(keys.asking)
            and not shared.add(keys.asking, "1", timeout=self.timeout + 1)
            and not shared.failing_for(keys.asking)
        ):
            self.stats.stale += 1
            return SessionState.KNOWN
        with self._lock:
            self.stats.lookups += 1
        asked_at = self._clock()
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
            self._remember_ended(session, keys)
            return SessionState.ENDED
        self._remember_known(session, keys, asked_at)
        return SessionState.KNOWN

    def _age(self, record: Any, now: float) -> float | None:
        """How old a "known" answer is by this check's clock; ``None`` for no answer.

        An answer dated in the future (another host's clock runs ahead) counts as
        just given, unless it is more than a TTL ahead: then it is no answer.
        """
        at = _answered_at(record, _KNOWN)
        if at is None or at - now > self.ttl:
            return None
        return max(0.0, now - at)

    def _stale(self, *ages: float | None) -> bool:
        """Whether any answer at hand confirmed the session alive within ``grace`` (by any worker, or by this one)."""
        return any(age is not None and age < self.grace for age in ages)

    def _remember_known(self, session: Session, keys: SessionKeys, asked_at: float) -> None:
        record = {"answer": _KNOWN, "at": asked_at}
        # Kept long enough for any app's grace period: each reader decides by the answer's age.
        kept = max(1.0, min(max(ANSWER_KEPT, self.grace), session.expires_at - time.time()))
        shared = self._shared
        if shared is not None:
            shared.set(keys.known, record, timeout=kept)
        # Always kept here too: it stands in when the shared cache is down or comes back empty.
        self._local.set(keys.known, record, self.grace)
        fresh = self._fresh
        if fresh is not None:
            trusted = self.ttl if shared is None else min(self.ttl, self.local_ttl)
            self._trust_locally(fresh, session, keys, asked_at + trusted)

    def _trust_locally(self, fresh: BoundedLRU[str, float], session: Session, keys: SessionKeys, until: float) -> None:
        """Answer "known" for ``session`` from this process alone until ``until`` (by ``clock``)."""
        key = session.id or session.token
        fresh.put(key, until)
        # "Ended" wins: a logout through this process while the answer was being read.
        if _answered_at(self._local.get(keys.ended), _ENDED) is not None:
            fresh.discard(key)

    def _remember_ended(self, session: Session, keys: SessionKeys) -> None:
        # Ended for good: remembered until the token expires, so that no outage revives it; what the
        # shared cache cannot take now is queued and written when it answers.
        record = {"answer": _ENDED, "at": self._clock()}
        timeout = self._ended_timeout(session)
        shared = self._shared
        if shared is not None:
            shared.set(keys.ended, record, timeout=timeout, queue=True)
        self._local.set(keys.ended, record, timeout)
        if self._fresh is not None:  # after the mark: a "known" put meanwhile sees it and goes
            self._fresh.discard(session.id or session.token)

    def _ended_timeout(self, session: Session) -> float:
        return max(float(self.ttl), session.expires_at - time.time())

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


class SessionKeys(NamedTuple):
    """The cache keys of one session's answers (after the store's ``flask_authrocket:`` prefix)."""

    #: ``{"answer": "ended", "at": ...}``: logged out, kept until the token expires.
    ended: str
    #: ``{"answer": "known", "at": ...}``: the API knew the session when it was asked at ``at``.
    known: str
    #: The lock of the worker asking the API right now (``SET NX PX``).
    asking: str


#: A session id that can be a hash tag and a readable key as it is (AuthRocket's are ``kss_...``).
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def session_keys(session: Session) -> SessionKeys:
    """The keys of a session's answers: ``session:{<session id>}:ended``, ``:known`` and ``:asking``.

    The id in braces is a Redis hash tag: every key of a session lives in the
    same slot of a Cluster, so reading "ended" and "known" together (``MGET``)
    works there, and an operator finds a session's keys by its id. An id that
    could not be a tag as it is (braces, spaces, over 128 characters) is
    replaced by its SHA-256 (``session-id:{<sha256>}:...``); a token without a
    session id is named by the digest of the token, never the token
    (``session-token:{<sha256>}:...``). Two keys, so that writing "known" can
    never replace "ended".
    """
    if session.id:
        return _keys_of_id(session.id)
    return _keys_of("session-token:{" + hashlib.sha256(session.token.encode()).hexdigest() + "}")


@functools.lru_cache(maxsize=4096)
def _keys_of_id(session_id: str) -> SessionKeys:
    # Asked on every request that sends a token: remembered for the sessions active lately.
    if _PLAIN_ID.fullmatch(session_id):
        return _keys_of(f"session:{{{session_id}}}")
    return _keys_of("session-id:{" + hashlib.sha256(session_id.encode()).hexdigest() + "}")


def _keys_of(stem: str) -> SessionKeys:
    return SessionKeys(f"{stem}:ended", f"{stem}:known", f"{stem}:asking")


def _answered_at(record: Any, answer: str) -> float | None:
    """When ``record`` (as read from a cache) says the API gave ``answer``; ``None`` when it says nothing of it."""
    if not isinstance(record, dict) or record.get("answer") != answer:
        return None
    at = record.get("at")
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
        return None
    return float(at)
