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
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key
from cryptography.x509 import load_der_x509_certificate

from .errors import ConfigurationError, KeysUnavailable

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


@dataclass(frozen=True, eq=False)
class VerificationKey:
    """One key, with the only algorithm it may verify.

    ``key`` is an HS256 secret (bytes) or a loaded RSA public key, parsed once
    so that no request pays for parsing PEM again.
    """

    algorithm: str
    key: bytes | RSAPublicKey
    kid: str | None = None

    def __repr__(self) -> str:  # never show a secret
        return f"VerificationKey(algorithm={self.algorithm!r}, kid={self.kid!r})"


class KeySource(Protocol):
    """Where a :class:`~flask_authrocket.tokens.TokenVerifier` gets its keys."""

    def key_for(self, header: Mapping[str, Any]) -> VerificationKey:
        """The key for a token with this (unverified) header.

        Raises :class:`UnknownKey` when the header names no key we know, and
        :class:`~flask_authrocket.errors.KeysUnavailable` when the keys could
        not be fetched.
        """

    def still_trusted(self, key: VerificationKey) -> bool:
        """Whether a token verified earlier with ``key`` may still be believed."""


class UnknownKey(Exception):
    """The token names a key (``kid``) that the key set does not hold."""


def static_key(value: str, *, setting: str = "AUTHROCKET_JWT_KEY") -> VerificationKey:
    """Turn the configured JWT key into a :class:`VerificationKey`.

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
        secret = value.encode("utf-8")
        if len(secret) < HS256_SECRET_MIN_BYTES:
            logger.warning(
                "%s is shorter than %d bytes; HS256 with a short secret is weak.", setting, HS256_SECRET_MIN_BYTES
            )
        return VerificationKey(algorithm="HS256", key=secret)
    return VerificationKey(algorithm="RS256", key=_rsa_key_from_text(value, setting))


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
    """Build a key from one JWK: RSA, given by ``x5c`` (base64 DER) or ``n``/``e``.

    ``x5c[0]`` may hold a DER SubjectPublicKeyInfo (as LoginRocket serves it) or
    a DER certificate. Raises ``ValueError`` for a JWK that cannot verify
    AuthRocket tokens (not RSA, not for signatures, unknown ``alg``).
    """
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError("JWK has no kid")
    if jwk.get("kty", "RSA") != "RSA":
        raise ValueError(f"JWK {kid} is not an RSA key")
    if jwk.get("use", "sig") != "sig":
        raise ValueError(f"JWK {kid} is not for signatures")
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
    return VerificationKey(algorithm=algorithm, key=key, kid=kid)


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

    def __init__(self, key: VerificationKey) -> None:
        self.key = key

    def key_for(self, header: Mapping[str, Any]) -> VerificationKey:
        """Always the configured key; its algorithm is the only one accepted."""
        return self.key

    def still_trusted(self, key: VerificationKey) -> bool:
        """A static key is trusted for as long as the process runs."""
        return key is self.key


def jwks_url(loginrocket_url: str) -> str:
    """``<LoginRocket origin>/connect/jwks``: where LoginRocket serves its keys."""
    parts = urlsplit(loginrocket_url)
    return f"{parts.scheme}://{parts.netloc}/connect/jwks"


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
        self.url = jwks_url(loginrocket_url)
        self.ttl = ttl
        self.min_interval = min_interval
        self.timeout = timeout
        self._http = session or requests.Session()
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
        try:
            keys = self._download()
        except (requests.RequestException, ValueError) as exc:
            if not self._failing:
                state = "keeping the keys already known" if self._keys else "no keys are known yet"
                logger.warning("Could not fetch LoginRocket keys from %s (%s); %s.", self.url, exc, state)
            self._failing = True
            return
        if self._failing:
            logger.info("LoginRocket keys fetched again from %s.", self.url)
        self._failing = False
        # Keep the very same key objects for unchanged kids so that cached
        # verifications of their tokens stay trusted; replaced or dropped kids
        # lose that trust.
        self._keys = {kid: _same_or_new(self._keys.get(kid), key) for kid, key in keys.items()}
        self._fetched_at = self._clock()

    def _download(self) -> dict[str, VerificationKey]:
        deadline = time.monotonic() + self.timeout
        with self._http.get(
            self.url, timeout=self.timeout, stream=True, headers={"Accept": "application/json"}
        ) as answer:
            answer.raise_for_status()
            body = bytearray()
            for chunk in answer.iter_content(8192):
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError("the key set is implausibly large")
                if time.monotonic() > deadline:
                    raise requests.Timeout(f"the key set took over {self.timeout} s")
        try:
            document = json.loads(bytes(body))
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
            raise ValueError("the key set is not JSON") from exc
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ValueError("the key set has no 'keys' list")
        keys: dict[str, VerificationKey] = {}
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            try:
                key = key_from_jwk(entry)
            except ValueError as exc:
                logger.debug("Skipping a JWK from %s: %s", self.url, exc)
                continue
            keys[key.kid or ""] = key
        if not keys:
            raise ValueError("the key set holds no usable RSA signing key")
        return keys


def _same_or_new(old: VerificationKey | None, new: VerificationKey) -> VerificationKey:
    if old is not None and old.algorithm == new.algorithm and _same_key_material(old.key, new.key):
        return old
    return new


def _same_key_material(a: bytes | RSAPublicKey, b: bytes | RSAPublicKey) -> bool:
    if isinstance(a, RSAPublicKey) and isinstance(b, RSAPublicKey):
        return a.public_numbers() == b.public_numbers()
    return a == b
