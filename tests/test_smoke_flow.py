"""The main story end to end through the Flask test client: login via ?token=, then the cookie."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from conftest import token_for


def test_query_token_logs_in_sets_cookie_and_redirects_without_token(hs_app, hs_issuer):
    client = hs_app.test_client()
    token = token_for(hs_issuer)

    answer = client.get(f"/private?token={token}&account=org_acme&session=kss_1&keep=yes")

    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert location.path == "/private"
    assert parse_qs(location.query) == {"keep": ["yes"]}
    cookie = client.get_cookie("arToken")
    assert cookie is not None and cookie.value == token
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure and cookie.path == "/"

    followed = client.get("/private")
    assert followed.status_code == 200
    assert followed.text == "private for usr_ada"


def test_home_page_greets_the_user_from_the_cookie(hs_app, hs_issuer):
    client = hs_app.test_client()
    assert client.get("/").text == "Logged out"
    client.set_cookie("arToken", token_for(hs_issuer))
    assert client.get("/").text == "Hi, Ada!"
