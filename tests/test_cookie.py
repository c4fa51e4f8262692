"""LoginCookie: the one place that reads, sizes, writes and clears the login cookie.

Its answers are checked against Werkzeug's own cookie parser and against the
Set-Cookie headers a real Werkzeug response carries; its sessions come from
real tokens verified by the app.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from flask import Flask
from helpers import HS_SECRET, token_for
from werkzeug.http import parse_date
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from flask_authrocket.cookie import MAX_COOKIE_BYTES, MAX_COOKIE_LIFETIME, LoginCookie
from flask_authrocket.issuer import TokenIssuer
from flask_authrocket.models import Session
from flask_authrocket.settings import DEFAULTS

NAME: str = DEFAULTS["AUTHROCKET_COOKIE_NAME"]


def environ_with(cookie_header: str) -> dict[str, object]:
    return EnvironBuilder(headers={"Cookie": cookie_header}).get_environ()


def session_of(app: Flask, token: str) -> Session:
    result = app.extensions["authrocket"].verify(token, app=app)
    assert isinstance(result, Session), result
    return result


def cookie_of(app: Flask) -> LoginCookie:
    """The login cookie an app's checked settings describe."""
    with app.app_context():
        return LoginCookie.from_settings(app.extensions["authrocket"].settings)


def set_cookie_headers(write: Callable[[Response], None]) -> list[str]:
    response = Response("ok")
    write(response)
    return response.headers.getlist("Set-Cookie")


# -- read ----------------------------------------------------------------------------------


def test_read_finds_the_token_among_other_cookies() -> None:
    cookie = LoginCookie(NAME)
    environ = environ_with(f"theme=dark; {NAME}=aaa.bbb.ccc; lang=en")
    assert cookie.read(environ) == "aaa.bbb.ccc"


@pytest.mark.parametrize(
    "header",
    [
        f"{NAME}=aaa.bbb.ccc",
        f"  {NAME} = aaa.bbb.ccc ;x=1",
        f"x{NAME}=other; {NAME}=mine",
        f"other=x {NAME}=inside.its.value; {NAME}=mine",
        f"other=x;{NAME}=mine",
        f"\t{NAME}=tab.first",
        f"{NAME}=first; {NAME}=second",
        f'{NAME}="quoted.token"',
        f'{NAME}="with \\"escaped\\" quotes"',
        f"{NAME}=percent%3Dencoded",
        f"{NAME}=back\\slash",
        f"{NAME}=",
        f"{NAME}",
        "unrelated=1",
        f"unrelated={NAME}",
    ],
)
def test_read_answers_what_werkzeugs_full_parser_answers(header: str) -> None:
    environ = environ_with(header)
    expected = Request(environ).cookies.get(NAME) or None
    assert LoginCookie(NAME).read(environ) == expected


def test_a_quoted_value_falls_back_to_werkzeug_and_comes_back_unquoted() -> None:
    environ = environ_with(f'{NAME}="a\\"b"; other=1')
    assert LoginCookie(NAME).read(environ) == 'a"b'


def test_read_without_a_cookie_header_is_none() -> None:
    assert LoginCookie(NAME).read(EnvironBuilder().get_environ()) is None


def test_a_custom_name_reads_only_its_own_cookie() -> None:
    environ = environ_with(f"{NAME}=default.token; session_jwt=custom.token")
    assert LoginCookie("session_jwt").read(environ) == "custom.token"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"{NAME}=aaa.bbb.ccc", ["aaa.bbb.ccc"]),
        (f"{NAME}=garbage; theme=dark; {NAME}=aaa.bbb.ccc", ["garbage", "aaa.bbb.ccc"]),
        (f'{NAME}=first; {NAME}="quoted.second"; {NAME}=; {NAME}=first', ["first", "quoted.second"]),
        (f"{NAME}=; {NAME}=aaa.bbb.ccc", ["aaa.bbb.ccc"]),
        (f'{NAME}=""; {NAME}=aaa.bbb.ccc', ["aaa.bbb.ccc"]),
        ("theme=dark", []),
        ("", []),
    ],
)
def test_read_all_gives_every_login_cookie_in_header_order_without_repeats(header: str, expected: list[str]) -> None:
    # A sibling subdomain may set a cookie of the same name: the browser sends both.
    environ = environ_with(header)

    found = LoginCookie(NAME).read_all(environ)

    assert found == expected
    assert LoginCookie(NAME).read(environ) == (found[0] if found else None)  # read is the first of them


def test_read_all_without_a_name_or_header_is_empty() -> None:
    assert LoginCookie(None).read_all(environ_with(f"{NAME}=aaa.bbb.ccc")) == []
    assert LoginCookie(NAME).read_all(EnvironBuilder().get_environ()) == []


# -- fits ----------------------------------------------------------------------------------


def test_fits_up_to_the_browser_limit_and_warns_beyond_it(caplog: pytest.LogCaptureFixture) -> None:
    cookie = LoginCookie(NAME)
    largest = "t" * (MAX_COOKIE_BYTES - len(NAME) - 1)
    caplog.set_level(logging.WARNING, logger="flask_authrocket")

    assert cookie.fits(largest)
    assert caplog.records == []

    assert not cookie.fits(largest + "t")
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert f"{len(largest) + 1} bytes" in record.getMessage()
    assert largest not in record.getMessage()  # never a token in a log line


# -- write and clear ---------------------------------------------------------------------------


def test_write_stores_the_token_until_it_expires_with_the_default_attributes(
    hs_app: Flask, hs_issuer: TokenIssuer
) -> None:
    session = session_of(hs_app, token_for(hs_issuer, expires_in=1800))
    cookie = cookie_of(hs_app)

    [header] = set_cookie_headers(lambda response: cookie.write(response, session, secure=False))

    value, *attributes = [part.strip() for part in header.split(";")]
    assert value == f"{NAME}={session.token}"
    assert "HttpOnly" in attributes and "SameSite=Lax" in attributes and "Path=/" in attributes
    assert "Secure" not in attributes
    assert not any(part.startswith(("Domain=", "Max-Age=")) for part in attributes)
    [expires] = [part.removeprefix("Expires=") for part in attributes if part.startswith("Expires=")]
    expires_at = parse_date(expires)
    assert expires_at is not None and int(expires_at.timestamp()) == session.expires_at


@pytest.mark.parametrize("exp", [10**12, 10**15])
def test_a_token_expiring_beyond_the_year_9999_gets_a_cookie_capped_at_400_days(
    hs_app: Flask, hs_issuer: TokenIssuer, exp: int
) -> None:
    session = session_of(hs_app, token_for(hs_issuer, claims={"exp": exp}))
    assert session.expires_at == exp

    [header] = set_cookie_headers(lambda response: LoginCookie(NAME).write(response, session, secure=False))

    [expires] = [part.strip().removeprefix("Expires=") for part in header.split(";") if "Expires=" in part]
    expires_at = parse_date(expires)
    assert expires_at is not None
    assert abs(expires_at.timestamp() - (time.time() + MAX_COOKIE_LIFETIME)) < 60
    assert MAX_COOKIE_LIFETIME == 400 * 24 * 3600  # what browsers cap a cookie at anyway


def test_a_huge_max_age_setting_is_capped_at_400_days_too(hs_app: Flask, hs_issuer: TokenIssuer) -> None:
    session = session_of(hs_app, token_for(hs_issuer))

    [header] = set_cookie_headers(
        lambda response: LoginCookie(NAME, max_age=10**15).write(response, session, secure=False)
    )

    assert f"Max-Age={MAX_COOKIE_LIFETIME}" in [part.strip() for part in header.split(";")]


def test_secure_auto_follows_the_request_and_a_fixed_setting_wins(hs_app: Flask, hs_issuer: TokenIssuer) -> None:
    session = session_of(hs_app, token_for(hs_issuer))
    auto = LoginCookie(NAME)
    always = LoginCookie(NAME, secure=True)
    never = LoginCookie(NAME, secure=False)

    def secure_flag(cookie: LoginCookie, *, https: bool) -> bool:
        [header] = set_cookie_headers(lambda response: cookie.write(response, session, secure=https))
        return "Secure" in [part.strip() for part in header.split(";")]

    assert secure_flag(auto, https=True) and not secure_flag(auto, https=False)
    assert secure_flag(always, https=False)
    assert not secure_flag(never, https=True)


def test_configured_attributes_reach_both_write_and_clear(
    make_app: Callable[..., Flask], hs_issuer: TokenIssuer
) -> None:
    app = make_app(
        AUTHROCKET_JWT_KEY=HS_SECRET,
        AUTHROCKET_COOKIE_NAME="session_jwt",
        AUTHROCKET_COOKIE_DOMAIN="example.com",
        AUTHROCKET_COOKIE_PATH="/app",
        AUTHROCKET_COOKIE_SAMESITE="Strict",
        AUTHROCKET_COOKIE_HTTPONLY=False,
        AUTHROCKET_COOKIE_MAX_AGE=600,
    )
    cookie = cookie_of(app)
    session = session_of(app, token_for(hs_issuer, expires_in=3600))

    [written] = set_cookie_headers(lambda response: cookie.write(response, session, secure=True))
    [cleared] = set_cookie_headers(lambda response: cookie.clear(response, secure=True))

    written_parts = [part.strip() for part in written.split(";")]
    cleared_parts = [part.strip() for part in cleared.split(";")]
    assert written_parts[0] == f"session_jwt={session.token}"
    assert cleared_parts[0] == "session_jwt="
    for parts in (written_parts, cleared_parts):
        assert {"Domain=example.com", "Path=/app", "SameSite=Strict", "Secure"} <= set(parts)
        assert "HttpOnly" not in parts
    assert "Max-Age=600" in written_parts
    assert "Max-Age=0" in cleared_parts
    [expires] = [part.removeprefix("Expires=") for part in written_parts if part.startswith("Expires=")]
    expires_at = parse_date(expires)
    # Max-Age wins over the token's own expiry (an hour away): the cookie lasts ten minutes.
    assert expires_at is not None and expires_at.timestamp() < session.expires_at - 1800


def test_without_a_name_the_cookie_reads_fits_and_writes_nothing(hs_app: Flask, hs_issuer: TokenIssuer) -> None:
    session = session_of(hs_app, token_for(hs_issuer))
    cookie = LoginCookie(None)

    assert cookie.read(environ_with(f"{NAME}={session.token}")) is None
    assert not cookie.fits(session.token)
    assert set_cookie_headers(lambda response: cookie.write(response, session, secure=True)) == []
    assert set_cookie_headers(lambda response: cookie.clear(response, secure=True)) == []


def test_the_extension_builds_its_cookie_from_the_apps_settings(make_app: Callable[..., Flask]) -> None:
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_COOKIE_NAME="session_jwt", AUTHROCKET_COOKIE_SECURE=True)
    with app.app_context():
        cookie = app.extensions["authrocket"].cookie
    assert (cookie.name, cookie.secure, cookie.path) == ("session_jwt", True, "/")

    disabled = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_COOKIE_NAME=None)
    with disabled.app_context():
        assert disabled.extensions["authrocket"].cookie.name is None
