"""What the development LoginRocket remembers about one browser, in its own signed cookie.

The cookie (``dev_loginrocket``, HttpOnly, SameSite=Lax) holds the id of the
browser's LoginRocket session, if logged in, and the browser's CSRF token. It
is signed with ``SECRET_KEY`` (itsdangerous), so neither can be forged; forms
carry the CSRF token in a hidden field and a POST is accepted only when the
two agree. Cookies are not separated by port, so the name is chosen not to
collide with the app's own cookies on ``127.0.0.1``.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

COOKIE_NAME = "dev_loginrocket"
#: How long a LoginRocket login lasts in the browser (seconds).
COOKIE_MAX_AGE = 14 * 24 * 3600
_SALT = "flask_authrocket.dev.browser"


@dataclass
class Browser:
    """The state of the current browser: its login (``session_id``) and its CSRF token."""

    session_id: str | None = None
    csrf_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    #: ``"set"`` or ``"clear"`` when the cookie must be written with the response.
    pending: str | None = None

    def log_in(self, session_id: str) -> None:
        """Remember ``session_id`` as this browser's LoginRocket login."""
        self.session_id = session_id
        self.pending = "set"

    def forget_login(self) -> None:
        """Drop a login that ended elsewhere, keeping the CSRF token of forms already shown."""
        self.session_id = None
        self.pending = "set"

    def log_out(self) -> None:
        """Forget the login and clear the cookie."""
        self.session_id = None
        self.pending = "clear"

    def csrf_matches(self, submitted: str | None) -> bool:
        """True when a form's ``csrf_token`` is this browser's."""
        return bool(submitted) and hmac.compare_digest(str(submitted), self.csrf_token)


def current_browser() -> Browser:
    """The browser of the current request, read from its cookie once per request."""
    if "dev_loginrocket_browser" not in g:
        g.dev_loginrocket_browser = _read_cookie()
    browser: Browser = g.dev_loginrocket_browser
    return browser


def write_cookie(response: Response) -> Response:
    """Write (or clear) the cookie when the request changed the browser's state."""
    browser: Browser | None = g.get("dev_loginrocket_browser")
    if browser is None or browser.pending is None:
        return response
    if browser.pending == "clear":
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Lax", secure=request.is_secure)
        return response
    value = _serializer().dumps({"sid": browser.session_id, "csrf": browser.csrf_token})
    response.set_cookie(
        COOKIE_NAME, value, max_age=COOKIE_MAX_AGE, path="/", httponly=True, samesite="Lax", secure=request.is_secure
    )
    return response


def _read_cookie() -> Browser:
    raw = request.cookies.get(COOKIE_NAME)
    if raw:
        try:
            data: Any = _serializer().loads(raw, max_age=COOKIE_MAX_AGE)
        except BadSignature:
            data = None
        if isinstance(data, dict) and isinstance(data.get("csrf"), str):
            session_id = data.get("sid")
            return Browser(session_id=session_id if isinstance(session_id, str) else None, csrf_token=data["csrf"])
    # A new (or unreadable) cookie: its CSRF token must reach the browser.
    return Browser(pending="set")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=_SALT)
