"""Signals: session_verified, token_rejected and logged_out, sent with the app as sender."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from blinker import Signal
from flask import Flask
from helpers import HS_SECRET, token_for

from flask_authrocket import logged_out, session_verified, token_rejected


@contextmanager
def recording(signal: Signal, sender: Flask) -> Iterator[list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    def receiver(app: Flask, **extra: Any) -> None:
        received.append({"app": app, **extra})

    signal.connect(receiver, sender)
    try:
        yield received
    finally:
        signal.disconnect(receiver, sender)


def test_a_login_return_sends_session_verified_from_the_query(hs_app, hs_issuer):
    token = token_for(hs_issuer)
    with recording(session_verified, hs_app) as received:
        hs_app.test_client().get(f"/?token={token}")

    assert len(received) == 1
    assert received[0]["app"] is hs_app
    assert received[0]["source"] == "query"
    assert received[0]["session"].user_id == "usr_ada"


def test_every_request_with_a_session_sends_session_verified_with_its_source(hs_app, hs_issuer):
    client = hs_app.test_client()
    client.set_cookie("arToken", token_for(hs_issuer))
    with recording(session_verified, hs_app) as received:
        client.get("/")
        client.get("/", headers={"Authorization": f"Bearer {token_for(hs_issuer)}"})

    assert [event["source"] for event in received] == ["cookie", "bearer"]


def test_a_bad_token_sends_token_rejected_with_the_reason(hs_app, hs_issuer, rsa_issuer):
    client = hs_app.test_client()
    client.set_cookie("arToken", token_for(hs_issuer, expires_in=-60))
    with recording(token_rejected, hs_app) as received, recording(session_verified, hs_app) as verified:
        client.get("/")
        client.get("/", headers={"Authorization": f"Bearer {token_for(rsa_issuer)}"})

    assert [(event["source"], event["rejection"].reason) for event in received] == [
        ("cookie", "expired"),
        ("bearer", "wrong_algorithm"),  # an RS256 token where the key is HS256
    ]
    assert verified == []


def test_requests_without_a_token_send_nothing(hs_app):
    with recording(token_rejected, hs_app) as rejected, recording(session_verified, hs_app) as verified:
        hs_app.test_client().get("/")

    assert rejected == [] and verified == []


def test_logout_sends_logged_out_with_the_session_that_ended(hs_app, hs_issuer):
    client = hs_app.test_client()
    client.set_cookie("arToken", token_for(hs_issuer, session_id="kss_signal"))
    with recording(logged_out, hs_app) as received:
        client.get("/logout")
        client.get("/logout")  # logged out by now

    assert [event["everywhere"] for event in received] == [True, True]
    assert received[0]["session"].id == "kss_signal"
    assert received[1]["session"] is None


def test_local_logout_says_it_was_not_everywhere(make_app, hs_issuer):
    app = make_app(AUTHROCKET_LOGOUT="local", AUTHROCKET_JWT_KEY=HS_SECRET)
    client = app.test_client()
    client.set_cookie("arToken", token_for(hs_issuer))
    with recording(logged_out, app) as received:
        client.get("/logout")

    assert [event["everywhere"] for event in received] == [False]


def test_signals_of_another_app_are_not_received(make_app, hs_app, hs_issuer):
    other = make_app()
    with recording(session_verified, other) as received:
        hs_app.test_client().get("/", headers={"Authorization": f"Bearer {token_for(hs_issuer)}"})

    assert received == []
