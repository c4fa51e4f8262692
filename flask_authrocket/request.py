"""AuthRocketRequest on ``g.authrocket``, its URL builders, and the ``current_*`` proxies.

:class:`AuthRocketRequest` holds what the request hook
(:func:`flask_authrocket.hook.load_request`) found (the session, where its
token came from, why a token was rejected) and offers the helpers of
AuthRocket's Express middleware in snake_case; :class:`ExpressNames` is the one layer that
gives them their Express camelCase names too, so that templates ported from the Express
guide keep working.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote_plus, urlencode, urljoin, urlsplit, urlunsplit

from flask import after_this_request, current_app, has_request_context, request, url_for

# The request context itself, one ContextVar lookup where the `request` and `g` proxies take their
# machinery: Flask 3.1 (the floor) through the newest have it; `make matrix` tests both ends.
from flask.globals import _cv_request
from werkzeug.local import LocalProxy
from werkzeug.sansio.utils import get_current_url
from werkzeug.wrappers import Response

from .answers import ConstantHeaders
from .cookie import LoginCookie
from .errors import ConfigurationError
from .express import EXPRESS_NAMES as EXPRESS_NAMES  # where it was first documented
from .express import ExpressNames
from .models import Membership, Org, Rejection, Session, TokenSource, User

if TYPE_CHECKING:
    from .settings import Settings

#: Query parameters LoginRocket adds that must never stay in a bookmarkable URL.
LOGIN_QUERY_PARAMETERS = frozenset({"token", "account", "session"})

#: The endpoint of the default logout route. Its view (:func:`~flask_authrocket.full_logout` or
#: :func:`~flask_authrocket.local_logout`) is login-exempt; the name itself exempts nothing.
LOGOUT_ENDPOINT = "authrocket_logout"


class AuthRocketRequest(ExpressNames):
    """What flask-authrocket knows about the current request.

    Read it as ``g.authrocket`` in views and as ``authrocket`` in templates.

    Attributes set by the request hook:

    * ``current_session`` — the verified :class:`Session`, or ``None``;
    * ``token_source`` — ``"query"``, ``"bearer"`` or ``"cookie"`` (or ``None``);
    * ``rejection`` — why a token that was sent did not count, or ``None``;
    * ``rejection_source`` — where that token came from (``"query"`` ...), or ``None``;
    * ``unavailable`` — a token was sent but LoginRocket's keys could not be fetched;
    * ``cross_site`` — a cookie was ignored on a cross-site unsafe request.

    Set by the guards: ``guarded`` — a guard checked this request, so its
    answer gets ``Cache-Control: private`` unless the view set its own;
    ``api`` — a guard with ``api=True`` checked it, so a failed check is
    answered with JSON, never a redirect.

    Reading the login state (:attr:`current_session` and everything built on
    it) marks the answer as depending on the login: it gets ``Vary: Cookie,
    Authorization``, merged with the view's own ``Vary`` (docs/security.md).
    """

    # Class-level defaults: one is built on every request, and most requests
    # change none of these.
    _session: Session | None = None
    token_source: TokenSource | None = None
    rejection: Rejection | None = None
    rejection_source: TokenSource | None = None
    unavailable: bool = False
    bearer_sent: bool = False
    cross_site: bool = False
    guarded: bool = False
    api: bool = False
    _cookie_to_store: Session | None = None
    _clear_cookie: bool = False
    _cookie_sent: bool = False
    _login_read: bool = False
    _response_hook_scheduled: bool = False
    _login_redirect: Response | None = None
    #: The request is a CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``).
    _preflight: bool = False
    #: The view Flask matched is a guard's own wrapper: the guard finishes the answer itself
    #: (Vary, Cache-Control, the cookie), without an after-request hook (see :meth:`_finish_inline`).
    _inline: bool = False
    #: The hook's short path found the login (a logged-in browser's GET, see
    #: :func:`~flask_authrocket.hook.request_hook`) and the view is a guard's own wrapper: a guard
    #: without permissions to check lets the view run at once and finishes its answer itself.
    _short: bool = False
    #: That guard is running: reads of the login from here on are the guard's or its view's.
    _guard_entered: bool = False
    #: The app of the request (set by the hook): the guard makes the answer with its response class.
    _app: Any = None
    #: The request is a Flask-SocketIO event (Flask-SocketIO sets ``request.event``), not an HTTP request.
    _event: bool = False

    def __init__(self, settings: Settings, cookie: LoginCookie | None = None) -> None:
        self.settings = settings
        #: The app's :class:`~flask_authrocket.cookie.LoginCookie` (built from ``settings`` when not given).
        self.cookie = cookie if cookie is not None else LoginCookie.from_settings(settings)

    @classmethod
    def bound(cls, settings: Settings, cookie: LoginCookie) -> Callable[[], AuthRocketRequest]:
        """A subclass whose instances are made with no arguments, for one app's ``settings`` and ``cookie``.

        The request hook builds one on every request: with both kept on the class, that costs
        what an empty object does (the extension makes one such class per app at ``init_app``).
        """
        namespace = {
            "__init__": object.__init__,
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
            "settings": settings,
            "cookie": cookie,
        }
        made: Callable[[], AuthRocketRequest] = type(cls.__name__, (cls,), namespace)
        return made

    def __repr__(self) -> str:
        # Not through current_session: a repr in a log line is not a page that depends on the login.
        user = self._session.user.id if self._session else None
        return f"<AuthRocketRequest user={user!r} source={self.token_source!r}>"

    # -- who is logged in -------------------------------------------------

    @property
    def current_session(self) -> Session | None:
        """The verified :class:`Session`, or ``None``; the login state everything else reads.

        Reading it marks this request's answer as depending on the login, so
        that shared caches keep one user's page from another (``Vary``).
        """
        if not self._login_read:
            self._login_read = True
            if not (self._inline and self._guard_entered):  # else the guard's wrapper finishes the answer
                self._schedule_response_hook()
        return self._session

    @current_session.setter
    def current_session(self, session: Session | None) -> None:
        self._session = session

    @property
    def current_user(self) -> User | None:
        """The logged-in :class:`User`, or ``None``."""
        session = self._session if self._login_read else self.current_session
        return session.user if session else None

    @property
    def current_membership(self) -> Membership | None:
        """The selected membership, else the first; ``None`` when logged out or org-less."""
        session = self.current_session
        return session.current_membership if session else None

    @property
    def current_org(self) -> Org | None:
        """The :class:`Org` (account) of :attr:`current_membership`."""
        session = self.current_session
        return session.current_org if session else None

    @property
    def is_authenticated(self) -> bool:
        """True when a verified session belongs to this request."""
        return self.current_session is not None

    @property
    def token(self) -> str | None:
        """The raw token of the current session (to call APIs on the user's behalf)."""
        session = self.current_session
        return session.token if session else None

    def has_permission(self, *names: str) -> bool:
        """True when the current membership grants every one of ``names``."""
        membership = self.current_membership
        return membership is not None and membership.has_permission(*names)

    # -- this app's URLs ----------------------------------------------------

    def request_url(self, path: str | None = None) -> str:
        """The current absolute URL, or ``path`` resolved against it.

        ``path`` is resolved as a link on the current page would be, as in
        Express: ``"/x"`` is the *host's* root even when the app is mounted
        under a prefix (``SCRIPT_NAME``, say ``/app`` behind a proxy), and
        ``"x"`` is relative to the current page. For a URL under the app's
        root use ``url_for(endpoint, _external=True)``.

        Built from Flask's view of the request, so ``SERVER_NAME`` (when set)
        names the host and ``TRUSTED_HOSTS`` rejects forged ``Host`` headers.
        """
        current = get_current_url(request.scheme, _host(), request.root_path, request.path, request.query_string)
        return current if path is None else urljoin(current, path)

    def safe_this_url(self) -> str:
        """The current absolute URL, without ``token``, ``account`` and ``session`` on GET."""
        if request.method != "GET" or not LOGIN_QUERY_PARAMETERS.intersection(request.args):
            return self.request_url()
        kept = [(name, value) for name, value in request.args.items(multi=True) if name not in LOGIN_QUERY_PARAMETERS]
        return get_current_url(
            request.scheme, _host(), request.root_path, request.path, urlencode(kept).encode("ascii")
        )

    def logout_path(self) -> str:
        """The path of the app's default logout route, for links: Rails' ``logout_path``.

        ``"/logout"`` by default (``AUTHROCKET_LOGOUT_URL``), under the app's
        root: ``"/app/logout"`` when the app is mounted at ``/app``. In
        templates: ``<a href="{{ authrocket.logoutPath() }}">Logout</a>``.

        Raises :class:`ConfigurationError` when ``AUTHROCKET_LOGOUT_URL`` is
        ``None``: there is no default route to link to, and a link to ``None``
        would fail silently. Link to your own route with ``url_for`` instead.
        """
        if self.settings.logout_url is None:
            raise ConfigurationError(
                "AUTHROCKET_LOGOUT_URL is None, so there is no default logout route to link to; "
                "link to the route you registered full_logout or local_logout on with url_for(its endpoint)."
            )
        return url_for(LOGOUT_ENDPOINT)

    # -- LoginRocket URLs ---------------------------------------------------

    def loginrocket_url(self, path: str, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """The LoginRocket URL with its path replaced by ``path``, plus query parameters.

        Parameters come as keyword arguments or one mapping; ``None`` and
        ``False`` values are left out, ``True`` becomes ``1``. A query string
        in ``LOGINROCKET_URL`` is kept, as AuthRocket's Node helpers keep it;
        a parameter given here replaces every value of its name there (given
        as ``None`` or ``False``, it just removes them). Raises
        :class:`ConfigurationError` when ``LOGINROCKET_URL`` is not set.
        """
        base = self.settings.loginrocket_url
        if not base:
            raise ConfigurationError(
                "Missing LOGINROCKET_URL: set it to build LoginRocket links (login, signup, logout ...); for local "
                "work, run `python -m flask_authrocket.dev` and set LOGINROCKET_URL=http://127.0.0.1:5001/."
            )
        parts = urlsplit(base)
        return urlunsplit((parts.scheme, parts.netloc, path, _query(parts.query, _merge(params, kwargs)), ""))

    def ar_login_url(self, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """LoginRocket's login page; pass ``redirect_uri`` to come back somewhere specific."""
        return self.loginrocket_url("/login", params, **kwargs)

    def ar_signup_url(self, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """LoginRocket's signup page."""
        return self.loginrocket_url("/signup", params, **kwargs)

    def ar_profile_url(self, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """LoginRocket's profile page, e.g. ``ar_profile_url(redirect_uri=request_url())``."""
        return self.loginrocket_url("/profile", params, **kwargs)

    def ar_accounts_url(self, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """LoginRocket's account switcher, with ``force=1`` unless ``force`` is given falsy.

        As in Express, any falsy ``force`` (``False``, ``0``, ``""``, ``None``)
        leaves the parameter out and any other value is ``force=1``.
        """
        merged = _merge(params, kwargs)
        merged["force"] = bool(merged.get("force", True))
        return self.loginrocket_url("/accounts", merged)

    def ar_account_url(self, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """The page of one account: ``id`` from the parameters or the current org.

        Falls back to :meth:`ar_accounts_url` when there is neither. ``force``
        is ``force=1`` when truthy and left out when falsy, as in Express.
        """
        merged = _merge(params, kwargs)
        if "force" in merged:
            merged["force"] = bool(merged["force"])
        org = self.current_org
        account_id = merged.pop("id", None) or (org.id if org else None)
        if not account_id:
            return self.ar_accounts_url(merged)
        return self.loginrocket_url("/accounts/" + quote(str(account_id), safe=""), merged)

    def ar_logout_url(self, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """LoginRocket's logout page, with ``session=<current session id>`` when logged in."""
        merged = _merge(params, kwargs)
        session = self.current_session
        if session is not None and session.id:
            merged.setdefault("session", session.id)
        return self.loginrocket_url("/logout", merged)

    # -- the cookie -----------------------------------------------------------

    def clear_cookie(self) -> None:
        """Clear the login cookie in this request's response (a local logout)."""
        self._clear_cookie = True
        self._cookie_to_store = None
        self._schedule_response_hook()

    def _store_cookie(self, session: Session) -> None:
        """Keep ``session``'s token in the login cookie, in this request's response."""
        self._cookie_to_store = session
        self._clear_cookie = False
        self._schedule_response_hook()

    def _note_cookie_sent(self) -> None:
        """The request carried the login cookie: its answer varies with the cookie."""
        self._cookie_sent = True
        # On a guard's own view the guard adds Vary itself. An answer some other before-request
        # hook gives first did not read the login, so it does not vary with the cookie.
        if not self._inline:
            self._schedule_response_hook()

    def _schedule_response_hook(self) -> None:
        # Only requests whose answer depends on the login (the cookie changes,
        # was sent, or the login state was read) pay for a response hook.
        if not self._response_hook_scheduled and has_request_context():
            self._response_hook_scheduled = True
            after_this_request(self._finish_response)

    def _give_up_inline(self) -> None:
        """An exception is on its way (a failed guard, a view that raised): Flask's error handlers answer,
        so the after-request hook finishes that answer instead of the guard."""
        if self._inline:
            self._inline = False
            self._schedule_response_hook()

    def _finish_inline(self, rv: Any) -> Any:
        """The view's return value made the answer, finished here: on a guard's own view, the guard does
        in one step what the after-request hook would (Vary, Cache-Control, the cookie).

        A string, the usual answer, becomes a response with both headers given at once; anything
        else goes through Flask's ``make_response`` and :meth:`_finish_response`. When the hook is
        scheduled after all (a cookie changed, the login was read before the guard), ``rv`` is
        returned as it is, for the hook.
        """
        if not self._inline or self._response_hook_scheduled:
            return rv
        app = self._app if self._app is not None else _current_app()
        if type(rv) is str and self._cookie_to_store is None and not self._clear_cookie:
            # The view set no header of its own: no need to look for its Vary and Cache-Control.
            vary = "Cookie, Authorization" if self._login_read else "Cookie" if self._cookie_sent else None
            # Fixed ASCII of ours: Werkzeug's checks of each value for line breaks, on every
            # logged-in request, would find nothing (answers.ConstantHeaders).
            return _CONSTANT_HEADERS[vary, self.guarded].response(app.response_class, rv)
        return self._finish_response(app.make_response(rv))

    def _finish_response(self, response: Response) -> Response:
        session = self._cookie_to_store
        if session is not None:
            self.cookie.write(response, session, secure=request.is_secure)
        elif self._clear_cookie:
            self.cookie.clear(response, secure=request.is_secure)
        # The cookie decides the answer when it was sent or the login was read;
        # the Authorization header too when the login was read (docs/security.md).
        vary = _VARY_ON_LOGIN if self._login_read else _VARY_ON_COOKIE if self._cookie_sent else None
        if vary is not None or self.guarded:
            _vary_and_keep_private(response, vary, private=self.guarded)
        return response


#: The headers a guard's own answer gets, by what it varies with and whether it is private.
_CONSTANT_HEADERS: dict[tuple[str | None, bool], ConstantHeaders] = {
    (vary, private): ConstantHeaders(
        (*((("Vary", vary),) if vary else ()), *((("Cache-Control", "private"),) if private else ()))
    )
    for vary in ("Cookie, Authorization", "Cookie", None)
    for private in (True, False)
}

#: The headers of a guard's own answer once the login was read: it varies with the login, and is private.
PRIVATE_LOGIN_HEADERS = _CONSTANT_HEADERS["Cookie, Authorization", True]

#: What an answer that read the login state varies with, and one that only received the cookie.
_VARY_ON_LOGIN = ("Cookie", "Authorization")
_VARY_ON_COOKIE = ("Cookie",)


def _vary_and_keep_private(response: Response, vary: tuple[str, ...] | None, *, private: bool) -> None:
    """Add ``vary`` to the answer's ``Vary`` (keeping what the view set, without repeats), and
    ``Cache-Control: private`` when ``private`` and the view set no ``Cache-Control`` of its own.

    One pass over the answer's few headers: Werkzeug's ``get`` and ``in`` answer a missing
    name by building an exception, which costs more than the scan, on every guarded request.
    """
    headers = response.headers
    current: list[str] = []
    cache_control = False
    for name, value in headers.items():
        lowered = name.lower()
        if lowered == "vary":
            current.append(value)
        elif lowered == "cache-control":
            cache_control = True
    if private and not cache_control:
        headers.add("Cache-Control", "private")
    if vary is None:
        return
    if not current:
        headers.add("Vary", ", ".join(vary))
        return
    present = {name.strip().lower() for value in current for name in value.split(",")}
    if "*" in present:
        return  # the answer already varies with everything
    missing = [name for name in vary if name.lower() not in present]
    if missing:
        headers["Vary"] = ", ".join([*current, *missing])


def _host() -> str:
    # SERVER_NAME, when set, names the app's host (its subdomains included) and
    # replaces any other Host; Werkzeug checks the Host header against
    # TRUSTED_HOSTS (400 when untrusted).
    server_name: str | None = current_app.config.get("SERVER_NAME")
    host: str = request.host
    if not server_name or host == server_name or host.endswith("." + server_name):
        return host  # a subdomain of SERVER_NAME (per-org subdomains) is one of the app's hosts
    return server_name


def app_origin() -> str:
    """``scheme://host`` of this app, as Flask sees the request."""
    return f"{request.scheme}://{_host()}"


def app_root_url() -> str:
    """``scheme://host/`` of this app plus its prefix (``SCRIPT_NAME``), ending in ``/``.

    ``http://example.com/app/`` for an app mounted at ``/app`` behind a proxy.
    """
    return get_current_url(request.scheme, _host(), request.root_path)


def _merge(params: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(params) if params else {}
    merged.update(kwargs)
    return merged


def _query(kept: str, params: Mapping[str, Any]) -> str:
    """``kept`` (LOGINROCKET_URL's query) without the names in ``params``, then ``params`` encoded."""
    pairs = []
    for name, value in params.items():
        if value is None or value is False:
            continue
        pairs.append((name, "1" if value is True else str(value)))
    own = urlencode(pairs)
    if not kept:
        return own
    # The URL's pairs stay as written (their own escapes); a clash is found by the decoded name.
    parts = [part for part in kept.split("&") if part and unquote_plus(part.partition("=")[0]) not in params]
    if own:
        parts.append(own)
    return "&".join(parts)


#: The attribute of Flask's request object that holds its :class:`AuthRocketRequest` too (besides
#: ``g.authrocket``): the request context is found with one ContextVar lookup, where ``g`` takes the
#: proxy's machinery and a check that it is not an outer app context's, kept across requests.
ON_REQUEST = "_flask_authrocket"


def _current_app() -> Any:
    ctx = _cv_request.get(None)
    return ctx.app if ctx is not None else current_app._get_current_object()  # type: ignore[attr-defined]


#: The attribute a guard's wrapper holds itself under: the mark of a view that is a guard's own
#: wrapper, not a view that merely copied the wrapper's ``__dict__`` (``functools.wraps``).
GUARD_WRAPPER = "_authrocket_guard_wrapper"
#: The attribute a URL rule caches the answer of :func:`is_guard_wrapper_rule` under.
_INLINE = "_authrocket_inline"


def is_guard_wrapper_rule(rule: Any) -> bool:
    """Whether the view of ``rule`` (a URL rule of the current app) is a guard's own wrapper.

    Then nothing wraps the guard, so the guard may finish the answer itself (a response made
    of the view's return value): no decorator outside it expects the view's raw return value.
    Asked once per rule, then cached on it.
    """
    found: bool | None = rule.__dict__.get(_INLINE)
    if found is None:
        view = _current_app().view_functions.get(rule.endpoint)
        found = view is not None and getattr(view, GUARD_WRAPPER, None) is view
        rule.__dict__[_INLINE] = found
    return found


def current_authrocket() -> AuthRocketRequest:
    """The :class:`AuthRocketRequest` of the current request (``g.authrocket``).

    When a guard runs before the extension's hook (a blueprint guard registered
    first, say), the request is loaded here, once. Raises ``RuntimeError``
    outside a request.
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError("flask-authrocket's current request is only known inside a request.")
    found: AuthRocketRequest | None = ctx.request.__dict__.get(ON_REQUEST)
    if found is not None:
        return found
    extension = current_app.extensions.get("authrocket")
    if extension is None:
        raise RuntimeError("AuthRocket is not set up on this app: call AuthRocket(app) or authrocket.init_app(app).")
    loaded: AuthRocketRequest = extension.load_request()
    return loaded


def _current_user() -> User | None:
    # `current_user.id` is on hot paths: current_authrocket() and current_user written out for the
    # usual case, a request whose login was read already (by its guard).
    ctx = _cv_request.get(None)
    if ctx is not None:
        found: AuthRocketRequest | None = ctx.request.__dict__.get(ON_REQUEST)
        if found is not None and found._login_read:
            session = found._session
            return session.user if session is not None else None
    return current_authrocket().current_user


def _current_session() -> Session | None:
    return current_authrocket().current_session


def _current_membership() -> Membership | None:
    return current_authrocket().current_membership


def _current_org() -> Org | None:
    return current_authrocket().current_org


class _LoginProxy(LocalProxy[Any]):
    """Werkzeug's ``LocalProxy``, with plain attributes read directly: ``current_user.id`` is on hot paths.

    Werkzeug's proxy reaches an attribute of the object it stands for only after a failed lookup
    (an ``AttributeError`` made and dropped) and two descriptor calls, which cost more than the
    rest of ``current_user.id``. Here a name that does not begin with ``_`` is read from the
    object at once; the others (dunders: truth, equality, ``repr``, ``__class__`` ...; the
    proxy's own names; an attribute of the object that begins with ``_``) are the
    ``LocalProxy``'s. What it stands for behaves as before: ``None`` when logged out (reading an
    attribute raises ``AttributeError``), and outside a request the lookup's ``RuntimeError``.
    Each proxy is of its own subclass (:func:`_login_proxy`), whose ``__getattribute__`` calls
    its lookup without looking it up.
    """

    __slots__ = ()


def _login_proxy(lookup: Callable[[], Any]) -> Any:
    """A :class:`_LoginProxy` standing for what ``lookup`` returns."""

    class LoginProxy(_LoginProxy):
        __slots__ = ()

        def __getattribute__(self, name: str) -> Any:
            if not name or name[0] == "_":
                return object.__getattribute__(self, name)  # LocalProxy's __getattr__ takes over on a miss
            return getattr(lookup(), name)

    LoginProxy.__qualname__ = LoginProxy.__name__ = _LoginProxy.__name__
    return LoginProxy(lookup)


#: The logged-in :class:`User` (falsy when logged out): ``if current_user: ...``.
current_user: User | None = _login_proxy(_current_user)
#: The verified :class:`Session` of this request (falsy when logged out).
current_session: Session | None = _login_proxy(_current_session)
#: The selected (or first) :class:`Membership` of the logged-in user.
current_membership: Membership | None = _login_proxy(_current_membership)
#: The :class:`Org` (account) of the current membership.
current_org: Org | None = _login_proxy(_current_org)
