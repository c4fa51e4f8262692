"""What verifies a token: a static key, or the JWK set of a LoginRocket.

A :class:`VerificationKey` pins the algorithm. The token's own ``alg`` header
is never trusted to choose it: an HS256 secret only verifies HS256 tokens, an
RSA key only RS256 (or the RSA algorithm its JWK names). That closes the
classic "alg: none" and "HS256 signed with the RSA public key" forgeries.

Two key sources share one small interface (``key_for(header, token)`` and
``still_trusted(key)``): :class:`StaticKeySource` here, and
:class:`~flask_authrocket.jwks.JwksClient`, a LoginRocket's key set, in
:mod:`flask_authrocket.jwks`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, Protocol

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key
from cryptography.x509 import load_der_x509_certificate

from .errors import ConfigurationError
from .logs import logger

#: Keys longer than this are RSA public keys; shorter ones are HS256 secrets
#: (the rule of AuthRocket's own libraries).
HS256_SECRET_MAX_LENGTH = 256
#: PyJWT warns about HMAC secrets shorter than this; AuthRocket chooses the
#: secret, so we warn once at configuration instead of on every token.
HS256_SECRET_MIN_BYTES = 32
#: PyJWT warns, on every token, about RSA keys shorter than this; configuration warns once instead.
RSA_MIN_BITS = 2048
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
    #: Shorter than PyJWT likes: its warning is silenced per token (configuration warned once).
    short = False

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
        if not self.short:
            claims: dict[str, Any] = decoder.decode(token, self.key, algorithms=[self.algorithm], **options)
            return claims
        with short_secret_warning_ignored():  # PyJWT's warning once per token would flood: configuration warned
            quiet: dict[str, Any] = decoder.decode(token, self.key, algorithms=[self.algorithm], **options)
            return quiet


class SharedSecret(VerificationKey):
    """An HS256 shared secret (``AUTHROCKET_JWT_KEY`` of at most 256 characters)."""

    kind = "HS256 secret"

    def __init__(self, secret: str) -> None:
        self.algorithm = "HS256"
        self.key: bytes = secret.encode("utf-8")
        self.kid = None
        self.length = len(secret)
        #: Shorter than :data:`HS256_SECRET_MIN_BYTES`: guessable offline from one token.
        self.weak = self.short = len(self.key) < HS256_SECRET_MIN_BYTES

    def describe(self) -> str:
        """``"HS256 secret (40 chars)"``, with ``", weak"`` for a short one."""
        return f"HS256 secret ({self.length} chars{', weak' if self.weak else ''})"


class RsaPublicKey(VerificationKey):
    """An RSA public key: RS256 (or the RSA algorithm a JWK names)."""

    kind = "RSA public key"

    def __init__(self, key: RSAPublicKey, *, algorithm: str = "RS256", kid: str | None = None) -> None:
        self.algorithm = algorithm
        self.key: RSAPublicKey = key
        self.kid = kid
        self.short = key.key_size < RSA_MIN_BITS

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

    def key_for(self, header: Mapping[str, Any], token: str | None = None) -> VerificationKey:
        """The key for a token with this (unverified) header; ``token`` is the token itself, unverified.

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

    A public key is never a secret, whatever its length (anyone could sign HS256 tokens with its
    text): a value with PEM armour (``-----BEGIN``), or whose base64 decodes as a DER public key,
    must be an RSA public key, SubjectPublicKeyInfo or PKCS#1, as PEM or the bare base64 body that
    AuthRocket shows; only RS256 is accepted with it. Any other value of at most 256 characters is
    an HS256 shared secret.

    Raises :class:`ConfigurationError` naming ``setting`` for a key of another kind (EC, Ed25519,
    a private key ...) and for a longer value that is not an RSA public key.
    """
    value = value.strip()
    if not value:
        raise ConfigurationError(f"{setting} is empty; paste the key from Realm -> Integration, or unset it.")
    public_key = _public_key_from_text(value, setting)
    if public_key is None and len(value) <= HS256_SECRET_MAX_LENGTH:
        secret = SharedSecret(value)
        if secret.weak:
            logger.warning(
                "%s is shorter than %d bytes; HS256 with a short secret is weak.", setting, HS256_SECRET_MIN_BYTES
            )
        return secret
    if public_key is None:
        raise ConfigurationError(
            f"{setting} is longer than {HS256_SECRET_MAX_LENGTH} characters but is not an RSA public key; "
            "paste the key from Realm -> Integration"
        )
    if not isinstance(public_key, RSAPublicKey):
        kind = type(public_key).__name__.removesuffix("PublicKey").replace("EllipticCurve", "EC")
        raise ConfigurationError(
            f"{setting} is a public key but not an RSA one ({kind} public key); it takes an HS256 secret or "
            "an RSA public key (PEM or its bare base64 body): paste the key from Realm -> Integration."
        )
    if public_key.key_size < RSA_MIN_BITS:
        logger.warning(
            "%s is a %d-bit RSA key; keys under %d bits are weak.", setting, public_key.key_size, RSA_MIN_BITS
        )
    return RsaPublicKey(public_key)


def _public_key_from_text(value: str, setting: str) -> object | None:
    """The public key ``value`` holds as PEM or bare base64 DER; ``None`` when it holds none (a secret)."""
    if "-----BEGIN" in value:
        try:
            return load_pem_public_key(value.encode("ascii"))
        except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm) as exc:
            what = "a private key, which must never leave the signer" if "PRIVATE KEY" in value else "PEM"
            raise ConfigurationError(
                f"{setting} is {what}, not an RSA public key; paste the key from Realm -> Integration"
            ) from exc
    try:  # validate=True: a secret with characters outside base64 (AuthRocket's jsk_...) holds no key
        return load_der_public_key(base64.b64decode("".join(value.split()), validate=True))
    except (ValueError, UnsupportedAlgorithm):  # binascii.Error is a ValueError
        return None


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

    def key_for(self, header: Mapping[str, Any], token: str | None = None) -> VerificationKey:
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


@contextlib.contextmanager
def short_secret_warning_ignored() -> Iterator[None]:
    """Silence PyJWT's warning about a short key (an HS256 secret under 32 bytes, an RSA key under 2048 bits).

    PyJWT 2.11 and later warn (``InsecureKeyLengthWarning``) on every token; older releases do not,
    and then there is nothing to silence. Use it where the key was already warned about once.
    """
    with warnings.catch_warnings():
        category = getattr(jwt, "InsecureKeyLengthWarning", None)
        if category is not None:
            warnings.simplefilter("ignore", category)
        yield
