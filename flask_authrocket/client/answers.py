"""What the Core API answers, read: JSON bodies, errors by status, records; and paths shown safely.

Ground floor, no Flask. :func:`read_answer` turns one HTTP answer into its JSON or raises the
:class:`~flask_authrocket.errors.ApiError` its status means, with the API's own messages and
never the API key; :func:`read_record` turns JSON into a typed record, or raises
:class:`~flask_authrocket.errors.ApiError` saying the answer cannot be read.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import (
    AccessDenied,
    AccountInactive,
    ApiError,
    ApiUnavailable,
    AuthenticationFailed,
    ClientError,
    RateLimited,
    RecordNotFound,
    ServerError,
    ValidationError,
)
from ..fetch import parse_json
from ..records import Record, SessionRecord, TokenRecord, record_from_json

if TYPE_CHECKING:
    import requests

R = TypeVar("R", bound=Record)

_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_MAX_ERROR_MESSAGES = 20
_MAX_ERROR_LENGTH = 500


def shown_path(path: str) -> str:
    """``path`` for messages and logs, with login tokens (JWTs) shown as ``<token>``."""
    return "/".join("<token>" if _JWT.match(part) else part for part in path.split("/"))


#: Per status: the exception, a short summary, and what to do about it.
_STATUS_ERRORS: dict[int, tuple[type[ApiError], str, str]] = {
    401: (AuthenticationFailed, "authentication failed", ""),
    402: (AccountInactive, "account inactive", "log in to the AuthRocket portal to check the account's status"),
    403: (AccessDenied, "access denied", "check AUTHROCKET_API_KEY, AUTHROCKET_REALM and the key's permissions"),
    404: (RecordNotFound, "not found", ""),
    409: (ValidationError, "the change was refused", ""),
    422: (ValidationError, "the change was refused", ""),
    429: (RateLimited, "rate limited", ""),
}


def read_answer(method: str, path: str, response: requests.Response, body: bytes, api_key: str) -> Any:
    """The decoded JSON of a 2xx answer to ``method path`` (``None`` when empty); any other answer raised as its
    :class:`ApiError`.

    ``body`` is the answer's body, read (and bounded) by the transport. ``api_key`` is
    scrubbed from the API's messages. A 404 is :class:`RecordNotFound` when its body is
    empty or JSON, as AuthRocket's node and PHP clients read any 404; a 404 with another
    body (an HTML page from a proxy, another host) is :class:`ApiUnavailable` (which the
    transport logs, naming ``AUTHROCKET_URL``), so that a wrong URL never reads as "every
    record is gone" (which would log every managed session out).
    """
    shown = shown_path(path)
    status = response.status_code
    if 200 <= status < 300:
        if status == 204 or not body:
            return None
        try:
            return parse_json(body)
        except ValueError:  # not JSON at all, or nested absurdly deep
            raise ApiUnavailable(
                f"AuthRocket API {method} {shown} answered {status} with a body that is not JSON; "
                "check AUTHROCKET_URL (the API's URL ends in /v2).",
                status=status,
            ) from None
    if status < 400:
        raise ApiUnavailable(
            f"AuthRocket API {method} {shown} answered {status}, a redirect, which is not followed "
            "(it would carry the API key elsewhere); check AUTHROCKET_URL.",
            status=status,
        )
    if status == 404 and body.strip() and not _is_json(body):
        # Not the API's "no such record" (empty, or JSON) but a page from some other
        # server: most likely AUTHROCKET_URL is wrong. Never report every record missing.
        raise ApiUnavailable(
            f"AuthRocket API {method} {shown} answered 404 with a body that is not JSON; "
            "check AUTHROCKET_URL (the API's URL ends in /v2).",
            status=status,
        )
    errors = tuple(_scrub(message, api_key) for message in _error_messages(body))
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if status in _STATUS_ERRORS:
        kind, summary, hint = _STATUS_ERRORS[status]
    elif status < 500:
        kind, summary, hint = ClientError, "client error", ""
    else:
        kind, summary, hint = ServerError, "server error", ""
    if retry_after is not None:
        hint = f"retry after {retry_after:g} s"
    message = f"AuthRocket API {method} {shown} answered {status}: {'; '.join(errors) or summary}"
    if hint:
        message += f" ({hint})"
    raise kind(message, status=status, errors=errors, retry_after=retry_after)


def _is_json(body: bytes) -> bool:
    try:
        parse_json(body)
    except ValueError:
        return False
    return True


def _error_messages(body: bytes) -> list[str]:
    """The API's messages: ``{"errors": [...]}`` (or ``{"error": "..."}``); none from other bodies."""
    if not body:
        return []
    try:
        data = parse_json(body)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    errors = data.get("errors")
    if isinstance(errors, str):
        errors = [errors]
    if not isinstance(errors, list):
        single = data.get("error")
        errors = [single] if isinstance(single, str) else []
    return [str(item)[:_MAX_ERROR_LENGTH] for item in errors[:_MAX_ERROR_MESSAGES] if item]


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (a number, or an HTTP date), or ``None``."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def unreadable(method: str, path: str, what: str) -> ApiError:
    """The error for an answer to ``method path`` that is not what the call answers: ``what`` it was instead."""
    return ApiError(f"AuthRocket API {method} {shown_path(path)} answered {what}.")


def read_record(record_type: type[R], data: Any, method: str, path: str) -> R:
    """``data`` read as a ``record_type``; raises :class:`ApiError` saying the answer cannot be read."""
    try:
        return record_type.from_json(data)
    except ValueError as exc:
        raise unreadable(method, path, f"a record that cannot be read: {exc}") from exc


def read_any_record(data: Any, method: str, path: str, default: type[Record]) -> Record:
    """``data`` read as the record its ``object`` names (else ``default``); raises :class:`ApiError` as above."""
    try:
        return record_from_json(data, default)
    except ValueError as exc:
        raise unreadable(method, path, f"a record that cannot be read: {exc}") from exc


def session_or_token(data: Any, method: str, path: str) -> SessionRecord | TokenRecord:
    """A login's answer: a session (logged in) or a token (a second factor is needed); else :class:`ApiError`."""
    record = read_any_record(data, method, path, SessionRecord)
    if not isinstance(record, (SessionRecord, TokenRecord)):
        raise unreadable(method, path, f"a {record.object}, not a session or token")
    return record


def _scrub(text: str, api_key: str) -> str:
    return text.replace(api_key, "<api key>") if api_key else text
