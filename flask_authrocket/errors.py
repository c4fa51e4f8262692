"""The exceptions flask-authrocket raises, under one base class.

Third-party errors (PyJWT, cryptography, requests) never leave the public API
unwrapped: they are raised again as one of these, chained with ``from``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Rejection, TokenSource


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
    not count, when one was sent, and ``source`` where that token came from:
    ``"query"``, ``"bearer"`` or ``"cookie"`` (``None`` when none was sent).
    A rejected ``"query"`` token (LoginRocket sent the browser back with a
    token this app refuses) is answered with a 401 page, never a redirect
    to LoginRocket, which would send it back again in a loop.
    """

    def __init__(
        self, message: str = "Login required.", *, rejection: Rejection | None = None, source: TokenSource | None = None
    ) -> None:
        super().__init__(message)
        self.rejection = rejection
        self.source = source


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


class ApiError(AuthRocketError):
    """The AuthRocket Core API answered with an error, or did not answer.

    ``status`` is the HTTP status (``None`` when there was no answer),
    ``errors`` the API's own messages and ``retry_after`` the seconds the API
    asked to wait (``Retry-After``, on 429 and 503), when it said. The message
    names the call (``GET users/usr_123``) but never the API key, and login
    tokens in the path are shown as ``<token>``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: Sequence[str] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = tuple(errors)
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, status={self.status!r})"


class AccountInactive(ApiError):
    """402: the AuthRocket account is inactive."""


class AccessDenied(ApiError):
    """403: the API key is wrong, or lacks the permission for this call."""


class RecordNotFound(ApiError):
    """404: no such record (raised by ``find``, as in the Ruby and Node clients; ``retrieve`` returns ``None``)."""


class ValidationError(ApiError):
    """409 or 422: the API refused the change; ``errors`` lists its messages."""


class RateLimited(ApiError):
    """429: too many requests; ``retry_after`` says how many seconds to wait, when the API says."""

    def __init__(
        self, message: str, *, status: int | None = 429, errors: Sequence[str] = (), retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status, errors=errors, retry_after=retry_after)


class ClientError(ApiError):
    """Another 4xx answer: the request was wrong."""


class AuthenticationFailed(ClientError):
    """401: an authentication call of the API (a login, a code for a token) failed; the API key itself is fine.

    As the PHP client's ``AuthenticationFailed``. A wrong API key is 403,
    :class:`AccessDenied`. A subclass of :class:`ClientError`, so an
    ``except ClientError`` written before it existed still catches it.
    """


class ServerError(ApiError):
    """A 5xx answer: the API failed (502, 503 and 504 are retried for idempotent calls)."""


class ApiUnavailable(ApiError):
    """No usable answer: the connection was refused, the call timed out, or the body was not the API's JSON.

    ``status`` is ``None`` when nothing answered (such calls are retried when
    they are idempotent), else the status of the unreadable answer (which
    usually means ``AUTHROCKET_URL`` points somewhere other than the API).
    """
