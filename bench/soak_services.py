"""The servers ``make soak`` runs on 127.0.0.1 and breaks: gunicorn, redis-server, the Core API.

The Core API is the development LoginRocket's (:class:`DevLoginRocket`) or a
stand-in that can hang (:class:`CoreApiStandIn`). Each starts on a free
loopback port and is stopped by the soak however it ends (Ctrl-C included):
gunicorn and redis-server run in sessions of their own, so a stuck one is
killed with its children and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask_authrocket.issuer import TokenIssuer
from flask_authrocket.models import Session
from flask_authrocket.settings import ENVIRONMENT_KEYS
from flask_authrocket.tokens import TokenVerifier

if TYPE_CHECKING:
    from flask_authrocket.dev.realm import Realm

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


class SoakFailed(Exception):
    """Something the soak needs did not run: its figures would mean nothing."""


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _stop_process(process: subprocess.Popen[bytes] | None, *, kill: bool = False) -> None:
    """End a process started in a session of its own: SIGTERM (SIGKILL when ``kill``), then the session."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        # The session was started for this process alone: it and its children.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_for_port(process: subprocess.Popen[bytes], port: int, name: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SoakFailed(f"{name} exited at start:\n{log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise SoakFailed(f"{name} did not listen on {HOST}:{port} within {timeout:g} s")


class RedisServer:
    """A real ``redis-server`` on a free loopback port, without persistence, that the soak kills and restarts.

    It keeps its port across restarts, as a Redis that crashed and came back
    does; a restarted one starts empty.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.log = directory / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """What the app sets as ``AUTHROCKET_CACHE``."""
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        """Start it (again) on its port and wait until it accepts connections."""
        command = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            HOST,
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        with self.log.open("ab") as output:
            self._process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_for_port(self._process, self.port, "redis-server", self.log)

    def kill(self) -> None:
        """Kill it (SIGKILL): a crash, not a shutdown."""
        _stop_process(self._process, kill=True)

    def stop(self) -> None:
        """Stop it if it runs."""
        _stop_process(self._process)


class Gunicorn:
    """gunicorn with ``workers`` workers of ``threads`` threads (gthread) serving ``bench.soak_app``.

    ``config`` is the app's Flask config (``SOAK_APP_CONFIG``); the caller's
    AuthRocket environment variables do not reach the app.
    """

    def __init__(self, config: dict[str, Any], logs: Path, name: str, *, workers: int = 2, threads: int = 4) -> None:
        self.port = free_port()
        self.workers = workers
        self.threads = threads
        self.log = logs / f"gunicorn-{name}.log"
        self.name = name
        environment = {key: value for key, value in os.environ.items() if key not in ENVIRONMENT_KEYS}
        environment["SOAK_APP_CONFIG"] = json.dumps(config)
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            f"--workers={workers}",
            "--worker-class=gthread",
            f"--threads={threads}",
            "--log-level=warning",
            "--no-control-socket",  # several gunicorns would share ~/.gunicorn/gunicorn.ctl
            f"--bind={HOST}:{self.port}",
            f"--chdir={ROOT}",
            f"--worker-tmp-dir={logs}",
            "bench.soak_app:create_app()",
        ]
        with self.log.open("wb") as output:
            self._process = subprocess.Popen(
                command, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        _wait_for_port(self._process, self.port, f"gunicorn ({name})", self.log)

    def stop(self) -> None:
        """Stop the arbiter and its workers."""
        _stop_process(self._process)

    def problems(self) -> list[str]:
        """Tracebacks and worker restarts in its log: a sound run has none."""
        text = self.log.read_text(errors="replace")
        found = []
        if "Traceback" in text:
            start = text.index("Traceback")
            found.append(f"a traceback in gunicorn's log ({self.name}):\n{text[start : start + 3000]}")
        for mark in ("WORKER TIMEOUT", "Worker exiting", "Booting worker"):
            count = text.count(mark)
            if count and not (mark == "Booting worker" and count <= self.workers):
                found.append(f"gunicorn ({self.name}) logged {mark!r} {count} times")
        return found


class CoreApiStandIn:
    """A loopback stand-in for the Core API's sessions: counts ``GET sessions/<token>``, ends sessions, hangs.

    ``GET /v2/sessions/<token>`` answers the session when ``verifier``
    verifies the token and its session was not ended, else 404, as the Core
    API does. ``DELETE /v2/sessions/<session id>`` ends a session (a logout
    through the API). :meth:`hang` holds every lookup for some seconds and then
    drops it without an answer. :attr:`lookups` holds the monotonic time of
    every lookup that arrived.
    """

    def __init__(self, verifier: TokenVerifier) -> None:
        self.verifier = verifier
        self.lookups: list[float] = []
        self.ended: set[str] = set()
        self._lock = threading.Lock()
        self._hang_until = 0.0
        self._httpd = ThreadingHTTPServer((HOST, 0), _stand_in_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="core-api-stand-in", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """What the app sets as ``AUTHROCKET_URL``."""
        return f"http://{HOST}:{self._httpd.server_address[1]}/v2"

    def hang(self, seconds: float) -> None:
        """Hold every lookup that arrives in the next ``seconds``, then drop it unanswered."""
        with self._lock:
            self._hang_until = time.monotonic() + seconds

    def end(self, session_id: str) -> None:
        """Log ``session_id`` out, as ``DELETE /v2/sessions/<id>`` does."""
        with self._lock:
            self.ended.add(session_id)

    def close(self) -> None:
        """Stop serving at once."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def _look_up(self, token: str) -> tuple[Session | None, float]:
        """The live session of ``token`` (``None``: 404) and until when the API hangs."""
        session = self.verifier.session_from_token(token)
        with self._lock:
            self.lookups.append(time.monotonic())
            if session is not None and session.id in self.ended:
                session = None
            return session, self._hang_until


def _stand_in_handler(api: CoreApiStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the Core API

        def do_GET(self) -> None:
            if not self.path.startswith("/v2/sessions/"):
                self._answer(404, {"errors": ["Not found"]})
                return
            session, hang_until = api._look_up(self.path.removeprefix("/v2/sessions/").split("?", 1)[0])
            wait = hang_until - time.monotonic()
            if wait > 0:
                time.sleep(wait)
                self.close_connection = True
                return
            if session is None:
                self._answer(404, {"errors": ["Session not found"]})
                return
            user = {"object": "user", "id": session.user_id, "user_type": "human"}
            body = {"object": "session", "id": session.id, "user_id": session.user_id, "user": user}
            self._answer(200, body)

        def do_DELETE(self) -> None:
            api.end(self.path.removeprefix("/v2/sessions/"))
            self._answer(200, {"object": "session"})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a line per lookup would drown the report

    return Handler


class DevLoginRocket:
    """The development LoginRocket, served by this process on 127.0.0.1: its Core API and its key rotation.

    The soak's app asks its ``/v2`` about sessions; the soak makes sessions
    through the same API (``POST /v2/sessions``) and reads the calls it counted.
    LoginRocket verifies the tokens it is asked about with its own keys; this
    one has a single key, so :meth:`trust` gives it a key set to verify with
    (the old key and the new one, as a LoginRocket that rotates knows both),
    and :meth:`sign_with` makes it sign new sessions with the new key.
    """

    def __init__(self, instance: Path) -> None:
        import requests
        from werkzeug.serving import make_server

        from bench.run import quiet_dev_loginrocket

        self.api_key = "ks_soak_" + os.urandom(16).hex()
        self.app = quiet_dev_loginrocket(instance, self.api_key)
        self._server = make_server(HOST, 0, self.app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="dev-loginrocket", daemon=True
        )
        self._thread.start()
        self._http = requests.Session()
        self._http.headers["Authrocket-Api-Key"] = self.api_key

    @property
    def realm(self) -> Realm:
        """The realm it serves now."""
        realm: Realm = self.app.extensions["dev_loginrocket"]
        return realm

    @property
    def api_url(self) -> str:
        """Its Core API: what the app sets as ``AUTHROCKET_URL``."""
        return f"http://{HOST}:{self._server.server_port}/v2"

    def demo_user_ids(self) -> list[str]:
        """The ids of its demo users."""
        return [user.id for user in self.realm.directory.demo_users()]

    def new_session(self, user_id: str) -> str:
        """A login token of a new session of ``user_id``, made through ``POST /v2/sessions``."""
        answer = self._http.post(f"{self.api_url}/sessions", json={"session": {"user_id": user_id}}, timeout=10)
        token = answer.json().get("token") if answer.status_code == 201 else None
        if not isinstance(token, str):
            raise SoakFailed(f"POST /v2/sessions answered {answer.status_code}: {answer.text[:200]}")
        return token

    def trust(self, loginrocket_url: str) -> None:
        """Verify the tokens the API is asked about with the key set of ``loginrocket_url``."""
        self.app.extensions["dev_loginrocket"] = replace(
            self.realm, verifier=TokenVerifier(loginrocket_url=loginrocket_url)
        )

    def sign_with(self, issuer: TokenIssuer) -> None:
        """Sign the tokens of new sessions with ``issuer``'s key from now on."""
        self.app.extensions["dev_loginrocket"] = replace(self.realm, issuer=issuer)

    def api_calls(self) -> dict[str, int]:
        """The Core API calls answered since :meth:`reset_api_calls`, by route."""
        counts: dict[str, int] = self.realm.traffic.stats()["counts"]
        return counts

    def reset_api_calls(self) -> None:
        """Forget the calls counted so far."""
        self.realm.traffic.reset_stats()

    def close(self) -> None:
        """Stop serving at once."""
        self._http.close()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
