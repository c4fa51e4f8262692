"""A guard's own answer sends its constant headers without Werkzeug's second check of them.

``answers.ConstantHeaders`` adds ``Vary`` and ``Cache-Control`` straight to the header list and
makes the answer of a subclass of the app's response class whose ``get_wsgi_headers`` leaves
them out of the copy Werkzeug checks. These tests hold it to what the app's own class would
send, whatever an ``after_request`` function does, and count the values Werkzeug checks.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
import werkzeug.datastructures.headers as werkzeug_headers
from flask import Flask, Response
from helpers import ACME, ADA, HS_SECRET, hello_app, token_for
from werkzeug.test import EnvironBuilder

from flask_authrocket.answers import ConstantHeaders
from flask_authrocket.issuer import TokenIssuer

ISSUER = TokenIssuer(secret=HS_SECRET)
PRIVATE = (("Vary", "Cookie, Authorization"), ("Cache-Control", "private"))


class AppResponse(Response):
    """An app's own response class, importable by name (pickle finds classes so)."""


def logged_in_get(app: Flask, path: str = "/hello") -> Any:
    """The second GET of a logged-in browser (the first verified the token): the short path."""
    client = app.test_client(use_cookies=False)
    headers = {"Cookie": f"arToken={token_for(ISSUER, ADA, (ACME,))}"}
    assert client.get(path, headers=headers).status_code == 200
    return client.get(path, headers=headers)


def test_the_answer_sends_the_headers_the_apps_own_class_would() -> None:
    answer = logged_in_get(hello_app())

    assert answer.get_data(as_text=True) == "Hello, usr_ada!"
    assert list(answer.headers.items()) == [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", "15"),
        ("Vary", "Cookie, Authorization"),
        ("Cache-Control", "private"),
    ]


def sent_by_the_app(app: Flask, checked: list[str], monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The headers the app gives its WSGI server for a logged-in GET, noting each value Werkzeug checks.

    Only the app's side is counted: the test client would check the headers again as it reads them.
    """
    headers = {"Cookie": f"arToken={token_for(ISSUER, ADA, (ACME,))}"}
    app.test_client(use_cookies=False).get("/hello", headers=headers)  # verified: the next one is short
    environ = EnvironBuilder("/hello", headers=headers).get_environ()
    check = werkzeug_headers._str_header_value

    def counting(value: Any) -> str:
        checked.append(str(value))
        return check(value)

    started: list[list[tuple[str, str]]] = []
    monkeypatch.setattr(werkzeug_headers, "_str_header_value", counting)
    body = b"".join(app(environ, lambda status, sent, exc_info=None: started.append(sent)))
    monkeypatch.undo()
    assert body == b"Hello, usr_ada!"
    return started[0]


def test_werkzeug_checks_the_constant_headers_once_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []

    sent = sent_by_the_app(hello_app(), checked, monkeypatch)

    assert sent[-2:] == list(PRIVATE)
    # The app's own headers are checked as always; ours, fixed ASCII checked once at import, not on every answer.
    assert "text/html; charset=utf-8" in checked
    assert "private" not in checked and "Cookie, Authorization" not in checked


def test_an_after_request_change_is_sent_and_checked_as_always(monkeypatch: pytest.MonkeyPatch) -> None:
    app = hello_app()

    @app.after_request
    def more(response: Response) -> Response:
        response.vary.add("Accept-Encoding")
        response.headers["X-Frame-Options"] = "DENY"
        return response

    checked: list[str] = []
    sent = dict(sent_by_the_app(app, checked, monkeypatch))

    assert sent["Vary"] == "Cookie, Authorization, Accept-Encoding"
    assert sent["Cache-Control"] == "private"
    assert sent["X-Frame-Options"] == "DENY"
    assert "private" in checked  # the tail changed: Werkzeug checks everything, as for any answer


def test_the_answer_is_an_instance_of_the_apps_class_and_keeps_its_headers_when_sent() -> None:
    app = hello_app(AppResponse)
    seen: list[Response] = []

    @app.after_request
    def keep(response: Response) -> Response:
        seen.append(response)
        return response

    logged_in_get(app)
    logged_in_get(app)
    response = seen[-1]
    environ = {"SERVER_NAME": "localhost", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
    sent = [response.get_wsgi_headers(environ).to_wsgi_list() for _ in range(2)]

    assert isinstance(response, AppResponse) and type(response).__name__ == "AppResponse"
    assert sent[0] == sent[1] and sent[0][-2:] == list(PRIVATE)
    assert list(response.headers.items())[-2:] == list(PRIVATE)  # put back after each copy


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_the_answer_pickles_and_copies_as_the_apps_class(protocol: int) -> None:
    app = hello_app(AppResponse)
    seen: list[Response] = []
    app.after_request(lambda response: seen.append(response) or response)
    logged_in_get(app)

    restored = pickle.loads(pickle.dumps(seen[-1], protocol=protocol))  # a page cache keeps it so
    copied = copy.copy(seen[-1])

    for each in (restored, copied):
        assert type(each) is AppResponse
        assert each.get_data(as_text=True) == "Hello, usr_ada!"
        assert list(each.headers.items())[-2:] == list(PRIVATE)


def test_a_class_with_its_own_get_wsgi_headers_is_used_as_it_is() -> None:
    copies: list[list[tuple[str, str]]] = []

    class Recording(Response):
        def get_wsgi_headers(self, environ: Any) -> Any:
            copies.append(list(self.headers.items()))
            return super().get_wsgi_headers(environ)

    answer = logged_in_get(hello_app(Recording))

    assert answer.headers["Cache-Control"] == "private"
    assert copies[-1][-2:] == list(PRIVATE)  # the class saw every header, ours included
    assert ConstantHeaders(PRIVATE).response_class_for(Recording) is Recording


def test_a_class_with_init_subclass_gets_no_subclass_of_ours() -> None:
    registered: list[type] = []

    class Registering(Response):
        def __init_subclass__(cls, **kwargs: Any) -> None:
            super().__init_subclass__(**kwargs)
            registered.append(cls)

    app = hello_app(Registering)
    seen: list[type] = []
    app.after_request(lambda response: seen.append(type(response)) or response)

    answer = logged_in_get(app)

    assert answer.headers["Vary"] == "Cookie, Authorization"
    assert seen == [Registering, Registering]
    assert all(each.__name__ != "Registering" for each in registered)  # the test client's own wrapper only
    assert ConstantHeaders(PRIVATE).response_class_for(Registering) is Registering


class Reducing(Response):
    """An app's class that pickles itself its own way."""

    def __reduce__(self) -> Any:
        return (_rebuild, (self.get_data(as_text=True), self.status))


def _rebuild(body: str, status: str) -> Reducing:
    return Reducing(body, status=status)


class Registry(type):
    """A metaclass that keeps every class made with it."""

    made: list[type] = []  # noqa: RUF012 (the test reads it)

    def __init__(cls, *args: Any) -> None:
        super().__init__(*args)
        Registry.made.append(cls)


class Registered(Response, metaclass=Registry):
    pass


@pytest.mark.parametrize("response_class", [Reducing, Registered])
def test_a_class_with_a_say_in_its_making_or_pickling_gets_no_subclass(response_class: type[Response]) -> None:
    app = hello_app(response_class)
    seen: list[Response] = []
    app.after_request(lambda response: seen.append(response) or response)
    made_before = list(Registry.made)

    answer = logged_in_get(app)
    restored = pickle.loads(pickle.dumps(seen[-1]))

    assert answer.headers["Vary"] == "Cookie, Authorization"
    assert type(seen[-1]) is response_class
    assert restored.get_data(as_text=True) == "Hello, usr_ada!"
    made_now = Registry.made[len(made_before) :]
    assert all(made.__name__ == "WrapperTestResponse" for made in made_now)  # the test client's own only


def test_headers_replaced_by_an_after_request_are_sent_as_werkzeug_sends_them() -> None:
    app = hello_app()

    @app.after_request
    def replace(response: Response) -> Response:
        response.headers = {"Content-Type": "text/plain", "X-Replaced": "yes"}  # type: ignore[assignment]
        return response

    answer = logged_in_get(app)

    assert answer.headers["X-Replaced"] == "yes"
    assert "Vary" not in answer.headers  # what the app chose to send, as before


def test_a_get_wsgi_headers_patched_later_sees_every_header(monkeypatch: pytest.MonkeyPatch) -> None:
    app = hello_app(AppResponse)
    logged_in_get(app)  # the subclass is made
    seen: list[list[tuple[str, str]]] = []
    original = AppResponse.get_wsgi_headers

    def patched(self: Response, environ: Any) -> Any:
        seen.append(list(self.headers.items()))
        return original(self, environ)

    monkeypatch.setattr(AppResponse, "get_wsgi_headers", patched, raising=False)
    answer = logged_in_get(app)

    assert answer.headers["Cache-Control"] == "private"
    assert seen and seen[-1][-2:] == list(PRIVATE)


def test_constant_headers_refuse_a_line_break() -> None:
    with pytest.raises(ValueError, match="line break"):
        ConstantHeaders((("Vary", "Cookie\r\nSet-Cookie: x=1"),))


def test_no_headers_need_no_class_of_ours() -> None:
    constants = ConstantHeaders(())

    response = constants.response(Response, "hi")

    assert type(response) is Response and constants.response_class_for(Response) is Response
    assert list(response.headers.items()) == [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "2")]
