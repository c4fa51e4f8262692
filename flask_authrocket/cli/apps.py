"""The app a command runs for, and what a command asks of its extension.

The commands never import :mod:`flask_authrocket.extension` (which imports this package
inside ``init_app``): they find the extension where Flask keeps it,
``current_app.extensions["authrocket"]``, and use it through :class:`AppAuthRocket`, the few
names they need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

import click
from flask import Flask, current_app
from flask.cli import ScriptInfo

from ..errors import ConfigurationError
from ..logs import escape_unprintable

if TYPE_CHECKING:
    from ..models import Rejection, Session
    from ..settings import Settings
    from ..tokens import TokenVerifier


class AppAuthRocket(Protocol):
    """What the commands use of the app's :class:`~flask_authrocket.AuthRocket` (with an app context pushed)."""

    @property
    def settings(self) -> Settings:
        """The app's checked settings."""
        ...

    @property
    def verifier(self) -> TokenVerifier:
        """The app's token verifier."""
        ...

    def verify(self, token: str) -> Session | Rejection:
        """Verify ``token`` as the app does, managed sessions included."""
        ...


def app_and_extension() -> tuple[Flask, AppAuthRocket]:
    """The app the command runs for, with an app context pushed, and its AuthRocket extension.

    Run through ``app.cli`` the app is loaded already; run as a plugin command
    it is loaded here, so a :class:`ConfigurationError` raised while the app is
    created is shown as one clear line.
    """
    ctx = click.get_current_context()
    if current_app:
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    else:
        try:
            app = ctx.ensure_object(ScriptInfo).load_app()
        except ConfigurationError as exc:
            raise click.ClickException(escape_unprintable(f"The app could not be created: {exc}")) from exc
        ctx.with_resource(app.app_context())
    extension = app.extensions.get("authrocket")
    # By what it offers, not by its class: the commands do not import the extension's module.
    if extension is None or not callable(getattr(type(extension), "verify", None)):
        raise click.ClickException(
            f"The app {app.name!r} does not use flask-authrocket: call AuthRocket(app) or authrocket.init_app(app) "
            "in its factory."
        )
    return app, cast(AppAuthRocket, extension)
