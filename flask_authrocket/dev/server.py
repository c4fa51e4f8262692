"""``python -m flask_authrocket.dev``: run the development LoginRocket on loopback."""

from __future__ import annotations

import argparse
import errno
import logging
import re
import socket
import sys
from collections.abc import Sequence
from typing import Any

from werkzeug.serving import LISTEN_QUEUE, WSGIRequestHandler, get_sockaddr, make_server, select_address_family

from ..fetch import is_loopback
from ..logs import logger
from .app import create_app
from .realm import REALM_ID

_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")


class RequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, logging login tokens in paths (``/v2/sessions/<token>``) as ``<token>``."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log the request line with any login token in it hidden."""
        self.path = _TOKEN.sub("<token>", self.path)
        super().log_request(code, size)


def check_bind_host(host: str, *, allow_remote: bool = False) -> None:
    """Refuse to listen on anything but loopback unless ``allow_remote``.

    Raises ``ValueError`` with a message that says why and what to do.
    """
    if allow_remote or is_loopback(host):
        return
    raise ValueError(
        f"refusing to listen on {host!r}: the development LoginRocket hands out login tokens to anyone who "
        "clicks a button, so it binds to loopback (127.0.0.1) only. Use --host 127.0.0.1, or pass "
        "--allow-remote if other machines really must reach it (never in production)."
    )


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port`` (``0``: any free port), as werkzeug's server would open it.

    Raises :class:`OSError` when the address cannot be bound (``errno.EADDRINUSE``: something listens there).
    """
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as socketserver's HTTPServer does
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(LISTEN_QUEUE)
    except OSError:
        sock.close()
        raise
    return sock


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, check the bind address, and serve until interrupted.

    The port is bound before anything else is done or printed: when it is in use, that is the
    one thing said (exit status 1), not a line lost under the configuration help.
    """
    parser = argparse.ArgumentParser(
        prog="python -m flask_authrocket.dev",
        description="The development LoginRocket: hosted login pages and tokens for local development only.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5001, help="port to listen on (default: 5001)")
    parser.add_argument(
        "--login-url",
        dest="login_urls",
        metavar="URL",
        nargs="+",
        action="extend",
        help="an allowed Login URL of your app; the first is the default (default: http://127.0.0.1:5000/)",
    )
    parser.add_argument("--secret", metavar="HS256SECRET", help="sign HS256 tokens with this shared secret")
    parser.add_argument(
        "--data-dir",
        "--instance",
        dest="data_dir",
        metavar="PATH",
        help="the folder for users, keys, the API key and the cookie secret (default: ./instance, in the current "
        "directory; --instance is the old name)",
    )
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        help="the key of the Core API under /v2 (default: generated once and kept in the instance folder)",
    )
    parser.add_argument(
        "--allow-remote",
        metavar="HOST",
        nargs="*",
        help="allow a non-loopback --host and answer other machines (never in production); the HOST names they "
        "use for this server are answered too (the bound address always is; other names get 400)",
    )
    args = parser.parse_args(argv)
    allow_remote = args.allow_remote is not None
    try:
        check_bind_host(args.host, allow_remote=allow_remote)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        listening = listen(args.host, args.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"Port {args.port} on {args.host} is in use: another development LoginRocket, or another program, "
                "listens there. Stop it, or start this one with --port <another port>; your app's "
                "LOGINROCKET_URL must then name that port.",
                file=sys.stderr,
            )
        else:
            print(f"Cannot listen on {args.host} port {args.port}: {exc.strerror or exc}.", file=sys.stderr)
        return 1

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config: dict[str, Any] = {"DEV_LOGINROCKET_ALLOW_REMOTE": allow_remote}
    if args.allow_remote:
        config["DEV_LOGINROCKET_ALLOWED_HOSTS"] = args.allow_remote
    if args.login_urls:
        config["DEV_LOGINROCKET_LOGIN_URLS"] = args.login_urls
    if args.secret:
        config["DEV_LOGINROCKET_JWT_SECRET"] = args.secret
    if args.data_dir:
        config["DEV_LOGINROCKET_INSTANCE_PATH"] = args.data_dir
    if args.api_key:
        config["DEV_LOGINROCKET_API_KEY"] = args.api_key
    with listening:
        app = create_app(config)
        port = listening.getsockname()[1]  # --port 0 picks one: name the real one
        server = make_server(
            args.host, port, app, threaded=True, request_handler=RequestHandler, fd=listening.fileno()
        )  # werkzeug takes a duplicate of the socket; this one closes at the end of the block
    url = f"http://{'[' + args.host + ']' if ':' in args.host else args.host}:{port}/"
    hs256 = app.extensions["dev_loginrocket"].issuer.algorithm == "HS256"
    trust = "AUTHROCKET_JWT_KEY=<the same secret>" if hs256 else "no AUTHROCKET_JWT_KEY (keys come from /connect/jwks)"
    logger.info("Configure your app with LOGINROCKET_URL=%s and %s.", url, trust)
    # A development key on a loopback-only server: shown so that it can be pasted into the app's settings.
    logger.info(
        "Core API for your app: AUTHROCKET_URL=%sv2 AUTHROCKET_API_KEY=%s AUTHROCKET_REALM=%s",
        url,
        app.extensions["dev_loginrocket"].api_key,
        REALM_ID,
    )
    logger.info(
        "Data folder (users, keys, the API key; delete it to start again from the demo data): %s", app.instance_path
    )
    server.log_startup()
    logger.info("Press Ctrl-C to stop.")
    server.serve_forever()  # until Ctrl-C, which werkzeug's server catches and closes on
    return 0
