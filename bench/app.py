"""The apps ``make bench`` serves under gunicorn: one factory, one app per configuration.

Every app answers ``GET /hello`` with the same body, ``Hello, <user id>!``:

* ``bare`` — a plain Flask app with no extension at all: the baseline;
* ``hs256``, ``rs256``, ``dynamic`` — ``AuthRocket(app)`` and the route behind
  ``@require_login``, the body built from ``current_user``. Keys come from the
  environment as in production: ``AUTHROCKET_JWT_KEY`` (the HS256 secret or the
  RSA public key PEM) or, for ``dynamic``, ``LOGINROCKET_URL`` alone, whose
  ``/connect/jwks`` the worker fetches;
* ``managed`` — as ``dynamic`` (``LOGINROCKET_URL`` is a development
  LoginRocket), plus managed sessions: ``AUTHROCKET_MANAGED_SESSIONS`` is on,
  ``AUTHROCKET_URL`` and ``AUTHROCKET_API_KEY`` come from the environment, and
  every verified token's session is checked through the Core API, the answer
  kept in the default in-process cache for ``AUTHROCKET_SESSION_CHECK_TTL``
  seconds (300, or the factory's ``session_check_ttl``);
* ``pyjwt-hs256``, ``pyjwt-rs256`` — no extension: the route reads the cookie
  and calls ``jwt.decode`` itself on every request, the way a hand-written
  check usually looks (the key is parsed once, at start-up).

Gunicorn loads one with a factory string, e.g.
``gunicorn "bench.app:create_app(kind='hs256')"`` or
``gunicorn "bench.app:create_app(kind='managed', session_check_ttl=2)"``;
``bench/run.py`` does that.
"""

from __future__ import annotations

import os

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import Flask, abort, request

from flask_authrocket import AuthRocket, current_user, require_login
from flask_authrocket.settings import DEFAULTS

#: Every configuration the factory knows, in the order the benchmark reports them.
KINDS = ("bare", "hs256", "rs256", "dynamic", "managed", "pyjwt-hs256", "pyjwt-rs256")
PATH = "/hello"
#: The login cookie's default name: the hand-written check reads the cookie the extension would.
COOKIE_NAME: str = DEFAULTS["AUTHROCKET_COOKIE_NAME"]
BARE_USER_ID = "usr_bench"


def create_app(
    kind: str, session_check_ttl: int | None = None, cache_url: str | None = None, local_ttl: float | None = None
) -> Flask:
    """The app for one configuration (one of :data:`KINDS`).

    ``session_check_ttl`` sets ``AUTHROCKET_SESSION_CHECK_TTL`` of the
    ``managed`` app (default: the extension's, 300 seconds), ``cache_url`` its
    ``AUTHROCKET_CACHE`` (default: in process), ``local_ttl`` its
    ``AUTHROCKET_SESSION_CHECK_LOCAL_TTL`` (default: 0). Raises ``ValueError``
    for an unknown ``kind`` or one of these given to another kind, and
    ``KeyError`` when the environment lacks the key the configuration needs.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown benchmark app {kind!r}; choose one of {', '.join(KINDS)}")
    if (session_check_ttl is not None or cache_url is not None or local_ttl is not None) and kind != "managed":
        raise ValueError("session_check_ttl, cache_url and local_ttl are for the managed app only")
    app = Flask(__name__)
    if kind == "bare":
        _add_bare_route(app)
    elif kind.startswith("pyjwt-"):
        _add_pyjwt_route(app, algorithm=kind.removeprefix("pyjwt-").upper())
    else:
        # Keys and the API come from the environment (AUTHROCKET_JWT_KEY, LOGINROCKET_URL,
        # AUTHROCKET_URL, AUTHROCKET_API_KEY); the extension reads no other setting there.
        if kind == "managed":
            app.config["AUTHROCKET_MANAGED_SESSIONS"] = True
            if session_check_ttl is not None:
                app.config["AUTHROCKET_SESSION_CHECK_TTL"] = session_check_ttl
            if cache_url is not None:
                app.config["AUTHROCKET_CACHE"] = cache_url
            if local_ttl is not None:
                app.config["AUTHROCKET_SESSION_CHECK_LOCAL_TTL"] = local_ttl
        AuthRocket(app)
        _add_protected_route(app)
    return app


def _add_bare_route(app: Flask) -> None:
    @app.get(PATH)
    def hello() -> str:
        return f"Hello, {BARE_USER_ID}!"


def _add_protected_route(app: Flask) -> None:
    @app.get(PATH)
    @require_login
    def hello() -> str:
        return f"Hello, {current_user.id}!"


def _add_pyjwt_route(app: Flask, *, algorithm: str) -> None:
    secret_or_pem = os.environ["AUTHROCKET_JWT_KEY"]
    key: RSAPublicKey | str = secret_or_pem
    if algorithm == "RS256":
        loaded = load_pem_public_key(secret_or_pem.encode())
        if not isinstance(loaded, RSAPublicKey):
            raise ValueError("AUTHROCKET_JWT_KEY is not an RSA public key")
        key = loaded

    @app.get(PATH)
    def hello() -> str:
        token = request.cookies.get(COOKIE_NAME)
        if not token:
            abort(401)
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], issuer="https://authrocket.com")
        except jwt.InvalidTokenError:
            abort(401)
        return f"Hello, {claims['sub']}!"
