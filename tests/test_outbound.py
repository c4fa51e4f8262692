"""Outbound calls: each ends at its timeout, follows no redirect, survives any JSON, and goes where its URL says.

Real servers on 127.0.0.1 misbehave on purpose: :class:`JwksTestServer` drips its body
one byte every 50 ms (``slow_body``), so that no single read waits long, or never answers
(``hang``); a small WSGI app redirects, another answers JSON nested 100,000 deep. The
elapsed-time asserts are hang bounds, not speed measurements: many times the timeout, so
that a loaded machine cannot fail them, and far shorter than the whole drip (minutes) or the
hang (for ever), so that a call bounded only per read does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from helpers import ADA, outcome, serving, token_for
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from flask_authrocket import ApiError, ApiUnavailable, AuthRocketClient, ConfigurationError
from flask_authrocket.dev.login_client import loginrocket_root
from flask_authrocket.fetch import FetchError, get_json, is_loopback_url, new_session
from flask_authrocket.issuer import TokenIssuer
from flask_authrocket.testing import JwksTestServer
from flask_authrocket.tokens import TokenVerifier

#: AUTHROCKET_HTTP_TIMEOUT in these tests, and the most a call that ended at it may have taken.
TIMEOUT = 0.25
HANG_BOUND = 10.0
#: Seconds between two bytes of a dripping body: well under TIMEOUT, so no single read times out.
DRIP = 0.05
#: The timeout of calls that must get their answer (a redirect, deep JSON): no load makes them time out.
ANSWER_TIMEOUT = 10.0

#: An API answer that takes over two minutes to drip.
LONG_BODY = json.dumps({"user": {"id": "usr_ada", "padding": "x" * 2500}}).encode()
#: JSON nested 100,000 deep: about 200 KB, far under any size limit.
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def api_server(rsa_issuer: TokenIssuer) -> Iterator[JwksTestServer]:
    """A loopback server standing in for the Core API: it answers ``serve_body`` to every GET, or misbehaves."""
    with JwksTestServer(rsa_issuer) as server:
        server.serve_body(LONG_BODY)
        yield server


def drip(server: JwksTestServer, body: bytes) -> None:
    """Make ``server`` answer ``body``, one byte every :data:`DRIP` seconds: longer than two minutes in all."""
    assert len(body) * DRIP > 120, "a body that short could drip within HANG_BOUND on a slow machine"
    server.serve_body(body)
    server.slow_body(DRIP)


def drip_key_set(server: JwksTestServer, issuer: TokenIssuer) -> None:
    """Make ``server`` drip ``issuer``'s real key set, padded with whitespace (still JSON) to drip for minutes."""
    drip(server, json.dumps(issuer.jwks()).encode() + b" " * 2000)


def api_client(server: JwksTestServer, timeout: float = TIMEOUT) -> AuthRocketClient:
    return AuthRocketClient(url=server.url + "v2", api_key="ks_test", timeout=timeout, retries=0)


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    """``call()``'s result (or the exception it raised) and the seconds it took."""
    started = time.monotonic()
    try:
        result: Any = call()
    except Exception as exc:  # the test asserts on which
        result = exc
    return result, time.monotonic() - started


# Item 5: each call is bounded in total by its timeout ---------------------------------------------


def test_a_key_fetch_from_a_server_dripping_its_body_ends_at_the_timeout(jwks_server, rsa_issuer):
    drip_key_set(jwks_server, rsa_issuer)
    verifier = TokenVerifier(loginrocket_url=jwks_server.url, http_timeout=TIMEOUT)

    result, elapsed = timed(lambda: verifier.verify(token_for(rsa_issuer)))

    assert outcome(result) == "unavailable"
    assert result.unavailable is True
    assert elapsed < HANG_BOUND


def test_get_json_is_bounded_in_total_and_says_timeout(jwks_server, rsa_issuer):
    drip_key_set(jwks_server, rsa_issuer)
    http = new_session()

    failure, elapsed = timed(lambda: get_json(http, jwks_server.url + "connect/jwks", timeout=TIMEOUT, max_bytes=65536))

    assert isinstance(failure, FetchError)
    assert failure.kind == "timeout"
    assert str(failure) == f"{jwks_server.url}connect/jwks did not answer within 0.25 s"
    assert elapsed < HANG_BOUND
    http.close()


def test_a_session_given_by_the_caller_is_bounded_too(jwks_server, rsa_issuer):
    import requests

    drip_key_set(jwks_server, rsa_issuer)
    with requests.Session() as http:  # not from new_session(): the body is still read within the deadline
        failure, elapsed = timed(
            lambda: get_json(http, jwks_server.url + "connect/jwks", timeout=TIMEOUT, max_bytes=65536)
        )

    assert isinstance(failure, FetchError)
    assert failure.kind == "timeout"
    assert elapsed < HANG_BOUND


def test_requests_waiting_on_a_dripping_key_fetch_all_end_unavailable_at_the_timeout(jwks_server, rsa_issuer):
    drip_key_set(jwks_server, rsa_issuer)
    verifier = TokenVerifier(loginrocket_url=jwks_server.url, http_timeout=TIMEOUT)
    tokens = [token_for(rsa_issuer) for _ in range(12)]
    start_together = threading.Barrier(len(tokens))

    def verify(token: str) -> tuple[str, float]:
        start_together.wait(timeout=30)
        result, elapsed = timed(lambda: verifier.verify(token))
        return outcome(result), elapsed

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        results = list(pool.map(verify, tokens, timeout=30))

    assert {reason for reason, _ in results} == {"unavailable"}
    assert max(elapsed for _, elapsed in results) < HANG_BOUND
    assert jwks_server.fetches == 1


def test_an_api_call_to_a_server_dripping_its_body_ends_at_the_timeout(api_server):
    drip(api_server, LONG_BODY)
    client = api_client(api_server)

    failure, elapsed = timed(lambda: client.request("GET", "users/usr_ada"))

    assert isinstance(failure, ApiUnavailable)
    assert str(failure) == "AuthRocket API GET users/usr_ada: no answer within 0.25 s."
    assert failure.status is None
    assert elapsed < HANG_BOUND
    client.close()


def test_an_api_call_to_a_server_that_never_answers_ends_at_the_timeout(api_server):
    api_server.hang()
    client = api_client(api_server)

    failure, elapsed = timed(lambda: client.request("GET", "users/usr_ada"))

    assert isinstance(failure, ApiUnavailable)
    assert elapsed < HANG_BOUND
    client.close()


def test_the_api_still_answers_within_the_timeout(api_server):
    client = api_client(api_server, ANSWER_TIMEOUT)  # the total bound leaves a prompt answer alone
    assert client.request("GET", "users/usr_ada") == json.loads(LONG_BODY)
    client.close()


@pytest.fixture
def managed_app(make_app: Callable[..., Flask], rsa_issuer: TokenIssuer, api_server: JwksTestServer):
    """Build an app trusting ``rsa_issuer``'s key (no key fetch) whose managed sessions ask ``api_server``."""

    def build(failure: str, timeout: float = TIMEOUT) -> Flask:
        return make_app(
            AUTHROCKET_JWT_KEY=rsa_issuer.public_key_pem(),
            AUTHROCKET_URL=api_server.url + "v2",
            AUTHROCKET_API_KEY="ks_test",
            AUTHROCKET_MANAGED_SESSIONS=True,
            AUTHROCKET_SESSION_CHECK_FAILURE=failure,
            AUTHROCKET_HTTP_TIMEOUT=timeout,
        )

    return build


@pytest.mark.parametrize(("failure", "status"), [("closed", 503), ("open", 200)])
def test_a_session_check_against_a_dripping_api_ends_at_the_timeout_and_applies_the_failure_mode(
    managed_app, api_server, rsa_issuer, failure, status
):
    drip(api_server, LONG_BODY)
    client = managed_app(failure).test_client()
    client.set_cookie("arToken", token_for(rsa_issuer))

    answer, elapsed = timed(lambda: client.get("/private"))

    assert answer.status_code == status
    assert "arToken=;" not in answer.headers.get("Set-Cookie", "")  # the cookie is kept
    assert elapsed < HANG_BOUND


def test_flask_authrocket_check_ends_at_the_timeout_against_dripping_servers(
    make_app, jwks_server, api_server, rsa_issuer
):
    drip_key_set(jwks_server, rsa_issuer)
    drip(api_server, LONG_BODY)
    app = make_app(
        LOGINROCKET_URL=jwks_server.url,
        AUTHROCKET_URL=api_server.url + "v2",
        AUTHROCKET_API_KEY="ks_test",
        AUTHROCKET_HTTP_TIMEOUT=TIMEOUT,
    )

    result, elapsed = timed(lambda: app.test_cli_runner().invoke(args=["authrocket", "check"]))

    assert result.exit_code == 1
    assert f"{jwks_server.url}connect/jwks did not answer within 0.25 s" in result.output
    assert elapsed < HANG_BOUND  # two calls, one after the other, each ended at the timeout


# Item 6: the key-set fetch follows no redirect ------------------------------------------------------


@pytest.fixture
def redirecting_loginrocket(other_jwks_server: JwksTestServer) -> Iterator[str]:
    """A LoginRocket URL whose /connect/jwks redirects to another server's key set (an attacker's)."""

    @Request.application
    def app(request: Request) -> Response:
        return redirect(other_jwks_server.url + "connect/jwks", code=302)

    with serving(app) as url:
        yield url


def test_a_key_set_redirect_to_another_server_is_a_failed_fetch_logged_with_its_location(
    redirecting_loginrocket, other_jwks_server, other_rsa_issuer, caplog
):
    verifier = TokenVerifier(loginrocket_url=redirecting_loginrocket, http_timeout=ANSWER_TIMEOUT)

    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        result = verifier.verify(token_for(other_rsa_issuer))

    assert outcome(result) == "unavailable"
    assert other_jwks_server.fetches == 0
    assert f"redirected to '{other_jwks_server.url}connect/jwks'" in caplog.text


def test_keys_behind_a_redirect_never_reach_an_admin_view(make_app, redirecting_loginrocket, other_rsa_issuer):
    app = make_app(LOGINROCKET_URL=redirecting_loginrocket, AUTHROCKET_HTTP_TIMEOUT=ANSWER_TIMEOUT)
    forged = token_for(other_rsa_issuer)

    answer = app.test_client().get("/admin", headers={"Authorization": f"Bearer {forged}"})

    assert answer.status_code == 503
    assert answer.get_data(as_text=True) != "admin"


def test_flask_authrocket_check_names_the_redirect(make_app, redirecting_loginrocket, other_jwks_server):
    app = make_app(LOGINROCKET_URL=redirecting_loginrocket)

    result = app.test_cli_runner().invoke(args=["authrocket", "check"])

    assert result.exit_code == 1
    assert f"redirected to '{other_jwks_server.url}connect/jwks', which is not followed" in result.output


# Item 7: JSON, however deep, is a failed call -------------------------------------------------------


def test_deep_json_from_the_api_is_api_unavailable_not_a_recursion_error(api_server):
    api_server.serve_body(DEEP_JSON)
    client = api_client(api_server, ANSWER_TIMEOUT)

    with pytest.raises(ApiUnavailable, match="with a body that is not JSON"):
        client.request("GET", "users/usr_ada")
    client.close()


def test_json_nested_deeper_than_any_api_answer_is_refused(api_server):
    # 750 levels: deep enough to overflow the records' parsing (a RecursionError before),
    # shallow enough for json.loads.
    nested: dict[str, Any] = {"id": "usr_ada"}
    for _ in range(250):
        nested = {"id": "usr_ada", "memberships": [{"id": "mb", "user": nested}]}
    api_server.serve_body(json.dumps({"collection": [nested], "more_results": False}).encode())
    client = api_client(api_server, ANSWER_TIMEOUT)

    with pytest.raises(ApiError):
        client.users.first()
    client.close()


@pytest.mark.parametrize(("failure", "status"), [("closed", 503), ("open", 200)])
def test_deep_json_from_the_api_makes_managed_sessions_apply_their_failure_mode(
    managed_app, api_server, rsa_issuer, failure, status
):
    api_server.serve_body(DEEP_JSON)
    client = managed_app(failure, ANSWER_TIMEOUT).test_client()

    answer = client.get("/private", headers={"Authorization": f"Bearer {token_for(rsa_issuer)}"})

    assert answer.status_code == status


def test_deep_json_from_the_key_set_url_is_a_failed_fetch(jwks_server):
    jwks_server.serve_body(DEEP_JSON)
    with pytest.raises(FetchError) as failed:
        get_json(new_session(), jwks_server.url + "connect/jwks", timeout=ANSWER_TIMEOUT, max_bytes=1 << 20)
    assert failed.value.kind == "not_json"


# Item 8: URL settings are checked, and a loopback check looks where requests will connect -----------

EVIL = "http://evil.example\\@127.0.0.1:5001/"

UNUSABLE_URLS = {
    "backslash": EVIL,
    "user info": "https://admin:hunter2@myapp.e2.loginrocket.com/",
    "user only": "https://hunter2@myapp.e2.loginrocket.com/",
    "space": "https://myapp.e2.loginrocket .com/",
    "tab": "https://myapp.e2.loginrocket.com/\tx",
    "newline": "https://myapp.e2.loginrocket.com/\nx",
    "control": "https://myapp.e2.loginrocket.com/\x00",
    "scheme": "ftp://myapp.e2.loginrocket.com/",
    "no host": "https:///connect",
    "bad port": "https://myapp.e2.loginrocket.com:99999/",
}


@pytest.mark.parametrize("key", ["LOGINROCKET_URL", "AUTHROCKET_URL"])
@pytest.mark.parametrize("url", UNUSABLE_URLS.values(), ids=UNUSABLE_URLS.keys())
def test_an_unusable_url_setting_is_refused_at_init_app_naming_the_key_never_the_password(make_app, key, url):
    with pytest.raises(ConfigurationError) as refused:
        make_app(**{key: url, "AUTHROCKET_API_KEY": "ks_test"})

    assert str(refused.value).startswith(f"{key} ")
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize("url", UNUSABLE_URLS.values(), ids=UNUSABLE_URLS.keys())
def test_the_api_client_refuses_an_unusable_url(url):
    with pytest.raises(ConfigurationError) as refused:
        AuthRocketClient(url=url, api_key="ks_test")
    assert "hunter2" not in str(refused.value)


def test_usable_urls_are_kept_as_given(make_app):
    app = make_app(LOGINROCKET_URL="https://myapp.e2.loginrocket.com/", AUTHROCKET_URL="http://[::1]:5001/v2")
    with app.app_context():
        assert app.extensions["authrocket"].settings.api_url == "http://[::1]:5001/v2"


def test_a_backslash_before_an_at_sign_is_not_loopback():
    # requests connects to evil.example here, while urlsplit sees 127.0.0.1 after the user info.
    assert not is_loopback_url(EVIL)
    with pytest.raises(ValueError, match="backslash"):
        loginrocket_root(EVIL)


def test_the_token_command_refuses_that_url_before_calling_anyone(make_app):
    app = make_app(AUTHROCKET_API_KEY="ks_test")

    result = app.test_cli_runner().invoke(
        args=["authrocket", "token", "--user", ADA["email"], "--loginrocket-url", EVIL, "--api-key", "ks_test"]
    )

    assert result.exit_code != 0
    assert result.stdout == ""
    assert "backslash" in result.stderr
    assert "Asking the development LoginRocket" not in result.stderr


@pytest.mark.parametrize(
    "url", ["http://user:hunter2@127.0.0.1:5001/", "http://127.0.0.1:5001/ x", "ftp://127.0.0.1:5001/"]
)
def test_the_token_command_refuses_unusable_loopback_urls_without_echoing_passwords(make_app, url):
    app = make_app(AUTHROCKET_API_KEY="ks_test")

    result = app.test_cli_runner().invoke(
        args=["authrocket", "token", "--user", ADA["email"], "--loginrocket-url", url, "--api-key", "ks_test"]
    )

    assert result.exit_code != 0
    assert "hunter2" not in result.output + result.stderr
    assert "Asking the development LoginRocket" not in result.stderr
