"""The apps ``make bench`` serves under gunicorn: one factory, one app per configuration.

Every app answers ``GET /hello`` with the same body, ``Hello, usr_bench!``:

* ``bare`` — a plain Flask app with no extension at all: the baseline;
* ``hs256``, ``rs256``, ``dynamic`` — ``AuthRocket(app)`` and the route behind
  ``@require_login``, the body built from ``current_user``. Keys come from the
  environment as in production: ``AUTHROCKET_JWT_KEY`` (the HS256 secret or the
  RSA public key PEM) or, for ``dynamic``, ``LOGINROCKET_URL`` alone, whose
  ``/connect/jwks`` the worker fetches;
* ``pyjwt-hs256``, ``pyjwt-rs256`` — no extension: the route reads the cookie
  and calls ``jwt.decode`` itself on every request, the way a hand-written
  check usually looks (the key is parsed once, at start-up).

Gunicorn loads one with a factory string, e.g.
``gunicorn "bench.app:create_app(kind='hs256')"``; ``bench/run.py`` does that.
"""

from __future__ import annotations

import os

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import Flask, abort, request

from flask_authrocket import AuthRocket, current_user, require_login

#: Every configuration the factory knows, in the order the benchmark reports them.
KINDS = ("bare", "hs256", "rs256", "dynamic", "pyjwt-hs256", "pyjwt-rs256")
PATH = "/hello"
COOKIE_NAME = "arToken"
BARE_USER_ID = "usr_bench"


def create_app(kind: str) -> Flask:
    """The app for one configuration (one of :data:`KINDS`).

    Raises ``ValueError`` for an unknown ``kind`` and ``KeyError`` when the
    environment lacks the key the configuration needs.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown benchmark app {kind!r}; choose one of {', '.join(KINDS)}")
    app = Flask(__name__)
    if kind == "bare":
        _add_bare_route(app)
    elif kind.startswith("pyjwt-"):
        _add_pyjwt_route(app, algorithm=kind.removeprefix("pyjwt-").upper())
    else:
        # Settings come from the environment (AUTHROCKET_JWT_KEY, LOGINROCKET_URL).
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
