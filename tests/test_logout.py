"""Logout: the default route, full and local logouts, and the views on an app's own routes."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

from conftest import HS_SECRET, token_for

from flask_authrocket import full_logout, local_logout

CLEARED_COOKIE = "arToken=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/; SameSite=Lax"


def logged_in_client(app, issuer, session_id="kss_ada_1"):
    client = app.test_client()
    client.set_cookie("arToken", token_for(issuer, session_id=session_id))
    return client


def test_default_logout_is_full_and_names_the_session(hs_app, hs_issuer):
    client = logged_in_client(hs_app, hs_issuer, session_id="kss_ada_1")

    answer = client.get("/logout")

    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "myapp.e2.loginrocket.com", "/logout")
    assert parse_qs(location.query) == {"redirect_uri": ["http://localhost/"], "session": ["kss_ada_1"]}
    assert answer.headers["Cache-Control"] == "no-store"


def test_logout_clears_the_cookie_with_its_attributes(hs_app, hs_issuer):
    client = logged_in_client(hs_app, hs_issuer)

    answer = client.get("/logout")

    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]
    assert client.get_cookie("arToken") is None
    assert client.get("/").text == "Logged out"


def test_logout_over_https_clears_a_secure_cookie(hs_app, hs_issuer):
    client = hs_app.test_client()
    client.set_cookie("arToken", token_for(hs_issuer))

    answer = client.get("/logout", base_url="https://localhost")

    assert answer.headers["Set-Cookie"] == (
        "arToken=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Secure; HttpOnly; Path=/; SameSite=Lax"
    )
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["redirect_uri"] == ["https://localhost/"]


def test_logout_clears_a_customised_cookie_with_the_same_customisation(make_app, hs_issuer):
    app = make_app(
        AUTHROCKET_JWT_KEY=HS_SECRET,
        AUTHROCKET_COOKIE_NAME="session_token",
        AUTHROCKET_COOKIE_PATH="/app",
        AUTHROCKET_COOKIE_DOMAIN="example.test",
        AUTHROCKET_COOKIE_SAMESITE="Strict",
    )

    answer = app.test_client().get("/logout")

    assert answer.headers.getlist("Set-Cookie") == [
        "session_token=; Domain=example.test; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; "
        "Path=/app; SameSite=Strict"
    ]


def test_logout_when_logged_out_has_no_session_parameter(hs_app):
    answer = hs_app.test_client().get("/logout")

    assert answer.status_code == 302
    assert (
        answer.headers["Location"] == "https://myapp.e2.loginrocket.com/logout?redirect_uri=http%3A%2F%2Flocalhost%2F"
    )


def test_logout_with_a_forged_cookie_has_no_session_parameter(hs_app, rsa_issuer):
    client = logged_in_client(hs_app, rsa_issuer, session_id="kss_mallory")

    answer = client.get("/logout")

    assert "session" not in parse_qs(urlsplit(answer.headers["Location"]).query)
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]


def test_logout_accepts_post(hs_app, hs_issuer):
    client = logged_in_client(hs_app, hs_issuer, session_id="kss_ada_2")

    answer = client.post("/logout")

    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["session"] == ["kss_ada_2"]
    assert client.get_cookie("arToken") is None


def test_post_logout_path_is_where_loginrocket_sends_the_user_back(make_app, hs_issuer):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_POST_LOGOUT_PATH="/goodbye?from=logout")

    answer = logged_in_client(app, hs_issuer).get("/logout")

    assert parse_qs(urlsplit(answer.headers["Location"]).query)["redirect_uri"] == [
        "http://localhost/goodbye?from=logout"
    ]


def test_local_logout_returns_to_this_app(make_app, hs_issuer):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_LOGOUT="local")
    client = logged_in_client(app, hs_issuer)

    answer = client.get("/logout")

    assert answer.status_code == 302
    assert answer.headers["Location"] == "http://localhost/"
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]
    assert answer.headers["Cache-Control"] == "no-store"


def test_local_logout_returns_to_the_post_logout_path(make_app, hs_issuer):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_LOGOUT="local", AUTHROCKET_POST_LOGOUT_PATH="/goodbye")

    answer = logged_in_client(app, hs_issuer).get("/logout")

    assert answer.headers["Location"] == "http://localhost/goodbye"


def test_logout_url_none_registers_no_route(make_app):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_LOGOUT_URL=None)

    assert app.test_client().get("/logout").status_code == 404


def test_custom_logout_url(make_app, hs_issuer):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_LOGOUT_URL="/account/sign-out")
    client = logged_in_client(app, hs_issuer, session_id="kss_ada_3")

    assert client.get("/logout").status_code == 404
    answer = client.get("/account/sign-out")

    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["session"] == ["kss_ada_3"]
    assert client.get_cookie("arToken") is None


def test_full_logout_as_a_view_on_an_app_route(make_app, hs_issuer):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_LOGOUT_URL=None)
    app.add_url_rule("/bye", view_func=full_logout)
    client = logged_in_client(app, hs_issuer, session_id="kss_ada_4")

    answer = client.get("/bye")

    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert (location.netloc, location.path) == ("myapp.e2.loginrocket.com", "/logout")
    assert parse_qs(location.query) == {"redirect_uri": ["http://localhost/"], "session": ["kss_ada_4"]}
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]


def test_local_logout_as_a_view_on_an_app_route(make_app, hs_issuer):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET)  # the default full /logout stays as well
    app.add_url_rule("/leave", view_func=local_logout, methods=["POST"])
    client = logged_in_client(app, hs_issuer)

    answer = client.post("/leave")

    assert answer.status_code == 302
    assert answer.headers["Location"] == "http://localhost/"
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]
    assert client.get("/logout").headers["Location"].startswith("https://myapp.e2.loginrocket.com/logout?")


def test_full_logout_without_loginrocket_url_falls_back_to_local(make_app, hs_issuer, caplog):
    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL=None)

    answer = logged_in_client(app, hs_issuer).get("/logout")

    assert answer.status_code == 302
    assert answer.headers["Location"] == "http://localhost/"
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]
    assert "LOGINROCKET_URL is not set" in caplog.text
