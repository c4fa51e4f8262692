"""AuthRocketTestClient: Flask's test client with ``login_as`` and ``logout``.

No pytest here: see :mod:`flask_authrocket.testing`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from flask.testing import FlaskClient

from ..cookie import LoginCookie
from .keys import TestKeys
from .tokens import make_token

if TYPE_CHECKING:
    from ..settings import Settings


class AuthRocketTestClient(FlaskClient):
    """Flask's test client, plus :meth:`login_as` and :meth:`logout`.

    The ``authrocket_client`` fixture gives one for your ``app`` fixture. For
    any other app, make it the app's test client class::

        app.test_client_class = AuthRocketTestClient
        client = app.test_client()

    The tokens it logs in with are real, and the app verifies them as it
    verifies every token: the app must trust the client's keys
    (:attr:`authrocket_keys`), e.g. through ``authrocket_config``.
    """

    def __init__(self, *args: Any, authrocket_keys: TestKeys | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The keys :meth:`login_as` signs with.
        self.authrocket_keys = authrocket_keys or TestKeys.default()
        self._login_cookie: tuple[str, str, str] | None = None

    def login_as(
        self,
        user: Mapping[str, Any] | str | None = None,
        orgs: Iterable[Mapping[str, Any] | str] | None = (),
        *,
        mode: Literal["cookie", "bearer"] = "cookie",
        **token_options: Any,
    ) -> str:
        """Log this client in as ``user`` in ``orgs``, and return the token.

        ``user``, ``orgs`` and ``token_options`` (``selected=``,
        ``expires_in=``, ``legacy=``, claims ...) are those of
        :func:`make_token`. The algorithm follows the app's
        ``AUTHROCKET_JWT_KEY``: HS256 when it is the keys' secret, else RS256.

        ``mode="cookie"`` stores the token in the app's login cookie
        (``AUTHROCKET_COOKIE_NAME``, its path and domain), as a browser would
        after a login; ``mode="bearer"`` sends ``Authorization: Bearer <token>``
        with every following request of this client (a header given to one
        request wins), as an API client would. A new ``login_as`` replaces the
        previous login.

        Raises :class:`RuntimeError` when AuthRocket is not registered on the
        app, or for cookie mode when the app stores no cookie.
        """
        if mode not in ("cookie", "bearer"):
            raise ValueError(f"mode must be 'cookie' or 'bearer', not {mode!r}.")
        settings = self._settings()
        token_options.setdefault("keys", self.authrocket_keys)
        if "algorithm" not in token_options:
            signing_keys: TestKeys = token_options["keys"]
            token_options["algorithm"] = "HS256" if settings.jwt_key == signing_keys.hs256_secret else "RS256"
        token = make_token(user, orgs, **token_options)
        self.logout()
        if mode == "bearer":
            self.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
            return token
        cookie = LoginCookie.from_settings(settings)
        if not cookie.name:
            raise RuntimeError(
                "The app stores no login cookie (AUTHROCKET_COOKIE_NAME is None); use login_as(..., mode='bearer')."
            )
        server_name = str(self.application.config.get("SERVER_NAME") or "localhost")
        domain = (cookie.domain or "").lstrip(".") or server_name.split(":", 1)[0].lower()
        self.set_cookie(cookie.name, token, domain=domain, origin_only=not cookie.domain, path=cookie.path)
        self._login_cookie = (cookie.name, domain, cookie.path)
        return token

    def logout(self) -> None:
        """Forget the login of :meth:`login_as`: drop its cookie and stop sending its Bearer header.

        This is the client side only; to test the app's logout route, request it
        (``client.get("/logout")``).
        """
        self.environ_base.pop("HTTP_AUTHORIZATION", None)
        if self._login_cookie is not None:
            name, domain, path = self._login_cookie
            self.delete_cookie(name, domain=domain, path=path)
            self._login_cookie = None

    def _settings(self) -> Settings:
        app = self.application
        extension = app.extensions.get("authrocket")
        if extension is None:
            raise RuntimeError(
                "AuthRocket is not registered on this app, so it would ignore the login; "
                "call AuthRocket(app) or authrocket.init_app(app) in the app factory."
            )
        with app.app_context():
            settings: Settings = extension.settings
            return settings
