"""flask_authrocket.testing: test keys, make_token, the test client, the JWK-set server and the plugin.

The helpers' tokens are checked by the real TokenVerifier and by real apps; the
plugin is checked end to end by running small user test suites in a pytest
subprocess, which loads it through its entry point as a user's pytest would.
"""

from __future__ import annotations

import doctest
import json
import re
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from flask import Flask, g
from helpers import ACME, ADA, HS_SECRET, outcome, wait_until

import flask_authrocket.testing
from flask_authrocket import Session, TokenVerifier
from flask_authrocket.issuer import TokenIssuer
from flask_authrocket.testing import (
    LOGINROCKET_TEST_URL,
    AuthRocketTestClient,
    JwksTestServer,
    TestKeys,
    make_membership,
    make_token,
    make_user,
)

pytest_plugins = ["pytester"]

DOCS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "testing.md"


@pytest.fixture(scope="module")
def forger() -> TestKeys:
    """Keys no app trusts, with the same kid as the real test key: a forger's best try."""
    return TestKeys.generate(kid="test-key-1")


@pytest.fixture
def app(make_app, authrocket_config) -> Flask:
    """The demo app, trusting the test keys statically; ``/source`` says where the token came from."""
    app = make_app(**authrocket_config)

    @app.get("/source")
    def source() -> str:
        return str(g.authrocket.token_source)

    return app


def verified(token: str, **verifier: Any) -> Session:
    """The session of ``token``, which must verify with the static test key (or ``verifier``'s settings)."""
    verifier.setdefault("jwt_key", TestKeys.default().public_key_pem)
    result = TokenVerifier(**verifier).verify(token)
    assert isinstance(result, Session), result
    return result


def user_client(app: Flask) -> AuthRocketTestClient:
    app.test_client_class = AuthRocketTestClient
    client = app.test_client()
    assert isinstance(client, AuthRocketTestClient)
    return client


# -- TestKeys --------------------------------------------------------------------------


def test_default_keys_are_made_once_per_process():
    keys = TestKeys.default()

    assert TestKeys.default() is keys
    assert TestKeys().public_key_pem == keys.public_key_pem
    assert TestKeys().hs256_secret == keys.hs256_secret
    assert keys.kid == "test-key-1"
    assert len(keys.hs256_secret.encode()) >= 32  # long enough that PyJWT has nothing to warn about


def test_generated_keys_are_new_and_keep_the_secret_out_of_reprs():
    keys = TestKeys.generate(kid="rotated")

    assert keys.public_key_pem != TestKeys.default().public_key_pem
    assert keys.hs256_secret != TestKeys.default().hs256_secret
    assert keys.kid == "rotated"
    assert repr(keys) == "TestKeys(kid='rotated')"
    assert keys.hs256_secret not in repr(keys)


def test_jwks_holds_the_public_key_by_kid():
    keys = TestKeys.default()

    (jwk,) = keys.jwks["keys"]

    assert (jwk["kty"], jwk["alg"], jwk["kid"]) == ("RSA", "RS256", "test-key-1")
    assert "d" not in jwk  # public parts only


def test_config_for_each_mode():
    keys = TestKeys.default()

    off = {"AUTHROCKET_MANAGED_SESSIONS": False}
    assert keys.config() == {**off, "LOGINROCKET_URL": LOGINROCKET_TEST_URL, "AUTHROCKET_JWT_KEY": keys.public_key_pem}
    assert keys.config("hs256") == {
        **off,
        "LOGINROCKET_URL": LOGINROCKET_TEST_URL,
        "AUTHROCKET_JWT_KEY": keys.hs256_secret,
    }
    assert keys.config("jwks", jwks_url="http://127.0.0.1:9/") == {
        **off,
        "LOGINROCKET_URL": "http://127.0.0.1:9/",
        "AUTHROCKET_JWT_KEY": None,
    }
    with pytest.raises(ValueError, match="needs jwks_url"):
        keys.config("jwks")
    with pytest.raises(ValueError, match="mode must be one of static, hs256, jwks"):
        keys.config("dynamic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="algorithm must be one of RS256, HS256"):
        keys.issuer("ES256")


# -- make_token ----------------------------------------------------------------------------


def test_default_token_is_a_current_format_rs256_token_for_the_test_user():
    token = make_token()

    header = jwt.get_unverified_header(token)
    session = verified(token)
    user = session.user
    assert (header["alg"], header["kid"]) == ("RS256", "test-key-1")
    assert (user.id, user.email, user.first_name, user.last_name) == ("usr_test", "test@example.com", "Test", "User")
    assert user.email_verification == "verified"
    assert user.realm_id == "rl_test"
    assert user.memberships == ()
    assert session.id is not None and session.id.startswith("kss_")
    assert session.expires_at - session.created_at == 3600


def test_hs256_token_verifies_with_the_secret_and_not_with_the_rsa_key():
    keys = TestKeys.default()

    token = make_token(algorithm="HS256")

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert verified(token, jwt_key=keys.hs256_secret).user.id == "usr_test"
    assert outcome(TokenVerifier(jwt_key=keys.public_key_pem).verify(token)) == "wrong_algorithm"
    with pytest.raises(ValueError, match="algorithm"):
        make_token(algorithm="none")


def test_user_may_be_a_mapping_an_id_or_an_email():
    assert verified(make_token(ADA)).user.username == "ada"
    assert verified(make_token("usr_grace")).user.email == "grace@example.com"
    by_email = verified(make_token("Grace.Hopper@navy.test")).user
    assert (by_email.id, by_email.email) == ("usr_grace_hopper", "Grace.Hopper@navy.test")
    with pytest.raises(TypeError, match="'id'"):
        make_token({"email": "nobody@example.com"})


def test_make_user_fills_in_test_defaults():
    assert make_user() == {
        "id": "usr_test",
        "email": "test@example.com",
        "first_name": "Test",
        "last_name": "User",
        "email_verified": True,
    }
    grace = make_user("usr_grace", first_name="Grace", last_name=None, custom={"team": "navy"})
    assert grace == {
        "id": "usr_grace",
        "email": "grace@example.com",
        "first_name": "Grace",
        "email_verified": True,
        "custom": {"team": "navy"},
    }


def test_memberships_carry_orgs_and_permissions_with_stable_ids():
    orgs = [make_membership("org_acme", "Acme", ["site:admin"], reference="acme-1"), "org_globex"]

    user = verified(make_token("usr_ada", orgs)).user

    assert user.memberships is not None
    acme, globex = user.memberships
    assert (acme.id, acme.org_id, acme.permissions) == ("mb_ada_acme", "org_acme", ("site:admin",))
    assert acme.org is not None and (acme.org.name, acme.org.reference) == ("Acme", "acme-1")
    assert (globex.id, globex.permissions, globex.org.name if globex.org else "") == ("mb_ada_globex", (), None)
    with pytest.raises(TypeError, match=r"\['site:admin'\]"):
        make_membership("org_acme", permissions="site:admin")
    with pytest.raises(TypeError, match="orgs is a list"):
        make_token(orgs=ACME)  # type: ignore[arg-type]


def test_selected_picks_the_current_membership():
    orgs = [make_membership("org_acme", permissions=["site:admin"]), make_membership("org_globex", selected=True)]

    assert verified(make_token(orgs=orgs)).current_org.id == "org_globex"  # type: ignore[union-attr]
    assert verified(make_token(orgs=orgs, selected="org_acme")).current_org.id == "org_acme"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="org_initech"):
        make_token(orgs=orgs, selected="org_initech")


def test_orgs_none_leaves_membership_data_out():
    session = verified(make_token(orgs=None))

    assert "orgs" not in session.claims
    assert session.user.memberships is None


def test_legacy_format():
    token = make_token(ADA, [ACME, {"id": "org_globex", "name": "Globex", "selected": True}], legacy=True)

    session = verified(token)

    assert "uid" in session.claims and "m" in session.claims and "sub" not in session.claims
    assert (session.user.id, session.user.username, session.user.first_name) == ("usr_ada", "ada", "Ada")
    assert session.user.email is None  # the older format carries no email
    assert session.current_org is not None and session.current_org.name == "Globex"
    assert session.user.memberships is not None
    assert session.user.memberships[0].permissions == ("site:admin",)


def test_expiry_is_real():
    now = int(time.time())

    short = verified(make_token(expires_in=60))
    backdated = verified(make_token(issued_at=now - 600, expires_in=3600))

    assert short.expires_at - short.created_at == 60  # type: ignore[operator]
    assert backdated.created_at == now - 600
    assert outcome(TokenVerifier(jwt_key=TestKeys.default().public_key_pem).verify(make_token(expires_in=-60))) == (
        "expired"
    )


def test_claims_are_added_replaced_and_removed():
    session = verified(make_token(email_verified=False, sid=None, cs={"plan": "pro"}, nbf=int(time.time()) - 10))

    assert session.user.email_verification == "none"
    assert session.id is None and "sid" not in session.claims
    assert session.user.custom == {"plan": "pro"}
    assert "nbf" in session.claims


def test_overridden_claims_are_still_verified():
    verifier = TokenVerifier(jwt_key=TestKeys.default().public_key_pem)

    assert outcome(verifier.verify(make_token(iss="https://evil.example"))) == "wrong_issuer"
    assert outcome(verifier.verify(make_token(exp=None))) == "missing_claim"
    assert outcome(verifier.verify(make_token(nbf=int(time.time()) + 600))) == "not_yet_valid"


def test_a_forged_token_is_rejected_whatever_its_kid(forger):
    static = TokenVerifier(jwt_key=TestKeys.default().public_key_pem)

    assert outcome(static.verify(make_token(keys=forger))) == "bad_signature"
    assert outcome(static.verify(make_token(keys=forger, algorithm="HS256"))) == "wrong_algorithm"
    with JwksTestServer() as server:
        dynamic = TokenVerifier(loginrocket_url=server.url)
        assert outcome(dynamic.verify(make_token(keys=forger))) == "bad_signature"
        # Issued before the fetch: an unknown kid on a fresh token may be a key published since
        # (unavailable until a fetch at most 5 s later), see test_keys.
        unknown = TestKeys(forger.rsa_issuer.private_key, kid="k9")
        assert outcome(dynamic.verify(make_token(keys=unknown, issued_at=int(time.time()) - 600))) == "unknown_kid"


# -- JwksTestServer ---------------------------------------------------------------------------


def test_jwks_server_serves_the_keys_and_counts_fetches():
    with JwksTestServer() as server:
        verifier = TokenVerifier(loginrocket_url=server.url)

        assert verified(make_token("usr_ada"), jwt_key=None, loginrocket_url=server.url).user.id == "usr_ada"
        assert server.fetches == 1
        assert outcome(verifier.verify(make_token())) == "accepted"
        assert outcome(verifier.verify(make_token("usr_grace"))) == "accepted"
        assert server.fetches == 2  # one per verifier: each caches the set
        assert requests.get(server.url + "connect/jwks", timeout=5).json() == TestKeys.default().jwks
        assert requests.get(server.url + "elsewhere", timeout=5).status_code == 404
        assert server.config() == TestKeys.default().config("jwks", jwks_url=server.url)
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "connect/jwks", timeout=5)


def test_jwks_server_rotates_keys_while_running():
    rotated = TestKeys.generate(kid="test-key-2")
    with JwksTestServer() as server:
        server.keys.append(rotated)

        served = requests.get(server.url + "connect/jwks", timeout=5).json()

    assert [jwk["kid"] for jwk in served["keys"]] == ["test-key-1", "test-key-2"]


def test_jwks_server_serves_a_token_issuers_key_and_counts_every_request():
    issuer = TokenIssuer.with_new_rsa_key(kid="k1")
    with JwksTestServer(issuer) as server:
        assert requests.get(server.url + "connect/jwks", timeout=5).json() == {"keys": [issuer.jwk()]}
        assert requests.get(server.url + "cert.pem", timeout=5).status_code == 404

        assert (server.fetches, server.requests) == (1, 2)


def test_jwks_server_answering_503_makes_the_keys_unavailable_until_it_recovers():
    with JwksTestServer() as server:
        server.fail()

        assert requests.get(server.url + "connect/jwks", timeout=5).status_code == 503
        assert outcome(TokenVerifier(loginrocket_url=server.url).verify(make_token())) == "unavailable"
        server.recover()
        assert outcome(TokenVerifier(loginrocket_url=server.url).verify(make_token())) == "accepted"
        assert server.fetches == 3


def test_jwks_server_fails_with_any_error_status_and_only_with_one():
    with JwksTestServer() as server:
        server.fail(500)
        assert requests.get(server.url + "connect/jwks", timeout=5).status_code == 500
        with pytest.raises(ValueError, match="an HTTP error status"):
            server.fail(200)


def test_jwks_server_that_refuses_is_down_until_it_recovers_on_the_same_url():
    with JwksTestServer() as server:
        url = server.url
        server.refuse()

        with pytest.raises(requests.ConnectionError, match="refused"):
            requests.get(url + "connect/jwks", timeout=5)
        assert outcome(TokenVerifier(loginrocket_url=url).verify(make_token())) == "unavailable"
        assert server.fetches == 0  # a refused connection never became a request

        server.recover()
        assert server.url == url
        assert outcome(TokenVerifier(loginrocket_url=url).verify(make_token())) == "accepted"


def test_jwks_server_that_hangs_is_given_up_by_the_client_and_still_stops_at_once():
    server = JwksTestServer()
    server.hang()
    assert outcome(TokenVerifier(loginrocket_url=server.url, http_timeout=0.3).verify(make_token())) == "unavailable"
    wait_until(lambda: server.fetches >= 1, timeout=30)  # the server's own thread counts it, maybe a moment later
    assert server.fetches == 1

    with ThreadPoolExecutor(max_workers=1) as pool:
        held = pool.submit(requests.get, server.url + "connect/jwks", timeout=30)
        wait_until(lambda: server.fetches == 2)
        server.close()  # ends the held request: it gets no answer, long before its own 30 s timeout

        with pytest.raises(requests.ConnectionError):
            held.result(timeout=10)


def test_jwks_server_that_recovers_from_a_hang_ends_the_held_requests_and_answers_again():
    with JwksTestServer() as server, ThreadPoolExecutor(max_workers=1) as pool:
        server.hang()
        held = pool.submit(requests.get, server.url + "connect/jwks", timeout=30)
        wait_until(lambda: server.fetches == 1)

        server.recover()

        with pytest.raises(requests.ConnectionError):
            held.result(timeout=10)
        assert requests.get(server.url + "connect/jwks", timeout=5).json() == TestKeys.default().jwks


def test_jwks_server_with_a_slow_body_sends_the_headers_at_once_and_the_body_a_byte_at_a_time():
    with JwksTestServer() as server:
        server.slow_body(0.01)
        answer = requests.get(server.url + "connect/jwks", timeout=5, stream=True)

        assert answer.status_code == 200
        assert int(answer.headers["Content-Length"]) == len(json.dumps(TestKeys.default().jwks))
        assert answer.raw.read(2) == b'{"'
        answer.close()
        with pytest.raises(ValueError, match="above 0"):
            server.slow_body(0)


def test_jwks_server_serves_any_body_or_hand_written_keys_until_it_recovers():
    with JwksTestServer() as server:
        server.serve_body(b"<html>a login page</html>")
        assert outcome(TokenVerifier(loginrocket_url=server.url).verify(make_token())) == "unavailable"

        server.serve_jwks({"kid": "odd", "kty": "EC"})
        assert requests.get(server.url + "connect/jwks", timeout=5).json() == {"keys": [{"kid": "odd", "kty": "EC"}]}

        server.recover()
        assert outcome(TokenVerifier(loginrocket_url=server.url).verify(make_token())) == "accepted"


def test_jwks_server_delay_holds_every_answer_back_until_recover():
    with JwksTestServer() as server, ThreadPoolExecutor(max_workers=1) as pool:
        server.delay = 30
        held = pool.submit(requests.get, server.url + "connect/jwks", timeout=60)
        wait_until(lambda: server.fetches == 1)

        assert not held.done()
        server.recover()  # ends the held answer; the next one comes at once
        with pytest.raises(requests.ConnectionError):
            held.result(timeout=10)
        assert server.delay == 0
        assert requests.get(server.url + "connect/jwks", timeout=5).status_code == 200


# -- AuthRocketTestClient: cookie mode ----------------------------------------------------


def test_login_as_sets_the_login_cookie(authrocket_client):
    assert authrocket_client.get("/private").status_code == 302

    token = authrocket_client.login_as(ADA, [ACME])

    cookie = authrocket_client.get_cookie("arToken")
    assert cookie is not None and cookie.value == token
    assert authrocket_client.get("/private").text == "private for usr_ada"
    assert authrocket_client.get("/admin").text == "admin"
    assert authrocket_client.get("/source").text == "cookie"


def test_login_as_follows_the_apps_cookie_settings(make_app, authrocket_config):
    app = make_app(
        **authrocket_config,
        SERVER_NAME="app.example.test",
        AUTHROCKET_COOKIE_NAME="session_token",
        AUTHROCKET_COOKIE_DOMAIN="example.test",
        AUTHROCKET_COOKIE_PATH="/private",
    )
    client = user_client(app)

    token = client.login_as()

    cookie = client.get_cookie("session_token", domain="example.test", path="/private")
    assert cookie is not None and cookie.value == token
    assert client.get_cookie("arToken") is None
    assert client.get("/private").text == "private for usr_test"
    assert client.get("/api/me", headers={"Accept": "application/json"}).status_code == 401  # outside the path


def test_login_as_in_cookie_mode_needs_a_cookie(make_app, authrocket_config):
    client = user_client(make_app(**authrocket_config, AUTHROCKET_COOKIE_NAME=None))

    with pytest.raises(RuntimeError, match="mode='bearer'"):
        client.login_as()
    client.login_as(mode="bearer")
    assert client.get("/private").text == "private for usr_test"


def test_logout_drops_the_cookie(authrocket_client):
    authrocket_client.login_as(ADA)
    assert authrocket_client.get("/private").status_code == 200

    authrocket_client.logout()

    assert authrocket_client.get_cookie("arToken") is None
    answer = authrocket_client.get("/private")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(LOGINROCKET_TEST_URL + "login?redirect_uri=")


def test_the_apps_own_logout_route_still_works(authrocket_client):
    authrocket_client.login_as(ADA, session_id="kss_ada_9")

    answer = authrocket_client.get("/logout")

    assert answer.headers["Location"].endswith("&session=kss_ada_9")
    assert authrocket_client.get_cookie("arToken") is None


# -- AuthRocketTestClient: bearer mode ----------------------------------------------------


def test_bearer_mode_sends_the_header_with_every_request(authrocket_client):
    token = authrocket_client.login_as(ADA, [ACME], mode="bearer")

    first = authrocket_client.get("/api/me")
    second = authrocket_client.post("/form")

    assert first.get_json() == {"id": "usr_ada", "email": "ada@example.com", "org": "org_acme"}
    assert second.text == "POST by usr_ada"
    assert authrocket_client.get("/source").text == "bearer"
    assert authrocket_client.get_cookie("arToken") is None
    assert verified(token).user.id == "usr_ada"


def test_a_header_given_to_one_request_wins(authrocket_client):
    authrocket_client.login_as(mode="bearer")

    answer = authrocket_client.get("/api/me", headers={"Authorization": "Bearer not-a-token"})

    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    assert authrocket_client.get("/api/me").status_code == 200


def test_logout_stops_the_bearer_header(authrocket_client):
    authrocket_client.login_as(mode="bearer")
    authrocket_client.logout()

    answer = authrocket_client.get("/api/me", headers={"Accept": "application/json"})

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="authrocket"'  # no token was sent


def test_a_new_login_replaces_the_previous_one(authrocket_client):
    authrocket_client.login_as("usr_ada", mode="bearer")
    authrocket_client.login_as("usr_grace")
    assert authrocket_client.get("/source").text == "cookie"
    assert authrocket_client.get("/private").text == "private for usr_grace"

    authrocket_client.login_as("usr_hedy", mode="bearer")

    assert authrocket_client.get_cookie("arToken") is None
    assert authrocket_client.get("/private").text == "private for usr_hedy"
    with pytest.raises(ValueError, match="'cookie' or 'bearer'"):
        authrocket_client.login_as(mode="query")


# -- nothing is weakened --------------------------------------------------------------------


def test_login_as_signs_with_the_key_the_app_trusts(make_app, authrocket_keys):
    client = user_client(make_app(**authrocket_keys.config("hs256")))

    token = client.login_as(ADA, mode="bearer")

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert client.get("/private").text == "private for usr_ada"
    client.login_as(ADA, mode="bearer", algorithm="RS256")
    assert client.get("/private").status_code == 401


def test_an_app_that_does_not_trust_the_test_keys_refuses_their_logins(make_app):
    client = user_client(make_app(AUTHROCKET_JWT_KEY=HS_SECRET))

    client.login_as(ADA)

    assert client.get("/private").status_code == 302
    assert client.get_cookie("arToken") is None  # cleared by the app as any bad cookie


def test_forged_and_expired_logins_are_refused(authrocket_client, forger):
    authrocket_client.login_as(ADA, keys=forger)
    assert authrocket_client.get("/private").status_code == 302
    assert authrocket_client.get_cookie("arToken") is None

    authrocket_client.login_as(ADA, mode="bearer", expires_in=-60)
    answer = authrocket_client.get("/api/me")
    assert answer.status_code == 401
    assert answer.get_json() == {"error": "invalid_token", "message": "The token has expired."}


def test_the_apps_own_rules_still_apply(make_app, authrocket_config):
    client = user_client(make_app(**authrocket_config, AUTHROCKET_TOKEN_WITHIN=60))

    client.login_as(mode="bearer", issued_at=int(time.time()) - 600)
    too_old = client.get("/api/me")
    client.login_as(mode="bearer")
    fresh = client.get("/api/me")

    assert too_old.status_code == 401
    assert too_old.get_json()["message"].endswith("s ago, over the 60 s allowed.")
    assert fresh.status_code == 200


def test_login_as_needs_the_extension_on_the_app():
    app = Flask(__name__)
    client = user_client(app)

    with pytest.raises(RuntimeError, match="AuthRocket is not registered on this app"):
        client.login_as()


# -- the plugin's fixtures -------------------------------------------------------------------


def test_the_fixtures_give_the_default_keys_and_their_config(authrocket_keys, authrocket_config):
    assert authrocket_keys is TestKeys.default()
    assert authrocket_config == authrocket_keys.config("static")


def test_jwks_fixtures_serve_the_keys_to_an_app(make_app, authrocket_jwks_server, authrocket_jwks_config):
    assert authrocket_jwks_config == {
        "AUTHROCKET_MANAGED_SESSIONS": False,
        "LOGINROCKET_URL": authrocket_jwks_server.url,
        "AUTHROCKET_JWT_KEY": None,
    }
    client = user_client(make_app(**authrocket_jwks_config))

    client.login_as(ADA, [ACME])

    assert client.get("/private").text == "private for usr_ada"
    assert client.get("/admin").text == "admin"
    assert authrocket_jwks_server.fetches == 1


def test_the_plugin_is_registered_by_an_entry_point_and_not_imported_by_the_package():
    plugins = {entry.name: entry.value for entry in entry_points(group="pytest11")}
    imported = subprocess.run(
        [sys.executable, "-c", "import flask_authrocket, sys; print('flask_authrocket.testing' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )

    assert plugins.get("authrocket") == "flask_authrocket.testing.plugin"
    assert imported.stdout.strip() == "False"


def test_the_helpers_import_and_work_without_pytest():
    # A script (curl's token, a requests session against a test server) has no pytest to lean on.
    script = (
        "import sys\n"
        "sys.modules['pytest'] = None  # any import of pytest now fails\n"
        "import flask_authrocket.testing as testing\n"
        "from flask_authrocket.testing import AuthRocketTestClient, JwksTestServer, TestKeys, make_token\n"
        "from flask_authrocket.tokens import TokenVerifier\n"
        "token = make_token('ada@example.com')\n"
        "session = TokenVerifier(jwt_key=TestKeys.default().public_key_pem).session_from_token(token)\n"
        "with JwksTestServer() as server:\n"
        "    print(session.user.id, server.url.startswith('http://127.0.0.1:'))\n"
    )
    plain = subprocess.run(
        [sys.executable, "-c", "import flask_authrocket.testing, sys; print('pytest' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    used = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)

    assert plain.stdout.strip() == "False"
    assert used.returncode == 0, used.stderr
    assert used.stdout.strip() == "usr_ada True"


def test_loading_the_plugin_loads_no_helper_until_a_fixture_asks():
    # pytest loads the plugin in every run of a project with flask-authrocket installed.
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, flask_authrocket.testing.plugin; "
            "print(sorted(m for m in sys.modules if m.startswith(('flask', 'jwt', 'cryptography'))))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )

    assert (
        loaded.stdout.strip() == "['flask_authrocket', 'flask_authrocket.testing', 'flask_authrocket.testing.plugin']"
    )


def test_the_docstring_examples_run():
    from flask_authrocket.testing import keys, tokens

    results = [doctest.testmod(module) for module in (keys, tokens)]

    assert sum(result.attempted for result in results) >= 4
    assert sum(result.failed for result in results) == 0


USER_APP = """
from flask import Flask, g
from flask_authrocket import AuthRocket, require_login, require_permission

def create_app(config):
    app = Flask(__name__)
    app.config.update(TESTING=True, **config)
    AuthRocket(app)

    @app.get("/whoami")
    @require_login
    def whoami():
        org = g.authrocket.current_org
        return f"{g.authrocket.current_user.id} in {org.id if org else '-'} by {g.authrocket.token_source}"

    @app.get("/admin")
    @require_permission("site:admin")
    def admin():
        return "admin"

    return app
"""

USER_TESTS = """
import pytest
from flask_authrocket import TokenVerifier
from flask_authrocket.testing import AuthRocketTestClient, TestKeys, make_membership, make_token, make_user
from userapp import create_app

@pytest.fixture
def app(authrocket_config):
    return create_app(authrocket_config)

def test_cookie_login(authrocket_client):
    authrocket_client.login_as(make_user("usr_ada"), [make_membership("org_1", permissions=["site:admin"])])
    assert authrocket_client.get("/whoami").text == "usr_ada in org_1 by cookie"
    assert authrocket_client.get("/admin").status_code == 200

def test_bearer_login_and_selected_org(authrocket_client):
    authrocket_client.login_as("usr_ada", ["org_1", "org_2"], mode="bearer", selected="org_2")
    assert authrocket_client.get("/whoami").text == "usr_ada in org_2 by bearer"
    assert authrocket_client.get("/admin").status_code == 403

def test_logout(authrocket_client):
    authrocket_client.login_as()
    authrocket_client.logout()
    assert authrocket_client.get("/whoami").status_code == 302

def test_make_token_and_keys(authrocket_keys):
    verifier = TokenVerifier(jwt_key=authrocket_keys.public_key_pem)
    assert verifier.session_from_token(make_token("usr_x")).user.id == "usr_x"
    assert verifier.session_from_token(make_token(keys=TestKeys.generate())) is None

def test_jwks_mode(authrocket_jwks_server, authrocket_jwks_config):
    app = create_app(authrocket_jwks_config)
    app.test_client_class = AuthRocketTestClient
    client = app.test_client()
    client.login_as("usr_jwks", mode="bearer")
    assert client.get("/whoami").text == "usr_jwks in - by bearer"
    assert authrocket_jwks_server.fetches == 1
"""


def run_user_suite(pytester: pytest.Pytester, files: dict[str, str]) -> pytest.RunResult:
    """Run a user's test suite in a pytest subprocess, which finds the plugin by its entry point."""
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    for name, source in files.items():
        (pytester.path / name).write_text(source)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")


def test_the_plugin_works_end_to_end_in_a_users_suite(pytester):
    result = run_user_suite(pytester, {"userapp.py": USER_APP, "test_user_app.py": USER_TESTS})

    result.assert_outcomes(passed=5)


def test_authrocket_client_without_an_app_fixture_says_what_to_add(pytester):
    result = run_user_suite(
        pytester,
        {"test_no_app.py": "def test_login(authrocket_client):\n    authrocket_client.login_as()\n"},
    )

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*authrocket_client tests the app of an `app` fixture, and there is none*"])
    result.stdout.fnmatch_lines(["*def app(authrocket_config):*"])


def test_authrocket_client_with_an_app_fixture_that_is_no_app_says_so(pytester):
    source = (
        "import pytest\n\n@pytest.fixture\ndef app():\n    return 'not an app'\n\n"
        "def test_login(authrocket_client):\n    pass\n"
    )

    result = run_user_suite(pytester, {"test_bad_app.py": source})

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*needs the `app` fixture to return a Flask app, not 'not an app'*"])


# -- docs/testing.md runs -----------------------------------------------------------------------

CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
FILE_NAME = re.compile(r"# content of (\S+\.py)\n")


def docs_files() -> dict[str, str]:
    """The page's python blocks, by the file each names in its first line."""
    files: dict[str, str] = defaultdict(str)
    for number, block in enumerate(CODE_BLOCK.findall(DOCS_PAGE.read_text()), start=1):
        named = FILE_NAME.match(block)
        assert named, f"python block {number} of docs/testing.md does not start with '# content of <file>.py'"
        files[named.group(1)] += block
    return dict(files)


def test_the_testing_page_covers_every_helper():
    page = DOCS_PAGE.read_text()

    for name in flask_authrocket.testing.__all__:
        if name != "LOGINROCKET_TEST_URL":
            assert f"`{name}" in page or f"{name}(" in page, name
    code = "".join(docs_files().values())
    for fixture in ("authrocket_keys", "authrocket_config", "authrocket_jwks_server", "authrocket_jwks_config"):
        assert f"({fixture}" in code or f", {fixture}" in code, fixture
    assert 'mode="bearer"' in page and "selected=" in page and "legacy=True" in page


def test_the_testing_page_runs(pytester):
    files = docs_files()
    tests = sum(len(re.findall(r"^def test_", source, re.MULTILINE)) for source in files.values())

    result = run_user_suite(pytester, files)

    assert tests >= 12
    result.assert_outcomes(passed=tests)


def test_the_test_configs_turn_managed_sessions_off():
    from flask_authrocket.testing import TestKeys

    keys = TestKeys.default()
    for config in (keys.config("static"), keys.config("hs256"), keys.config("jwks", jwks_url="http://127.0.0.1:9/")):
        assert config["AUTHROCKET_MANAGED_SESSIONS"] is False
