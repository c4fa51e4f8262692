"""The exceptions flask-authrocket raises, under one base class.

Third-party errors (PyJWT, cryptography, requests) never leave the public API
unwrapped: they are raised again as one of these, chained with ``from``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tokens import Rejection


class AuthRocketError(Exception):
    """Base class of every error flask-authrocket raises."""


class ConfigurationError(AuthRocketError):
    """A setting is missing or unusable.

    Raised by :meth:`AuthRocket.init_app` (or the ground-floor constructors)
    with a message that names the setting to fix and says how.
    """


class KeysUnavailable(AuthRocketError):
    """The LoginRocket key set could not be fetched and no usable key is known."""


class LoginRequired(AuthRocketError):
    """Raised by :func:`verify_login_in_request` when nobody is logged in.

    The extension turns it into a 302 to LoginRocket (browsers) or a 401 JSON
    answer (API clients); ``rejection`` says why a token that was sent did
    not count, when one was sent.
    """

    def __init__(self, message: str = "Login required.", *, rejection: Rejection | None = None) -> None:
        super().__init__(message)
        self.rejection = rejection


class LoginUnavailable(AuthRocketError):
    """A token was sent but could not be checked because LoginRocket is unreachable.

    The extension answers 503 with ``Retry-After``; the cookie is kept.
    """

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermissionDenied(AuthRocketError):
    """Raised when the current membership lacks a required permission (answered 403)."""

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = tuple(missing)
        super().__init__("Missing permission: " + ", ".join(self.missing) + ".")
