"""Cross-site requests: the cookie does not authenticate unsafe requests another site made."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask import g
from helpers import token_for

UNSAFE = ["POST", "PUT", "PATCH", "DELETE"]
JSON = {"Accept": "application/json"}


@pytest.fixture
def client(hs_app, hs_issuer):
    """A browser holding Ada's login cookie."""
    browser = hs_app.test_client()
    browser.set_cookie("arToken", token_for(hs_issuer))
    return browser


@pytest.mark.parametrize("method", UNSAFE)
def test_cross_site_fetch_metadata_is_not_authenticated_by_the_cookie(client, method):
    answer = client.open("/form", method=method, headers={"Sec-Fetch-Site": "cross-site", **JSON})

    assert answer.status_code == 401
    assert answer.get_json()["error"] == "login_required"
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="authrocket"'


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://localhost:8080", "https://localhost"])
def test_foreign_origin_is_not_authenticated_by_the_cookie(client, origin):
    answer = client.post("/form", headers={"Origin": origin, **JSON})

    assert answer.status_code == 401


def test_cross_site_form_post_from_a_browser_is_sent_to_login(client):
    answer = client.post("/form", headers={"Origin": "https://evil.example"})

    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert (location.netloc, location.path) == ("myapp.e2.loginrocket.com", "/login")
    assert parse_qs(location.query) == {"redirect_uri": ["http://localhost/form"]}


def test_cross_site_request_keeps_the_cookie(client):
    answer = client.post("/form", headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})

    assert "Set-Cookie" not in answer.headers
    assert client.get_cookie("arToken") is not None
    assert client.post("/form").text == "POST by usr_ada"


def test_cross_site_request_is_marked_on_g(hs_app, hs_issuer):
    with hs_app.test_request_context(
        "/form", method="POST", headers={"Origin": "https://evil.example", "Cookie": f"arToken={token_for(hs_issuer)}"}
    ):
        hs_app.preprocess_request()

        assert g.authrocket.cross_site is True
        assert g.authrocket.current_session is None


@pytest.mark.parametrize("method", UNSAFE)
def test_same_origin_request_is_authenticated_by_the_cookie(client, method):
    answer = client.open("/form", method=method, headers={"Origin": "http://localhost"})

    assert answer.status_code == 200
    assert answer.text == f"{method} by usr_ada"


def test_same_origin_fetch_metadata_is_authenticated_by_the_cookie(client):
    answer = client.post("/form", headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"})

    assert answer.status_code == 200
    assert answer.text == "POST by usr_ada"


def test_request_without_origin_or_fetch_metadata_is_authenticated_by_the_cookie(client):
    # Older browsers and non-browser clients send neither header.
    assert client.delete("/form").text == "DELETE by usr_ada"


def test_same_origin_check_uses_the_app_host_and_port(hs_app, hs_issuer):
    browser = hs_app.test_client()
    browser.set_cookie("arToken", token_for(hs_issuer), domain="localhost")

    answer = browser.post("/form", base_url="https://localhost:8443", headers={"Origin": "https://localhost:8443"})

    assert answer.status_code == 200
    assert answer.text == "POST by usr_ada"


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}])
def test_bearer_requests_are_not_affected_by_cross_site_markers(hs_app, hs_issuer, headers):
    answer = hs_app.test_client().post("/form", headers={"Authorization": f"Bearer {token_for(hs_issuer)}", **headers})

    assert answer.status_code == 200
    assert answer.text == "POST by usr_ada"


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}])
def test_get_with_cross_site_markers_still_uses_the_cookie(client, headers):
    # Following a link from another site must keep the user logged in (SameSite=Lax does the same).
    answer = client.get("/private", headers=headers)

    assert answer.status_code == 200
    assert answer.text == "private for usr_ada"


def test_cross_site_post_with_a_forged_cookie_does_not_clear_it(hs_app, rsa_issuer):
    # The cookie is not even looked at: whatever it holds stays for same-site requests to judge.
    browser = hs_app.test_client()
    browser.set_cookie("arToken", token_for(rsa_issuer))

    answer = browser.post("/form", headers={"Sec-Fetch-Site": "cross-site", **JSON})

    assert answer.status_code == 401
    assert "error=" not in answer.headers["WWW-Authenticate"]
    assert "Set-Cookie" not in answer.headers
