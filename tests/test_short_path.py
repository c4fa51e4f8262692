"""The request hook's short path: a logged-in browser's GET, answered with one lookup.

A GET or HEAD whose login cookie comes first in its ``Cookie`` header (or after ``"; "``), with
no ``?token=`` and no ``Authorization``, is looked up among the tokens verified earlier
(:meth:`TokenVerifier.known`) before anything is parsed; on a guard's own view the guard then
finishes the answer. Every other request takes the hook's full steps. These tests hold the short
path to the answers of the full one: the same login, the same headers, the same refusals.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g
from helpers import ACME, ADA, HS_SECRET, LOGINROCKET_URL, Clock, hello_app, token_for

from flask_authrocket import current_user, require_login, session_verified
from flask_authrocket.cookie import LoginCookie
from flask_authrocket.issuer import TokenIssuer
from flask_authrocket.request import AuthRocketRequest
from flask_authrocket.settings import Settings
from flask_authrocket.tokens import TokenVerifier

LOGIN_VARY = "Cookie, Authorization"
ISSUER = TokenIssuer(secret=HS_SECRET)


@pytest.fixture
def app() -> Flask:
    return hello_app()


@pytest.fixture
def token() -> str:
    return token_for(ISSUER, ADA, (ACME,))


def get(app: Flask, cookie: str, path: str = "/hello", method: str = "GET", **headers: str) -> Any:
    """One request with ``cookie`` as its raw ``Cookie`` header, as a browser spells it."""
    return app.test_client(use_cookies=False).open(path, method=method, headers={"Cookie": cookie, **headers})


def verified_once(app: Flask, token: str) -> None:
    """Make ``token`` one the app verified earlier, as a logged-in browser's first request does."""
    assert app.extensions["authrocket"].verify(token, app=app).user.id == "usr_ada"


# -- the pieces ------------------------------------------------------------------------------------


def test_known_answers_only_a_token_verified_earlier_while_it_holds() -> None:
    clock = Clock()
    verifier = TokenVerifier(jwt_key=HS_SECRET, clock=clock)
    token = ISSUER.issue({**_claims(), "exp": int(clock.now) + 60})

    before = verifier.known(token)
    first = verifier.verify(token)
    after = verifier.known(token)
    clock.advance(60 + verifier.leeway)
    expired = verifier.known(token)

    assert before is None
    assert after is first and after.user.id == "usr_ada"
    assert expired is None
    assert verifier.verify(token).reason == "expired"  # known() said "ask", verify() decides


def test_known_leaves_every_token_to_verify_when_an_age_limit_is_set() -> None:
    verifier = TokenVerifier(jwt_key=HS_SECRET, within=3600)
    token = token_for(ISSUER, ADA, (ACME,))

    assert verifier.verify(token).user.id == "usr_ada"  # type: ignore[union-attr]
    assert verifier.known(token) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("arToken=abc.def.ghi", "abc.def.ghi"),
        ("arToken=abc.def.ghi; theme=dark", "abc.def.ghi"),
        ("theme=dark; arToken=abc.def.ghi", "abc.def.ghi"),
        ("theme=dark; arToken=abc.def.ghi; lang=fr", "abc.def.ghi"),
        ("theme=dark;arToken=abc.def.ghi", None),  # spelt otherwise: read() decides
        ("theme=dark;  arToken=abc.def.ghi", None),
        ("xarToken=abc.def.ghi", None),  # another cookie's name ends with it
        ("other=arToken=abc.def.ghi", None),  # inside another cookie's value
        ("theme=dark", None),
        ("", None),
        ("arToken=", ""),
        ('arToken="quoted"', '"quoted"'),  # as is: no token verified earlier looks like this
    ],
)
def test_the_cookie_candidate_is_the_value_where_the_name_begins_a_cookie(header: str, expected: str | None) -> None:
    assert LoginCookie("arToken").candidate(header) == expected


def test_an_app_without_a_login_cookie_has_no_candidate() -> None:
    assert LoginCookie(None).candidate("arToken=abc.def.ghi") is None


def test_a_bound_request_class_holds_the_apps_settings_and_cookie() -> None:
    settings = Settings.from_config({"LOGINROCKET_URL": LOGINROCKET_URL})
    cookie = LoginCookie("arToken")

    made = AuthRocketRequest.bound(settings, cookie)()

    assert isinstance(made, AuthRocketRequest)
    assert (made.settings, made.cookie) == (settings, cookie)
    assert made.current_session is None
    assert repr(made) == "<AuthRocketRequest user=None source=None>"


# -- the short path gives the full path's answers --------------------------------------------------


@pytest.mark.parametrize(
    "cookie",
    [
        "arToken={token}",
        "theme=dark; arToken={token}",
        "arToken={token}; theme=dark",
        # Not the short path's spellings: the full steps find the same login.
        "theme=dark;arToken={token}",
        "arToken={token} ; theme=dark",
        "arToken=; arToken={token}",
        "arToken=not-a-token; arToken={token}",
    ],
)
def test_every_spelling_of_the_cookie_logs_in_with_the_same_headers(app: Flask, token: str, cookie: str) -> None:
    verified_once(app, token)

    answer = get(app, cookie.format(token=token))

    assert (answer.status_code, answer.text) == (200, "Hello, usr_ada!")
    assert answer.headers["Vary"] == LOGIN_VARY
    assert answer.headers.getlist("Cache-Control") == ["private"]


def test_a_head_request_takes_the_short_path_too(app: Flask, token: str) -> None:
    verified_once(app, token)

    answer = get(app, f"arToken={token}", method="HEAD")

    assert (answer.status_code, answer.headers["Vary"]) == (200, LOGIN_VARY)


def test_the_short_path_sends_session_verified_with_the_cookie_source(app: Flask, token: str) -> None:
    verified_once(app, token)
    sent: list[tuple[str, str]] = []

    def received(sender: Flask, session: Any, source: str) -> None:
        sent.append((session.user.id, source))

    with session_verified.connected_to(received, app):
        get(app, f"arToken={token}")

    assert sent == [("usr_ada", "cookie")]


def test_an_unguarded_page_read_on_the_short_path_varies_on_the_login(app: Flask, token: str) -> None:
    @app.get("/open")
    def open_page() -> str:
        return f"Hi {g.authrocket.current_user.id} from {g.authrocket.token_source}"

    @app.get("/unread")
    def unread() -> str:
        return "the same for everyone"

    verified_once(app, token)

    read = get(app, f"arToken={token}", "/open")
    not_read = get(app, f"arToken={token}", "/unread")

    assert (read.text, read.headers["Vary"]) == ("Hi usr_ada from cookie", LOGIN_VARY)
    assert "Cache-Control" not in read.headers  # no guard: not marked private
    assert not_read.headers["Vary"] == "Cookie"  # the cookie was sent, the login not read


def test_a_hook_that_logs_the_request_out_before_the_guard_is_refused(app: Flask, token: str) -> None:
    @app.before_request
    def log_out_everyone() -> None:
        g.authrocket.current_session = None

    verified_once(app, token)

    browser = get(app, f"arToken={token}", Accept="text/html")
    api_client = get(app, f"arToken={token}", Accept="application/json")

    assert browser.status_code == 302  # to LoginRocket: the guard saw no login
    assert browser.location.startswith(LOGINROCKET_URL.rstrip("/") + "/login")
    assert api_client.status_code == 401


def test_a_hook_that_clears_the_cookie_before_the_guard_still_clears_it(app: Flask, token: str) -> None:
    @app.before_request
    def clear() -> None:
        g.authrocket.clear_cookie()

    verified_once(app, token)

    answer = get(app, f"arToken={token}")

    assert answer.status_code == 200  # this request was logged in; the next will not be
    assert any(value.startswith("arToken=;") for value in answer.headers.getlist("Set-Cookie"))
    assert answer.headers["Vary"] == LOGIN_VARY
    assert answer.headers.getlist("Cache-Control") == ["private"]


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        # A cross-site form post: the cookie does not count.
        ("POST", "/report", {"Origin": "https://evil.example"}, "None None True"),
        # A rejected ?token= is noted, then the cookie logs in.
        ("GET", "/report?token=not-a-token", {}, "cookie query False"),
        # So is a rejected Bearer token.
        ("GET", "/report", {"Authorization": "Bearer not-a-token"}, "cookie bearer False"),
    ],
)
def test_requests_off_the_short_path_take_the_full_steps(
    app: Flask, token: str, method: str, path: str, headers: dict[str, str], expected: str
) -> None:
    @app.route("/report", methods=["GET", "POST"])
    def report() -> str:
        found = g.authrocket
        return f"{found.token_source} {found.rejection_source} {found.cross_site}"

    verified_once(app, token)

    answer = get(app, f"arToken={token}", path, method=method, **headers)

    assert (answer.status_code, answer.text) == (200, expected)


def test_a_user_attribute_read_through_current_user_with_an_odd_name(app: Flask, token: str) -> None:
    @app.get("/odd")
    @require_login
    def odd() -> str:
        with pytest.raises(AttributeError):
            getattr(current_user, "")
        with pytest.raises(AttributeError):
            current_user._no_such_attribute  # noqa: B018 - the LocalProxy's own lookup, as before
        return f"{current_user.__class__.__name__} {current_user.get_id()}"

    verified_once(app, token)

    assert get(app, f"arToken={token}", "/odd").text == "User usr_ada"


def _claims() -> dict[str, Any]:
    from flask_authrocket.issuer import login_claims

    return login_claims(ADA, [ACME])
