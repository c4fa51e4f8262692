"""The extension's settings: one table of rows, read once at ``init_app``, checked, and frozen.

Each setting is one :class:`Setting` row in the body of :class:`Settings`: its
config key, default, parser, whether AuthRocket's own libraries read it from
the environment, and whether it is secret. Everything else is derived from the
rows: :data:`DEFAULTS`, :data:`ENVIRONMENT_KEYS`, parsing and validation, the
typed attribute the rest of the code reads, and how ``flask authrocket check``
shows the value. Adding a setting means one row, its consumer, and a row in
docs/configuration.md.

Flask config comes first; the environment rows (``LOGINROCKET_URL``,
``AUTHROCKET_JWT_KEY``, the API ones) fall back to the environment variable of
the same name. A set-but-unusable value raises :class:`ConfigurationError`
naming the key.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any, Generic, TypeVar, overload

from .cache import SharedStore, build_cache
from .errors import ConfigurationError
from .fetch import ApiUri, ca_bundle_problem, parse_api_uri, url_problem
from .logs import logger, redact_url

T = TypeVar("T")


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One row of the settings table.

    ``parse(key, value)`` turns the value as read into the attribute's value,
    raising :class:`ConfigurationError` naming ``key``. ``environment`` rows
    fall back to the environment variable ``key`` and have no default in
    :data:`DEFAULTS`. ``show`` writes a set value for ``flask authrocket
    check``; without it, a ``secret`` row shows only its length and any other
    row its ``repr``. Declared in the body of :class:`Settings`, a row is also
    the typed attribute of that name (``settings.leeway`` is a ``float``).
    """

    key: str
    default: Any
    parse: Callable[[str, Any], T]
    environment: bool = False
    secret: bool = False
    show: Callable[[Any], str] | None = None
    #: The :class:`Settings` attribute holding the parsed value (the name the row is declared under).
    attribute: str = field(default="", init=False)

    def __set_name__(self, owner: type, name: str) -> None:
        object.__setattr__(self, "attribute", name)

    @overload
    def __get__(self, instance: None, owner: type) -> Setting[T]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> T: ...

    def __get__(self, instance: object, owner: type) -> Setting[T] | T:
        # Settings keeps each value in its __dict__, which wins over this (non-data)
        # descriptor: reading a setting costs a plain attribute lookup.
        if instance is None:
            return self
        value: T = instance.__dict__[self.attribute]
        return value

    def display(self, value: Any) -> str:
        """``value`` (as read for this row) the way ``check`` shows it: secrets masked, the rest as Python writes it."""
        if value is None:
            return "None"
        if self.show is not None:
            return self.show(value)
        if self.secret:
            return f"*** ({len(str(value))} chars)"
        if isinstance(value, str):
            return repr(redact_url(value))  # a URL setting may carry a password: never shown
        return repr(value)


# Parsers: (key, value as read) -> the attribute's value. Each error names its key.


def _text(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{key} must be a string, not {type(value).__name__}.")
    return value.strip() or None


def _as_read(key: str, value: str | None) -> str | None:
    return value


def _http_url(example: str) -> Callable[[str, Any], str | None]:
    def parse(key: str, url: str | None) -> str | None:
        problem = None if url is None else url_problem(url)
        if url is not None and problem is not None:
            raise ConfigurationError(
                f"{key} must be an absolute http(s) URL ({example}) without user info, backslash, whitespace "
                f"or control characters; {redact_url(url)!r} {problem}."
            )
        return url

    return parse


def _optional_str(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{key} must be a string or None, not {value!r}.")
    return value


def _path_or_root(key: str, value: Any) -> str:
    return _optional_str(key, value) or "/"


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{key} must be True or False, not {value!r}.")
    return value


def _seconds(minimum: float) -> Callable[[str, Any], float]:
    def parse(key: str, value: Any) -> float:
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < minimum
        ):
            raise ConfigurationError(f"{key} must be a number of seconds of at least {minimum:g}, not {value!r}.")
        return float(value)

    return parse


def _count(key: str, value: Any) -> int:
    return int(_seconds(0)(key, value))


def _or_none(parse: Callable[[str, Any], T]) -> Callable[[str, Any], T | None]:
    def parse_or_none(key: str, value: Any) -> T | None:
        return None if value is None else parse(key, value)

    return parse_or_none


def _one_of(*choices: str) -> Callable[[str, Any], str]:
    def parse(key: str, value: Any) -> str:
        if value not in choices:
            raise ConfigurationError(f"{key} must be {' or '.join(map(repr, choices))}, not {value!r}.")
        return str(value)

    return parse


def _cookie_name(key: str, value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value or ";" in value):
        raise ConfigurationError(f"{key} must be a cookie name or None, not {value!r}.")
    return value


def _cookie_secure(key: str, value: Any) -> bool | None:
    if value == "auto":
        return None  # Secure exactly on https requests
    if not isinstance(value, bool):
        raise ConfigurationError(f"{key} must be 'auto', True or False, not {value!r}.")
    return value


def _samesite(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.capitalize() not in ("Lax", "Strict", "None"):
        raise ConfigurationError(f"{key} must be 'Lax', 'Strict', 'None' or None, not {value!r}.")
    return value.capitalize()


def _local_path(key: str, value: Any) -> str:
    # Browsers and urljoin drop tabs and newlines and read "\" as "/": "/\t/evil.example"
    # and "/\evil.example" both lead to another host. One "/", then no second "/" or "\",
    # and no whitespace or control character anywhere.
    if (
        not isinstance(value, str)
        or not value.startswith("/")
        or value[1:2] in ("/", "\\")
        or any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in value)
    ):
        raise ConfigurationError(
            f"{key} must be a path on this app: one leading '/' and no second '/' or '\\' after it, "
            f"no spaces or control characters (e.g. '/goodbye'), not {value!r}."
        )
    return value


def _route_or_none(key: str, value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.startswith("/")):
        raise ConfigurationError(f"{key} must be a path starting with '/' or None, not {value!r}.")
    return value


def _cache(key: str, value: Any) -> SharedStore:
    return build_cache(value)


def _api_uri(key: str, value: str | None) -> ApiUri | None:
    if value is None:
        return None
    try:
        return parse_api_uri(value)
    except ValueError as exc:  # its message never repeats the URI: it holds a key
        raise ConfigurationError(
            f"{key} {exc}; write it as https://<api key>:<realm>@api-e2.authrocket.com/v2 (the Ruby gem's form), "
            "or set AUTHROCKET_URL and AUTHROCKET_API_KEY instead."
        ) from None


def _ca_bundle(key: str, value: Any) -> str | None:
    path = _optional_str(key, value)
    problem = None if path is None else ca_bundle_problem(path)
    if problem is not None:
        raise ConfigurationError(
            f"{key} {path!r} {problem}; give the path of a PEM file of the CA certificates to trust "
            "(your TLS-inspecting proxy's). Certificate checks are never turned off."
        )
    return path


# Display: what ``check`` may show of a value.


def mask_api_key(value: str) -> str:
    """An API key as it may be shown: its kind prefix and last four characters (``"ks_...3f9a"``).

    A key shorter than 16 characters shows only its length (``"ks_... (12 chars)"``).
    """
    prefix, sep, _ = value.partition("_")
    shown_prefix = prefix + sep if sep and len(prefix) <= 4 else ""
    if len(value) < 16:
        return f"{shown_prefix}... ({len(value)} chars)"
    return f"{shown_prefix}...{value[-4:]}"


def without_password(url: str) -> str:
    """``url`` with its password replaced by ``***`` (``redis://:***@host:6379/0``).

    Also a user name without a password (``https://***@host/``) and the values
    of query parameters named like a secret (``?password=***``): see
    :func:`flask_authrocket.logs.redact_url`.
    """
    return redact_url(url)


def _show_api_key(value: Any) -> str:
    return mask_api_key(str(value))


def _show_api_uri(value: Any) -> str:
    try:
        return repr(parse_api_uri(str(value)).masked())
    except ValueError:
        return "*** (unusable)"


def _show_cache(value: Any) -> str:
    if isinstance(value, str):
        return repr(without_password(value))
    return f"<{type(value).__module__}.{type(value).__name__}>"  # a cache object: its class, never its state


class Settings:
    """The checked settings of one app (see the configuration table in the docs).

    Built by :meth:`from_config` at ``init_app`` and frozen. Each attribute is
    the parsed value of one row below; :attr:`sources` says where each value
    came from and :meth:`shown` how ``check`` displays it.
    """

    # The table: one row per setting, in the order ``check`` lists them.
    loginrocket_url = Setting(
        "LOGINROCKET_URL", None, _http_url("e.g. https://myapp.e2.loginrocket.com/"), environment=True
    )
    jwt_key = Setting("AUTHROCKET_JWT_KEY", None, _as_read, environment=True, secret=True)
    api_url = Setting("AUTHROCKET_URL", None, _http_url("e.g. https://api-e2.authrocket.com/v2"), environment=True)
    api_key = Setting("AUTHROCKET_API_KEY", None, _as_read, environment=True, secret=True, show=_show_api_key)
    realm = Setting("AUTHROCKET_REALM", None, _as_read, environment=True)
    service = Setting("AUTHROCKET_SERVICE", None, _as_read, environment=True)
    #: The API URL with its key and realm inside (the Ruby gem's AUTHROCKET_URI); fills the four above when unset.
    api_uri = Setting("AUTHROCKET_URI", None, _api_uri, environment=True, secret=True, show=_show_api_uri)
    locale = Setting("AUTHROCKET_LOCALE", None, _optional_str)
    cookie_name = Setting("AUTHROCKET_COOKIE_NAME", "arToken", _cookie_name)
    cookie_secure = Setting("AUTHROCKET_COOKIE_SECURE", "auto", _cookie_secure)  # None: "auto"
    cookie_samesite = Setting("AUTHROCKET_COOKIE_SAMESITE", "Lax", _samesite)
    cookie_httponly = Setting("AUTHROCKET_COOKIE_HTTPONLY", True, _flag)
    cookie_domain = Setting("AUTHROCKET_COOKIE_DOMAIN", None, _optional_str)
    cookie_path = Setting("AUTHROCKET_COOKIE_PATH", "/", _path_or_root)
    cookie_max_age = Setting("AUTHROCKET_COOKIE_MAX_AGE", None, _or_none(_count))
    leeway = Setting("AUTHROCKET_LEEWAY", 5, _seconds(0))
    token_within = Setting("AUTHROCKET_TOKEN_WITHIN", None, _or_none(_seconds(1)))
    token_cache_size = Setting("AUTHROCKET_TOKEN_CACHE_SIZE", 1024, _count)
    logout_url = Setting("AUTHROCKET_LOGOUT_URL", "/logout", _route_or_none)
    logout = Setting("AUTHROCKET_LOGOUT", "full", _one_of("full", "local"))
    post_logout_path = Setting("AUTHROCKET_POST_LOGOUT_PATH", "/", _local_path)
    logout_message = Setting("AUTHROCKET_LOGOUT_MESSAGE", "You have been logged out.", _optional_str)
    require_login = Setting("AUTHROCKET_REQUIRE_LOGIN", False, _flag)
    http_timeout = Setting("AUTHROCKET_HTTP_TIMEOUT", 5, _seconds(0.001))
    jwks_ttl = Setting("AUTHROCKET_JWKS_TTL", 3600, _seconds(1))
    jwks_min_interval = Setting("AUTHROCKET_JWKS_MIN_INTERVAL", 30, _seconds(0))
    #: Seconds the last good key set stands past its TTL while fetches fail; then tokens are unavailable.
    jwks_max_stale = Setting("AUTHROCKET_JWKS_MAX_STALE", 86400, _seconds(0))
    managed_sessions = Setting("AUTHROCKET_MANAGED_SESSIONS", False, _flag)
    session_check_ttl = Setting("AUTHROCKET_SESSION_CHECK_TTL", 300, _seconds(1))
    session_check_failure = Setting("AUTHROCKET_SESSION_CHECK_FAILURE", "open", _one_of("open", "closed"))
    #: Seconds a session confirmed alive keeps working while the API cannot answer; None: 3 TTLs.
    session_check_grace = Setting("AUTHROCKET_SESSION_CHECK_GRACE", None, _or_none(_seconds(0)))
    #: Seconds a worker trusts its own fresh "known" answer before it reads the shared cache again;
    #: 0: every request reads it, so a logout through any worker counts at once.
    session_check_local_ttl = Setting("AUTHROCKET_SESSION_CHECK_LOCAL_TTL", 0, _seconds(0))
    #: The store shared by session checks and API GETs: Redis in any topology, or in-process by default.
    cache = Setting("AUTHROCKET_CACHE", None, _cache, show=_show_cache)
    #: A PEM file of CA certificates for key fetches and API calls (a TLS-inspecting proxy's).
    ca_bundle = Setting("AUTHROCKET_CA_BUNDLE", None, _ca_bundle)

    #: Where each key's value came from. Keys of :data:`ENVIRONMENT_KEYS`: ``"config"``,
    #: ``"environment"`` or ``"unset"``; keys of :data:`DEFAULTS`: ``"config"`` or ``"default"``.
    sources: Mapping[str, str]
    #: Each key's value as read (config, environment or default), before parsing: what ``check`` shows.
    _read: Mapping[str, Any]

    def __init__(self, values: Mapping[str, Any], *, sources: Mapping[str, str], read: Mapping[str, Any]) -> None:
        """Settings from parsed ``values`` by attribute name; use :meth:`from_config` to read a config."""
        self.__dict__.update(values, sources=sources, _read=read)

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

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
        present in ``config`` counts as set by the app. Raises
        :class:`ConfigurationError` naming the key of a value that cannot be used.
        """
        environ = os.environ if environ is None else environ
        if configured is None:
            configured = frozenset(key for key in DEFAULTS if key in config)
        read: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for row in SETTINGS:
            if row.environment:
                value, source = config.get(row.key), "config"
                if value is None or value == "":
                    value = environ.get(row.key) or None
                    source = "environment" if value else "unset"
                read[row.key] = _text(row.key, value)  # the environment is text, and so must these keys be
            else:
                read[row.key] = config.get(row.key, row.default)
                source = "config" if row.key in configured else "default"
            sources[row.key] = source
        values = {row.attribute: row.parse(row.key, read[row.key]) for row in SETTINGS}
        _check_together(values)
        return cls(values, sources=sources, read=read)

    def shown(self, key: str) -> str:
        """The value of ``key`` as ``flask authrocket check`` shows it: masked when secret.

        ``AUTHROCKET_API_KEY`` as ``"ks_...3f9a"``, a ``redis://`` URL in
        ``AUTHROCKET_CACHE`` with its password as ``***`` (a cache object as
        ``<module.ClassName>``), ``AUTHROCKET_JWT_KEY`` as its length only, the
        others as Python writes the value the app gave (``'auto'``, ``30``).
        Raises :class:`KeyError` for a key that is not a setting.
        """
        return setting(key).display(self._read[key])


def _check_together(values: dict[str, Any]) -> None:
    """The rules between settings, on the parsed ``values`` by attribute (which it may complete)."""
    _fill_from_api_uri(values)
    if values["jwt_key"] is None and values["loginrocket_url"] is None:
        raise ConfigurationError(
            "Neither LOGINROCKET_URL nor AUTHROCKET_JWT_KEY is set, so no login token can be verified. "
            "Set LOGINROCKET_URL to your LoginRocket URL (Realm -> Integration -> Using LoginRocket); for local "
            "work, run `python -m flask_authrocket.dev` (a development LoginRocket) and set "
            "LOGINROCKET_URL=http://127.0.0.1:5001/."
        )
    if values["cookie_samesite"] == "None":
        if values["cookie_secure"] is False:
            raise ConfigurationError(
                "AUTHROCKET_COOKIE_SAMESITE = 'None' needs a Secure cookie; set AUTHROCKET_COOKIE_SECURE to True."
            )
        values["cookie_secure"] = True  # browsers drop SameSite=None cookies that are not Secure, even over http
    _check_cookie_prefix(values)
    if values["managed_sessions"]:
        for key, attribute in (("AUTHROCKET_URL", "api_url"), ("AUTHROCKET_API_KEY", "api_key")):
            if values[attribute] is None:
                raise ConfigurationError(
                    f"AUTHROCKET_MANAGED_SESSIONS checks sessions through the Core API, which needs {key}; "
                    f"set it (Realm -> Integration -> API keys), or turn AUTHROCKET_MANAGED_SESSIONS off."
                )


#: What ``AUTHROCKET_URI`` holds: each part's attribute and the setting it stands for.
_URI_PARTS = (
    ("api_url", "url", "AUTHROCKET_URL"),
    ("api_key", "api_key", "AUTHROCKET_API_KEY"),
    ("realm", "realm", "AUTHROCKET_REALM"),
    ("service", "service", "AUTHROCKET_SERVICE"),
    ("jwt_key", "jwt_key", "AUTHROCKET_JWT_KEY"),
)


def _fill_from_api_uri(values: dict[str, Any]) -> None:
    """Complete the settings ``AUTHROCKET_URI`` holds a part of; a part set both ways must agree.

    As the Ruby gem (authrocket-ruby ``lib/authrocket/api/api_config.rb``), the URI's API key,
    realm, service and JWT key are read from its user info; here a setting given on its own
    and in the URI with another value is an error rather than a silent choice.
    """
    uri: ApiUri | None = values["api_uri"]
    if uri is None:
        return
    for attribute, part, key in _URI_PARTS:
        given, inside = values[attribute], getattr(uri, part)
        if inside is None:
            continue
        if given is not None and str(given).rstrip("/") != inside:
            raise ConfigurationError(f"AUTHROCKET_URI and {key} are both set and disagree; set only one of them.")
        values[attribute] = inside


def _check_cookie_prefix(values: dict[str, Any]) -> None:
    """A ``__Host-`` or ``__Secure-`` cookie name has rules browsers enforce by dropping the cookie: say so at once.

    ``__Host-`` (recommended, docs/security.md "Cookie tossing"): Secure, ``Path=/``, no ``Domain``,
    so no sibling subdomain can set one. ``__Secure-``: Secure. Both are written Secure always:
    browsers accept Secure cookies from ``http://localhost`` too.
    """
    name = values["cookie_name"] or ""
    if not name.startswith(("__Host-", "__Secure-")):
        return
    prefix = name.split("-", 1)[0] + "-"
    if values["cookie_secure"] is False:
        raise ConfigurationError(
            f"AUTHROCKET_COOKIE_NAME {name!r} needs a Secure cookie (browsers drop a {prefix} cookie without it); "
            "leave AUTHROCKET_COOKIE_SECURE at 'auto' or set it to True."
        )
    values["cookie_secure"] = True
    if prefix == "__Host-" and values["cookie_domain"] is not None:
        raise ConfigurationError(
            f"AUTHROCKET_COOKIE_NAME {name!r} cannot have a Domain (browsers drop a __Host- cookie with one); "
            "unset AUTHROCKET_COOKIE_DOMAIN, or name the cookie without __Host- to share it with subdomains."
        )
    if prefix == "__Host-" and values["cookie_path"] != "/":
        raise ConfigurationError(
            f"AUTHROCKET_COOKIE_NAME {name!r} needs AUTHROCKET_COOKIE_PATH '/' (browsers drop a __Host- cookie "
            f"with any other path), not {values['cookie_path']!r}."
        )


#: Every setting, in the order ``check`` lists them.
SETTINGS: tuple[Setting[Any], ...] = tuple(row for row in vars(Settings).values() if isinstance(row, Setting))

_BY_KEY: dict[str, Setting[Any]] = {row.key: row for row in SETTINGS}

#: Read from the environment when the Flask config leaves them unset (REFERENCE.md).
ENVIRONMENT_KEYS: tuple[str, ...] = tuple(row.key for row in SETTINGS if row.environment)

#: Every other key, with its default (set once, together, with ``setdefault``).
DEFAULTS: dict[str, Any] = {row.key: row.default for row in SETTINGS if not row.environment}


def setting(key: str) -> Setting[Any]:
    """The row of the setting named ``key`` (``setting("AUTHROCKET_LEEWAY").default == 5``).

    Raises :class:`KeyError` for a key that is not a setting.
    """
    return _BY_KEY[key]


# Keys that look like settings but are not: a misspelt setting is ignored, which is never what was meant.

#: The prefixes of the setting keys: a config key or environment variable with one of them that is not a
#: setting is most likely a misspelt one.
SETTING_PREFIXES = ("AUTHROCKET_", "LOGINROCKET_")
#: Environment variables that share a prefix with the settings but belong to this project's own
#: tools (``make run`` reads ``LOGINROCKET_PORT``); they are never flagged.
NOT_SETTINGS = frozenset({"LOGINROCKET_PORT"})


@dataclass(frozen=True)
class UnknownSetting:
    """A config key or environment variable named like a setting that is not read as one (its value is never kept).

    ``source`` is ``"config"`` or ``"environment"``; ``suggestion`` the setting
    it most likely means (``None`` when none is close); ``config_only`` is true
    for a setting that is read from the app's config but was found in the environment.
    """

    key: str
    source: str
    suggestion: str | None = None
    config_only: bool = False

    def describe(self) -> str:
        """``"AUTHROCKET_COOKIE_SECURED (in the app's config) is not a setting; did you mean ...?"``."""
        where = "the app's config" if self.source == "config" else "the environment"
        if self.config_only:
            return (
                f"{self.key} (in {where}) is read from the app's config only, never from the environment "
                f"(which gives only {', '.join(ENVIRONMENT_KEYS)})."
            )
        hint = f"; did you mean {self.suggestion}?" if self.suggestion else "."
        return f"{self.key} (in {where}) is not a setting{hint}"


def unknown_settings(
    config: Mapping[str, Any], environ: Mapping[str, str] | None = None, *, configured: Collection[str] | None = None
) -> list[UnknownSetting]:
    """Every ``AUTHROCKET_*`` / ``LOGINROCKET_*`` key of ``config`` and ``environ`` that is not read as a setting.

    A key that is no setting comes with the setting it most likely means
    (:func:`difflib.get_close_matches`, over the part after the prefix, so
    ``LOGINROCKET_JWT_KEY`` suggests ``AUTHROCKET_JWT_KEY``). An environment
    variable that names a config-only setting (``AUTHROCKET_LEEWAY``) is
    flagged too, unless ``configured`` (by default the setting keys in
    ``config``) says the app set that key itself. The names in
    :data:`NOT_SETTINGS` are never flagged. Config keys come first, then the
    environment, each sorted; values are never read.
    """
    environ = os.environ if environ is None else environ
    if configured is None:
        configured = frozenset(key for key in _BY_KEY if key in config)
    found = [
        UnknownSetting(key, "config", _closest_setting(key))
        for key in sorted(k for k in config if isinstance(k, str) and k.startswith(SETTING_PREFIXES))
        if key not in _BY_KEY
    ]
    for key in sorted(k for k in environ if k.startswith(SETTING_PREFIXES) and k not in NOT_SETTINGS):
        if key not in _BY_KEY:
            found.append(UnknownSetting(key, "environment", _closest_setting(key)))
        elif key not in ENVIRONMENT_KEYS and key not in configured:
            found.append(UnknownSetting(key, "environment", config_only=True))
    return found


def warn_unknown_settings(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> None:
    """Log a warning for each key :func:`unknown_settings` finds (``init_app`` calls it once per app)."""
    for unknown in unknown_settings(config, environ):
        logger.warning("%s It is ignored.", unknown.describe())


def _closest_setting(key: str) -> str | None:
    # Matched after the prefix: every key shares "AUTHROCKET_", which would make any two look alike.
    # A suffix both prefixes have (URL) means the one of the key's own prefix.
    prefix = next(p for p in SETTING_PREFIXES if key.startswith(p))
    by_suffix: dict[str, str] = {}
    for known in sorted(_BY_KEY, key=lambda k: k.startswith(prefix)):
        by_suffix[known.split("_", 1)[1]] = known
    matches = difflib.get_close_matches(key[len(prefix) :], by_suffix, n=1)
    return by_suffix[matches[0]] if matches else None
