"""A development LoginRocket served over real HTTP on 127.0.0.1, for the tests of its Core API and its users.

``serve_dev_api`` serves one while a ``with`` block runs; the fixtures in
conftest (``signing_key_pem``, ``dev``) build on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from flask import Flask
from helpers import serving

from flask_authrocket import AuthRocketClient
from flask_authrocket.dev import create_app
from flask_authrocket.dev.signing import SIGNING_KEY_FILE


@dataclass
class DevApi:
    """A development LoginRocket served over real HTTP, and ways to talk to its /v2 API."""

    app: Flask
    #: The LoginRocket's URL, ending in "/".
    root: str

    @property
    def url(self) -> str:
        """What an app sets as AUTHROCKET_URL."""
        return self.root + "v2"

    @property
    def api_key(self) -> str:
        key: str = self.app.extensions["dev_loginrocket"].api_key
        return key

    def call(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> requests.Response:
        """A raw call to /v2/<path>, with the API key (or ``key``) unless headers say otherwise."""
        headers = {"Authrocket-Api-Key": self.api_key if key is None else key, **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}/{path}", headers=headers, timeout=10, **kwargs)

    def stats(self) -> dict[str, Any]:
        answer = self.call("GET", "_dev/stats")
        assert answer.status_code == 200, answer.text
        stats: dict[str, Any] = answer.json()
        return stats

    def count(self, name: str) -> int:
        """How many calls ``name`` ("GET /v2/users") the API answered."""
        counted: int = self.stats()["counts"].get(name, 0)
        return counted

    def reset_stats(self) -> None:
        assert self.call("DELETE", "_dev/stats").status_code == 204

    def fault(self, **fault: Any) -> None:
        answer = self.call("POST", "_dev/faults", json=fault)
        assert answer.status_code == 201, answer.text

    def client(self, **settings: Any) -> AuthRocketClient:
        """A client of this API, retrying quickly (backoff 10 ms), waiting up to 30 s for an answer.

        The server lives in this process: on a busy machine it may answer late, never not at all.
        """
        settings.setdefault("url", self.url)
        settings.setdefault("timeout", 30)
        settings.setdefault("api_key", self.api_key)
        settings.setdefault("realm", "rl_dev")
        settings.setdefault("backoff", 0.01)
        return AuthRocketClient(**settings)

    def browser_login(self, user_id: str) -> tuple[requests.Session, str]:
        """Log in as a demo user on the login page, as a browser does; the browser and its token."""
        browser = requests.Session()
        page = browser.get(self.root + "login", timeout=10)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf, "no CSRF token on the login page"
        answer = browser.post(
            self.root + "login",
            data={"csrf_token": csrf.group(1), "demo_user": user_id},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, answer.text
        return browser, parse_qs(urlsplit(answer.headers["Location"]).query)["token"][0]


@contextmanager
def serve_dev_api(instance: Path, signing_key_pem: bytes, **config: Any) -> Iterator[DevApi]:
    """A development LoginRocket on ``instance``, served on a free loopback port while the block runs."""
    instance.mkdir(parents=True, exist_ok=True)
    key_file = instance / SIGNING_KEY_FILE
    if not key_file.exists():
        key_file.write_bytes(signing_key_pem)
    config.setdefault("DEV_LOGINROCKET_INSTANCE_PATH", str(instance))
    app = create_app(config)
    with serving(app) as root:
        yield DevApi(app, root)


#: The Core API route managed sessions call, as the development LoginRocket counts it.
SESSION_LOOKUPS = "GET /v2/sessions/<session_ref>"


def new_session(dev: DevApi, user_id: str = "usr_ada") -> tuple[str, str]:
    """A session created through the API, as LoginRocket creates one at login: its id and a login token."""
    with dev.client() as api:
        record = api.sessions.create(user_id=user_id)
    assert record.id and record.token
    return record.id, record.token
