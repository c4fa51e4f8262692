"""Loopback HTTP servers for tests: :class:`JwksTestServer` (a LoginRocket key set) and its faults.

:class:`LoopbackTestServer` knows HTTP and the ways a server fails (refuse, an error status,
hang, a slow body), nothing of keys; :class:`JwksTestServer` serves a JWK set with it. No
pytest here: see :mod:`flask_authrocket.testing`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, TypeVar

from ..issuer import TokenIssuer
from .keys import TestKeys, jwks_config

# serve_forever checks for shutdown() this often; its default of 0.5 s made every test that
# stopped a server wait half a second.
_POLL_INTERVAL = 0.05

_Server = TypeVar("_Server", bound="LoopbackTestServer")


@dataclass(frozen=True)
class _Behaviour:
    """How the server answers now; each request takes a copy when it arrives."""

    fault: Literal["none", "fail", "hang", "slow_body"] = "none"
    status: int = 503
    interval: float = 0.0
    body: bytes | None = None
    delay: float = 0.0
    released: threading.Event | None = None


class LoopbackTestServer:
    """An HTTP server on 127.0.0.1 with a free port, whose answers a test can break and mend.

    A subclass says what the healthy answer to a path is (:meth:`_healthy_body`); this
    class on its own answers 404 to every path.
    """

    #: The path whose requests :attr:`fetches` counts.
    counted_path = "/"

    def __init__(self) -> None:
        #: How many requests for :attr:`counted_path` arrived (refused connections are not requests).
        self.fetches = 0
        #: How many requests arrived, for any path.
        self.requests = 0
        self._lock = threading.Lock()
        self._behaviour = _Behaviour(released=threading.Event())
        self._refusing = False
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._listen()

    # -- what a test calls ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's base URL, ``http://127.0.0.1:<port>/``; it stays the same for the server's life."""
        return f"http://127.0.0.1:{self._port}/"

    @property
    def delay(self) -> float:
        """Seconds every answer waits before it starts (0 by default), e.g. to keep a fetch under way."""
        return self._behaviour.delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        self._change(delay=float(seconds))

    def serve_body(self, body: bytes) -> None:
        """Answer 200 with exactly ``body`` instead of the healthy answer: a broken or odd answer."""
        self._change(body=bytes(body))

    def fail(self, status: int = 503) -> None:
        """Answer every request with the error ``status`` (503 by default) until :meth:`recover`."""
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (400-599), not {status!r}.")
        self._change(fault="fail", status=status)

    def hang(self) -> None:
        """Accept every request and never answer it, until :meth:`recover` or :meth:`close`.

        A client waits until its own timeout; the held requests then end without an
        answer, and the server still stops at once.
        """
        self._change(fault="hang")

    def slow_body(self, interval: float) -> None:
        """Send the headers at once, then the body one byte every ``interval`` seconds.

        A client whose timeout bounds only each read never times out on such an answer;
        one that bounds the whole download does.
        """
        if interval <= 0:
            raise ValueError(f"interval is a number of seconds above 0, not {interval!r}.")
        self._change(fault="slow_body", interval=float(interval))

    def refuse(self) -> None:
        """Refuse connections, as a server that is down: the port stops listening until :meth:`recover`."""
        with self._lock:
            self._refusing = True
        self._stop_listening()

    def recover(self) -> None:
        """Answer normally again: ends :meth:`fail`, :meth:`hang`, :meth:`slow_body`, :meth:`refuse`,
        :meth:`serve_body` and :attr:`delay`, and ends the requests held meanwhile without an answer.

        After :meth:`refuse`, the server listens again on the same port; :class:`OSError` if
        another program took the port meanwhile.
        """
        with self._lock:
            refusing, self._refusing = self._refusing, False
            held = self._behaviour.released
            self._behaviour = _Behaviour(released=threading.Event())
        if held is not None:
            held.set()
        if refusing:
            self._listen()

    def close(self) -> None:
        """Stop serving at once, end the requests still held, and free the port."""
        with self._lock:
            self._refusing = True
            held = self._behaviour.released
        if held is not None:
            held.set()
        self._stop_listening()

    def __enter__(self: _Server) -> _Server:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # -- what a subclass gives --------------------------------------------------------------

    def _healthy_body(self, path: str) -> bytes | None:
        """The body of a healthy 200 answer to ``path``, or ``None`` for a 404."""
        return None

    # -- serving ---------------------------------------------------------------------------

    def _change(self, **changes: Any) -> None:
        with self._lock:
            self._behaviour = replace(self._behaviour, **changes)

    def _arrived(self, path: str) -> _Behaviour:
        with self._lock:
            self.requests += 1
            if path == self.counted_path:
                self.fetches += 1
            return self._behaviour

    def _listen(self) -> None:
        httpd = ThreadingHTTPServer(("127.0.0.1", self._port), _handler_for(self))
        httpd.daemon_threads = True
        self._port = httpd.server_address[1]
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=type(self).__name__,
            daemon=True,
        )
        thread.start()
        self._httpd, self._thread = httpd, thread

    def _stop_listening(self) -> None:
        httpd, thread, self._httpd, self._thread = self._httpd, self._thread, None, None
        if httpd is not None and thread is not None:
            httpd.shutdown()
            httpd.server_close()
            thread.join(timeout=5)


def _handler_for(server: LoopbackTestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            now = server._arrived(path)
            released = now.released or threading.Event()
            if now.delay and released.wait(now.delay):
                return
            if now.fault == "hang":
                released.wait()
                self.close_connection = True
                return
            if now.fault == "fail":
                self.send_error(now.status)
                return
            body = now.body if now.body is not None else server._healthy_body(path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if now.fault != "slow_body":
                self.wfile.write(body)
                return
            for index in range(len(body)):
                if released.wait(now.interval):
                    self.close_connection = True
                    return
                self.wfile.write(body[index : index + 1])
                self.wfile.flush()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


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
        return jwks_config(self.url)

    def _healthy_body(self, path: str) -> bytes | None:
        if path != self.counted_path:
            return None
        issuers = [keys.rsa_issuer if isinstance(keys, TestKeys) else keys for keys in self.keys]
        return json.dumps({"keys": [issuer.jwk() for issuer in issuers]}).encode()
