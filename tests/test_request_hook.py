"""The request hook: ?token=, Bearer and cookie become a session; bad tokens never become a 500."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import time
from typing import Any
from urllib.parse import quote

import pytest
from cachelib import SimpleCache
from flask import g
from helpers import ACME, HS_SECRET, Clock, token_for
from werkzeug.middleware.proxy_fix import ProxyFix

from flask_authrocket.hook import RejectionWarnings
from flask_authrocket.issuer import TokenIssuer
from flask_authrocket.models import Rejection, Session
from flask_authrocket.tokens import describe_rejection, what_to_check


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], payload: Any, signature: bytes = b"sig") -> str:
    return ".".join([_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode()), _b64(signature)])


@pytest.fixture
def bad_tokens(hs_issuer, rsa_issuer) -> dict[str, str]:
    """One token of each bad kind, for an app trusting the HS256 secret."""
    now = int(time.time())
    good = token_for(hs_issuer)
    head, payload, signature = good.split(".")
    tampered_payload = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered_payload["sub"] = "usr_mallory"
    return {
        "alg_none": _unsigned(
            {"alg": "none", "typ": "JWT"}, {"sub": "usr_x", "iss": "https://authrocket.com", "exp": now + 60}, b""
        ),
        "wrong_key": token_for(rsa_issuer),
        "wrong_iss": token_for(hs_issuer, claims={"iss": "https://evil.example"}),
        "expired": token_for(hs_issuer, issued_at=now - 3600, expires_in=60),
        "future_nbf": token_for(hs_issuer, claims={"nbf": now + 600}),
        "tampered": ".".join([head, _b64(json.dumps(tampered_payload).encode()), signature]),
        "two_segments": head + "." + payload,
        "bad_base64": "@@@." + payload + "." + signature,
        "not_an_object": hs_issuer.issue({"iss": "https://authrocket.com", "exp": now + 60}).split(".")[0]
        + "."
        + _b64(b"[1, 2, 3]")
        + "."
        + signature,
        "oversize": "a" * (16 * 1024 + 1),
    }


# -- ?token= ---------------------------------------------------------------


def test_valid_query_token_sets_cookie_expiring_with_the_token(hs_app, hs_issuer):
    token = token_for(hs_issuer, expires_in=1800)
    answer = hs_app.test_client().get(f"/?token={token}")

    assert answer.status_code == 302
    assert answer.headers["Location"] == "http://localhost/"
    assert answer.headers["Cache-Control"] == "no-store"
    set_cookie = answer.headers["Set-Cookie"]
    assert set_cookie.startswith(f"arToken={token};")
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Path=/" in set_cookie
    assert "Secure" not in set_cookie
    exp = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["exp"]
    assert time.strftime("%d %b %Y %H:%M:%S", time.gmtime(exp)) in set_cookie


def test_invalid_query_token_is_ignored_and_the_page_renders_logged_out(hs_app, rsa_issuer):
    answer = hs_app.test_client().get(f"/?token={token_for(rsa_issuer)}")
    assert answer.status_code == 200
    assert answer.text == "Logged out"
    assert "Set-Cookie" not in answer.headers


def test_query_token_on_post_is_not_a_login(hs_app, hs_issuer):
    answer = hs_app.test_client().post(f"/form?token={token_for(hs_issuer)}", headers={"Accept": "application/json"})
    assert answer.status_code == 401


def test_cookie_max_age_setting_replaces_token_expiry(make_app, hs_issuer):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_COOKIE_MAX_AGE=600)
    answer = app.test_client().get(f"/?token={token_for(hs_issuer)}")
    assert "Max-Age=600" in answer.headers["Set-Cookie"]


def test_token_too_large_for_a_cookie_still_logs_the_request_in(make_app, hs_issuer, caplog):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET)
    big = token_for(hs_issuer, user={"id": "usr_big", "first_name": "Big", "custom": {"bio": "x" * 5000}})
    assert 4096 < len(big) < 16 * 1024

    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        answer = app.test_client().get(f"/?token={big}")

    assert answer.status_code == 200
    assert answer.text == "Hi, Big!"
    assert "Set-Cookie" not in answer.headers
    assert "too large for a cookie" in caplog.text
    assert big not in caplog.text


# -- a rejected ?token= is logged, once a minute per reason --------------------------------


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The WARNING lines of the flask_authrocket logger."""
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def test_rejected_query_token_is_logged_at_warning_with_what_to_check(hs_app, rsa_issuer, caplog):
    token = token_for(rsa_issuer)  # RS256, while the app holds an HS256 secret

    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        hs_app.test_client().get(f"/private?token={token}")

    [line] = warnings_of(caplog)
    assert "'/private'" in line
    assert describe_rejection("wrong_algorithm") in line
    assert what_to_check("wrong_algorithm") in line
    assert "AUTHROCKET_JWT_KEY" in line and "flask authrocket decode" in line
    assert token not in caplog.text
    for part in token.split("."):
        assert part not in caplog.text


def test_rejected_query_tokens_are_logged_once_a_minute_per_reason(hs_app, hs_issuer, rsa_issuer, caplog):
    client = hs_app.test_client()
    expired = token_for(hs_issuer, issued_at=int(time.time()) - 3600, expires_in=60)

    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        for _ in range(5):
            client.get(f"/?token={token_for(rsa_issuer)}")
        client.get(f"/private?token={expired}")
        client.get(f"/private?token={expired}")

    lines = warnings_of(caplog)
    assert len(lines) == 2
    assert describe_rejection("wrong_algorithm") in lines[0]
    assert describe_rejection("expired") in lines[1]


def test_rejected_bearer_and_cookie_tokens_are_not_logged_at_warning(hs_app, rsa_issuer, caplog):
    client = hs_app.test_client()
    client.set_cookie("arToken", token_for(rsa_issuer))

    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        client.get("/private")
        client.get("/api/me", headers={"Authorization": f"Bearer {token_for(rsa_issuer)}"})

    assert warnings_of(caplog) == []


def test_rejection_warnings_come_again_for_a_reason_after_a_minute(caplog):
    clock = Clock()
    warnings = RejectionWarnings(clock=clock)
    expired = Rejection("expired", "The token has expired.")

    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        logged = [warnings.warn(expired, "/a")]
        clock.advance(59.9)
        logged += [warnings.warn(expired, "/b"), warnings.warn(Rejection("bad_signature", "x"), "/c")]
        clock.advance(0.1)
        logged += [warnings.warn(expired, "/d"), warnings.warn(expired, "/e")]

    assert logged == [True, False, True, True, False]
    assert [line.split("GET ")[1][:4] for line in warnings_of(caplog)] == ["'/a'", "'/c'", "'/d'"]


def test_rejection_warnings_escape_what_the_path_holds(caplog):
    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        RejectionWarnings().warn(Rejection("expired", "x"), "/a\nFORGED LINE")

    [line] = warnings_of(caplog)
    assert "\n" not in line


# -- two apps on one machine: a cookie another app set ---------------------------------------------


def foreign_cookie_client(make_app: Any, realm: str | None = "rl_billing", **config: Any) -> Any:
    """A client of an app (HS256 secret) whose login cookie holds a token another app signed."""
    client = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, **config).test_client()
    other_app = TokenIssuer(secret="the billing app's own secret, 0123456789abcdef")
    client.set_cookie("arToken", token_for(other_app, realm_id=realm))
    return client


def test_a_cookie_of_another_realms_app_is_logged_naming_the_cookie_name_setting(make_app, caplog):
    client = foreign_cookie_client(make_app)
    token = client.get_cookie("arToken").value

    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        answer = client.get("/")

    [line] = warnings_of(caplog)
    assert answer.text == "Logged out"
    assert "AUTHROCKET_COOKIE_NAME" in line and "'arToken'" in line and "'rl_billing'" in line
    assert "bad_signature" in line
    for part in token.split("."):
        assert part not in caplog.text


def test_the_cookie_warning_comes_at_most_once_a_minute(make_app, caplog):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET)
    other_app = TokenIssuer(secret="the billing app's own secret, 0123456789abcdef")

    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        for _ in range(3):
            client = app.test_client()
            client.set_cookie("arToken", token_for(other_app, realm_id="rl_billing"))
            client.get("/private")

    assert len(warnings_of(caplog)) == 1


def test_a_cookie_of_the_apps_own_realm_is_not_blamed_on_another_app(make_app, caplog):
    client = foreign_cookie_client(make_app, AUTHROCKET_REALM="rl_billing")

    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        client.get("/")

    assert warnings_of(caplog) == []


def test_the_cookie_warning_names_the_apps_own_realm_and_cookie_name(make_app, caplog):
    client = foreign_cookie_client(make_app, AUTHROCKET_REALM="rl_shop", AUTHROCKET_COOKIE_NAME="arToken_shop")
    client.set_cookie("arToken_shop", client.get_cookie("arToken").value)

    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        client.get("/")

    [line] = warnings_of(caplog)
    assert "this app's realm is 'rl_shop'" in line and "'arToken_shop'" in line


def test_the_cookie_warning_comes_again_after_a_minute_and_escapes_the_realm(caplog):
    clock = Clock()
    warnings = RejectionWarnings(clock=clock)
    hostile = token_for(TokenIssuer(secret=HS_SECRET), realm_id="rl_x\n\x1b[31mFORGED LINE" + "x" * 500)
    bad = Rejection("bad_signature", "x")

    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        logged = [warnings.warn_cookie(bad, hostile, app_realm=None, cookie_name="arToken")]
        clock.advance(59.9)
        logged.append(warnings.warn_cookie(bad, hostile, app_realm=None, cookie_name="arToken"))
        logged.append(warnings.warn_cookie(Rejection("expired", "x"), hostile, app_realm=None, cookie_name="arToken"))
        clock.advance(0.1)
        logged.append(
            warnings.warn_cookie(Rejection("unknown_kid", "x"), hostile, app_realm=None, cookie_name="arToken")
        )

    assert logged == [True, False, False, True]
    for line in warnings_of(caplog):
        assert "\n" not in line and "\x1b" not in line and len(line) < 600


@pytest.mark.parametrize("realm", [None, "rl_billing"])
@pytest.mark.parametrize("value", ["", "a.b", "a.!!!.c", "a." + "e30" + ".c", "a.W10.c", "x" * 20000])
def test_the_cookie_warning_reads_any_hostile_token_without_failing(realm, value):
    from flask_authrocket.cookie import foreign_token_hint

    hint = foreign_token_hint(value, "bad_signature", app_realm=realm, cookie_name="arToken")

    assert hint is None or "AUTHROCKET_COOKIE_NAME" in hint


# -- Bearer -----------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_bearer_token_logs_in_without_setting_a_cookie(hs_app, hs_issuer, scheme):
    answer = hs_app.test_client().get("/api/me", headers={"Authorization": f"{scheme} {token_for(hs_issuer)}"})
    assert answer.status_code == 200
    assert answer.json == {"id": "usr_ada", "email": "ada@example.com", "org": "org_acme"}
    assert "Set-Cookie" not in answer.headers


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "bearer   ", "BEARER\t"])
def test_an_empty_bearer_header_still_makes_an_api_client(hs_app, header):
    # A script whose token variable was empty: it wants a 401 to act on, not a login page.
    answer = hs_app.test_client().get("/private", headers={"Authorization": header, "Accept": "text/html"})

    assert answer.status_code == 401
    assert answer.json == {
        "error": "login_required",
        "message": "Log in, or send a token as 'Authorization: Bearer <token>'.",
    }
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="authrocket"'


def test_other_authorization_schemes_are_not_tokens(hs_app):
    answer = hs_app.test_client().get(
        "/api/me", headers={"Authorization": "Basic dXNlcjpwYXNz", "Accept": "application/json"}
    )
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="authrocket"'


# -- cookie -----------------------------------------------------------------


def test_valid_cookie_logs_in_and_is_left_alone(hs_app, hs_issuer):
    client = hs_app.test_client()
    client.set_cookie("arToken", token_for(hs_issuer))
    answer = client.get("/private")
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers


def test_expired_cookie_is_cleared_with_the_same_attributes(hs_app, hs_issuer):
    client = hs_app.test_client()
    client.set_cookie("arToken", token_for(hs_issuer, issued_at=int(time.time()) - 7200, expires_in=60))
    answer = client.get("/")
    assert answer.text == "Logged out"
    set_cookie = answer.headers["Set-Cookie"]
    assert set_cookie.startswith("arToken=;")
    assert "Expires=Thu, 01 Jan 1970" in set_cookie and "Max-Age=0" in set_cookie
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Path=/" in set_cookie
    assert client.get_cookie("arToken") is None


@pytest.mark.parametrize("exp", [10**12, 10**15])
def test_a_token_expiring_beyond_the_year_9999_logs_in_with_a_cookie_of_400_days(hs_app, hs_issuer, exp):
    token = token_for(hs_issuer, claims={"exp": exp})
    client = hs_app.test_client()

    login = client.get(f"/?token={token}")
    page = client.get("/private")

    assert login.status_code == 302
    expires = login.headers["Set-Cookie"].split("Expires=")[1].split(";")[0]
    assert time.strptime(expires, "%a, %d %b %Y %H:%M:%S GMT").tm_year <= time.gmtime().tm_year + 2
    assert page.status_code == 200
    assert page.text == "private for usr_ada"


def several_cookies(*tokens: str) -> dict[str, str]:
    """A raw Cookie header with several login cookies, as a browser sends cookies set for several domains."""
    return {"Cookie": "; ".join(f"arToken={token}" for token in tokens)}


def test_a_garbage_cookie_from_a_sibling_subdomain_does_not_log_the_user_out(hs_app, hs_issuer):
    # evil.example.com set `arToken=garbage; Domain=example.com`: the browser now sends both.
    client = hs_app.test_client(use_cookies=False)

    first = client.get("/private", headers=several_cookies("garbage", token_for(hs_issuer)))
    last = client.get("/private", headers=several_cookies(token_for(hs_issuer), "garbage"))

    for answer in (first, last):
        assert answer.status_code == 200
        assert answer.text == "private for usr_ada"
        assert "Set-Cookie" not in answer.headers  # the good cookie is not cleared


def test_of_several_login_cookies_the_first_that_verifies_counts(hs_app, hs_issuer):
    expired = token_for(hs_issuer, issued_at=int(time.time()) - 7200, expires_in=60)
    grace = token_for(hs_issuer, user={"id": "usr_grace", "first_name": "Grace"})
    ada = token_for(hs_issuer)

    answer = hs_app.test_client(use_cookies=False).get("/", headers=several_cookies(expired, grace, ada))

    assert answer.text == "Hi, Grace!"
    assert "Set-Cookie" not in answer.headers


def test_several_login_cookies_none_of_which_verifies_are_logged_out_and_cleared(hs_app, hs_issuer):
    expired = token_for(hs_issuer, issued_at=int(time.time()) - 7200, expires_in=60)

    answer = hs_app.test_client(use_cookies=False).get(
        "/api/me", headers={**several_cookies("garbage", expired), "Accept": "application/json"}
    )

    assert answer.status_code == 401
    assert answer.json["error"] == "invalid_token"
    assert answer.headers["Set-Cookie"].startswith("arToken=;")


def test_cookie_name_none_disables_cookie_storage(make_app, hs_issuer):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_COOKIE_NAME=None)
    client = app.test_client()
    answer = client.get(f"/?token={token_for(hs_issuer)}")
    assert answer.status_code == 200  # logged in for this request, nothing to remember it in
    assert answer.text == "Hi, Ada!"
    assert "Set-Cookie" not in answer.headers


def test_custom_cookie_name(make_app, hs_issuer):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_COOKIE_NAME="session_token")
    client = app.test_client()
    client.get(f"/?token={token_for(hs_issuer)}")
    assert client.get_cookie("session_token") is not None
    assert client.get("/private").status_code == 200


# -- Secure, proxies -----------------------------------------------------------


def test_cookie_is_secure_exactly_on_https(hs_app, hs_issuer):
    token = token_for(hs_issuer)
    over_https = hs_app.test_client().get(f"/?token={token}", base_url="https://localhost")
    over_http = hs_app.test_client().get(f"/?token={token}")
    assert "Secure" in over_https.headers["Set-Cookie"]
    assert "Secure" not in over_http.headers["Set-Cookie"]
    assert over_https.headers["Location"] == "https://localhost/"


def test_forwarded_proto_counts_only_behind_proxy_fix(make_app, hs_issuer):
    token = token_for(hs_issuer)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.com"}

    plain = make_app(AUTHROCKET_JWT_KEY=HS_SECRET)
    answer = plain.test_client().get(f"/?token={token}", headers=forwarded)
    assert "Secure" not in answer.headers["Set-Cookie"]

    proxied = make_app(AUTHROCKET_JWT_KEY=HS_SECRET)
    proxied.wsgi_app = ProxyFix(proxied.wsgi_app, x_proto=1, x_host=1)  # type: ignore[method-assign]
    answer = proxied.test_client().get(f"/?token={token}", headers=forwarded)
    assert "Secure" in answer.headers["Set-Cookie"]
    assert answer.headers["Location"] == "https://app.example.com/"


def test_forced_insecure_cookie_setting(make_app, hs_issuer):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_COOKIE_SECURE=False)
    answer = app.test_client().get(f"/?token={token_for(hs_issuer)}", base_url="https://localhost")
    assert "Secure" not in answer.headers["Set-Cookie"]


# -- bad tokens, in every place a token can come from --------------------------

BAD_KINDS = [
    "alg_none",
    "wrong_key",
    "wrong_iss",
    "expired",
    "future_nbf",
    "tampered",
    "two_segments",
    "bad_base64",
    "not_an_object",
    "oversize",
]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_token_in_cookie_is_logged_out_and_cleared(hs_app, bad_tokens, kind):
    # A raw header: the test client itself refuses to build a 16 KB cookie.
    answer = hs_app.test_client(use_cookies=False).get("/", headers={"Cookie": f"arToken={bad_tokens[kind]}"})
    assert answer.status_code == 200
    assert answer.text == "Logged out"
    assert answer.headers["Set-Cookie"].startswith("arToken=;")


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_token_as_bearer_is_401_invalid_token(hs_app, bad_tokens, kind):
    answer = hs_app.test_client().get("/api/me", headers={"Authorization": f"Bearer {bad_tokens[kind]}"})
    assert answer.status_code == 401
    assert answer.json["error"] == "invalid_token"
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_token_in_query_is_ignored(hs_app, bad_tokens, kind):
    answer = hs_app.test_client().get("/?token=" + quote(bad_tokens[kind]))
    assert answer.status_code == 200
    assert answer.text == "Logged out"


# -- caches are told what depends on the login -----------------------------------------


def vary_of(answer: Any) -> list[str]:
    """The response's Vary header as a list of field names, in order."""
    return [name.strip() for name in answer.headers.get("Vary", "").split(",") if name.strip()]


@pytest.fixture
def cache_app(hs_app):
    """The demo app plus pages that read no login state, one of which sets its own Vary or Cache-Control."""

    @hs_app.get("/about")
    def about() -> str:
        return "about us"

    @hs_app.get("/localized")
    def localized() -> Any:
        name = g.authrocket.current_user.first_name if g.authrocket.current_user else "guest"
        return f"hello {name}", {"Vary": "Accept-Language, cookie"}

    @hs_app.get("/starred")
    def starred() -> Any:
        return f"{g.authrocket.is_authenticated}", {"Vary": "*"}

    return hs_app


def test_a_page_that_reads_no_login_state_and_gets_no_cookie_is_left_alone(cache_app):
    answer = cache_app.test_client().get("/about")

    assert answer.text == "about us"
    assert "Vary" not in answer.headers
    assert "Cache-Control" not in answer.headers


def test_a_page_whose_template_reads_the_login_varies_on_cookie_and_authorization(cache_app):
    # Logged out now, but the same URL with Ada's cookie or token is her page: a shared cache must not mix them.
    answer = cache_app.test_client().get("/")

    assert answer.text == "Logged out"
    assert vary_of(answer) == ["Cookie", "Authorization"]
    assert "Cache-Control" not in answer.headers  # a public page: only guarded views are private


def test_a_request_carrying_the_login_cookie_varies_on_cookie_even_unread(cache_app, hs_issuer):
    client = cache_app.test_client()
    client.set_cookie("arToken", token_for(hs_issuer))

    answer = client.get("/about")

    assert answer.text == "about us"
    assert vary_of(answer) == ["Cookie"]


def test_a_rejected_cookie_that_is_cleared_varies_on_cookie(cache_app, hs_issuer):
    client = cache_app.test_client()
    client.set_cookie("arToken", token_for(hs_issuer, issued_at=int(time.time()) - 7200, expires_in=60))

    answer = client.get("/about")

    assert answer.headers["Set-Cookie"].startswith("arToken=;")
    assert vary_of(answer) == ["Cookie"]


def test_the_views_own_vary_is_kept_and_merged_without_repeats(cache_app, hs_issuer):
    anonymous = cache_app.test_client().get("/localized")
    starred = cache_app.test_client().get("/starred")

    assert anonymous.text == "hello guest"
    assert vary_of(anonymous) == ["Accept-Language", "cookie", "Authorization"]
    assert vary_of(starred) == ["*"]  # varies on everything already


def test_a_bearer_request_whose_login_was_read_varies_on_authorization_and_is_private(cache_app, hs_issuer):
    answer = cache_app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token_for(hs_issuer)}"})

    assert answer.status_code == 200
    assert vary_of(answer) == ["Cookie", "Authorization"]
    assert answer.headers["Cache-Control"] == "private"


def test_a_cross_site_post_carrying_the_cookie_varies_on_cookie(cache_app, hs_issuer):
    client = cache_app.test_client()
    client.set_cookie("arToken", token_for(hs_issuer))

    answer = client.post("/form", headers={"Sec-Fetch-Site": "cross-site", "Accept": "application/json"})

    assert answer.status_code == 401
    assert "Cookie" in vary_of(answer)


# -- no token, no work ---------------------------------------------------------


def test_requests_without_a_token_fetch_no_keys(make_app, jwks_server):
    app = make_app(LOGINROCKET_URL=jwks_server.url)
    client = app.test_client()
    for _ in range(5):
        assert client.get("/").text == "Logged out"
    assert client.get("/private").status_code == 302
    assert jwks_server.fetches == 0


def test_dynamic_keys_log_in_and_are_fetched_once(make_app, jwks_server, rsa_issuer):
    app = make_app(LOGINROCKET_URL=jwks_server.url)
    client = app.test_client()
    client.set_cookie("arToken", token_for(rsa_issuer))
    for _ in range(5):
        assert client.get("/private").status_code == 200
    assert jwks_server.fetches == 1


def test_unavailable_keys_keep_the_cookie(make_app, refused_url, rsa_issuer):
    app = make_app(LOGINROCKET_URL=refused_url)
    client = app.test_client()
    client.set_cookie("arToken", token_for(rsa_issuer))

    public = client.get("/")
    guarded = client.get("/private")

    assert public.text == "Logged out"
    assert "Set-Cookie" not in public.headers
    assert guarded.status_code == 503
    assert int(guarded.headers["Retry-After"]) >= 1
    assert client.get_cookie("arToken") is not None


def test_legacy_format_token_logs_in(hs_app, hs_issuer):
    token = token_for(hs_issuer, legacy=True)
    client = hs_app.test_client()
    client.set_cookie("arToken", token)

    answer = client.get("/api/me")
    assert answer.status_code == 200
    assert answer.json == {"id": "usr_ada", "email": None, "org": ACME["id"]}


def test_g_authrocket_records_where_the_token_came_from(hs_app, hs_issuer):
    token = token_for(hs_issuer)
    with hs_app.test_request_context("/", headers={"Authorization": f"Bearer {token}"}):
        hs_app.preprocess_request()
        assert g.authrocket.token_source == "bearer"
        assert g.authrocket.token == token
        assert g.authrocket.rejection is None


def test_an_outer_app_context_does_not_carry_a_login_into_the_next_request(hs_app, hs_issuer):
    client = hs_app.test_client()
    with hs_app.app_context():  # as many test suites and scripts keep one pushed
        logged_in = client.get("/api/me", headers={"Authorization": f"Bearer {token_for(hs_issuer)}"})
        anonymous = client.get("/api/me", headers={"Accept": "application/json"})

    assert logged_in.status_code == 200
    assert anonymous.status_code == 401


def test_the_proxies_outside_a_request_always_say_so(hs_app):
    from flask_authrocket import current_user

    with hs_app.app_context():
        for _ in range(2):
            with pytest.raises(RuntimeError, match="inside a request"):
                current_user.id  # noqa: B018


def test_a_token_naming_a_non_ascii_kid_still_gets_a_sendable_401(make_app, rsa_issuer, jwks_server):
    app = make_app(LOGINROCKET_URL=jwks_server.url)
    forged = rsa_issuer.issue(
        {"sub": "usr_x", "iss": "https://authrocket.com", "exp": int(time.time()) + 60}, headers={"kid": "☃" * 500}
    )

    answer = app.test_client().get("/private", headers={"Authorization": f"Bearer {forged}"})

    assert answer.status_code == 401
    header = answer.headers["WWW-Authenticate"]
    header.encode("latin-1")  # a server could send it
    assert 'error="invalid_token"' in header and len(header) < 200


# -- AuthRocket.verify: the step the hook takes for every token ----------------------------


def test_verify_gives_the_session_or_the_rejection_for_the_current_app_or_a_named_one(hs_app, hs_issuer):
    extension = hs_app.extensions["authrocket"]
    good = token_for(hs_issuer)
    expired = token_for(hs_issuer, issued_at=int(time.time()) - 3600, expires_in=60)

    with hs_app.app_context():
        session = extension.verify(good)
    rejection = extension.verify(expired, app=hs_app)

    assert isinstance(session, Session) and session.user.id == "usr_ada" and session.token == good
    assert isinstance(rejection, Rejection) and rejection.reason == "expired" and not rejection.unavailable
    with pytest.raises(RuntimeError, match="application context"):
        extension.verify(good)


def test_verify_with_managed_sessions_rejects_a_session_ended_in_the_api(dev, make_app):
    cache = SimpleCache()
    app = make_app(
        LOGINROCKET_URL=dev.root,
        AUTHROCKET_URL=dev.url,
        AUTHROCKET_API_KEY=dev.api_key,
        AUTHROCKET_MANAGED_SESSIONS=True,
        AUTHROCKET_CACHE=cache,
    )
    extension = app.extensions["authrocket"]
    with dev.client() as api:
        record = api.sessions.create(user_id="usr_ada")
    live = extension.verify(record.token, app=app)

    with dev.client() as api:
        api.sessions.delete(record.id)
    cache.clear()  # forget the "known" answer, as its TTL would
    ended = extension.verify(record.token, app=app)
    with app.app_context():
        cookie_name = extension.cookie.name
    client = app.test_client()
    client.set_cookie(cookie_name, record.token)
    with client:
        answer = client.get("/private")
        hook_rejection = g.authrocket.rejection

    assert isinstance(live, Session) and live.id == record.id
    assert ended == Rejection("session_ended", "the session was logged out")
    assert hook_rejection == ended  # the request hook takes the same step
    assert answer.status_code == 302


# -- the package ---------------------------------------------------------------------------


def test_importing_the_package_loads_no_http_client_cache_or_commands():
    # A fresh interpreter: this one has loaded everything already. Flask itself imports
    # click, so what counts is what the extension's names add after `import flask`.
    program = (
        "import json, sys\n"
        "import flask\n"
        "before = set(sys.modules)\n"
        "import flask_authrocket\n"
        "bare = sorted(set(sys.modules) - before)\n"
        "from flask_authrocket import AuthRocket, current_user, protect, require_login\n"
        "added = sorted(set(sys.modules) - before)\n"
        "client = flask_authrocket.AuthRocketClient.__module__\n"
        "loaded_after = 'requests' in sys.modules\n"
        "print(json.dumps({'bare': bare, 'added': added, 'client': client, 'loaded_after': loaded_after}))\n"
    )
    finished = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True)
    report = json.loads(finished.stdout)

    heavy = {
        "requests",
        "cachelib",
        "click",
        "flask_authrocket.client",
        "flask_authrocket.managed",
        "flask_authrocket.cli",
    }
    assert report["bare"] == ["flask_authrocket"]  # the package alone: each name loads on first use
    assert heavy.isdisjoint(report["added"]), sorted(heavy.intersection(report["added"]))
    assert report["client"] == "flask_authrocket.client.client"  # the lazy name still resolves
    assert report["loaded_after"]
