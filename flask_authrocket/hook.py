"""The request hook: ``?token=``, the Bearer header or the cookie become ``g.authrocket``.

:func:`load_request` does one request as AuthRocket's Express middleware does
it (and a little better):

1. ``?token=`` on a GET: a valid token becomes the session, is stored in the
   cookie, and the answer is a 302 to the same URL without ``token``,
   ``account`` and ``session``. A rejected one is logged at WARNING (at most
   once a minute per reason, see :class:`RejectionWarnings`) and noted with
   its source, so that a guard answers it with a 401 page instead of sending
   the browser back to LoginRocket, which would return it with a new token
   in a loop; a public page renders logged out.
2. ``Authorization: Bearer <token>``: a valid token becomes the session (no cookie).
3. The cookie: a valid token becomes the session; an invalid one is cleared.
   A token that could not be checked because the keys are unreachable is
   *unavailable*: the cookie is kept and guarded views answer 503.

Requests that carry no token do no verification work at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import current_app, g, redirect, request
from flask.globals import _cv_app, _cv_request
from werkzeug.wrappers import Response

from .cookie import LoginCookie, foreign_token_hint
from .logs import logger
from .models import Rejection, Session, TokenSource
from .request import ON_REQUEST, AuthRocketRequest, app_origin, is_guard_wrapper_rule
from .signals import session_verified, token_rejected
from .tokens import describe_rejection, what_to_check

if TYPE_CHECKING:
    from .settings import Settings


class RejectionWarnings:
    """Logs rejected ``?token=`` values at WARNING, at most once per ``interval`` seconds per reason.

    A misconfigured key rejects every login, and every rejected login would
    otherwise log a line: one per reason per minute is enough to see it and
    cannot flood the logs. The line gives the reason in plain words and what
    to check; never the token. The extension keeps one per app.

    :param interval: seconds between two lines for one reason.
    :param clock: seconds, monotonic (tests pass their own).
    """

    def __init__(self, *, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def warn(self, rejection: Rejection, path: str) -> bool:
        """Log the rejection of a ``?token=`` sent to ``path``, unless its reason was logged lately.

        Returns whether a line was logged.
        """
        now = self._clock()
        with self._lock:
            last = self._last.get(rejection.reason)
            if last is not None and now - last < self.interval:
                return False
            self._last[rejection.reason] = now
        logger.warning(
            "A login token in ?token= was rejected on GET %r: %s %s Run `flask authrocket decode <token>` for "
            "the details. (Logged at most once a minute per reason.)",
            path,
            describe_rejection(rejection.reason),
            what_to_check(rejection.reason),
        )
        return True

    def warn_cookie(self, rejection: Rejection, token: str, *, app_realm: str | None, cookie_name: str | None) -> bool:
        """Log a login cookie that looks like another app's (:func:`~flask_authrocket.cookie.foreign_token_hint`).

        At most once per ``interval``, naming ``AUTHROCKET_COOKIE_NAME`` as the likely cause;
        never the token. Returns whether a line was logged.
        """
        hint = foreign_token_hint(token, rejection.reason, app_realm=app_realm, cookie_name=cookie_name)
        if hint is None:
            return False
        now = self._clock()
        with self._lock:
            last = self._last.get("cookie:foreign")
            if last is not None and now - last < self.interval:
                return False
            self._last["cookie:foreign"] = now
        logger.warning(
            "A login cookie was refused (%s) and cleared. %s (Logged at most once a minute.)", rejection.reason, hint
        )
        return True


#: Methods a cross-site form can send that change something: the cookie does not log them in.
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def load_request(
    settings: Settings,
    cookie: LoginCookie,
    verify: Callable[[str], Session | Rejection],
    app_globals: Any = None,
    warnings: RejectionWarnings | None = None,
) -> AuthRocketRequest:
    """Turn the query token, the Bearer header or the cookie into ``g.authrocket``, and return it.

    The extension's hook (:func:`request_hook`) does this on every request, with the app's
    settings, its :class:`~flask_authrocket.cookie.LoginCookie` and its verify step
    (:meth:`AuthRocket.verify <flask_authrocket.AuthRocket.verify>`); ``app_globals`` is
    ``g`` itself when the caller has it at hand. A valid ``?token=`` leaves a 302 to the
    clean URL in ``_login_redirect``; a rejected one is logged through ``warnings`` (the
    app's :class:`RejectionWarnings`; ``None``: not logged), and so is a login cookie that
    looks like another app's. Reads the WSGI environ directly and does nothing more when no
    token was sent.
    """
    authrocket = AuthRocketRequest(settings, cookie)
    target = app_globals if app_globals is not None else g
    target.authrocket = authrocket
    ctx = _cv_request.get()
    req = ctx.request
    req.__dict__[ON_REQUEST] = authrocket
    return _load(authrocket, ctx.app, req, verify, warnings)


#: Methods whose logged-in request :func:`request_hook` answers on its short path: no cross-site
#: check (unsafe methods), no preflight (``OPTIONS``).
_SHORT_PATH_METHODS = frozenset({"GET", "HEAD"})


def request_hook(
    settings: Settings,
    cookie: LoginCookie,
    verify: Callable[[str], Session | Rejection],
    known: Callable[[str], Session | None],
    warnings: RejectionWarnings | None = None,
) -> Callable[[], Response | None]:
    """The before-request function ``init_app`` registers: :func:`load_request`, for one app.

    ``known`` answers a token verified earlier whose session still holds, without verifying
    anything (:meth:`TokenVerifier.known <flask_authrocket.tokens.TokenVerifier.known>`, and
    with managed sessions :meth:`SessionCheck.known_lately
    <flask_authrocket.managed.SessionCheck.known_lately>` too). The request every logged-in
    browser sends again and again (a ``GET`` with the login cookie first in its header or
    after ``"; "``, no ``?token=``, no ``Authorization``) is answered with that one lookup;
    any other request takes :func:`load_request`'s steps. Returns the 302 of a valid
    ``?token=``, else ``None``.
    """
    new_request = AuthRocketRequest.bound(settings, cookie)
    candidate = cookie.candidate

    def load_session() -> Response | None:
        authrocket = new_request()
        # g itself, from its context: the proxy's machinery costs more than the rest of a request
        # without a token. Always built afresh: g lives in the app context, which an outer
        # `with app.app_context():` keeps across requests.
        _cv_app.get().g.__dict__["authrocket"] = authrocket
        ctx = _cv_request.get()
        req = ctx.request
        attributes = req.__dict__
        attributes[ON_REQUEST] = authrocket
        environ = req.environ
        raw = environ.get("HTTP_COOKIE")
        if (
            raw
            and req.method in _SHORT_PATH_METHODS
            and "HTTP_AUTHORIZATION" not in environ
            and "token=" not in environ.get("QUERY_STRING", "")  # a str test: `in` on bytes costs far more
            and "event" not in attributes
        ):
            token = candidate(raw)
            session = known(token) if token else None
            if session is not None:
                authrocket._app = ctx.app
                authrocket._session = session
                authrocket.token_source = "cookie"
                authrocket._cookie_sent = True  # the answer varies with the cookie
                rule = req.url_rule
                if rule is not None and is_guard_wrapper_rule(rule):
                    authrocket._inline = authrocket._short = True  # the guard adds Vary itself
                else:
                    authrocket._schedule_response_hook()
                if session_verified.receivers:
                    _send_verified(session, "cookie")
                return None
        return _load(authrocket, ctx.app, req, verify, warnings)._login_redirect

    return load_session


def _load(
    authrocket: AuthRocketRequest,
    app: Any,
    req: Any,
    verify: Callable[[str], Session | Rejection],
    warnings: RejectionWarnings | None,
) -> AuthRocketRequest:
    """:func:`load_request`'s steps, for the request ``req`` of ``app`` and its new ``authrocket``."""
    authrocket._app = app
    settings = authrocket.settings
    cookie = authrocket.cookie
    if "event" in req.__dict__:  # Flask-SocketIO's event, not an HTTP request: its guards answer otherwise
        authrocket._event = True
    environ = req.environ
    method = req.method
    if method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
        authrocket._preflight = True

    # 1. ?token= on GET. A cheap byte test first: most requests have no token.
    if method == "GET" and "token=" in environ.get("QUERY_STRING", ""):
        token = req.args.get("token")
        if token:
            result = verify(token)
            if isinstance(result, Session):
                _accept(authrocket, result, "query")
                if cookie.fits(result.token):
                    authrocket._store_cookie(result)
                    answer = redirect(authrocket.safe_this_url(), 302)
                    answer.headers["Cache-Control"] = "no-store"
                    authrocket._login_redirect = answer
                return authrocket
            _note_rejection(authrocket, result, "query")
            if warnings is not None and not result.unavailable:
                # Unavailable keys are logged where they are fetched; this is the
                # misconfiguration that would otherwise only show as a login loop.
                warnings.warn(result, req.path)

    # 2. Authorization: Bearer <token> (the scheme is case-insensitive).
    authorization = environ.get("HTTP_AUTHORIZATION")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.strip().lower() == "bearer":
            # Any Bearer header, an empty one too, comes from an API client: a
            # failed guard answers it 401, never with a login page.
            authrocket.bearer_sent = True
            credentials = credentials.strip()
            if credentials:
                _decide_inline(authrocket, req)
                result = verify(credentials)
                if isinstance(result, Session):
                    _accept(authrocket, result, "bearer")
                    return authrocket
                _note_rejection(authrocket, result, "bearer")

    # 3. The cookie. The path of every request of a logged-in browser: kept short.
    token = cookie.read(environ)
    if token:
        rule = req.url_rule
        inline = authrocket._inline = rule is not None and is_guard_wrapper_rule(rule)
        authrocket._cookie_sent = True  # the answer varies with the cookie
        if not inline:  # on a guard's own view the guard adds Vary itself (AuthRocketRequest._note_cookie_sent)
            authrocket._schedule_response_hook()
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
            authrocket._session = result
            authrocket.token_source = "cookie"
            if session_verified.receivers:
                _send_verified(result, "cookie")
            return authrocket
        session = _other_login_cookie(authrocket, token, result, verify)
        if session is not None:
            _accept(authrocket, session, "cookie")
        elif warnings is not None and isinstance(result, Rejection):
            warnings.warn_cookie(result, token, app_realm=settings.realm, cookie_name=cookie.name)
    return authrocket


def _decide_inline(authrocket: AuthRocketRequest, req: Any) -> None:
    """A token was sent: may the guard finish the answer itself? Only a guard's own view (see
    :func:`~flask_authrocket.request.is_guard_wrapper_rule`); a request without a token never needs to."""
    rule = req.url_rule
    if rule is not None:
        authrocket._inline = is_guard_wrapper_rule(rule)


def _other_login_cookie(
    authrocket: AuthRocketRequest, first: str, rejection: Rejection, verify: Callable[[str], Session | Rejection]
) -> Session | None:
    """The session of the first other login cookie that verifies; else note the rejections and clear.

    Browsers send several cookies of one name when they were set for several
    domains or paths: a stray one (a sibling subdomain's garbage) must not log
    the user out, nor make the app clear the good one. Only requests whose
    first login cookie was rejected come here.
    """
    rejections = [rejection]
    for token in authrocket.cookie.read_all(request.environ):
        if token != first:
            result = verify(token)
            if isinstance(result, Session):
                return result
            rejections.append(result)
    for each in rejections:
        _note_rejection(authrocket, each, "cookie")
    # A cookie whose keys could not be fetched may be the good one: keep it.
    if not any(each.unavailable for each in rejections):
        authrocket.clear_cookie()
    return None


def _accept(authrocket: AuthRocketRequest, session: Session, source: TokenSource) -> None:
    """``session`` is this request's login, from ``source`` (``"query"``, ``"bearer"`` or ``"cookie"``)."""
    authrocket._session = session
    authrocket.token_source = source
    if session_verified.receivers:  # nothing is sent while nobody listens
        _send_verified(session, source)


def _send_verified(session: Session, source: TokenSource) -> None:
    session_verified.send(current_app._get_current_object(), session=session, source=source)  # type: ignore[attr-defined]


def _note_rejection(authrocket: AuthRocketRequest, rejection: Rejection, source: TokenSource) -> None:
    if token_rejected.receivers:
        token_rejected.send(current_app._get_current_object(), rejection=rejection, source=source)  # type: ignore[attr-defined]
    if rejection.unavailable:
        authrocket.unavailable = True
    if authrocket.rejection is None or rejection.unavailable:
        authrocket.rejection = rejection
        authrocket.rejection_source = source


def _is_cross_site() -> bool:
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    return origin is not None and origin != app_origin()
