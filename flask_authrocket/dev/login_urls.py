"""Which ``redirect_uri`` the development LoginRocket follows, and how the token is added.

AuthRocket's rule: a ``redirect_uri`` is followed when it is "equal or more
specific" than one of the realm's Login URLs, else the default (first) Login
URL is used. Here "more specific" means the same scheme, host and port, and a
path *under* the Login URL's path: ``/app`` allows ``/app`` and ``/app/x``,
never ``/application``. Anything a browser might read differently from us
(dot segments, backslashes, encoded slashes, credentials, control characters)
is refused rather than guessed at: an open redirect would hand out tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from ..errors import ConfigurationError

_DEFAULT_PORTS = {"http": 80, "https": 443}


def check_login_urls(login_urls: Sequence[str], *, setting: str = "DEV_LOGINROCKET_LOGIN_URLS") -> list[str]:
    """Return ``login_urls`` as a list, or raise :class:`ConfigurationError` naming ``setting``.

    Each Login URL must be an absolute ``http(s)`` URL with a host; at least one is needed.
    """
    urls = list(login_urls)
    if not urls:
        raise ConfigurationError(f"{setting} is empty; give at least one Login URL, e.g. http://127.0.0.1:5000/")
    for url in urls:
        if not isinstance(url, str) or _origin(url) is None:
            raise ConfigurationError(
                f"{setting} holds {url!r}, which is not an absolute http(s) URL; use e.g. http://127.0.0.1:5000/"
            )
    return urls


def is_allowed_redirect(uri: str, login_urls: Sequence[str]) -> bool:
    """True when ``uri`` is equal to, or more specific than, one of ``login_urls``."""
    if not uri or any(char <= " " or char in "\\\x7f" for char in uri):
        return False
    origin = _origin(uri)
    if origin is None:
        return False
    path = urlsplit(uri).path or "/"
    lowered = path.lower()
    if "%2f" in lowered or "%5c" in lowered:
        return False
    if any(unquote(segment) in (".", "..") for segment in path.split("/")):
        return False
    for login_url in login_urls:
        if _origin(login_url) != origin:
            continue
        base = (urlsplit(login_url).path or "/").rstrip("/")
        if not base or path.rstrip("/") == base or path.startswith(base + "/"):
            return True
    return False


def redirect_target(uri: str | None, login_urls: Sequence[str]) -> str:
    """``uri`` when it is allowed, else the default Login URL (the first one)."""
    if uri and is_allowed_redirect(uri, login_urls):
        return uri
    return login_urls[0]


def with_token(uri: str, token: str) -> str:
    """``uri`` with ``token=<token>`` added to its query (after ``&`` when it has one).

    A ``token`` parameter already in ``uri`` is dropped, so the app never sees a stale one first.
    """
    parts = urlsplit(uri)
    query = [item for item in parts.query.split("&") if item and item.split("=", 1)[0] != "token"]
    query.append("token=" + quote(token, safe=""))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(query), parts.fragment))


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS[scheme]
