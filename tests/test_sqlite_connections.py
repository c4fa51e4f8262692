"""Every SQLite connection is closed: by the development LoginRocket, and by the tests themselves.

The suite failed on Python 3.13 only: an open ``sqlite3.Connection`` is a ``ResourceWarning``
there, reported at whichever test runs when it is collected. The connection was the test's
own (``with sqlite3.connect(...)`` commits but never closes); the development LoginRocket
opens and closes one per call. The ``sqlite_connections`` fixture (conftest.py) now fails the
test that leaves one open, by name, on every Python.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlite_connections import OpenedConnections

from flask_authrocket.dev import create_app

APP = "http://127.0.0.1:5000/welcome"


def post_form(client: FlaskClient, path: str, form: dict[str, str]) -> int:
    """POST ``form`` with the page's CSRF token and the app's redirect_uri; the status code."""
    html = client.get("/signup").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the signup page"
    return client.post(path, data={"csrf_token": match.group(1), "redirect_uri": APP, **form}).status_code


def test_the_development_loginrocket_closes_every_connection_it_opens(
    tmp_path: Path, sqlite_connections: OpenedConnections
) -> None:
    app = create_app({"DEV_LOGINROCKET_INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True})
    assert sqlite_connections.opened, "creating the directory opens the database"
    assert sqlite_connections.still_open() == []

    client = app.test_client()
    steps = [
        lambda: post_form(client, "/signup", {"email": "kj@example.com", "password": "orbit-1962", "org_name": "NASA"}),
        lambda: client.get("/logout").status_code,
        lambda: post_form(client, "/login", {"email": "kj@example.com", "password": "orbit-1962"}),
        lambda: client.get("/accounts").status_code,
        lambda: client.get("/profile").status_code,
        lambda: post_form(client, "/login", {"email": "kj@example.com", "password": "wrong"}),
    ]
    for step in steps:
        before = len(sqlite_connections.opened)
        status = step()
        assert status < 500
        assert len(sqlite_connections.opened) > before, "each step reads the directory"
        assert sqlite_connections.still_open() == [], "a request ended with a connection open"


def test_a_connection_left_open_is_found_and_then_closed() -> None:
    connections = OpenedConnections()
    with closing(connections.connect(":memory:")) as closed:
        closed.execute("SELECT 1")
    left = connections.connect(":memory:")

    assert connections.opened == [closed, left]
    assert connections.still_open() == [left]
    connections.close_all()
    assert connections.still_open() == []
    with pytest.raises(sqlite3.ProgrammingError):
        left.execute("SELECT 1")


def test_sqlite3_connect_in_a_test_is_tracked(sqlite_connections: OpenedConnections) -> None:
    with closing(sqlite3.connect(":memory:")) as db:
        assert sqlite_connections.still_open() == [db]
    assert sqlite_connections.still_open() == []
