"""AuthRocket: the Flask extension. ``init_app``, the per-app state, ``verify``, the replaceable answers.

``init_app`` checks the settings once and registers the request hook
(:func:`flask_authrocket.hook.load_request`), which builds ``g.authrocket``
on every request; :meth:`AuthRocket.verify` is the step that hook and the
``flask authrocket`` commands share: verify a token, then apply managed sessions.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, current_app, has_request_context, request
from werkzeug.wrappers import Response

from . import guards, views
from .cookie import LoginCookie
from .errors import ConfigurationError, LoginRequired, LoginUnavailable, PermissionDenied
from .hook import RejectionWarnings, load_request, request_hook
from .logs import logger
from .models import Rejection, Session
from .request import LOGOUT_ENDPOINT, ON_REQUEST, AuthRocketRequest, current_authrocket
from .settings import DEFAULTS, ENVIRONMENT_KEYS, Settings, warn_unknown_settings
from .tokens import TokenVerifier

if TYPE_CHECKING:
    # Both pull in requests or cachelib: imported where used, so `import flask_authrocket` stays light.
    from .client import AuthRocketClient
    from .managed import SessionCheck, SessionState


H = TypeVar("H", bound=Callable[..., Any])


class _AppState:
    """What the extension keeps for one app: settings, verifier, login cookie, API client, session check."""

    def __init__(self, settings: Settings, verifier: TokenVerifier) -> None:
        self.settings = settings
        self.verifier = verifier
        self.cookie = LoginCookie.from_settings(settings)
        #: The app's log of rejected ``?token=`` values: once a minute per reason.
        self.rejection_warnings = RejectionWarnings()
        #: An API first (an APIFlask app): a failed guard answers JSON unless HTML is asked for.
        self.api_first = False
        self._client: AuthRocketClient | None = None
        self._client_lock = threading.Lock()
        self.session_check: SessionCheck | None = None
        self._session_answers: dict[SessionState, Rejection | None] = {}
        if settings.managed_sessions:
            from .managed import SessionCheck, SessionState

            # What each answer of the API makes of a verified token: None keeps its session.
            self._session_answers = {
                SessionState.KNOWN: None,
                SessionState.ENDED: Rejection("session_ended", "the session was logged out"),
                SessionState.UNAVAILABLE: Rejection(
                    "session_unavailable", "the AuthRocket API could not confirm the session", unavailable=True
                ),
            }
            # Its own client, without retries: a request waits at most one
            # AUTHROCKET_HTTP_TIMEOUT for the API, then the failure mode decides.
            self.session_check = SessionCheck(
                self._new_client(retries=0).sessions,
                settings.cache,
                ttl=settings.session_check_ttl,
                failure=settings.session_check_failure,
                grace=settings.session_check_grace,
                timeout=settings.http_timeout,
                local_ttl=settings.session_check_local_ttl,
            )
        #: The verify step of the request hook: without managed sessions, the verifier's own
        #: (one call less on every request that sends a token); with them, :meth:`verify`.
        self.verify_step: Callable[[str], Session | Rejection] = (
            self.verify if self.session_check is not None else verifier.verify
        )
        #: The request hook's first step for a login cookie: the session of a token verified
        #: earlier that still holds (with managed sessions, whose session was answered lately).
        self.known_step: Callable[[str], Session | None] = (
            self.known if self.session_check is not None else verifier.known
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
            ca_bundle=settings.ca_bundle,
            **options,
        )

    def known(self, token: str) -> Session | None:
        """With managed sessions: the session of ``token`` when it is known here and answered lately."""
        session = self.verifier.known(token)
        session_check = self.session_check
        if session is None or session_check is None or not session_check.known_lately(session):
            return None
        return session

    def verify(self, token: str) -> Session | Rejection:
        """Verify ``token``; with managed sessions, also ask the API whether its session lives."""
        result = self.verifier.verify(token)
        session_check = self.session_check
        if session_check is None or not isinstance(result, Session):
            return result
        rejection = self._session_answers[session_check.state(result)]
        return result if rejection is None else rejection


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
        _refuse_other_frameworks(app)
        if "authrocket" in app.extensions:
            raise RuntimeError("AuthRocket is already registered on this app; use that instance.")
        configured = frozenset(key for key in DEFAULTS if key in app.config)  # before the defaults fill in
        warn_unknown_settings(app.config)  # a misspelt setting is ignored: say so, once per app
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
            jwks_max_stale=settings.jwks_max_stale,
            http_timeout=settings.http_timeout,
            cache_size=settings.token_cache_size,
            ca_bundle=settings.ca_bundle,
        )
        state = _AppState(settings, verifier)
        self._states[app] = state
        app.extensions["authrocket"] = self
        guards.remember_app(app)  # the OpenAPI plugin finds an app from its routes' rules
        if _is_apiflask(app):
            # Imported for APIFlask apps only: it needs apispec, which APIFlask brings.
            from .openapi import document_apiflask

            state.api_first = True
            document_apiflask(app)

        load_session = request_hook(
            settings, state.cookie, state.verify_step, state.known_step, state.rejection_warnings
        )
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
            # Any method a logout link, form or script uses, as Express's app.use('/logout', ...).
            app.add_url_rule(settings.logout_url, LOGOUT_ENDPOINT, logout_view, methods=["GET", "POST", "DELETE"])
        if settings.require_login:
            guards.protect(app)
        # Imported here, as flask-sqlalchemy does: the commands import this module, and an app
        # that never runs `flask` never loads click's command tree.
        from .cli import authrocket as authrocket_commands

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

        >>> authrocket.client.users.find("usr_0vKhXCrhd5Gp4wXY7h2aaz")  # doctest: +SKIP
        """
        return self._state().client

    @property
    def api_first(self) -> bool:
        """Whether the current app is an API first (an APIFlask app).

        Its guards then answer JSON (401, 403, 503) to every client that does not ask for
        HTML explicitly (``Accept: text/html``): no ``Accept`` and ``Accept: */*`` get JSON,
        as a guard with ``api=True`` would answer them; a browser's navigation still goes
        to LoginRocket.
        """
        return self._state().api_first

    @property
    def session_check(self) -> SessionCheck | None:
        """The managed-sessions check of the current app, or ``None`` when they are off."""
        return self._state().session_check

    @property
    def verifier(self) -> TokenVerifier:
        """The :class:`~flask_authrocket.tokens.TokenVerifier` of the current app."""
        return self._state().verifier

    @property
    def cookie(self) -> LoginCookie:
        """The :class:`~flask_authrocket.cookie.LoginCookie` of the current app."""
        return self._state().cookie

    def verify(self, token: str, *, app: Flask | None = None) -> Session | Rejection:
        """Verify ``token`` for ``app`` (default: the current app), then apply managed sessions.

        Returns the :class:`Session`, or a :class:`Rejection` saying why the
        token does not count. With ``AUTHROCKET_MANAGED_SESSIONS``, a verified
        token whose session was logged out is ``Rejection("session_ended")``, and
        one the Core API could not confirm while failing closed is
        ``Rejection("session_unavailable", unavailable=True)``. The request hook
        takes this same step for every token a request sends.

        >>> result = authrocket.verify(token)     # doctest: +SKIP
        >>> result.user.id if isinstance(result, Session) else result.reason
        """
        return self._state(app).verify(token)

    def load_request(self) -> AuthRocketRequest:
        """Build ``g.authrocket`` for the current request now (normally the hook does it)."""
        # The request's own, not g's: an outer app context keeps g (and an old request's) across requests.
        found: AuthRocketRequest | None = request.__dict__.get(ON_REQUEST)
        if found is not None:
            return found
        state = self._state()
        return load_request(state.settings, state.cookie, state.verify_step, warnings=state.rejection_warnings)

    # -- replaceable answers ------------------------------------------------

    def unauthorized_handler(self, callback: H) -> H:
        """Register the answer for requests that need a login and have none.

        The callback takes no argument, or the :class:`LoginRequired` error
        (whose ``rejection`` says why a sent token did not count and
        ``source`` where it came from: ``"query"`` for a ``?token=`` that
        LoginRocket sent back and this app rejected), and returns anything a
        Flask view may return, or ``None`` for the default answer
        (:meth:`default_unauthorized`, which it may also call and adapt).

        Handlers belong to this extension instance, not to an app: one
        instance registered on several apps (an app factory with a
        module-level ``authrocket = AuthRocket()``, tests that build an app
        each) answers all of them with the last handler registered. Register
        handlers once, beside the instance; see docs/security.md.
        """
        self._unauthorized_callback = callback
        return callback

    def forbidden_handler(self, callback: H) -> H:
        """Register the answer for a missing permission.

        The callback takes no argument, or the :class:`PermissionDenied` error
        with its ``missing`` names, and returns anything a Flask view may
        return, or ``None`` for the default answer (:meth:`default_forbidden`).
        Like :meth:`unauthorized_handler`, it belongs to this instance and so
        answers every app the instance serves.
        """
        self._forbidden_callback = callback
        return callback

    def default_unauthorized(self, error: LoginRequired) -> Response:
        """The answer given to ``error`` when no handler replaces it, for handlers that wrap it.

        A 302 to LoginRocket's login page for browsers; a 401 page saying why
        when the request brought a rejected ``?token=`` (never a redirect that
        would loop); 401 JSON with ``WWW-Authenticate: Bearer`` for API clients
        and guards with ``api=True``. Call it inside a request.

        >>> @authrocket.unauthorized_handler          # doctest: +SKIP
        ... def login_first(error):
        ...     answer = authrocket.default_unauthorized(error)
        ...     answer.headers["X-Login"] = "required"
        ...     return answer
        """
        return guards.login_required_response(error)

    def default_forbidden(self, error: PermissionDenied) -> Response:
        """The answer given to a missing permission when no handler replaces it: 403, JSON for API clients."""
        return guards.permission_denied_response(error)

    def _answer_login_required(self, error: LoginRequired) -> Response:
        if self._unauthorized_callback is not None:
            answer = guards.call_handler(self._unauthorized_callback, error)
            if answer is not None:
                return answer
        return self.default_unauthorized(error)

    def _answer_permission_denied(self, error: PermissionDenied) -> Response:
        if self._forbidden_callback is not None:
            answer = guards.call_handler(self._forbidden_callback, error)
            if answer is not None:
                return answer
        return self.default_forbidden(error)


def _is_apiflask(app: Flask) -> bool:
    """Whether ``app`` is an APIFlask app, without importing APIFlask (an app of it has imported it)."""
    apiflask = sys.modules.get("apiflask")
    return apiflask is not None and isinstance(app, getattr(apiflask, "APIFlask", ()))


def _refuse_other_frameworks(app: object) -> None:
    """Refuse, at once and clearly, an app the extension cannot serve: a Quart app, or anything not Flask."""
    if isinstance(app, Flask):
        return
    quart = sys.modules.get("quart")
    if quart is not None and isinstance(app, getattr(quart, "Quart", ())):
        raise ConfigurationError(
            "AuthRocket(app) got a Quart app, and flask-authrocket works with Flask apps only: its request hook, "
            "guards and cookie use Flask's own request, g and responses, which Quart replaces with its "
            "asynchronous ones, so every guarded request would fail. What works: a Flask app (async def views "
            "too, with pip install 'flask[async]'), or, inside Quart, flask_authrocket.TokenVerifier, which "
            "verifies tokens without any framework (see the Quart page of the docs)."
        )
    raise ConfigurationError(
        f"AuthRocket(app) needs a Flask app (flask.Flask or a subclass of it), not {type(app).__name__!r}."
    )


def _template_context() -> dict[str, Any]:
    if not has_request_context():
        return {}
    return {"authrocket": current_authrocket()}
