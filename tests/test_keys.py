"""Keys without Flask: static_key, key_from_jwk, and JwksClient against a real JWK-set server on 127.0.0.1."""

from __future__ import annotations

import base64
import datetime
import json
import logging
import math
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.x509.oid import NameOID
from helpers import ADA, HS_SECRET, NOT_A_KEY_SET, Clock, outcome, pem_body, token_for, wait_until

from flask_authrocket import ConfigurationError
from flask_authrocket.issuer import TokenIssuer, generate_rsa_key, login_claims
from flask_authrocket.jwks import NEW_KEY_FLOOR, JwksClient
from flask_authrocket.keys import (
    HS256_SECRET_MAX_LENGTH,
    MAX_JWKS_BYTES,
    UnknownKey,
    key_from_jwk,
    short_secret_warning_ignored,
    static_key,
)
from flask_authrocket.testing import JwksTestServer
from flask_authrocket.tokens import TokenVerifier

SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
PKCS1 = serialization.PublicFormat.PKCS1

# -- helpers -------------------------------------------------------------------


def public_numbers(issuer: TokenIssuer) -> Any:
    assert issuer.private_key is not None
    return issuer.private_key.public_key().public_numbers()


def jwk_with_only(issuer: TokenIssuer, *fields: str) -> dict[str, Any]:
    """``issuer``'s JWK keeping ``kid`` and only ``fields`` of the rest."""
    return {name: value for name, value in issuer.jwk().items() if name == "kid" or name in fields}


def certificate_jwk(issuer: TokenIssuer) -> dict[str, Any]:
    """``issuer``'s key as a JWK whose ``x5c[0]`` is a self-signed DER certificate, not a bare key."""
    assert issuer.private_key is not None
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "loginrocket.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(issuer.private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(issuer.private_key, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    return {"kid": issuer.kid, "kty": "RSA", "x5c": [base64.b64encode(der).decode()]}


def verifier_on(server: JwksTestServer, clock: Clock, **client_settings: Any) -> TokenVerifier:
    """A TokenVerifier for ``server``'s LoginRocket whose key set runs on the test's ``clock``.

    TokenVerifier builds its JwksClient on the real monotonic clock; its key source is a
    public attribute, so the test gives it one that it can move through time.
    """
    verifier = TokenVerifier(loginrocket_url=server.url)
    verifier.keys = JwksClient(server.url, clock=clock, **client_settings)
    return verifier


def issued_before_the_fetch(issuer: TokenIssuer, kid: str | None = None) -> str:
    """A live token issued ten minutes ago, before any key-set fetch of the test.

    An unknown kid on such a token is a withdrawn (or forged) key: ``unknown_kid``. On a
    token issued since the last fetch it may be a key LoginRocket published since: see
    the "keys published after a fetch" tests.
    """
    claims = login_claims(ADA, issued_at=int(time.time()) - 600, expires_in=3600)
    return issuer.issue(claims, headers={"kid": kid} if kid else None)


def token_with_kid(issuer: TokenIssuer, kid: str) -> str:
    return issued_before_the_fetch(issuer, kid)


# -- static_key: the configured AUTHROCKET_JWT_KEY -------------------------------------


def test_a_short_key_is_an_hs256_secret():
    key = static_key(HS_SECRET)
    assert key.algorithm == "HS256"
    assert key.key == HS_SECRET.encode()


def test_a_key_of_exactly_256_characters_is_still_a_secret():
    assert static_key("s" * HS256_SECRET_MAX_LENGTH).algorithm == "HS256"


@pytest.mark.parametrize("form", ["pem", "bare base64", "bare base64 in lines", "pem with surrounding blanks"])
def test_a_long_key_is_an_rsa_public_key_in_any_of_its_forms(rsa_issuer, form):
    pem = rsa_issuer.public_key_pem()
    body = pem_body(pem)
    value = {
        "pem": pem,
        "bare base64": body,
        "bare base64 in lines": "\n".join(body[i : i + 64] for i in range(0, len(body), 64)),
        "pem with surrounding blanks": f"\n  {pem}  \n",
    }[form]

    key = static_key(value)

    assert key.algorithm == "RS256"
    assert isinstance(key.key, RSAPublicKey)
    assert key.key.public_numbers() == public_numbers(rsa_issuer)


#: A public key that is not RSA, and long enough (unlike P-256's) to be taken for a public key.
EC_P521_PEM = (
    ec.generate_private_key(ec.SECP521R1())
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("x" * (HS256_SECRET_MAX_LENGTH + 1), "not an RSA public key"),
        ("-----BEGIN PUBLIC KEY-----\n" + "A" * 300 + "\n-----END PUBLIC KEY-----\n", "not an RSA public key"),
        ("ünïcödé" * 50, "not an RSA public key"),
        ("   \n ", "is empty"),
        (EC_P521_PEM, "not an RSA one"),
    ],
    ids=["long nonsense", "corrupt pem", "non-ascii", "blank", "ec key"],
)
def test_an_unusable_key_raises_configuration_error_naming_the_setting(value, says):
    assert len(value) > HS256_SECRET_MAX_LENGTH or not value.strip()

    with pytest.raises(ConfigurationError, match=says) as default_name:
        static_key(value)
    with pytest.raises(ConfigurationError) as custom_name:
        static_key(value, setting="REALM_TWO_JWT_KEY")

    assert str(default_name.value).startswith("AUTHROCKET_JWT_KEY ")
    assert str(custom_name.value).startswith("REALM_TWO_JWT_KEY ")


# -- a public key is never an HS256 secret (issue 10, item 1) --------------------------------

#: A small RSA key: its bare base64 body (216 characters) and its PKCS#1 PEM (251) fit under 256.
RSA_1024 = TokenIssuer(private_key=generate_rsa_key(1024), kid="k1024")
EC_P256 = ec.generate_private_key(ec.SECP256R1())
ED25519 = ed25519.Ed25519PrivateKey.generate()


def public_pem(private_key: Any, layout: serialization.PublicFormat = SPKI) -> str:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM, layout).decode()


def rsa_1024_token() -> str:
    with short_secret_warning_ignored():  # signing with a short key is the test's business, not the verifier's
        return token_for(RSA_1024)


def rsa_1024_forms() -> dict[str, str]:
    """Every way RSA-1024's public key can be pasted, each 256 characters or fewer."""
    assert RSA_1024.private_key is not None
    spki, pkcs1 = public_pem(RSA_1024.private_key), public_pem(RSA_1024.private_key, PKCS1)
    return {"bare spki body": pem_body(spki), "pkcs1 pem": pkcs1, "bare pkcs1 body": pem_body(pkcs1)}


@pytest.mark.parametrize("form", ["bare spki body", "pkcs1 pem", "bare pkcs1 body"])
def test_a_short_rsa_public_key_in_any_form_is_an_rsa_key_not_a_secret(form):
    value = rsa_1024_forms()[form]
    assert len(value.strip()) <= HS256_SECRET_MAX_LENGTH  # the length rule alone made it a secret

    key = static_key(value)

    assert (key.algorithm, key.kind) == ("RS256", "RSA public key")
    assert key.key.public_numbers() == public_numbers(RSA_1024)
    # pytest turns warnings into errors here: PyJWT's key-length warning must not reach us.
    assert outcome(TokenVerifier(jwt_key=value).verify(rsa_1024_token())) == "accepted"


def test_an_rsa_public_key_in_pkcs1_pem_of_any_size_is_an_rsa_key(rsa_issuer):
    assert rsa_issuer.private_key is not None
    key = static_key(public_pem(rsa_issuer.private_key, PKCS1))
    assert key.key.public_numbers() == public_numbers(rsa_issuer)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (public_pem(EC_P256), "EC"),
        (pem_body(public_pem(EC_P256)), "EC"),
        (public_pem(ED25519), "Ed25519"),
        (pem_body(public_pem(ED25519)), "Ed25519"),
        (EC_P521_PEM, "EC"),
    ],
    ids=["ec p-256 pem", "ec p-256 bare body", "ed25519 pem", "ed25519 bare body", "ec p-521 pem"],
)
def test_a_public_key_of_a_kind_authrocket_does_not_sign_with_names_the_setting_and_the_supported_kinds(value, kind):
    with pytest.raises(ConfigurationError) as raised:
        static_key(value)

    message = str(raised.value)
    assert message.startswith("AUTHROCKET_JWT_KEY is ")
    assert f"{kind} public key" in message
    assert "HS256 secret" in message and "RSA public key" in message
    assert pem_body(value) not in message  # a key is not a secret, but the message need not repeat it


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not an RSA public key"),
        ("-----BEGIN something", "not an RSA public key"),
        (
            EC_P256.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
            "private key",
        ),
    ],
    ids=["corrupt short pem", "armour only", "ec private key"],
)
def test_short_pem_armour_is_never_a_secret(value, says):
    assert len(value) <= HS256_SECRET_MAX_LENGTH

    with pytest.raises(ConfigurationError, match=says) as raised:
        static_key(value, setting="REALM_TWO_JWT_KEY")

    assert str(raised.value).startswith("REALM_TWO_JWT_KEY ")


def test_a_secret_that_happens_to_be_base64_is_still_a_secret():
    # Valid base64 that is no DER public key: AuthRocket's own secrets are not base64 at all.
    value = base64.b64encode(secrets.token_bytes(48)).decode()
    assert static_key(value).algorithm == "HS256"


@pytest.mark.parametrize(
    "value", [public_pem(EC_P256), pem_body(public_pem(ED25519))], ids=["ec p-256 pem", "ed25519 bare body"]
)
def test_init_app_refuses_a_public_key_it_cannot_use(make_app, value):
    with pytest.raises(ConfigurationError, match="AUTHROCKET_JWT_KEY"):
        make_app(AUTHROCKET_JWT_KEY=value)


def test_an_app_with_a_short_rsa_key_accepts_its_tokens_and_refuses_hs256_forgeries(make_app):
    body = rsa_1024_forms()["bare spki body"]
    app = make_app(AUTHROCKET_JWT_KEY=body)
    # The public key is public: anyone can HMAC a token with its text.
    forged = TokenIssuer(secret=body).issue(login_claims(ADA))

    genuine = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {rsa_1024_token()}"})
    refused = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {forged}"})

    assert genuine.status_code == 200 and genuine.json["id"] == "usr_ada"
    assert refused.status_code == 401


def test_a_short_secret_is_warned_about_without_showing_it(caplog):
    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        key = static_key("short-secret")

    assert key.algorithm == "HS256"
    assert "AUTHROCKET_JWT_KEY is shorter than 32 bytes" in caplog.text
    assert "short-secret" not in caplog.text


def test_tokens_signed_with_a_short_secret_still_verify_without_a_warning_escaping():
    with short_secret_warning_ignored():  # signing with it is the test's business, not the verifier's
        token = TokenIssuer(secret="short-secret").issue(login_claims(ADA))

    # pytest turns warnings into errors here: PyJWT's key-length warning must not reach us.
    assert outcome(TokenVerifier(jwt_key="short-secret").verify(token)) == "accepted"


def test_a_verification_key_never_shows_its_secret():
    assert HS_SECRET not in repr(static_key(HS_SECRET))
    assert "HS256" in repr(static_key(HS_SECRET))


# -- key_from_jwk: one entry of a key set ----------------------------------------------------


@pytest.mark.parametrize("form", ["as served", "x5c only", "n/e only", "x5c certificate"])
def test_a_jwk_gives_the_issuers_public_key_in_any_of_its_forms(rsa_issuer, form):
    jwk = {
        "as served": rsa_issuer.jwk(),
        "x5c only": jwk_with_only(rsa_issuer, "x5c"),
        "n/e only": jwk_with_only(rsa_issuer, "n", "e"),
        "x5c certificate": certificate_jwk(rsa_issuer),
    }[form]

    key = key_from_jwk(jwk)

    assert (key.kid, key.algorithm) == ("k1", "RS256")
    assert key.key.public_numbers() == public_numbers(rsa_issuer)


def test_a_jwk_naming_another_rsa_algorithm_pins_that_one(rsa_issuer):
    assert key_from_jwk({**rsa_issuer.jwk(), "alg": "RS512"}).algorithm == "RS512"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"kid": None}, "no kid"),
        ({"kid": ""}, "no kid"),
        ({"kty": "EC"}, "not an RSA key"),
        ({"kty": "oct", "k": "c2VjcmV0"}, "not an RSA key"),
        ({"use": "enc"}, "not for signatures"),
        ({"alg": "HS256"}, "names algorithm 'HS256'"),
        ({"alg": "none"}, "names algorithm 'none'"),
        ({"x5c": None, "n": None}, "neither x5c nor n/e"),
        ({"x5c": ["not base64 at all!"]}, "bad base64"),
        ({"x5c": ["AAAA"]}, "neither a public key nor a certificate"),
        ({"x5c": None, "n": "AQ"}, "n must be"),
        ({"alg": ["RS256"]}, "names algorithm"),
    ],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else None,
)
def test_a_jwk_that_cannot_verify_authrocket_tokens_raises_value_error(rsa_issuer, change, says):
    jwk = {name: value for name, value in {**rsa_issuer.jwk(), **change}.items() if value is not None}
    with pytest.raises(ValueError, match=says):
        key_from_jwk(jwk)


# -- JwksClient: what a key set may hold ---------------------------------------------------


@pytest.mark.parametrize("fields", [("x5c",), ("n", "e"), ("x5c", "n", "e")], ids=["x5c", "n/e", "both"])
def test_tokens_verify_with_jwks_served_as_x5c_or_n_e(jwks_server, rsa_issuer, fields):
    jwks_server.serve_jwks(jwk_with_only(rsa_issuer, *fields))
    verifier = TokenVerifier(loginrocket_url=jwks_server.url)

    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"


def test_tokens_verify_with_a_jwk_whose_x5c_is_a_certificate(jwks_server, rsa_issuer):
    jwks_server.serve_jwks(certificate_jwk(rsa_issuer))
    assert outcome(TokenVerifier(loginrocket_url=jwks_server.url).verify(token_for(rsa_issuer))) == "accepted"


def test_unusable_jwks_are_skipped_and_the_others_still_verify(jwks_server, rsa_issuer, other_rsa_issuer):
    jwks_server.serve_jwks(
        {**other_rsa_issuer.jwk(), "kid": "ec", "kty": "EC"},
        {**other_rsa_issuer.jwk(), "kid": "garbage", "x5c": ["!!not base64!!"], "n": None},
        {**other_rsa_issuer.jwk(), "kid": "secret", "alg": "HS256"},
        {"kid": "empty"},
        "not an object",
        rsa_issuer.jwk(),
    )
    verifier = TokenVerifier(loginrocket_url=jwks_server.url)

    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"
    for kid in ("ec", "garbage", "secret", "empty"):
        assert outcome(verifier.verify(token_with_kid(other_rsa_issuer, kid))) == "unknown_kid"
    assert jwks_server.fetches == 1


def test_a_jwk_whose_alg_is_a_list_is_skipped_and_the_others_still_verify(jwks_server, rsa_issuer):
    jwks_server.serve_jwks({**rsa_issuer.jwk(), "kid": "odd", "alg": ["RS256"]}, rsa_issuer.jwk())
    verifier = TokenVerifier(loginrocket_url=jwks_server.url)

    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"


def test_a_jwk_naming_rs512_accepts_only_rs512_tokens(jwks_server, rsa_issuer):
    jwks_server.serve_jwks({**rsa_issuer.jwk(), "alg": "RS512"})
    claims = {"iss": "https://authrocket.com", **login_claims(ADA)}
    rs512 = jwt.encode(claims, rsa_issuer.private_key, algorithm="RS512", headers={"kid": "k1"})
    verifier = TokenVerifier(loginrocket_url=jwks_server.url)

    assert outcome(verifier.verify(rs512)) == "accepted"
    assert outcome(verifier.verify(token_for(rsa_issuer))) == "wrong_algorithm"


def test_the_key_set_is_fetched_from_connect_jwks_at_the_loginrocket_origin(jwks_server):
    client = JwksClient(jwks_server.url + "some/login/page?x=1#top")
    assert client.url == jwks_server.url + "connect/jwks"
    assert client.key_for({"kid": "k1"}).kid == "k1"
    assert jwks_server.fetches == 1


def test_the_verifier_hands_its_key_set_settings_to_the_jwks_client(jwks_server):
    verifier = TokenVerifier(loginrocket_url=jwks_server.url, jwks_ttl=600, jwks_min_interval=10, http_timeout=2)
    assert isinstance(verifier.keys, JwksClient)
    assert (verifier.keys.ttl, verifier.keys.min_interval, verifier.keys.timeout) == (600, 10, 2)


# -- JwksClient: when it fetches ----------------------------------------------------------


def test_fetched_keys_are_trusted_for_the_ttl_then_fetched_again(jwks_server):
    clock = Clock()
    client = JwksClient(jwks_server.url, ttl=600, clock=clock)
    key = client.key_for({"kid": "k1"})

    clock.advance(599)
    assert client.key_for({"kid": "k1"}) is key
    assert jwks_server.fetches == 1

    clock.advance(2)
    # Same key material after the refresh: the same object, so tokens verified with it stay trusted.
    assert client.key_for({"kid": "k1"}) is key
    assert jwks_server.fetches == 2


def test_tokens_verified_after_the_ttl_cause_a_new_fetch(jwks_server, rsa_issuer):
    clock = Clock()
    verifier = verifier_on(jwks_server, clock)
    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"

    clock.advance(3600 + 1)

    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"
    assert jwks_server.fetches == 2


def test_a_token_without_a_kid_is_rejected_without_a_fetch(jwks_server, rsa_issuer):
    claims = {"iss": "https://authrocket.com", **login_claims(ADA)}
    no_kid = jwt.encode(claims, rsa_issuer.private_key, algorithm="RS256")
    verifier = TokenVerifier(loginrocket_url=jwks_server.url)

    assert outcome(verifier.verify(no_kid)) == "unknown_kid"
    assert jwks_server.fetches == 0


def test_an_unknown_kid_right_after_a_fetch_fetches_nothing(jwks_server, rsa_issuer, other_rsa_issuer):
    verifier = verifier_on(jwks_server, Clock())
    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"

    assert outcome(verifier.verify(issued_before_the_fetch(other_rsa_issuer))) == "unknown_kid"
    assert jwks_server.fetches == 1


def test_a_flood_of_unknown_kids_fetches_once_per_min_interval(jwks_server, rsa_issuer, other_rsa_issuer):
    clock = Clock()
    verifier = verifier_on(jwks_server, clock)
    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"

    for expected_fetches in (2, 3):
        clock.advance(30)
        flood = [token_with_kid(other_rsa_issuer, secrets.token_hex(8)) for _ in range(100)]
        assert {outcome(verifier.verify(token)) for token in flood} == {"unknown_kid"}
        assert jwks_server.fetches == expected_fetches
        clock.advance(29)  # still inside the interval: nothing more
        assert outcome(verifier.verify(flood[0])) == "unknown_kid"
        assert jwks_server.fetches == expected_fetches


@pytest.mark.parametrize("min_interval", [30, 0])
def test_sixteen_first_requests_at_once_share_one_fetch(jwks_server, rsa_issuer, min_interval):
    jwks_server.delay = 0.3  # the fetch is still under way when the other fifteen ask
    # 30 s: the fifteen wait for the one fetch however slowly a busy machine serves it.
    verifier = TokenVerifier(loginrocket_url=jwks_server.url, jwks_min_interval=min_interval, http_timeout=30)
    tokens = [token_for(rsa_issuer) for _ in range(16)]
    start_together = threading.Barrier(len(tokens))

    def verify(token: str) -> str:
        start_together.wait(timeout=30)
        return outcome(verifier.verify(token))

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        outcomes = list(pool.map(verify, tokens, timeout=60))

    assert outcomes == ["accepted"] * 16
    assert jwks_server.fetches == 1


def test_requests_holding_a_stale_key_do_not_wait_for_another_requests_refresh(jwks_server, rsa_issuer):
    clock = Clock()
    verifier = verifier_on(jwks_server, clock, timeout=30)  # nothing waits for it: recover() ends the hang
    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"
    jwks_server.hang()
    clock.advance(3600 + 1)

    with ThreadPoolExecutor(max_workers=1) as pool:
        refreshing = pool.submit(verifier.verify, token_for(rsa_issuer))
        wait_until(lambda: jwks_server.fetches == 2)  # that request's refresh is now hanging, until recover()

        assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"
        assert not refreshing.done()

        jwks_server.recover()
        assert outcome(refreshing.result(timeout=5)) == "accepted"  # its refresh failed: stale-if-error


# -- JwksClient: key rotation -----------------------------------------------------------------


def test_a_rotated_in_key_is_picked_up_and_a_rotated_out_key_is_no_longer_trusted(
    jwks_server, rsa_issuer, other_rsa_issuer
):
    clock = Clock()
    verifier = verifier_on(jwks_server, clock)
    old_token = issued_before_the_fetch(rsa_issuer)
    assert outcome(verifier.verify(old_token)) == "accepted"

    # LoginRocket starts signing with k2 and serves both keys.
    jwks_server.keys.append(other_rsa_issuer)
    clock.advance(30)
    assert outcome(verifier.verify(token_for(other_rsa_issuer))) == "accepted"
    assert jwks_server.fetches == 2
    assert outcome(verifier.verify(old_token)) == "accepted"

    # k1 is withdrawn; once the set is refreshed, k1 tokens are done for, cached or not.
    jwks_server.keys.remove(rsa_issuer)
    clock.advance(3600 + 1)
    assert outcome(verifier.verify(old_token)) == "unknown_kid"
    assert outcome(verifier.verify(issued_before_the_fetch(rsa_issuer))) == "unknown_kid"
    assert outcome(verifier.verify(token_for(other_rsa_issuer))) == "accepted"
    assert jwks_server.fetches == 3


def test_a_refresh_caused_by_another_kid_revokes_a_withdrawn_key_at_once(jwks_server, rsa_issuer, other_rsa_issuer):
    clock = Clock()
    verifier = verifier_on(jwks_server, clock)
    old_token = issued_before_the_fetch(rsa_issuer)
    assert outcome(verifier.verify(old_token)) == "accepted"

    jwks_server.keys[:] = [other_rsa_issuer]
    clock.advance(30)
    assert outcome(verifier.verify(token_for(other_rsa_issuer))) == "accepted"  # refetches

    assert outcome(verifier.verify(old_token)) == "unknown_kid"
    assert jwks_server.fetches == 2


def test_a_key_replaced_under_the_same_kid_revokes_tokens_verified_with_the_old_one(jwks_server, rsa_issuer):
    clock = Clock()
    verifier = verifier_on(jwks_server, clock)
    old_token = issued_before_the_fetch(rsa_issuer)
    assert outcome(verifier.verify(old_token)) == "accepted"

    replacement = TokenIssuer.with_new_rsa_key(kid="k1")
    jwks_server.keys[:] = [replacement]
    clock.advance(3600 + 1)

    assert outcome(verifier.verify(token_for(replacement))) == "accepted"
    assert outcome(verifier.verify(old_token)) == "bad_signature"


def test_still_trusted_follows_the_key_set(jwks_server, other_rsa_issuer):
    clock = Clock()
    client = JwksClient(jwks_server.url, clock=clock)
    k1 = client.key_for({"kid": "k1"})
    assert client.still_trusted(k1)

    jwks_server.keys[:] = [other_rsa_issuer]
    clock.advance(3600 + 1)

    assert not client.still_trusted(k1)
    with pytest.raises(UnknownKey):
        client.key_for({"kid": "k1"})


# -- JwksClient: when LoginRocket cannot be reached -------------------------------------------


def test_a_refused_connection_leaves_the_token_unchecked_not_invalid(refused_url, rsa_issuer):
    verifier = TokenVerifier(loginrocket_url=refused_url, http_timeout=30)

    started = time.monotonic()
    result = verifier.verify(token_for(rsa_issuer))

    assert outcome(result) == "unavailable"
    assert result.unavailable is True
    assert time.monotonic() - started < 10  # refused at once: nothing waits for the 30 s timeout


def test_a_server_that_never_answers_is_given_up_after_the_http_timeout(jwks_server, rsa_issuer):
    jwks_server.hang()
    verifier = TokenVerifier(loginrocket_url=jwks_server.url, http_timeout=0.25)

    started = time.monotonic()
    result = verifier.verify(token_for(rsa_issuer))

    assert outcome(result) == "unavailable"
    assert result.unavailable is True
    assert time.monotonic() - started < 10  # a hang bound: the server would hold the fetch for ever
    wait_until(lambda: jwks_server.fetches >= 1, timeout=30)  # the server's own thread counts it, maybe a moment later
    assert jwks_server.fetches == 1


@pytest.mark.parametrize("failure", ["error", "garbage"])
def test_known_keys_keep_verifying_when_a_refresh_fails(jwks_server, rsa_issuer, failure):
    clock = Clock()
    verifier = verifier_on(jwks_server, clock)
    cached = token_for(rsa_issuer)
    assert outcome(verifier.verify(cached)) == "accepted"

    if failure == "error":
        jwks_server.fail(500)
    else:
        jwks_server.serve_body(NOT_A_KEY_SET)
    clock.advance(3600 + 1)

    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"
    assert outcome(verifier.verify(cached)) == "accepted"
    assert jwks_server.fetches == 2  # the refresh was tried, once


def test_an_unknown_kid_while_the_set_cannot_be_fetched_is_unavailable(jwks_server, rsa_issuer, other_rsa_issuer):
    clock = Clock()
    verifier = verifier_on(jwks_server, clock)
    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"

    jwks_server.fail(500)
    clock.advance(30)

    # The set could not be read, so nobody knows whether k2 is in it: not "invalid".
    assert outcome(verifier.verify(token_for(other_rsa_issuer))) == "unavailable"
    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"


def test_a_failing_key_set_is_logged_once_not_per_request_and_its_recovery_too(jwks_server, rsa_issuer, caplog):
    jwks_server.fail(500)
    clock = Clock()
    verifier = verifier_on(jwks_server, clock)
    tokens = [token_for(rsa_issuer) for _ in range(20)]

    with caplog.at_level(logging.INFO, logger="flask_authrocket"):
        for token in tokens:
            assert outcome(verifier.verify(token)) == "unavailable"
            clock.advance(30)  # each request is allowed to try again, and does
        assert jwks_server.fetches == 20
        jwks_server.recover()
        assert outcome(verifier.verify(tokens[0])) == "accepted"

    warnings_logged = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings_logged) == 1
    assert jwks_server.url + "connect/jwks" in warnings_logged[0].getMessage()
    assert "no keys are known yet" in warnings_logged[0].getMessage()
    assert "fetched again" in caplog.records[-1].getMessage()
    assert all(token not in caplog.text for token in tokens)


def test_many_requests_during_an_outage_make_one_fetch_and_one_warning(jwks_server, rsa_issuer, caplog):
    jwks_server.fail(500)
    verifier = TokenVerifier(loginrocket_url=jwks_server.url)

    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        outcomes = {outcome(verifier.verify(token_for(rsa_issuer))) for _ in range(20)}

    assert outcomes == {"unavailable"}
    assert jwks_server.fetches == 1
    assert len(caplog.records) == 1


def test_retry_after_counts_down_to_the_next_allowed_fetch(jwks_server, rsa_issuer):
    jwks_server.fail(500)
    clock = Clock()
    verifier = verifier_on(jwks_server, clock)
    assert verifier.retry_after == 1  # nothing tried yet

    assert outcome(verifier.verify(token_for(rsa_issuer))) == "unavailable"
    assert verifier.retry_after == 30
    clock.advance(10.5)
    assert verifier.retry_after == 20  # whole seconds, rounded up
    assert isinstance(verifier.retry_after, int)
    clock.advance(60)
    assert verifier.retry_after == 1  # never 0: "retry now" would invite a busy loop


def test_a_static_key_is_never_unavailable_so_retry_after_is_one_second():
    assert TokenVerifier(jwt_key=HS_SECRET).retry_after == 1


# -- JwksClient: answers that are not a key set -----------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not a key set</html>",
        b"",
        b"[]",
        b'{"keys": "k1"}',
        b'{"keys": []}',
        b'{"no": "keys"}',
        b'{"keys": [{"kid": "k1", "kty": "EC"}]}',
        b"\xff\xfe not utf-8",
    ],
    ids=["html", "empty", "a list", "keys not a list", "no keys", "no keys list", "only unusable keys", "binary"],
)
def test_an_answer_that_is_not_a_key_set_makes_the_keys_unavailable(jwks_server, rsa_issuer, body):
    jwks_server.serve_body(body)
    result = TokenVerifier(loginrocket_url=jwks_server.url).verify(token_for(rsa_issuer))
    assert outcome(result) == "unavailable"
    assert result.unavailable is True


def test_an_oversize_key_set_is_refused_even_when_it_holds_the_key(jwks_server, rsa_issuer):
    padding = "x" * MAX_JWKS_BYTES
    jwks_server.serve_body(json.dumps({"keys": [rsa_issuer.jwk()], "padding": padding}).encode())
    verifier = TokenVerifier(loginrocket_url=jwks_server.url)

    assert outcome(verifier.verify(token_for(rsa_issuer))) == "unavailable"

    # The same set without the padding is fine: it was the size.
    jwks_server.serve_jwks(rsa_issuer.jwk())
    assert outcome(verifier_on(jwks_server, Clock()).verify(token_for(rsa_issuer))) == "accepted"


def test_deeply_nested_json_from_the_key_set_url_makes_the_keys_unavailable(jwks_server, rsa_issuer):
    depth = 50_000  # about 100 KB: well under MAX_JWKS_BYTES
    jwks_server.serve_body(b'{"keys": ' + b"[" * depth + b"]" * depth + b"}")
    verifier = TokenVerifier(loginrocket_url=jwks_server.url)

    assert outcome(verifier.verify(token_for(rsa_issuer))) == "unavailable"


# -- JwksClient: keys published after a fetch (issue 10, item 2) ------------------------------


def test_a_key_published_just_after_a_fetch_is_fetched_for_a_token_issued_since(
    jwks_server, rsa_issuer, other_rsa_issuer
):
    clock = Clock()
    verifier = verifier_on(jwks_server, clock)
    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"

    jwks_server.keys.append(other_rsa_issuer)  # LoginRocket publishes k2 a moment after our fetch
    clock.advance(NEW_KEY_FLOOR)  # far inside AUTHROCKET_JWKS_MIN_INTERVAL (30 s)

    assert outcome(verifier.verify(token_for(other_rsa_issuer))) == "accepted"
    assert jwks_server.fetches == 2


@pytest.mark.parametrize("leeway", [None, 10])
def test_a_host_two_seconds_fast_accepts_a_fresh_keys_token_within_the_leeway(
    jwks_server, rsa_issuer, other_rsa_issuer, leeway
):
    # This host's clock runs 2 s ahead of LoginRocket's: a token issued just after our fetch
    # carries an iat 2 s before the fetch as this host dates it.
    before = math.floor(time.time())
    clock = Clock()
    verifier = TokenVerifier(loginrocket_url=jwks_server.url, **({} if leeway is None else {"leeway": leeway}))
    verifier.keys = JwksClient(jwks_server.url, clock=clock, leeway=verifier.keys.leeway)
    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"
    jwks_server.keys.append(other_rsa_issuer)  # published a moment after our fetch
    fetched = math.floor(verifier.keys._fetched_wall or before)  # however long that fetch took
    fresh = other_rsa_issuer.issue(login_claims(ADA, issued_at=fetched - 2, expires_in=3600))
    clock.advance(NEW_KEY_FLOOR)

    assert verifier.keys.leeway == (5 if leeway is None else leeway)  # AUTHROCKET_LEEWAY's default, passed on
    assert outcome(verifier.verify(fresh)) == "accepted"  # not unknown_kid, its cookie not cleared
    assert jwks_server.fetches == 2


def test_within_the_floor_a_token_of_a_new_key_is_unavailable_then_accepted(jwks_server, rsa_issuer, other_rsa_issuer):
    clock = Clock()
    verifier = verifier_on(jwks_server, clock)
    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"
    jwks_server.keys.append(other_rsa_issuer)
    new_key_token = token_for(other_rsa_issuer)

    clock.advance(NEW_KEY_FLOOR - 1)
    early = verifier.verify(new_key_token)
    assert outcome(early) == "unavailable"  # cookie kept, 503 on guarded views: not logged out
    assert early.unavailable is True
    assert jwks_server.fetches == 1
    assert verifier.retry_after >= 1

    clock.advance(1)
    assert outcome(verifier.verify(new_key_token)) == "accepted"
    assert jwks_server.fetches == 2


def test_a_new_keys_token_through_the_app_keeps_its_cookie_and_gets_503(
    make_app, jwks_server, rsa_issuer, other_rsa_issuer
):
    app = make_app(LOGINROCKET_URL=jwks_server.url)
    with app.app_context():  # the floor is real time: a clock that stands still keeps both requests within it
        app.extensions["authrocket"].verifier.keys._clock = Clock(time.monotonic())
    client = app.test_client()
    assert client.get("/private", headers={"Authorization": f"Bearer {token_for(rsa_issuer)}"}).status_code == 200
    jwks_server.keys.append(other_rsa_issuer)  # published right after that fetch: within the floor

    client.set_cookie("arToken", token_for(other_rsa_issuer))
    answer = client.get("/private")

    assert answer.status_code == 503
    assert "arToken=;" not in answer.headers.get("Set-Cookie", "")
    assert jwks_server.fetches == 1


def test_a_withdrawn_key_stays_unknown_kid_after_the_floor(jwks_server, rsa_issuer, other_rsa_issuer):
    clock = Clock()
    verifier = verifier_on(jwks_server, clock)
    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"
    withdrawn = issued_before_the_fetch(other_rsa_issuer)  # k2, no longer served when we fetched

    for _ in range(3):
        clock.advance(NEW_KEY_FLOOR)
        assert outcome(verifier.verify(withdrawn)) == "unknown_kid"
    assert jwks_server.fetches == 1  # an old token is no reason to fetch before AUTHROCKET_JWKS_MIN_INTERVAL


@pytest.mark.parametrize("issued", ["now", "in an hour"])
def test_a_flood_of_unknown_kids_claiming_fresh_iats_fetches_once_per_floor(
    jwks_server, rsa_issuer, other_rsa_issuer, issued
):
    clock = Clock()
    verifier = verifier_on(jwks_server, clock)
    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"

    def fresh_flood() -> list[str]:
        # Issued now by the wall clock, which the key set's fetch time is compared with: a slow
        # run must not turn the flood into tokens older than the last fetch.
        issued_at = int(time.time()) + (3600 if issued == "in an hour" else 0)
        claims = login_claims(ADA, issued_at=issued_at, expires_in=7200)
        return [other_rsa_issuer.issue(claims, headers={"kid": secrets.token_hex(8)}) for _ in range(100)]

    for expected_fetches in (1, 2, 3):
        flood = fresh_flood()
        outcomes = {outcome(verifier.verify(token)) for token in flood}
        assert outcomes <= {"unavailable", "unknown_kid", "not_yet_valid"}
        assert "accepted" not in outcomes
        assert jwks_server.fetches == expected_fetches
        clock.advance(NEW_KEY_FLOOR - 0.5)
        assert {outcome(verifier.verify(token)) for token in flood[:10]} <= {"unavailable", "unknown_kid"}
        assert jwks_server.fetches == expected_fetches  # still inside the floor: nothing more
        clock.advance(0.5)


def test_a_request_waiting_on_a_fetch_that_does_not_end_gives_up_at_the_timeout(jwks_server, rsa_issuer):
    verifier = TokenVerifier(loginrocket_url=jwks_server.url, http_timeout=0.25)
    in_flight = verifier.keys._lock  # what a fetch under way holds (the fetch itself is bounded too)

    results: list[Any] = []
    waiting = threading.Thread(target=lambda: results.append(verifier.verify(token_for(rsa_issuer))), daemon=True)

    with in_flight:
        waiting.start()
        waiting.join(timeout=10)  # a hang bound: it ends instead of waiting for the lock, held for ever
        assert not waiting.is_alive()

    assert outcome(results[0]) == "unavailable"
    assert results[0].unavailable is True
    assert jwks_server.fetches == 0
    verifier.keys.timeout = 30  # the live server answers this one, however busy the machine
    assert outcome(verifier.verify(token_for(rsa_issuer))) == "accepted"  # and the next one fetches
