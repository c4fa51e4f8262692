"""The main story end to end through the Flask test client: login via ?token=, then the cookie."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from helpers import ACME, ADA

from flask_authrocket.testing import make_token


@pytest.fixture
def app(make_app, authrocket_config) -> Flask:
    """The demo app, trusting the test keys of flask_authrocket.testing."""
    return make_app(**authrocket_config)


def test_query_token_logs_in_sets_cookie_and_redirects_without_token(authrocket_client):
    token = make_token(ADA, [ACME])

    answer = authrocket_client.get(f"/private?token={token}&account=org_acme&session=kss_1&keep=yes")

    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert location.path == "/private"
    assert parse_qs(location.query) == {"keep": ["yes"]}
    cookie = authrocket_client.get_cookie("arToken")
    assert cookie is not None and cookie.value == token
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure and cookie.path == "/"

    followed = authrocket_client.get("/private")
    assert followed.status_code == 200
    assert followed.text == "private for usr_ada"


def test_home_page_greets_the_user_from_the_cookie(authrocket_client):
    assert authrocket_client.get("/").text == "Logged out"
    authrocket_client.login_as(ADA, [ACME])
    assert authrocket_client.get("/").text == "Hi, Ada!"
