"""The example app, through the Flask test client, with tokens from a real key."""

from __future__ import annotations

from html import unescape

import pytest
from helpers import ACME, ADA, GLOBEX

from examples.app import create_app


@pytest.fixture
def app(tmp_path, authrocket_config):
    """The example app, trusting the test keys of flask_authrocket.testing, with the dev LoginRocket's URL."""
    return create_app(
        {
            "TESTING": True,
            **authrocket_config,
            "LOGINROCKET_URL": "http://127.0.0.1:5001/",
            "INSTANCE_PATH": str(tmp_path),
        }
    )


def test_nav_when_logged_out_has_login_and_signup(authrocket_client):
    html = authrocket_client.get("/").text
    assert ">Login</a>" in html and ">Signup</a>" in html
    assert "Logout" not in html


def test_nav_when_logged_in_greets_and_offers_account_switch(authrocket_client):
    authrocket_client.login_as(ADA, [ACME, GLOBEX])
    html = unescape(authrocket_client.get("/").text)
    assert "Hi, Ada!" in html
    assert ">Manage Profile</a>" in html and "/profile?redirect_uri=http%3A%2F%2Flocalhost%2F" in html
    assert ">Logout</a>" in html and ">Switch accounts</a>" in html


def test_dashboard_lists_only_the_current_orgs_projects(authrocket_client):
    client = authrocket_client
    client.login_as(ADA, [ACME])
    client.post("/dashboard/projects", data={"name": "Rocket"}, headers={"Origin": "http://localhost"})
    client.login_as(ADA, [GLOBEX], selected="org_globex")
    client.post("/dashboard/projects", data={"name": "Turbine"})

    globex = client.get("/dashboard/").text
    client.login_as(ADA, [ACME])
    acme = client.get("/dashboard/").text

    assert "<li>Turbine</li>" in globex and "<li>Rocket</li>" not in globex
    assert "<li>Rocket</li>" in acme and "Turbine" not in acme
    assert "<li>Rocket engine</li>" in acme and "Rocket engine" not in globex


def test_admin_needs_site_admin(authrocket_client):
    authrocket_client.login_as(ADA, [GLOBEX, ACME], selected="org_globex")
    denied = authrocket_client.get("/admin/")
    assert denied.status_code == 403
    assert "403 · Not allowed" in denied.text and "site:admin" in denied.text
    authrocket_client.login_as(ADA, [ACME])
    assert authrocket_client.get("/admin/").status_code == 200


def test_api_me_with_bearer(authrocket_client):
    authrocket_client.login_as(ADA, [ACME], mode="bearer")
    answer = authrocket_client.get("/api/me")
    assert answer.status_code == 200
    assert answer.json["user"]["email"] == ADA["email"]
    assert answer.json["permissions"] == ["site:admin"]


def test_dashboard_redirects_to_login_when_logged_out(authrocket_client):
    answer = authrocket_client.get("/dashboard/")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("http://127.0.0.1:5001/login?redirect_uri=")


def test_logout_link_and_message(authrocket_client):
    authrocket_client.login_as(ADA, [ACME])
    assert '<a href="/logout">Logout</a>' in authrocket_client.get("/").text

    answer = authrocket_client.get("/logout")
    assert answer.headers["Location"].startswith("http://127.0.0.1:5001/logout?redirect_uri=")

    html = authrocket_client.get("/").text  # where the development LoginRocket sends the user back
    assert '<p class="flash">You have been logged out.</p>' in html
    assert "You have been logged out." not in authrocket_client.get("/").text  # shown once


def test_logout_link_under_a_prefix(authrocket_client):
    authrocket_client.login_as(ADA, [ACME])
    html = authrocket_client.get("/", base_url="http://localhost/app/").text
    assert '<a href="/app/logout">Logout</a>' in html


def test_api_me_answers_401_json_without_an_accept_header(authrocket_client):
    answer = authrocket_client.get("/api/me")  # no Accept, no token: a script, not a browser

    assert answer.status_code == 401
    assert answer.json["error"] == "login_required"
