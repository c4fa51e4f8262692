"""A key set that cannot be refreshed is trusted for AUTHROCKET_JWKS_MAX_STALE seconds past its TTL, no longer.

Before, a key set that failed to fetch (or came back empty, or with no usable key) kept the last
good keys with no upper bound: a withdrawn key stayed trusted for as long as an attacker could
keep the fetch failing. Past the bound, tokens are *unavailable* (503, the cookie kept), never
accepted, and the package logs an ERROR on each fetch attempt while it lasts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from flask import Flask
from helpers import ACME, ADA, Clock, outcome, token_for

from flask_authrocket import ConfigurationError
from flask_authrocket.issuer import TokenIssuer
from flask_authrocket.jwks import JwksClient
from flask_authrocket.testing import JwksTestServer
from flask_authrocket.tokens import TokenVerifier

TTL, MAX_STALE = 600, 3600


def verifier_on(server: JwksTestServer, clock: Clock, **settings: float) -> TokenVerifier:
    verifier = TokenVerifier(loginrocket_url=server.url)
    verifier.keys = JwksClient(server.url, clock=clock, ttl=TTL, min_interval=30, timeout=10, **settings)
    return verifier


BREAKAGES: dict[str, Callable[[JwksTestServer], None]] = {
    "503": lambda server: server.fail(503),
    "refused": lambda server: server.refuse(),
    "an empty set": lambda server: server.serve_jwks(),
    "no usable key": lambda server: server.serve_jwks({"kid": "ec", "kty": "EC", "crv": "P-256"}),
    "not json": lambda server: server.serve_body(b"<html>maintenance</html>"),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_the_last_good_keys_stand_for_max_stale_past_the_ttl_then_tokens_are_unavailable(
    jwks_server: JwksTestServer, rsa_issuer: TokenIssuer, breakage: str
) -> None:
    clock = Clock()
    verifier = verifier_on(jwks_server, clock, max_stale=MAX_STALE)
    token = token_for(rsa_issuer, ADA, (ACME,))
    assert outcome(verifier.verify(token)) == "accepted"
    BREAKAGES[breakage](jwks_server)

    clock.advance(TTL + MAX_STALE - 1)
    assert outcome(verifier.verify(token)) == "accepted"  # stale-if-error, within the bound
    assert outcome(verifier.verify(token_for(rsa_issuer, ADA, (ACME,), session_id="ses_new"))) == "accepted"

    clock.advance(2)
    for each in (token, token_for(rsa_issuer, ADA, (ACME,), session_id="ses_newer")):
        result = verifier.verify(each)
        assert outcome(result) == "unavailable"  # the cached verification is not believed either
        assert result.unavailable is True


def test_tokens_count_again_as_soon_as_a_fetch_succeeds(jwks_server: JwksTestServer, rsa_issuer: TokenIssuer) -> None:
    clock = Clock()
    verifier = verifier_on(jwks_server, clock, max_stale=MAX_STALE)
    token = token_for(rsa_issuer, ADA, (ACME,))
    assert outcome(verifier.verify(token)) == "accepted"
    jwks_server.fail(503)
    clock.advance(TTL + MAX_STALE + 1)
    assert outcome(verifier.verify(token)) == "unavailable"

    jwks_server.recover()
    clock.advance(30)  # the next fetch the floor allows

    assert outcome(verifier.verify(token)) == "accepted"


def test_an_error_is_logged_on_each_attempt_while_past_the_bound(
    jwks_server: JwksTestServer, rsa_issuer: TokenIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    verifier = verifier_on(jwks_server, clock, max_stale=MAX_STALE)
    token = token_for(rsa_issuer, ADA, (ACME,))
    verifier.verify(token)
    jwks_server.fail(503)
    clock.advance(TTL + 1)
    verifier.verify(token)  # stale, within the bound: the one WARNING of an outage
    assert [record.levelno for record in caplog.records] == [logging.WARNING]

    for _ in range(2):
        clock.advance(MAX_STALE)
        verifier.verify(token)

    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 2
    assert all("AUTHROCKET_JWKS_MAX_STALE" in line and "unavailable" in line for line in errors)


def test_an_app_answers_503_and_keeps_the_cookie_past_the_bound(
    jwks_server: JwksTestServer, rsa_issuer: TokenIssuer, make_app: Callable[..., Flask]
) -> None:
    app = make_app(LOGINROCKET_URL=jwks_server.url, AUTHROCKET_JWKS_MAX_STALE=MAX_STALE, AUTHROCKET_JWKS_TTL=TTL)
    clock = Clock()
    with app.app_context():
        verifier = app.extensions["authrocket"].verifier
        assert verifier.keys.max_stale == MAX_STALE
        verifier.keys = JwksClient(
            jwks_server.url, clock=clock, ttl=TTL, min_interval=30, timeout=10, max_stale=MAX_STALE
        )
    client = app.test_client()
    client.set_cookie("arToken", token_for(rsa_issuer, ADA, (ACME,)))
    assert client.get("/private").status_code == 200
    jwks_server.fail(503)

    clock.advance(TTL + MAX_STALE + 1)
    answer = client.get("/private", headers={"Accept": "application/json"})

    assert answer.status_code == 503
    assert "Retry-After" in answer.headers
    assert "Set-Cookie" not in answer.headers  # the cookie is kept: the token is not known to be bad


def test_the_default_bound_is_a_day(jwks_server: JwksTestServer) -> None:
    assert JwksClient(jwks_server.url).max_stale == 86400
    assert TokenVerifier(loginrocket_url=jwks_server.url).keys.max_stale == 86400


@pytest.mark.parametrize("value", [-1, "soon", True, float("nan")])
def test_a_bound_that_is_not_seconds_is_refused_at_init_app(make_app: Callable[..., Flask], value: object) -> None:
    with pytest.raises(ConfigurationError, match="AUTHROCKET_JWKS_MAX_STALE"):
        make_app(AUTHROCKET_JWKS_MAX_STALE=value)
