"""The extension's in-process share of a logged-in request, and a line-by-line profile of that path.

``make bench`` prints the share beside its throughput rows: WSGI environs carrying the same login
cookie are sent to a bare route and to an ``@require_login`` route reading ``current_user``, in
this process, in many short rounds, each side once per round; the extension's part is the median
of the rounds' differences (guarded minus bare), beside each side's median. No server, no socket:
what is left is Flask and us.

Time is this thread's CPU time (``time.thread_time``), not the wall clock: on a shared machine a
neighbour that takes the core away mid-round would otherwise be counted to whichever side was
running. Short rounds taken in pairs, and the median of their differences, leave out the slower
drifts (a neighbour's cache traffic, the clock speed) that a few long rounds charge to one side.

``python -m bench.inprocess --profile`` runs the logged-in request under ``line_profiler`` and
prints, line by line, where the extension's microseconds go (the README's Performance note shows
one run). Each configuration verifies its token once before it is measured, so a request is a
hit in the verified-token cache: the path every request of a logged-in user takes.

``python -m bench.inprocess --instructions`` counts instead of timing: each side runs in its own
process under ``valgrind --tool=callgrind``, once with N requests and once with 2N, and the
difference over N is its instructions per request, the same on any machine and however busy it
is. It needs ``valgrind`` (``apt-get install valgrind``; not installed by the Makefile: nothing
else uses it) and tells the differences a busy machine's timings cannot: a change to the hook
that saves a microsecond shows as about 3,000 instructions.

Usage: ``python -m bench.inprocess [--rounds N] [--requests N] [--profile | --instructions]
[--kinds hs256,rs256,...]``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from flask import Flask

from flask_authrocket import AuthRocket, current_user, require_login
from flask_authrocket.issuer import TokenIssuer, generate_rsa_key, login_claims, private_key_to_pem
from flask_authrocket.testing import JwksTestServer

#: The in-process share a logged-in request may cost the extension, in microseconds (issue 23).
TARGET_MICROSECONDS = 8.0
#: The configurations measured in process; ``managed`` checks sessions through a development
#: LoginRocket's Core API served by this process, the answer kept in the default in-process cache.
KINDS = ("hs256", "rs256", "jwks", "managed")
PATH = "/hello"
#: The project's root: ``-m bench.inprocess`` runs from there.
ROOT = Path(__file__).resolve().parent.parent
#: The two sides of a measure: the bare app and the guarded one.
SIDES = ("bare", "guarded")
#: Requests per side before the rounds, so that every cache the path uses is warm.
WARM_UP_REQUESTS = 1000
SECRET = "bench-secret-of-the-realm-0123456789abcdef0123"
COOKIE = "arToken"
#: A LoginRocket URL for the static-key apps: the login links work, nothing is fetched from it.
TEST_URL = "https://loginrocket.test/"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Share:
    """One configuration's medians: microseconds per request, bare and guarded, and the difference."""

    kind: str
    #: Each side's median, microseconds of CPU time per request.
    bare: float
    guarded: float
    #: The extension's part of a logged-in request, in microseconds: the median of the rounds'
    #: differences (guarded minus bare, each round's pair measured back to back).
    share: float

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
def configurations(
    kinds: Sequence[str], rsa_key: RSAPrivateKey | None = None
) -> Iterator[dict[str, tuple[Flask, str]]]:
    """Each kind's guarded app and a token it accepts (a key-set server runs while the block does).

    ``rsa_key`` signs the RS256 tokens; a new one when not given.
    """
    hs = TokenIssuer(secret=SECRET)
    rsa = TokenIssuer(private_key=rsa_key or generate_rsa_key(), kid="bench-1")
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
    """This thread's CPU microseconds per request, for ``count`` fresh copies of ``environ`` sent to ``app``."""
    started = time.thread_time()
    for _ in range(count):
        for _chunk in app(dict(environ), _start_response):
            pass
    return (time.thread_time() - started) / count * 1e6


def measure(kinds: Sequence[str] = KINDS, *, rounds: int = 150, requests: int = 200) -> list[Share]:
    """The in-process share of each kind: bare and guarded in pairs, round by round; medians."""
    bare = bare_app().wsgi_app
    with configurations(kinds) as built:
        environs = {kind: environ_for(token) for kind, (_, token) in built.items()}
        samples: dict[str, tuple[list[float], list[float]]] = {kind: ([], []) for kind in built}
        for kind, (app, _) in built.items():  # warm up
            per_request(bare, environs[kind], WARM_UP_REQUESTS)
            per_request(app.wsgi_app, environs[kind], WARM_UP_REQUESTS)
        gc_was_enabled = gc.isenabled()
        gc.disable()  # a collection landing in one side's sample is noise, not the extension
        try:
            for number in range(rounds):
                for kind, (app, _) in built.items():
                    environ = environs[kind]
                    if number % 2:  # each side goes first in half the rounds
                        guarded_us = per_request(app.wsgi_app, environ, requests)
                        bare_us = per_request(bare, environ, requests)
                    else:
                        bare_us = per_request(bare, environ, requests)
                        guarded_us = per_request(app.wsgi_app, environ, requests)
                    samples[kind][0].append(bare_us)
                    samples[kind][1].append(guarded_us)
        finally:
            if gc_was_enabled:
                gc.enable()
    return [
        Share(
            kind,
            statistics.median(bare_us),
            statistics.median(guarded_us),
            statistics.median(guarded - bare for bare, guarded in zip(bare_us, guarded_us, strict=True)),
        )
        for kind, (bare_us, guarded_us) in samples.items()
    ]


def profile(kind: str = "hs256", *, requests: int = 20000) -> str:
    """A line-by-line profile (``line_profiler``) of the logged-in request's path through the extension."""
    from line_profiler import LineProfiler

    from flask_authrocket import answers, cookie, guards, hook, lru, request, tokens

    profiler = LineProfiler()
    for function in (
        # The short path a logged-in browser's GET takes ...
        cookie.LoginCookie.candidate,
        tokens.TokenVerifier.known,
        lru.BoundedLRU.get,
        request.current_authrocket,
        request._current_user,
        request.AuthRocketRequest._finish_inline,
        answers.ConstantHeaders.response,
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


@dataclass
class Count:
    """One configuration's instructions per request (callgrind), bare and guarded."""

    kind: str
    bare: int
    guarded: int

    @property
    def share(self) -> int:
        """The extension's instructions per logged-in request."""
        return self.guarded - self.bare

    def line(self) -> str:
        return (
            f"  {self.kind:<8} bare {self.bare / 1000:6.1f}k  guarded {self.guarded / 1000:6.1f}k  "
            f"extension {self.share / 1000:5.1f}k instructions/request ({self.share / self.bare:.1%} of bare)"
        )


#: What callgrind prints of the instructions it counted, on its standard error.
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


#: The kinds whose set-up costs the same in every process: ``managed`` starts a development
#: LoginRocket that makes its own RSA key, and a key's making costs what its random primes do.
COUNTED_KINDS = ("hs256", "rs256", "jwks")


def count_instructions(kinds: Sequence[str] = COUNTED_KINDS, *, requests: int = 1000) -> list[Count]:
    """Each kind's instructions per request, bare and guarded, counted by callgrind (see the module's text).

    Every process signs with one RSA key made here, outside callgrind, so that they all do the
    same work before their requests. Raises :class:`RuntimeError` when ``valgrind`` is not
    installed, for a kind not in :data:`COUNTED_KINDS`, or when a run does not count.
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise RuntimeError("valgrind is not installed: apt-get install valgrind (only --instructions uses it)")
    uncounted = sorted(set(kinds) - set(COUNTED_KINDS))
    if uncounted:
        raise RuntimeError(f"cannot count {', '.join(uncounted)}: choose from {', '.join(COUNTED_KINDS)}")
    counts = []
    with tempfile.TemporaryDirectory(prefix="authrocket-instructions-") as folder:
        key_file = Path(folder) / "bench-rsa.pem"
        key_file.write_bytes(private_key_to_pem(generate_rsa_key()))
        for kind in kinds:
            per_side = []
            for side in SIDES:
                few, more = (_collected(valgrind, kind, side, number, key_file) for number in (requests, 2 * requests))
                per_side.append(round((more - few) / requests))
            counts.append(Count(kind, *per_side))
    return counts


def _collected(valgrind: str, kind: str, side: str, requests: int, key_file: Path) -> int:
    """The instructions callgrind counts for a process that sends ``requests`` logged-in requests to one side."""
    command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m", "bench.inprocess"]
    command += ["--send", kind, side, str(requests), "--key-file", str(key_file)]
    # One hash seed for every run: a dict's layout, and so its lookups' cost, depends on it.
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False, env=environment, cwd=ROOT)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind on {kind} ({side}) failed (status {done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def send(kind: str, side: str, requests: int, rsa_key: RSAPrivateKey | None = None) -> None:
    """Send ``requests`` logged-in requests to the ``side`` (``bare`` or ``guarded``) of ``kind``, after a warm-up.

    What each of :func:`count_instructions`' processes does under callgrind.
    """
    with configurations([kind], rsa_key) as built:
        guarded, token = built[kind]
        app = guarded if side == "guarded" else bare_app()
        environ = environ_for(token)
        per_request(app.wsgi_app, environ, WARM_UP_REQUESTS)
        # No collection during the requests: when one falls is not the request's cost, and a full
        # one costs millions of instructions, enough to move the difference of two runs.
        gc.collect()
        gc.disable()
        per_request(app.wsgi_app, environ, requests)


def report(shares: Sequence[Share]) -> list[str]:
    """The lines ``make bench`` prints for the in-process share."""
    return [
        "In process, the extension's share of a logged-in request (cookie, cached verification, guard, "
        "current_user, Vary and Cache-Control): CPU time, guarded minus bare, the median of paired rounds",
        *(share.line() for share in shares),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--requests", type=int, help="requests per side per round (200); with --instructions, N (1000)")
    parser.add_argument("--kinds", help=f"comma-separated, of {', '.join(KINDS)} (--instructions: all but managed)")
    parser.add_argument("--profile", action="store_true", help="print a line-by-line profile of the hs256 path")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions per request with callgrind (valgrind)"
    )
    parser.add_argument("--send", nargs=3, metavar=("KIND", "SIDE", "REQUESTS"), help=argparse.SUPPRESS)
    parser.add_argument("--key-file", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.send:
        kind, side, requests = arguments.send
        if side not in SIDES or kind not in KINDS:
            parser.error(f"--send: a kind of {', '.join(KINDS)} and a side of {', '.join(SIDES)}")
        key = load_pem_private_key(arguments.key_file.read_bytes(), None) if arguments.key_file else None
        if key is not None and not isinstance(key, RSAPrivateKey):
            raise SystemExit(f"{arguments.key_file} holds no RSA private key")
        send(kind, side, int(requests), key)
        return 0
    default_kinds = COUNTED_KINDS if arguments.instructions else KINDS
    kinds = arguments.kinds.split(",") if arguments.kinds else list(default_kinds)
    if arguments.profile:
        print(profile(kinds[0]))
        return 0
    if arguments.instructions:
        try:
            counts = count_instructions(kinds, requests=arguments.requests or 1000)
        except RuntimeError as problem:
            parser.error(str(problem))
        print("The extension's share of a logged-in request in instructions (callgrind; 2N minus N requests):")
        for count in counts:
            print(count.line())
        return 0
    for line in report(measure(kinds, rounds=arguments.rounds, requests=arguments.requests or 200)):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
