"""The hosted pages of the development LoginRocket.

``/login``, ``/signup``, ``/profile``, ``/accounts``, ``/accounts/<org id>``,
``/logout`` and the key set at ``/connect/jwks``. Each page that finishes a
step sends the browser back to the app (302) with ``?token=<fresh token>``,
to ``redirect_uri`` when a Login URL allows it, else to the default Login URL.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from ..logs import logger
from .browser import current_browser, write_cookie
from .login_urls import is_allowed_redirect, with_token
from .realm import current_realm
from .records import (
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MIN_PASSWORD_LENGTH,
    DirectoryError,
    DirectoryUser,
    LoginSession,
)

loginrocket = Blueprint("loginrocket", __name__)


# Keys --------------------------------------------------------------------------


@loginrocket.get("/connect/jwks")
def jwks() -> ResponseReturnValue:
    """The JWK set: the RS256 public key, or no keys at all when tokens are HS256."""
    issuer = current_realm().issuer
    return jsonify(issuer.jwks() if issuer.algorithm == "RS256" else {"keys": []})


# Logging in --------------------------------------------------------------------


@loginrocket.get("/")
def index() -> ResponseReturnValue:
    """The root of the LoginRocket is its login page."""
    query = request.query_string.decode("latin-1")
    return redirect(url_for(".login") + ("?" + query if query else ""), 302)


@loginrocket.get("/login")
def login() -> ResponseReturnValue:
    """The login page; when this browser is logged in already, straight back with a fresh token."""
    found = _logged_in()
    if found is not None:
        return _back_to_app(*found)
    return _login_page()


@loginrocket.post("/login")
def login_submit() -> ResponseReturnValue:
    """Log in with a demo user's button, or with email and password."""
    _check_csrf()
    directory = current_realm().directory
    demo_user_id = request.form.get("demo_user")
    if demo_user_id is not None:
        user = directory.user(demo_user_id)
        if user is None or not user.is_demo:
            return _login_page(error="There is no such demo user; pick one of the buttons.", status=400)
        return _start_login(user)
    email = request.form.get("email", "").strip()
    user = directory.authenticate(email, request.form.get("password", ""))
    if user is None:
        return _login_page(error="Wrong email or password.", email=email, status=401)
    return _start_login(user)


@loginrocket.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    """Create a user (and, when an org name is given, a new org where they are ``site:admin``)."""
    form = {name: request.form.get(name, "").strip() for name in ("first_name", "last_name", "email", "org_name")}
    if request.method == "GET":
        return render_template("signup.html", form=form, error=None)
    _check_csrf()
    password = request.form.get("password", "")
    error = _profile_error(form)
    if error is None and len(password) < MIN_PASSWORD_LENGTH:
        error = f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters."
    if error is None and len(form["org_name"]) > MAX_NAME_LENGTH:
        error = f"Keep the account name under {MAX_NAME_LENGTH} characters."
    if error is not None:
        return render_template("signup.html", form=form, error=error), 400
    try:
        user = current_realm().directory.create_user(
            email=form["email"],
            password=password,
            first_name=form["first_name"],
            last_name=form["last_name"],
            org_name=form["org_name"] or None,
        )
    except DirectoryError as exc:
        return render_template("signup.html", form=form, error=str(exc)), 400
    return _start_login(user)


# Pages for a logged-in user ----------------------------------------------------


@loginrocket.route("/profile", methods=["GET", "POST"])
def profile() -> ResponseReturnValue:
    """Change first name, last name and email; the app gets them in a fresh token."""
    found = _logged_in()
    if found is None:
        return _to_login()
    user, session = found
    if request.method == "GET":
        form = {"first_name": user.first_name, "last_name": user.last_name, "email": user.email}
        return render_template("profile.html", user=user, form=form, error=None)
    _check_csrf()
    form = {name: request.form.get(name, "").strip() for name in ("first_name", "last_name", "email")}
    error = _profile_error(form)
    if error is None:
        try:
            user = current_realm().directory.update_profile(
                user.id, first_name=form["first_name"], last_name=form["last_name"], email=form["email"]
            )
        except DirectoryError as exc:
            error = str(exc)
    if error is not None:
        return render_template("profile.html", user=user, form=form, error=error), 400
    return _back_to_app(user, session)


@loginrocket.route("/accounts", methods=["GET", "POST"])
def accounts() -> ResponseReturnValue:
    """Pick the selected org (account). With one org and no ``force``, it is picked at once."""
    found = _logged_in()
    if found is None:
        return _to_login()
    user, session = found
    directory = current_realm().directory
    if request.method == "POST":
        _check_csrf()
        try:
            user = directory.select_org(user.id, request.form.get("org_id", ""))
        except DirectoryError:
            abort(404, description="You are not a member of this account.")
        return _back_to_app(user, session)
    memberships = directory.memberships(user.id)
    force = request.args.get("force", "").lower() not in ("", "0", "false", "no", "off")
    if len(memberships) == 1 and not force:
        return _back_to_app(directory.select_org(user.id, memberships[0].org_id), session)
    return render_template("accounts.html", user=user, memberships=memberships)


@loginrocket.get("/accounts/<org_id>")
@loginrocket.get("/account/<org_id>")
def account(org_id: str) -> ResponseReturnValue:
    """One account: its name and the user's permissions there.

    Both spellings: AuthRocket's own helpers build ``/accounts/<id>`` (authrocket-ruby
    ``lib/authrocket/rails/controller_helper.rb``, authrocket-js
    ``authrocket-middleware/lib/request.js``), while the LoginRocket URLs page
    (authrocket.com/docs/loginrocket_urls) writes ``/account/<id>``; docs/api-client.md says why.
    """
    found = _logged_in()
    if found is None:
        return _to_login()
    user, _ = found
    membership = current_realm().directory.membership(user.id, org_id)
    if membership is None:
        abort(404, description="You are not a member of this account.")
    return render_template("account.html", user=user, membership=membership)


# Logging out -------------------------------------------------------------------


@loginrocket.get("/logout")
def logout() -> ResponseReturnValue:
    """End this browser's LoginRocket login, then back to ``redirect_uri`` if allowed.

    Only the session in this browser's own signed cookie ends. The ``session``
    parameter apps send is not trusted: otherwise any page could log anyone
    out with a link to ``/logout?session=<their session id>``.
    """
    realm = current_realm()
    browser = current_browser()
    if browser.session_id:
        realm.directory.end_session(browser.session_id)
    browser.log_out()
    redirect_uri = _redirect_uri()
    if redirect_uri and is_allowed_redirect(redirect_uri, realm.login_urls):
        return redirect(redirect_uri, 302)
    if redirect_uri:
        logger.warning("%s; showing the logged-out page instead.", _refusal(redirect_uri))
    return render_template("logged_out.html")


# Every page --------------------------------------------------------------------


@loginrocket.app_context_processor
def _page_context() -> dict[str, Any]:
    redirect_uri = _redirect_uri()
    realm = current_realm()

    def page_url(endpoint: str, **values: Any) -> str:
        return url_for(endpoint, redirect_uri=redirect_uri, **values)

    refused = redirect_uri if redirect_uri and not is_allowed_redirect(redirect_uri, realm.login_urls) else None
    return {
        "redirect_uri": redirect_uri or "",
        "refused_redirect_uri": refused,
        "refusal": _refusal(refused) if refused else None,
        "default_login_url": realm.login_urls[0],
        "login_url_hint": _login_url_hint(refused) if refused else None,
        "csrf_token": current_browser().csrf_token,
        "page_url": page_url,
        "app_url": realm.redirect_target(redirect_uri),
    }


@loginrocket.after_request
def _finish(response: Response) -> Response:
    if request.endpoint != "loginrocket.jwks":
        # Pages and redirects carry tokens and CSRF tokens: never cache them.
        response.headers["Cache-Control"] = "no-store"
    return write_cookie(response)


@loginrocket.app_errorhandler(HTTPException)
def _error_page(error: HTTPException) -> ResponseReturnValue:
    if error.code is None or error.code < 400:
        return error
    return render_template("error.html", error=error), error.code


# The steps the pages share -----------------------------------------------------


def _redirect_uri() -> str | None:
    value = request.values.get("redirect_uri", "").strip()
    return value or None


def _logged_in() -> tuple[DirectoryUser, LoginSession] | None:
    """The user and session of this browser's LoginRocket login, if it is still on."""
    browser = current_browser()
    if browser.session_id is None:
        return None
    directory = current_realm().directory
    session = directory.session(browser.session_id)
    user = directory.user(session.user_id) if session is not None and session.ended_at is None else None
    if session is None or user is None:
        browser.forget_login()
        return None
    return user, session


def _start_login(user: DirectoryUser) -> Response:
    """A new LoginRocket session for ``user`` in this browser, and back to the app."""
    directory = current_realm().directory
    browser = current_browser()
    if browser.session_id is not None:
        directory.end_session(browser.session_id)
    session = directory.start_session(user.id)
    browser.log_in(session.id)
    return _back_to_app(user, session)


def _back_to_app(user: DirectoryUser, session: LoginSession) -> Response:
    """302 to the allowed ``redirect_uri`` (or the default Login URL) with a fresh token."""
    realm = current_realm()
    token = realm.token_for(user, session.id)
    redirect_uri = _redirect_uri()
    target = realm.redirect_target(redirect_uri)
    if redirect_uri and target != redirect_uri:
        # The app asked to come back elsewhere; without a word here, its developer sees the
        # browser land on another app (or another port) and cannot tell why.
        logger.warning("%s; sending the browser to the default Login URL %s.", _refusal(redirect_uri), target)
    return redirect(with_token(target, token), 302)


def _refusal(redirect_uri: str) -> str:
    """What is wrong with a ``redirect_uri`` that no Login URL allows, naming it and the Login URLs.

    The text goes to the log as well as the page: the query is left out (only scheme, host, port
    and path decide), so no token or other secret an app put there is logged, and characters that
    are not printable are escaped, so a crafted value cannot forge log lines.
    """
    parts = urlsplit(redirect_uri)
    shown = redirect_uri.split("?", 1)[0].split("#", 1)[0] + ("?…" if parts.query else "")
    if not shown.isprintable():
        shown = shown.encode("unicode_escape").decode("ascii")
    login_urls = ", ".join(current_realm().login_urls)
    return f"redirect_uri {shown[:300]} matches no Login URL ({login_urls})"


def _login_url_hint(redirect_uri: str) -> str | None:
    """``redirect_uri``'s scheme, host and port as a Login URL to start with, when it is an http(s) URL."""
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}/"


def _to_login() -> Response:
    return redirect(url_for(".login", redirect_uri=_redirect_uri()), 302)


def _login_page(*, error: str | None = None, email: str = "", status: int = 200) -> ResponseReturnValue:
    directory = current_realm().directory
    demo_users = [(user, directory.memberships(user.id)) for user in directory.demo_users()]
    return render_template("login.html", demo_users=demo_users, error=error, email=email), status


def _check_csrf() -> None:
    if not current_browser().csrf_matches(request.form.get("csrf_token")):
        abort(400, description="This form has expired or did not come from this page. Go back, reload, try again.")


def _profile_error(form: dict[str, str]) -> str | None:
    """What is wrong with the names and email of a signup or profile form, if anything."""
    email = form["email"]
    if not email or "@" not in email or any(char.isspace() for char in email) or len(email) > MAX_EMAIL_LENGTH:
        return "Enter a valid email address."
    if len(form["first_name"]) > MAX_NAME_LENGTH or len(form["last_name"]) > MAX_NAME_LENGTH:
        return f"Keep names under {MAX_NAME_LENGTH} characters."
    return None
