"""The development LoginRocket: hosted pages, demo users, real tokens checked by the real verifier.

Every token here is signed by the dev app's own key (kept in a tmp instance
folder) and verified by :class:`flask_authrocket.tokens.TokenVerifier`, either
against the dev app's ``/connect/jwks`` served on a real loopback port, or
with the HS256 secret.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from helpers import serving
from werkzeug.test import TestResponse

from flask_authrocket.dev import create_app
from flask_authrocket.dev.directory import Directory
from flask_authrocket.dev.login_urls import is_allowed_redirect, with_token
from flask_authrocket.dev.server import check_bind_host
from flask_authrocket.fetch import is_loopback, is_loopback_url
from flask_authrocket.models import Session
from flask_authrocket.tokens import TokenVerifier

APP = "http://127.0.0.1:5000/"
BANNER = "Development LoginRocket — for development only, never in production"
HS_SECRET = "dev_shared_secret_0123456789abcdef0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_dev_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DEV_LOGINROCKET_LOGIN_URLS",
        "DEV_LOGINROCKET_JWT_SECRET",
        "DEV_LOGINROCKET_TOKEN_TTL",
        "DEV_LOGINROCKET_INSTANCE_PATH",
        "DEV_LOGINROCKET_ALLOW_REMOTE",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_dev(tmp_path: Path) -> Callable[..., Flask]:
    """``make_dev(folder="instance", **config)``: a dev LoginRocket on an instance folder under tmp_path."""

    def build(folder: str = "instance", **config: Any) -> Flask:
        config.setdefault("DEV_LOGINROCKET_INSTANCE_PATH", str(tmp_path / folder))
        config.setdefault("TESTING", True)
        return create_app(config)

    return build


@pytest.fixture
def dev(make_dev: Callable[..., Flask]) -> Flask:
    return make_dev()


@pytest.fixture
def client(dev: Flask) -> FlaskClient:
    return dev.test_client()


@contextmanager
def verifier_for(app: Flask) -> Iterator[TokenVerifier]:
    """The real verifier, fetching keys from ``app``'s /connect/jwks over loopback HTTP."""
    with serving(app) as url:
        verifier = TokenVerifier(loginrocket_url=url)
        try:
            yield verifier
        finally:
            verifier.keys._http.close()  # type: ignore[union-attr]


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def page(client: FlaskClient, path: str, **params: str) -> tuple[TestResponse, str]:
    response = client.get(path, query_string=params)
    return response, response.get_data(as_text=True)


def post_form(client: FlaskClient, path: str, form: dict[str, str], *, redirect_uri: str | None = None) -> TestResponse:
    """POST ``form`` to ``path`` with this browser's CSRF token (read from a page that always has a form)."""
    _, html = page(client, "/signup")
    data = {"csrf_token": csrf_of(html), **form}
    if redirect_uri:
        data["redirect_uri"] = redirect_uri
    return client.post(path, data=data)


def log_in_as(client: FlaskClient, user_id: str, redirect_uri: str | None = None) -> TestResponse:
    return post_form(client, "/login", {"demo_user": user_id}, redirect_uri=redirect_uri)


def token_in(response: TestResponse) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)
    tokens = parse_qs(urlsplit(response.headers["Location"]).query)["token"]
    assert len(tokens) == 1
    return tokens[0]


def memberships_of(session: Session) -> dict[str, tuple[str, ...]]:
    assert session.user.memberships is not None
    return {m.org.name or "": m.permissions for m in session.user.memberships if m.org}


def verified(verifier: TokenVerifier, token: str) -> Session:
    result = verifier.verify(token)
    assert isinstance(result, Session), result
    return result


# The login page ------------------------------------------------------------------------------


def test_login_page_offers_demo_users_as_its_first_buttons(client: FlaskClient) -> None:
    response, html = page(client, "/login")

    assert response.status_code == 200
    assert BANNER in html
    buttons = re.findall(r"<button([^>]*)>(.*?)</button>", html, re.S)
    assert [label.strip() for _, label in buttons[:2]] == ["Log in as Ada Lovelace", "Log in as Grace Hopper"]
    assert 'name="demo_user" value="usr_ada"' in buttons[0][0]
    assert 'name="demo_user" value="usr_grace"' in buttons[1][0]
    assert html.index('name="demo_user"') < html.index('name="password"')
    assert "ada@example.com" in html


def test_one_click_login_returns_a_verified_rs256_token_with_memberships(dev: Flask) -> None:
    client = dev.test_client()
    response = log_in_as(client, "usr_ada", redirect_uri="http://127.0.0.1:5000/dashboard")

    assert response.headers["Location"].startswith("http://127.0.0.1:5000/dashboard?token=")
    token = token_in(response)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    with verifier_for(dev) as verifier:
        session = verified(verifier, token)
        assert header["kid"] == requests.get(verifier.keys.url, timeout=5).json()["keys"][0]["kid"]  # type: ignore[union-attr]

    assert session.id and session.id.startswith("kss_")
    assert session.expires_at - (session.created_at or 0) == 3600
    user = session.user
    assert (user.id, user.email, user.first_name, user.last_name, user.name) == (
        "usr_ada",
        "ada@example.com",
        "Ada",
        "Lovelace",
        "Ada Lovelace",
    )
    assert user.realm_id == "rl_dev"
    assert memberships_of(session) == {"Acme Inc.": ("site:admin",), "Globex": ()}
    assert [(m.id, m.org_id) for m in user.memberships or ()] == [
        ("mb_ada_acme", "org_acme"),
        ("mb_ada_globex", "org_globex"),
    ]
    assert not any(m.selected for m in user.memberships or ())
    assert session.current_org is not None and session.current_org.id == "org_acme"

    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("dev_loginrocket=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_grace_is_a_plain_member_of_acme_only(dev: Flask) -> None:
    token = token_in(log_in_as(dev.test_client(), "usr_grace"))
    with verifier_for(dev) as verifier:
        session = verified(verifier, token)
    assert session.user.email == "grace@example.com"
    assert memberships_of(session) == {"Acme Inc.": ()}


def test_without_redirect_uri_the_default_login_url_gets_the_token(make_dev: Callable[..., Flask]) -> None:
    dev = make_dev(DEV_LOGINROCKET_LOGIN_URLS=["http://localhost:8000/app/", APP])
    response = log_in_as(dev.test_client(), "usr_ada")
    assert response.headers["Location"].startswith("http://localhost:8000/app/?token=")


def test_a_redirect_uri_with_a_query_gets_the_token_after_an_ampersand(client: FlaskClient) -> None:
    response = log_in_as(client, "usr_ada", redirect_uri="http://127.0.0.1:5000/projects?tab=2")
    assert response.headers["Location"].startswith("http://127.0.0.1:5000/projects?tab=2&token=ey")
    assert with_token("http://h/p?token=old&a=1#top", "new") == "http://h/p?a=1&token=new#top"


def test_demo_buttons_log_in_only_demo_users(client: FlaskClient) -> None:
    signed_up = post_form(client, "/signup", {"email": "eve@example.com", "password": "correct horse"})
    user_id = jwt.decode(token_in(signed_up), options={"verify_signature": False})["sub"]
    client.get("/logout")

    response = log_in_as(client, user_id)
    assert response.status_code == 400
    assert "no such demo user" in response.get_data(as_text=True)
    assert log_in_as(client, "usr_nobody").status_code == 400


# Email and password ---------------------------------------------------------------------------


def test_a_signed_up_user_logs_in_with_email_and_password(dev: Flask) -> None:
    client = dev.test_client()
    signed_up = post_form(
        client,
        "/signup",
        {
            "first_name": "Katherine",
            "last_name": "Johnson",
            "email": "kj@example.com",
            "password": "orbit-1962",
            "org_name": "NASA Langley",
        },
        redirect_uri="http://127.0.0.1:5000/welcome",
    )
    assert signed_up.headers["Location"].startswith("http://127.0.0.1:5000/welcome?token=")
    client.get("/logout")

    logged_in = post_form(client, "/login", {"email": "KJ@example.com", "password": "orbit-1962"}, redirect_uri=APP)

    with verifier_for(dev) as verifier:
        first = verified(verifier, token_in(signed_up))
        second = verified(verifier, token_in(logged_in))
    assert second.user.id == first.user.id and second.user.id.startswith("usr_")
    assert second.user.name == "Katherine Johnson"
    assert second.user.email_verification == "none"
    assert memberships_of(second) == {"NASA Langley": ("site:admin",)}
    assert second.id != first.id  # each login is a new LoginRocket session


def test_signup_without_an_org_gives_no_memberships(client: FlaskClient) -> None:
    token = token_in(post_form(client, "/signup", {"email": "solo@example.com", "password": "12345678"}))
    assert jwt.decode(token, options={"verify_signature": False})["orgs"] == []


def test_signup_errors_show_the_form_again(client: FlaskClient) -> None:
    short = post_form(client, "/signup", {"email": "x@example.com", "password": "short"})
    assert short.status_code == 400 and "at least 8 characters" in short.get_data(as_text=True)
    taken = post_form(client, "/signup", {"email": "ADA@example.com", "password": "long enough"})
    assert taken.status_code == 400 and "already has an account" in taken.get_data(as_text=True)
    bad = post_form(client, "/signup", {"email": "not-an-email", "password": "long enough"})
    assert bad.status_code == 400 and "valid email" in bad.get_data(as_text=True)


@pytest.mark.parametrize(
    ("email", "password"), [("ada@example.com", "wrong"), ("nobody@example.com", "password"), ("", "")]
)
def test_a_wrong_password_shows_the_form_again_with_an_error(client: FlaskClient, email: str, password: str) -> None:
    response = post_form(client, "/login", {"email": email, "password": password}, redirect_uri=APP)

    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "Wrong email or password." in html
    assert 'name="password"' in html and f'value="{APP}"' in html
    assert page(client, "/login")[0].status_code == 200  # still not logged in


def test_demo_users_can_also_use_their_password(client: FlaskClient) -> None:
    response = post_form(client, "/login", {"email": "grace@example.com", "password": "password"})
    assert jwt.decode(token_in(response), options={"verify_signature": False})["sub"] == "usr_grace"


@pytest.mark.parametrize("csrf", [None, "forged"])
def test_forms_without_the_csrf_token_are_refused(client: FlaskClient, csrf: str | None) -> None:
    page(client, "/login")
    data = {"demo_user": "usr_ada", **({"csrf_token": csrf} if csrf else {})}
    response = client.post("/login", data=data)
    assert response.status_code == 400
    assert BANNER in response.get_data(as_text=True)
    assert page(client, "/login")[0].status_code == 200


# Where the browser is sent ---------------------------------------------------------------------

LOGIN_URLS = ["http://127.0.0.1:5000/", "https://app.example.com/app"]


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:5000/",
        "http://127.0.0.1:5000",
        "http://127.0.0.1:5000/dashboard/projects?id=3#top",
        "https://app.example.com/app",
        "https://app.example.com/app/",
        "https://app.example.com/app/settings?x=1",
        "HTTPS://APP.EXAMPLE.COM:443/app/x",
    ],
)
def test_redirect_uris_equal_or_more_specific_are_allowed(uri: str) -> None:
    assert is_allowed_redirect(uri, LOGIN_URLS)


@pytest.mark.parametrize(
    "uri",
    [
        "http://evil.example/",  # other host
        "http://localhost:5000/",  # other host name, even if the same machine
        "http://127.0.0.1:5001/",  # other port
        "http://127.0.0.1/",  # default port is another port
        "https://127.0.0.1:5000/",  # other scheme
        "http://app.example.com/app/x",  # other scheme
        "https://app.example.com:8443/app",  # other port
        "https://app.example.com/application",  # the path prefix trick
        "https://app.example.com/ap",
        "https://app.example.com/",
        "https://app.example.com/app/../admin",
        "https://app.example.com/app/%2E%2E/admin",
        "https://app.example.com/app%2F..%2Fadmin",
        "https://app.example.com/app\\..\\admin",
        "http://127.0.0.1:5000@evil.example/",
        "http://user:pw@127.0.0.1:5000/",
        "//127.0.0.1:5000/",
        "/dashboard",
        "javascript:alert(1)",
        "http://127.0.0.1:5000/\nSet-Cookie: x",
        "",
    ],
)
def test_other_redirect_uris_are_refused(uri: str) -> None:
    assert not is_allowed_redirect(uri, LOGIN_URLS)


@pytest.mark.parametrize(
    ("redirect_uri", "expected"),
    [
        ("https://app.example.com/app/reports", "https://app.example.com/app/reports?token="),
        ("https://app.example.com/application", "http://127.0.0.1:5000/?token="),
        ("http://127.0.0.1:5001/", "http://127.0.0.1:5000/?token="),
        ("https://127.0.0.1:5000/", "http://127.0.0.1:5000/?token="),
        ("http://evil.example/app", "http://127.0.0.1:5000/?token="),
    ],
)
def test_a_refused_redirect_uri_falls_back_to_the_default_login_url(
    make_dev: Callable[..., Flask], redirect_uri: str, expected: str
) -> None:
    dev = make_dev(DEV_LOGINROCKET_LOGIN_URLS=LOGIN_URLS)
    response = log_in_as(dev.test_client(), "usr_ada", redirect_uri=redirect_uri)
    assert response.headers["Location"].startswith(expected)


def test_a_replaced_redirect_uri_is_named_on_the_page_and_in_the_log(
    make_dev: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    # An app on port 5002 while the development LoginRocket allows only port 5000: the commonest
    # first-hour mistake. The browser still gets a token, but for the other app; both are named.
    dev = make_dev()
    client = dev.test_client()
    notice = "redirect_uri http://127.0.0.1:5002/dashboard matches no Login URL (http://127.0.0.1:5000/)"

    _, html = page(client, "/login", redirect_uri="http://127.0.0.1:5002/dashboard")
    assert notice in html
    assert "the default Login URL, http://127.0.0.1:5000/" in html
    assert "--login-url http://127.0.0.1:5002/" in html

    caplog.clear()  # the start-up warning
    with caplog.at_level("WARNING", logger="flask_authrocket"):
        response = log_in_as(client, "usr_ada", redirect_uri="http://127.0.0.1:5002/dashboard")
    assert response.headers["Location"].startswith(APP + "?token=")
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == 1
    assert (
        notice in warnings[0] and "sending the browser to the default Login URL http://127.0.0.1:5000/" in warnings[0]
    )
    assert "token=" not in warnings[0]

    # An allowed redirect_uri is followed without a word.
    caplog.clear()
    _, allowed = page(client, "/accounts", redirect_uri="http://127.0.0.1:5000/x", force="1")
    assert "matches no Login URL" not in allowed
    with caplog.at_level("WARNING", logger="flask_authrocket"):
        log_in_as(client, "usr_ada", redirect_uri="http://127.0.0.1:5000/x")
    assert not caplog.records


def test_a_logout_that_cannot_follow_its_redirect_uri_says_why(dev: Flask, caplog: pytest.LogCaptureFixture) -> None:
    client = dev.test_client()
    log_in_as(client, "usr_ada")

    with caplog.at_level("WARNING", logger="flask_authrocket"):
        response, html = page(client, "/logout", redirect_uri="http://localhost:5000/")

    assert response.status_code == 200 and "You are logged out" in html
    assert "redirect_uri http://localhost:5000/ matches no Login URL (http://127.0.0.1:5000/)" in html
    assert any("redirect_uri http://localhost:5000/ matches no Login URL" in r.getMessage() for r in caplog.records)


# Staying logged in at LoginRocket -------------------------------------------------------------


def test_login_while_logged_in_goes_straight_back_with_a_fresh_token(dev: Flask) -> None:
    client = dev.test_client()
    first = token_in(log_in_as(client, "usr_ada", redirect_uri="http://127.0.0.1:5000/a"))

    again = client.get("/login", query_string={"redirect_uri": "http://127.0.0.1:5000/b?x=1"})

    assert again.headers["Location"].startswith("http://127.0.0.1:5000/b?x=1&token=")
    with verifier_for(dev) as verifier:
        session = verified(verifier, token_in(again))
        assert session.id == verified(verifier, first).id
    assert session.user.id == "usr_ada"
    # A refused redirect_uri still goes back, to the default Login URL.
    assert client.get("/login?redirect_uri=http://evil.example/").headers["Location"].startswith(APP + "?token=")


def test_pages_that_need_a_login_send_to_login_keeping_redirect_uri(client: FlaskClient) -> None:
    for path in ("/profile", "/accounts", "/accounts/org_acme"):
        response = client.get(path, query_string={"redirect_uri": "http://127.0.0.1:5000/x"})
        assert response.status_code == 302
        assert response.headers["Location"] == "/login?redirect_uri=http://127.0.0.1:5000/x"


# Accounts ---------------------------------------------------------------------------------------


def test_picking_an_account_selects_its_org_in_the_token_and_is_remembered(dev: Flask) -> None:
    client = dev.test_client()
    log_in_as(client, "usr_ada")
    response, html = page(client, "/accounts", redirect_uri="http://127.0.0.1:5000/dashboard")
    assert response.status_code == 200 and "Acme Inc." in html and "Globex" in html

    picked = client.post(
        "/accounts",
        data={"csrf_token": csrf_of(html), "org_id": "org_globex", "redirect_uri": "http://127.0.0.1:5000/dashboard"},
    )
    assert picked.headers["Location"].startswith("http://127.0.0.1:5000/dashboard?token=")

    client.get("/logout")
    later = log_in_as(client, "usr_ada")
    back = post_form(client, "/accounts", {"org_id": "org_acme"})
    with verifier_for(dev) as verifier:
        selected = [verified(verifier, token_in(r)).current_org for r in (picked, later, back)]
    assert [org.id if org else None for org in selected] == ["org_globex", "org_globex", "org_acme"]
    claims = jwt.decode(token_in(back), options={"verify_signature": False})
    assert [(entry["oid"], entry.get("selected", False)) for entry in claims["orgs"]] == [
        ("org_acme", True),
        ("org_globex", False),
    ]


def test_one_org_is_picked_at_once_unless_forced(client: FlaskClient) -> None:
    log_in_as(client, "usr_grace")

    response = client.get("/accounts", query_string={"redirect_uri": APP})
    claims = jwt.decode(token_in(response), options={"verify_signature": False})
    assert claims["orgs"] == [
        {"oid": "org_acme", "mid": "mb_grace_acme", "name": "Acme Inc.", "perm": [], "selected": True}
    ]

    forced, html = page(client, "/accounts", force="1")
    assert forced.status_code == 200 and "Acme Inc." in html
    assert post_form(client, "/accounts", {"org_id": "org_globex"}).status_code == 404


def test_the_account_page_shows_the_org_and_the_users_permissions_there(client: FlaskClient) -> None:
    log_in_as(client, "usr_ada")

    response, html = page(client, "/accounts/org_acme", redirect_uri="http://127.0.0.1:5000/x")
    assert response.status_code == 200
    assert "<h1>Acme Inc.</h1>" in html and "site:admin" in html
    assert 'href="/accounts?redirect_uri=http://127.0.0.1:5000/x&amp;force=1"' in html
    assert 'href="http://127.0.0.1:5000/x"' in html  # back to the app

    _, globex = page(client, "/accounts/org_globex")
    assert "<h1>Globex</h1>" in globex and "site:admin" not in globex and "plain member" in globex
    assert client.get("/accounts/org_nope").status_code == 404


def test_the_account_page_answers_both_spellings_of_its_url(client: FlaskClient) -> None:
    # The helpers of AuthRocket's SDKs build /accounts/<id>; the LoginRocket URLs page writes /account/<id>.
    log_in_as(client, "usr_ada")

    plural, plural_html = page(client, "/accounts/org_acme")
    singular, singular_html = page(client, "/account/org_acme")

    assert (plural.status_code, singular.status_code) == (200, 200)
    assert "<h1>Acme Inc.</h1>" in singular_html and singular_html == plural_html
    assert client.get("/account/org_nope").status_code == 404


def selected_marks(html: str) -> list[str]:
    """The names of the accounts the page marks as selected."""
    return re.findall(r'<li aria-current="true">\s*<button[^>]*>\s*([^<]+?)\s*<span class="tag">selected</span>', html)


def test_the_accounts_page_marks_the_selected_org(client: FlaskClient) -> None:
    log_in_as(client, "usr_ada")

    _, before = page(client, "/accounts", force="1")
    assert selected_marks(before) == []
    assert "No account is selected yet: apps use the first one, Acme Inc." in before

    post_form(client, "/accounts", {"org_id": "org_globex"})
    _, after = page(client, "/accounts", force="1")
    assert selected_marks(after) == ["Globex"]
    assert "No account is selected yet" not in after
    _, details = page(client, "/accounts/org_globex")
    assert "The selected account" in details and "Use this account" not in details
    _, other = page(client, "/accounts/org_acme")
    assert "The selected account" not in other and "Use this account" in other


# Profile ---------------------------------------------------------------------------------------


def test_a_profile_change_reaches_the_app_in_a_fresh_token(dev: Flask) -> None:
    client = dev.test_client()
    log_in_as(client, "usr_ada")
    _, html = page(client, "/profile")
    assert 'value="Ada"' in html and 'value="ada@example.com"' in html

    saved = post_form(
        client,
        "/profile",
        {"first_name": "Augusta", "last_name": "King", "email": "augusta@example.com"},
        redirect_uri="http://127.0.0.1:5000/settings",
    )

    assert saved.headers["Location"].startswith("http://127.0.0.1:5000/settings?token=")
    with verifier_for(dev) as verifier:
        user = verified(verifier, token_in(saved)).user
    assert (user.id, user.first_name, user.name, user.email) == (
        "usr_ada",
        "Augusta",
        "Augusta King",
        "augusta@example.com",
    )
    client.get("/logout")
    assert "Log in as Augusta King" in page(client, "/login")[1]


def test_a_profile_email_in_use_shows_the_form_again(client: FlaskClient) -> None:
    log_in_as(client, "usr_ada")
    response = post_form(client, "/profile", {"first_name": "Ada", "last_name": "L", "email": "grace@example.com"})
    assert response.status_code == 400
    assert "already used" in response.get_data(as_text=True)


# Logout ----------------------------------------------------------------------------------------


def test_logout_ends_the_login_and_returns_to_an_allowed_redirect_uri(dev: Flask) -> None:
    client = dev.test_client()
    sid = jwt.decode(token_in(log_in_as(client, "usr_ada")), options={"verify_signature": False})["sid"]

    response = client.get("/logout", query_string={"redirect_uri": APP, "session": sid})

    assert response.status_code == 302
    assert response.headers["Location"] == APP
    assert "dev_loginrocket=;" in response.headers["Set-Cookie"]
    session = dev.extensions["dev_loginrocket"].directory.session(sid)
    assert session is not None and session.ended_at is not None
    again, html = page(client, "/login", redirect_uri=APP)
    assert again.status_code == 200 and "Log in as Ada Lovelace" in html


@pytest.mark.parametrize("redirect_uri", [None, "http://evil.example/", "http://127.0.0.1:5001/"])
def test_logout_without_an_allowed_redirect_uri_shows_a_logged_out_page(
    client: FlaskClient, redirect_uri: str | None
) -> None:
    log_in_as(client, "usr_ada")
    response, html = page(client, "/logout", **({"redirect_uri": redirect_uri} if redirect_uri else {}))
    assert response.status_code == 200
    assert "You are logged out" in html and 'href="/login' in html
    assert BANNER in html
    assert page(client, "/login")[0].status_code == 200


def test_logout_ends_only_the_session_of_the_browsers_own_cookie(dev: Flask) -> None:
    # Until now /logout?session=<id> ended any session named: a link on any page logged its victim out.
    victim, attacker = dev.test_client(), dev.test_client()
    victim_sid = jwt.decode(token_in(log_in_as(victim, "usr_grace")), options={"verify_signature": False})["sid"]
    attacker_sid = jwt.decode(token_in(log_in_as(attacker, "usr_ada")), options={"verify_signature": False})["sid"]
    directory = dev.extensions["dev_loginrocket"].directory

    by_a_stranger = dev.test_client().get("/logout", query_string={"session": victim_sid})
    by_another_login = attacker.get("/logout", query_string={"session": victim_sid})

    assert (by_a_stranger.status_code, by_another_login.status_code) == (200, 200)
    still_on = directory.session(victim_sid)
    assert still_on is not None and still_on.ended_at is None
    assert victim.get("/profile").status_code == 200  # still logged in at LoginRocket
    ended = directory.session(attacker_sid)
    assert ended is not None and ended.ended_at is not None  # the attacker logged out themselves only


# Restarts --------------------------------------------------------------------------------------


def test_the_signing_key_survives_a_restart(make_dev: Callable[..., Flask], tmp_path: Path) -> None:
    first = make_dev()
    token = token_in(log_in_as(first.test_client(), "usr_ada"))
    kid = first.test_client().get("/connect/jwks").get_json()["keys"][0]["kid"]
    key_file = tmp_path / "instance" / "dev_loginrocket_signing_key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    restarted = make_dev()

    jwks = restarted.test_client().get("/connect/jwks").get_json()
    assert [key["kid"] for key in jwks["keys"]] == [kid]
    assert {"alg", "x5c", "n", "e"} <= set(jwks["keys"][0])
    with verifier_for(restarted) as verifier:
        assert verified(verifier, token).user.id == "usr_ada"
    other = make_dev(folder="elsewhere")
    assert other.test_client().get("/connect/jwks").get_json()["keys"][0]["kid"] != kid


def test_users_orgs_and_choices_survive_a_restart(make_dev: Callable[..., Flask]) -> None:
    client = make_dev().test_client()
    post_form(
        client,
        "/signup",
        {
            "first_name": "Mary",
            "last_name": "Jackson",
            "email": "mary@example.com",
            "password": "wind-tunnel",
            "org_name": "Langley",
        },
    )
    log_in_as(client, "usr_ada")
    post_form(client, "/accounts", {"org_id": "org_globex"})

    restarted = make_dev()
    client = restarted.test_client()
    mary = post_form(client, "/login", {"email": "mary@example.com", "password": "wind-tunnel"})
    ada = log_in_as(client, "usr_ada")

    with verifier_for(restarted) as verifier:
        mary_session = verified(verifier, token_in(mary))
        ada_session = verified(verifier, token_in(ada))
    assert mary_session.user.name == "Mary Jackson"
    assert memberships_of(mary_session) == {"Langley": ("site:admin",)}
    assert ada_session.current_org is not None and ada_session.current_org.id == "org_globex"
    assert len(Directory.open(restarted.extensions["dev_loginrocket"].directory.path).demo_users()) == 2


# HS256 -----------------------------------------------------------------------------------------


def test_with_a_shared_secret_tokens_are_hs256_and_the_key_set_is_empty(
    make_dev: Callable[..., Flask], tmp_path: Path
) -> None:
    dev = make_dev(DEV_LOGINROCKET_JWT_SECRET=HS_SECRET, DEV_LOGINROCKET_TOKEN_TTL=600)
    client = dev.test_client()
    token = token_in(log_in_as(client, "usr_ada"))

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    session = verified(TokenVerifier(jwt_key=HS_SECRET), token)
    assert memberships_of(session) == {"Acme Inc.": ("site:admin",), "Globex": ()}
    assert session.expires_at - (session.created_at or 0) == 600
    assert TokenVerifier(jwt_key=HS_SECRET[:-1] + "x").session_from_token(token) is None
    assert client.get("/connect/jwks").get_json() == {"keys": []}
    assert not (tmp_path / "instance" / "dev_loginrocket_signing_key.pem").exists()


def test_an_rs256_token_does_not_pass_an_hs256_verifier(dev: Flask) -> None:
    token = token_in(log_in_as(dev.test_client(), "usr_ada"))
    assert TokenVerifier(jwt_key=HS_SECRET).session_from_token(token) is None


# Development only ------------------------------------------------------------------------------


def test_every_page_carries_the_development_banner(client: FlaskClient) -> None:
    for path in ("/login", "/signup", "/accounts/org_missing?x=1"):
        assert BANNER in client.get(path, follow_redirects=True).get_data(as_text=True)
    log_in_as(client, "usr_ada")
    for path in ("/profile", "/accounts", "/accounts/org_acme", "/logout", "/nowhere"):
        assert BANNER in client.get(path).get_data(as_text=True), path


def test_start_up_logs_a_development_only_warning(
    make_dev: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="flask_authrocket"):
        make_dev()
    assert any("for development only, never in production" in r.getMessage() for r in caplog.records)


def test_one_loopback_check_for_hosts_and_urls() -> None:
    for host in ("127.0.0.1", "127.9.9.9", "::1", "[::1]", "::ffff:127.0.0.1", "LOCALHOST"):
        assert is_loopback(host), host
    for host in ("10.1.2.3", "::ffff:8.8.8.8", "localhost.example.com", "0.0.0.0", None, ""):
        assert not is_loopback(host), host
    for url in ("http://127.0.0.1:5001/", "http://[::1]:5001/v2", "http://[::ffff:127.0.0.1]/"):
        assert is_loopback_url(url), url
    for url in ("http://10.1.2.3:5001/", "http://localhost.example.com/", "http://[::ffff:8.8.8.8]/", "nonsense"):
        assert not is_loopback_url(url), url


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com", ""])
def test_a_non_loopback_bind_address_is_refused(host: str) -> None:
    with pytest.raises(ValueError, match="--allow-remote"):
        check_bind_host(host)
    check_bind_host(host or "0.0.0.0", allow_remote=True)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_bind_addresses_are_accepted(host: str) -> None:
    check_bind_host(host)


def test_the_command_refuses_0_0_0_0(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flask_authrocket.dev", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "i")],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert result.returncode != 0
    assert "refusing to listen on '0.0.0.0'" in result.stderr
    assert not (tmp_path / "i").exists()


def test_remote_clients_are_refused_unless_allowed(make_dev: Callable[..., Flask]) -> None:
    remote = {"REMOTE_ADDR": "192.0.2.7"}
    refused = make_dev().test_client().get("/login", environ_base=remote)
    assert refused.status_code == 403 and BANNER in refused.get_data(as_text=True)
    allowed = make_dev(DEV_LOGINROCKET_ALLOW_REMOTE=True).test_client().get("/login", environ_base=remote)
    assert allowed.status_code == 200


@pytest.mark.parametrize(
    ("base_url", "host"),
    [
        ("http://127.0.0.1:5001", "127.0.0.1:5001"),
        ("http://127.0.0.1:5001", "localhost:5001"),
        ("http://127.0.0.1:5001", "LocalHost:5001"),
        ("http://127.0.0.1:5001", "[::1]:5001"),
        ("http://127.0.0.1", "127.0.0.1"),  # port 80: browsers leave it out
        ("http://127.0.0.1", "localhost"),
    ],
)
def test_host_headers_naming_this_server_are_answered(dev: Flask, base_url: str, host: str) -> None:
    answer = dev.test_client().get("/login", base_url=base_url, headers={"Host": host})
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:5001",  # DNS rebinding: evil.example resolves to 127.0.0.1 for a while
        "evil.example",
        "localhost.evil.example:5001",
        "127.0.0.1.nip.io:5001",
        "localhost:5002",  # another port: another server's origin
        "127.0.0.1",
        "0.0.0.0:5001",
    ],
)
def test_other_host_headers_are_refused(dev: Flask, host: str) -> None:
    client = dev.test_client()
    log_in_as(client, "usr_ada")

    for path in ("/login", "/connect/jwks", "/v2/users", "/accounts"):
        answer = client.get(path, base_url="http://127.0.0.1:5001", headers={"Host": host})
        text = answer.get_data(as_text=True)
        assert answer.status_code == 400, path
        assert "answers only requests for 127.0.0.1, localhost, [::1] on this port" in text
        assert "DNS rebinding" in text and "--allow-remote HOST" in text
        assert "token=" not in answer.headers.get("Location", "") and "csrf_token" not in text


def test_allowed_hosts_and_the_bound_address_are_answered_too(make_dev: Callable[..., Flask]) -> None:
    dev = make_dev(DEV_LOGINROCKET_ALLOW_REMOTE=True, DEV_LOGINROCKET_ALLOWED_HOSTS="devbox.test, Other.Test:5001")
    client = dev.test_client()

    def status(host: str, bound: str = "127.0.0.1") -> int:
        # SERVER_NAME is the address the server listens on, as werkzeug's server sets it.
        environ = {"REMOTE_ADDR": "192.0.2.7", "SERVER_NAME": bound, "SERVER_PORT": "5001"}
        return client.get("/login", headers={"Host": host}, environ_overrides=environ).status_code

    assert status("devbox.test:5001") == 200
    assert status("other.test:5001") == 200
    assert status("192.0.2.1:5001", bound="192.0.2.1") == 200  # started with --host 192.0.2.1
    assert status("192.0.2.1:5001") == 400  # not this server's address
    assert status("evil.example:5001", bound="192.0.2.1") == 400
    assert status("0.0.0.0:5001", bound="0.0.0.0") == 400  # listening everywhere names no address


def test_the_command_answers_the_hosts_given_after_allow_remote(tmp_path: Path) -> None:
    # Port 0: the server takes a free port, listens, then names it in its log.
    command = [sys.executable, "-m", "flask_authrocket.dev", "--port", "0", "--data-dir", str(tmp_path / "i")]
    log = tmp_path / "log.txt"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [*command, "--allow-remote", "devbox.test"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=sink
        )
    try:
        deadline = time.monotonic() + 30
        while not (named_url := re.search(r"LOGINROCKET_URL=http://127\.0\.0\.1:([1-9][0-9]*)/ ", log.read_text())):
            assert server.poll() is None, "the development LoginRocket exited:\n" + log.read_text()
            assert time.monotonic() < deadline, "the development LoginRocket did not start:\n" + log.read_text()
            time.sleep(0.05)
        port = int(named_url.group(1))
        url = f"http://127.0.0.1:{port}/connect/jwks"
        plain = requests.get(url, timeout=5)
        named = requests.get(url, headers={"Host": f"devbox.test:{port}"}, timeout=5)
        rebound = requests.get(url, headers={"Host": f"evil.example:{port}"}, timeout=5)
    finally:
        server.terminate()
        server.wait(30)

    assert (plain.status_code, named.status_code, rebound.status_code) == (200, 200, 400)
    assert "DNS rebinding" in rebound.text


def test_a_port_in_use_is_the_first_thing_the_command_says(tmp_path: Path) -> None:
    # The configuration help is long; an error printed after it scrolls out of sight.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "flask_authrocket.dev", "--port", str(port), "--data-dir", str(tmp_path / "i")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=30,
            cwd=ROOT,
        )

    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert f"Port {port} on 127.0.0.1 is in use" in lines[0], result.stdout
    assert "--port" in result.stdout and "LOGINROCKET_URL must then name that port" in result.stdout
    assert "Configure your app with" not in result.stdout  # it would name a server that is not this one


def test_flask_cli_finds_the_app_factory(tmp_path: Path) -> None:
    env = {**os.environ, "DEV_LOGINROCKET_INSTANCE_PATH": str(tmp_path / "cli")}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "flask_authrocket.dev", "routes"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    for rule in ("/login", "/signup", "/profile", "/accounts/<org_id>", "/logout", "/connect/jwks"):
        assert rule in result.stdout
    assert (tmp_path / "cli" / "dev_loginrocket.sqlite3").exists()


def test_importing_flask_authrocket_does_not_import_the_dev_loginrocket() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import flask_authrocket, sys; print('flask_authrocket.dev' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_bad_configuration_is_refused_naming_the_key(make_dev: Callable[..., Flask]) -> None:
    from flask_authrocket import ConfigurationError

    with pytest.raises(ConfigurationError, match="DEV_LOGINROCKET_LOGIN_URLS"):
        make_dev(DEV_LOGINROCKET_LOGIN_URLS=["/relative"])
    with pytest.raises(ConfigurationError, match="DEV_LOGINROCKET_TOKEN_TTL"):
        make_dev(DEV_LOGINROCKET_TOKEN_TTL=0)
    with pytest.raises(ConfigurationError, match="DEV_LOGINROCKET_JWT_SECRET"):
        make_dev(DEV_LOGINROCKET_JWT_SECRET="x" * 300)


def test_settings_can_come_from_the_environment(
    make_dev: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEV_LOGINROCKET_LOGIN_URLS", "http://localhost:9000/ http://127.0.0.1:5000/")
    response = log_in_as(make_dev().test_client(), "usr_ada", redirect_uri="http://127.0.0.1:5000/x")
    assert response.headers["Location"].startswith("http://127.0.0.1:5000/x?token=")
    assert (
        log_in_as(make_dev(folder="two").test_client(), "usr_ada")
        .headers["Location"]
        .startswith("http://localhost:9000/?token=")
    )
    assert json.loads(json.dumps(make_dev(folder="three").config["DEV_LOGINROCKET_LOGIN_URLS"])) == [
        "http://localhost:9000/",
        "http://127.0.0.1:5000/",
    ]


def start_and_read_until_ready(command: list[str], cwd: Path) -> str:
    """Run the development LoginRocket until it says it serves, then stop it; what it printed."""
    printed = []
    with subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as server:
        stop = threading.Timer(60, server.kill)  # a server that never says it is ready still ends
        stop.start()
        try:
            assert server.stdout is not None
            for line in server.stdout:  # ends when the process does, at the latest
                printed.append(line)
                if "Press Ctrl-C to stop." in line:
                    break
        finally:
            stop.cancel()
            server.terminate()
            server.wait(30)
    return "".join(printed)


def test_the_command_keeps_its_data_in_the_current_directory_and_says_where(tmp_path: Path) -> None:
    project = tmp_path / "myproject"
    project.mkdir()

    printed = start_and_read_until_ready([sys.executable, "-m", "flask_authrocket.dev", "--port", "0"], project)

    data = project / "instance"
    assert f"Data folder (users, keys, the API key; delete it to start again from the demo data): {data}" in printed
    assert {"dev_loginrocket.sqlite3", "dev_loginrocket_signing_key.pem", "dev_loginrocket_api_key"} <= {
        path.name for path in data.iterdir()
    }


def test_the_command_keeps_its_data_in_the_data_dir_it_is_given(tmp_path: Path) -> None:
    data = tmp_path / "elsewhere" / "loginrocket-data"
    command = [sys.executable, "-m", "flask_authrocket.dev", "--port", "0", "--data-dir", str(data)]

    printed = start_and_read_until_ready(command, tmp_path)

    assert str(data) in printed
    assert (data / "dev_loginrocket.sqlite3").exists()
    assert not (tmp_path / "instance").exists()
