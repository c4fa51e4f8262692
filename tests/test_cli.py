"""`flask authrocket check | decode | token`: real apps, real keys, real servers on 127.0.0.1.

Every command runs through the app's own CLI (``app.test_cli_runner()``), as
``flask --app ... authrocket`` runs it; one test runs the real ``flask``
command in a subprocess. Keys come from a JWK-set server or a development
LoginRocket served on loopback; nothing of the project is mocked.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from click.testing import CliRunner, Result
from devserver import DevApi, serve_dev_api
from flask import Flask
from flask.cli import ScriptInfo
from helpers import ACME, ADA, HS_SECRET, NOT_A_KEY_SET, refused_port, serving_forever, token_for
from redis.backoff import NoBackoff
from redis.retry import Retry
from test_cache import RedisServer

from flask_authrocket import AuthRocket
from flask_authrocket.cli import authrocket
from flask_authrocket.issuer import TokenIssuer, login_claims
from flask_authrocket.models import Session
from flask_authrocket.testing import JwksTestServer

DEV_API_KEY = "ks_dev_0123456789abcdef0123456789abcdef"
ISO_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.fixture(autouse=True)
def _only_loopback(monkeypatch: pytest.MonkeyPatch, refused_url: str) -> None:
    # check fetches LOGINROCKET_URL's key set even beside a static key, and many tests keep the
    # default https://myapp.e2.loginrocket.com/: every request to another host goes to a proxy
    # on loopback where nothing listens, so no test reaches the Internet.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, refused_url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


# A development LoginRocket on loopback -----------------------------------------------------------


def ok(answer: requests.Response) -> requests.Response:
    """``answer``, after checking the development API accepted the call."""
    assert answer.status_code < 400, answer.text
    return answer


@pytest.fixture
def dev(tmp_path: Path, signing_key_pem: bytes) -> Iterator[DevApi]:
    """The development LoginRocket, with a known API key."""
    with serve_dev_api(tmp_path / "dev_instance", signing_key_pem, DEV_LOGINROCKET_API_KEY=DEV_API_KEY) as served:
        yield served


def run(app: Flask, *args: str, input: str | None = None) -> Result:
    """``flask authrocket <args>`` through the app's own CLI."""
    return app.test_cli_runner().invoke(args=["authrocket", *args], input=input)


@pytest.fixture
def dev_app(make_app: Callable[..., Flask], dev: DevApi) -> Flask:
    """An app configured exactly as the development LoginRocket says: keys, API, realm, trusted hosts."""
    return make_app(
        LOGINROCKET_URL=dev.root,
        AUTHROCKET_URL=dev.url,
        AUTHROCKET_API_KEY=DEV_API_KEY,
        AUTHROCKET_REALM="rl_dev",
        AUTHROCKET_LEEWAY=10,
        TRUSTED_HOSTS=["localhost", "127.0.0.1"],
    )


def test_init_app_registers_the_command_group(make_app: Callable[..., Flask]) -> None:
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET)
    assert app.cli.commands["authrocket"] is authrocket
    assert sorted(authrocket.commands) == ["check", "decode", "token"]


# check -----------------------------------------------------------------------------------------


def test_check_with_everything_fine(dev_app: Flask, dev: DevApi) -> None:
    result = run(dev_app, "check")

    assert result.exit_code == 0, result.output
    kid = dev.app.extensions["dev_loginrocket"].issuer.kid
    assert re.search(
        rf"OK    {re.escape(dev.root)}connect/jwks answered in \d+ ms: 1 key \(kid {kid}\)\.", result.output
    )
    assert re.search(r"OK    GET realms/rl_dev answered in \d+ ms: realm rl_dev \(Development realm\)\.", result.output)
    assert "  FAIL  " not in result.output
    assert "TRUSTED_HOSTS are unset" not in result.output
    assert result.output.rstrip().endswith("All is well. (1 note for production.)")


def configuration_lines(output: str) -> dict[str, tuple[str, str]]:
    """The configuration table of ``check``: each key's source and shown value."""
    found = re.findall(r"^  ([A-Z_]+) +(config|environment|default|unset) +(.*)$", output, re.MULTILINE)
    return {key: (source, value) for key, source, value in found}


@contextmanager
def key_server_with_clock(issuer: TokenIssuer, ahead: float = 0, date: str | None = None) -> Iterator[str]:
    """A LoginRocket key set on 127.0.0.1 whose Date header is ``ahead`` seconds ahead of this machine's clock
    (or says ``date``)."""
    body = json.dumps(issuer.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def date_time_string(self, timestamp: float | None = None) -> str:
            # The one Date header send_response writes.
            return date if date is not None else formatdate(time.time() + ahead, usegmt=True)

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving_forever(ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as url:
        yield url


def seconds_about(seconds: float) -> str:
    """A pattern for ``seconds`` give or take one: a Date header has whole seconds, and the
    round trip it is compared with takes a moment, longer on a busy machine."""
    return "(" + "|".join(str(int(seconds) + each) for each in (-1, 0, 1)) + ")"


@pytest.mark.parametrize(
    ("ahead", "status", "said"),
    [
        (0, 0, r"OK    this machine's clock agrees with LoginRocket's"),
        (3, 0, r"-     this machine's clock is \{N\} s behind LoginRocket's, within AUTHROCKET_LEEWAY \(5 s\)\."),
        (120, 1, r"FAIL  this machine's clock is \{N\} s behind LoginRocket's \(its Date header at"),
        (-600, 1, r"FAIL  this machine's clock is \{N\} s ahead of LoginRocket's \(its Date header at"),
    ],
)
def test_check_compares_this_machines_clock_with_the_key_servers_date(
    make_app: Callable[..., Flask], rsa_issuer: TokenIssuer, ahead: float, status: int, said: str
) -> None:
    with key_server_with_clock(rsa_issuer, ahead) as url:
        result = run(make_app(LOGINROCKET_URL=url, SERVER_NAME="app.example"), "check")

    assert result.exit_code == status, result.output
    assert re.search(said.replace(r"\{N\}", seconds_about(abs(ahead))), result.output), result.output
    if status:
        assert "synchronise this machine's clock (NTP" in result.output


@pytest.mark.parametrize(
    "date", ["", "not a date", "Mon, 99 Foo 99999 99:99:99 GMT", "9" * 5000, "Thu, 01 Jan 1970 00:00:00 +9999"]
)
def test_check_says_so_when_the_key_servers_date_is_unusable(
    make_app: Callable[..., Flask], rsa_issuer: TokenIssuer, date: str
) -> None:
    with key_server_with_clock(rsa_issuer, date=date) as url:
        result = run(make_app(LOGINROCKET_URL=url, SERVER_NAME="app.example"), "check")

    assert result.exit_code == 0, result.output
    assert "sent no usable Date header: this machine's clock was not compared with it." in result.output


def test_check_compares_the_clock_in_static_key_mode_too(
    make_app: Callable[..., Flask], rsa_issuer: TokenIssuer
) -> None:
    with key_server_with_clock(rsa_issuer, 300) as url:
        app = make_app(LOGINROCKET_URL=url, AUTHROCKET_JWT_KEY=rsa_issuer.public_key_pem())
        result = run(app, "check")

    assert result.exit_code == 1
    assert re.search(rf"this machine's clock is {seconds_about(300)} s behind LoginRocket's", result.output)


def test_check_shows_every_key_with_its_source_and_masks_secrets(
    make_app: Callable[..., Flask], rsa_issuer: TokenIssuer, monkeypatch: pytest.MonkeyPatch, refused_url: str
) -> None:
    monkeypatch.setenv("AUTHROCKET_API_KEY", DEV_API_KEY)
    monkeypatch.setenv("AUTHROCKET_URL", refused_url + "v2")
    app = make_app(
        AUTHROCKET_JWT_KEY=rsa_issuer.public_key_pem(),
        AUTHROCKET_LEEWAY=30,
        AUTHROCKET_CACHE="redis://:hunter2@127.0.0.1:1/0",
    )

    output = run(app, "check").output
    lines = configuration_lines(output)

    assert lines["LOGINROCKET_URL"] == ("config", "'https://myapp.e2.loginrocket.com/'")
    assert lines["AUTHROCKET_JWT_KEY"] == ("config", "RSA public key (2048 bits)")
    assert lines["AUTHROCKET_URL"] == ("environment", repr(refused_url + "v2"))
    assert lines["AUTHROCKET_API_KEY"] == ("environment", "ks_...cdef")
    assert lines["AUTHROCKET_REALM"] == ("unset", "None")
    assert lines["AUTHROCKET_LEEWAY"] == ("config", "30")
    assert lines["AUTHROCKET_COOKIE_NAME"] == ("default", "'arToken'")
    assert lines["AUTHROCKET_CACHE"] == ("config", "'redis://:***@127.0.0.1:1/0'")
    assert DEV_API_KEY not in output and "hunter2" not in output
    with app.app_context():
        sources = app.extensions["authrocket"].settings.sources
    assert set(lines) == set(sources)  # every key of DEFAULTS and ENVIRONMENT_KEYS is shown
    assert sources["AUTHROCKET_LEEWAY"] == "config" and sources["AUTHROCKET_JWKS_TTL"] == "default"


def test_check_never_prints_a_password_in_a_url(
    make_app: Callable[..., Flask], refused_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "Hunter2Secret"
    monkeypatch.setenv("AUTHROCKET_URL", refused_url + f"v2?api_key={secret}")  # nothing listens there
    monkeypatch.setenv("AUTHROCKET_API_KEY", DEV_API_KEY)
    app = make_app(
        LOGINROCKET_URL=refused_url,
        AUTHROCKET_CACHE=f"redis://default:{secret}@127.0.0.1:1/0?password={secret}",
    )

    result = run(app, "check")

    assert result.exit_code == 1
    lines = configuration_lines(result.output)
    assert lines["AUTHROCKET_URL"] == ("environment", repr(refused_url + "v2?api_key=***"))
    assert lines["AUTHROCKET_CACHE"] == ("config", "'redis://default:***@127.0.0.1:1/0?password=***'")
    assert f"FAIL  {refused_url}v2?api_key=*** is unreachable" in result.output  # the failure names the server ...
    assert secret not in result.output  # ... never a password


def test_check_shows_what_kind_of_hs256_secret_without_showing_it(make_app: Callable[..., Flask]) -> None:
    result = run(make_app(AUTHROCKET_JWT_KEY=HS_SECRET), "check")

    assert f"HS256 secret ({len(HS_SECRET)} chars)" in result.output
    assert HS_SECRET not in result.output
    assert result.exit_code == 0, result.output


def test_check_fails_on_a_weak_hs256_secret(make_app: Callable[..., Flask]) -> None:
    result = run(make_app(AUTHROCKET_JWT_KEY="short-secret"), "check")

    assert result.exit_code == 1
    assert "HS256 secret (12 chars, weak)" in result.output
    assert "FAIL  AUTHROCKET_JWT_KEY is an HS256 secret of 12 bytes" in result.output
    assert "Fix: paste the realm's JWT secret" in result.output
    assert "short-secret" not in result.output
    assert result.output.rstrip().endswith("1 problem found.")


def test_check_with_an_unreachable_loginrocket(make_app: Callable[..., Flask], refused_url: str) -> None:
    result = run(make_app(LOGINROCKET_URL=refused_url), "check")

    assert result.exit_code == 1
    assert f"FAIL  {refused_url}connect/jwks is unreachable: Connection refused." in result.output
    assert "Fix: start the development LoginRocket (python -m flask_authrocket.dev)" in result.output


def test_check_with_a_loginrocket_url_that_serves_no_key_set(
    make_app: Callable[..., Flask], jwks_server: JwksTestServer
) -> None:
    jwks_server.serve_body(NOT_A_KEY_SET)
    result = run(make_app(LOGINROCKET_URL=jwks_server.url), "check")

    assert result.exit_code == 1
    assert "answered something that is not JSON (it starts '<html>not a key set</html>')" in result.output


def test_check_with_an_hs256_loginrocket_and_no_secret(
    make_app: Callable[..., Flask], jwks_server: JwksTestServer
) -> None:
    jwks_server.serve_jwks()  # {"keys": []}, as an HS256 LoginRocket serves
    result = run(make_app(LOGINROCKET_URL=jwks_server.url), "check")

    assert result.exit_code == 1
    assert "serves an empty key set: this LoginRocket signs tokens with HS256" in result.output
    assert "Fix: set AUTHROCKET_JWT_KEY to the realm's JWT secret" in result.output


def test_check_with_a_wrong_api_key(make_app: Callable[..., Flask], dev: DevApi) -> None:
    wrong_key = "ks_wrong_key_00000000000000000000wxyz"
    app = make_app(LOGINROCKET_URL=dev.root, AUTHROCKET_URL=dev.url, AUTHROCKET_API_KEY=wrong_key)

    result = run(app, "check")

    assert result.exit_code == 1
    assert (
        "FAIL  GET realms?max_results=1 answered 403: the API refused AUTHROCKET_API_KEY (ks_...wxyz)" in result.output
    )
    assert "It said: Invalid API key" in result.output
    assert "dev_loginrocket_api_key" in result.output
    assert wrong_key not in result.output


def test_check_with_an_unreachable_api(make_app: Callable[..., Flask], refused_url: str) -> None:
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_URL=refused_url + "v2", AUTHROCKET_API_KEY=DEV_API_KEY)
    result = run(app, "check")

    assert result.exit_code == 1
    assert f"FAIL  {refused_url}v2 is unreachable" in result.output
    assert "could not connect to 127.0.0.1" in result.output


def test_check_with_an_api_url_but_no_key(make_app: Callable[..., Flask]) -> None:
    result = run(make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_URL="https://api-e2.authrocket.com/v2"), "check")

    assert result.exit_code == 1
    assert "FAIL  AUTHROCKET_URL is set but AUTHROCKET_API_KEY is not, so every API call fails." in result.output
    assert "Fix: set AUTHROCKET_API_KEY (Realm -> Integration -> API keys)." in result.output


def test_check_refuses_plain_http_to_another_machine(make_app: Callable[..., Flask]) -> None:
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL="http://myapp.e2.loginrocket.com/")
    result = run(app, "check")

    assert result.exit_code == 1
    assert "FAIL  LOGINROCKET_URL is plain http:// to another machine" in result.output


def test_check_gives_production_advice_without_failing(make_app: Callable[..., Flask]) -> None:
    result = run(make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_COOKIE_SECURE=False), "check")

    assert result.exit_code == 0, result.output
    assert "NOTE  SERVER_NAME and TRUSTED_HOSTS are unset" in result.output
    assert "NOTE  AUTHROCKET_COOKIE_SECURE is False" in result.output
    assert "NOTE  AUTHROCKET_COOKIE_NAME is 'arToken': any subdomain" in result.output  # an https LoginRocket
    assert result.output.rstrip().endswith("All is well. (3 notes for production.)")


def test_check_fails_on_a_static_rsa_key_that_loginrocket_does_not_publish(
    make_app: Callable[..., Flask], rsa_issuer: TokenIssuer, other_jwks_server: JwksTestServer
) -> None:
    # The key of another realm (or one rotated away): LoginRocket signs with k2, the app trusts k1's key.
    app = make_app(AUTHROCKET_JWT_KEY=rsa_issuer.public_key_pem(), LOGINROCKET_URL=other_jwks_server.url)

    result = run(app, "check")

    assert result.exit_code == 1
    assert (
        f"FAIL  AUTHROCKET_JWT_KEY is not among the keys LoginRocket publishes at {other_jwks_server.url}connect/jwks "
        "(kid k2): every token LoginRocket signs will be rejected." in result.output
    )
    assert "Fix: paste the realm's current key from Realm -> Integration, or unset AUTHROCKET_JWT_KEY" in result.output
    assert result.output.rstrip().endswith("1 problem found.")


def test_check_finds_a_static_rsa_key_among_the_keys_loginrocket_publishes(
    make_app: Callable[..., Flask], dev: DevApi
) -> None:
    published = dev.app.extensions["dev_loginrocket"].issuer
    app = make_app(AUTHROCKET_JWT_KEY=published.public_key_pem(), LOGINROCKET_URL=dev.root)

    result = run(app, "check")

    assert result.exit_code == 0, result.output
    assert f"OK    AUTHROCKET_JWT_KEY is LoginRocket's key {published.kid!r} ({dev.root}connect/jwks)." in result.output
    assert "  FAIL  " not in result.output


def test_check_warns_when_an_hs256_secret_meets_a_loginrocket_that_signs_rs256(
    make_app: Callable[..., Flask], jwks_server: JwksTestServer
) -> None:
    result = run(make_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL=jwks_server.url), "check")

    assert result.exit_code == 0, result.output  # a warning, not a problem: the realm may be about to switch
    assert (
        f"WARN  AUTHROCKET_JWT_KEY is an HS256 secret, but LoginRocket publishes RSA keys at "
        f"{jwks_server.url}connect/jwks (kid k1): tokens signed RS256 will be rejected." in result.output
    )
    assert "Fix: unset AUTHROCKET_JWT_KEY so that the app uses LoginRocket's keys" in result.output
    assert HS_SECRET not in result.output
    assert "1 warning" in result.output.splitlines()[-1]


def test_check_is_content_with_an_hs256_secret_when_loginrocket_publishes_no_rsa_key(
    make_app: Callable[..., Flask], jwks_server: JwksTestServer
) -> None:
    jwks_server.serve_jwks()  # {"keys": []}: an HS256 LoginRocket
    result = run(make_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL=jwks_server.url), "check")

    assert result.exit_code == 0, result.output
    assert (
        "-     AUTHROCKET_JWT_KEY is an HS256 secret, and LoginRocket publishes no RSA key: "
        f"{jwks_server.url}connect/jwks serves an empty key set: this LoginRocket signs tokens with HS256"
        in result.output
    )
    assert "WARN" not in result.output


def test_check_with_a_static_key_and_an_unreachable_key_set_says_so_without_failing(
    make_app: Callable[..., Flask], refused_url: str
) -> None:
    result = run(make_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL=refused_url), "check")

    assert result.exit_code == 0, result.output
    assert (
        f"-     could not compare AUTHROCKET_JWT_KEY with LoginRocket's keys: {refused_url}connect/jwks is "
        "unreachable: Connection refused." in result.output
    )


def test_check_names_each_misspelt_setting_with_its_suggestion(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHROCKET_MANAGED_SESSION", "value-never-shown-1")
    monkeypatch.setenv("AUTHROCKET_LEEWAY", "value-never-shown-2")  # a setting, but never read from the environment
    monkeypatch.setenv("LOGINROCKET_PORT", "5001")  # make run's own variable: not a typo
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_COOKIE_SECURED="value-never-shown-3")

    result = run(app, "check")

    assert result.exit_code == 1
    assert (
        "FAIL  AUTHROCKET_COOKIE_SECURED (in the app's config) is not a setting; did you mean "
        "AUTHROCKET_COOKIE_SECURE?" in result.output
    )
    assert (
        "FAIL  AUTHROCKET_MANAGED_SESSION (in the environment) is not a setting; did you mean "
        "AUTHROCKET_MANAGED_SESSIONS?" in result.output
    )
    assert "FAIL  AUTHROCKET_LEEWAY (in the environment) is read from the app's config only" in result.output
    assert "LOGINROCKET_PORT" not in result.output
    assert "value-never-shown" not in result.output
    assert result.output.rstrip().endswith("3 problems found.")


def test_check_fails_when_the_cache_does_not_answer(make_app: Callable[..., Flask]) -> None:
    with refused_port() as port:  # nothing listens there
        # The app's own client, as a user may pass one; without redis-py's retries and their backoff.
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, retry=Retry(NoBackoff(), 0))
        app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_CACHE=client)

        result = run(app, "check")
        client.close()

    assert result.exit_code == 1
    assert "FAIL  AUTHROCKET_CACHE (Redis) failed at write with expiry (SET PX): ConnectionError." in result.output
    assert "Fix: check that Redis runs and that this app can reach it" in result.output


def test_check_never_shows_the_cache_password_when_it_fails(make_app: Callable[..., Flask]) -> None:
    with refused_port() as port:
        url = f"redis://:Hunter2Secret@127.0.0.1:{port}/0"
        result = run(make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_CACHE=url), "check")

    assert result.exit_code == 1
    assert "FAIL  AUTHROCKET_CACHE (Redis) failed at write with expiry" in result.output
    assert "Hunter2Secret" not in result.output


def test_check_probes_a_redis_cache_and_leaves_nothing_behind(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    try:
        server.start()
        result = run(make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_CACHE=server.url), "check")
        left = server.client().keys("*")
    finally:
        server.close()

    assert result.exit_code == 0, result.output
    assert re.search(
        r"OK    AUTHROCKET_CACHE \(Redis\) answered every operation the extension uses in \d+ ms: write with expiry "
        r"\(SET PX\), read \(GET\), one session's keys read together \(MGET\), lock \(SET NX PX\), delete \(DEL\), "
        r"keys in 16 hash slots \(every master of a Cluster\)\.",
        result.output,
    )
    assert left == []  # the probe's keys are deleted


def test_check_probes_the_in_process_cache_too(make_app: Callable[..., Flask]) -> None:
    result = run(make_app(AUTHROCKET_JWT_KEY=HS_SECRET), "check")

    assert re.search(
        r"OK    AUTHROCKET_CACHE \(SimpleCache\) answered every operation the extension uses in \d+ ms", result.output
    )


def test_a_configuration_error_at_app_creation_is_one_clear_line() -> None:
    def create_broken_app() -> Flask:
        app = Flask("broken")
        app.config["AUTHROCKET_JWT_KEY"] = "x" * 300
        AuthRocket(app)
        return app

    result = CliRunner().invoke(authrocket, ["check"], obj=ScriptInfo(create_app=create_broken_app))

    assert result.exit_code == 1
    assert result.output == (
        "Error: The app could not be created: AUTHROCKET_JWT_KEY is longer than 256 characters but is not an "
        "RSA public key; paste the key from Realm -> Integration\n"
    )


def test_the_real_flask_command_runs_check(tmp_path: Path, jwks_server: JwksTestServer) -> None:
    (tmp_path / "cliapp.py").write_text(
        "from flask import Flask\n"
        "from flask_authrocket import AuthRocket\n"
        "def create_app():\n"
        "    app = Flask(__name__)\n"
        f"    app.config.update(LOGINROCKET_URL={jwks_server.url!r}, TRUSTED_HOSTS=['127.0.0.1'])\n"
        "    AuthRocket(app)\n"
        "    return app\n"
    )
    (tmp_path / "brokenapp.py").write_text(
        "from flask import Flask\n"
        "from flask_authrocket import AuthRocket\n"
        "def create_app():\n"
        "    app = Flask(__name__)\n"
        "    app.config['LOGINROCKET_URL'] = 'myapp.e2.loginrocket.com'\n"
        "    AuthRocket(app)\n"
        "    return app\n"
    )

    def flask(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "flask", *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )

    fine = flask("--app", "cliapp", "authrocket", "check")
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert "OK    " + jwks_server.url + "connect/jwks answered in" in fine.stdout
    assert "(kid k1)" in fine.stdout

    broken = flask("--app", "brokenapp", "authrocket", "check")
    assert broken.returncode == 1
    assert broken.stderr.startswith("Error: The app could not be created: LOGINROCKET_URL must be an absolute")
    assert "Traceback" not in broken.stderr


# decode ----------------------------------------------------------------------------------------


@pytest.fixture
def jwks_app(make_app: Callable[..., Flask], jwks_server: JwksTestServer) -> Flask:
    return make_app(LOGINROCKET_URL=jwks_server.url)


def test_decode_a_valid_token(jwks_app: Flask, rsa_issuer: TokenIssuer, jwks_server: JwksTestServer) -> None:
    token = token_for(
        rsa_issuer,
        session_id="kss_42",
        orgs=[
            {
                "id": "org_acme",
                "name": "Acme Inc.",
                "membership_id": "mb_ada_acme",
                "permissions": ["site:admin", "billing"],
                "selected": True,
            },
            {"id": "org_globex", "name": "Globex", "membership_id": "mb_ada_globex", "permissions": []},
        ],
    )

    result = run(jwks_app, "decode", token)

    assert result.exit_code == 0, result.output
    output = result.output
    assert output.startswith(f"VALID  signed with the LoginRocket key 'k1' ({jwks_server.url}connect/jwks)\n")
    header = json.loads(output.split("Header\n", 1)[1].split("Claims\n", 1)[0])
    assert header == {"alg": "RS256", "kid": "k1", "typ": "JWT"}
    claims = json.loads(output.split("Claims\n", 1)[1].split("\n\n", 1)[0])
    assert claims["sub"] == "usr_ada" and claims["sid"] == "kss_42"
    assert re.search(
        rf"Session     kss_42\n  issued    {ISO_TIME} \(\d+ s ago\)\n  expires   {ISO_TIME} \(in 60 min\)\n", output
    )
    assert "User        usr_ada\n  name      Ada Lovelace\n  email     ada@example.com\n  username  ada\n" in output
    assert "  * org_acme (Acme Inc.)  membership mb_ada_acme  permissions: site:admin, billing  [selected]\n" in output
    assert "    org_globex (Globex)  membership mb_ada_globex  permissions: none\n" in output
    assert output.endswith("Current org org_acme (Acme Inc.): selected in the token\n")
    assert "UNVERIFIED" not in output


def test_decode_reads_stdin(jwks_app: Flask, rsa_issuer: TokenIssuer) -> None:
    token = token_for(rsa_issuer)

    for args in (["decode", "-"], ["decode"]):
        result = run(jwks_app, *args, input=f"Bearer {token}\n")
        assert result.exit_code == 0, result.output
        assert result.output.startswith("VALID")
        assert "User        usr_ada" in result.output


def test_decode_without_a_token_is_a_usage_error(jwks_app: Flask) -> None:
    result = run(jwks_app, "decode", input="\n")

    assert result.exit_code == 2
    assert "Error: The token is empty." in result.output


def test_decode_an_expired_token(jwks_app: Flask, rsa_issuer: TokenIssuer) -> None:
    now = int(time.time())
    token = token_for(rsa_issuer, issued_at=now - 3780, expires_in=3600)  # expired 3 min ago

    result = run(jwks_app, "decode", token)

    assert result.exit_code == 1
    exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 180))
    assert result.output.startswith(f"REJECTED  expired 3 min ago (exp {exp}, leeway 5 s)\n          reason: expired\n")
    # The claims are shown, but only as what they are: unverified.
    assert "UNVERIFIED header (read from the token without checking it: do not trust it)" in result.output
    assert "UNVERIFIED claims (read from the token without checking it: do not trust them)" in result.output
    assert '"sub": "usr_ada"' in result.output
    assert "VALID" not in result.output.replace("UNVERIFIED", "")
    assert "Session " not in result.output and "User " not in result.output


def test_decode_a_token_from_another_issuer(jwks_app: Flask, rsa_issuer: TokenIssuer) -> None:
    token = token_for(rsa_issuer, claims={"iss": "https://evil.example"})

    result = run(jwks_app, "decode", token)

    assert result.exit_code == 1
    assert result.output.startswith(
        "REJECTED  wrong issuer: 'https://evil.example' (expected https://authrocket.com)\n"
    )


def test_decode_a_token_with_an_unknown_kid(
    jwks_app: Flask, other_rsa_issuer: TokenIssuer, rsa_issuer: TokenIssuer, jwks_server: JwksTestServer
) -> None:
    result = run(jwks_app, "decode", token_for(other_rsa_issuer))

    assert result.exit_code == 1
    assert result.output.startswith(
        "REJECTED  unknown kid 'k2' (LoginRocket serves: k1)\n          reason: unknown_kid\n"
    )


def test_decode_a_forged_token(jwks_app: Flask, other_rsa_issuer: TokenIssuer, jwks_server: JwksTestServer) -> None:
    forged = other_rsa_issuer.issue(login_claims(ADA), headers={"kid": "k1"})  # claims to be k1's

    result = run(jwks_app, "decode", forged)

    assert result.exit_code == 1
    assert result.output.startswith(
        "REJECTED  bad signature: the token was not signed with the LoginRocket key 'k1' "
        f"({jwks_server.url}connect/jwks)"
    )


def test_decode_a_token_of_another_secret(hs_app: Flask) -> None:
    token = token_for(TokenIssuer(secret="another_realm_secret_0123456789abcdef0123"))

    result = run(hs_app, "decode", token)

    assert result.exit_code == 1
    assert result.output.startswith(
        "REJECTED  bad signature: the token was not signed with AUTHROCKET_JWT_KEY (the app's HS256 secret);"
    )


def test_decode_an_rs256_token_for_an_hs256_app(hs_app: Flask, rsa_issuer: TokenIssuer) -> None:
    result = run(hs_app, "decode", token_for(rsa_issuer))

    assert result.exit_code == 1
    assert result.output.startswith(
        "REJECTED  wrong algorithm: the token says 'RS256' but AUTHROCKET_JWT_KEY (the app's HS256 secret) "
        "verifies HS256 only\n"
    )


def test_decode_a_token_not_valid_yet(hs_app: Flask, hs_issuer: TokenIssuer) -> None:
    now = int(time.time())
    token = token_for(hs_issuer, claims={"nbf": now + 600})

    result = run(hs_app, "decode", token)

    assert result.exit_code == 1
    nbf = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 600))
    assert result.output.startswith(f"REJECTED  not valid until {nbf}, in 10 min (nbf, leeway 5 s)\n")


def test_decode_a_token_issued_in_the_future(hs_app: Flask, hs_issuer: TokenIssuer) -> None:
    token = token_for(hs_issuer, issued_at=int(time.time()) + 300)

    result = run(hs_app, "decode", token)

    assert result.exit_code == 1
    assert re.match(
        rf"REJECTED  issued in the future: iat {ISO_TIME}, in 5 min \(leeway 5 s\); is this machine's clock right\?\n",
        result.output,
    )


def test_decode_a_token_older_than_token_within(make_app: Callable[..., Flask], hs_issuer: TokenIssuer) -> None:
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_TOKEN_WITHIN=3600)
    token = token_for(hs_issuer, issued_at=int(time.time()) - 7500, expires_in=14400)

    result = run(app, "decode", token)

    assert result.exit_code == 1
    assert re.match(
        rf"REJECTED  issued 2 h 5 min ago \(iat {ISO_TIME}\), "
        r"longer ago than AUTHROCKET_TOKEN_WITHIN = 3600 s allows\n",
        result.output,
    )


def test_the_commands_in_the_docs_exist() -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    documented = re.findall(r"flask (?:--app \w+ )?authrocket (\w+)((?: [^\s|)$\\`]+)*)", page)
    assert {name for name, _ in documented} == {"check", "decode", "token"}
    for name, arguments in documented:
        command = authrocket.commands[name]
        command.make_context(name, arguments.split())  # raises for an unknown option or a missing one


def test_decode_a_malformed_token(jwks_app: Flask) -> None:
    result = run(jwks_app, "decode", "not-a-token")

    assert result.exit_code == 1
    assert result.output == "REJECTED  malformed: Not enough segments\n          reason: malformed\n"


#: Characters a claim could use to take over a terminal or reorder what it shows: C0 (ESC, BEL, CR,
#: backspace, NUL), DEL, C1 (CSI, NEL), the bidirectional marks, embeddings, overrides and isolates,
#: the Arabic letter mark, zero-width and BOM, line/paragraph separators, and a tag character.
HOSTILE = (
    "\x1b[2J\x07\r\x08\x00\x7f\x9b31m\x85"
    "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    "\u061c\u200b\ufeff\u2028\u2029\U000e0041"
)


def assert_shown_escaped(output: str) -> None:
    """No hostile character reached the output raw; each is there as its JSON escape."""
    for char in HOSTILE:
        if not char.isprintable():
            assert char not in output, f"{char!r} reached the terminal"
    for escape in ("\\u001b", "\\u0007", "\\u007f", "\\u009b", "\\u0085", "\\u202e", "\\u2066", "\\u2069"):
        assert escape in output
    assert "\\udb40\\udc41" in output  # U+E0041 (a tag character), as JSON writes it


def test_decode_escapes_control_and_bidi_characters_of_unverified_claims(
    jwks_app: Flask, rsa_issuer: TokenIssuer
) -> None:
    token = token_for(
        rsa_issuer,
        user={**ADA, "first_name": "Ada" + HOSTILE},
        claims={"iss": "https://evil.example/" + HOSTILE, "note": HOSTILE},
    )

    result = run(jwks_app, "decode", token)

    assert result.exit_code == 1
    assert result.output.startswith("REJECTED  wrong issuer: 'https://evil.example/")
    assert "UNVERIFIED claims" in result.output
    assert_shown_escaped(result.output)
    claims = json.loads(result.output.split("do not trust them)\n", 1)[1])  # still valid JSON
    assert claims["note"] == HOSTILE


def test_decode_escapes_a_hostile_kid_and_header(jwks_app: Flask, other_rsa_issuer: TokenIssuer) -> None:
    token = other_rsa_issuer.issue(login_claims(ADA), headers={"kid": "k" + HOSTILE})

    result = run(jwks_app, "decode", token)

    assert result.exit_code == 1
    assert result.output.startswith("REJECTED  unknown kid 'k")
    assert_shown_escaped(result.output)


def test_decode_escapes_the_names_in_a_valid_token(hs_app: Flask, hs_issuer: TokenIssuer) -> None:
    # Verified, but the names are whatever the user typed at signup.
    token = token_for(
        hs_issuer,
        user={**ADA, "first_name": "Ada" + HOSTILE, "username": "ada" + HOSTILE},
        orgs=[{**ACME, "name": "Acme" + HOSTILE, "selected": True}],
    )

    result = run(hs_app, "decode", token)

    assert result.exit_code == 0, result.output
    assert_shown_escaped(result.output)
    assert "  name      Ada\\u001b[2J\\u0007\\u000d" in result.output
    assert "Current org org_acme (Acme\\u001b[2J" in result.output


def test_decode_when_the_keys_are_unreachable(
    make_app: Callable[..., Flask], refused_url: str, rsa_issuer: TokenIssuer
) -> None:
    app = make_app(LOGINROCKET_URL=refused_url)

    result = run(app, "decode", token_for(rsa_issuer))

    assert result.exit_code == 1
    assert result.output.startswith(
        f"REJECTED  could not be checked: {refused_url}connect/jwks is unreachable: Connection refused. "
        "The app keeps the cookie and answers 503 on guarded views\n"
        "          reason: unavailable (not known to be bad: it could not be checked)\n"
    )


def test_decode_a_token_whose_session_was_logged_out(make_app: Callable[..., Flask], dev: DevApi) -> None:
    app = make_app(
        LOGINROCKET_URL=dev.root,
        AUTHROCKET_URL=dev.url,
        AUTHROCKET_API_KEY=DEV_API_KEY,
        AUTHROCKET_MANAGED_SESSIONS=True,
    )
    session = ok(dev.call("POST", "sessions", json={"session": {"user_id": "usr_grace"}})).json()
    assert run(app, "decode", session["token"]).exit_code == 0

    ok(dev.call("DELETE", f"sessions/{session['id']}"))
    app = make_app(
        LOGINROCKET_URL=dev.root,
        AUTHROCKET_URL=dev.url,
        AUTHROCKET_API_KEY=DEV_API_KEY,
        AUTHROCKET_MANAGED_SESSIONS=True,
    )  # a fresh app: nothing cached
    result = run(app, "decode", session["token"])

    assert result.exit_code == 1
    assert result.output.startswith(
        "REJECTED  the session was logged out (managed sessions: the API no longer knows it)"
    )


def test_decode_says_a_token_of_another_realm_may_be_another_apps_cookie(hs_app: Flask) -> None:
    other_app = TokenIssuer(secret="the billing app's own secret, 0123456789abcdef")

    result = run(hs_app, "decode", token_for(other_app, realm_id="rl_billing"))

    assert result.exit_code == 1
    second, third = result.output.splitlines()[1:3]
    assert second == "          reason: bad_signature"
    assert third.startswith("          from the login cookie? The token is of realm 'rl_billing'")
    assert "AUTHROCKET_COOKIE_NAME" in third and "'arToken'" in third


def test_decode_blames_no_other_app_for_a_token_of_the_apps_own_realm(make_app: Callable[..., Flask]) -> None:
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_REALM="rl_billing")
    other_key = TokenIssuer(secret="the billing app's own secret, 0123456789abcdef")

    result = run(app, "decode", token_for(other_key, realm_id="rl_billing"))

    assert result.exit_code == 1
    assert "AUTHROCKET_COOKIE_NAME" not in result.output


# token -----------------------------------------------------------------------------------------


def test_token_for_a_user_of_the_development_loginrocket(dev_app: Flask) -> None:
    result = run(dev_app, "token", "--user", "ada@example.com")

    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert result.stdout == token + "\n"  # the token alone, for $(...)
    with dev_app.app_context():
        session = dev_app.extensions["authrocket"].verifier.verify(token)
    assert isinstance(session, Session)
    assert session.user.email == "ada@example.com"
    assert "Token for Ada Lovelace <ada@example.com> (usr_ada), org org_acme (Acme Inc.)" in result.stderr
    assert "The app accepts it." in result.stderr
    # What `curl -H "Authorization: Bearer $(flask authrocket token ...)"` sees.
    answer = dev_app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json == {"id": "usr_ada", "email": "ada@example.com", "org": "org_acme"}


def test_token_with_a_selected_org(dev_app: Flask) -> None:
    result = run(dev_app, "token", "--user", "ada@example.com", "--org", "org_globex")

    assert result.exit_code == 0, result.output
    answer = dev_app.test_client().get("/api/me", headers={"Authorization": f"Bearer {result.stdout.strip()}"})
    assert answer.json == {"id": "usr_ada", "email": "ada@example.com", "org": "org_globex"}
    assert "org org_globex (Globex)" in result.stderr


def test_token_with_an_org_of_a_user_without_a_demo_button(dev_app: Flask, dev: DevApi) -> None:
    user = ok(
        dev.call("POST", "users", json={"user": {"email": "lin@example.com", "password": "correct-horse"}})
    ).json()
    for org in ("org_acme", "org_globex"):
        ok(dev.call("POST", "memberships", json={"membership": {"user_id": user["id"], "org_id": org}}))

    refused = run(dev_app, "token", "--user", "lin@example.com", "--org", "org_globex")
    assert refused.exit_code == 1
    assert (
        "lin@example.com has no demo button on the login page, so selecting an org needs their password"
        in refused.stderr
    )
    assert refused.stdout == ""

    result = run(dev_app, "token", "--user", "lin@example.com", "--org", "org_globex", "--password", "correct-horse")
    assert result.exit_code == 0, result.output
    answer = dev_app.test_client().get("/api/me", headers={"Authorization": f"Bearer {result.stdout.strip()}"})
    assert answer.json == {"id": user["id"], "email": "lin@example.com", "org": "org_globex"}


def test_token_for_an_org_the_user_is_not_in(dev_app: Flask) -> None:
    result = run(dev_app, "token", "--user", "grace@example.com", "--org", "org_globex")

    assert result.exit_code == 1
    assert "grace@example.com is not a member of org_globex; member of: org_acme (Acme Inc.)." in result.stderr
    assert result.stdout == ""


def test_token_for_an_unknown_user(dev_app: Flask) -> None:
    result = run(dev_app, "token", "--user", "nobody@example.com")

    assert result.exit_code == 1
    assert "has no user 'nobody@example.com'. Users there: ada@example.com, grace@example.com." in result.stderr


def test_token_with_a_wrong_api_key(dev_app: Flask, dev: DevApi) -> None:
    result = run(dev_app, "token", "--user", "ada@example.com", "--api-key", "ks_wrong")

    assert result.exit_code == 1
    assert f"The development LoginRocket at {dev.root} refused the API key" in result.stderr


def test_token_refuses_a_loginrocket_that_is_not_on_loopback(make_app: Callable[..., Flask]) -> None:
    app = make_app(AUTHROCKET_API_KEY=DEV_API_KEY)  # LOGINROCKET_URL: https://myapp.e2.loginrocket.com/

    result = run(app, "token", "--user", "ada@example.com")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Refusing to ask myapp.e2.loginrocket.com for a token" in result.stderr
    for url in ("http://10.1.2.3:5001/", "http://localhost.example.com:5001/", "http://[::ffff:8.8.8.8]:5001/"):
        refused = run(app, "token", "--user", "ada@example.com", "--loginrocket-url", url)
        assert refused.exit_code == 1
        assert "only talks to the development LoginRocket on loopback" in refused.stderr


def test_token_refuses_a_loopback_server_that_is_not_a_development_loginrocket(
    jwks_app: Flask, jwks_server: JwksTestServer
) -> None:
    result = run(
        jwks_app, "token", "--user", "ada@example.com", "--loginrocket-url", jwks_server.url, "--api-key", DEV_API_KEY
    )

    assert result.exit_code == 1
    assert f"{jwks_server.url} does not answer like the development LoginRocket" in result.stderr
    assert result.stdout == ""


def test_token_when_nothing_answers(jwks_app: Flask, refused_url: str) -> None:
    result = run(
        jwks_app, "token", "--user", "ada@example.com", "--loginrocket-url", refused_url, "--api-key", DEV_API_KEY
    )

    assert result.exit_code == 1
    assert f"Nothing answers at {refused_url}" in result.stderr
    assert "python -m flask_authrocket.dev" in result.stderr


def test_token_without_an_api_key_is_a_usage_error(make_app: Callable[..., Flask], dev: DevApi) -> None:
    result = run(make_app(LOGINROCKET_URL=dev.root), "token", "--user", "ada@example.com")

    assert result.exit_code == 2
    assert "No API key for the development LoginRocket: pass --api-key" in result.output


def test_token_warns_when_the_app_would_reject_it(make_app: Callable[..., Flask], dev: DevApi) -> None:
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_API_KEY=DEV_API_KEY)

    result = run(app, "token", "--user", "grace@example.com", "--loginrocket-url", dev.root)

    assert result.exit_code == 0, result.output
    assert result.stdout.count(".") == 2  # still the token
    assert "Warning: this app would reject it: wrong algorithm" in result.stderr


def test_token_hints_stay_on_the_reason(make_app: Callable[..., Flask], dev: DevApi, refused_url: str) -> None:
    # The keys are right, but the Core API that confirms sessions cannot be reached (failing closed):
    # asking whether LOGINROCKET_URL is this development LoginRocket's would send the user astray.
    app = make_app(
        LOGINROCKET_URL=dev.root,
        AUTHROCKET_URL=refused_url + "v2",
        AUTHROCKET_API_KEY=DEV_API_KEY,
        AUTHROCKET_MANAGED_SESSIONS=True,
        AUTHROCKET_SESSION_CHECK_FAILURE="closed",
        AUTHROCKET_HTTP_TIMEOUT=10,  # the refused API fails at once; the development LoginRocket must answer
    )

    result = run(app, "token", "--user", "ada@example.com")

    assert result.exit_code == 0, result.output
    assert "Warning: this app would reject it: session unavailable" in result.stderr
    assert "LOGINROCKET_URL" not in result.stderr and "AUTHROCKET_JWT_KEY" not in result.stderr


def test_token_names_the_key_settings_when_the_key_is_the_reason(make_app: Callable[..., Flask], dev: DevApi) -> None:
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_API_KEY=DEV_API_KEY)

    result = run(app, "token", "--user", "grace@example.com", "--loginrocket-url", dev.root)

    assert f"Is the app's LOGINROCKET_URL (or AUTHROCKET_JWT_KEY) this development LoginRocket's ({dev.root})?" in (
        result.stderr
    )
