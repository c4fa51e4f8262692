"""Logout: the default route, full and local logouts, and the views on an app's own routes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, get_flashed_messages, jsonify
from helpers import ACME, ADA, LOGINROCKET_URL

from flask_authrocket import ConfigurationError, full_logout, local_logout
from flask_authrocket.testing import AuthRocketTestClient, TestKeys

CLEARED_COOKIE = "arToken=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/; SameSite=Lax"


@pytest.fixture
def build_app(make_app, authrocket_config) -> Callable[..., Flask]:
    """``build_app(**config)``: the demo app trusting the test keys, on the usual LoginRocket URL.

    ``/flashes`` answers the flashed messages as JSON.
    """

    def build(**config: Any) -> Flask:
        # No logout message unless a test asks for one: most tests compare every Set-Cookie
        # header, and the flashed message brings Flask's session cookie along.
        config.setdefault("AUTHROCKET_LOGOUT_MESSAGE", None)
        app = make_app(**{**authrocket_config, "LOGINROCKET_URL": LOGINROCKET_URL, **config})
        app.test_client_class = AuthRocketTestClient

        @app.get("/flashes")
        def flashes() -> Any:
            return jsonify(get_flashed_messages())

        return app

    return build


@pytest.fixture
def app(build_app) -> Flask:
    return build_app()


def logged_in_client(app: Flask, session_id: str = "kss_ada_1", **token_options: Any) -> AuthRocketTestClient:
    client = app.test_client()
    assert isinstance(client, AuthRocketTestClient)
    client.login_as(ADA, [ACME], session_id=session_id, **token_options)
    return client


def test_default_logout_is_full_and_names_the_session(app):
    client = logged_in_client(app, session_id="kss_ada_1")

    answer = client.get("/logout")

    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "myapp.e2.loginrocket.com", "/logout")
    assert parse_qs(location.query) == {"redirect_uri": ["http://localhost/"], "session": ["kss_ada_1"]}
    assert answer.headers["Cache-Control"] == "no-store"


def test_logout_clears_the_cookie_with_its_attributes(app):
    client = logged_in_client(app)

    answer = client.get("/logout")

    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]
    assert client.get_cookie("arToken") is None
    assert client.get("/").text == "Logged out"


def test_logout_over_https_clears_a_secure_cookie(app):
    client = logged_in_client(app)

    answer = client.get("/logout", base_url="https://localhost")

    assert answer.headers["Set-Cookie"] == (
        "arToken=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Secure; HttpOnly; Path=/; SameSite=Lax"
    )
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["redirect_uri"] == ["https://localhost/"]


def test_logout_clears_a_customised_cookie_with_the_same_customisation(build_app):
    app = build_app(
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


def test_logout_when_logged_out_has_no_session_parameter(app):
    answer = app.test_client().get("/logout")

    assert answer.status_code == 302
    assert (
        answer.headers["Location"] == "https://myapp.e2.loginrocket.com/logout?redirect_uri=http%3A%2F%2Flocalhost%2F"
    )


def test_logout_with_a_forged_cookie_has_no_session_parameter(app):
    forger = TestKeys.generate(kid="test-key-1")  # unknown to the app, with the trusted key's kid
    client = logged_in_client(app, session_id="kss_mallory", keys=forger)

    answer = client.get("/logout")

    assert "session" not in parse_qs(urlsplit(answer.headers["Location"]).query)
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]


def test_logout_accepts_post(app):
    client = logged_in_client(app, session_id="kss_ada_2")

    answer = client.post("/logout")

    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["session"] == ["kss_ada_2"]
    assert client.get_cookie("arToken") is None


def test_post_logout_path_is_where_loginrocket_sends_the_user_back(build_app):
    app = build_app(AUTHROCKET_POST_LOGOUT_PATH="/goodbye?from=logout")

    answer = logged_in_client(app).get("/logout")

    assert parse_qs(urlsplit(answer.headers["Location"]).query)["redirect_uri"] == [
        "http://localhost/goodbye?from=logout"
    ]


def test_local_logout_returns_to_this_app(build_app):
    app = build_app(AUTHROCKET_LOGOUT="local")
    client = logged_in_client(app)

    answer = client.get("/logout")

    assert answer.status_code == 302
    assert answer.headers["Location"] == "http://localhost/"
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]
    assert answer.headers["Cache-Control"] == "no-store"


def test_local_logout_returns_to_the_post_logout_path(build_app):
    app = build_app(AUTHROCKET_LOGOUT="local", AUTHROCKET_POST_LOGOUT_PATH="/goodbye")

    answer = logged_in_client(app).get("/logout")

    assert answer.headers["Location"] == "http://localhost/goodbye"


def test_logout_url_none_registers_no_route(build_app):
    app = build_app(AUTHROCKET_LOGOUT_URL=None)

    assert app.test_client().get("/logout").status_code == 404


def test_custom_logout_url(build_app):
    app = build_app(AUTHROCKET_LOGOUT_URL="/account/sign-out")
    client = logged_in_client(app, session_id="kss_ada_3")

    assert client.get("/logout").status_code == 404
    answer = client.get("/account/sign-out")

    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["session"] == ["kss_ada_3"]
    assert client.get_cookie("arToken") is None


def test_full_logout_as_a_view_on_an_app_route(build_app):
    app = build_app(AUTHROCKET_LOGOUT_URL=None)
    app.add_url_rule("/bye", view_func=full_logout)
    client = logged_in_client(app, session_id="kss_ada_4")

    answer = client.get("/bye")

    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert (location.netloc, location.path) == ("myapp.e2.loginrocket.com", "/logout")
    assert parse_qs(location.query) == {"redirect_uri": ["http://localhost/"], "session": ["kss_ada_4"]}
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]


def test_local_logout_as_a_view_on_an_app_route(build_app):
    app = build_app()  # the default full /logout stays as well
    app.add_url_rule("/leave", view_func=local_logout, methods=["POST"])
    client = logged_in_client(app)

    answer = client.post("/leave")

    assert answer.status_code == 302
    assert answer.headers["Location"] == "http://localhost/"
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]
    assert client.get("/logout").headers["Location"].startswith("https://myapp.e2.loginrocket.com/logout?")


def test_full_logout_without_loginrocket_url_falls_back_to_local(build_app, caplog):
    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        app = build_app(LOGINROCKET_URL=None)

    answer = logged_in_client(app).get("/logout")

    assert answer.status_code == 302
    assert answer.headers["Location"] == "http://localhost/"
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]
    assert "LOGINROCKET_URL is not set" in caplog.text


# Under a URL prefix (SCRIPT_NAME), as behind a reverse proxy that mounts the app at /app.

UNDER_APP = "http://localhost/app/"


def test_full_logout_under_a_prefix_returns_to_the_apps_root(app):
    client = logged_in_client(app, session_id="kss_ada_5")

    answer = client.get("/logout", base_url=UNDER_APP)

    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query) == {
        "redirect_uri": ["http://localhost/app/"],
        "session": ["kss_ada_5"],
    }
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]


def test_local_logout_under_a_prefix_returns_to_the_apps_root(build_app):
    app = build_app(AUTHROCKET_LOGOUT="local")

    answer = logged_in_client(app).get("/logout", base_url=UNDER_APP)

    assert answer.headers["Location"] == "http://localhost/app/"


def test_post_logout_path_is_relative_to_the_apps_root(build_app):
    full = build_app(AUTHROCKET_POST_LOGOUT_PATH="/goodbye?from=logout")
    local = build_app(AUTHROCKET_LOGOUT="local", AUTHROCKET_POST_LOGOUT_PATH="/goodbye?from=logout")

    full_answer = logged_in_client(full).get("/logout", base_url=UNDER_APP)
    local_answer = logged_in_client(local).get("/logout", base_url=UNDER_APP)

    assert parse_qs(urlsplit(full_answer.headers["Location"]).query)["redirect_uri"] == [
        "http://localhost/app/goodbye?from=logout"
    ]
    assert local_answer.headers["Location"] == "http://localhost/app/goodbye?from=logout"


def test_post_logout_path_keeps_its_escapes(build_app):
    app = build_app(AUTHROCKET_LOGOUT="local", AUTHROCKET_POST_LOGOUT_PATH="/see%20you?next=%2Fhome")

    assert app.test_client().get("/logout").headers["Location"] == "http://localhost/see%20you?next=%2Fhome"
    assert app.test_client().get("/logout", base_url=UNDER_APP).headers["Location"] == (
        "http://localhost/app/see%20you?next=%2Fhome"
    )


# Any method, as Express's app.use('/logout', ...).


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_the_logout_route_answers_get_post_and_delete(app, method):
    client = logged_in_client(app, session_id="kss_ada_6")

    answer = client.open("/logout", method=method)

    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["session"] == ["kss_ada_6"]
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]


def test_a_local_logout_route_answers_delete(build_app):
    app = build_app(AUTHROCKET_LOGOUT="local", AUTHROCKET_LOGOUT_URL="/session")

    answer = logged_in_client(app).delete("/session")

    assert (answer.status_code, answer.headers["Location"]) == (302, "http://localhost/")
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]


# The logout message, flashed as the Rails integration does.


@pytest.mark.parametrize("kind", ["full", "local"])
def test_a_logout_flashes_the_default_message(build_app, kind):
    app = build_app(AUTHROCKET_LOGOUT=kind, AUTHROCKET_LOGOUT_MESSAGE="You have been logged out.")
    client = logged_in_client(app)

    answer = client.get("/logout")

    cookies = answer.headers.getlist("Set-Cookie")
    assert cookies[0] == CLEARED_COOKIE
    assert len(cookies) == 2 and cookies[1].startswith("session=")
    assert client.get("/flashes").json == ["You have been logged out."]
    assert client.get("/flashes").json == []  # shown once


def test_the_logout_message_is_on_by_default(make_app, authrocket_config):
    app = make_app(**authrocket_config)  # SECRET_KEY set, AUTHROCKET_LOGOUT_MESSAGE not
    app.add_url_rule("/flashes", view_func=lambda: jsonify(get_flashed_messages()))
    client = app.test_client()

    client.get("/logout")

    assert client.get("/flashes").json == ["You have been logged out."]


def test_a_custom_logout_message_on_a_view_of_the_apps_own(build_app):
    app = build_app(AUTHROCKET_LOGOUT_URL=None, AUTHROCKET_LOGOUT_MESSAGE="À bientôt !")
    app.add_url_rule("/bye", view_func=full_logout)
    app.add_url_rule("/leave", view_func=local_logout)
    client = logged_in_client(app)

    client.get("/bye")
    client.get("/leave")

    assert client.get("/flashes").json == ["À bientôt !", "À bientôt !"]


def test_no_logout_message_when_it_is_none(build_app):
    app = build_app()  # AUTHROCKET_LOGOUT_MESSAGE=None
    client = logged_in_client(app)

    answer = client.get("/logout")

    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]
    assert client.get("/flashes").json == []


def test_no_logout_message_and_no_error_without_a_secret_key(build_app):
    app = build_app(AUTHROCKET_LOGOUT_MESSAGE="You have been logged out.", SECRET_KEY=None)
    client = logged_in_client(app)

    answer = client.get("/logout")

    assert answer.status_code == 302
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]


@pytest.mark.parametrize("value", [42, b"bye", ["bye"]])
def test_the_logout_message_must_be_text_or_none(build_app, value):
    with pytest.raises(ConfigurationError, match="AUTHROCKET_LOGOUT_MESSAGE"):
        build_app(AUTHROCKET_LOGOUT_MESSAGE=value)
