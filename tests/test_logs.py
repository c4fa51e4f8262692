"""No login token and no secret in a log line: the access-log filter under real servers, and the extension's own logs.

``flask_authrocket.logs.RedactTokens`` runs in a real gunicorn (configured with
the very ``gunicorn.conf.py`` that docs/deployment.md shows) and behind a real
Werkzeug server, each on a loopback port, each sent a real login token in
``?token=`` and ``Authorization: Bearer``. The extension's own log lines are
read at DEBUG while its request hook turns down bad tokens of every kind.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from gunicorn.glogging import SafeAtoms
from helpers import HS_SECRET, serving, token_for, wait_until

from flask_authrocket import ConfigurationError
from flask_authrocket.issuer import TokenIssuer
from flask_authrocket.logs import RedactTokens, redact_tokens, redact_url
from flask_authrocket.testing import JwksTestServer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def a_record(msg: str, *args: object) -> logging.LogRecord:
    """A record as ``logger.info(msg, *args)`` makes it (one mapping argument becomes ``record.args`` itself)."""
    return logging.LogRecord("access", logging.INFO, __file__, 1, msg, args, None)


# The filter, on the records the two servers make --------------------------------------------------


def test_token_values_are_redacted_and_everything_else_is_kept(hs_issuer: TokenIssuer) -> None:
    token = token_for(hs_issuer)
    line = f'127.0.0.1 - - "GET /private?keep=yes&token={token}&account=org_acme HTTP/1.1" 302 -'

    redacted = redact_tokens(line)

    assert token not in redacted
    assert "GET /private?keep=yes&token=[redacted]&account=org_acme HTTP/1.1" in redacted
    assert redact_tokens(f"token={token}") == "token=[redacted]"  # gunicorn's %(q)s: the query string alone
    assert redact_tokens(f"Authorization: Bearer {token}") == "Authorization: Bearer [redacted]"
    assert redact_tokens(f"authorization: bearer  {token}") == "authorization: bearer [redacted]"
    nested = f"/login?redirect_uri=http%3A%2F%2Fapp%2F%3Ftoken%3D{token}%26keep%3D1"
    assert redact_tokens(nested) == "/login?redirect_uri=http%3A%2F%2Fapp%2F%3Ftoken%3D[redacted]%26keep%3D1"
    # Other parameters that merely end in "token" are not login tokens, and are left as they are.
    assert redact_tokens("/reset?csrf_token=abc&session=kss_1") == "/reset?csrf_token=abc&session=kss_1"


def test_the_filter_redacts_werkzeug_style_tuple_arguments(hs_issuer: TokenIssuer) -> None:
    token = token_for(hs_issuer)
    record = a_record('%s - - [%s] "%s" %s %s', "127.0.0.1", "now", f"GET /?token={token} HTTP/1.1", "302", 7)

    assert RedactTokens().filter(record) is True

    assert record.getMessage() == '127.0.0.1 - - [now] "GET /?token=[redacted] HTTP/1.1" 302 7'


def test_the_filter_redacts_gunicorn_atoms_and_keeps_their_class(hs_issuer: TokenIssuer) -> None:
    token = token_for(hs_issuer)
    atoms = SafeAtoms(
        {"r": f"GET /?token={token} HTTP/1.1", "q": f"token={token}", "{authorization}i": f"Bearer {token}"}
    )
    record = a_record('"%(r)s" %(q)s %({Authorization}i)s %({x-missing}i)s %(s)s', atoms)

    assert RedactTokens().filter(record) is True

    assert record.getMessage() == '"GET /?token=[redacted] HTTP/1.1" token=[redacted] Bearer [redacted] - -'
    assert type(record.args) is SafeAtoms
    assert atoms["q"] == f"token={token}"  # the caller's atoms are not changed behind its back


def test_the_filter_redacts_the_message_itself(hs_issuer: TokenIssuer) -> None:
    token = token_for(hs_issuer)
    record = a_record(f"callback for /?token={token}")

    RedactTokens().filter(record)

    assert record.getMessage() == "callback for /?token=[redacted]"


# gunicorn, configured as docs/deployment.md says -------------------------------------------------


def gunicorn_conf_from_the_docs() -> str:
    """The ``gunicorn.conf.py`` sample of docs/deployment.md, exactly as a reader copies it."""
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "deployment.md").read_text(), re.DOTALL)
    (conf,) = [block for block in blocks if block.startswith("# gunicorn.conf.py")]
    return conf


APP_MODULE = f"""
from flask import Flask
from flask_authrocket import AuthRocket, require_login

app = Flask(__name__)
app.config.update(AUTHROCKET_JWT_KEY={HS_SECRET!r}, LOGINROCKET_URL="https://myapp.e2.loginrocket.com/")
AuthRocket(app)


@app.get("/private")
@require_login
def private():
    return "private"
"""


@pytest.fixture
def gunicorn_with_the_docs_config(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """gunicorn on a loopback port, one sync worker, the docs' config; its URL and its access log file."""
    (tmp_path / "gunicorn.conf.py").write_text(gunicorn_conf_from_the_docs())
    (tmp_path / "served.py").write_text(APP_MODULE)
    access_log = tmp_path / "access.log"
    error_log = tmp_path / "error.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(tmp_path / "gunicorn.conf.py"),
            "--chdir",
            str(tmp_path),
            "-b",
            "127.0.0.1:0",  # a free port, named in its log
            "-w",
            "1",
            "--access-logfile",
            str(access_log),
            "--access-logformat",
            '"%(r)s" %(s)s q=%(q)s auth=%({authorization}i)s',
            "--error-logfile",
            str(error_log),
            "served:app",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 30
        while not (listening := re.search(r"Listening at: (http://127\.0\.0\.1:[1-9][0-9]*)", read(error_log))):
            assert server.poll() is None, "gunicorn exited:\n" + read(error_log)
            assert time.monotonic() < deadline, "gunicorn did not start:\n" + read(error_log)
            time.sleep(0.05)
        url = listening.group(1) + "/"
        # The arbiter listens before its worker boots; the first request waits until the worker answers.
        requests.get(url + "up", timeout=30)
        yield url, access_log
    finally:
        server.terminate()
        server.wait(30)


def read(path: Path) -> str:
    """The text of ``path``, or "" while nobody wrote it."""
    return path.read_text() if path.exists() else ""


def test_gunicorn_access_log_has_no_token(
    gunicorn_with_the_docs_config: tuple[str, Path], hs_issuer: TokenIssuer
) -> None:
    url, access_log = gunicorn_with_the_docs_config
    token = token_for(hs_issuer)

    back_from_loginrocket = requests.get(url + f"private?token={token}&keep=yes", allow_redirects=False, timeout=10)
    api_call = requests.get(url + "private", headers={"Authorization": f"Bearer {token}"}, timeout=10)

    assert back_from_loginrocket.status_code == 302  # logged in: to the URL without the token
    assert api_call.text == "private"
    # gunicorn writes the line just after it answers: wait for it, then read.
    wait_until(lambda: "GET /private HTTP/1.1" in access_log.read_text(), timeout=10)
    logged = access_log.read_text()
    assert token not in logged
    assert '"GET /private?token=[redacted]&keep=yes HTTP/1.1" 302 q=token=[redacted]&keep=yes' in logged
    assert '"GET /private HTTP/1.1" 200 q= auth=Bearer [redacted]' in logged


# Werkzeug's server and its "werkzeug" logger ------------------------------------------------------


@pytest.fixture
def werkzeug_logger_redacted() -> Iterator[None]:
    """The ``werkzeug`` logger with the filter, as docs/deployment.md wires it (removed afterwards)."""
    redact = RedactTokens()
    logger = logging.getLogger("werkzeug")
    logger.addFilter(redact)
    try:
        yield
    finally:
        logger.removeFilter(redact)


@pytest.mark.usefixtures("werkzeug_logger_redacted")
def test_werkzeug_request_log_has_no_token(
    make_app: Callable[..., Flask], hs_issuer: TokenIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    token = token_for(hs_issuer)
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET)
    caplog.set_level(logging.INFO, logger="werkzeug")

    with serving(app) as url:
        answer = requests.get(url + f"private?token={token}&keep=yes", allow_redirects=False, timeout=10)

    assert answer.status_code == 302
    # Werkzeug colours the request line (ANSI escapes) by status.
    lines = [
        re.sub(r"\x1b\[[0-9;]*m", "", record.getMessage()) for record in caplog.records if record.name == "werkzeug"
    ]
    assert any('"GET /private?token=[redacted]&keep=yes HTTP/1.1" 302' in line for line in lines), lines
    assert token not in caplog.text


# The extension's own log lines ---------------------------------------------------------------------


def test_the_extensions_own_debug_lines_carry_no_token(
    make_app: Callable[..., Flask],
    jwks_server: JwksTestServer,
    rsa_issuer: TokenIssuer,
    other_rsa_issuer: TokenIssuer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(**jwks_server.config(), AUTHROCKET_JWKS_MIN_INTERVAL=0)
    caplog.set_level(logging.DEBUG, logger="flask_authrocket")
    bad_tokens = {
        "forged": token_for(TokenIssuer.with_new_rsa_key(kid="k1")),
        "unknown kid": token_for(other_rsa_issuer),
        "expired": token_for(rsa_issuer, issued_at=int(time.time()) - 7200),
        "not a JWT": "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2lnbmF0dXJl",
        "garbage": "Zm9vYmFyYmF6.YmFycXV4cXV4.YmF6YmF6cXV4",
    }
    client = app.test_client()
    for token in bad_tokens.values():
        client.get(f"/private?token={token}")
        client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        client.set_cookie("arToken", token)
        client.get("/private")
    jwks_server.fail(503)
    late = token_for(TokenIssuer.with_new_rsa_key(kid="k8"))
    client.get("/api/me", headers={"Authorization": f"Bearer {late}"})

    debug_lines = [record for record in caplog.records if record.name == "flask_authrocket"]
    assert any(record.levelno == logging.DEBUG for record in debug_lines)  # the rejections were logged ...
    assert any(record.levelno == logging.WARNING for record in debug_lines)  # ... and the failed fetch
    for token in [*bad_tokens.values(), late]:
        for part in token.split("."):
            assert part not in caplog.text  # ... without any part of any token


# Secrets in URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("redis://default:hunter2@cache:6379/0", "redis://default:***@cache:6379/0"),
        ("redis://cache:6379/0?password=hunter2&db=1", "redis://cache:6379/0?password=***&db=1"),
        ("rediss://cache/0?ssl_cert_reqs=none&Password=hunter2", "rediss://cache/0?ssl_cert_reqs=none&Password=***"),
        ("https://hunter2@myapp.e2.loginrocket.com/", "https://***@myapp.e2.loginrocket.com/"),
        ("redis://:hun@ter2@cache/0", "redis://:***@cache/0"),
        ("https://api-e2.authrocket.com/v2?api_key=hunter2", "https://api-e2.authrocket.com/v2?api_key=***"),
        ("https://myapp.e2.loginrocket.com/", "https://myapp.e2.loginrocket.com/"),
        ("could not connect to ada:hunter2@127.0.0.1:9.", "could not connect to ada:***@127.0.0.1:9."),
        ("Wrong email or password: ada@example.com", "Wrong email or password: ada@example.com"),
    ],
)
def test_redact_url_hides_user_information_and_secret_parameters(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(f"AUTHROCKET_CACHE {url!r} is not usable") == f"AUTHROCKET_CACHE {shown!r} is not usable"


# Secrets never printed: not in a ConfigurationError, not in a log line ---------------------------------

SECRET = "Hunter2Secret"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("LOGINROCKET_URL", f"ftp://ada:{SECRET}@myapp.e2.loginrocket.com/"),
        ("LOGINROCKET_URL", f"ftp://{SECRET}@myapp.e2.loginrocket.com/"),
        ("AUTHROCKET_URL", f"ftp://ada:{SECRET}@api-e2.authrocket.com/v2"),
        ("AUTHROCKET_CACHE", f"redis://:{SECRET}@cache.internal:6379/not-a-number"),
        ("AUTHROCKET_CACHE", f"redis://default:{SECRET}@cache.internal:6379/not-a-number"),
    ],
)
def test_a_configuration_error_names_the_key_but_never_the_secret(
    make_app: Callable[..., Flask], key: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ConfigurationError) as raised:
        make_app(**{key: value})

    assert key in str(raised.value)
    assert SECRET not in str(raised.value)
    assert SECRET not in caplog.text
