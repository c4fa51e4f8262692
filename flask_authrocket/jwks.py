"""A LoginRocket's JWK set: fetched over HTTP, cached, refreshed with care, and explained when it fails.

Ground floor, no Flask. :class:`JwksClient` is the key source of apps that
verify RS256 tokens with the keys at ``<LoginRocket>/connect/jwks`` (the key
kinds themselves live in :mod:`flask_authrocket.keys`); :func:`diagnose_key_set`
is the same fetch for ``flask authrocket check`` and ``decode``, explaining
instead of keeping quiet. Every fetch goes through
:func:`flask_authrocket.fetch.get_json`: bounded in total by its timeout,
never following a redirect, any JSON a failed fetch rather than an exception.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import KeysUnavailable
from .fetch import FetchError, get_json, new_session
from .keys import MAX_JWKS_BYTES, UnknownKey, VerificationKey, key_from_jwk
from .logs import logger

if TYPE_CHECKING:
    import requests


#: Seconds a key set that cannot be refreshed stands past its TTL, by default (a day): then its
#: tokens are unavailable, never accepted (``AUTHROCKET_JWKS_MAX_STALE``).
DEFAULT_MAX_STALE = 86400.0

#: Least seconds between fetches for tokens issued after the last fetch (a key LoginRocket may
#: have published since), whatever ``min_interval`` says: a flood of unknown kids, forged
#: ``iat`` included, still costs at most one fetch per this many seconds.
NEW_KEY_FLOOR = 5.0


def jwks_url(loginrocket_url: str) -> str:
    """``<LoginRocket origin>/connect/jwks``: where LoginRocket serves its keys."""
    parts = urlsplit(loginrocket_url)
    return f"{parts.scheme}://{parts.netloc}/connect/jwks"


class KeySetError(ValueError):
    """A key-set fetch that gave no usable key set: ``str()`` says what happened, ``fix`` what to do."""

    def __init__(self, message: str, fix: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.fix = fix
        #: True when nothing answered at all (refused, no such host, timed out).
        self.unreachable = unreachable


@dataclass
class KeySetDiagnosis:
    """What one fetch of a LoginRocket key set found: for ``flask authrocket check`` and ``decode``.

    ``kids`` are the usable keys' kids in the order served, ``skipped`` says why
    each unusable entry was left out; ``error`` says what went wrong (``None``
    when at least one key is usable) and ``fix`` how to mend it; ``unreachable``
    is true when nothing answered at all (refused, no such host, timed out).
    """

    url: str
    milliseconds: int = 0
    kids: list[str] = field(default_factory=list)
    #: The usable keys themselves, in the same order: ``check`` compares a static key with them.
    keys: list[VerificationKey] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    error: str | None = None
    fix: str | None = None
    unreachable: bool = False
    #: Seconds the key server's clock (its ``Date`` header) is ahead of this machine's; negative
    #: when behind; ``None`` when it sent no usable ``Date``. ``Date`` counts whole seconds.
    clock_offset: float | None = None


#: What a failed key-set fetch means for the app, and how to fix it, by :class:`FetchError` kind.
_FETCH_FIXES = {
    "timeout": "check LOGINROCKET_URL and the network; AUTHROCKET_HTTP_TIMEOUT sets the wait.",
    "unreachable": "check LOGINROCKET_URL and this machine's network (DNS, firewall, proxy).",
    "redirect": "LOGINROCKET_URL must be the LoginRocket URL itself (https, the exact host of Realm -> Integration "
    "-> Using LoginRocket): a key set is never fetched through a redirect, which could lead to anyone's keys.",
    "status": "LOGINROCKET_URL must be your LoginRocket URL (Realm -> Integration -> Using LoginRocket, "
    "e.g. https://myapp.e2.loginrocket.com/); its key set is at /connect/jwks.",
    "oversize": "check LOGINROCKET_URL.",
    "not_json": "check LOGINROCKET_URL: it should be the LoginRocket URL, not the app's or the API's.",
}


def _fetch_key_set(
    http: requests.Session, url: str, timeout: float, answer_headers: dict[str, str] | None = None
) -> tuple[dict[str, VerificationKey], list[str]]:
    """Download and parse the JWK set at ``url``, bounded by ``timeout`` seconds in total.

    The one implementation of the fetch, for :class:`JwksClient` and for the
    diagnosis: the usable keys by kid, and why each other entry was skipped.
    Raises :class:`KeySetError` (a ``ValueError``) saying what went wrong and
    how to fix it.
    """
    try:
        document = get_json(http, url, timeout=timeout, max_bytes=MAX_JWKS_BYTES, answer_headers=answer_headers)
    except FetchError as exc:
        message = {
            "status": f"{url} answered HTTP {exc.status}, not a key set.",
            "oversize": f"{url} answered over {MAX_JWKS_BYTES // 1024} KB: that is not a key set.",
            "not_json": f"{url} answered something that is not JSON (it starts {exc.start!r}).",
        }.get(exc.kind, f"{exc}.")
        raise KeySetError(message, _FETCH_FIXES[exc.kind], unreachable=exc.unreachable) from exc
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise KeySetError(f"{url} answered JSON without a 'keys' list.", "check LOGINROCKET_URL.")
    keys: dict[str, VerificationKey] = {}
    skipped: list[str] = []
    for entry in entries:
        try:
            if not isinstance(entry, dict):
                raise ValueError("an entry that is not an object")
            key = key_from_jwk(entry)
        except ValueError as exc:
            skipped.append(str(exc))
            continue
        keys[key.kid or ""] = key
    if not entries:
        raise KeySetError(
            f"{url} serves an empty key set: this LoginRocket signs tokens with HS256 (a shared secret).",
            "set AUTHROCKET_JWT_KEY to the realm's JWT secret (Realm -> Integration), or switch the realm to RS256.",
        )
    if not keys:
        raise KeySetError(
            f"none of the {len(entries)} keys at {url} can verify AuthRocket tokens.",
            "check LOGINROCKET_URL; AuthRocket serves RSA signing keys.",
        )
    return keys, skipped


def diagnose_key_set(
    loginrocket_url: str, *, timeout: float = 5, session: requests.Session | None = None, ca_bundle: str | None = None
) -> KeySetDiagnosis:
    """Fetch the key set of ``loginrocket_url`` once and say what is in it, or what went wrong.

    The same download and parsing as :class:`JwksClient` (one implementation,
    one set of limits), but it explains instead of keeping quiet. It never
    raises for network or content errors. ``ca_bundle`` (``AUTHROCKET_CA_BUNDLE``) is the
    CA file certificates are checked against, when no ``session`` is given.
    """
    url = jwks_url(loginrocket_url)
    result = KeySetDiagnosis(url)
    http = session or new_session(ca_bundle)
    started, asked_at = time.monotonic(), time.time()
    headers: dict[str, str] = {}
    try:
        keys, result.skipped = _fetch_key_set(http, url, timeout, headers)
    except KeySetError as exc:
        result.error, result.fix, result.unreachable = str(exc), exc.fix, exc.unreachable
        return result
    finally:
        result.milliseconds = round((time.monotonic() - started) * 1000)
        result.clock_offset = _clock_offset(headers.get("date"), asked_at, time.time())
        if session is None:
            http.close()
    result.kids = list(keys)
    result.keys = list(keys.values())
    return result


class JwksClient:
    """The JWK set of one LoginRocket, fetched over HTTP and cached.

    * A fetched set is trusted for ``ttl`` seconds, then refreshed.
    * A token naming an unknown ``kid`` causes a refetch, but fetches (for an
      unknown kid or after a failure) happen at most once per
      ``min_interval`` seconds, so forged kids cannot make us hammer LoginRocket.
    * A key published just after a fetch logs nobody out: a token with an
      unknown kid whose (unverified) ``iat`` is not older than the last fetch
      may cause a fetch once :data:`NEW_KEY_FLOOR` seconds have passed since
      the last one; until then it is *unavailable* (cookie kept, 503 on guarded
      views), not invalid. A withdrawn key (its token issued before the last
      fetch, its kid not in the set) stays ``unknown_kid``. "Not older" allows
      ``leeway`` seconds (``AUTHROCKET_LEEWAY``): LoginRocket's clock and this
      host's may differ by that much, and a host a little fast must not take a
      fresh key's token for a withdrawn one.
    * Concurrent requests that miss at the same moment wait for one fetch, for
      at most ``timeout`` seconds: then they are *unavailable*. Requests that
      hold a merely stale key do not wait: they use it while one request
      refreshes.
    * A failed refresh keeps the keys already known (stale-if-error), for at
      most ``max_stale`` seconds past the TTL: a key set that fails to fetch,
      or comes back empty or with no usable key, cannot keep a withdrawn key
      trusted for as long as an attacker keeps the fetch failing. Past the
      bound every token is *unavailable* (503, cookie kept), never accepted,
      until a fetch succeeds. The failure is logged once at WARNING, not per
      request; past the bound, each fetch attempt logs an ERROR; recovery is
      logged too.
    * Every fetch is bounded by ``timeout`` seconds in total.

    ``session`` may be a :class:`requests.Session` to share; ``ca_bundle`` a CA file
    to check LoginRocket's certificate against (``AUTHROCKET_CA_BUNDLE``; without a
    ``session``); ``clock`` is a monotonic clock in seconds, for tests of the timing rules;
    ``max_stale`` is the bound above (``AUTHROCKET_JWKS_MAX_STALE``, default a day).
    """

    reads_header = True

    def __init__(
        self,
        loginrocket_url: str,
        *,
        ttl: float = 3600,
        min_interval: float = 30,
        timeout: float = 5,
        max_stale: float = DEFAULT_MAX_STALE,
        leeway: float = 0,
        session: requests.Session | None = None,
        ca_bundle: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.loginrocket_url = loginrocket_url
        self.url = jwks_url(loginrocket_url)
        self.ttl = ttl
        #: Seconds the last good set stands past ``ttl`` while refreshes fail.
        self.max_stale = max_stale
        self.min_interval = min_interval
        self.timeout = timeout
        #: Seconds of clock skew between LoginRocket and this host allowed when a token's ``iat`` is
        #: compared with the last fetch (a fresh key's token against a withdrawn key's).
        self.leeway = leeway
        self._http = session  # built on the first fetch: importing requests costs every worker's boot
        self.ca_bundle = ca_bundle
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, VerificationKey] = {}
        self._fetched_at: float | None = None
        self._fetched_wall: float | None = None  # time.time() when the set held now was asked for
        self._attempted_at: float | None = None
        self._failing = False
        #: Number of HTTP fetches attempted; for diagnostics and tests.
        self.fetch_count = 0

    def key_for(self, header: Mapping[str, Any], token: str | None = None) -> VerificationKey:
        """The key named by the token's ``kid``, fetching the set when needed.

        ``token`` (the token itself) lets an unknown kid be told apart: its
        unverified ``iat`` says whether the key may have been published since
        the last fetch.
        """
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise UnknownKey("the token has no kid; LoginRocket keys are chosen by kid")
        key = self._keys.get(kid)
        if key is not None and self._is_fresh(self._clock()):
            return key
        return self._refresh_for(kid, key, token)

    def still_trusted(self, key: VerificationKey) -> bool:
        """True while ``key`` is still the set's key for its kid (refreshing when due)."""
        fetched_at = self._fetched_at
        if fetched_at is not None and self._clock() - fetched_at < self.ttl and self._keys.get(key.kid or "") is key:
            return True  # the common case, without building a header
        try:
            return self.key_for({"kid": key.kid}) is key
        except (UnknownKey, KeysUnavailable):
            return False

    @property
    def retry_after(self) -> int:
        """Seconds a client should wait before the keys may be fetched again."""
        if self._attempted_at is None:
            return 1
        wait = self.min_interval - (self._clock() - self._attempted_at)
        return max(1, int(wait + 0.999))

    def describe_key_for(self, header: Mapping[str, Any]) -> str:
        """``"the LoginRocket key 'k1' (https://.../connect/jwks)"``."""
        return f"the LoginRocket key {header.get('kid')!r} ({self.url})"

    def expected_algorithm(self, header: Mapping[str, Any]) -> str:
        """The algorithm of the key the header names, as already known (no fetch); RS256 otherwise."""
        kid = header.get("kid")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        return key.algorithm if key is not None else "RS256"

    def diagnose(self) -> KeySetDiagnosis:
        """Fetch the key set once, outside the cache, and say what is in it or what went wrong."""
        return diagnose_key_set(
            self.loginrocket_url, timeout=self.timeout, session=self._http, ca_bundle=self.ca_bundle
        )

    def _is_fresh(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < self.ttl

    def _within_stale_bound(self, now: float) -> bool:
        """Whether a set that is no longer fresh may still stand in: at most ``max_stale`` past its TTL."""
        return self._fetched_at is not None and now - self._fetched_at < self.ttl + self.max_stale

    def _past_the_bound(self) -> str:
        return (
            f"the LoginRocket key set at {self.url} could not be refreshed for over AUTHROCKET_JWKS_MAX_STALE "
            f"({self.max_stale:g} s) past its TTL; its keys are no longer trusted"
        )

    def _may_fetch(self, now: float, interval: float | None = None) -> bool:
        interval = self.min_interval if interval is None else min(interval, self.min_interval)
        return self._attempted_at is None or now - self._attempted_at >= interval

    def _issued_since_fetch(self, token: str | None) -> bool:
        """Whether ``token`` says it was issued no earlier than the set we hold was fetched (to the second).

        With ``leeway`` seconds to spare: ``iat`` is LoginRocket's clock, the fetch time this
        host's, and a host running fast would otherwise date a fresh token before the fetch.
        """
        fetched_wall = self._fetched_wall
        issued_at = _unverified_iat(token)
        return (
            fetched_wall is not None and issued_at is not None and issued_at + self.leeway >= math.floor(fetched_wall)
        )

    def _refresh_for(self, kid: str, known: VerificationKey | None, token: str | None) -> VerificationKey:
        # A request holding a stale key never waits for another's fetch; one without a key
        # waits for the fetch under way as long as a fetch may take, then gives up.
        if known is not None:
            if not self._lock.acquire(blocking=False):
                if self._within_stale_bound(self._clock()):
                    return known
                raise KeysUnavailable(self._past_the_bound())
        elif not self._lock.acquire(timeout=self.timeout):
            raise KeysUnavailable(f"the LoginRocket key set at {self.url} is still being fetched")
        try:
            now = self._clock()
            key = self._keys.get(kid)
            if key is not None and self._is_fresh(now):
                return key  # another request fetched it while we waited
            # An unknown kid on a token issued since the last fetch: LoginRocket may have
            # published its key since. Worth a fetch sooner than min_interval, never sooner
            # than NEW_KEY_FLOOR (iat is unverified: anyone can claim a fresh one).
            new_key = key is None and not self._failing and self._issued_since_fetch(token)
            fetched = False
            if self._may_fetch(now) or (new_key and self._may_fetch(now, NEW_KEY_FLOOR)):
                self._fetch(now)
                fetched = True
                key = self._keys.get(kid)
            if key is not None:
                if self._is_fresh(self._clock()) or self._within_stale_bound(now):
                    return key
                raise KeysUnavailable(self._past_the_bound())
            if self._failing or self._fetched_at is None:
                raise KeysUnavailable(f"the LoginRocket key set at {self.url} could not be fetched")
            if new_key and not fetched:
                raise KeysUnavailable(
                    f"kid {kid!r} may be newer than the LoginRocket key set; it is fetched again "
                    f"at most every {NEW_KEY_FLOOR:g} s"
                )
            raise UnknownKey(f"kid {kid!r} is not in the LoginRocket key set")
        finally:
            self._lock.release()

    def _fetch(self, now: float) -> None:
        self._attempted_at = now
        asked_at = time.time()
        self.fetch_count += 1
        if self._http is None:
            self._http = new_session(self.ca_bundle)
        try:
            keys, skipped = _fetch_key_set(self._http, self.url, self.timeout)
        except KeySetError as exc:
            if self._keys and not self._within_stale_bound(now):
                # Loud, on every attempt while it lasts: logins stop until LoginRocket's keys come back.
                logger.error(
                    "LoginRocket keys could not be fetched from %s (%s), and the last good key set is over "
                    "AUTHROCKET_JWKS_MAX_STALE (%g s) past its TTL: every token is unavailable (503) until a "
                    "fetch succeeds.",
                    self.url,
                    exc,
                    self.max_stale,
                )
            elif not self._failing:
                state = "keeping the keys already known" if self._keys else "no keys are known yet"
                logger.warning("Could not fetch LoginRocket keys from %s (%s); %s.", self.url, exc, state)
            self._failing = True
            return
        for reason in skipped:
            logger.debug("Skipping a JWK from %s: %s", self.url, reason)
        if self._failing:
            logger.info("LoginRocket keys fetched again from %s.", self.url)
        self._failing = False
        # Keep the very same key objects for unchanged kids so that cached
        # verifications of their tokens stay trusted; replaced or dropped kids
        # lose that trust.
        old = self._keys
        self._keys = {kid: old[kid] if kid in old and old[kid].same_material(key) else key for kid, key in keys.items()}
        self._fetched_at = self._clock()
        self._fetched_wall = asked_at


def _clock_offset(date: str | None, asked_at: float, answered_at: float) -> float | None:
    """Seconds a server's ``Date`` is ahead of this machine's clock, between asking and the answer."""
    if not date:
        return None
    try:
        when = parsedate_to_datetime(date[:64])
        server = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()  # HTTP dates are GMT
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # Date truncates to the second: the server's clock stood somewhere in [Date, Date + 1).
    return server + 0.5 - (asked_at + answered_at) / 2


def _unverified_iat(token: str | None) -> float | None:
    """The ``iat`` claim of ``token``, read without any check (so to be trusted for nothing); ``None`` if absent."""
    if not token or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error, RecursionError):  # not a JWT's payload: no claim to read
        return None
    issued_at = claims.get("iat") if isinstance(claims, dict) else None
    if isinstance(issued_at, bool) or not isinstance(issued_at, (int, float)) or not math.isfinite(issued_at):
        return None
    return float(issued_at)
