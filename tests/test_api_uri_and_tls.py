"""AUTHROCKET_URI (the Ruby gem's one-line API settings) and AUTHROCKET_CA_BUNDLE (a proxy's CA), issue 19.

AUTHROCKET_URI is read from the config or the environment, fills the API settings, and is
masked wherever it is shown. AUTHROCKET_CA_BUNDLE is checked against real TLS servers on
127.0.0.1, with certificates from a CA made for the test: key fetches and API calls trust it,
and nothing ever turns certificate checks off.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from devserver import DevApi
from flask import Flask
from helpers import ADA, serving, token_for
from werkzeug.wrappers import Request, Response

from flask_authrocket import ApiUnavailable, AuthRocketClient, ConfigurationError
from flask_authrocket.fetch import parse_api_uri
from flask_authrocket.issuer import TokenIssuer
from flask_authrocket.settings import Settings
from flask_authrocket.tokens import TokenVerifier

KEY = "ks_0123456789abcdef0123"
URI = f"https://{KEY}:rl_abc@api-e2.authrocket.com/v2"


# AUTHROCKET_URI ------------------------------------------------------------------------------------------


def test_the_uri_fills_the_api_settings_from_the_config_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"LOGINROCKET_URL": "https://myapp.e2.loginrocket.com/"}
    from_config = Settings.from_config({**base, "AUTHROCKET_URI": URI}, environ={})
    from_environment = Settings.from_config(base, environ={"AUTHROCKET_URI": URI})

    for settings in (from_config, from_environment):
        assert settings.api_url == "https://api-e2.authrocket.com/v2"
        assert (settings.api_key, settings.realm, settings.service) == (KEY, "rl_abc", None)
    assert from_environment.sources["AUTHROCKET_URI"] == "environment"


def test_the_uri_may_carry_a_service_or_the_jwt_key_as_the_gem_reads_them() -> None:
    settings = Settings.from_config(
        {"AUTHROCKET_URI": "https://svc_mobile:jsk_0123456789abcdef0123456789abcdef@api-e2.authrocket.com/v2/"},
        environ={},
    )

    assert (settings.service, settings.jwt_key) == ("svc_mobile", "jsk_0123456789abcdef0123456789abcdef")
    assert settings.api_url == "https://api-e2.authrocket.com/v2"


def test_a_part_also_set_on_its_own_must_agree() -> None:
    agreeing = Settings.from_config(
        {"AUTHROCKET_URI": URI, "AUTHROCKET_REALM": "rl_abc"}, environ={"LOGINROCKET_URL": "https://x.example/"}
    )
    assert agreeing.realm == "rl_abc"
    with pytest.raises(
        ConfigurationError, match="AUTHROCKET_URI and AUTHROCKET_API_KEY are both set and disagree"
    ) as error:
        Settings.from_config(
            {"AUTHROCKET_URI": URI, "AUTHROCKET_API_KEY": "ks_other"}, environ={"LOGINROCKET_URL": "https://x.example/"}
        )
    assert KEY not in str(error.value) and "ks_other" not in str(error.value)


@pytest.mark.parametrize(
    "uri",
    [
        f"https://{KEY}:wat_{KEY}@api-e2.authrocket.com/v2",  # a part with no known prefix
        f"https://{KEY}:{KEY}@api-e2.authrocket.com/v2",  # two API keys
        "https://api-e2.authrocket.com/v2",  # no credentials at all
        f"ftp://{KEY}@api-e2.authrocket.com/v2",
        f"https://{KEY}@api-e2.authrocket.com\\@evil.example/v2",  # parsers disagree on the host
        f"https://{KEY}@api-e2.authrocket.com/v2 trailing",
        f"https://{KEY}@api-e2.authrocket.com:99999/v2",
        f"https://{KEY}@/v2",
        "not a url",
    ],
    ids=["unknown-part", "two-keys", "no-credentials", "ftp", "backslash", "space", "port", "no-host", "words"],
)
def test_an_unusable_uri_is_refused_naming_the_setting_never_the_key(uri: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^AUTHROCKET_URI ") as error:
        Settings.from_config({"AUTHROCKET_URI": uri, "LOGINROCKET_URL": "https://x.example/"}, environ={})
    assert KEY not in str(error.value)


def test_the_uri_is_masked_wherever_it_is_shown() -> None:
    settings = Settings.from_config({"AUTHROCKET_URI": URI, "LOGINROCKET_URL": "https://x.example/"}, environ={})

    assert settings.shown("AUTHROCKET_URI") == "'https://ks_...0123:rl_abc@api-e2.authrocket.com/v2'"
    assert KEY not in repr(settings) and KEY not in repr(parse_api_uri(URI))
    client = AuthRocketClient(url=settings.api_url, api_key=settings.api_key, realm=settings.realm)
    assert KEY not in repr(client)


def test_the_client_and_the_check_command_read_the_uri_of_the_environment(
    dev: DevApi, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    host = dev.url.removeprefix("http://")
    monkeypatch.setenv("AUTHROCKET_URI", f"http://{dev.api_key}:rl_dev@{host}")

    with AuthRocketClient() as client:
        assert (client.url, client.realm) == (dev.url, "rl_dev")
        assert client.users.find("usr_ada").email == "ada@example.com"
        assert dev.api_key not in repr(client)

    app = make_app(LOGINROCKET_URL=dev.root, AUTHROCKET_MANAGED_SESSIONS=True)  # the URI is enough for them
    result = app.test_cli_runner().invoke(args=["authrocket", "check"])
    assert "AUTHROCKET_URI" in result.output
    assert dev.api_key not in result.output
    assert f"http://ks_...{dev.api_key[-4:]}:" in result.output  # the key masked; the rest as check shows URLs


def test_the_client_refuses_an_environment_whose_uri_and_key_disagree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHROCKET_URI", URI)
    monkeypatch.setenv("AUTHROCKET_API_KEY", "ks_someone_else_entirely")
    with pytest.raises(ConfigurationError, match="AUTHROCKET_URI and AUTHROCKET_API_KEY are both set and disagree"):
        AuthRocketClient()
    monkeypatch.setenv("AUTHROCKET_URI", "https://nope@api-e2.authrocket.com/v2")
    with pytest.raises(ConfigurationError, match=r"^AUTHROCKET_URI holds user info"):
        AuthRocketClient()


# AUTHROCKET_CA_BUNDLE -------------------------------------------------------------------------------------


class MadeUpCa:
    """A certificate authority made for one test, and a server certificate it signed for 127.0.0.1."""

    def __init__(self, folder: Path, name: str = "Test CA") -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.bundle = folder / f"{name.replace(' ', '-')}.pem"
        self.bundle.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        self.server_files = self._server_certificate(folder, now)

    def _server_certificate(self, folder: Path, now: datetime.datetime) -> tuple[str, str]:
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        cert_file, key_file = folder / "server.pem", folder / "server.key"
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return str(cert_file), str(key_file)


def loginrocket_and_api(issuer: TokenIssuer) -> Any:
    """A WSGI app serving ``issuer``'s key set at /connect/jwks and a user record at /v2/users/<id>."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        path = Request(environ).path
        body = issuer.jwks() if path == "/connect/jwks" else {"object": "user", "id": path.rsplit("/", 1)[-1]}
        return Response(json.dumps(body), content_type="application/json")(environ, start_response)

    return app


@pytest.fixture
def ca(tmp_path: Path) -> MadeUpCa:
    return MadeUpCa(tmp_path)


def test_api_calls_trust_the_ca_bundle_and_nothing_else(ca: MadeUpCa, rsa_issuer: TokenIssuer, tmp_path: Path) -> None:
    with serving(loginrocket_and_api(rsa_issuer), ssl_context=ca.server_files) as root:
        untrusting = AuthRocketClient(url=root + "v2", api_key="ks_a", retries=0, timeout=10)
        with pytest.raises(ApiUnavailable):
            untrusting.users.find("usr_1")  # a CA nobody told the client about

        trusting = AuthRocketClient(url=root + "v2", api_key="ks_a", retries=0, timeout=10, ca_bundle=str(ca.bundle))
        assert trusting.users.find("usr_1").id == "usr_1"

        with requests.Session() as careless:
            careless.verify = False  # a session that turned checks off: they stay on
            lax = AuthRocketClient(url=root + "v2", api_key="ks_a", retries=0, timeout=10, session=careless)
            with pytest.raises(ApiUnavailable):
                lax.users.find("usr_1")


def test_the_ca_bundle_wins_over_requests_ca_bundle_in_the_environment(
    ca: MadeUpCa, rsa_issuer: TokenIssuer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(MadeUpCa(elsewhere, "Other CA").bundle))
    with serving(loginrocket_and_api(rsa_issuer), ssl_context=ca.server_files) as root:
        client = AuthRocketClient(url=root + "v2", api_key="ks_a", retries=0, timeout=10, ca_bundle=str(ca.bundle))
        assert client.users.find("usr_1").id == "usr_1"


def test_key_fetches_trust_the_ca_bundle(ca: MadeUpCa, rsa_issuer: TokenIssuer) -> None:
    token = token_for(rsa_issuer, ADA)
    with serving(loginrocket_and_api(rsa_issuer), ssl_context=ca.server_files) as root:
        assert TokenVerifier(loginrocket_url=root, http_timeout=10).verify(token).reason == "unavailable"  # type: ignore[union-attr]
        trusting = TokenVerifier(loginrocket_url=root, http_timeout=10, ca_bundle=str(ca.bundle))
        assert trusting.session_from_token(token) is not None


def test_an_app_with_a_ca_bundle_logs_users_in_through_the_proxys_ca(
    ca: MadeUpCa, rsa_issuer: TokenIssuer, make_app: Callable[..., Flask]
) -> None:
    with serving(loginrocket_and_api(rsa_issuer), ssl_context=ca.server_files) as root:
        app = make_app(LOGINROCKET_URL=root, AUTHROCKET_CA_BUNDLE=str(ca.bundle), AUTHROCKET_HTTP_TIMEOUT=10)
        answer = app.test_client().get("/private", headers={"Authorization": f"Bearer {token_for(rsa_issuer)}"})
        assert (answer.status_code, answer.text) == (200, "private for usr_ada")
        with app.app_context():
            assert app.extensions["authrocket"].settings.ca_bundle == str(ca.bundle)


@pytest.mark.parametrize("kind", ["missing", "folder", "not-pem", "number"])
def test_an_unusable_ca_bundle_is_refused_at_init_app(
    kind: str, tmp_path: Path, make_app: Callable[..., Flask]
) -> None:
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    value: Any = {
        "missing": str(tmp_path / "nope.pem"),
        "folder": str(tmp_path),
        "not-pem": str(not_pem),
        "number": 42,
    }[kind]
    with pytest.raises(ConfigurationError, match=r"^AUTHROCKET_CA_BUNDLE "):
        make_app(AUTHROCKET_CA_BUNDLE=value)
    with pytest.raises(ConfigurationError, match=r"^AUTHROCKET_CA_BUNDLE "):
        AuthRocketClient(url="https://api-e2.authrocket.com/v2", api_key="ks_a", ca_bundle=str(value))


def test_a_client_given_every_setting_never_reads_the_environments_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHROCKET_URI", "https://nope@api-e2.authrocket.com/v2")  # unusable, and not needed

    client = AuthRocketClient(url="https://api-e2.authrocket.com/v2", api_key=KEY, realm="rl_a", service="svc_a")

    assert (client.realm, client.service) == ("rl_a", "svc_a")
