"""The extension's in-process share of a logged-in request, and a line-by-line profile of that path.

``make bench`` prints the share beside its throughput rows: WSGI environs carrying the same login
cookie are sent to a bare route and to an ``@require_login`` route reading ``current_user``, in
this process, interleaved round by round; the median of each side's microseconds per request, and
their difference, the extension's part. No server, no socket: what is left is Flask and us.

``python -m bench.inprocess --profile`` runs the logged-in request under ``line_profiler`` and
prints, line by line, where the extension's microseconds go (the README's Performance note shows
one run). Each configuration verifies its token once before it is measured, so a request is a
hit in the verified-token cache: the path every request of a logged-in user takes.

Usage: ``python -m bench.inprocess [--rounds N] [--requests N] [--profile] [--kinds hs256,rs256,...]``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from flask_authrocket import AuthRocket, current_user, require_login
from flask_authrocket.issuer import TokenIssuer, generate_rsa_key, login_claims
from flask_authrocket.testing import JwksTestServer

#: The in-process share a logged-in request may cost the extension, in microseconds (issue 23).
TARGET_MICROSECONDS = 8.0
#: The configurations measured in process; ``managed`` checks sessions through a development
#: LoginRocket's Core API served by this process, the answer kept in the default in-process cache.
KINDS = ("hs256", "rs256", "jwks", "managed")
PATH = "/hello"
SECRET = "bench-secret-of-the-realm-0123456789abcdef0123"
COOKIE = "arToken"
#: A LoginRocket URL for the static-key apps: the login links work, nothing is fetched from it.
TEST_URL = "https://loginrocket.test/"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Share:
    """One configuration's medians: microseconds per request, bare and guarded, and the difference."""

    kind: str
    bare: float
    guarded: float

    @property
    def share(self) -> float:
        """The extension's part of a logged-in request, in microseconds."""
        return self.guarded - self.bare

    def line(self) -> str:
        verdict = "meets" if self.share <= TARGET_MICROSECONDS else "MISSES"
        return (
            f"  {self.kind:<8} bare {self.bare:6.1f} us  guarded {self.guarded:6.1f} us  "
            f"extension {self.share:5.1f} us/request  ({verdict} the target of {TARGET_MICROSECONDS:g} us)"
        )


def bare_app() -> Flask:
    """A plain Flask app answering the route the guarded one answers, without the extension."""
    app = Flask("bare")

    @app.get(PATH)
    def hello() -> str:
        return "Hello, usr_bench!"

    return app


def guarded_app(config: dict[str, Any]) -> Flask:
    """``AuthRocket(app)`` and the same route behind ``@require_login``, reading ``current_user``."""
    app = Flask("guarded")
    app.config.update(config)
    AuthRocket(app)

    @app.get(PATH)
    @require_login
    def hello() -> str:
        return f"Hello, {current_user.id}!"

    return app


@contextlib.contextmanager
def configurations(kinds: Sequence[str]) -> Iterator[dict[str, tuple[Flask, str]]]:
    """Each kind's guarded app and a token it accepts (a key-set server runs while the block does)."""
    hs = TokenIssuer(secret=SECRET)
    rsa = TokenIssuer(private_key=generate_rsa_key(), kid="bench-1")
    claims = login_claims({"id": "usr_bench", "email": "bench@example.com"}, [])
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(JwksTestServer(rsa))
        built: dict[str, tuple[Flask, str]] = {}
        for kind in kinds:
            if kind == "hs256":
                static_hs = {"AUTHROCKET_JWT_KEY": SECRET, "LOGINROCKET_URL": TEST_URL}
                built[kind] = (guarded_app(static_hs), hs.issue(claims))
            elif kind == "rs256":
                static_rsa = {"AUTHROCKET_JWT_KEY": rsa.public_key_pem(), "LOGINROCKET_URL": TEST_URL}
                built[kind] = (guarded_app(static_rsa), rsa.issue(claims))
            elif kind == "jwks":
                built[kind] = (guarded_app({"LOGINROCKET_URL": server.url}), rsa.issue(claims))
            elif kind == "managed":
                from bench.run import dev_loginrocket  # the benchmark's own quiet development LoginRocket

                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="authrocket-inprocess-"))
                dev = stack.enter_context(dev_loginrocket(Path(folder)))
                config = {
                    "LOGINROCKET_URL": dev.root,
                    "AUTHROCKET_URL": dev.api_url,
                    "AUTHROCKET_API_KEY": dev.api_key,
                    "AUTHROCKET_MANAGED_SESSIONS": True,
                }
                built[kind] = (guarded_app(config), dev.new_token("usr_ada"))
            else:
                raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
        for app, token in built.values():
            per_request(app.wsgi_app, environ_for(token), 1)  # checks 200; the measured ones are cache hits
        yield built


def environ_for(token: str) -> dict[str, Any]:
    """A WSGI environ for ``GET /hello`` carrying the login cookie, as a browser sends it."""
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": PATH,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "HTTP_ACCEPT": "text/html",
        "HTTP_COOKIE": f"{COOKIE}={token}",
        "wsgi.url_scheme": "http",
        "wsgi.input": None,
        "wsgi.errors": sys.stderr,
    }


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    # Managed sessions' token belongs to the development LoginRocket's demo user: any 200 will do.
    if not status.startswith("200"):
        raise RuntimeError(f"the benchmark's request answered {status}")


def per_request(app: WsgiApp, environ: dict[str, Any], count: int) -> float:
    """Microseconds per request for ``count`` requests of ``environ`` (a fresh copy each) to ``app``."""
    started = time.perf_counter()
    for _ in range(count):
        for _chunk in app(dict(environ), _start_response):
            pass
    return (time.perf_counter() - started) / count * 1e6


def measure(kinds: Sequence[str] = KINDS, *, rounds: int = 15, requests: int = 2000) -> list[Share]:
    """The in-process share of each kind: bare and guarded interleaved, round by round; medians."""
    bare = bare_app().wsgi_app
    with configurations(kinds) as built:
        environs = {kind: environ_for(token) for kind, (_, token) in built.items()}
        samples: dict[str, tuple[list[float], list[float]]] = {kind: ([], []) for kind in built}
        for kind, (app, _) in built.items():  # warm up
            per_request(bare, environs[kind], requests // 4)
            per_request(app.wsgi_app, environs[kind], requests // 4)
        gc_was_enabled = gc.isenabled()
        gc.disable()  # a collection landing in one side's sample is noise, not the extension
        try:
            for _ in range(rounds):
                for kind, (app, _) in built.items():
                    samples[kind][0].append(per_request(bare, environs[kind], requests))
                    samples[kind][1].append(per_request(app.wsgi_app, environs[kind], requests))
        finally:
            if gc_was_enabled:
                gc.enable()
    return [
        Share(kind, statistics.median(bare_us), statistics.median(guarded_us))
        for kind, (bare_us, guarded_us) in samples.items()
    ]


def profile(kind: str = "hs256", *, requests: int = 20000) -> str:
    """A line-by-line profile (``line_profiler``) of the logged-in request's path through the extension."""
    from line_profiler import LineProfiler

    from flask_authrocket import cookie, guards, hook, lru, request, tokens

    profiler = LineProfiler()
    for function in (
        # The short path a logged-in browser's GET takes ...
        cookie.LoginCookie.candidate,
        tokens.TokenVerifier.known,
        lru.BoundedLRU.get,
        request.current_authrocket,
        request._current_user,
        request.AuthRocketRequest._finish_inline,
        # ... and the full steps, should a change send it there.
        hook.load_request,
        hook._load,
        hook._accept,
        cookie.LoginCookie.read,
        tokens.TokenVerifier.verify,
        tokens.TokenVerifier._still_valid,
        request.AuthRocketRequest.current_session.fget,
        request.AuthRocketRequest.current_user.fget,
        request.AuthRocketRequest._finish_response,
        request._vary_and_keep_private,
        guards._guarded,
    ):
        profiler.add_function(function)
    with configurations([kind]) as built:
        app, token = built[kind]
        # The hook and the guard's wrapper are made per app and per view: profile this app's.
        profiler.add_function(app.before_request_funcs[None][0])
        profiler.add_function(app.view_functions["hello"])
        environ = environ_for(token)
        with profiler:
            per_request(app.wsgi_app, environ, requests)
    output = _StringSink()
    profiler.print_stats(stream=output, output_unit=1e-6, stripzeros=True)
    return output.text()


class _StringSink:
    def __init__(self) -> None:
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        self._parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        return "".join(self._parts)


def report(shares: Sequence[Share]) -> list[str]:
    """The lines ``make bench`` prints for the in-process share."""
    return [
        "In process, the extension's share of a logged-in request (cookie, cached verification, guard, "
        "current_user, Vary and Cache-Control): guarded minus bare, medians of interleaved rounds",
        *(share.line() for share in shares),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--profile", action="store_true", help="print a line-by-line profile of the hs256 path")
    arguments = parser.parse_args(argv)
    if arguments.profile:
        print(profile(arguments.kinds.split(",")[0]))
        return 0
    for line in report(measure(arguments.kinds.split(","), rounds=arguments.rounds, requests=arguments.requests)):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
