"""The other side of :mod:`flask_authrocket.tokens`: signing AuthRocket-format tokens.

Used by the development LoginRocket and by the testing helpers, so that every
token they make is checked by the real verification path. It is never needed
by an app in production: AuthRocket signs the real tokens.

>>> issuer = TokenIssuer.with_new_rsa_key(kid="dev-1")
>>> token = issuer.issue(login_claims({"id": "usr_1", "email": "ada@example.com"}))
>>> from flask_authrocket.tokens import TokenVerifier
>>> verifier = TokenVerifier(jwt_key=issuer.public_key_pem())
>>> verifier.session_from_token(token).user.email
'ada@example.com'
"""

from __future__ import annotations

import base64
import functools
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import ConfigurationError
from .keys import b64url_uint
from .models import drop_none
from .tokens import ISSUER


def generate_rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    """A new RSA private key for signing RS256 tokens."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_key_to_pem(key: rsa.RSAPrivateKey) -> bytes:
    """The PKCS#8 PEM of ``key``, unencrypted: for a development instance folder only."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@functools.lru_cache(maxsize=8)
def private_key_from_pem(pem: bytes) -> rsa.RSAPrivateKey:
    """Load an RSA private key written by :func:`private_key_to_pem`.

    Loading checks the key, which costs about 40 ms; each development
    LoginRocket (and each test that builds one) loads the same PEM again, so
    the loaded key, which is immutable, is remembered.
    """
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError("the signing key is not an RSA private key")
    return key


class TokenIssuer:
    """Signs login tokens: RS256 with an RSA private key, or HS256 with a shared secret.

    Give exactly one of ``private_key`` and ``secret``. ``kid`` names the RSA
    key in the JWK set (a random one is chosen when omitted).
    """

    def __init__(
        self,
        *,
        private_key: rsa.RSAPrivateKey | None = None,
        secret: str | None = None,
        kid: str | None = None,
    ) -> None:
        if (private_key is None) == (secret is None):
            raise ConfigurationError("TokenIssuer needs exactly one of private_key (RS256) and secret (HS256).")
        self.private_key = private_key
        self.secret = secret
        self.kid = kid or ("key_" + secrets.token_hex(8) if private_key is not None else None)

    @classmethod
    def with_new_rsa_key(cls, *, kid: str | None = None, bits: int = 2048) -> TokenIssuer:
        """An RS256 issuer with a freshly generated key."""
        return cls(private_key=generate_rsa_key(bits), kid=kid)

    @property
    def algorithm(self) -> str:
        """``"RS256"`` or ``"HS256"``."""
        return "RS256" if self.private_key is not None else "HS256"

    def issue(self, claims: Mapping[str, Any], *, headers: Mapping[str, Any] | None = None) -> str:
        """Sign ``claims`` (``iss`` is added when absent) and return the token."""
        payload = {"iss": ISSUER, **claims}
        extra = dict(headers or {})
        if self.private_key is not None:
            extra.setdefault("kid", self.kid)
            return jwt.encode(payload, self.private_key, algorithm="RS256", headers=extra)
        assert self.secret is not None
        return jwt.encode(payload, self.secret, algorithm="HS256", headers=extra or None)

    def verification_key(self) -> str:
        """What an app sets as ``AUTHROCKET_JWT_KEY`` to trust this issuer statically."""
        return self.public_key_pem() if self.private_key is not None else str(self.secret)

    def public_key_pem(self) -> str:
        """The RSA public key as PEM (raises for an HS256 issuer)."""
        if self.private_key is None:
            raise ConfigurationError("an HS256 issuer has no public key")
        public = self.private_key.public_key()
        return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def jwk(self) -> dict[str, Any]:
        """The public JWK, as LoginRocket serves it: ``kid``, ``alg``, ``x5c`` and ``n``/``e``."""
        if self.private_key is None:
            raise ConfigurationError("an HS256 issuer has no JWK: its secret must stay secret")
        public = self.private_key.public_key()
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        numbers = public.public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "x5c": [base64.b64encode(der).decode("ascii")],
            "n": b64url_uint(numbers.n),
            "e": b64url_uint(numbers.e),
        }

    def jwks(self) -> dict[str, Any]:
        """A JWK set holding this issuer's key: the body of ``/connect/jwks``."""
        return {"keys": [self.jwk()]}


def login_claims(
    user: Mapping[str, Any],
    orgs: Sequence[Mapping[str, Any]] | None = None,
    *,
    session_id: str | None = None,
    realm_id: str | None = None,
    expires_in: int = 3600,
    issued_at: int | None = None,
    legacy: bool = False,
) -> dict[str, Any]:
    """Claims of an AuthRocket login token for ``user`` and their ``orgs``.

    ``user`` has ``id`` and optionally ``email``, ``username``, ``first_name``,
    ``last_name``, ``name``, ``email_verified``, ``reference``, ``custom``.
    Each org has ``id`` and optionally ``name``, ``membership_id``,
    ``permissions``, ``selected``, ``reference``, ``custom``. ``legacy=True``
    writes the older format (``uid``, ``un``, ``m`` ...). ``orgs=None`` leaves
    membership data out of the token entirely. ``realm_id`` is the ``rid``
    claim (``None`` leaves it out).
    """
    now = int(time.time()) if issued_at is None else issued_at
    claims: dict[str, Any] = {"iat": now, "exp": now + expires_in}
    if legacy:
        claims.update(
            drop_none(
                {
                    "uid": user["id"],
                    "un": user.get("username"),
                    "fn": user.get("first_name"),
                    "ln": user.get("last_name"),
                    "n": user.get("name"),
                    "cs": user.get("custom"),
                }
            )
        )
        if orgs is not None:
            claims["m"] = [
                drop_none(
                    {
                        "mid": org.get("membership_id"),
                        "p": list(org.get("permissions", [])),
                        "cs": org.get("membership_custom"),
                        "oid": org["id"],
                        "o": org.get("name"),
                        "ocs": org.get("custom"),
                        "selected": org.get("selected") or None,
                    }
                )
                for org in orgs
            ]
        return claims
    claims.update(
        drop_none(
            {
                "sid": session_id or "kss_" + secrets.token_hex(10),
                "sub": user["id"],
                "rid": realm_id,
                "preferred_username": user.get("username"),
                "given_name": user.get("first_name"),
                "family_name": user.get("last_name"),
                "name": user.get("name") or _full_name(user),
                "email": user.get("email"),
                "email_verified": user.get("email_verified"),
                "ref": user.get("reference"),
                "cs": user.get("custom"),
            }
        )
    )
    if orgs is not None:
        claims["orgs"] = [
            drop_none(
                {
                    "oid": org["id"],
                    "mid": org.get("membership_id") or "mb_" + secrets.token_hex(8),
                    "name": org.get("name"),
                    "perm": list(org.get("permissions", [])),
                    "selected": org.get("selected") or None,
                    "ref": org.get("reference"),
                    "cs": org.get("custom"),
                }
            )
            for org in orgs
        ]
    return claims


def _full_name(user: Mapping[str, Any]) -> str | None:
    parts = [user.get("first_name"), user.get("last_name")]
    name = " ".join(part for part in parts if part)
    return name or None
