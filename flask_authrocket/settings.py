"""The extension's settings: read once at ``init_app``, checked, and frozen.

Flask config comes first; the settings AuthRocket's own libraries read from
the environment (``LOGINROCKET_URL``, ``AUTHROCKET_JWT_KEY``, the API ones)
fall back to it. A set-but-unusable value raises :class:`ConfigurationError`
naming the key.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cachelib import BaseCache, SimpleCache

from .errors import ConfigurationError

#: Read from the environment when the Flask config leaves them unset (REFERENCE.md).
ENVIRONMENT_KEYS = (
    "LOGINROCKET_URL",
    "AUTHROCKET_JWT_KEY",
    "AUTHROCKET_URL",
    "AUTHROCKET_API_KEY",
    "AUTHROCKET_REALM",
    "AUTHROCKET_SERVICE",
)

#: Every other key, with its default (set once, together, with ``setdefault``).
DEFAULTS: dict[str, Any] = {
    "AUTHROCKET_LOCALE": None,
    "AUTHROCKET_COOKIE_NAME": "arToken",
    "AUTHROCKET_COOKIE_SECURE": "auto",
    "AUTHROCKET_COOKIE_SAMESITE": "Lax",
    "AUTHROCKET_COOKIE_HTTPONLY": True,
    "AUTHROCKET_COOKIE_DOMAIN": None,
    "AUTHROCKET_COOKIE_PATH": "/",
    "AUTHROCKET_COOKIE_MAX_AGE": None,
    "AUTHROCKET_LEEWAY": 5,
    "AUTHROCKET_TOKEN_WITHIN": None,
    "AUTHROCKET_TOKEN_CACHE_SIZE": 1024,
    "AUTHROCKET_LOGOUT_URL": "/logout",
    "AUTHROCKET_LOGOUT": "full",
    "AUTHROCKET_POST_LOGOUT_PATH": "/",
    "AUTHROCKET_REQUIRE_LOGIN": False,
    "AUTHROCKET_HTTP_TIMEOUT": 5,
    "AUTHROCKET_JWKS_TTL": 3600,
    "AUTHROCKET_JWKS_MIN_INTERVAL": 30,
    "AUTHROCKET_MANAGED_SESSIONS": False,
    "AUTHROCKET_SESSION_CHECK_TTL": 300,
    "AUTHROCKET_SESSION_CHECK_FAILURE": "open",
    "AUTHROCKET_CACHE": None,
}


@dataclass(frozen=True)
class Settings:
    """The checked settings of one app (see the configuration table in the docs)."""

    loginrocket_url: str | None
    jwt_key: str | None
    api_url: str | None
    api_key: str | None
    realm: str | None
    service: str | None
    locale: str | None
    cookie_name: str | None
    cookie_secure: bool | None  # None: "auto", Secure exactly on https
    cookie_samesite: str | None
    cookie_httponly: bool
    cookie_domain: str | None
    cookie_path: str
    cookie_max_age: int | None
    leeway: float
    token_within: float | None
    token_cache_size: int
    logout_url: str | None
    logout: str
    post_logout_path: str
    require_login: bool
    http_timeout: float
    jwks_ttl: float
    jwks_min_interval: float
    managed_sessions: bool
    session_check_ttl: float
    session_check_failure: str  # "open" or "closed"
    #: The cachelib cache shared by session checks and API GETs (``SimpleCache`` by default).
    cache: BaseCache
    #: Where each key's value came from. Keys of :data:`ENVIRONMENT_KEYS`: ``"config"``,
    #: ``"environment"`` or ``"unset"``; keys of :data:`DEFAULTS`: ``"config"`` or ``"default"``.
    sources: Mapping[str, str]

    def __repr__(self) -> str:  # secrets never appear in reprs
        return f"Settings(loginrocket_url={self.loginrocket_url!r}, key={'set' if self.jwt_key else 'unset'})"

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        environ: Mapping[str, str] | None = None,
        *,
        configured: Collection[str] | None = None,
    ) -> Settings:
        """Read and check the settings from a Flask config, falling back to ``environ``.

        ``configured`` names the keys the app set itself, for :attr:`sources`:
        ``init_app`` fills in the defaults with ``setdefault`` before this is
        called, so it records which keys were there first. Left out, every key
        present in ``config`` counts as set by the app.
        """
        environ = os.environ if environ is None else environ
        if configured is None:
            configured = frozenset(key for key in DEFAULTS if key in config)
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for key in ENVIRONMENT_KEYS:
            value = config.get(key)
            source = "config"
            if value is None or value == "":
                value = environ.get(key) or None
                source = "environment" if value else "unset"
            values[key] = value
            sources[key] = source

        loginrocket_url = _optional_text(values, "LOGINROCKET_URL")
        if loginrocket_url is not None:
            _check_http_url(loginrocket_url, "LOGINROCKET_URL", "e.g. https://myapp.e2.loginrocket.com/")
        api_url = _optional_text(values, "AUTHROCKET_URL")
        if api_url is not None:
            _check_http_url(api_url, "AUTHROCKET_URL", "e.g. https://api-e2.authrocket.com/v2")
        jwt_key = _optional_text(values, "AUTHROCKET_JWT_KEY")
        if jwt_key is None and loginrocket_url is None:
            raise ConfigurationError(
                "Neither LOGINROCKET_URL nor AUTHROCKET_JWT_KEY is set, so no login token can be verified. "
                "Set LOGINROCKET_URL to your LoginRocket URL (Realm -> Integration -> Using LoginRocket)."
            )

        def get(key: str) -> Any:
            return config.get(key, DEFAULTS[key])

        for key in DEFAULTS:
            sources[key] = "config" if key in configured else "default"

        logout = get("AUTHROCKET_LOGOUT")
        if logout not in ("full", "local"):
            raise ConfigurationError(f"AUTHROCKET_LOGOUT must be 'full' or 'local', not {logout!r}.")
        samesite = get("AUTHROCKET_COOKIE_SAMESITE")
        if samesite is not None:
            if not isinstance(samesite, str) or samesite.capitalize() not in ("Lax", "Strict", "None"):
                raise ConfigurationError(
                    f"AUTHROCKET_COOKIE_SAMESITE must be 'Lax', 'Strict', 'None' or None, not {samesite!r}."
                )
            samesite = samesite.capitalize()
        secure = get("AUTHROCKET_COOKIE_SECURE")
        if secure == "auto":
            secure = None
        elif not isinstance(secure, bool):
            raise ConfigurationError(f"AUTHROCKET_COOKIE_SECURE must be 'auto', True or False, not {secure!r}.")
        if samesite == "None":
            if secure is False:
                raise ConfigurationError(
                    "AUTHROCKET_COOKIE_SAMESITE = 'None' needs a Secure cookie; set AUTHROCKET_COOKIE_SECURE to True."
                )
            secure = True  # browsers drop SameSite=None cookies that are not Secure, even over http
        post_logout_path = get("AUTHROCKET_POST_LOGOUT_PATH")
        if (
            not isinstance(post_logout_path, str)
            or not post_logout_path.startswith("/")
            or post_logout_path.startswith("//")
        ):
            raise ConfigurationError(
                f"AUTHROCKET_POST_LOGOUT_PATH must be a path on this app starting with '/', not {post_logout_path!r}."
            )
        logout_url = get("AUTHROCKET_LOGOUT_URL")
        if logout_url is not None and (not isinstance(logout_url, str) or not logout_url.startswith("/")):
            raise ConfigurationError(
                f"AUTHROCKET_LOGOUT_URL must be a path starting with '/' or None, not {logout_url!r}."
            )
        managed_sessions = _bool(get, "AUTHROCKET_MANAGED_SESSIONS")
        if managed_sessions:
            for key in ("AUTHROCKET_URL", "AUTHROCKET_API_KEY"):
                if values[key] is None:
                    raise ConfigurationError(
                        f"AUTHROCKET_MANAGED_SESSIONS checks sessions through the Core API, which needs {key}; "
                        f"set it (Realm -> Integration -> API keys), or turn AUTHROCKET_MANAGED_SESSIONS off."
                    )
        session_check_failure = get("AUTHROCKET_SESSION_CHECK_FAILURE")
        if session_check_failure not in ("open", "closed"):
            raise ConfigurationError(
                f"AUTHROCKET_SESSION_CHECK_FAILURE must be 'open' or 'closed', not {session_check_failure!r}."
            )
        cookie_name = get("AUTHROCKET_COOKIE_NAME")
        if cookie_name is not None and (not isinstance(cookie_name, str) or not cookie_name or ";" in cookie_name):
            raise ConfigurationError(f"AUTHROCKET_COOKIE_NAME must be a cookie name or None, not {cookie_name!r}.")

        return cls(
            loginrocket_url=loginrocket_url,
            jwt_key=jwt_key,
            api_url=api_url,
            api_key=_optional_text(values, "AUTHROCKET_API_KEY"),
            realm=_optional_text(values, "AUTHROCKET_REALM"),
            service=_optional_text(values, "AUTHROCKET_SERVICE"),
            locale=_optional_str(get, "AUTHROCKET_LOCALE"),
            cookie_name=cookie_name,
            cookie_secure=secure,
            cookie_samesite=samesite,
            cookie_httponly=_bool(get, "AUTHROCKET_COOKIE_HTTPONLY"),
            cookie_domain=_optional_str(get, "AUTHROCKET_COOKIE_DOMAIN"),
            cookie_path=_optional_str(get, "AUTHROCKET_COOKIE_PATH") or "/",
            cookie_max_age=_optional_int(get, "AUTHROCKET_COOKIE_MAX_AGE"),
            leeway=_number(get, "AUTHROCKET_LEEWAY", minimum=0),
            token_within=_optional_number(get, "AUTHROCKET_TOKEN_WITHIN"),
            token_cache_size=int(_number(get, "AUTHROCKET_TOKEN_CACHE_SIZE", minimum=0)),
            logout_url=logout_url,
            logout=logout,
            post_logout_path=post_logout_path,
            require_login=_bool(get, "AUTHROCKET_REQUIRE_LOGIN"),
            http_timeout=_number(get, "AUTHROCKET_HTTP_TIMEOUT", minimum=0.001),
            jwks_ttl=_number(get, "AUTHROCKET_JWKS_TTL", minimum=1),
            jwks_min_interval=_number(get, "AUTHROCKET_JWKS_MIN_INTERVAL", minimum=0),
            managed_sessions=managed_sessions,
            session_check_ttl=_number(get, "AUTHROCKET_SESSION_CHECK_TTL", minimum=1),
            session_check_failure=session_check_failure,
            cache=_cache(get("AUTHROCKET_CACHE")),
            sources=sources,
        )


def _optional_text(values: Mapping[str, Any], key: str) -> str | None:
    value = values[key]
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{key} must be a string, not {type(value).__name__}.")
    return value.strip() or None


def _check_http_url(url: str, key: str, example: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"{key} must be an absolute http(s) URL ({example}), not {url!r}.")


def _optional_str(get: Any, key: str) -> str | None:
    value = get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{key} must be a string or None, not {value!r}.")
    return value


def _bool(get: Any, key: str) -> bool:
    value = get(key)
    if not isinstance(value, bool):
        raise ConfigurationError(f"{key} must be True or False, not {value!r}.")
    return value


def _number(get: Any, key: str, *, minimum: float) -> float:
    value = get(key)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ConfigurationError(f"{key} must be a number of seconds of at least {minimum:g}, not {value!r}.")
    return float(value)


def _optional_number(get: Any, key: str) -> float | None:
    if get(key) is None:
        return None
    return _number(get, key, minimum=1)


def _optional_int(get: Any, key: str) -> int | None:
    if get(key) is None:
        return None
    return int(_number(get, key, minimum=0))


def _cache(value: Any) -> BaseCache:
    """``AUTHROCKET_CACHE``: a cachelib cache, a ``redis://`` URL, or ``None`` (in-process)."""
    if value is None:
        return SimpleCache(threshold=10_000)
    if isinstance(value, BaseCache):
        return value
    if isinstance(value, str) and urlsplit(value).scheme in ("redis", "rediss"):
        return redis_cache(value)
    raise ConfigurationError(
        "AUTHROCKET_CACHE must be a cachelib cache (e.g. cachelib.RedisCache(...)), a redis:// URL "
        f"or None, not {value!r}."
    )


def redis_cache(url: str) -> BaseCache:
    """A cachelib ``RedisCache`` for ``url`` (``redis://[:password@]host[:port][/db]``).

    Keys are prefixed with ``flask_authrocket:`` so the extension can share a
    Redis database with other users. Needs the ``redis`` package
    (``pip install flask-authrocket[redis]``).
    """
    try:
        import redis
    except ImportError:
        raise ConfigurationError(
            "AUTHROCKET_CACHE is a redis:// URL but the redis package is not installed; "
            "pip install 'flask-authrocket[redis]'."
        ) from None
    from cachelib import RedisCache
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # Fail fast: a cache that does not answer is skipped, never waited for.
    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0))
        database = urlsplit(url).path.strip("/")
        if database and not database.isdigit():
            raise ValueError(f"the database {database!r} is not a number")
    except ValueError as error:
        parts = urlsplit(url)
        shown = parts._replace(netloc=f"***@{parts.hostname}" if parts.password else parts.netloc).geturl()
        raise ConfigurationError(
            f"AUTHROCKET_CACHE {shown!r} is not a usable redis:// URL ({error}); "
            "expected redis://[:password@]host[:port][/db]."
        ) from None
    return RedisCache(client, key_prefix="flask_authrocket:")
