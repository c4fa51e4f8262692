"""What verifies a token: a static key, or the JWK set of a LoginRocket.

A :class:`VerificationKey` pins the algorithm. The token's own ``alg`` header
is never trusted to choose it: an HS256 secret only verifies HS256 tokens, an
RSA key only RS256 (or the RSA algorithm its JWK names). That closes the
classic "alg: none" and "HS256 signed with the RSA public key" forgeries.

Two key sources share one small interface (``key_for(header)`` and
``still_trusted(key)``): :class:`StaticKeySource` and :class:`JwksClient`.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key
from cryptography.x509 import load_der_x509_certificate

from .errors import ConfigurationError, KeysUnavailable
from .fetch import FetchError, get_json, new_session

if TYPE_CHECKING:
    import requests

logger = logging.getLogger("flask_authrocket")

#: Keys longer than this are RSA public keys; shorter ones are HS256 secrets
#: (the rule of AuthRocket's own libraries).
HS256_SECRET_MAX_LENGTH = 256
#: PyJWT warns about HMAC secrets shorter than this; AuthRocket chooses the
#: secret, so we warn once at configuration instead of on every token.
HS256_SECRET_MIN_BYTES = 32
#: The RSA algorithms a JWK may name. Symmetric keys never come from a key set.
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512"})
#: A JWK-set answer larger than this is not a key set.
MAX_JWKS_BYTES = 512 * 1024


class VerificationKey(ABC):
    """One key, with the only algorithm it may verify: the base of the key kinds.

    A key kind is a small class (:class:`SharedSecret`, :class:`RsaPublicKey`,
    :class:`JwksKey`) that knows its algorithm, how PyJWT verifies with it
    (:meth:`decode`), and how to describe itself for ``flask authrocket check``
    and ``decode``. ``key`` is what PyJWT gets, parsed once so that no request
    pays for parsing PEM again. Adding a kind (ES256, say) is one class here,
    an entry in :data:`JWK_KINDS` when key sets may serve it, and its signing
    side in :mod:`flask_authrocket.issuer`.
    """

    algorithm: str
    key: Any
    kid: str | None
    #: The kind of key in two or three words, for messages: ``"HS256 secret"``.
    kind = "key"
    #: Too short to resist an offline guess (only a shared secret can be).
    weak = False

    def __repr__(self) -> str:  # never show a secret
        return f"{type(self).__name__}(algorithm={self.algorithm!r}, kid={self.kid!r})"

    @abstractmethod
    def describe(self) -> str:
        """What this key is, in a few words, never what it holds."""

    def same_material(self, other: VerificationKey) -> bool:
        """Whether ``other`` verifies exactly what this key verifies (a refetched, unchanged key)."""
        return type(other) is type(self) and other.algorithm == self.algorithm and other.key == self.key

    def decode(self, decoder: jwt.PyJWT, token: str, **options: Any) -> dict[str, Any]:
        """Verify ``token``'s signature with this key and its algorithm only; return the claims."""
        claims: dict[str, Any] = decoder.decode(token, self.key, algorithms=[self.algorithm], **options)
        return claims


class SharedSecret(VerificationKey):
    """An HS256 shared secret (``AUTHROCKET_JWT_KEY`` of at most 256 characters)."""

    kind = "HS256 secret"

    def __init__(self, secret: str) -> None:
        self.algorithm = "HS256"
        self.key: bytes = secret.encode("utf-8")
        self.kid = None
        self.length = len(secret)
        #: Shorter than :data:`HS256_SECRET_MIN_BYTES`: guessable offline from one token.
        self.weak = len(self.key) < HS256_SECRET_MIN_BYTES

    def describe(self) -> str:
        """``"HS256 secret (40 chars)"``, with ``", weak"`` for a short one."""
        return f"HS256 secret ({self.length} chars{', weak' if self.weak else ''})"

    def decode(self, decoder: jwt.PyJWT, token: str, **options: Any) -> dict[str, Any]:
        """As :meth:`VerificationKey.decode`; PyJWT's warning about short secrets is not repeated per
        token (AuthRocket chose the secret, and configuration warned once)."""
        if not self.weak:
            return super().decode(decoder, token, **options)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
            return super().decode(decoder, token, **options)


class RsaPublicKey(VerificationKey):
    """An RSA public key: RS256 (or the RSA algorithm a JWK names)."""

    kind = "RSA public key"

    def __init__(self, key: RSAPublicKey, *, algorithm: str = "RS256", kid: str | None = None) -> None:
        self.algorithm = algorithm
        self.key: RSAPublicKey = key
        self.kid = kid

    def describe(self) -> str:
        """``"RSA public key (2048 bits)"``."""
        return f"RSA public key ({self.key.key_size} bits)"

    def same_material(self, other: VerificationKey) -> bool:
        """Same kind, algorithm and public numbers."""
        return (
            type(other) is type(self)
            and other.algorithm == self.algorithm
            and other.key.public_numbers() == self.key.public_numbers()
        )


class JwksKey(RsaPublicKey):
    """An RSA key served in a LoginRocket JWK set, chosen by ``kid``."""

    kind = "LoginRocket key"

    def describe(self) -> str:
        """``"LoginRocket key 'k1' (RSA 2048 bits, RS256)"``."""
        return f"LoginRocket key {self.kid!r} (RSA {self.key.key_size} bits, {self.algorithm})"

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any], kid: str) -> JwksKey:
        """The key of one RSA JWK, given by ``x5c`` (base64 DER key or certificate) or ``n``/``e``."""
        algorithm = jwk.get("alg", "RS256")
        if not isinstance(algorithm, str) or algorithm not in RSA_ALGORITHMS:
            raise ValueError(f"JWK {kid} names algorithm {algorithm!r}")
        x5c = jwk.get("x5c")
        if isinstance(x5c, list) and x5c and isinstance(x5c[0], str):
            key = _rsa_key_from_der(_b64decode(x5c[0], urlsafe=False))
        elif isinstance(jwk.get("n"), str) and isinstance(jwk.get("e"), str):
            numbers = RSAPublicNumbers(
                e=int.from_bytes(_b64decode(jwk["e"], urlsafe=True), "big"),
                n=int.from_bytes(_b64decode(jwk["n"], urlsafe=True), "big"),
            )
            key = numbers.public_key()
        else:
            raise ValueError(f"JWK {kid} has neither x5c nor n/e")
        return cls(key, algorithm=algorithm, kid=kid)


#: The key kinds a JWK set may serve, by ``kty``: symmetric keys never come from a key set.
JWK_KINDS: Mapping[str, Callable[[Mapping[str, Any], str], VerificationKey]] = MappingProxyType(
    {"RSA": JwksKey.from_jwk}
)


class KeySource(Protocol):
    """Where a :class:`~flask_authrocket.tokens.TokenVerifier` gets its keys."""

    #: Whether :meth:`key_for` looks at the token's header (a static key does not).
    reads_header: bool

    def key_for(self, header: Mapping[str, Any]) -> VerificationKey:
        """The key for a token with this (unverified) header.

        Raises :class:`UnknownKey` when the header names no key we know, and
        :class:`~flask_authrocket.errors.KeysUnavailable` when the keys could
        not be fetched.
        """

    def still_trusted(self, key: VerificationKey) -> bool:
        """Whether a token verified earlier with ``key`` may still be believed."""

    @property
    def retry_after(self) -> int:
        """Seconds a client should wait before a token that was unavailable may be checked again."""

    def describe_key_for(self, header: Mapping[str, Any]) -> str:
        """Which key a token with this header is checked with, in words (for ``check`` and ``decode``)."""

    def expected_algorithm(self, header: Mapping[str, Any]) -> str:
        """The algorithm a token with this header must be signed with."""


class UnknownKey(Exception):
    """The token names a key (``kid``) that the key set does not hold."""


def static_key(value: str, *, setting: str = "AUTHROCKET_JWT_KEY") -> VerificationKey:
    """Turn the configured JWT key into a :class:`SharedSecret` or :class:`RsaPublicKey`.

    A value longer than 256 characters is an RSA public key, as PEM or as the
    bare base64 body that AuthRocket shows (the armour is added); only RS256
    is accepted with it. A shorter value is an HS256 shared secret.

    Raises :class:`ConfigurationError` naming ``setting`` when a long value is
    not an RSA public key.
    """
    value = value.strip()
    if not value:
        raise ConfigurationError(f"{setting} is empty; paste the key from Realm -> Integration, or unset it.")
    if len(value) <= HS256_SECRET_MAX_LENGTH:
        secret = SharedSecret(value)
        if secret.weak:
            logger.warning(
                "%s is shorter than %d bytes; HS256 with a short secret is weak.", setting, HS256_SECRET_MIN_BYTES
            )
        return secret
    return RsaPublicKey(_rsa_key_from_text(value, setting))


def _rsa_key_from_text(value: str, setting: str) -> RSAPublicKey:
    pem = value
    if "-----BEGIN" not in value:
        body = "".join(value.split())
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        pem = "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"
    try:
        key = load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
        raise ConfigurationError(
            f"{setting} is longer than {HS256_SECRET_MAX_LENGTH} characters but is not an RSA public key; "
            "paste the key from Realm -> Integration"
        ) from exc
    if not isinstance(key, RSAPublicKey):
        raise ConfigurationError(f"{setting} is a public key but not an RSA one; AuthRocket signs with RS256.")
    return key


def key_from_jwk(jwk: Mapping[str, Any]) -> VerificationKey:
    """Build a key from one JWK of a key set, by its ``kty`` (see :data:`JWK_KINDS`).

    An RSA JWK gives its key by ``x5c[0]`` (a DER SubjectPublicKeyInfo, as
    LoginRocket serves it, or a DER certificate) or by ``n``/``e``. Raises
    ``ValueError`` for a JWK that cannot verify AuthRocket tokens (no kid, a
    kind we do not take, not for signatures, unknown ``alg``).
    """
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError("JWK has no kid")
    kind = jwk.get("kty", "RSA")
    build = JWK_KINDS.get(kind) if isinstance(kind, str) else None
    if build is None:
        raise ValueError(f"JWK {kid} is not an RSA key")
    if jwk.get("use", "sig") != "sig":
        raise ValueError(f"JWK {kid} is not for signatures")
    return build(jwk, kid)


def b64url_uint(value: int) -> str:
    """An unsigned integer as JWKs write it (RFC 7518: big-endian bytes, base64url without padding)."""
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str, *, urlsafe: bool) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    try:
        if urlsafe:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("bad base64 in JWK") from exc


def _rsa_key_from_der(der: bytes) -> RSAPublicKey:
    try:
        key: object = load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        try:
            key = load_der_x509_certificate(der).public_key()
        except ValueError as exc:
            raise ValueError("x5c holds neither a public key nor a certificate") from exc
    if not isinstance(key, RSAPublicKey):
        raise ValueError("x5c key is not RSA")
    return key


class StaticKeySource:
    """A single configured key: HS256 secret or RS256 public key."""

    reads_header = False

    def __init__(self, key: VerificationKey, *, setting: str = "AUTHROCKET_JWT_KEY") -> None:
        self.key = key
        self.setting = setting

    def key_for(self, header: Mapping[str, Any]) -> VerificationKey:
        """Always the configured key; its algorithm is the only one accepted."""
        return self.key

    def still_trusted(self, key: VerificationKey) -> bool:
        """A static key is trusted for as long as the process runs."""
        return key is self.key

    @property
    def retry_after(self) -> int:
        """A static key is never unavailable: one second."""
        return 1

    def describe_key_for(self, header: Mapping[str, Any]) -> str:
        """``"AUTHROCKET_JWT_KEY (the app's HS256 secret)"``."""
        return f"{self.setting} (the app's {self.key.kind})"

    def expected_algorithm(self, header: Mapping[str, Any]) -> str:
        """The configured key's algorithm, whatever the header says."""
        return self.key.algorithm


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
    skipped: list[str] = field(default_factory=list)
    error: str | None = None
    fix: str | None = None
    unreachable: bool = False


#: What a failed key-set fetch means for the app, and how to fix it, by :class:`FetchError` kind.
_FETCH_FIXES = {
    "timeout": "check LOGINROCKET_URL and the network; AUTHROCKET_HTTP_TIMEOUT sets the wait.",
    "unreachable": "check LOGINROCKET_URL and this machine's network (DNS, firewall, proxy).",
    "status": "LOGINROCKET_URL must be your LoginRocket URL (Realm -> Integration -> Using LoginRocket, "
    "e.g. https://myapp.e2.loginrocket.com/); its key set is at /connect/jwks.",
    "oversize": "check LOGINROCKET_URL.",
    "not_json": "check LOGINROCKET_URL: it should be the LoginRocket URL, not the app's or the API's.",
}


def _fetch_key_set(http: requests.Session, url: str, timeout: float) -> tuple[dict[str, VerificationKey], list[str]]:
    """Download and parse the JWK set at ``url``, bounded by ``timeout`` seconds in total.

    The one implementation of the fetch, for :class:`JwksClient` and for the
    diagnosis: the usable keys by kid, and why each other entry was skipped.
    Raises :class:`KeySetError` (a ``ValueError``) saying what went wrong and
    how to fix it.
    """
    try:
        document = get_json(http, url, timeout=timeout, max_bytes=MAX_JWKS_BYTES)
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
    loginrocket_url: str, *, timeout: float = 5, session: requests.Session | None = None
) -> KeySetDiagnosis:
    """Fetch the key set of ``loginrocket_url`` once and say what is in it, or what went wrong.

    The same download and parsing as :class:`JwksClient` (one implementation,
    one set of limits), but it explains instead of keeping quiet. It never
    raises for network or content errors.
    """
    url = jwks_url(loginrocket_url)
    result = KeySetDiagnosis(url)
    http = session or new_session()
    started = time.monotonic()
    try:
        keys, result.skipped = _fetch_key_set(http, url, timeout)
    except KeySetError as exc:
        result.error, result.fix, result.unreachable = str(exc), exc.fix, exc.unreachable
        return result
    finally:
        result.milliseconds = round((time.monotonic() - started) * 1000)
        if session is None:
            http.close()
    result.kids = list(keys)
    return result


class JwksClient:
    """The JWK set of one LoginRocket, fetched over HTTP and cached.

    * A fetched set is trusted for ``ttl`` seconds, then refreshed.
    * A token naming an unknown ``kid`` causes a refetch, but fetches (for an
      unknown kid or after a failure) happen at most once per
      ``min_interval`` seconds, so forged kids cannot make us hammer LoginRocket.
    * Concurrent requests that miss at the same moment wait for one fetch.
      Requests that hold a merely stale key do not wait: they use it while one
      request refreshes.
    * A failed refresh keeps the keys already known (stale-if-error). The
      failure is logged once, not per request; recovery is logged too.
    * Every fetch is bounded by ``timeout`` seconds in total.

    ``session`` may be a :class:`requests.Session` to share; ``clock`` is a
    monotonic clock in seconds, for tests of the timing rules.
    """

    reads_header = True

    def __init__(
        self,
        loginrocket_url: str,
        *,
        ttl: float = 3600,
        min_interval: float = 30,
        timeout: float = 5,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.loginrocket_url = loginrocket_url
        self.url = jwks_url(loginrocket_url)
        self.ttl = ttl
        self.min_interval = min_interval
        self.timeout = timeout
        self._http = session  # built on the first fetch: importing requests costs every worker's boot
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, VerificationKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._failing = False
        #: Number of HTTP fetches attempted; for diagnostics and tests.
        self.fetch_count = 0

    def key_for(self, header: Mapping[str, Any]) -> VerificationKey:
        """The key named by the token's ``kid``, fetching the set when needed."""
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise UnknownKey("the token has no kid; LoginRocket keys are chosen by kid")
        key = self._keys.get(kid)
        if key is not None and self._is_fresh(self._clock()):
            return key
        return self._refresh_for(kid, key)

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
        return diagnose_key_set(self.loginrocket_url, timeout=self.timeout, session=self._http)

    def _is_fresh(self, now: float) -> bool:
        return self._fetched_at is not None and now - self._fetched_at < self.ttl

    def _may_fetch(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.min_interval

    def _refresh_for(self, kid: str, known: VerificationKey | None) -> VerificationKey:
        # A request holding a stale key never waits for another's fetch.
        if not self._lock.acquire(blocking=known is None):
            return known  # type: ignore[return-value]  # blocking=False only when known
        try:
            now = self._clock()
            key = self._keys.get(kid)
            if key is not None and self._is_fresh(now):
                return key  # another request fetched it while we waited
            if self._may_fetch(now):
                self._fetch(now)
                key = self._keys.get(kid)
            if key is not None:
                return key
            if self._failing or self._fetched_at is None:
                raise KeysUnavailable(f"the LoginRocket key set at {self.url} could not be fetched")
            raise UnknownKey(f"kid {kid!r} is not in the LoginRocket key set")
        finally:
            self._lock.release()

    def _fetch(self, now: float) -> None:
        self._attempted_at = now
        self.fetch_count += 1
        if self._http is None:
            self._http = new_session()
        try:
            keys, skipped = _fetch_key_set(self._http, self.url, self.timeout)
        except KeySetError as exc:
            if not self._failing:
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
