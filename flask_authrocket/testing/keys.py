"""Test keys: an RSA key pair and an HS256 secret made once per process, and the config that trusts them.

No pytest here: see :mod:`flask_authrocket.testing`.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import rsa

from ..issuer import TokenIssuer, generate_rsa_key

#: The LoginRocket URL of the static test configurations: URL builders work, nothing listens there.
LOGINROCKET_TEST_URL = "https://loginrocket.test/"
_NO_MANAGED_SESSIONS: dict[str, Any] = {"AUTHROCKET_MANAGED_SESSIONS": False}
#: The ``kid`` of the test RSA key that :meth:`TestKeys.default` holds.
DEFAULT_KID = "test-key-1"

_ALGORITHMS = ("RS256", "HS256")
_MODES = ("static", "hs256", "jwks")


_process_lock = threading.Lock()
_process_state: dict[str, Any] = {}


def _process_private_key() -> rsa.RSAPrivateKey:
    # One RSA key per test process: generating one takes a noticeable moment.
    with _process_lock:
        if "key" not in _process_state:
            _process_state["key"] = generate_rsa_key()
        key: rsa.RSAPrivateKey = _process_state["key"]
        return key


def _process_secret() -> str:
    # Random per process, so no secret that an app could be made to trust ships with the library.
    with _process_lock:
        return str(_process_state.setdefault("secret", secrets.token_urlsafe(36)))


class TestKeys:
    """A test key pair: an RSA key (RS256, with a ``kid``) and an HS256 secret.

    Tokens from :func:`make_token` are signed with them; :meth:`config` is the
    app config that trusts them. ``TestKeys()`` holds the key and secret made
    once per process (what :meth:`default` returns); pass ``private_key`` and
    ``secret`` for others, or call :meth:`generate` for new ones (another
    realm, a rotated key, a forger).

    >>> keys = TestKeys.default()
    >>> keys.config()["AUTHROCKET_JWT_KEY"].startswith("-----BEGIN PUBLIC KEY-----")
    True
    """

    __test__ = False  # a helper, not a test class, when a test module imports it

    def __init__(
        self, private_key: rsa.RSAPrivateKey | None = None, *, kid: str = DEFAULT_KID, secret: str | None = None
    ) -> None:
        self.rsa_issuer = TokenIssuer(private_key=private_key or _process_private_key(), kid=kid)
        self.hs_issuer = TokenIssuer(secret=secret or _process_secret())

    @classmethod
    def default(cls) -> TestKeys:
        """The process-wide test keys (kid ``"test-key-1"``): the default of every helper here."""
        return _default_keys()

    @classmethod
    def generate(cls, *, kid: str = "test-key-2") -> TestKeys:
        """New keys, unknown to any app until it is configured with them: a forger, or a rotated key."""
        return cls(generate_rsa_key(), kid=kid, secret=secrets.token_urlsafe(36))

    def __repr__(self) -> str:  # the secret stays out of test reports
        return f"TestKeys(kid={self.kid!r})"

    @property
    def kid(self) -> str:
        """The ``kid`` of the RSA key, as the JWK set names it."""
        return str(self.rsa_issuer.kid)

    @property
    def public_key_pem(self) -> str:
        """The RSA public key as PEM: what ``AUTHROCKET_JWT_KEY`` holds to trust it statically."""
        return self.rsa_issuer.public_key_pem()

    @property
    def hs256_secret(self) -> str:
        """The HS256 shared secret."""
        return str(self.hs_issuer.secret)

    @property
    def jwks(self) -> dict[str, Any]:
        """The JWK set holding the RSA public key, as LoginRocket serves it at ``/connect/jwks``."""
        return self.rsa_issuer.jwks()

    def issuer(self, algorithm: str = "RS256") -> TokenIssuer:
        """The :class:`~flask_authrocket.issuer.TokenIssuer` for ``"RS256"`` or ``"HS256"``."""
        if algorithm == "RS256":
            return self.rsa_issuer
        if algorithm == "HS256":
            return self.hs_issuer
        raise ValueError(f"algorithm must be one of {', '.join(_ALGORITHMS)}, not {algorithm!r}.")

    def config(
        self, mode: Literal["static", "hs256", "jwks"] = "static", *, jwks_url: str | None = None
    ) -> dict[str, Any]:
        """The app config that trusts these keys, to merge into your app's config.

        * ``"static"``: ``AUTHROCKET_JWT_KEY`` is the RSA public key (RS256 tokens);
        * ``"hs256"``: ``AUTHROCKET_JWT_KEY`` is the HS256 secret (HS256 tokens);
        * ``"jwks"``: no static key; ``LOGINROCKET_URL`` is ``jwks_url``, a
          :class:`JwksTestServer` serving these keys (RS256 tokens, found by ``kid``).

        The static modes set ``LOGINROCKET_URL`` to :data:`LOGINROCKET_TEST_URL`
        so that login redirects and URL builders work; nothing is fetched from it.
        Every mode turns ``AUTHROCKET_MANAGED_SESSIONS`` off: test tokens name
        sessions no Core API knows (test managed sessions against the development
        LoginRocket's API instead).
        Raises :class:`ValueError` for another mode, or ``"jwks"`` without ``jwks_url``.
        """
        if mode == "static":
            return {
                **_NO_MANAGED_SESSIONS,
                "LOGINROCKET_URL": LOGINROCKET_TEST_URL,
                "AUTHROCKET_JWT_KEY": self.public_key_pem,
            }
        if mode == "hs256":
            return {
                **_NO_MANAGED_SESSIONS,
                "LOGINROCKET_URL": LOGINROCKET_TEST_URL,
                "AUTHROCKET_JWT_KEY": self.hs256_secret,
            }
        if mode == "jwks":
            if not jwks_url:
                raise ValueError(
                    "config('jwks') needs jwks_url: start a JwksTestServer (or use the authrocket_jwks_server "
                    "fixture) and pass its url."
                )
            return jwks_config(jwks_url)
        raise ValueError(f"mode must be one of {', '.join(_MODES)}, not {mode!r}.")


def jwks_config(jwks_url: str) -> dict[str, Any]:
    """The app config that fetches keys from the key-set server at ``jwks_url`` (managed sessions off)."""
    return {**_NO_MANAGED_SESSIONS, "LOGINROCKET_URL": jwks_url, "AUTHROCKET_JWT_KEY": None}


def _default_keys() -> TestKeys:
    found = _process_state.get("default")
    if found is None:
        keys = TestKeys()  # outside the lock: TestKeys() takes it
        with _process_lock:
            found = _process_state.setdefault("default", keys)
    assert isinstance(found, TestKeys)
    return found
