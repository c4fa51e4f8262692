"""Guards: require_login, require_permission, protect, login_exempt, and their answers.

The decorators only wrap; the checks are public functions
(:func:`verify_login_in_request`, :func:`verify_permission_in_request`) that
raise :class:`LoginRequired`, :class:`LoginUnavailable` or
:class:`PermissionDenied`. The extension registers error handlers that turn
those into answers, so a custom decorator is three lines::

    def require_staff(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            session = verify_login_in_request()
            if not session.user.email.endswith("@example.com"):
                abort(403)
            return view(*args, **kwargs)
        return wrapper

How a failed check is answered:

* browser navigation: 302 to LoginRocket's login page with ``redirect_uri``
  set to this page;
* browser navigation with a rejected ``?token=`` (LoginRocket sent the browser
  back with a token this app refuses: a wrong ``AUTHROCKET_JWT_KEY``, a clock
  far off ...): a 401 page saying so, with a "Log in again" link, never a
  redirect, which LoginRocket would answer with a new token in a loop;
* API clients (a Bearer header was sent, JSON is preferred over HTML, the
  request is an XHR, or the guard says ``api=True``): 401 JSON with
  ``WWW-Authenticate: Bearer`` (and ``error="invalid_token"`` when a bad
  token was sent);
* a missing permission: 403;
* a token that could not be checked because LoginRocket is unreachable: 503
  with ``Retry-After``.

OPTIONS requests pass a guard in two cases only, and neither runs a view: a
CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``, which
browsers send without credentials before a cross-origin call) is answered by
the guard itself with the app's default ``OPTIONS`` answer (flask-cors still
decorates it), and Flask's automatic OPTIONS answer (the route does not list
``OPTIONS``) is Flask's. On a route that lists ``OPTIONS`` itself, any other
OPTIONS request is guarded like a GET. See docs/security.md.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable, Iterable
from types import CodeType
from typing import Any, TypeVar, cast, overload

from flask import Blueprint, Flask, current_app, jsonify, redirect, request
from markupsafe import escape
from werkzeug.exceptions import Forbidden, ServiceUnavailable, Unauthorized
from werkzeug.routing import Map
from werkzeug.wrappers import Response

from .errors import LoginRequired, LoginUnavailable, PermissionDenied
from .integrations import socketio
from .models import Rejection, Session
from .request import GUARD_WRAPPER, PRIVATE_LOGIN_HEADERS, AuthRocketRequest, current_authrocket
from .tokens import describe_rejection, what_to_check

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
Target = TypeVar("Target", Flask, Blueprint)

_EXEMPT_ATTRIBUTE = "_authrocket_login_exempt"
#: On a view a guard wraps: the permission names it needs (``()``: a login). On a blueprint or an
#: app :func:`protect` guards: the same. Read by :func:`guard_of`, which needs no request.
GUARD_ATTRIBUTE = "_authrocket_guard"


def verify_login_in_request() -> Session:
    """Return the current :class:`Session`, or raise when nobody is logged in.

    Raises :class:`LoginUnavailable` when a token was sent but could not be
    checked (LoginRocket unreachable), else :class:`LoginRequired`. The
    extension answers both (503, or 302/401); call this from your own
    decorators and let the exception propagate. The answer of a request
    checked this way is ``Cache-Control: private`` unless the view sets its own.
    """
    authrocket = current_authrocket()
    authrocket.guarded = True
    session = authrocket.current_session
    if session is not None:
        return session
    authrocket._give_up_inline()  # the error handler answers: the after-request hook finishes its answer
    if authrocket.unavailable:
        extension = current_app.extensions["authrocket"]
        rejection = authrocket.rejection
        if rejection is not None and rejection.reason == "session_unavailable":
            # Managed sessions, failing closed: the Core API, not LoginRocket, is down.
            raise LoginUnavailable(
                "The AuthRocket API could not be reached to confirm the login; try again shortly.",
                retry_after=max(1, round(extension.settings.http_timeout)),
            )
        raise LoginUnavailable(
            "LoginRocket could not be reached to check the login; try again shortly.",
            retry_after=extension.verifier.retry_after,
        )
    rejection = authrocket.rejection
    raise LoginRequired(rejection=rejection, source=authrocket.rejection_source if rejection else None)


def verify_permission_in_request(*names: str) -> Session:
    """Like :func:`verify_login_in_request`, then raise :class:`PermissionDenied`
    unless the current membership grants every one of ``names``."""
    session = verify_login_in_request()
    membership = session.current_membership
    granted = membership.permissions if membership else ()
    missing = [name for name in names if name not in granted]
    if missing:
        current_authrocket()._give_up_inline()
        raise PermissionDenied(missing)
    return session


@overload
def require_login(view: F, /) -> F: ...


@overload
def require_login(view: None = None, /, *, api: bool = False) -> Callable[[F], F]: ...


def require_login(view: F | None = None, /, *, api: bool = False) -> F | Callable[[F], F]:
    """Decorate a view so that it needs a login (sync or ``async def``).

    Use it bare, ``@require_login``, or called, ``@require_login(api=True)``
    for a JSON API: with ``api=True`` a request without a login is answered
    401 JSON (and a missing login check 503 JSON), never a redirect to
    LoginRocket, whatever its ``Accept`` header says.

    A CORS preflight is answered by the guard itself (the app's default
    ``OPTIONS`` answer, which flask-cors still decorates), never by the view;
    on a route that lists ``OPTIONS`` itself, any other OPTIONS request needs
    the login like a GET.

    >>> @app.get("/dashboard")            # doctest: +SKIP
    ... @require_login
    ... def dashboard():
    ...     return f"Hi, {g.authrocket.current_user.display_name}!"
    """
    if view is None:
        return lambda view: _guarded(view, (), api)
    if not callable(view):
        raise TypeError("require_login decorates a view: @require_login, or @require_login(api=True).")
    return _guarded(view, (), api)


def require_permission(*names: str, api: bool = False) -> Callable[[F], F]:
    """Decorate a view so that it needs a login whose membership grants *every* one of ``names``.

    With ``api=True`` the answers are JSON whatever the client accepts: 401
    without a login, 403 without the permission (see :func:`require_login`).
    OPTIONS requests are treated as by :func:`require_login`.

    >>> @app.get("/admin")                # doctest: +SKIP
    ... @require_permission("site:admin")
    ... def admin(): ...
    """
    if not names or not all(isinstance(name, str) and name for name in names):
        raise TypeError("require_permission needs one or more permission names, e.g. require_permission('site:admin').")
    return lambda view: _guarded(view, names, api)


def login_exempt(view: F) -> F:
    """Mark a view as public under :func:`protect` or ``AUTHROCKET_REQUIRE_LOGIN``."""
    setattr(view, _EXEMPT_ATTRIBUTE, True)
    return view


def protect(target: Target, permission: str | Iterable[str] | None = None, *, api: bool = False) -> Target:
    """Guard every view of a blueprint (or a whole app) with a login check.

    ``permission`` (one name or several) is also required when given.
    ``api=True`` makes it a JSON API: a failed check is answered 401 (or
    403, or 503) JSON, never a redirect, whatever the client accepts, so
    ``protect(Blueprint("api", __name__), api=True)`` serves scripts and
    ``fetch()`` calls alike. Views
    marked :func:`login_exempt` (the logout views are), the static file views
    Flask registers for the app and its blueprints, Flask's automatic OPTIONS
    answers and unmatched URLs (404/405) stay public; a CORS preflight is
    answered by the guard with the app's default ``OPTIONS`` answer, never by a
    view; nothing is public by its endpoint's name. Returns ``target``, so
    ``bp = protect(Blueprint("admin", __name__))`` works.
    """
    names = (permission,) if isinstance(permission, str) else tuple(permission or ())
    _mark(target, getattr(target, GUARD_ATTRIBUTE, ()), names)

    def guard() -> Response | None:
        if request.routing_exception is not None:
            return None
        if request.method == "OPTIONS":
            if _is_preflight():
                return current_app.make_default_options_response()  # answered here: no view runs
            if _is_automatic_options():
                return None  # Flask answers it with the Allow header; no view runs
        if _is_exempt(request.endpoint):
            return None
        if api:
            current_authrocket().api = True
        if names:
            verify_permission_in_request(*names)
        else:
            verify_login_in_request()
        return None

    target.before_request(guard)
    return target


def _is_preflight() -> bool:
    """Whether the request is a CORS preflight: ``OPTIONS`` with ``Access-Control-Request-Method``.

    A preflight carries no credentials by design (the browser sends them on the real call that
    follows), so a guard lets it through; but any client can send that header, so the guard
    answers it itself with the app's default ``OPTIONS`` answer and never runs the view.
    Extensions that decorate preflight answers in ``after_request`` (flask-cors) still do.
    """
    environ = request.environ
    return environ.get("REQUEST_METHOD") == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ


def _is_automatic_options() -> bool:
    """Whether Flask answers this ``OPTIONS`` itself: the route does not list ``OPTIONS``, so no view runs."""
    rule = request.url_rule
    return rule is not None and bool(getattr(rule, "provide_automatic_options", False))


def _is_exempt(endpoint: str | None) -> bool:
    if endpoint is None:
        return False
    view = current_app.view_functions.get(endpoint)
    if view is None:
        return False
    # Class-based views: as_view() returns a function; the mark may be on the class.
    if getattr(view, _EXEMPT_ATTRIBUTE, False) or getattr(getattr(view, "view_class", None), _EXEMPT_ATTRIBUTE, False):
        return True
    return _is_static_view(view)


def _is_static_view(view: Callable[..., Any]) -> bool:
    """Whether ``view`` is a static file view Flask registered, known by what it is, not by its endpoint."""
    owner = getattr(view, "__self__", None)
    if isinstance(owner, (Flask, Blueprint)):
        # A blueprint's static route is its own bound send_static_file.
        return bool(view == owner.send_static_file)
    # The app's static route is a lambda Flask.__init__ makes around send_static_file.
    code = getattr(view, "__code__", None)
    return code is not None and code is _app_static_view_code()


@functools.cache
def _app_static_view_code() -> CodeType | None:
    # The code object of `lambda **kw: self_ref().send_static_file(**kw)` in Flask.__init__:
    # every app's static view shares it, and a view of the app's own never does.
    for constant in Flask.__init__.__code__.co_consts:
        if isinstance(constant, CodeType) and "send_static_file" in constant.co_names:
            return constant
    return None


def _guarded(view: F, names: tuple[str, ...], api: bool = False) -> F:
    def enter(authrocket: AuthRocketRequest) -> Response | None:
        """The guard's check: ``None`` when the view may run; the answer to give instead (a preflight's); or raise."""
        if api:
            authrocket.api = True
        if authrocket._preflight:
            return current_app.make_default_options_response()
        if names:
            verify_permission_in_request(*names)
        elif authrocket._session is None:
            verify_login_in_request()
        if not authrocket._login_read:
            authrocket._login_read = True  # the guard read it: the answer varies with the login
            if not authrocket._inline:
                authrocket._schedule_response_hook()
        return None

    # The common case of a sync view, logged in with no permission to check, takes no call but the view's.
    fast = not names and not api

    if inspect.iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            authrocket = current_authrocket()
            authrocket.guarded = authrocket._guard_entered = True
            answer = enter(authrocket)
            if answer is not None:
                return authrocket._finish_inline(answer)
            try:
                result = await view(*args, **kwargs)
            except BaseException:
                authrocket._give_up_inline()
                raise
            return authrocket._finish_inline(result)

        async_wrapper.__dict__[GUARD_WRAPPER] = async_wrapper
        return _mark(cast(F, async_wrapper), getattr(view, GUARD_ATTRIBUTE, ()), names)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        authrocket = current_authrocket()
        if fast and authrocket._short and authrocket._session is not None:
            # The request hook's short path (a logged-in browser's GET) to this guard's own view:
            # nothing to check; the guard reads the login and finishes the answer.
            authrocket.guarded = authrocket._guard_entered = authrocket._login_read = True
            try:
                result = view(*args, **kwargs)
            except BaseException:
                authrocket._give_up_inline()
                raise
            if type(result) is str and not authrocket._response_hook_scheduled:
                # The usual answer: made with its two headers at once (_finish_inline's first case).
                return PRIVATE_LOGIN_HEADERS.response(authrocket._app.response_class, result)
            return authrocket._finish_inline(result)
        if authrocket._event and socketio.in_event():
            # A Flask-SocketIO handler: refuse the connection or skip the event, never raise into its server.
            return socketio.guarded_event(lambda: enter(current_authrocket()), view, args, kwargs)
        authrocket.guarded = authrocket._guard_entered = True
        if fast and authrocket._session is not None and not authrocket._preflight:
            if not authrocket._login_read:
                authrocket._login_read = True  # the guard read it: the answer varies with the login
                if not authrocket._inline:
                    authrocket._schedule_response_hook()
        else:
            answer = enter(authrocket)
            if answer is not None:
                return authrocket._finish_inline(answer)
        try:
            result = view(*args, **kwargs)
        except BaseException:
            authrocket._give_up_inline()
            raise
        return authrocket._finish_inline(result)

    # The mark of the guard's own wrapper (functools.wraps would copy a plain mark to outer decorators).
    wrapper.__dict__[GUARD_WRAPPER] = wrapper
    return _mark(cast(F, wrapper), getattr(view, GUARD_ATTRIBUTE, ()), names)


# -- marks: what a route's guard is, found without a request (the OpenAPI plugin) ------------------

#: Each app's URL map and the app (weakly), for :func:`app_for_url_map`: flask-smorest gives an
#: apispec plugin a route's rule alone, and the rule knows only its map.
_apps_by_url_map: weakref.WeakKeyDictionary[Map, weakref.ReferenceType[Flask]] = weakref.WeakKeyDictionary()


def _mark(target: T, inner: tuple[str, ...], names: tuple[str, ...]) -> T:
    """Mark ``target`` as guarded, needing ``names`` and what a guard inside it (``inner``) needs."""
    setattr(target, GUARD_ATTRIBUTE, tuple(dict.fromkeys((*inner, *names))))
    return target


def remember_app(app: Flask) -> None:
    """Note ``app`` as the owner of its URL map (``init_app`` does), for :func:`app_for_url_map`."""
    _apps_by_url_map[app.url_map] = weakref.ref(app)


def app_for_url_map(url_map: Map) -> Flask | None:
    """The app (registered with AuthRocket) whose URL map is ``url_map``, or ``None``."""
    ref = _apps_by_url_map.get(url_map)
    return ref() if ref is not None else None


def guard_of(app: Flask, endpoint: str, method: str) -> tuple[str, ...] | None:
    """The permissions ``method`` on ``endpoint`` of ``app`` needs (``()``: a login), or ``None`` if it is public.

    Read from the marks the guards leave, without a request: a guard on the view (on a
    ``MethodView``, on its class or on the method's function), else :func:`protect` on a
    blueprint holding the endpoint (or its parents) or on the app, unless the view is
    :func:`login_exempt` or a static file view.
    """
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    for candidate in (view, view_class, getattr(view_class, method.lower(), None)):
        marked: tuple[str, ...] | None = getattr(candidate, GUARD_ATTRIBUTE, None)
        if marked is not None:
            return marked
    if getattr(view, _EXEMPT_ATTRIBUTE, False) or getattr(view_class, _EXEMPT_ATTRIBUTE, False):
        return None
    if _is_static_view(view):
        return None
    needed: tuple[str, ...] | None = getattr(app, GUARD_ATTRIBUTE, None)
    parts = endpoint.split(".")[:-1]
    for end in range(1, len(parts) + 1):  # "parent.child.view": the blueprints parent and parent.child
        blueprint = app.blueprints.get(".".join(parts[:end]))
        protected: tuple[str, ...] | None = getattr(blueprint, GUARD_ATTRIBUTE, None)
        if protected is not None:
            needed = tuple(dict.fromkeys((*(needed or ()), *protected)))
    return needed


# -- the answers ------------------------------------------------------------


def wants_json(authrocket: AuthRocketRequest) -> bool:
    """Whether the client is an API client rather than a browser navigating.

    Requests checked by a guard with ``api=True``, Bearer requests, XHR,
    ``fetch()`` (``Sec-Fetch-Mode`` other than ``navigate``) and clients
    preferring JSON are API clients. In an API-first app (an APIFlask app),
    so is every client that does not ask for HTML explicitly.
    """
    if authrocket.api or authrocket.bearer_sent or request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return True
    fetch_mode = request.headers.get("Sec-Fetch-Mode")
    if fetch_mode is not None and fetch_mode != "navigate":
        return True
    accept = request.accept_mimetypes
    preferred = accept.best_match(("text/html", "application/json"))
    if preferred != "text/html":
        return preferred == "application/json" or _api_first()
    # HTML wins, but a bare `*/*` (curl, scripts) or no Accept asks for nothing in particular.
    return _api_first() and not any(value in ("text/html", "application/xhtml+xml") and q > 0 for value, q in accept)


def _api_first() -> bool:
    extension = current_app.extensions.get("authrocket")
    return bool(extension is not None and extension.api_first)


def login_required_response(error: LoginRequired) -> Response:
    """The default answer to :class:`LoginRequired`: 302 to LoginRocket, the rejected-login page, or 401 JSON.

    Browsers are sent to LoginRocket's login page, except when the request
    brought a ``?token=`` that was rejected: sending them back would bring the
    same kind of token again, in a loop, so they get a 401 page with the
    reason, what to check (naming the setting when the app runs in debug
    mode) and a "Log in again" link. API clients get 401 JSON.
    :meth:`AuthRocket.default_unauthorized <flask_authrocket.AuthRocket.default_unauthorized>`
    is this answer, for handlers that wrap it.
    """
    authrocket = current_authrocket()
    rejection = error.rejection
    if not wants_json(authrocket):
        if error.source == "query" or authrocket.rejection_source == "query":
            return _rejected_login_page(authrocket, rejection or authrocket.rejection)
        if authrocket.settings.loginrocket_url:
            answer = redirect(authrocket.ar_login_url(redirect_uri=authrocket.safe_this_url()), 302)
            answer.headers["Cache-Control"] = "no-store"
            return answer
    challenge = _challenge(rejection)
    if rejection is not None:
        body = {"error": "invalid_token", "message": rejection.message}
    else:
        body = {"error": "login_required", "message": "Log in, or send a token as 'Authorization: Bearer <token>'."}
    if wants_json(authrocket):
        answer = jsonify(body)
        answer.status_code = 401
    else:
        answer = Unauthorized(body["message"]).get_response()
    answer.headers["WWW-Authenticate"] = challenge
    return answer


def _challenge(rejection: Rejection | None) -> str:
    """``WWW-Authenticate`` for a 401: Bearer, with ``error="invalid_token"`` when a token was rejected."""
    if rejection is None:
        return 'Bearer realm="authrocket"'
    # Only fixed, server-written ASCII goes into the header: the message may
    # quote what the token held (a kid), which a header cannot carry.
    return (
        f'Bearer realm="authrocket", error="invalid_token", error_description="{describe_rejection(rejection.reason)}"'
    )


_REJECTED_LOGIN_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Login failed</title>
</head>
<body>
<h1>Login failed</h1>
<p>{reason}</p>
<p>{advice}</p>
{link}
</body>
</html>
"""
_GENERIC_ADVICE = (
    "This site could not accept the login it was sent. Log in again; if it keeps failing, "
    "tell the site's administrators: the reason is in the site's log."
)


def _rejected_login_page(authrocket: AuthRocketRequest, rejection: Rejection | None) -> Response:
    """The 401 page for a rejected ``?token=``: fixed texts only, never the token or its claims."""
    # A handler may raise LoginRequired(source="query") with no rejection: the sender is then the suspect.
    reason = rejection.reason if rejection is not None else "malformed"
    if current_app.debug:
        # The developer's own browser: name the setting to fix, as the log line does.
        advice = what_to_check(reason) + " (Shown because the app runs in debug mode.)"
    else:
        advice = _GENERIC_ADVICE
    link = ""
    if authrocket.settings.loginrocket_url:
        login_url = authrocket.ar_login_url(redirect_uri=authrocket.safe_this_url())
        link = f'<p><a href="{escape(login_url)}">Log in again</a></p>'
    page = _REJECTED_LOGIN_PAGE.format(reason=escape(describe_rejection(reason)), advice=escape(advice), link=link)
    answer = current_app.response_class(page, status=401, mimetype="text/html")
    answer.headers["WWW-Authenticate"] = _challenge(rejection)
    answer.headers["Cache-Control"] = "no-store"
    return answer


def permission_denied_response(error: PermissionDenied) -> Response:
    """The default answer to :class:`PermissionDenied`: 403, JSON for API clients.

    :meth:`AuthRocket.default_forbidden <flask_authrocket.AuthRocket.default_forbidden>`
    is this answer, for handlers that wrap it.
    """
    if wants_json(current_authrocket()):
        answer = jsonify({"error": "forbidden", "message": str(error), "missing_permissions": list(error.missing)})
        answer.status_code = 403
        return answer
    return Forbidden(str(error)).get_response()


def login_unavailable_response(error: LoginUnavailable) -> Response:
    """The answer to :class:`LoginUnavailable`: 503 with ``Retry-After``."""
    if wants_json(current_authrocket()):
        answer: Response = jsonify({"error": "login_unavailable", "message": str(error)})
        answer.status_code = 503
    else:
        answer = ServiceUnavailable(str(error)).get_response()
    answer.headers["Retry-After"] = str(error.retry_after)
    return answer


def call_handler(handler: Callable[..., Any], error: Exception) -> Response | None:
    """Call an app's replacement answer, with the error when it takes an argument.

    Returns ``None`` when the handler returned ``None``: the caller then gives
    the default answer (a handler may answer some requests and leave the rest).
    """
    takes_error = bool(inspect.signature(handler).parameters)
    result = current_app.ensure_sync(handler)(error) if takes_error else current_app.ensure_sync(handler)()
    if result is None:
        return None
    return current_app.make_response(result)
