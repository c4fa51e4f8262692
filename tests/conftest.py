"""Shared fixtures: real keys, real JWK-set servers on 127.0.0.1, app factories; shared names live in helpers.py."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from devserver import DevApi, serve_dev_api
from flask import Flask
from helpers import HS_SECRET, LOGINROCKET_URL, add_demo_routes, refused_port
from sqlite_connections import OpenedConnections

from flask_authrocket import AuthRocket
from flask_authrocket.issuer import TokenIssuer, generate_rsa_key, private_key_to_pem
from flask_authrocket.settings import ENVIRONMENT_KEYS
from flask_authrocket.testing import JwksTestServer


@pytest.fixture(scope="session")
def rsa_issuer() -> TokenIssuer:
    """An RS256 issuer with a real 2048-bit key, kid ``k1``."""
    return TokenIssuer.with_new_rsa_key(kid="k1")


@pytest.fixture(scope="session")
def other_rsa_issuer() -> TokenIssuer:
    """A second RS256 key, kid ``k2`` (rotation, forgeries)."""
    return TokenIssuer.with_new_rsa_key(kid="k2")


@pytest.fixture(scope="session")
def hs_issuer() -> TokenIssuer:
    """An HS256 issuer with a 48-byte shared secret."""
    return TokenIssuer(secret=HS_SECRET)


@pytest.fixture
def jwks_server(rsa_issuer: TokenIssuer) -> Iterator[JwksTestServer]:
    """The shipped JWK-set test server on 127.0.0.1, serving ``rsa_issuer``'s key (kid ``k1``)."""
    with JwksTestServer(rsa_issuer) as server:
        yield server


@pytest.fixture
def other_jwks_server(other_rsa_issuer: TokenIssuer) -> Iterator[JwksTestServer]:
    """A second JWK-set server, serving ``other_rsa_issuer``'s key (kid ``k2``): another realm, or an attacker's."""
    with JwksTestServer(other_rsa_issuer) as server:
        yield server


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback URL on which nothing listens for the whole test: connections are refused at once."""
    with refused_port() as port:
        yield f"http://127.0.0.1:{port}/"


@pytest.fixture
def make_app() -> Callable[..., Flask]:
    """Build a fresh app: ``make_app(AUTHROCKET_JWT_KEY=..., ...)`` with the demo routes."""

    def build(*, routes: bool = True, **config: Any) -> Flask:
        app = Flask(__name__)
        app.config.update(TESTING=True, SECRET_KEY="test")
        config.setdefault("LOGINROCKET_URL", LOGINROCKET_URL)
        app.config.update(config)
        AuthRocket(app)
        if routes:
            add_demo_routes(app)
        return app

    return build


@pytest.fixture
def hs_app(make_app: Callable[..., Flask]) -> Flask:
    """An app trusting the HS256 secret statically."""
    return make_app(AUTHROCKET_JWT_KEY=HS_SECRET)


@pytest.fixture(autouse=True)
def _no_auth_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests configure apps explicitly; a developer's shell must not leak in.
    for name in ENVIRONMENT_KEYS:
        monkeypatch.delenv(name, raising=False)


# A development LoginRocket with its Core API, for the tests of the API, the client,
# managed sessions, the commands and the docs' samples.


@pytest.fixture(scope="session")
def signing_key_pem() -> bytes:
    """One RSA key for every development LoginRocket of the run: generating one per test is slow."""
    return private_key_to_pem(generate_rsa_key())


@pytest.fixture
def dev(tmp_path: Path, signing_key_pem: bytes) -> Iterator[DevApi]:
    """A development LoginRocket served on 127.0.0.1, with its API under /v2."""
    with serve_dev_api(tmp_path / "instance", signing_key_pem) as api:
        yield api


@pytest.fixture(autouse=True)
def _no_dev_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DEV_LOGINROCKET_API_KEY", "DEV_LOGINROCKET_LOGIN_URLS", "DEV_LOGINROCKET_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def sqlite_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenedConnections]:
    """The SQLite connections the test opens; it fails if one is left open (on every Python)."""
    connections = OpenedConnections()
    monkeypatch.setattr(sqlite3, "connect", connections.connect)
    yield connections
    left_open = connections.still_open()
    connections.close_all()
    assert not left_open, f"{len(left_open)} SQLite connection(s) left open: close each one (contextlib.closing)"


@pytest.fixture
def managed_app(dev: DevApi, make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """Build an app of the development realm with managed sessions on: keys from /connect/jwks, the API at /v2."""

    def build(**config: Any) -> Flask:
        settings = {
            "LOGINROCKET_URL": dev.root,
            "AUTHROCKET_URL": dev.url,
            "AUTHROCKET_API_KEY": dev.api_key,
            "AUTHROCKET_MANAGED_SESSIONS": True,
            # A live server in this process: slow on a busy machine, never silent. Tests of a silent
            # or hanging API set their own short timeout.
            "AUTHROCKET_HTTP_TIMEOUT": 30,
            **config,
        }
        return make_app(**settings)

    return build
