"""What comes from outside reaches a terminal or a log line escaped, never as control characters.

A key set, an API answer or a request path may hold ``\\x1b`` (terminal escapes: set the title,
clear the screen), ``\\n`` (a forged line of output or of a log), or bidirectional overrides. The
review's finding: a kid ``"k1\\x1b]0;owned\\x07\\x1b[2J\\n  OK    forged line"`` set the terminal's
title, cleared the screen and printed a fake OK line in ``flask authrocket check``. Every command
and every log line of the ``flask_authrocket`` logger now writes such characters as ``\\u001b``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator

import pytest
from flask import Flask, jsonify
from helpers import HS_SECRET, serving

from flask_authrocket.issuer import TokenIssuer
from flask_authrocket.jwks import JwksClient
from flask_authrocket.logs import escape_unprintable
from flask_authrocket.testing import JwksTestServer

HOSTILE = "k1\x1b]0;owned\x07\x1b[2J\n  OK    forged line\u202e"
#: What must never reach a terminal or a log line from outside text.
RAW = ("\x1b", "\x07", "\n  OK    forged", "\u202e")


def assert_escaped(text: str) -> None:
    for raw in RAW:
        assert raw not in text, repr(raw)
    assert "\\u001b" in text  # the escape is there, readable


def hostile_key_set(issuer: TokenIssuer) -> list[dict[str, object]]:
    usable = {**issuer.jwk(), "kid": HOSTILE}
    skipped = {**issuer.jwk(), "kid": HOSTILE + "-2", "alg": "HS256" + HOSTILE}
    return [usable, skipped]


@pytest.fixture
def hostile_jwks(rsa_issuer: TokenIssuer) -> Iterator[JwksTestServer]:
    with JwksTestServer(rsa_issuer) as server:
        server.serve_jwks(*hostile_key_set(rsa_issuer))
        yield server


def run_check(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["authrocket", "check"])
    return result.output


def test_check_escapes_what_a_key_set_says(make_app: Callable[..., Flask], hostile_jwks: JwksTestServer) -> None:
    output = run_check(make_app(LOGINROCKET_URL=hostile_jwks.url))

    assert_escaped(output)
    assert not any(line.startswith("  OK    forged") for line in output.splitlines())
    assert "skipped a key" in output  # the skipped entry's reason is there, escaped


def test_check_escapes_what_the_api_answers(make_app: Callable[..., Flask]) -> None:
    api = Flask("hostile_api")

    @api.route("/v2/<path:anything>")
    def refuse(anything: str) -> object:
        return jsonify({"errors": [f"Key refused{HOSTILE}"]}), 403

    with serving(api) as url:
        app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_URL=url + "v2", AUTHROCKET_API_KEY="ks_" + "x" * 20)
        output = run_check(app)

    assert "It said: Key refused" in output
    assert_escaped(output)


def test_decode_escapes_a_hostile_kid(
    make_app: Callable[..., Flask], hostile_jwks: JwksTestServer, rsa_issuer: TokenIssuer
) -> None:
    forged = rsa_issuer.issue(json.loads('{"sub": "usr_ada"}'), headers={"kid": HOSTILE + "-unknown"})

    result = make_app(LOGINROCKET_URL=hostile_jwks.url).test_cli_runner().invoke(args=["authrocket", "decode", forged])

    assert result.exit_code == 1
    assert_escaped(result.output)


def test_the_key_sets_debug_line_escapes_a_skipped_kid(
    hostile_jwks: JwksTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="flask_authrocket")
    client = JwksClient(hostile_jwks.url, timeout=10)

    client.key_for({"kid": HOSTILE})

    skipping = [record.getMessage() for record in caplog.records if "Skipping a JWK" in record.getMessage()]
    assert skipping, caplog.text
    for line in skipping:
        assert_escaped(line)


def test_every_line_of_the_package_logger_is_escaped(caplog: pytest.LogCaptureFixture) -> None:
    # Whatever a call site passes (a path, an API's message, an exception), the line is safe.
    caplog.set_level(logging.DEBUG, logger="flask_authrocket")
    logger = logging.getLogger("flask_authrocket")

    logger.warning("The API said %s about %r", HOSTILE, ValueError(HOSTILE))
    logger.debug(f"A request to {HOSTILE}")

    for record in caplog.records:
        assert_escaped(record.getMessage())
    assert caplog.records[0].getMessage().startswith("The API said k1\\u001b]0;owned")


def test_printable_lines_keep_their_template_and_arguments(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="flask_authrocket")

    logging.getLogger("flask_authrocket").info("Keys fetched from %s in %d ms.", "https://x.example/", 12)

    (record,) = caplog.records
    assert (record.msg, record.args) == ("Keys fetched from %s in %d ms.", ("https://x.example/", 12))


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain text", "plain text"),
        ("line\nbreak", "line\\u000abreak"),
        ("\x1b[2J", "\\u001b[2J"),
        ("right-to-left \u202e", "right-to-left \\u202e"),
        ("\U000e0041 tag", "\\udb40\\udc41 tag"),
    ],
)
def test_escape_unprintable(text: str, escaped: str) -> None:
    assert escape_unprintable(text) == escaped
