"""What the tests share besides fixtures: the people and orgs of the stories, real tokens, a clock, servers.

Tests import these names (``from helpers import ADA, token_for``); fixtures live in conftest.py.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from flask import Flask, Response, g, jsonify, render_template_string, request
from werkzeug.serving import make_server

from flask_authrocket import AuthRocket, current_user, require_login, require_permission
from flask_authrocket.issuer import TokenIssuer, login_claims
from flask_authrocket.models import Rejection, Session

LOGINROCKET_URL = "https://myapp.e2.loginrocket.com/"
HS_SECRET = "jsk_test_shared_secret_0123456789abcdef0123456789"

ADA = {"id": "usr_ada", "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "username": "ada"}
ACME = {"id": "org_acme", "name": "Acme Inc.", "membership_id": "mb_ada_acme", "permissions": ["site:admin"]}
GLOBEX = {"id": "org_globex", "name": "Globex", "membership_id": "mb_ada_globex", "permissions": []}

#: An answer from the key-set URL that is not a key set (a login page, a proxy's error page).
NOT_A_KEY_SET = b"<html>not a key set</html>"


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


class Clock:
    """A clock that moves only when the test says so: pass it as ``clock=`` and call ``advance``."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def hello_app(response_class: type[Response] | None = None) -> Flask:
    """An app with the extension (HS256) and ``GET /hello`` behind ``@require_login``, reading ``current_user``.

    The request every logged-in browser sends: the tests of the hook's short path and of the
    guard's own answer use it. ``response_class``: the app's, when not Flask's.
    """
    app = Flask(__name__)
    if response_class is not None:
        app.response_class = response_class
    app.config.update(TESTING=True, LOGINROCKET_URL=LOGINROCKET_URL, AUTHROCKET_JWT_KEY=HS_SECRET)
    AuthRocket(app)

    @app.get("/hello")
    @require_login
    def hello() -> str:
        return f"Hello, {current_user.id}!"

    return app


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


def wait_until(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Wait (up to ``timeout`` seconds) for what another thread does; the test then asserts on what followed."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


@contextmanager
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses every connection while the block runs.

    A socket is bound to it and never listens: no other socket can take the port meanwhile (no
    bind, not even an outgoing connection's), as one could take a port found free and let go.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        yield port


@contextmanager
def reserved_port() -> Iterator[int]:
    """A port on 127.0.0.1 kept, while the block runs, for a server another process starts on it.

    For servers that cannot listen on port 0 and say which port they got. As with
    :func:`refused_port`, a bound socket that never listens holds the port, but with
    ``SO_REUSEADDR``: on Linux a server binding this very port with ``SO_REUSEADDR`` too
    (redis-server, werkzeug and gunicorn do) may then listen on it, while the kernel hands it to
    no one else (no port-0 bind, no outgoing connection). Until the server listens, and after
    it stops, connections are refused; no other program can take the port in between.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        yield port


@contextmanager
def serving(app: Any, *, ssl_context: tuple[str, str] | None = None) -> Iterator[str]:
    """Serve the WSGI ``app`` on a free port of 127.0.0.1 while the block runs; its URL.

    With ``ssl_context`` (a certificate file and its key file) it serves https.
    """
    with serving_forever(make_server("127.0.0.1", 0, app, threaded=True, ssl_context=ssl_context)) as url:
        yield url


@contextmanager
def serving_forever(server: Any) -> Iterator[str]:
    """Run a ``socketserver`` HTTP server bound on 127.0.0.1 in a thread while the block runs; its URL.

    Its URL is https when the server wraps its socket in TLS. It checks for shutdown every 10 ms,
    so leaving the block returns at once. (A test leaves it just after its last request, so
    leaving waits nearly a whole interval; the suite leaves such blocks a few hundred times.)
    """
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        scheme = "https" if getattr(server, "ssl_context", None) is not None else "http"
        yield f"{scheme}://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def gunicorn_serving(folder: Path, module: str, config: str, *args: str) -> Iterator[str]:
    """gunicorn (one sync worker) on a free loopback port, serving ``app`` of the module text ``module``
    with the ``gunicorn.conf.py`` text ``config`` and the extra command-line ``args``; its URL.

    Both files are written to ``folder``; gunicorn binds port 0 and names the port it got in its
    error log (``folder/gunicorn.error.log``), so no other program can take it first. It stops when
    the block ends.
    """
    (folder / "gunicorn.conf.py").write_text(config)
    (folder / "served.py").write_text(module)
    error_log = folder / "gunicorn.error.log"
    command = [sys.executable, "-m", "gunicorn", "-c", str(folder / "gunicorn.conf.py"), "--chdir", str(folder)]
    command += ["-b", "127.0.0.1:0", "-w", "1", "--error-logfile", str(error_log), *args, "served:app"]
    found: list[str] = []

    def listening() -> None:
        text = error_log.read_text() if error_log.exists() else ""
        port = re.search(r"Listening at: http://127\.0\.0\.1:([1-9][0-9]*)", text)
        if port is None:
            raise requests.ConnectionError("gunicorn is not listening yet")
        found[:] = [f"http://127.0.0.1:{port.group(1)}/"]
        # The arbiter listens before its worker boots; the first request waits until the worker answers.
        requests.get(found[0] + "up", timeout=30)

    with running(command, "gunicorn", listening, cwd=folder):
        yield found[0]


@contextmanager
def running(command: list[str], name: str, ready: Callable[[], object], **options: Any) -> Iterator[None]:
    """Run ``command`` while the block runs, once ``ready()`` no longer raises ``requests.ConnectionError``.

    It is given 30 s to get ready, and fails the test naming ``name`` (with what it wrote to stderr)
    if it exits or does not get ready; it is stopped when the block ends.
    """
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **options)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else f"{name} exited"
            try:
                ready()
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, f"{name} did not start"
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(30)
        if process.stderr:
            process.stderr.close()
