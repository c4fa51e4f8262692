"""A guard that finishes its view's answer itself (the fast path) gives the answer the hook would.

On a view whose registered function is the guard's own wrapper, the guard makes the response of
the view's return value and adds ``Vary`` and ``Cache-Control`` in one step, with no
after-request hook. Everywhere else (a decorator outside the guard, a view that raises, a
before-request hook that answers first, a failed check) the after-request hook does it. Each
case must end with the same headers, and no decorator outside a guard may see anything but the
view's own return value.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from flask import Flask, abort, g, jsonify, make_response
from helpers import ACME, ADA, HS_SECRET, LOGINROCKET_URL, token_for

from flask_authrocket import AuthRocket, current_user, require_login, require_permission
from flask_authrocket.issuer import TokenIssuer

LOGIN_VARY = "Cookie, Authorization"


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, LOGINROCKET_URL=LOGINROCKET_URL, AUTHROCKET_JWT_KEY=HS_SECRET)
    AuthRocket(app)
    return app


@pytest.fixture
def client(app: Flask) -> Any:
    client = app.test_client()
    client.set_cookie("arToken", token_for(TokenIssuer(secret=HS_SECRET), ADA, (ACME,)))
    return client


def assert_private_and_varies(answer: Any, vary: str = LOGIN_VARY) -> None:
    assert answer.headers["Vary"] == vary
    assert answer.headers.getlist("Cache-Control") == ["private"]


def test_a_string_answer_gets_the_headers_in_one_step(app: Flask, client: Any) -> None:
    @app.get("/hello")
    @require_login
    def hello() -> str:
        return f"Hello, {current_user.id}!"

    answer = client.get("/hello")

    assert (answer.status_code, answer.text) == (200, "Hello, usr_ada!")
    assert answer.mimetype == "text/html"  # as Flask makes a response of a string
    assert_private_and_varies(answer)


@pytest.mark.parametrize(
    "kind",
    ["tuple with headers", "dict", "response with its own vary", "status tuple", "jsonify", "bytes"],
)
def test_other_answers_go_through_flask_and_keep_their_own_headers(app: Flask, client: Any, kind: str) -> None:
    answers: dict[str, Callable[[], Any]] = {
        "tuple with headers": lambda: ("report", {"X-Report": "1"}),
        "dict": lambda: {"user": current_user.id},
        "response with its own vary": lambda: make_response("varied", 200, {"Vary": "Accept"}),
        "status tuple": lambda: ("made", 201),
        "jsonify": lambda: jsonify(user=g.authrocket.current_user.id),
        "bytes": lambda: b"raw bytes",
    }

    @app.get("/answer")
    @require_login
    def answer_view() -> Any:
        return answers[kind]()

    answer = client.get("/answer")

    assert answer.status_code in (200, 201)
    assert answer.headers.getlist("Cache-Control") == ["private"]
    expected_vary = "Accept, Cookie, Authorization" if kind == "response with its own vary" else LOGIN_VARY
    assert answer.headers["Vary"] == expected_vary
    if kind == "tuple with headers":
        assert answer.headers["X-Report"] == "1"


def test_a_decorator_outside_the_guard_gets_the_views_own_return_value(app: Flask, client: Any) -> None:
    seen: list[Any] = []

    def shout(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)  # copies the guard wrapper's __dict__: it must not pass for the guard
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            value = view(*args, **kwargs)
            seen.append(value)
            return value.upper()

        return wrapper

    @app.get("/shout")
    @shout
    @require_login
    def hello() -> str:
        return f"hello, {current_user.id}"

    answer = client.get("/shout")

    assert seen == ["hello, usr_ada"]  # a string, as the view returned it
    assert answer.text == "HELLO, USR_ADA"
    assert_private_and_varies(answer)  # the after-request hook finished it


def test_a_view_that_aborts_gets_the_headers_on_the_error_answer(app: Flask, client: Any) -> None:
    @app.get("/missing")
    @require_login
    def missing() -> str:
        abort(404)

    answer = client.get("/missing")

    assert answer.status_code == 404
    assert_private_and_varies(answer)


def test_a_before_request_hook_that_answers_after_reading_the_login_varies(app: Flask, client: Any) -> None:
    @app.before_request
    def maintenance() -> Any:
        if g.authrocket.current_user is not None:
            return "Back soon, " + g.authrocket.current_user.id

    @app.get("/hello")
    @require_login
    def hello() -> str:
        return "never"

    answer = client.get("/hello")

    assert answer.text == "Back soon, usr_ada"
    assert answer.headers["Vary"] == LOGIN_VARY


def test_a_failed_permission_check_is_answered_with_the_headers(app: Flask) -> None:
    @app.get("/billing")
    @require_permission("billing:manage")
    def billing() -> str:
        return "never"

    client = app.test_client()
    client.set_cookie("arToken", token_for(TokenIssuer(secret=HS_SECRET), ADA, (ACME,)))
    answer = client.get("/billing", headers={"Accept": "application/json"})

    assert answer.status_code == 403
    assert_private_and_varies(answer)


def test_a_missing_login_is_answered_with_the_headers(app: Flask) -> None:
    @app.get("/hello")
    @require_login
    def hello() -> str:
        return "never"

    answer = app.test_client().get("/hello", headers={"Accept": "application/json"})

    assert answer.status_code == 401
    assert answer.headers["Vary"] == LOGIN_VARY


def test_a_bearer_request_on_the_fast_path_varies_on_the_login(app: Flask) -> None:
    @app.get("/api/me")
    @require_login
    def me() -> str:
        return current_user.id

    token = token_for(TokenIssuer(secret=HS_SECRET), ADA, (ACME,))
    answer = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"})

    assert answer.text == "usr_ada"
    assert_private_and_varies(answer)


def test_a_class_based_view_with_the_guard_as_its_decorator(app: Flask, client: Any) -> None:
    from flask.views import MethodView

    class Report(MethodView):
        decorators: ClassVar[list[Callable[..., Any]]] = [require_login]

        def get(self) -> str:
            return f"report for {current_user.id}"

    app.add_url_rule("/report", view_func=Report.as_view("report"))

    answer = client.get("/report")

    assert answer.text == "report for usr_ada"
    assert_private_and_varies(answer)
