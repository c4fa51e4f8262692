"""``python -m flask_authrocket.dev``: run the development LoginRocket on loopback."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import Any

from .app import create_app, is_loopback

logger = logging.getLogger("flask_authrocket")


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


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, check the bind address, and serve until interrupted."""
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
    parser.add_argument("--instance", metavar="PATH", help="the instance folder for users, keys and the cookie secret")
    parser.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host (never in production)")
    args = parser.parse_args(argv)
    try:
        check_bind_host(args.host, allow_remote=args.allow_remote)
    except ValueError as exc:
        parser.error(str(exc))

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config: dict[str, Any] = {"DEV_LOGINROCKET_ALLOW_REMOTE": args.allow_remote}
    if args.login_urls:
        config["DEV_LOGINROCKET_LOGIN_URLS"] = args.login_urls
    if args.secret:
        config["DEV_LOGINROCKET_JWT_SECRET"] = args.secret
    if args.instance:
        config["DEV_LOGINROCKET_INSTANCE_PATH"] = args.instance
    app = create_app(config)
    url = f"http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}/"
    hs256 = app.extensions["dev_loginrocket"].issuer.algorithm == "HS256"
    trust = "AUTHROCKET_JWT_KEY=<the same secret>" if hs256 else "no AUTHROCKET_JWT_KEY (keys come from /connect/jwks)"
    logger.info("Configure your app with LOGINROCKET_URL=%s and %s.", url, trust)
    app.run(host=args.host, port=args.port, debug=False, use_reloader=False, load_dotenv=False)
    return 0
