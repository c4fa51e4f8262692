"""TokenVerifier on its own, without Flask: a token string in, a Session or a Rejection out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import g
from helpers import ACME, ADA, GLOBEX, HS_SECRET, Clock, outcome, pem_body, token_for

from flask_authrocket import ConfigurationError
from flask_authrocket.issuer import TokenIssuer, generate_rsa_key, login_claims
from flask_authrocket.keys import SharedSecret, StaticKeySource
from flask_authrocket.models import Membership, Org, Session, User
from flask_authrocket.testing import TestKeys, make_token
from flask_authrocket.tokens import ISSUER, MAX_TOKEN_BYTES, REJECTION_TEXTS, Rejection, TokenVerifier

# -- helpers -------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict[str, Any], payload: Any, secret: bytes | str | None) -> str:
    """A token assembled by hand, HMAC-SHA256-signed with ``secret`` (whatever it is) or unsigned.

    PyJWT refuses to sign some of these (an RSA public key as an HMAC secret), which is the point.
    """
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    if secret is None:
        return signing_input + "."
    key = secret.encode() if isinstance(secret, str) else secret
    return signing_input + "." + b64url(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())


def fresh_claims(**overrides: Any) -> dict[str, Any]:
    """The claims of a valid login token for Ada in Acme, issued now by AuthRocket."""
    return {"iss": ISSUER, **login_claims(ADA, [ACME]), **overrides}


def payload_of(token: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))


def hs_verifier(**settings: Any) -> TokenVerifier:
    return TokenVerifier(jwt_key=HS_SECRET, **settings)


def rs_verifier(issuer: TokenIssuer, **settings: Any) -> TokenVerifier:
    return TokenVerifier(jwt_key=issuer.public_key_pem(), **settings)


def now() -> int:
    return int(time.time())


# -- the three ways of trusting keys ---------------------------------------------


def test_hs256_token_verifies_with_the_shared_secret(hs_issuer):
    token = token_for(hs_issuer, issued_at=now(), expires_in=1800)

    session = hs_verifier().verify(token)

    assert isinstance(session, Session)
    assert session.token == token
    assert session.user.id == "usr_ada"
    assert session.user.email == "ada@example.com"
    assert session.current_org is not None and session.current_org.id == "org_acme"
    assert session.expires_at - session.created_at == 1800


def test_rs256_token_verifies_with_the_public_key_as_pem(rsa_issuer):
    session = rs_verifier(rsa_issuer).verify(token_for(rsa_issuer))
    assert outcome(session) == "accepted"
    assert session.user.id == "usr_ada"


@pytest.mark.parametrize("layout", ["one line", "64-column lines"])
def test_rs256_token_verifies_with_the_bare_base64_public_key(rsa_issuer, layout):
    body = pem_body(rsa_issuer.public_key_pem())
    if layout == "64-column lines":
        body = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    verifier = TokenVerifier(jwt_key=body)

    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"


def test_rs256_token_verifies_with_keys_fetched_from_loginrocket(jwks_server, rsa_issuer):
    # Any LoginRocket URL: the key set is always at its origin's /connect/jwks.
    verifier = TokenVerifier(loginrocket_url=jwks_server.url + "login?redirect_uri=x")

    session = verifier.verify(token_for(rsa_issuer))

    assert outcome(session) == "accepted"
    assert session.user.id == "usr_ada"
    assert jwks_server.fetches == 1


def test_a_verifier_needs_a_key_or_a_loginrocket_url():
    with pytest.raises(ConfigurationError, match=r"AUTHROCKET_JWT_KEY.*LOGINROCKET_URL"):
        TokenVerifier()


# -- the algorithm is pinned by the key, never chosen by the token -----------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_unsigned_alg_none_token_is_rejected_by_a_secret_and_by_a_public_key(rsa_issuer, alg):
    token = hand_signed({"alg": alg, "typ": "JWT"}, fresh_claims(), secret=None)

    assert outcome(hs_verifier().verify(token)) == "wrong_algorithm"
    assert outcome(rs_verifier(rsa_issuer).verify(token)) == "wrong_algorithm"


def test_unsigned_alg_none_token_naming_a_known_kid_is_rejected_by_a_loginrocket_verifier(jwks_server):
    token = hand_signed({"alg": "none", "typ": "JWT", "kid": "k1"}, fresh_claims(), secret=None)
    assert outcome(TokenVerifier(loginrocket_url=jwks_server.url).verify(token)) == "wrong_algorithm"


@pytest.mark.parametrize("form", ["pem", "bare base64"])
def test_hs256_token_signed_with_the_rsa_public_key_as_secret_is_rejected(rsa_issuer, form):
    # The classic forgery: the public key is public, so an attacker can HMAC with its text.
    public_key = rsa_issuer.public_key_pem() if form == "pem" else pem_body(rsa_issuer.public_key_pem())
    forged = hand_signed({"alg": "HS256", "typ": "JWT", "kid": "k1"}, fresh_claims(sub="usr_mallory"), public_key)

    assert outcome(TokenVerifier(jwt_key=public_key).verify(forged)) == "wrong_algorithm"


def test_hs256_token_signed_with_the_public_key_is_rejected_by_a_loginrocket_verifier(jwks_server, rsa_issuer):
    forged = hand_signed(
        {"alg": "HS256", "typ": "JWT", "kid": "k1"}, fresh_claims(), rsa_issuer.public_key_pem().encode()
    )
    assert outcome(TokenVerifier(loginrocket_url=jwks_server.url).verify(forged)) == "wrong_algorithm"


def test_rs256_token_is_rejected_by_an_hs256_verifier(rsa_issuer):
    assert outcome(hs_verifier().verify(token_for(rsa_issuer))) == "wrong_algorithm"


# -- claims: iss, exp, nbf, iat, within ----------------------------------------------


@pytest.mark.parametrize(
    ("iss", "reason"),
    [
        ("https://evil.example", "wrong_issuer"),
        ("https://authrocket.com/", "wrong_issuer"),
        ("http://authrocket.com", "wrong_issuer"),
        (None, "missing_claim"),
    ],
)
def test_issuer_must_be_exactly_authrocket(iss, reason):
    claims = fresh_claims()
    if iss is None:
        del claims["iss"]
    else:
        claims["iss"] = iss
    assert outcome(hs_verifier().verify(hand_signed({"alg": "HS256"}, claims, HS_SECRET))) == reason


def test_a_token_without_exp_is_rejected(hs_issuer):
    claims = fresh_claims()
    del claims["exp"]
    assert outcome(hs_verifier().verify(hs_issuer.issue(claims))) == "missing_claim"


def test_a_token_expired_beyond_the_leeway_is_rejected(hs_issuer):
    token = token_for(hs_issuer, issued_at=now() - 3600, expires_in=3600 - 30)
    result = hs_verifier().verify(token)
    assert outcome(result) == "expired"
    assert result.message == "The token has expired."


def test_a_token_expired_within_the_default_five_seconds_of_leeway_is_accepted(hs_issuer):
    clock = Clock()  # the verifiers' clock: no pause of the machine moves it past the leeway
    token = token_for(hs_issuer, issued_at=int(clock.now) - 3600, expires_in=3600 - 2)
    assert outcome(hs_verifier(clock=clock).verify(token)) == "accepted"
    assert outcome(hs_verifier(leeway=0, clock=clock).verify(token)) == "expired"


@pytest.mark.parametrize(("offset", "expected"), [(600, "not_yet_valid"), (2, "accepted")])
def test_a_token_not_valid_before_a_future_time_is_rejected_beyond_the_leeway(hs_issuer, offset, expected):
    token = token_for(hs_issuer, claims={"nbf": now() + offset})
    assert outcome(hs_verifier().verify(token)) == expected


@pytest.mark.parametrize(("offset", "expected"), [(600, "not_yet_valid"), (2, "accepted")])
def test_a_token_issued_in_the_future_is_rejected_beyond_the_leeway(hs_issuer, offset, expected):
    token = token_for(hs_issuer, issued_at=now() + offset)
    assert outcome(hs_verifier().verify(token)) == expected


@pytest.mark.parametrize(("age", "expected"), [(100, "accepted"), (400, "too_old")])
def test_within_rejects_tokens_issued_longer_ago_than_allowed(hs_issuer, age, expected):
    token = token_for(hs_issuer, issued_at=now() - age, expires_in=3600)
    result = hs_verifier(within=300).verify(token)
    assert outcome(result) == expected
    assert outcome(hs_verifier().verify(token)) == "accepted"  # without `within`, age does not matter


def test_within_needs_the_iat_claim(hs_issuer):
    claims = fresh_claims()
    del claims["iat"]
    token = hs_issuer.issue(claims)

    assert outcome(hs_verifier(within=300).verify(token)) == "missing_claim"
    assert outcome(hs_verifier().verify(token)) == "accepted"


# -- malformed and tampered tokens ----------------------------------------------------


@pytest.mark.parametrize("issuer_name", ["hs_issuer", "rsa_issuer"])
def test_a_tampered_payload_breaks_the_signature(request, issuer_name):
    issuer = request.getfixturevalue(issuer_name)
    token = token_for(issuer)
    head, _, signature = token.split(".")
    claims = {**payload_of(token), "sub": "usr_mallory"}

    tampered = ".".join([head, b64url(json.dumps(claims).encode()), signature])

    assert outcome(TokenVerifier(jwt_key=issuer.verification_key()).verify(tampered)) == "bad_signature"


@pytest.mark.parametrize("shape", ["two segments", "four segments", "one segment", "empty segments"])
def test_a_token_with_the_wrong_number_of_segments_is_malformed(hs_issuer, shape):
    token = token_for(hs_issuer)
    head, payload, signature = token.split(".")
    broken = {
        "two segments": f"{head}.{payload}",
        "four segments": f"{token}.{signature}",
        "one segment": head,
        "empty segments": "..",
    }[shape]
    assert outcome(hs_verifier().verify(broken)) == "malformed"


@pytest.mark.parametrize("segment", [0, 1, 2])
def test_bad_base64_in_any_segment_is_rejected(hs_issuer, segment):
    parts = token_for(hs_issuer).split(".")
    parts[segment] = "@@@!"
    assert outcome(hs_verifier().verify(".".join(parts))) == "malformed"


BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def respelled(segment: str, spelling: str) -> str:
    """``segment`` written another way, which lenient base64 decoders turn into the same bytes."""
    if spelling == "trailing bits":  # set an unused low bit of the last character
        return segment[:-1] + BASE64URL[BASE64URL.index(segment[-1]) | 1]
    if spelling == "padding":
        return segment + "=" * (-len(segment) % 4)
    if spelling == "standard alphabet":
        return segment.replace("-", "+").replace("_", "/")
    return segment[:8] + "!!!!" + segment[8:]  # stray characters


def spelled_every_way(token: str) -> bool:
    """True when each segment holds a "-" or "_" and has unused bits: every respelling differs."""
    return all({"-", "_"} & set(segment) and len(segment) % 4 for segment in token.split(".")[1:])


SPELLINGS = ["trailing bits", "padding", "standard alphabet", "stray characters"]


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("segment", [1, 2], ids=["payload", "signature"])
def test_another_spelling_of_a_valid_token_is_malformed(hs_issuer, segment, spelling):
    # One token has one spelling, whatever the installed PyJWT's decoder tolerates. ("~~~" is "fn5-".)
    token = next(filter(spelled_every_way, (token_for(hs_issuer, claims={"note": "~" * n}) for n in range(6, 999))))
    parts = token.split(".")
    parts[segment] = respelled(parts[segment], spelling)

    assert ".".join(parts) != token
    assert outcome(hs_verifier().verify(token)) == "accepted"
    assert outcome(hs_verifier().verify(".".join(parts))) == "malformed"


@pytest.mark.parametrize("issuer", ["authrocket.com", "https://authrocket.co", ""])
def test_an_issuer_that_is_part_of_authrocket_s_is_the_wrong_issuer(hs_issuer, issuer):
    # PyJWT 2.10.0 compared a string issuer as a substring: the floor is 2.10.1.
    assert outcome(hs_verifier().verify(token_for(hs_issuer, claims={"iss": issuer}))) == "wrong_issuer"


@pytest.mark.parametrize("payload", [[1, 2, 3], 42, "a string", None])
def test_a_correctly_signed_payload_that_is_not_an_object_is_malformed(payload):
    token = hand_signed({"alg": "HS256", "typ": "JWT"}, payload, HS_SECRET)
    assert outcome(hs_verifier().verify(token)) == "malformed"


def test_a_correctly_signed_header_that_is_not_an_object_is_malformed():
    signing_input = b64url(b"[1, 2]") + "." + b64url(json.dumps(fresh_claims()).encode())
    signature = hmac.new(HS_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    assert outcome(hs_verifier().verify(signing_input + "." + b64url(signature))) == "malformed"


@pytest.mark.parametrize("token", ["", None, 42, b"bytes.are.not-a-str"])
def test_an_empty_or_non_string_token_is_malformed(token):
    assert outcome(hs_verifier().verify(token)) == "malformed"


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": ""},
        {"orgs": "org_acme"},
        {"orgs": [{"oid": "org_acme", "perm": "site:admin"}]},
    ],
    ids=["empty sub", "orgs not a list", "perm not a list"],
)
def test_claims_of_impossible_types_are_rejected_as_bad_claims(hs_issuer, claims):
    assert outcome(hs_verifier().verify(token_for(hs_issuer, claims=claims))) == "bad_claims"


@pytest.mark.parametrize("claims", [{"sub": 42}, {"jti": 42}], ids=["numeric sub", "numeric jti"])
def test_a_sub_or_jti_that_is_not_a_string_is_rejected_as_bad_claims(hs_issuer, claims):
    assert outcome(hs_verifier().verify(token_for(hs_issuer, claims=claims))) == "bad_claims"


def test_a_token_naming_no_user_is_rejected_as_bad_claims(hs_issuer):
    claims = fresh_claims()
    del claims["sub"]
    assert outcome(hs_verifier().verify(hs_issuer.issue(claims))) == "bad_claims"


def test_an_oversize_token_is_rejected_before_its_kid_is_even_looked_up(jwks_server):
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "k1"}).encode())
    token = f"{header}.{'A' * MAX_TOKEN_BYTES}.sig"
    verifier = TokenVerifier(loginrocket_url=jwks_server.url)

    result = verifier.verify(token)

    assert outcome(result) == "oversize"
    assert jwks_server.fetches == 0


def test_a_large_token_under_the_limit_is_accepted(hs_issuer):
    token = token_for(hs_issuer, user={**ADA, "custom": {"bio": "x" * 11_800}})
    assert 15 * 1024 < len(token) <= MAX_TOKEN_BYTES
    assert outcome(hs_verifier().verify(token)) == "accepted"


def test_a_token_over_16_kb_in_utf8_is_rejected_unparsed_even_with_fewer_characters(jwks_server):
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "k1"}).encode())
    token = f"{header}.{'é' * 9000}.sig"
    assert len(token) <= MAX_TOKEN_BYTES < len(token.encode())
    verifier = TokenVerifier(loginrocket_url=jwks_server.url)

    assert outcome(verifier.verify(token)) == "oversize"
    assert jwks_server.fetches == 0


def test_a_token_with_characters_no_jwt_has_is_rejected_unparsed(jwks_server, rsa_issuer):
    head, payload, signature = token_for(rsa_issuer).split(".")
    verifier = TokenVerifier(loginrocket_url=jwks_server.url)

    assert outcome(verifier.verify(f"{head}.{payload}é.{signature}")) == "malformed"
    assert jwks_server.fetches == 0


# -- header fields that name keys elsewhere are ignored ------------------------------------


@pytest.mark.parametrize("field", ["jwk", "x5c", "jku", "x5u"])
def test_a_token_signed_by_an_attacker_who_names_their_own_key_is_rejected(
    jwks_server, other_jwks_server, rsa_issuer, other_rsa_issuer, field
):
    attacker = other_rsa_issuer
    names_the_attacker_key = {
        "jwk": attacker.jwk(),
        "x5c": attacker.jwk()["x5c"],
        "jku": other_jwks_server.url + "connect/jwks",
        "x5u": other_jwks_server.url + "cert.pem",
    }[field]
    forged = attacker.issue(fresh_claims(sub="usr_mallory"), headers={"kid": "k1", field: names_the_attacker_key})

    assert outcome(rs_verifier(rsa_issuer).verify(forged)) == "bad_signature"
    assert outcome(TokenVerifier(loginrocket_url=jwks_server.url).verify(forged)) == "bad_signature"
    assert other_jwks_server.requests == 0  # neither the jku key set nor the x5u certificate


def test_a_valid_token_with_a_jku_elsewhere_verifies_with_the_configured_keys_only(
    jwks_server, other_jwks_server, rsa_issuer
):
    token = rsa_issuer.issue(fresh_claims(), headers={"jku": other_jwks_server.url + "connect/jwks"})

    assert outcome(TokenVerifier(loginrocket_url=jwks_server.url).verify(token)) == "accepted"
    assert jwks_server.fetches == 1
    assert other_jwks_server.fetches == 0


def test_a_token_naming_a_key_only_the_jku_server_holds_is_unknown(jwks_server, other_jwks_server, other_rsa_issuer):
    token = other_rsa_issuer.issue(fresh_claims(), headers={"jku": other_jwks_server.url + "connect/jwks"})

    assert outcome(TokenVerifier(loginrocket_url=jwks_server.url).verify(token)) == "unknown_kid"
    assert other_jwks_server.fetches == 0


# -- both claim formats make the same objects ---------------------------------------------

ADA_IN_FULL = {**ADA, "name": "Ada Lovelace", "custom": {"team": "engines"}}
ADA_ORGS = [{**ACME, "custom": {"plan": "pro"}}, {**GLOBEX, "selected": True}]


def facts(session: Session) -> dict[str, Any]:
    """What both token formats say about a login, as plain values."""
    user = session.user
    assert user.memberships is not None
    return {
        "session": (session.user_id, session.created_at, session.expires_at),
        "user": (user.id, user.username, user.first_name, user.last_name, user.name, dict(user.custom)),
        "memberships": [
            (m.id, m.user_id, m.org_id, m.permissions, m.selected, dict(m.custom), m.org and m.org.id)
            for m in user.memberships
        ],
        "orgs": [(m.org.name, dict(m.org.custom)) for m in user.memberships if m.org],
        "current": (session.current_membership and session.current_membership.id, session.current_org.id),
    }


def test_current_and_legacy_claims_make_the_same_objects(hs_issuer):
    issued_at = now()
    current = hs_verifier().verify(token_for(hs_issuer, ADA_IN_FULL, ADA_ORGS, issued_at=issued_at))
    legacy = hs_verifier().verify(token_for(hs_issuer, ADA_IN_FULL, ADA_ORGS, issued_at=issued_at, legacy=True))

    assert "uid" in legacy.claims and "sub" not in legacy.claims
    for session in (current, legacy):
        assert isinstance(session, Session)
        assert isinstance(session.user, User)
        assert all(isinstance(m, Membership) and isinstance(m.org, Org) for m in session.user.memberships)
    assert facts(legacy) == facts(current)
    assert facts(current)["current"] == ("mb_ada_globex", "org_globex")
    assert facts(current)["memberships"][0][3] == ("site:admin",)


@pytest.mark.parametrize("legacy", [False, True], ids=["current", "legacy"])
@pytest.mark.parametrize(("orgs", "memberships"), [(None, None), ([], ())], ids=["no membership data", "no orgs"])
def test_membership_data_left_out_differs_from_no_memberships(hs_issuer, legacy, orgs, memberships):
    session = hs_verifier().verify(token_for(hs_issuer, orgs=orgs, legacy=legacy))
    assert session.user.memberships == memberships
    assert session.current_membership is None and session.current_org is None


# -- the verified-token cache ---------------------------------------------------------------


def test_a_second_verify_of_a_token_is_served_from_the_cache(hs_issuer):
    token = token_for(hs_issuer)
    cached, uncached = hs_verifier(), hs_verifier(cache_size=0)

    # Every signature check builds a new Session; the cache hands back the one it kept.
    assert cached.verify(token) is cached.verify(token)
    first = uncached.verify(token)
    assert uncached.verify(token) is not first
    assert uncached.verify(token) == first


def test_a_cached_token_is_served_while_the_key_set_cannot_be_fetched(jwks_server, rsa_issuer):
    verifier = TokenVerifier(loginrocket_url=jwks_server.url)
    token = token_for(rsa_issuer)
    session = verifier.verify(token)
    jwks_server.fail(500)

    assert verifier.verify(token) is session
    assert jwks_server.fetches == 1


def test_a_cached_token_that_grows_older_than_within_is_rejected_not_served(hs_issuer):
    clock = Clock()
    verifier = hs_verifier(within=300, clock=clock)
    token = token_for(hs_issuer, issued_at=int(clock.now))
    session = verifier.verify(token)
    assert verifier.verify(token) is session

    clock.advance(301)

    assert outcome(verifier.verify(token)) == "too_old"


def test_a_cached_token_past_its_exp_is_rejected_as_expired(hs_issuer):
    clock = Clock()
    verifier = hs_verifier(clock=clock)
    token = token_for(hs_issuer, issued_at=int(clock.now), expires_in=60)
    assert outcome(verifier.verify(token)) == "accepted"

    clock.advance(60 + 5 + 1)

    assert outcome(verifier.verify(token)) == "expired"


def test_the_cache_keeps_at_most_cache_size_tokens_dropping_the_least_recently_used(hs_issuer):
    verifier = hs_verifier(cache_size=2)
    a, b, c = (token_for(hs_issuer) for _ in range(3))
    session_a, session_b = verifier.verify(a), verifier.verify(b)
    assert verifier.verify(a) is session_a  # a is now the most recently used

    verifier.verify(c)  # evicts b, not a

    assert verifier.verify(a) is session_a
    assert verifier.verify(b) is not session_b
    assert outcome(verifier.verify(b)) == "accepted"


def test_the_cache_never_grows_past_cache_size(hs_issuer):
    verifier = hs_verifier(cache_size=8)
    for _ in range(50):
        assert outcome(verifier.verify(token_for(hs_issuer))) == "accepted"
    assert len(verifier._cache) == 8


def test_rejected_tokens_are_not_cached(hs_issuer):
    verifier = hs_verifier()
    verifier.verify(token_for(hs_issuer, issued_at=now() - 7200))
    verifier.verify("not.a.token")
    assert len(verifier._cache) == 0


# -- rejections are readable, distinct, and never leak the token ----------------------------


def bad_tokens(hs_issuer: TokenIssuer, rsa_issuer: TokenIssuer) -> dict[str, str]:
    """One token for each reason an HS256 verifier gives (``within=300``)."""
    no_exp = fresh_claims()
    del no_exp["exp"]
    head, payload, _ = token_for(hs_issuer).split(".")
    return {
        "malformed": f"{head}.{payload}",
        "oversize": "x" * (MAX_TOKEN_BYTES + 1),
        "expired": token_for(hs_issuer, issued_at=now() - 3600, expires_in=60),
        "not_yet_valid": token_for(hs_issuer, claims={"nbf": now() + 600}),
        "too_old": token_for(hs_issuer, issued_at=now() - 600),
        "wrong_issuer": token_for(hs_issuer, claims={"iss": "https://evil.example"}),
        "missing_claim": hs_issuer.issue(no_exp),
        "bad_signature": hand_signed({"alg": "HS256"}, fresh_claims(), "another-secret-of-at-least-32-bytes!!"),
        "wrong_algorithm": token_for(rsa_issuer),
        "bad_claims": token_for(hs_issuer, claims={"orgs": "org_acme"}),
    }


def test_every_rejection_has_its_own_reason_and_a_message_without_the_token(hs_issuer, rsa_issuer, caplog):
    verifier = hs_verifier(within=300)
    with caplog.at_level(logging.DEBUG, logger="flask_authrocket"):
        results = {reason: verifier.verify(token) for reason, token in bad_tokens(hs_issuer, rsa_issuer).items()}

    for reason, result in results.items():
        assert isinstance(result, Rejection)
        assert (result.reason, result.unavailable) == (reason, False)
        assert result.message.startswith("The token")
    assert len({result.message for result in results.values()}) == len(results)
    assert "Rejected a token: The token has expired." in caplog.text
    for token in bad_tokens(hs_issuer, rsa_issuer).values():
        assert token not in caplog.text
        assert token.split(".")[-1] not in caplog.text


def test_unknown_kid_and_unavailable_keys_are_reasons_of_their_own(jwks_server, refused_url, rsa_issuer):
    unknown = TokenVerifier(loginrocket_url=jwks_server.url).verify(
        rsa_issuer.issue(fresh_claims(), headers={"kid": "k9"})
    )
    unavailable = TokenVerifier(loginrocket_url=refused_url, http_timeout=1).verify(token_for(rsa_issuer))

    assert (outcome(unknown), unknown.unavailable) == ("unknown_kid", False)
    assert (outcome(unavailable), unavailable.unavailable) == ("unavailable", True)
    assert "k9" in unknown.message


# -- a public key is never a secret, and nothing PyJWT raises escapes (issue 10, item 1) ----------

RSA_1024 = TokenIssuer(private_key=generate_rsa_key(1024), kid="k1024")


@pytest.mark.parametrize("layout", [PublicFormat.SubjectPublicKeyInfo, PublicFormat.PKCS1], ids=["bare spki", "pkcs1"])
def test_an_hs256_token_forged_with_a_short_rsa_public_key_as_secret_is_rejected(layout):
    assert RSA_1024.private_key is not None
    pem = RSA_1024.private_key.public_key().public_bytes(Encoding.PEM, layout).decode()
    # 216 and 251 characters: under the 256 that used to make any key a secret.
    public_key = pem_body(pem) if layout is PublicFormat.SubjectPublicKeyInfo else pem
    forged = hand_signed({"alg": "HS256", "typ": "JWT"}, fresh_claims(sub="usr_mallory"), public_key)

    assert outcome(TokenVerifier(jwt_key=public_key).verify(forged)) == "wrong_algorithm"


def test_an_error_raised_by_the_key_while_verifying_is_a_rejection_not_an_exception(hs_issuer):
    # Before keys refused them, a short PEM became an HS256 "secret" and PyJWT's InvalidKeyError escaped.
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    verifier = hs_verifier()
    verifier.keys = StaticKeySource(SharedSecret(ec_pem))

    result = verifier.verify(token_for(hs_issuer))

    assert isinstance(result, Rejection)
    assert (result.reason, result.unavailable) == ("unusable_key", True)  # the token is not known to be bad
    assert result.message == REJECTION_TEXTS["unusable_key"]


# -- a garbage token is described in plain words (issue 10, item 20) ------------------------------


def signed_segments(head: str, payload: bytes) -> str:
    """A token whose payload segment is ``payload`` as given, correctly HS256-signed: only its content is wrong."""
    signing_input = f"{head}.{b64url(payload)}"
    return signing_input + "." + b64url(hmac.new(HS_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest())


def garbage_tokens(token: str) -> dict[str, str]:
    head, payload, signature = token.split(".")
    return {
        "header not utf-8": f"{b64url(bytes([0xB7, 0xFF, 0x00]))}.{payload}.{signature}",
        "payload not utf-8": signed_segments(head, bytes([0xB7, 0xFF])),
        "header not json": f"{b64url(b'{alg: HS256')}.{payload}.{signature}",
        "payload not json": signed_segments(head, b"[1, 2"),
        "bad padding": f"{head}A.{payload}.{signature}",
        "signature not base64": f"{head}.{payload}.@@@!",
        "too few segments": f"{head}.{payload}",
        "too many segments": f"{token}.{signature}",
    }


def test_a_garbage_token_is_rejected_in_plain_words_never_in_pyjwts(hs_issuer):
    for shape, garbage in garbage_tokens(token_for(hs_issuer)).items():
        result = hs_verifier().verify(garbage)

        assert outcome(result) == "malformed", shape
        assert result.message == REJECTION_TEXTS["malformed"] == "The token is not a well-formed JWT.", shape


def test_a_missing_claim_is_named_in_plain_words(hs_issuer):
    claims = fresh_claims()
    del claims["exp"]
    result = hs_verifier().verify(hs_issuer.issue(claims))
    assert (outcome(result), result.message) == ("missing_claim", "The token lacks the required 'exp' claim.")


# -- legacy tokens as seed 004 lays them out (issue 12, item 2) -----------------------------------


def seed_004_claims(**overrides: Any) -> dict[str, Any]:
    """A legacy login exactly as seed 004 lists it: iat, exp, uid, un, fn, ln, n, cs, m; no iss."""
    return {
        "iat": now(),
        "exp": now() + 3600,
        "uid": "usr_ada",
        "un": "ada",
        "fn": "Ada",
        "ln": "Lovelace",
        "n": "Ada Lovelace",
        "cs": {"team": "engines"},
        "m": [{"p": ["site:admin"], "cs": {"seat": 3}, "oid": "org_acme", "o": "Acme Inc.", "ocs": {"plan": "pro"}}],
        **overrides,
    }


def test_a_legacy_token_laid_out_as_seed_004_is_accepted_without_iss():
    session = hs_verifier().verify(hand_signed({"alg": "HS256", "typ": "JWT"}, seed_004_claims(), HS_SECRET))

    assert outcome(session) == "accepted"
    assert "iss" not in session.claims
    assert (session.user.id, session.user.username, session.user.name) == ("usr_ada", "ada", "Ada Lovelace")
    assert dict(session.user.custom) == {"team": "engines"}
    membership = session.current_membership
    assert membership is not None and membership.permissions == ("site:admin",)
    assert dict(membership.custom) == {"seat": 3}
    assert membership.org is not None and (membership.org.id, membership.org.name) == ("org_acme", "Acme Inc.")
    assert dict(membership.org.custom) == {"plan": "pro"}


@pytest.mark.parametrize(
    ("iss", "expected"),
    [(ISSUER, "accepted"), ("https://evil.example", "wrong_issuer"), (42, "wrong_issuer"), (None, "accepted")],
    ids=["authrocket", "another", "a number", "null, which is absent as for any claim"],
)
def test_a_legacy_token_that_names_an_issuer_must_name_authrocket(iss, expected):
    token = hand_signed({"alg": "HS256"}, seed_004_claims(iss=iss), HS_SECRET)
    assert outcome(hs_verifier().verify(token)) == expected


@pytest.mark.parametrize(
    "claims",
    [
        fresh_claims(),
        {**fresh_claims(), **seed_004_claims()},  # sub and uid: the current layout
        {"iat": now(), "exp": now() + 3600, "email": "ada@example.com"},  # neither
    ],
    ids=["current layout", "both sub and uid", "no user at all"],
)
def test_a_token_that_is_not_in_the_legacy_layout_still_needs_iss(claims):
    claims = {name: value for name, value in claims.items() if name != "iss"}
    result = hs_verifier().verify(hand_signed({"alg": "HS256"}, claims, HS_SECRET))
    assert (outcome(result), result.message) == ("missing_claim", "The token lacks the required 'iss' claim.")


def test_a_legacy_token_takes_its_session_from_tk_and_its_realm_from_aud():
    token = hand_signed({"alg": "HS256"}, seed_004_claims(tk="kss_legacy", aud="rl_legacy"), HS_SECRET)

    session = hs_verifier().verify(token)

    assert (session.id, session.user.realm_id) == ("kss_legacy", "rl_legacy")
    assert session.current_org is not None and session.current_org.realm_id == "rl_legacy"


def test_sid_and_rid_win_over_tk_and_aud():
    claims = seed_004_claims(tk="kss_legacy", aud="rl_legacy", sid="kss_now", rid="rl_now")
    session = hs_verifier().verify(hand_signed({"alg": "HS256"}, claims, HS_SECRET))
    assert (session.id, session.user.realm_id) == ("kss_now", "rl_now")


@pytest.mark.parametrize("aud", [["rl_a", "rl_b"], 42], ids=["a list", "a number"])
def test_an_aud_that_is_not_a_realm_id_is_no_realm_and_no_rejection(aud):
    # PyJWT does not check aud (verify_aud is off): AuthRocket's tokens name no audience of ours.
    session = hs_verifier().verify(hand_signed({"alg": "HS256"}, seed_004_claims(aud=aud), HS_SECRET))
    assert outcome(session) == "accepted"
    assert session.user.realm_id is None


def test_a_tk_of_the_wrong_type_rejects_a_legacy_token_as_a_bad_sid_would():
    token = hand_signed({"alg": "HS256"}, seed_004_claims(tk=42), HS_SECRET)
    assert outcome(hs_verifier().verify(token)) == "bad_claims"


def test_a_legacy_login_in_an_app_gets_its_session_on_the_logout_url(make_app):
    app = make_app(AUTHROCKET_JWT_KEY=TestKeys.default().public_key_pem)
    token = make_token(ADA, [ACME], legacy=True, tk="kss_legacy")
    assert "iss" not in payload_of(token)  # make_token lays legacy tokens out as seed 004 does

    with app.test_request_context("/", headers={"Authorization": f"Bearer {token}"}):
        app.preprocess_request()
        logout_url = g.authrocket.ar_logout_url()

    assert g_session_query(logout_url) == ["kss_legacy"]


def g_session_query(url: str) -> list[str]:
    return parse_qs(urlsplit(url).query).get("session", [])


# -- cosmetic claims of an unexpected type are dropped, not fatal (issue 12, item 3) --------------


@pytest.mark.parametrize(
    ("claims", "read", "expected"),
    [
        ({"ref": 42}, lambda s: s.user.reference, "42"),
        ({"ref": 4.5}, lambda s: s.user.reference, "4.5"),
        ({"ref": True}, lambda s: s.user.reference, None),
        ({"email": ["ada@example.com"]}, lambda s: s.user.email, None),
        ({"given_name": {"first": "Ada"}}, lambda s: s.user.first_name, None),
        ({"family_name": 7}, lambda s: s.user.last_name, "7"),
        ({"name": ["Ada"]}, lambda s: s.user.name, None),
        ({"preferred_username": 1815}, lambda s: s.user.username, "1815"),
        ({"cs": "not an object"}, lambda s: dict(s.user.custom), {}),
        ({"orgs": [{"oid": "org_acme", "name": 42, "ref": ["x"], "cs": [1]}]}, lambda s: s.current_org, None),
    ],
    ids=[
        "ref a number",
        "ref a float",
        "ref a boolean",
        "email a list",
        "given_name an object",
        "family_name a number",
        "name a list",
        "username a number",
        "custom not an object",
        "org name, ref and custom",
    ],
)
def test_a_display_claim_of_an_unexpected_type_is_coerced_or_dropped_with_a_debug_line(
    hs_issuer, caplog, claims, read, expected
):
    token = token_for(hs_issuer, claims=claims)
    with caplog.at_level(logging.DEBUG, logger="flask_authrocket"):
        session = hs_verifier().verify(token)

    assert outcome(session) == "accepted"
    if "orgs" in claims:
        org = read(session)
        assert (org.id, org.name, org.reference, dict(org.custom)) == ("org_acme", "42", None, {})
    else:
        assert read(session) == expected
    name = next(iter(claims))
    assert f"'{name}'" in caplog.text or "'name'" in caplog.text
    assert token not in caplog.text and token.split(".")[1] not in caplog.text


@pytest.mark.parametrize(
    "claims",
    [
        seed_004_claims(un=42, fn=["Ada"], ln={}, n=7, cs="x"),
        seed_004_claims(m=[{"p": ["site:admin"], "oid": "org_acme", "o": 42, "ocs": "x", "cs": []}]),
    ],
    ids=["user's names and custom", "org name and customs"],
)
def test_legacy_display_claims_of_unexpected_types_are_dropped_too(claims):
    session = hs_verifier().verify(hand_signed({"alg": "HS256"}, claims, HS_SECRET))
    assert outcome(session) == "accepted"
    assert session.current_membership is not None
    assert session.current_membership.permissions == ("site:admin",)


@pytest.mark.parametrize(
    "claims",
    [
        {"sid": 42},
        {"rid": ["rl_1"]},
        {"orgs": [{"oid": 42, "perm": ["site:admin"]}]},
        {"orgs": [{"oid": "org_acme", "perm": ["site:admin", 7]}]},
        {"orgs": [{"oid": "org_acme", "mid": 7}]},
        {"iat": "yesterday"},
        {"nbf": [1]},
    ],
    ids=["sid", "rid", "org id", "a permission", "membership id", "iat", "nbf"],
)
def test_claims_that_decide_identity_or_access_still_reject_when_malformed(hs_issuer, claims):
    assert outcome(hs_verifier().verify(token_for(hs_issuer, claims=claims))) in ("bad_claims", "malformed")


# -- within per call (issue 12, item 9) -------------------------------------------------------------


def test_within_can_be_given_per_call_as_the_gems_from_token_within(hs_issuer):
    token = token_for(hs_issuer, issued_at=now() - 400)
    verifier = hs_verifier()

    assert outcome(verifier.verify(token, within=300)) == "too_old"
    assert outcome(verifier.verify(token, within=600)) == "accepted"
    assert outcome(verifier.verify(token)) == "accepted"
    assert verifier.session_from_token(token, within=300) is None
    assert verifier.session_from_token(token, within=600) is not None


def test_a_per_call_within_replaces_the_verifiers_default(hs_issuer):
    token = token_for(hs_issuer, issued_at=now() - 400)
    verifier = hs_verifier(within=300)

    assert outcome(verifier.verify(token)) == "too_old"
    assert outcome(verifier.verify(token, within=600)) == "accepted"
    assert outcome(verifier.verify(token, within=100)) == "too_old"


def test_a_cached_token_is_checked_against_the_per_call_within(hs_issuer):
    clock = Clock()
    verifier = hs_verifier(clock=clock)
    token = token_for(hs_issuer, issued_at=int(clock.now))
    session = verifier.verify(token)
    assert verifier.verify(token, within=300) is session  # served from the cache

    clock.advance(301)

    assert outcome(verifier.verify(token, within=300)) == "too_old"
    assert outcome(verifier.verify(token, within=600)) == "accepted"
    assert outcome(verifier.verify(token)) == "accepted"


def test_a_per_call_within_needs_iat(hs_issuer):
    claims = fresh_claims()
    del claims["iat"]
    token = hs_issuer.issue(claims)
    verifier = hs_verifier()

    assert outcome(verifier.verify(token)) == "accepted"
    assert outcome(verifier.verify(token, within=300)) == "missing_claim"


# -- docs/tokens.md ---------------------------------------------------------------------------------


def test_the_tokens_page_samples_run():
    page = Path(__file__).resolve().parent.parent / "docs" / "tokens.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.DOTALL)
    assert len(blocks) == 2
    for number, block in enumerate(blocks, start=1):
        namespace: dict[str, object] = {"__name__": "docs_sample"}
        exec(compile(block, f"docs/tokens.md, block {number}", "exec"), namespace)
    rejections_section = page.read_text().split("## Rejections")[1]
    assert set(re.findall(r"`([a-z_]+)`", rejections_section)) == set(REJECTION_TEXTS)  # every reason, no other


# -- a first-seen token costs one parse (issue 15) ---------------------------------------------------


def rsa_signed(issuer: TokenIssuer, header: bytes, payload: str | None = None) -> str:
    """A token whose header segment holds ``header`` as given, RS256-signed by ``issuer``: only the header is odd."""
    assert issuer.private_key is not None
    body = b64url(json.dumps(fresh_claims()).encode()) if payload is None else payload
    signing_input = f"{b64url(header)}.{body}"
    signature = issuer.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def pyjwt_readings(call: Callable[[], Any]) -> tuple[Any, list[str]]:
    """``call()``'s result, and each of PyJWS's public readers of a token entered meanwhile, in order.

    PyJWT reads a token's three segments in one of two public methods of ``jwt.PyJWS``:
    ``decode_complete`` (behind ``jwt.decode`` and ``PyJWT.decode``) and
    ``get_unverified_header``. A profile hook (``sys.setprofile``) sees them entered in this
    thread; nothing of PyJWT is replaced.
    """
    readers = {
        jwt.PyJWS.decode_complete.__code__: "decode_complete",
        jwt.PyJWS.get_unverified_header.__code__: "get_unverified_header",
    }
    entered: list[str] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code in readers:
            entered.append(readers[frame.f_code])

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        result = call()
    finally:
        sys.setprofile(previous)
    return result, entered


def test_a_first_seen_token_from_a_key_set_is_parsed_by_pyjwt_once(jwks_server, rsa_issuer):
    # PyJWT's parse checks every character of the three segments in Python: get_unverified_header
    # ran it once for the kid and the decode once more, a third of a first-seen token's cost.
    verifier = TokenVerifier(loginrocket_url=jwks_server.url)
    assert outcome(verifier.verify(rsa_issuer.issue(fresh_claims(sid="kss_warm")))) == "accepted"  # fetches the set
    first_seen = rsa_issuer.issue(fresh_claims(sid="kss_first_seen"))

    result, readings = pyjwt_readings(lambda: verifier.verify(first_seen))

    assert outcome(result) == "accepted"
    assert readings == ["decode_complete"]  # the one decode, with the key its kid chose


def test_pyjwt_readings_sees_a_header_read_and_a_decode(rsa_issuer):
    # The test above counts through pyjwt_readings: were a reading invisible to it, the test would pass for nothing.
    token = rsa_issuer.issue(fresh_claims())

    _, readings = pyjwt_readings(
        lambda: (
            jwt.get_unverified_header(token),
            jwt.PyJWT().decode_complete(token, options={"verify_signature": False}),
        )
    )

    assert readings == ["get_unverified_header", "decode_complete"]


# Odd headers, and the verdict of a key-set verifier when PyJWT's get_unverified_header reads the
# header (None: every supported PyJWT release, on every supported Python, refuses it). Reading the
# first segment alone must keep every verdict: a header of any but the usual shape is left to PyJWT.
ODD_HEADERS: dict[str, tuple[bytes, str | None]] = {
    "an array": (b"[1, 2]", None),
    "a string": (b'"k1"', None),
    "null": (b"null", None),
    "not utf-8": (bytes([0xB7, 0xFF, 0x00]), None),
    "not json": (b"{alg: RS256", None),
    "nested past the recursion limit": (b"[" * 5000 + b"]" * 5000, None),
    # Python 3.13's json reads 4,000 levels where 3.10-3.12 raise RecursionError; then, as "no alg".
    "a deep value beside the kid": (b'{"kid": "k1", "x": ' + b"[" * 4000 + b"]" * 4000 + b"}", "wrong_algorithm"),
    "a number kid": (b'{"alg": "RS256", "kid": 1}', None),
    "a null kid": (b'{"alg": "RS256", "kid": null}', None),
    "a list kid": (b'{"alg": "RS256", "kid": ["k1"]}', None),
    "no kid": (b'{"alg": "RS256"}', "unknown_kid"),
    "an empty kid": (b'{"alg": "RS256", "kid": ""}', "unknown_kid"),
    # Newer PyJWT releases refuse a crit they do not support; 2.10 reads the header and ignores crit.
    "crit naming a claim": (b'{"alg": "RS256", "kid": "k1", "crit": ["exp"], "exp": 1}', "accepted"),
    "an empty crit": (b'{"alg": "RS256", "kid": "k1", "crit": []}', "accepted"),
    "crit beside an unknown kid": (b'{"alg": "RS256", "kid": "k9", "crit": ["zz"]}', "unknown_kid"),
    "b64 false without crit": (b'{"alg": "RS256", "kid": "k1", "b64": false}', "malformed"),
    "b64 true": (b'{"alg": "RS256", "kid": "k1", "b64": true}', "accepted"),
    "a duplicated kid, the last one known": (b'{"alg": "RS256", "kid": "k9", "kid": "k1"}', "accepted"),
    "UTF-16 JSON": (json.dumps({"alg": "RS256", "typ": "JWT", "kid": "k1"}).encode("utf-16"), "accepted"),
    "a UTF-8 byte order mark": (b'\xef\xbb\xbf{"alg": "RS256", "kid": "k1"}', "accepted"),
    "alg none": (b'{"alg": "none", "kid": "k1"}', "wrong_algorithm"),
    "alg HS256": (b'{"alg": "HS256", "kid": "k1"}', "wrong_algorithm"),
    "no alg": (b'{"kid": "k1"}', "wrong_algorithm"),
}


@pytest.mark.parametrize("shape", list(ODD_HEADERS))
def test_an_odd_header_from_a_key_set_is_judged_as_pyjwt_judges_it(jwks_server, rsa_issuer, shape):
    header, read_verdict = ODD_HEADERS[shape]
    token = rsa_signed(rsa_issuer, header)
    expected: tuple[str | None, str | None]
    try:
        jwt.get_unverified_header(token)
    except jwt.DecodeError:
        expected = ("malformed", REJECTION_TEXTS["malformed"])
    except jwt.InvalidTokenError:  # a kid that is not a string, a crit PyJWT does not support
        expected = ("malformed", REJECTION_TEXTS["malformed"])
    except RecursionError:  # PyJWT 2.10 lets it out of its parse; the verifier catches it
        expected = ("malformed", "The token could not be parsed.")
    else:
        expected = (read_verdict, None)
    assert expected[0] is not None, f"this PyJWT reads a header ({shape}) that others refuse: give its verdict"

    result = TokenVerifier(loginrocket_url=jwks_server.url).verify(token)

    assert outcome(result) == expected[0]
    if expected[1] is not None:
        assert isinstance(result, Rejection) and result.message == expected[1]


def test_a_detached_payload_header_from_a_key_set_is_malformed(jwks_server, rsa_issuer):
    # b64 false with crit ["b64"] and the empty payload segment RFC 7797 asks for: PyJWT's decode
    # wants the payload given apart, which a login token never is.
    token = rsa_signed(rsa_issuer, b'{"alg": "RS256", "kid": "k1", "b64": false, "crit": ["b64"]}', payload="")
    result = TokenVerifier(loginrocket_url=jwks_server.url).verify(token)
    assert (outcome(result), result.message) == ("malformed", REJECTION_TEXTS["malformed"])


def test_a_keys_header_is_read_once_for_all_its_tokens_and_forged_headers_cannot_grow_the_memory(
    jwks_server, rsa_issuer
):
    from flask_authrocket import tokens

    verifier = TokenVerifier(loginrocket_url=jwks_server.url)
    first, second = token_for(rsa_issuer), token_for(rsa_issuer, claims={"sid": "ses_second"})
    assert first.split(".")[0] == second.split(".")[0]  # one key, one header segment

    assert outcome(verifier.verify(first)) == outcome(verifier.verify(second)) == "accepted"
    remembered = tokens._HEADERS.peek(first.split(".")[0])
    assert remembered is not None
    assert remembered["kid"] == "k1"
    with pytest.raises(TypeError):
        remembered["kid"] = "k2"  # type: ignore[index]  # read-only: no caller can change another's header

    forged = [rsa_issuer.issue(login_claims(ADA), headers={"kid": f"forged-{n}"}) for n in range(200)]
    for token in forged:
        verifier.verify(token)
    assert len(tokens._HEADERS) <= tokens._HEADERS.size == 64
