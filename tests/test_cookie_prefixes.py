"""``__Host-`` and ``__Secure-`` login cookie names, and ``check``'s advice on cookie tossing.

"The first login cookie that verifies counts" (so that a stray cookie cannot log a user out)
means that a sibling subdomain's cookie of the same name, holding a valid token of another
account, takes over once the user's own expires: cookie tossing. A ``__Host-`` name is the
defence browsers offer (no other host can set it). Its rules are enforced by browsers dropping
the cookie, so a setting that breaks them is refused at ``init_app``, naming the setting.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from helpers import ACME, ADA, HS_SECRET, token_for

from flask_authrocket import ConfigurationError
from flask_authrocket.issuer import TokenIssuer


def login_cookie_header(app: Flask, *, https: bool) -> str:
    token = token_for(TokenIssuer(secret=HS_SECRET), ADA, (ACME,))
    base = "https://localhost" if https else "http://localhost"
    answer = app.test_client().get(f"/private?token={token}", base_url=base)
    (header,) = answer.headers.getlist("Set-Cookie")
    return header


@pytest.mark.parametrize("name", ["__Host-arToken", "__Secure-arToken"])
def test_a_prefixed_cookie_is_written_secure_even_over_http(make_app: Callable[..., Flask], name: str) -> None:
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_COOKIE_NAME=name)

    header = login_cookie_header(app, https=False)  # http://localhost: browsers accept Secure cookies there

    assert header.startswith(f"{name}=")
    assert "Secure" in header and "Path=/" in header and "Domain" not in header


def test_a_plain_name_keeps_auto_secure(make_app: Callable[..., Flask]) -> None:
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET)

    assert "Secure" not in login_cookie_header(app, https=False)
    assert "Secure" in login_cookie_header(app, https=True)


@pytest.mark.parametrize(
    ("config", "setting"),
    [
        (
            {"AUTHROCKET_COOKIE_NAME": "__Host-arToken", "AUTHROCKET_COOKIE_DOMAIN": ".example.com"},
            "AUTHROCKET_COOKIE_DOMAIN",
        ),
        ({"AUTHROCKET_COOKIE_NAME": "__Host-arToken", "AUTHROCKET_COOKIE_PATH": "/app"}, "AUTHROCKET_COOKIE_PATH"),
        ({"AUTHROCKET_COOKIE_NAME": "__Host-arToken", "AUTHROCKET_COOKIE_SECURE": False}, "AUTHROCKET_COOKIE_SECURE"),
        ({"AUTHROCKET_COOKIE_NAME": "__Secure-arToken", "AUTHROCKET_COOKIE_SECURE": False}, "AUTHROCKET_COOKIE_SECURE"),
    ],
)
def test_a_prefixed_name_that_browsers_would_drop_is_refused_naming_the_setting(
    make_app: Callable[..., Flask], config: dict[str, object], setting: str
) -> None:
    with pytest.raises(ConfigurationError, match=setting):
        make_app(AUTHROCKET_JWT_KEY=HS_SECRET, **config)


def check_output(app: Flask) -> str:
    return app.test_cli_runner().invoke(args=["authrocket", "check"]).output


def test_check_recommends_a_host_cookie_on_https(make_app: Callable[..., Flask], refused_url: str) -> None:
    # A Secure cookie says https; LOGINROCKET_URL on loopback keeps check's key-set comparison off the network.
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL=refused_url, AUTHROCKET_COOKIE_SECURE=True)

    output = check_output(app)

    assert "cookie tossing" in output and "'__Host-arToken'" in output


def test_check_warns_that_a_parent_domain_cookie_can_be_tossed(
    make_app: Callable[..., Flask], refused_url: str
) -> None:
    app = make_app(
        AUTHROCKET_JWT_KEY=HS_SECRET,
        LOGINROCKET_URL=refused_url,
        AUTHROCKET_COOKIE_SECURE=True,
        AUTHROCKET_COOKIE_DOMAIN=".example.com",
    )

    output = check_output(app)

    assert "AUTHROCKET_COOKIE_DOMAIN is '.example.com'" in output and "cookie tossing" in output


def test_check_is_content_with_a_host_cookie(make_app: Callable[..., Flask], refused_url: str) -> None:
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL=refused_url, AUTHROCKET_COOKIE_NAME="__Host-arToken")

    assert "cookie tossing" not in check_output(app)
