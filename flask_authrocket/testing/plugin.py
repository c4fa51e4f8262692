"""The pytest plugin of flask-authrocket: its fixtures, registered by the ``pytest11`` entry point.

Installing flask-authrocket registers it (no ``pytest_plugins`` line needed). It imports
nothing but pytest when pytest starts: each fixture loads the helpers it returns
(:mod:`flask_authrocket.testing`) when a test first asks for it.

* ``authrocket_keys`` (session): the :class:`~flask_authrocket.testing.TestKeys` tokens are signed with;
* ``authrocket_config``: the app config that trusts those keys statically;
* ``authrocket_jwks_server``: a :class:`~flask_authrocket.testing.JwksTestServer` serving them,
  and ``authrocket_jwks_config``, the config that makes an app fetch them from it;
* ``authrocket_client``: an :class:`~flask_authrocket.testing.AuthRocketTestClient` for your
  ``app`` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .client import AuthRocketTestClient
    from .keys import TestKeys
    from .server import JwksTestServer


@pytest.fixture(scope="session")
def authrocket_keys() -> TestKeys:
    """The test keys that tokens are signed with (:meth:`TestKeys.default`); override it to use others."""
    from .keys import TestKeys

    return TestKeys.default()


@pytest.fixture
def authrocket_config(authrocket_keys: TestKeys) -> dict[str, Any]:
    """The app config that trusts ``authrocket_keys`` statically: merge it into your app's config."""
    return authrocket_keys.config("static")


@pytest.fixture
def authrocket_jwks_server(authrocket_keys: TestKeys) -> Iterator[JwksTestServer]:
    """A running :class:`JwksTestServer` on 127.0.0.1 serving ``authrocket_keys``."""
    from .server import JwksTestServer

    with JwksTestServer(authrocket_keys) as server:
        yield server


@pytest.fixture
def authrocket_jwks_config(authrocket_keys: TestKeys, authrocket_jwks_server: JwksTestServer) -> dict[str, Any]:
    """The app config that fetches ``authrocket_keys`` from ``authrocket_jwks_server``, as from LoginRocket."""
    return authrocket_keys.config("jwks", jwks_url=authrocket_jwks_server.url)


@pytest.fixture
def authrocket_client(request: pytest.FixtureRequest, authrocket_keys: TestKeys) -> AuthRocketTestClient:
    """An :class:`AuthRocketTestClient` for the Flask app of your ``app`` fixture."""
    from flask import Flask

    from .client import AuthRocketTestClient

    try:
        app = request.getfixturevalue("app")
    except pytest.FixtureLookupError as exc:
        if exc.argname != "app":
            raise
        pytest.fail(
            "authrocket_client tests the app of an `app` fixture, and there is none. Add one to conftest.py:\n\n"
            "    @pytest.fixture\n"
            "    def app(authrocket_config):\n"
            '        return create_app({"TESTING": True, **authrocket_config})\n',
            pytrace=False,
        )
    if not isinstance(app, Flask):
        pytest.fail(f"authrocket_client needs the `app` fixture to return a Flask app, not {app!r}.", pytrace=False)
    return AuthRocketTestClient(app, app.response_class, use_cookies=True, authrocket_keys=authrocket_keys)
