"""The example app, through the Flask test client, with tokens from a real key."""

from __future__ import annotations

from html import unescape

import pytest
from conftest import ACME, ADA, GLOBEX, HS_SECRET, token_for

from examples.app import create_app


@pytest.fixture
def example(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "AUTHROCKET_JWT_KEY": HS_SECRET,
            "LOGINROCKET_URL": "http://127.0.0.1:5001/",
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    return app


def test_nav_when_logged_out_has_login_and_signup(example):
    html = example.test_client().get("/").text
    assert ">Login</a>" in html and ">Signup</a>" in html
    assert "Logout" not in html


def test_nav_when_logged_in_greets_and_offers_account_switch(example, hs_issuer):
    client = example.test_client()
    client.set_cookie("arToken", token_for(hs_issuer, orgs=[ACME, GLOBEX]))
    html = unescape(client.get("/").text)
    assert "Hi, Ada!" in html
    assert ">Manage Profile</a>" in html and "/profile?redirect_uri=http%3A%2F%2Flocalhost%2F" in html
    assert ">Logout</a>" in html and ">Switch accounts</a>" in html


def test_dashboard_lists_only_the_current_orgs_projects(example, hs_issuer):
    client = example.test_client()
    client.set_cookie("arToken", token_for(hs_issuer, orgs=[ACME]))
    client.post("/dashboard/projects", data={"name": "Rocket"}, headers={"Origin": "http://localhost"})
    client.set_cookie("arToken", token_for(hs_issuer, orgs=[{**GLOBEX, "selected": True}]))
    client.post("/dashboard/projects", data={"name": "Turbine"})

    globex = client.get("/dashboard/").text
    client.set_cookie("arToken", token_for(hs_issuer, orgs=[ACME]))
    acme = client.get("/dashboard/").text

    assert "<li>Turbine</li>" in globex and "<li>Rocket</li>" not in globex
    assert "<li>Rocket</li>" in acme and "Turbine" not in acme
    assert "<li>Rocket engine</li>" in acme and "Rocket engine" not in globex


def test_admin_needs_site_admin(example, hs_issuer):
    client = example.test_client()
    client.set_cookie("arToken", token_for(hs_issuer, orgs=[{**GLOBEX, "selected": True}, ACME]))
    denied = client.get("/admin/")
    assert denied.status_code == 403
    assert "403 · Not allowed" in denied.text and "site:admin" in denied.text
    client.set_cookie("arToken", token_for(hs_issuer, orgs=[ACME]))
    assert client.get("/admin/").status_code == 200


def test_api_me_with_bearer(example, hs_issuer):
    answer = example.test_client().get("/api/me", headers={"Authorization": f"Bearer {token_for(hs_issuer)}"})
    assert answer.status_code == 200
    assert answer.json["user"]["email"] == ADA["email"]
    assert answer.json["permissions"] == ["site:admin"]


def test_dashboard_redirects_to_login_when_logged_out(example):
    answer = example.test_client().get("/dashboard/")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("http://127.0.0.1:5001/login?redirect_uri=")
