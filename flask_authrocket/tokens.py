"""TokenVerifier: a token string in, a Session (or a Rejection with its reason) out.

This module knows nothing of Flask. It takes its settings as arguments, so one
process can hold verifiers for several realms.

Security choices made here:

* The algorithm is pinned by the key (see :mod:`flask_authrocket.keys`); the
  token's ``alg`` header only has to agree with it.
* ``iss`` must be ``https://authrocket.com``; ``exp`` is required. A token in
  AuthRocket's older layout (``uid``, no ``sub``) may leave ``iss`` out, as seed
  004 lays it out; when it names an issuer, that must be AuthRocket too.
* ``exp``, ``nbf`` and ``iat`` are checked with ``leeway`` seconds of clock
  skew (default 5, as AuthRocket's own libraries).
* Header fields that name keys elsewhere (``jku``, ``x5u``, ``jwk``, ``x5c``)
  are ignored: keys only ever come from configuration or LoginRocket.
* Tokens over 16 KB are rejected before any parsing.
* ``aud`` is not checked (PyJWT's ``verify_aud`` is off): AuthRocket's tokens
  name no audience of the app's, and the older layout put the realm id there.
* Nothing PyJWT or cryptography raises escapes :meth:`TokenVerifier.verify`:
  every failure is a :class:`Rejection`.
* A token must be three canonical base64url segments, checked here rather than
  left to PyJWT, whose decoder also accepts other spellings of the same bytes
  (``+`` for ``-``, stray characters, non-zero trailing bits).
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, get_args

import jwt
from cryptography.exceptions import UnsupportedAlgorithm

from .errors import ConfigurationError, KeysUnavailable
from .jwks import DEFAULT_MAX_STALE, JwksClient
from .keys import (
    KeySource,
    StaticKeySource,
    UnknownKey,
    VerificationKey,
    static_key,
)
from .logs import logger
from .lru import BoundedLRU
from .models import ClaimsError, Rejection, RejectionReason, Session, is_legacy_layout, session_from_claims

__all__ = [
    "ISSUER",
    "MAX_TOKEN_BYTES",
    "REASONS",
    "REJECTION_TEXTS",
    "ReasonTexts",
    "Rejection",
    "TokenVerifier",
    "describe_rejection",
    "what_to_check",
]


ISSUER = "https://authrocket.com"
_EMPTY_HEADER: Mapping[str, Any] = MappingProxyType({})
#: Larger tokens are rejected unparsed: no AuthRocket token comes near this.
MAX_TOKEN_BYTES = 16 * 1024

# One base64url segment as RFC 7515 writes it: no padding, and the bits after the last whole
# byte are zero (a 2-character tail ends in one of AQgw, a 3-character tail in one of
# AEIMQUYcgkosw048), so the bytes of a segment have exactly one spelling.
_SEGMENT = r"(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048]|[A-Za-z0-9_-][AQgw])?"
_COMPACT_JWS = re.compile(rf"{_SEGMENT}\.{_SEGMENT}\.{_SEGMENT}")


@dataclass(frozen=True)
class ReasonTexts:
    """What one rejection reason says: ``text`` in plain words, and what to ``check`` about it.

    Both are fixed ASCII, with no token and no claim in them, so that they may go into a
    ``WWW-Authenticate`` header, a 401 body, a log line or ``flask authrocket decode``.
    """

    #: The reason in plain words: "The token has expired."
    text: str
    #: What to check (a setting, the clock) when LoginRocket's own token is refused for it.
    check: str


_CHECK_THE_SENDER = (
    "Check what sends users here with ?token=, and LOGINROCKET_URL: the token is not an AuthRocket login token."
)
_CHECK_THE_KEYS = (
    "Check LOGINROCKET_URL and this machine's network: the keys (or the Core API) could not be reached; "
    "`flask authrocket check` says why."
)

#: The one table of rejection reasons: each reason of :data:`~flask_authrocket.models.RejectionReason`
#: with its plain-words text and what to check. A :class:`Rejection`'s ``message`` may add detail.
#: Every reason has its row: importing this module fails otherwise.
REASONS: Mapping[RejectionReason, ReasonTexts] = MappingProxyType(
    {
        "malformed": ReasonTexts("The token is not a well-formed JWT.", _CHECK_THE_SENDER),
        "oversize": ReasonTexts("The token is too large.", _CHECK_THE_SENDER),
        "expired": ReasonTexts(
            "The token has expired.",
            "Check this machine's clock (AUTHROCKET_LEEWAY allows a few seconds of skew): the token expired "
            "before it arrived, or the login link was reused from the history or a bookmark.",
        ),
        "not_yet_valid": ReasonTexts(
            "The token is not valid yet.",
            "Check this machine's clock: it is behind LoginRocket's by more than AUTHROCKET_LEEWAY seconds; "
            "synchronise it (NTP).",
        ),
        "too_old": ReasonTexts(
            "The token was issued too long ago.",
            "Check AUTHROCKET_TOKEN_WITHIN (it is shorter than the time from the login to this request) and "
            "this machine's clock.",
        ),
        "wrong_issuer": ReasonTexts(
            "The token was not issued by AuthRocket.",
            "Check LOGINROCKET_URL and what sends users here with ?token=: the token was not issued by AuthRocket.",
        ),
        "missing_claim": ReasonTexts("The token lacks a required claim.", _CHECK_THE_SENDER),
        "bad_signature": ReasonTexts(
            "The token's signature does not match.",
            "Check AUTHROCKET_JWT_KEY: it must be the key of the realm whose LoginRocket issued the token "
            "(Realm -> Integration), or be unset so that the keys come from LOGINROCKET_URL; check that "
            "LOGINROCKET_URL is that realm's LoginRocket.",
        ),
        "wrong_algorithm": ReasonTexts(
            "The token's algorithm does not match the key.",
            "Check AUTHROCKET_JWT_KEY: it is another kind of key than LoginRocket signs with (an HS256 secret "
            "while the realm signs RS256, say); set it to the realm's RSA public key, or unset it so that the "
            "keys come from LOGINROCKET_URL.",
        ),
        "unknown_kid": ReasonTexts(
            "The token names an unknown key.",
            "Check LOGINROCKET_URL: the token names a key it does not publish, so it was issued by another "
            "LoginRocket (or realm) than the one LOGINROCKET_URL names.",
        ),
        "bad_claims": ReasonTexts("The token's claims are unusable.", _CHECK_THE_SENDER),
        "unusable_key": ReasonTexts(
            "The token could not be checked: the configured key cannot verify it.",
            "Check AUTHROCKET_JWT_KEY: run `flask authrocket check`, which says what kind of key it holds.",
        ),
        "unavailable": ReasonTexts(
            "The token could not be checked: LoginRocket's keys are unavailable.", _CHECK_THE_KEYS
        ),
        "session_ended": ReasonTexts(
            "The session was logged out.",
            "The session was logged out before it arrived (AUTHROCKET_MANAGED_SESSIONS).",
        ),
        "session_unavailable": ReasonTexts(
            "The AuthRocket API could not confirm the session.",
            "Check AUTHROCKET_URL, AUTHROCKET_API_KEY and this machine's network (AUTHROCKET_MANAGED_SESSIONS); "
            "`flask authrocket check` says why.",
        ),
    }
)
if set(REASONS) != set(get_args(RejectionReason)):  # a reason without its row, or a row of no reason
    raise ImportError(f"REASONS and RejectionReason differ: {sorted(set(REASONS) ^ set(get_args(RejectionReason)))}")

#: Each reason's plain-words text alone (the ``text`` column of :data:`REASONS`).
REJECTION_TEXTS: Mapping[RejectionReason, str] = MappingProxyType(
    {reason: texts.text for reason, texts in REASONS.items()}
)


def describe_rejection(reason: RejectionReason) -> str:
    """The fixed plain-words text for a rejection ``reason`` (the ``text`` of :data:`REASONS`)."""
    return REASONS[reason].text


def what_to_check(reason: RejectionReason) -> str:
    """What to check (a setting, the clock) for a rejection ``reason`` (the ``check`` of :data:`REASONS`)."""
    return REASONS[reason].check


_PYJWT_REASONS: tuple[tuple[type[Exception], RejectionReason], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.InvalidAlgorithmError, "wrong_algorithm"),
    (jwt.InvalidIssuedAtError, "bad_claims"),
    (jwt.exceptions.InvalidSubjectError, "bad_claims"),  # sub and jti must be strings (PyJWT 2.10+)
    (jwt.exceptions.InvalidJTIError, "bad_claims"),
    (jwt.InvalidAudienceError, "bad_claims"),
    (jwt.DecodeError, "malformed"),
)


class TokenVerifier:
    """Verifies AuthRocket login tokens against a static key or a LoginRocket key set.

    :param jwt_key: an HS256 secret (up to 256 characters) or an RSA public key
        (PEM or bare base64). When given, it is the only key.
    :param loginrocket_url: used, when there is no ``jwt_key``, to fetch RS256
        keys from ``<origin>/connect/jwks``.
    :param leeway: seconds of clock skew allowed on ``exp``, ``nbf`` and ``iat``, and
        between LoginRocket's clock and this host's when a token of an unknown key is
        dated against the last key-set fetch (:class:`~flask_authrocket.jwks.JwksClient`).
    :param within: when set, reject tokens issued longer than this many seconds
        ago; the default for :meth:`verify`, which may be given its own.
    :param jwks_ttl: seconds a fetched key set is trusted before a refresh.
    :param jwks_min_interval: least seconds between key fetches caused by
        unknown ``kid`` values or failures.
    :param jwks_max_stale: seconds a key set that cannot be refreshed stands
        past ``jwks_ttl``; then its tokens are unavailable, never accepted.
    :param http_timeout: seconds a key fetch may take in total.
    :param cache_size: how many verified tokens to remember (0: none).
    :param ca_bundle: a CA file to check LoginRocket's certificate against when fetching
        keys (``AUTHROCKET_CA_BUNDLE``, for a TLS-inspecting proxy).

    Raises :class:`ConfigurationError` when there is neither a key nor a URL.

    >>> verifier = TokenVerifier(jwt_key="a-shared-secret-of-at-least-32-bytes!")
    >>> verifier.session_from_token("not-a-token") is None
    True
    """

    def __init__(
        self,
        *,
        jwt_key: str | None = None,
        loginrocket_url: str | None = None,
        leeway: float = 5,
        within: float | None = None,
        jwks_ttl: float = 3600,
        jwks_min_interval: float = 30,
        jwks_max_stale: float = DEFAULT_MAX_STALE,
        http_timeout: float = 5,
        cache_size: int = 1024,
        clock: Callable[[], float] = time.time,
        ca_bundle: str | None = None,
    ) -> None:
        self.keys: KeySource
        if jwt_key:
            self.keys = StaticKeySource(static_key(jwt_key))
        elif loginrocket_url:
            self.keys = JwksClient(
                loginrocket_url,
                ttl=jwks_ttl,
                min_interval=jwks_min_interval,
                timeout=http_timeout,
                max_stale=jwks_max_stale,
                ca_bundle=ca_bundle,
                leeway=leeway,
            )
        else:
            raise ConfigurationError(
                "Neither AUTHROCKET_JWT_KEY nor LOGINROCKET_URL is set, so no token can be verified; "
                "set LOGINROCKET_URL (Realm -> Integration -> Using LoginRocket)."
            )
        self.leeway = leeway
        self.within = within
        self._clock = clock
        self._static_key = self.keys.key if isinstance(self.keys, StaticKeySource) else None
        self._jwt = jwt.PyJWT()
        self._cache: BoundedLRU[str, tuple[Session, VerificationKey]] = BoundedLRU(cache_size)

    def verify(self, token: str, *, within: float | None = None) -> Session | Rejection:
        """Check ``token`` and return its :class:`Session`, or a :class:`Rejection`.

        Never raises for a bad token: every failure is a ``Rejection``.

        :param within: reject the token (``too_old``) when it was issued longer
            than this many seconds ago, as the Ruby gem's
            ``from_token(token, within: ...)``; it replaces the verifier's own
            ``within`` (``AUTHROCKET_TOKEN_WITHIN``) for this call. ``None``:
            the verifier's. A token verified earlier is checked against it too.

        >>> verifier = TokenVerifier(jwt_key="a-shared-secret-of-at-least-32-bytes!")
        >>> verifier.verify("not-a-token", within=300).reason
        'malformed'
        """
        if not isinstance(token, str) or not token:
            return Rejection("malformed", "The token is empty.")
        # A token verified earlier (it passed every check below once): the path of every request
        # of a logged-in user.
        if within is None:
            known = self.known(token)
            if known is not None:
                return known
        cached = self._cache.get(token)
        if cached is not None:
            session, key = cached
            if self._still_valid(session, within) and self.keys.still_trusted(key):
                return session
            self._cache.discard(token, cached)  # expired, or its key withdrawn: verified afresh below
        if len(token) > MAX_TOKEN_BYTES:
            return Rejection("oversize", f"The token is larger than {MAX_TOKEN_BYTES} bytes.")
        if not token.isascii():  # a JWT is ASCII: no need to parse this one
            if len(token.encode()) > MAX_TOKEN_BYTES:
                return Rejection("oversize", f"The token is larger than {MAX_TOKEN_BYTES} bytes.")
            return Rejection("malformed", "The token holds characters no JWT has.")
        try:
            session, key = self._decode(token, self.within if within is None else within)
        except _Rejected as rejected:
            logger.debug("Rejected a token: %s", rejected.rejection.message)
            return rejected.rejection
        self._cache.put(token, (session, key))
        return session

    def known(self, token: str) -> Session | None:
        """The session of ``token`` when this verifier verified it earlier and it still holds, else ``None``.

        One dict lookup and one clock reading: the request hook's first step for a login
        cookie (every request of a logged-in browser), before any parsing. It verifies
        nothing itself: ``None`` means "not known here", for :meth:`verify` to decide, never
        that the token is bad. With ``within`` (``AUTHROCKET_TOKEN_WITHIN``) set, every token
        goes through :meth:`verify`, which checks its age.
        """
        cached = self._cache.get(token)
        if cached is None or self.within is not None:
            return None
        session, key = cached
        # A static key is trusted for the process's life: no call to ask it.
        if self._clock() < session.expires_at + self.leeway and (
            key is self._static_key or self.keys.still_trusted(key)
        ):
            return session
        return None

    def session_from_token(self, token: str, *, within: float | None = None) -> Session | None:
        """The session for ``token``, or ``None`` for any token that does not verify.

        ``within`` is as in :meth:`verify`.
        """
        result = self.verify(token, within=within)
        return result if isinstance(result, Session) else None

    @property
    def retry_after(self) -> int:
        """Seconds to suggest in ``Retry-After`` when keys were unavailable."""
        return self.keys.retry_after

    def _still_valid(self, session: Session, within: float | None) -> bool:
        now = self._clock()
        if now >= session.expires_at + self.leeway:
            return False
        if within is None:
            within = self.within
        return within is None or (session.created_at is not None and now - session.created_at <= within)

    def _decode(self, token: str, within: float | None) -> tuple[Session, VerificationKey]:
        if _COMPACT_JWS.fullmatch(token) is None:
            # Whatever PyJWT's release accepts: one token, one spelling.
            raise _Rejected("malformed", describe_rejection("malformed"))
        try:
            # A static key ignores the header; a key set reads its kid from the first segment alone.
            header = _read_header(token) if self.keys.reads_header else _EMPTY_HEADER
            key = self.keys.key_for(header, token)  # the token: its iat tells a new key from a withdrawn one
            claims = self._decode_claims(token, key)
            _check_issuer(claims)
            self._check_times(claims, within)
            session = session_from_claims(claims, token)
        except _Rejected:
            raise
        except UnknownKey as exc:
            raise _Rejected("unknown_kid", str(exc)) from exc
        except KeysUnavailable as exc:
            raise _Rejected("unavailable", str(exc), unavailable=True) from exc
        except ClaimsError as exc:
            raise _Rejected("bad_claims", f"The token's claims are unusable: {exc}.") from exc
        except jwt.InvalidTokenError as exc:
            raise _Rejected(_reason_for(exc), _message_for(exc)) from exc
        except (jwt.PyJWTError, UnsupportedAlgorithm) as exc:
            # The key, not the token (PyJWT's InvalidKeyError): the token is not known to be bad.
            raise _Rejected("unusable_key", describe_rejection("unusable_key"), unavailable=True) from exc
        except Exception as exc:
            # Defensive: nothing a token holds may become a 500.
            logger.debug("Verifying a token raised %s.", type(exc).__name__)
            raise _Rejected("malformed", "The token could not be parsed.") from exc
        return session, key

    def _check_times(self, claims: Mapping[str, Any], within: float | None) -> None:
        """``exp``, ``nbf``, ``iat`` and ``within``, against this verifier's clock, with leeway.

        PyJWT's own time checks are off (see :meth:`_decode_claims`) so that a
        first-seen token and a cached one are judged by the same clock.
        """
        times: dict[str, float] = {}
        for name in ("exp", "nbf", "iat"):
            value = claims.get(name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise _Rejected("malformed", f"The token's {name!r} claim is not a number of seconds.")
            times[name] = value
        now = self._clock()
        if now >= times["exp"] + self.leeway:
            raise _Rejected("expired", "The token has expired.")
        if times.get("nbf", now) > now + self.leeway or times.get("iat", now) > now + self.leeway:
            raise _Rejected("not_yet_valid", "The token is not valid yet (nbf or iat in the future).")
        if within is not None:
            if "iat" not in times:
                raise _Rejected("missing_claim", "The token has no 'iat' claim, needed for AUTHROCKET_TOKEN_WITHIN.")
            age = now - times["iat"]
            if age > within:
                raise _Rejected("too_old", f"The token was issued {int(age)} s ago, over the {within:g} s allowed.")

    def _decode_claims(self, token: str, key: VerificationKey) -> dict[str, Any]:
        # Times are checked by _check_times, with this verifier's clock; iss by
        # _check_issuer, which knows the older layout may leave it out.
        options: Any = {
            "require": ["exp"],
            "verify_aud": False,
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
        }
        return key.decode(self._jwt, token, leeway=self.leeway, options=options)


def _read_header(token: str) -> Mapping[str, Any]:
    """The header of ``token``, which matched ``_COMPACT_JWS``, read from its first segment alone.

    PyJWT's ``get_unverified_header`` checks every character of all three segments (again, after
    ``_COMPACT_JWS`` did) only to give back a ``kid``: that was a third of a first-seen token's
    cost. The usual header, a JSON object with no ``crit`` or ``b64`` whose ``kid`` (if any) is a
    string, is exactly what PyJWT would return; for anything else PyJWT reads it, so an odd
    header is accepted or refused as PyJWT does, with its exception and so the same rejection.
    """
    segment = token[: token.index(".")]
    # Every token a key signs carries the same header segment: its reading is remembered.
    known = _HEADERS.get(segment)
    if known is not None:
        return known
    try:  # bytes, as PyJWT gives them: json.loads then detects UTF-16 and UTF-32 as PyJWT's does
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, RecursionError):  # PyJWT raises DecodeError for these: let it say so
        header = None
    if type(header) is dict and "crit" not in header and "b64" not in header and isinstance(header.get("kid", ""), str):
        usual: Mapping[str, Any] = MappingProxyType(header)
        _HEADERS.put(segment, usual)
        return usual
    return jwt.get_unverified_header(token)


#: Header segments read by :func:`_read_header`, and what they say (read-only). A realm has a
#: few keys, so a few entries serve every token, and stay the most recently used; the bound only
#: matters against forgeries, which push out one another.
_HEADERS: BoundedLRU[str, Mapping[str, Any]] = BoundedLRU(64)


def _check_issuer(claims: Mapping[str, Any]) -> None:
    """``iss`` is AuthRocket's; only a token in the older layout (``uid``, no ``sub``) may leave it out."""
    issuer = claims.get("iss")
    if issuer is None:  # absent, or null: PyJWT's "require" reads both as missing
        if is_legacy_layout(claims):
            return
        raise _Rejected("missing_claim", "The token lacks the required 'iss' claim.")
    if issuer != ISSUER:
        raise _Rejected("wrong_issuer", f"The token's issuer is not {ISSUER}.")


class _Rejected(Exception):
    def __init__(self, reason: RejectionReason, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.rejection = Rejection(reason, message, unavailable)


def _reason_for(exc: jwt.InvalidTokenError) -> RejectionReason:
    for kind, reason in _PYJWT_REASONS:
        if isinstance(exc, kind):
            return reason
    # PyJWT's bare InvalidTokenError: a header it will not read (a kid that is not a string, a crit it
    # does not support). The token is not one of the shapes a login token has.
    return "malformed"


def _message_for(exc: jwt.InvalidTokenError) -> str:
    # Plain words from the table, never PyJWT's own ("Invalid header string: 'utf-8' codec ...").
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"The token lacks the required {exc.claim!r} claim."
    return describe_rejection(_reason_for(exc))
