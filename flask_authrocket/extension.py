"""AuthRocket: the Flask extension. Settings, the request hook, the cookie, the answers.

One request, as AuthRocket's Express middleware does it (and a little better):

1. ``?token=`` on a GET: a valid token becomes the session, is stored in the
   cookie, and the answer is a 302 to the same URL without ``token``,
   ``account`` and ``session``. An invalid one is ignored.
2. ``Authorization: Bearer <token>``: a valid token becomes the session (no cookie).
3. The cookie: a valid token becomes the session; an invalid one is cleared.
   A token that could not be checked because the keys are unreachable is
   *unavailable*: the cookie is kept and guarded views answer 503.

Requests that carry no token do no verification work at all.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, current_app, g, has_request_context, redirect, request
from werkzeug.wrappers import Response

from . import guards, views
from .cli import authrocket as authrocket_commands
from .errors import LoginRequired, LoginUnavailable, PermissionDenied
from .managed import SessionCheck, SessionState
from .models import Session
from .request import AuthRocketRequest, app_origin
from .settings import DEFAULTS, ENVIRONMENT_KEYS, Settings
from .signals import session_verified, token_rejected
from .tokens import Rejection, TokenVerifier

if TYPE_CHECKING:
    from .client import AuthRocketClient

logger = logging.getLogger("flask_authrocket")

H = TypeVar("H", bound=Callable[..., Any])

#: Browsers ignore cookies larger than this (name, value and attributes).
MAX_COOKIE_BYTES = 4096
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _AppState:
    """What the extension keeps for one app: its settings, verifier, API client and session check."""

    def __init__(self, settings: Settings, verifier: TokenVerifier) -> None:
        self.settings = settings
        self.verifier = verifier
        self._client: AuthRocketClient | None = None
        self._client_lock = threading.Lock()
        self.session_check: SessionCheck | None = None
        if settings.managed_sessions:
            # Its own client, without retries: a request waits at most one
            # AUTHROCKET_HTTP_TIMEOUT for the API, then the failure mode decides.
            self.session_check = SessionCheck(
                self._new_client(retries=0).sessions,
                settings.cache,
                ttl=settings.session_check_ttl,
                failure=settings.session_check_failure,
            )

    @property
    def client(self) -> AuthRocketClient:
        """The app's Core API client, built on first use from its settings."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._new_client()
        return self._client

    def _new_client(self, **options: Any) -> AuthRocketClient:
        from .client import AuthRocketClient

        settings = self.settings
        return AuthRocketClient(
            url=settings.api_url,
            api_key=settings.api_key,
            realm=settings.realm,
            service=settings.service,
            locale=settings.locale,
            timeout=settings.http_timeout,
            cache=settings.cache,
            **options,
        )

    def verify(self, token: str) -> Session | Rejection:
        """Verify ``token``; with managed sessions, also ask the API whether its session lives."""
        result = self.verifier.verify(token)
        if self.session_check is None or not isinstance(result, Session):
            return result
        state = self.session_check.state(result)
        if state is SessionState.KNOWN:
            return result
        if state is SessionState.ENDED:
            return Rejection("session_ended", "the session was logged out")
        return Rejection("session_unavailable", "the AuthRocket API could not confirm the session", unavailable=True)


class AuthRocket:
    """The flask-authrocket extension.

    >>> app = Flask(__name__)                 # doctest: +SKIP
    >>> app.config["LOGINROCKET_URL"] = "https://myapp.e2.loginrocket.com/"
    >>> authrocket = AuthRocket(app)          # or AuthRocket() then init_app(app)

    After ``init_app``, every request has ``g.authrocket`` (an
    :class:`~flask_authrocket.request.AuthRocketRequest`), templates have
    ``authrocket``, and ``app.extensions["authrocket"]`` is this object.
    One instance may serve several apps.
    """

    def __init__(self, app: Flask | None = None) -> None:
        self._states: weakref.WeakKeyDictionary[Flask, _AppState] = weakref.WeakKeyDictionary()
        self._unauthorized_callback: Callable[..., Any] | None = None
        self._forbidden_callback: Callable[..., Any] | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the extension on ``app``: settings, request hook, handlers, logout route.

        Raises :class:`~flask_authrocket.ConfigurationError` naming the setting
        when one is set but unusable, or when neither ``LOGINROCKET_URL`` nor
        ``AUTHROCKET_JWT_KEY`` is set.
        """
        if "authrocket" in app.extensions:
            raise RuntimeError("AuthRocket is already registered on this app; use that instance.")
        configured = frozenset(key for key in DEFAULTS if key in app.config)  # before the defaults fill in
        for key in ENVIRONMENT_KEYS:
            app.config.setdefault(key, None)
        for key, default in DEFAULTS.items():
            app.config.setdefault(key, default)
        settings = Settings.from_config(app.config, configured=configured)
        verifier = TokenVerifier(
            jwt_key=settings.jwt_key,
            loginrocket_url=settings.loginrocket_url,
            leeway=settings.leeway,
            within=settings.token_within,
            jwks_ttl=settings.jwks_ttl,
            jwks_min_interval=settings.jwks_min_interval,
            http_timeout=settings.http_timeout,
            cache_size=settings.token_cache_size,
        )
        state = _AppState(settings, verifier)
        self._states[app] = state
        app.extensions["authrocket"] = self

        def load_session() -> Response | None:
            # Always built afresh: g lives in the app context, which an outer
            # `with app.app_context():` keeps across requests.
            return _load_request(state, g._get_current_object())._login_redirect

        # First of all before-request functions, so that every other hook and
        # guard already sees the session.
        app.before_request_funcs.setdefault(None, []).insert(0, load_session)
        app.context_processor(_template_context)
        app.register_error_handler(LoginRequired, self._answer_login_required)
        app.register_error_handler(PermissionDenied, self._answer_permission_denied)
        app.register_error_handler(LoginUnavailable, guards.login_unavailable_response)

        if settings.logout_url is not None:
            logout_view = views.full_logout if settings.logout == "full" else views.local_logout
            if settings.logout == "full" and not settings.loginrocket_url:
                logger.warning(
                    "AUTHROCKET_LOGOUT is 'full' but LOGINROCKET_URL is not set; %s cannot log out of "
                    "LoginRocket and returns to this app%s.",
                    settings.logout_url,
                    " (managed sessions are still ended through the API)" if settings.managed_sessions else "",
                )
            app.add_url_rule(settings.logout_url, guards.LOGOUT_ENDPOINT, logout_view, methods=["GET", "POST"])
        if settings.require_login:
            guards.protect(app)
        app.cli.add_command(authrocket_commands)

    # -- per-app state ------------------------------------------------------

    def _state(self, app: Flask | None = None) -> _AppState:
        target = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            return self._states[target]
        except KeyError:
            raise RuntimeError("This AuthRocket instance is not registered on this app; call init_app(app).") from None

    @property
    def settings(self) -> Settings:
        """The checked settings of the current app."""
        return self._state().settings

    @property
    def client(self) -> AuthRocketClient:
        """The current app's Core API client, configured from ``AUTHROCKET_URL``, ``AUTHROCKET_API_KEY`` ...

        >>> authrocket.client.users.get("usr_0vKhXCrhd5Gp4wXY7h2aaz")  # doctest: +SKIP
        """
        return self._state().client

    @property
    def session_check(self) -> SessionCheck | None:
        """The managed-sessions check of the current app, or ``None`` when they are off."""
        return self._state().session_check

    @property
    def verifier(self) -> TokenVerifier:
        """The :class:`~flask_authrocket.tokens.TokenVerifier` of the current app."""
        return self._state().verifier

    def load_request(self) -> AuthRocketRequest:
        """Build ``g.authrocket`` for the current request now (normally the hook does it)."""
        found: AuthRocketRequest | None = g.get("authrocket")
        return found if found is not None else _load_request(self._state())

    # -- replaceable answers ------------------------------------------------

    def unauthorized_handler(self, callback: H) -> H:
        """Register the answer for requests that need a login and have none.

        The callback takes no argument, or the :class:`LoginRequired` error
        (whose ``rejection`` says why a sent token did not count), and returns
        anything a Flask view may return.
        """
        self._unauthorized_callback = callback
        return callback

    def forbidden_handler(self, callback: H) -> H:
        """Register the answer for a missing permission (no argument, or the
        :class:`PermissionDenied` error with its ``missing`` names)."""
        self._forbidden_callback = callback
        return callback

    def _answer_login_required(self, error: LoginRequired) -> Response:
        if self._unauthorized_callback is not None:
            return guards.call_handler(self._unauthorized_callback, error)
        return guards.login_required_response(error)

    def _answer_permission_denied(self, error: PermissionDenied) -> Response:
        if self._forbidden_callback is not None:
            return guards.call_handler(self._forbidden_callback, error)
        return guards.permission_denied_response(error)


def _load_request(state: _AppState, app_globals: Any = None) -> AuthRocketRequest:
    """Turn the query token, the Bearer header or the cookie into ``g.authrocket``.

    This runs on every request, so it reads the WSGI environ directly and does
    nothing more when no token was sent.
    """
    settings = state.settings
    authrocket = AuthRocketRequest(settings)
    target = app_globals if app_globals is not None else g
    target.authrocket = authrocket
    req = request._get_current_object()  # type: ignore[attr-defined]
    environ = req.environ
    method = req.method
    verify = state.verify if state.session_check is not None else state.verifier.verify

    # 1. ?token= on GET. A cheap byte test first: most requests have no token.
    if method == "GET" and b"token=" in req.query_string:
        token = req.args.get("token")
        if token:
            result = verify(token)
            if isinstance(result, Session):
                authrocket.current_session = result
                authrocket.token_source = "query"
                if session_verified.receivers:
                    _announce_session(result, "query")
                if _cookie_can_hold(settings, result):
                    authrocket._store_cookie(result)
                    answer = redirect(authrocket.safe_this_uri(), 302)
                    answer.headers["Cache-Control"] = "no-store"
                    authrocket._login_redirect = answer
                return authrocket
            _note_rejection(authrocket, result, "query")

    # 2. Authorization: Bearer <token> (the scheme is case-insensitive).
    authorization = environ.get("HTTP_AUTHORIZATION")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer" and credentials:
            authrocket.bearer_sent = True
            result = verify(credentials)
            if isinstance(result, Session):
                authrocket.current_session = result
                authrocket.token_source = "bearer"
                if session_verified.receivers:
                    _announce_session(result, "bearer")
                return authrocket
            _note_rejection(authrocket, result, "bearer")

    # 3. The cookie.
    cookie_name = settings.cookie_name
    if cookie_name:
        token = _cookie_value(req, cookie_name)
        if token:
            if method in _UNSAFE_METHODS and _is_cross_site():
                # A form post from another site: the browser attached the
                # cookie, but the user did not mean to act here.
                authrocket.cross_site = True
                logger.debug(
                    "A cross-site %s to %s came with the login cookie; it is not logged in by it "
                    "(Origin %r, Sec-Fetch-Site %r).",
                    method,
                    req.path,
                    req.headers.get("Origin"),
                    req.headers.get("Sec-Fetch-Site"),
                )
                return authrocket
            result = verify(token)
            if isinstance(result, Session):
                authrocket.current_session = result
                authrocket.token_source = "cookie"
                if session_verified.receivers:
                    _announce_session(result, "cookie")
            else:
                _note_rejection(authrocket, result, "cookie")
                if not result.unavailable:
                    authrocket.clear_cookie()
    return authrocket


def _cookie_value(req: Any, name: str) -> str | None:
    """The value of cookie ``name``, without parsing every cookie of the request.

    Login tokens are base64url and dots, never quoted; anything unusual is
    left to Werkzeug's full parser, so the answer is always Werkzeug's.
    """
    raw: str | None = req.environ.get("HTTP_COOKIE")
    if not raw or name not in raw:
        return None
    for part in raw.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            if '"' in value or "\\" in value or "%" in value:
                break
            return value.strip() or None
    found: str | None = req.cookies.get(name)
    return found


def _announce_session(session: Session, source: str) -> None:
    session_verified.send(current_app._get_current_object(), session=session, source=source)  # type: ignore[attr-defined]


def _note_rejection(authrocket: AuthRocketRequest, rejection: Rejection, source: str) -> None:
    if token_rejected.receivers:
        token_rejected.send(current_app._get_current_object(), rejection=rejection, source=source)  # type: ignore[attr-defined]
    if rejection.unavailable:
        authrocket.unavailable = True
    if authrocket.rejection is None or rejection.unavailable:
        authrocket.rejection = rejection


def _is_cross_site() -> bool:
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    return origin is not None and origin != app_origin()


def _cookie_can_hold(settings: Settings, session: Session) -> bool:
    if not settings.cookie_name:
        return False
    if len(settings.cookie_name) + 1 + len(session.token) > MAX_COOKIE_BYTES:
        logger.warning(
            "A login token of %d bytes is too large for a cookie (browsers keep at most %d); "
            "the request is logged in but the login will not be remembered. "
            "Leave custom attributes out of the realm's JWT fields to shrink it.",
            len(session.token),
            MAX_COOKIE_BYTES,
        )
        return False
    return True


def _template_context() -> dict[str, Any]:
    if not has_request_context():
        return {}
    authrocket = g.get("authrocket")
    if authrocket is None:
        authrocket = current_app.extensions["authrocket"].load_request()
    return {"authrocket": authrocket}
