"""Helpers for testing an app that uses flask-authrocket, and a pytest plugin.

Test an app's logins with real tokens, signed by a test key pair these helpers
manage, and checked by the app exactly as in production: nothing here turns
verification off or takes a shortcut around it. The app under test simply
trusts the test key, as it would trust your realm's key.

The plugin is registered when flask-authrocket is installed (an entry point in
the ``pytest11`` group), so its fixtures need no ``pytest_plugins`` line:

* ``authrocket_keys`` (session): the :class:`TestKeys` tokens are signed with;
* ``authrocket_config``: the app config that trusts those keys (a static RSA
  public key, and a LoginRocket URL for the URL builders);
* ``authrocket_jwks_server``: a :class:`JwksTestServer` on 127.0.0.1 serving
  the keys as a JWK set, and ``authrocket_jwks_config``, the config that makes
  an app fetch them from it;
* ``authrocket_client``: an :class:`AuthRocketTestClient` for your ``app``
  fixture, with ``login_as(...)`` and ``logout()``.

In ``conftest.py``, give your app factory the config::

    import pytest
    from myapp import create_app

    @pytest.fixture
    def app(authrocket_config):
        return create_app({"TESTING": True, **authrocket_config})

and in a test, log in as anyone, in any orgs, with any permissions::

    from flask_authrocket.testing import make_membership

    def test_admins_see_the_admin_page(authrocket_client):
        authrocket_client.login_as("grace@example.com", [make_membership("org_1", permissions=["site:admin"])])
        assert authrocket_client.get("/admin").status_code == 200

The helpers never import pytest: :func:`make_token` makes a token for any use
(``curl``, a ``requests`` session against a test server), signed by
:meth:`TestKeys.default`. The fixtures live in :mod:`flask_authrocket.testing.plugin`,
the ``pytest11`` entry point. ``import flask_authrocket`` never imports this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import AuthRocketTestClient
    from .keys import DEFAULT_KID as DEFAULT_KID
    from .keys import LOGINROCKET_TEST_URL, TestKeys
    from .keys import jwks_config as jwks_config
    from .server import JwksTestServer
    from .server import LoopbackTestServer as LoopbackTestServer
    from .tokens import make_membership, make_token, make_user

#: Each public name and the module of this package it lives in, imported on first use: pytest
#: loads :mod:`~flask_authrocket.testing.plugin` (and so this package) in every run of a project
#: that has flask-authrocket installed, and must not pay for Flask, PyJWT and cryptography there.
_NAMES = {
    "AuthRocketTestClient": "client",
    "DEFAULT_KID": "keys",
    "LOGINROCKET_TEST_URL": "keys",
    "TestKeys": "keys",
    "jwks_config": "keys",
    "JwksTestServer": "server",
    "LoopbackTestServer": "server",
    "make_membership": "tokens",
    "make_token": "tokens",
    "make_user": "tokens",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module the first time it is asked for."""
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    """The package's names, the lazy ones included."""
    return sorted({*globals(), *_NAMES})


__all__ = [
    "LOGINROCKET_TEST_URL",
    "AuthRocketTestClient",
    "JwksTestServer",
    "TestKeys",
    "make_membership",
    "make_token",
    "make_user",
]
