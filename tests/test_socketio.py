"""require_login and require_permission on Flask-SocketIO handlers, with Flask-SocketIO's own test client.

The handlers run as Flask-SocketIO runs them (a request context built from the handshake,
``request.sid`` and ``request.event``); an exception a handler lets out would reach the test
here, as it reaches the Socket.IO server in production.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

flask_socketio = pytest.importorskip("flask_socketio", reason="the Socket.IO tests need Flask-SocketIO (dev)")

from flask import Flask, g  # noqa: E402
from helpers import ACME, GLOBEX, HS_SECRET, LOGINROCKET_URL, token_for  # noqa: E402

from flask_authrocket import (  # noqa: E402
    AuthRocket,
    current_org,
    current_user,
    require_login,
    require_permission,
    signals,
)
from flask_authrocket.issuer import TokenIssuer  # noqa: E402
from flask_authrocket.testing import TestKeys, make_token  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"


class Chat:
    """An app with a guarded Socket.IO namespace "/" and a public one, "/lobby", whose events are guarded."""

    def __init__(self, **config: Any) -> None:
        self.app = Flask(__name__)
        self.app.config.update(
            TESTING=True, SECRET_KEY="test", LOGINROCKET_URL=LOGINROCKET_URL, AUTHROCKET_JWT_KEY=HS_SECRET
        )
        self.app.config.update(config)
        AuthRocket(self.app)
        self.socketio = flask_socketio.SocketIO(self.app)
        self.ran: list[tuple[str, str]] = []
        socketio, ran = self.socketio, self.ran

        @socketio.on("connect")
        @require_login
        def connect(auth: Any = None) -> None:
            ran.append(("connect", current_user.id))
            flask_socketio.emit("welcome", {"user": current_user.id, "org": current_org.id if current_org else None})

        @socketio.on("whoami")
        @require_login
        def whoami() -> str:
            ran.append(("whoami", current_user.id))
            return g.authrocket.current_user.id

        @socketio.on("connect", namespace="/lobby")
        def lobby_connect() -> None:
            ran.append(("lobby connect", "anyone"))

        @socketio.on("whoami", namespace="/lobby")
        @require_login
        def lobby_whoami() -> str:
            ran.append(("lobby whoami", current_user.id))
            return current_user.id

        @socketio.on("admin", namespace="/lobby")
        @require_permission("site:admin")
        def lobby_admin() -> str:
            ran.append(("lobby admin", current_user.id))
            return "admin"

    def client(self, **kwargs: Any) -> Any:
        return self.socketio.test_client(self.app, **kwargs)


@pytest.fixture
def chat() -> Chat:
    return Chat()


@pytest.fixture
def ada_token() -> str:
    return token_for(TokenIssuer(secret=HS_SECRET))  # Ada: site:admin in Acme


def test_a_guarded_connect_refuses_a_client_without_a_login(chat: Chat):
    client = chat.client()

    assert not client.is_connected()
    assert chat.ran == []


def test_a_guarded_connect_accepts_the_auth_token_and_the_handler_sees_its_user(chat: Chat, ada_token: str):
    client = chat.client(auth={"token": ada_token})

    assert client.is_connected()
    assert chat.ran == [("connect", "usr_ada")]
    assert client.get_received() == [
        {"name": "welcome", "args": [{"user": "usr_ada", "org": "org_acme"}], "namespace": "/"}
    ]


def test_a_client_that_connected_with_an_auth_token_counts_as_logged_in_for_its_later_events(
    chat: Chat, ada_token: str
):
    client = chat.client(auth={"token": ada_token})

    assert client.emit("whoami", callback=True) == "usr_ada"
    assert client.emit("whoami", callback=True) == "usr_ada"
    assert chat.ran[-1] == ("whoami", "usr_ada")


def test_a_guarded_connect_accepts_the_login_cookie_of_the_handshake(chat: Chat, ada_token: str):
    browser = chat.app.test_client()
    browser.set_cookie("arToken", ada_token)

    client = chat.client(flask_test_client=browser)

    assert client.is_connected()
    assert client.emit("whoami", callback=True) == "usr_ada"


def test_a_guarded_connect_accepts_a_bearer_header_of_the_handshake(chat: Chat, ada_token: str):
    client = chat.client(headers={"Authorization": f"Bearer {ada_token}"})

    assert client.is_connected()


@pytest.mark.parametrize(
    "auth",
    [
        {"token": "not.a.token"},
        {"token": ""},
        {"token": 42},
        {"token": ["a", "b"]},
        {"token": "x" * 100_000},
        {"token": "Bearer "},
        {"tok": "wrong key"},
        "a string, not an object",
        [1, 2, 3],
    ],
)
def test_a_bad_auth_refuses_the_connection_and_nothing_escapes(chat: Chat, auth: Any):
    client = chat.client(auth=auth)

    assert not client.is_connected()
    assert chat.ran == []


def test_a_token_of_another_key_or_an_expired_one_refuses_the_connection(chat: Chat):
    forged = token_for(TokenIssuer(secret="another realm's secret, 0123456789abcdef"))
    expired = token_for(TokenIssuer(secret=HS_SECRET), expires_in=-3600)

    assert not chat.client(auth={"token": forged}).is_connected()
    assert not chat.client(auth={"token": expired}).is_connected()
    assert chat.ran == []


def test_a_guarded_event_does_not_run_for_a_client_without_a_login_and_nothing_escapes(chat: Chat):
    client = chat.client(namespace="/lobby")  # the lobby lets anyone connect
    assert client.is_connected("/lobby")

    answer = client.emit("whoami", namespace="/lobby", callback=True)
    client.emit("whoami", namespace="/lobby")  # without an acknowledgement: still nothing escapes

    assert answer == {"error": "login_required", "message": "Log in, or connect with auth={'token': '<login token>'}."}
    assert chat.ran == [("lobby connect", "anyone")]


def test_a_guarded_event_answers_a_missing_permission_and_does_not_run(chat: Chat):
    member = token_for(TokenIssuer(secret=HS_SECRET), orgs=[{**GLOBEX, "selected": True}, ACME])  # Globex: no admin
    browser = chat.app.test_client()
    browser.set_cookie("arToken", member)
    client = chat.client(namespace="/lobby", flask_test_client=browser)

    answer = client.emit("admin", namespace="/lobby", callback=True)

    assert answer == {"error": "forbidden", "message": "Missing permission: site:admin."}
    assert ("lobby admin", "usr_ada") not in chat.ran


def test_a_rejected_auth_token_is_answered_as_invalid_on_the_event(chat: Chat):
    client = chat.client(namespace="/lobby", headers={"Authorization": "Bearer not.a.token"})

    assert client.emit("whoami", namespace="/lobby", callback=True)["error"] == "invalid_token"


def test_an_outer_app_context_lends_no_login_to_another_connection(chat: Chat, ada_token: str):
    with chat.app.app_context():  # as a test fixture may hold one across calls
        stranger = chat.client(namespace="/lobby")
        ada = chat.client(namespace="/lobby", headers={"Authorization": f"Bearer {ada_token}"})

        assert ada.emit("whoami", namespace="/lobby", callback=True) == "usr_ada"
        assert stranger.emit("whoami", namespace="/lobby", callback=True)["error"] == "login_required"


def test_the_session_verified_signal_is_sent_for_an_auth_token(chat: Chat, ada_token: str):
    seen = []

    def receiver(app: Flask, session: Any, source: str, **extra: Any) -> None:
        seen.append((session.user.id, source))

    with signals.session_verified.connected_to(receiver, chat.app):
        chat.client(auth={"token": ada_token})

    assert seen == [("usr_ada", "bearer")]


def test_keys_that_cannot_be_fetched_refuse_the_connection_without_an_exception(refused_url: str):
    chat = Chat(AUTHROCKET_JWT_KEY=None, LOGINROCKET_URL=refused_url, AUTHROCKET_HTTP_TIMEOUT=0.25)
    token = make_token("ada@example.com")  # RS256 with a kid: the app must fetch the keys

    client = chat.client(auth={"token": token})

    assert not client.is_connected()
    assert chat.ran == []


# -- the docs page's sample runs ---------------------------------------------------------------------


def test_the_socketio_page_sample_runs_and_its_test_passes(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AUTHROCKET_JWT_KEY", TestKeys.default().public_key_pem)  # the sample names no key
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "socketio.md").read_text(), re.DOTALL)
    sample, its_test = blocks
    namespace: dict[str, Any] = {"__name__": "chat"}  # not "__main__": the sample does not start a server

    exec(compile(sample, "docs/socketio.md, the sample", "exec"), namespace)
    exec(compile(its_test, "docs/socketio.md, its test", "exec"), namespace)
    namespace["test_a_logged_in_client_chats_and_a_stranger_is_refused"]()


def test_an_error_handler_of_the_app_cannot_turn_a_refusal_into_a_connection(chat: Chat):
    handled = []

    @chat.socketio.on_error_default
    def any_error(error: Exception) -> None:  # returns None: Flask-SocketIO would accept the connection
        handled.append(error)

    client = chat.client()

    assert not client.is_connected()
    assert handled == [] and chat.ran == []


def test_a_refused_client_is_told_why(chat: Chat):
    sent = []
    server = chat.socketio.server
    client = chat.client(namespace="/lobby")  # the test client replaces _send_packet; wrap its replacement
    recording = server._send_packet

    def record(eio_sid: str, packet: Any) -> None:
        sent.append(packet)
        recording(eio_sid, packet)

    server._send_packet = record
    client.connect("/")

    refusals = [packet.data for packet in sent if packet.packet_type == 4]  # CONNECT_ERROR
    assert refusals == [
        {
            "message": "Log in, or connect with auth={'token': '<login token>'}.",
            "data": {"error": "login_required", "message": "Log in, or connect with auth={'token': '<login token>'}."},
        }
    ]
