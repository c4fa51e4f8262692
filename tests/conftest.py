"""Shared fixtures: real keys, real JWTs, a real JWK-set server on 127.0.0.1, app factories."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from devserver import DevApi, serve_dev_api
from flask import Flask, g, jsonify, render_template_string, request
from sqlite_connections import OpenedConnections

from flask_authrocket import AuthRocket, require_login, require_permission
from flask_authrocket.issuer import TokenIssuer, generate_rsa_key, login_claims, private_key_to_pem
from flask_authrocket.models import Session
from flask_authrocket.settings import ENVIRONMENT_KEYS
from flask_authrocket.tokens import Rejection

LOGINROCKET_URL = "https://myapp.e2.loginrocket.com/"
HS_SECRET = "jsk_test_shared_secret_0123456789abcdef0123456789"

ADA = {"id": "usr_ada", "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "username": "ada"}
ACME = {"id": "org_acme", "name": "Acme Inc.", "membership_id": "mb_ada_acme", "permissions": ["site:admin"]}
GLOBEX = {"id": "org_globex", "name": "Globex", "membership_id": "mb_ada_globex", "permissions": []}


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


def token_for(issuer: TokenIssuer, user: dict[str, Any] | None = None, orgs: Any = (ACME,), **kwargs: Any) -> str:
    """A real login token for ``user`` (Ada by default) in Acme (and any other ``orgs``)."""
    claims_overrides = kwargs.pop("claims", {})
    claims = login_claims(user or ADA, None if orgs is None else list(orgs), **kwargs)
    claims.update(claims_overrides)
    return issuer.issue(claims)


def outcome(result: Session | Rejection) -> str:
    """``"accepted"`` for a session, else the rejection's reason: one word for a test to assert on."""
    return result.reason if isinstance(result, Rejection) else "accepted"


def pem_body(pem: str) -> str:
    """The bare base64 of a PEM key, as AuthRocket shows it: the armour lines dropped."""
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


class JwksServer:
    """A real JWK-set server on 127.0.0.1 that counts its fetches.

    ``mode``: ``"ok"`` serves ``issuers``' keys; ``"error"`` answers 500;
    ``"garbage"`` answers a non-JSON body; ``"hang"`` accepts and never answers
    (until the test ends); ``delay`` slows every answer. In mode ``"ok"``,
    ``body`` (when set) is served as it is instead of the issuers' key set:
    hand-written JWKs, oversize or odd answers.
    """

    def __init__(self) -> None:
        self.issuers: list[TokenIssuer] = []
        self.body: bytes | None = None
        self.fetches = 0
        self.mode = "ok"
        self.delay = 0.0
        self._release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                if server.delay:
                    time.sleep(server.delay)
                if server.mode == "hang":
                    server._release.wait(30)
                    return
                if self.path != "/connect/jwks":
                    self.send_error(404)
                    return
                if server.mode == "error":
                    self.send_error(500)
                    return
                if server.mode == "garbage":
                    body = b"<html>not a key set</html>"
                elif server.body is not None:
                    body = server.body
                else:
                    body = json.dumps({"keys": [issuer.jwk() for issuer in server.issuers]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def serve_jwks(self, *jwks: Any) -> None:
        """Serve exactly these JWK entries (dicts, or anything else a broken set may hold)."""
        self.body = json.dumps({"keys": list(jwks)}).encode()

    def release_hanging(self) -> None:
        """End the answers held by ``"hang"`` now: they close without a response."""
        self._release.set()

    def close(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class Clock:
    """A clock that moves only when the test says so: pass it as ``clock=`` and call ``advance``."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _serving(issuer: TokenIssuer) -> Iterator[JwksServer]:
    server = JwksServer()
    server.issuers.append(issuer)
    yield server
    server.close()


@pytest.fixture
def jwks_server(rsa_issuer: TokenIssuer) -> Iterator[JwksServer]:
    """A JWK-set server on 127.0.0.1 serving ``rsa_issuer``'s key (kid ``k1``)."""
    yield from _serving(rsa_issuer)


@pytest.fixture
def other_jwks_server(other_rsa_issuer: TokenIssuer) -> Iterator[JwksServer]:
    """A second JWK-set server, serving ``other_rsa_issuer``'s key (kid ``k2``): another realm, or an attacker's."""
    yield from _serving(other_rsa_issuer)


@pytest.fixture
def refused_url() -> str:
    """A loopback URL on which nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def add_demo_routes(app: Flask) -> None:
    """The routes most tests use: public, protected, admin, API and async views."""

    @app.get("/")
    def home() -> str:
        return render_template_string(
            "{% if authrocket.current_user %}Hi, {{ authrocket.current_user.first_name }}!"
            "{% else %}Logged out{% endif %}"
        )

    @app.get("/private")
    @require_login
    def private() -> str:
        return f"private for {g.authrocket.current_user.id}"

    @app.route("/admin", methods=["GET", "POST", "OPTIONS"])
    @require_permission("site:admin")
    def admin() -> str:
        return "admin"

    @app.get("/api/me")
    @require_login
    def api_me() -> Any:
        user = g.authrocket.current_user
        return jsonify(
            id=user.id, email=user.email, org=g.authrocket.current_org.id if g.authrocket.current_org else None
        )

    @app.get("/async")
    @require_login
    async def async_view() -> str:
        return f"async for {g.authrocket.current_user.id}"

    @app.route("/form", methods=["POST", "PUT", "PATCH", "DELETE"])
    @require_login
    def form() -> str:
        return f"{request.method} by {g.authrocket.current_user.id}"


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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
