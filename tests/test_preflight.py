"""A CORS preflight passes a guard, and the guard answers it itself: the view never runs for one.

Any client can send ``Access-Control-Request-Method``: before, a guard let such an ``OPTIONS``
through to the view, so a route declared with ``methods=["GET", "OPTIONS"]`` handed out its
protected body (the review's finding: ``curl -X OPTIONS -H 'Access-Control-Request-Method: GET'``
got 200 with the ledger). Each guard is checked on a view, under ``require_permission`` and under
a protected blueprint, with and without flask-cors decorating the answer.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Blueprint, Flask
from flask_cors import CORS
from helpers import ACME, ADA, HS_SECRET, LOGINROCKET_URL, token_for

from flask_authrocket import AuthRocket, protect, require_login, require_permission
from flask_authrocket.issuer import TokenIssuer

#: What any client can send; browsers add an Origin.
PREFLIGHT = {"Origin": "https://spa.example", "Access-Control-Request-Method": "GET"}
SECRET_BODY = "the ledger: 1,000,000"

ran: list[str] = []


def ledger() -> str:
    ran.append("ledger")
    return SECRET_BODY


async def async_ledger() -> str:
    ran.append("async ledger")
    return SECRET_BODY


def build(guard: str, *, cors: bool) -> Flask:
    """An app with /ledger (and /async-ledger) guarded one way, each route listing OPTIONS itself."""
    app = Flask(__name__)
    app.config.update(TESTING=True, LOGINROCKET_URL=LOGINROCKET_URL, AUTHROCKET_JWT_KEY=HS_SECRET)
    AuthRocket(app)
    methods = ["GET", "OPTIONS"]
    if guard == "protect":
        bp = Blueprint("books", __name__)
        bp.add_url_rule("/ledger", "ledger", ledger, methods=methods)
        bp.add_url_rule("/async-ledger", "async_ledger", async_ledger, methods=methods)
        app.register_blueprint(protect(bp))
    else:
        wrap: Callable[[Callable[..., object]], Callable[..., object]] = (
            require_login if guard == "require_login" else require_permission("site:admin")
        )
        app.add_url_rule("/ledger", "ledger", wrap(ledger), methods=methods)
        app.add_url_rule("/async-ledger", "async_ledger", wrap(async_ledger), methods=methods)
    if cors:
        CORS(app, origins=["https://spa.example"])
    return app


GUARDS = ["require_login", "require_permission", "protect"]


@pytest.fixture(autouse=True)
def _forget_runs() -> None:
    ran.clear()


@pytest.mark.parametrize("cors", [False, True], ids=["plain", "flask-cors"])
@pytest.mark.parametrize("guard", GUARDS)
@pytest.mark.parametrize("path", ["/ledger", "/async-ledger"])
def test_a_forged_preflight_gets_the_default_options_answer_never_the_view(guard, cors, path):
    client = build(guard, cors=cors).test_client()

    answer = client.options(path, headers=PREFLIGHT)

    assert ran == []  # the view did not run
    assert SECRET_BODY not in answer.text
    assert answer.status_code == 200
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    if cors:  # flask-cors still decorates the guard's answer
        assert answer.headers["Access-Control-Allow-Origin"] == "https://spa.example"
    else:
        assert "Access-Control-Allow-Origin" not in answer.headers


@pytest.mark.parametrize("guard", GUARDS)
def test_a_preflight_with_a_valid_login_is_answered_by_the_guard_too(guard):
    # A preflight is about the method, never the data: the answer is the same logged in or not.
    token = token_for(TokenIssuer(secret=HS_SECRET), ADA, (ACME,))
    client = build(guard, cors=False).test_client()

    answer = client.options("/ledger", headers={**PREFLIGHT, "Authorization": f"Bearer {token}"})

    assert (answer.status_code, ran) == (200, [])
    assert SECRET_BODY not in answer.text


@pytest.mark.parametrize("guard", GUARDS)
def test_a_plain_options_on_the_route_needs_the_login_like_a_get(guard):
    client = build(guard, cors=False).test_client()
    token = token_for(TokenIssuer(secret=HS_SECRET), ADA, (ACME,))

    anonymous = client.options("/ledger", headers={"Accept": "application/json"})
    logged_in = client.options("/ledger", headers={"Authorization": f"Bearer {token}"})

    assert anonymous.status_code == 401 and SECRET_BODY not in anonymous.text
    assert (logged_in.status_code, logged_in.text) == (200, SECRET_BODY)  # Ada is an admin of Acme


@pytest.mark.parametrize("guard", GUARDS)
def test_the_real_call_after_the_preflight_still_needs_the_login(guard):
    client = build(guard, cors=True).test_client()

    call = client.get("/ledger", headers={"Origin": "https://spa.example", "Accept": "application/json"})

    assert call.status_code == 401
    assert ran == []
