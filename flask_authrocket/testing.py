"""Helpers for testing an app that uses flask-authrocket, and a pytest plugin.

Test an app's logins with real tokens, signed by a test key pair these helpers
manage, and checked by the app exactly as in production: nothing here turns
verification off or takes a shortcut around it. The app under test simply
trusts the test key, as it would trust your realm's key.

The plugin is registered when flask-authrocket is installed (an entry point in
the ``pytest11`` group), so its fixtures need no ``pytest_plugins`` line:

* ``authrocket_keys`` (session): the :class:`TestKeys` tokens are signed with;
* ``authrocket_config``: the app config that trusts those keys (a static RSA
  public key, and a LoginRocket URL for the URL builders);
* ``authrocket_jwks_server``: a :class:`JwksTestServer` on 127.0.0.1 serving
  the keys as a JWK set, and ``authrocket_jwks_config``, the config that makes
  an app fetch them from it;
* ``authrocket_client``: an :class:`AuthRocketTestClient` for your ``app``
  fixture, with ``login_as(...)`` and ``logout()``.

In ``conftest.py``, give your app factory the config::

    import pytest
    from myapp import create_app

    @pytest.fixture
    def app(authrocket_config):
        return create_app({"TESTING": True, **authrocket_config})

and in a test, log in as anyone, in any orgs, with any permissions::

    from flask_authrocket.testing import make_membership

    def test_admins_see_the_admin_page(authrocket_client):
        authrocket_client.login_as("grace@example.com", [make_membership("org_1", permissions=["site:admin"])])
        assert authrocket_client.get("/admin").status_code == 200

The module imports pytest, but its helpers need no pytest run: :func:`make_token`
makes a token for any use (``curl``, a ``requests`` session against a test
server), signed by :meth:`TestKeys.default`. ``import flask_authrocket`` never
imports this module.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient

from ._test_server import LoopbackTestServer
from .cookie import LoginCookie
from .extension import AuthRocket
from .issuer import TokenIssuer, generate_rsa_key, login_claims
from .models import drop_none
from .settings import Settings

__all__ = [
    "LOGINROCKET_TEST_URL",
    "AuthRocketTestClient",
    "JwksTestServer",
    "TestKeys",
    "make_membership",
    "make_token",
    "make_user",
]

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
            return _jwks_config(jwks_url)
        raise ValueError(f"mode must be one of {', '.join(_MODES)}, not {mode!r}.")


def _jwks_config(jwks_url: str) -> dict[str, Any]:
    return {**_NO_MANAGED_SESSIONS, "LOGINROCKET_URL": jwks_url, "AUTHROCKET_JWT_KEY": None}


def _default_keys() -> TestKeys:
    found = _process_state.get("default")
    if found is None:
        keys = TestKeys()  # outside the lock: TestKeys() takes it
        with _process_lock:
            found = _process_state.setdefault("default", keys)
    assert isinstance(found, TestKeys)
    return found


# -- tokens -------------------------------------------------------------------------


def make_user(
    id: str = "usr_test",
    *,
    email: str | None = None,
    first_name: str | None = "Test",
    last_name: str | None = "User",
    username: str | None = None,
    name: str | None = None,
    email_verified: bool | None = True,
    reference: str | None = None,
    custom: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A user for :func:`make_token` and ``login_as``: a mapping of the user's facts.

    ``email`` defaults to one made from the id (``usr_test`` -> ``test@example.com``).
    Values left ``None`` are left out of the token.

    >>> make_user("usr_grace", first_name="Grace", last_name="Hopper")["email"]
    'grace@example.com'
    """
    if email is None:
        email = f"{id.removeprefix('usr_')}@example.com"
    return drop_none(
        {
            "id": id,
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "name": name,
            "email_verified": email_verified,
            "reference": reference,
            "custom": dict(custom) if custom is not None else None,
        }
    )


def make_membership(
    org_id: str,
    name: str | None = None,
    permissions: Iterable[str] = (),
    membership_id: str | None = None,
    *,
    selected: bool = False,
    reference: str | None = None,
    custom: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A membership of the org ``org_id`` granting ``permissions``, for ``orgs=`` of :func:`make_token`.

    ``selected=True`` makes it the current membership (else the first one is).
    ``membership_id`` defaults to one made from the user's and org's ids.

    >>> make_membership("org_acme", "Acme", ["site:admin"])["permissions"]
    ['site:admin']
    """
    if isinstance(permissions, str):
        raise TypeError(f"permissions is a list of names; write [{permissions!r}].")
    return drop_none(
        {
            "id": org_id,
            "name": name,
            "permissions": list(permissions),
            "membership_id": membership_id,
            "selected": selected or None,
            "reference": reference,
            "custom": dict(custom) if custom is not None else None,
        }
    )


def make_token(
    user: Mapping[str, Any] | str | None = None,
    orgs: Iterable[Mapping[str, Any] | str] | None = (),
    expires_in: int = 3600,
    *,
    legacy: bool = False,
    selected: str | None = None,
    session_id: str | None = None,
    issued_at: int | None = None,
    realm_id: str | None = "rl_test",
    keys: TestKeys | None = None,
    algorithm: str = "RS256",
    **claims: Any,
) -> str:
    """A real AuthRocket login token, signed by the test keys.

    :param user: a mapping like :func:`make_user`'s (``id`` required), a user
        id, or an email (the id is made from it); the default is
        ``make_user()``, ``usr_test``.
    :param orgs: the user's memberships: mappings like :func:`make_membership`'s
        (``{"id": "org_1", "name": "Acme", "permissions": ["site:admin"]}``) or
        org ids. ``None`` leaves membership data out of the token entirely (a
        realm whose JWT fields omit it); ``()`` says "no memberships".
    :param expires_in: seconds from ``issued_at`` (now) to ``exp``; negative
        for a token that has already expired.
    :param legacy: write AuthRocket's older token format (``uid``, ``m`` ...),
        which carries no email, no session id and no ``iss`` (``tk=`` and
        ``iss=`` add them), as AuthRocket's login-token guide lays it out.
    :param selected: the org id of the selected membership (the current one).
        Raises :class:`ValueError` when no membership has that org.
    :param session_id: the ``sid`` claim (a random ``kss_...`` by default).
    :param issued_at: the ``iat`` claim, in seconds since the epoch (now by default).
    :param realm_id: the ``rid`` claim (``None`` leaves it out).
    :param keys: the :class:`TestKeys` to sign with (:meth:`TestKeys.default`).
    :param algorithm: ``"RS256"`` (the RSA key) or ``"HS256"`` (the secret).
    :param claims: claims to add or replace, e.g. ``email_verified=False``;
        ``None`` removes a claim (``sid=None``).

    >>> from flask_authrocket.tokens import TokenVerifier
    >>> token = make_token("grace@example.com", [make_membership("org_1", permissions=["site:admin"])])
    >>> session = TokenVerifier(jwt_key=TestKeys.default().public_key_pem).session_from_token(token)
    >>> session.user.id, session.current_membership.permissions
    ('usr_grace', ('site:admin',))
    """
    if isinstance(orgs, (str, Mapping)):
        raise TypeError(f"orgs is a list of memberships or org ids; write [{orgs!r}].")
    person = _user_mapping(user)
    memberships = None if orgs is None else [_org_mapping(org, person["id"]) for org in orgs]
    if selected is not None:
        if not memberships or selected not in {org["id"] for org in memberships}:
            raise ValueError(f"selected={selected!r} names no org of the token's orgs; add it to orgs.")
        memberships = [{**org, "selected": org["id"] == selected} for org in memberships]
    payload = login_claims(
        person,
        memberships,
        session_id=session_id,
        realm_id=realm_id,
        expires_in=expires_in,
        issued_at=issued_at,
        legacy=legacy,
    )
    for claim, value in claims.items():
        if value is None:
            payload.pop(claim, None)
        else:
            payload[claim] = value
    signer = (keys or TestKeys.default()).issuer(algorithm)
    if legacy and "iss" not in payload:
        # TokenIssuer.issue adds the iss that the older layout does not have.
        if signer.private_key is not None:
            return jwt.encode(payload, signer.private_key, algorithm="RS256", headers={"kid": signer.kid})
        return jwt.encode(payload, str(signer.secret), algorithm="HS256")
    return signer.issue(payload)


def _user_mapping(user: Mapping[str, Any] | str | None) -> dict[str, Any]:
    if user is None:
        return make_user()
    if isinstance(user, str):
        if "@" in user:
            local = user.split("@", 1)[0]
            return make_user("usr_" + (re.sub(r"[^a-z0-9]+", "_", local.lower()).strip("_") or "user"), email=user)
        return make_user(user)
    if not isinstance(user, Mapping) or not user.get("id"):
        raise TypeError(f"user must be a user id, an email or a mapping with an 'id' (see make_user()), not {user!r}.")
    return dict(user)


def _org_mapping(org: Mapping[str, Any] | str, user_id: str) -> dict[str, Any]:
    found = make_membership(org) if isinstance(org, str) else dict(org)
    if not isinstance(found.get("id"), str):
        raise TypeError(f"each org is an org id or a mapping with an 'id' (see make_membership()), not {org!r}.")
    # A stable membership id, so tests can assert on it.
    found.setdefault("membership_id", f"mb_{_id_suffix(user_id)}_{_id_suffix(found['id'])}")
    return found


def _id_suffix(value: str) -> str:
    return value.split("_", 1)[1] if "_" in value else value


# -- a JWK-set server ----------------------------------------------------------------


class JwksTestServer(LoopbackTestServer):
    """A JWK-set server on 127.0.0.1, as LoginRocket serves ``/connect/jwks``, that fails on demand.

    It serves the RSA keys in :attr:`keys` (the default keys when none are
    given), starts at once on a free port, stops at once, and counts its
    :attr:`fetches` (and all its :attr:`requests`). Use it as a context
    manager, or call :meth:`close`; break it, and mend it, while an app uses it::

        with JwksTestServer() as server:
            app = create_app({"TESTING": True, **server.config()})
            server.fail(503)      # answers 503 Service Unavailable
            server.hang()         # accepts, and never answers
            server.slow_body(1)   # headers at once, then a byte a second
            server.refuse()       # refuses connections, as a server that is down
            server.recover()      # serves the keys again

    Change :attr:`keys` to rotate keys while it runs; :meth:`serve_jwks` and
    :meth:`serve_body` serve hand-written or broken answers; :attr:`delay`
    holds every answer back.
    """

    counted_path = "/connect/jwks"

    def __init__(self, *keys: TestKeys | TokenIssuer) -> None:
        #: Whose keys the set holds: :class:`TestKeys`, or RS256 issuers; read on every fetch.
        self.keys: list[TestKeys | TokenIssuer] = list(keys) or [TestKeys.default()]
        super().__init__()

    def serve_jwks(self, *jwks: Any) -> None:
        """Serve exactly these JWK entries (dicts, or anything a broken set may hold) until :meth:`recover`."""
        self.serve_body(json.dumps({"keys": list(jwks)}).encode())

    def config(self) -> dict[str, Any]:
        """The app config that fetches keys from this server (:meth:`TestKeys.config` in ``"jwks"`` mode)."""
        return _jwks_config(self.url)

    def _healthy_body(self, path: str) -> bytes | None:
        if path != self.counted_path:
            return None
        issuers = [keys.rsa_issuer if isinstance(keys, TestKeys) else keys for keys in self.keys]
        return json.dumps({"keys": [issuer.jwk() for issuer in issuers]}).encode()


# -- a test client --------------------------------------------------------------------


class AuthRocketTestClient(FlaskClient):
    """Flask's test client, plus :meth:`login_as` and :meth:`logout`.

    The ``authrocket_client`` fixture gives one for your ``app`` fixture. For
    any other app, make it the app's test client class::

        app.test_client_class = AuthRocketTestClient
        client = app.test_client()

    The tokens it logs in with are real, and the app verifies them as it
    verifies every token: the app must trust the client's keys
    (:attr:`authrocket_keys`), e.g. through ``authrocket_config``.
    """

    def __init__(self, *args: Any, authrocket_keys: TestKeys | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The keys :meth:`login_as` signs with.
        self.authrocket_keys = authrocket_keys or TestKeys.default()
        self._login_cookie: tuple[str, str, str] | None = None

    def login_as(
        self,
        user: Mapping[str, Any] | str | None = None,
        orgs: Iterable[Mapping[str, Any] | str] | None = (),
        *,
        mode: Literal["cookie", "bearer"] = "cookie",
        **token_options: Any,
    ) -> str:
        """Log this client in as ``user`` in ``orgs``, and return the token.

        ``user``, ``orgs`` and ``token_options`` (``selected=``,
        ``expires_in=``, ``legacy=``, claims ...) are those of
        :func:`make_token`. The algorithm follows the app's
        ``AUTHROCKET_JWT_KEY``: HS256 when it is the keys' secret, else RS256.

        ``mode="cookie"`` stores the token in the app's login cookie
        (``AUTHROCKET_COOKIE_NAME``, its path and domain), as a browser would
        after a login; ``mode="bearer"`` sends ``Authorization: Bearer <token>``
        with every following request of this client (a header given to one
        request wins), as an API client would. A new ``login_as`` replaces the
        previous login.

        Raises :class:`RuntimeError` when AuthRocket is not registered on the
        app, or for cookie mode when the app stores no cookie.
        """
        if mode not in ("cookie", "bearer"):
            raise ValueError(f"mode must be 'cookie' or 'bearer', not {mode!r}.")
        settings = self._settings()
        token_options.setdefault("keys", self.authrocket_keys)
        if "algorithm" not in token_options:
            signing_keys: TestKeys = token_options["keys"]
            token_options["algorithm"] = "HS256" if settings.jwt_key == signing_keys.hs256_secret else "RS256"
        token = make_token(user, orgs, **token_options)
        self.logout()
        if mode == "bearer":
            self.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
            return token
        cookie = LoginCookie.from_settings(settings)
        if not cookie.name:
            raise RuntimeError(
                "The app stores no login cookie (AUTHROCKET_COOKIE_NAME is None); use login_as(..., mode='bearer')."
            )
        server_name = str(self.application.config.get("SERVER_NAME") or "localhost")
        domain = (cookie.domain or "").lstrip(".") or server_name.split(":", 1)[0].lower()
        self.set_cookie(cookie.name, token, domain=domain, origin_only=not cookie.domain, path=cookie.path)
        self._login_cookie = (cookie.name, domain, cookie.path)
        return token

    def logout(self) -> None:
        """Forget the login of :meth:`login_as`: drop its cookie and stop sending its Bearer header.

        This is the client side only; to test the app's logout route, request it
        (``client.get("/logout")``).
        """
        self.environ_base.pop("HTTP_AUTHORIZATION", None)
        if self._login_cookie is not None:
            name, domain, path = self._login_cookie
            self.delete_cookie(name, domain=domain, path=path)
            self._login_cookie = None

    def _settings(self) -> Settings:
        app = self.application
        extension: AuthRocket | None = app.extensions.get("authrocket")
        if extension is None:
            raise RuntimeError(
                "AuthRocket is not registered on this app, so it would ignore the login; "
                "call AuthRocket(app) or authrocket.init_app(app) in the app factory."
            )
        with app.app_context():
            return extension.settings


# -- the pytest plugin ------------------------------------------------------------------


@pytest.fixture(scope="session")
def authrocket_keys() -> TestKeys:
    """The test keys that tokens are signed with (:meth:`TestKeys.default`); override it to use others."""
    return TestKeys.default()


@pytest.fixture
def authrocket_config(authrocket_keys: TestKeys) -> dict[str, Any]:
    """The app config that trusts ``authrocket_keys`` statically: merge it into your app's config."""
    return authrocket_keys.config("static")


@pytest.fixture
def authrocket_jwks_server(authrocket_keys: TestKeys) -> Iterator[JwksTestServer]:
    """A running :class:`JwksTestServer` on 127.0.0.1 serving ``authrocket_keys``."""
    with JwksTestServer(authrocket_keys) as server:
        yield server


@pytest.fixture
def authrocket_jwks_config(authrocket_keys: TestKeys, authrocket_jwks_server: JwksTestServer) -> dict[str, Any]:
    """The app config that fetches ``authrocket_keys`` from ``authrocket_jwks_server``, as from LoginRocket."""
    return authrocket_keys.config("jwks", jwks_url=authrocket_jwks_server.url)


@pytest.fixture
def authrocket_client(request: pytest.FixtureRequest, authrocket_keys: TestKeys) -> AuthRocketTestClient:
    """An :class:`AuthRocketTestClient` for the Flask app of your ``app`` fixture."""
    try:
        app = request.getfixturevalue("app")
    except pytest.FixtureLookupError as exc:
        if exc.argname != "app":
            raise
        pytest.fail(
            "authrocket_client tests the app of an `app` fixture, and there is none. Add one to conftest.py:\n\n"
            "    @pytest.fixture\n"
            "    def app(authrocket_config):\n"
            '        return create_app({"TESTING": True, **authrocket_config})\n',
            pytrace=False,
        )
    if not isinstance(app, Flask):
        pytest.fail(f"authrocket_client needs the `app` fixture to return a Flask app, not {app!r}.", pytrace=False)
    return AuthRocketTestClient(app, app.response_class, use_cookies=True, authrocket_keys=authrocket_keys)
