"""The app factory of the development LoginRocket."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, abort, current_app, request

from ..errors import ConfigurationError
from ..fetch import is_loopback, is_loopback_address
from ..keys import HS256_SECRET_MAX_LENGTH, HS256_SECRET_MIN_BYTES
from ..logs import logger
from ..tokens import TokenVerifier
from .api import core_api
from .api_realm import provider_page
from .directory import Directory
from .login_urls import check_login_urls
from .pages import loginrocket
from .realm import Realm
from .signing import API_KEY_FILE, load_api_key, load_issuer, load_secret_key

#: The settings of the development LoginRocket and their defaults. Each may
#: also come from an environment variable of the same name (config wins).
DEFAULTS: dict[str, Any] = {
    "DEV_LOGINROCKET_LOGIN_URLS": ["http://127.0.0.1:5000/"],
    "DEV_LOGINROCKET_JWT_SECRET": None,
    "DEV_LOGINROCKET_TOKEN_TTL": 3600,
    "DEV_LOGINROCKET_INSTANCE_PATH": None,
    "DEV_LOGINROCKET_ALLOW_REMOTE": False,
    "DEV_LOGINROCKET_ALLOWED_HOSTS": [],
    "DEV_LOGINROCKET_API_KEY": None,
}

WARNING = "Development LoginRocket — for development only, never in production"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the development LoginRocket app.

    ``config`` is merged into ``app.config`` (see :mod:`flask_authrocket.dev`
    for the keys). The data folder (``DEV_LOGINROCKET_INSTANCE_PATH``, else
    ``instance`` in the current directory: the project the developer works in,
    never the folder this package is installed in) is created when missing and
    holds the SQLite directory, the RS256 signing key, the API key and the cookie secret.

    Raises :class:`~flask_authrocket.ConfigurationError` naming the key when a
    setting is unusable.
    """
    given = dict(config or {})
    settings = {name: given.get(name, os.environ.get(name, default)) for name, default in DEFAULTS.items()}
    # Not Flask's default instance folder: for an editable install that is the checkout's own
    # instance/, where every project using the checkout would share one set of users and keys.
    instance_path = settings["DEV_LOGINROCKET_INSTANCE_PATH"] or os.path.join(os.getcwd(), "instance")
    app = Flask("flask_authrocket.dev", instance_path=os.path.abspath(instance_path), static_folder=None)
    app.config.update(settings)
    app.config.update(given)
    _make_instance_folder(app.instance_path)

    login_urls = check_login_urls(_url_list(app.config["DEV_LOGINROCKET_LOGIN_URLS"]))
    app.config["DEV_LOGINROCKET_LOGIN_URLS"] = login_urls
    secret = app.config["DEV_LOGINROCKET_JWT_SECRET"] or None
    _check_secret(secret)
    token_ttl = _positive_int(app.config["DEV_LOGINROCKET_TOKEN_TTL"], "DEV_LOGINROCKET_TOKEN_TTL")
    app.config["DEV_LOGINROCKET_ALLOW_REMOTE"] = _flag(app.config["DEV_LOGINROCKET_ALLOW_REMOTE"])
    app.config["DEV_LOGINROCKET_ALLOWED_HOSTS"] = _host_names(app.config["DEV_LOGINROCKET_ALLOWED_HOSTS"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(app.instance_path)
    api_key = _api_key(app.config["DEV_LOGINROCKET_API_KEY"]) or load_api_key(app.instance_path)
    app.config["DEV_LOGINROCKET_API_KEY"] = api_key

    issuer = load_issuer(app.instance_path, secret=secret)
    app.extensions["dev_loginrocket"] = Realm(
        directory=Directory.in_instance_folder(app.instance_path),
        issuer=issuer,
        login_urls=tuple(login_urls),
        token_ttl=token_ttl,
        api_key=api_key,
        verifier=TokenVerifier(jwt_key=issuer.verification_key()),
    )
    app.before_request(_refuse_remote_clients)
    app.before_request(_refuse_other_hosts)
    app.register_blueprint(loginrocket)
    app.register_blueprint(core_api)
    app.register_blueprint(provider_page)
    logger.warning(
        "%s. Data folder: %s; %s tokens; Login URLs: %s",
        WARNING,
        app.instance_path,
        "HS256" if secret else "RS256",
        ", ".join(login_urls),
    )
    logger.info(
        "The Core API is at /v2 (AUTHROCKET_URL = this LoginRocket's URL + 'v2'); its API key is %s.",
        "DEV_LOGINROCKET_API_KEY"
        if given.get("DEV_LOGINROCKET_API_KEY") or os.environ.get("DEV_LOGINROCKET_API_KEY")
        else f"in {os.path.join(app.instance_path, API_KEY_FILE)}",
    )
    return app


def _refuse_remote_clients() -> None:
    # Defence in depth for `flask run --host 0.0.0.0`, which bypasses our CLI's check.
    if not current_app.config["DEV_LOGINROCKET_ALLOW_REMOTE"] and not is_loopback(request.remote_addr):
        abort(403, description="The development LoginRocket only answers this computer (loopback).")


def _refuse_other_hosts() -> None:
    # DNS rebinding: a page on evil.example makes its name resolve to 127.0.0.1, and the browser, which
    # sees one origin, lets it read this server's pages (tokens, CSRF tokens). Its requests still say
    # "Host: evil.example", so only names that point here by themselves are answered.
    environ = request.environ
    if not environ.get("HTTP_HOST"):
        return  # HTTP/1.0 without Host: no browser sends that, so no page of another site can either
    name, port = _split_host(environ["HTTP_HOST"])
    if port is None:
        port = "443" if environ.get("wsgi.url_scheme") == "https" else "80"
    if port == str(environ.get("SERVER_PORT")) and _names_this_server(name):
        return
    abort(
        400,
        description=(
            f"The development LoginRocket answers only requests for {_shown_hosts()} on this port, not for "
            f"{environ.get('HTTP_HOST')!r} (a defence against DNS rebinding). Use http://127.0.0.1:"
            f"{environ.get('SERVER_PORT')}/, or start it with --allow-remote HOST to answer another name."
        ),
    )


def _names_this_server(name: str) -> bool:
    """True for localhost, a loopback address, the address the server is bound to, and the allowed hosts."""
    if name == "localhost" or is_loopback_address(name):
        return True
    if name in current_app.config["DEV_LOGINROCKET_ALLOWED_HOSTS"]:
        return True
    bound = str(request.environ.get("SERVER_NAME", "")).lower()
    # An address (never a name, which DNS could point anywhere) that is not 0.0.0.0 or "::".
    return name.strip("[]") == bound.strip("[]") and _is_specific_address(bound)


def _is_specific_address(text: str) -> bool:
    try:
        return not ipaddress.ip_address(text.strip("[]")).is_unspecified
    except ValueError:
        return False


def _split_host(host: str) -> tuple[str, str | None]:
    """``"[::1]:5001"`` -> ``("[::1]", "5001")``; ``"localhost"`` -> ``("localhost", None)``; lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        address, bracket, rest = host.partition("]")
        return address + bracket, rest[1:] if rest.startswith(":") else None
    name, colon, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    return (name, port) if colon else (host, None)


def _shown_hosts() -> str:
    return ", ".join(["127.0.0.1", "localhost", "[::1]", *current_app.config["DEV_LOGINROCKET_ALLOWED_HOSTS"]])


def _make_instance_folder(path: str) -> None:
    if os.path.isdir(path):
        return
    os.makedirs(path, exist_ok=True)
    # Keys and passwords live here: keep the whole folder out of version control.
    with open(os.path.join(path, ".gitignore"), "w", encoding="ascii") as gitignore:
        gitignore.write("*\n")


def _url_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [url for url in re.split(r"[\s,]+", value) if url]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ConfigurationError("DEV_LOGINROCKET_LOGIN_URLS must be a list of URLs (or one string of them).")


def _check_secret(secret: Any) -> None:
    if secret is None:
        return
    if not isinstance(secret, str) or len(secret) > HS256_SECRET_MAX_LENGTH:
        raise ConfigurationError(
            f"DEV_LOGINROCKET_JWT_SECRET must be a string of at most {HS256_SECRET_MAX_LENGTH} characters; "
            "longer keys are read as RSA public keys by apps."
        )
    if len(secret.encode("utf-8")) < HS256_SECRET_MIN_BYTES:
        logger.warning(
            "DEV_LOGINROCKET_JWT_SECRET is shorter than %d bytes; fine for development only.", HS256_SECRET_MIN_BYTES
        )


def _host_names(value: Any) -> list[str]:
    names = [name for name in re.split(r"[\s,]+", value) if name] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(name, str) and name for name in names):
        raise ConfigurationError(
            "DEV_LOGINROCKET_ALLOWED_HOSTS must be a list of host names (or one string of them), "
            "e.g. ['devbox.local', '192.168.1.20']."
        )
    return [_split_host(name)[0] for name in names]  # a port given with a name is the server's own anyway


def _api_key(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) < 8 or any(char.isspace() for char in value):
        raise ConfigurationError(
            "DEV_LOGINROCKET_API_KEY must be a string of at least 8 characters without spaces "
            "(or unset: a key is generated and kept in the instance folder)."
        )
    return value


def _positive_int(value: Any, setting: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise ConfigurationError(f"{setting} must be a positive number of seconds, not {value!r}.")
    return number


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
