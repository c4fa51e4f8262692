"""The development Core API's wire format: fields read from requests, records written as JSON, refusals.

Shared by the API's resources (:mod:`flask_authrocket.dev.api_users`,
:mod:`flask_authrocket.dev.api_orgs`) and its every-call handling
(:mod:`flask_authrocket.dev.api`):

* create and update take the fields inside the root element
  (``{"user": {...}}``); unknown fields are refused;
* a refusal is 422 (invalid) or 409 (a conflict) with ``{"errors": [...]}``;
  an unknown id is a 404 with an empty body (AuthRocket's SDKs read any 404 as "not
  found" and never its body: authrocket-js ``authrocket-node/lib/authrocket.js``
  ``handleError``, authrocket-php ``lib/AuthRocket.php`` ``checkError``), so clients
  must take an empty 404 for "not found" too;
* a record is a JSON object with ``object`` and ``id``; a list is
  ``{"collection": [...], "more_results": bool}``;
* a change may carry a ``request`` beside its root element
  (``{"session": {...}, "request": {"ip": ..., "client": ...}}``), as the node and PHP
  clients' ``buildRoot`` sends it: :func:`request_data` reads it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any, TypeVar

from flask import Response, jsonify, request

from .realm import REALM_ID, current_realm
from .records import (
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MIN_PASSWORD_LENGTH,
    ConflictError,
    DirectoryMembership,
    DirectoryOrg,
    DirectoryUser,
    LoginSession,
    UsernameTakenError,
)
from .store import current_store

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

_STATES = ("active", "inactive")
#: An org may also be closed (``DELETE /v2/orgs/<id>`` without ``force``), and opened again by an update.
_ORG_STATES = ("active", "inactive", "closed")


class Refusal(Exception):
    """An error answer of the API: ``status`` and ``{"errors": [...]}``."""

    def __init__(self, status: int, *errors: str) -> None:
        super().__init__(status, *errors)
        self.status = status
        self.errors = errors


def paging() -> tuple[int, str | None]:
    """``max_results`` (default 100, at most 1000; else 422) and ``after`` of a list call."""
    raw = request.args.get("max_results")
    limit = DEFAULT_PAGE_SIZE
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise Refusal(422, f"max_results must be a whole number from 1 to {MAX_PAGE_SIZE}.")
    return limit, request.args.get("after") or None


def read_fields(root: str, allowed: frozenset[str]) -> dict[str, Any]:
    """The fields of a create or update, from ``{"<root>": {...}}``; unknown fields are refused."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get(root), dict):
        raise Refusal(422, f'Send the fields inside a "{root}" object: {{"{root}": {{...}}}}.')
    fields: dict[str, Any] = dict(body[root])
    if "request" in fields and "request" not in allowed:
        raise Refusal(
            422, f'Send "request" beside the "{root}" object, not inside it: {{"{root}": {{...}}, "request": {{...}}}}.'
        )
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise Refusal(422, *(f"Unknown field: {name}." for name in unknown))
    return fields


def optional_fields(root: str, allowed: frozenset[str]) -> dict[str, Any]:
    """The fields of an action whose body may be left out (``{"<root>": {...}}``, ``{"<root>": null}`` or nothing)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get(root) is None:
        return {}
    return read_fields(root, allowed)


#: The most a ``request`` may hold: entries, and characters per value.
MAX_REQUEST_ENTRIES = 10
MAX_REQUEST_VALUE = 1000


def request_data() -> dict[str, str] | None:
    """The ``request`` sent beside the root element (``{"ip": ..., "client": ...}``), or ``None``; 422 when unusable."""
    body = request.get_json(silent=True)
    found = body.get("request") if isinstance(body, dict) else None
    if found is None:
        return None
    if (
        not isinstance(found, dict)
        or len(found) > MAX_REQUEST_ENTRIES
        or not all(isinstance(value, str) and len(value) <= MAX_REQUEST_VALUE for value in found.values())
    ):
        raise Refusal(
            422,
            f'"request" must be an object of at most {MAX_REQUEST_ENTRIES} strings of at most {MAX_REQUEST_VALUE} '
            'characters, such as {"ip": "10.0.0.1", "client": "Firefox/128"}.',
        )
    return {str(name): value for name, value in found.items()}


def checked_string(
    fields: Mapping[str, Any], name: str, errors: list[str], *, max_length: int = MAX_NAME_LENGTH
) -> str | None:
    """``fields[name]`` stripped (``None`` when absent); not a string or too long: ``None``, problem in ``errors``."""
    value = fields.get(name)
    if value is None:
        return None
    label = name.replace("_", " ").capitalize()
    if not isinstance(value, str):
        errors.append(f"{label} must be a string.")
        return None
    value = value.strip()
    if len(value) > max_length:
        errors.append(f"{label} is too long (maximum is {max_length} characters).")
        return None
    return value


def checked_choice(fields: Mapping[str, Any], name: str, choices: tuple[str, ...], errors: list[str]) -> str | None:
    """``fields[name]`` when it is one of ``choices``; else ``None``, with the problem added to ``errors``."""
    value = fields.get(name)
    if value not in choices:
        label = name.replace("_", " ").capitalize()
        errors.append(f"{label} must be one of: {', '.join(choices)}.")
        return None
    return str(value)


def checked_custom(fields: Mapping[str, Any], errors: list[str]) -> dict[str, Any]:
    """The ``custom`` object of ``fields`` (``{}`` when absent); not an object: ``{}``, problem in ``errors``."""
    value = fields.get("custom")
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append("Custom must be an object.")
        return {}
    return value


def checked_permissions(fields: Mapping[str, Any], errors: list[str]) -> list[str]:
    """The ``permissions`` of ``fields``, without repeats; not a list of names: ``[]``, problem in ``errors``."""
    value = fields.get("permissions", [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        errors.append("Permissions must be a list of names.")
        return []
    return list(dict.fromkeys(value))


def user_changes(fields: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """The checked changes a user's fields ask for, in the directory's terms; 422 with every problem."""
    errors: list[str] = []
    changes: dict[str, Any] = {}
    for name in ("first_name", "last_name"):
        if name in fields:
            changes[name] = checked_string(fields, name, errors) or ""
    if creating or "email" in fields:
        email = checked_string(fields, "email", errors, max_length=MAX_EMAIL_LENGTH)
        if not email or "@" not in email or any(char.isspace() for char in email):
            errors.append("Email is invalid.")
        else:
            changes["email"] = email
    if "username" in fields:
        username = checked_string(fields, "username", errors)
        if username and ("@" in username or any(char.isspace() for char in username)):
            errors.append("Username may not contain spaces or @.")
        changes["username"] = username or None
    _shared_changes(fields, errors, changes)
    if "email_verification" in fields:
        changes["email_verified"] = (
            checked_choice(fields, "email_verification", ("verified", "none"), errors) == "verified"
        )
    if fields.get("password") is not None:
        password = fields["password"]
        if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
            errors.append(f"Password is too short (minimum is {MIN_PASSWORD_LENGTH} characters).")
        elif fields.get("password_confirmation") not in (None, password):
            errors.append("Password confirmation doesn't match Password.")
        else:
            changes["password"] = password
    if errors:
        raise Refusal(422, *errors)
    return changes


def org_changes(fields: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """The checked changes an org's fields ask for; 422 with every problem."""
    errors: list[str] = []
    changes: dict[str, Any] = {}
    if creating or "name" in fields:
        name = checked_string(fields, "name", errors)
        if not name:
            errors.append("Name can't be blank.")
        changes["name"] = name
    _shared_changes(fields, errors, changes, states=_ORG_STATES)
    if errors:
        raise Refusal(422, *errors)
    return changes


def _shared_changes(
    fields: Mapping[str, Any], errors: list[str], changes: dict[str, Any], *, states: tuple[str, ...] = _STATES
) -> None:
    """The fields users and orgs share (``reference``, ``custom``, ``state``), checked into ``changes``."""
    if "reference" in fields:
        changes["reference"] = checked_string(fields, "reference", errors, max_length=255) or None
    if "custom" in fields:
        changes["custom"] = checked_custom(fields, errors)
    if "state" in fields:
        changes["state"] = checked_choice(fields, "state", states, errors)


def record_or_404(record: T | None) -> T:
    """``record``, or a 404 (with an empty body, as :func:`not_found`)."""
    if record is None:
        raise not_found()
    return record


def user_or_404(user_id: str) -> DirectoryUser:
    """The user ``user_id``, or a 404 refusal."""
    return record_or_404(current_realm().directory.user(user_id))


def org_or_404(org_id: str) -> DirectoryOrg:
    """The org ``org_id``, or a 404 refusal."""
    return record_or_404(current_realm().directory.org(org_id))


def membership_or_404(membership_id: str) -> DirectoryMembership:
    """The membership ``membership_id``, or a 404 refusal."""
    return record_or_404(current_realm().directory.membership_by_id(membership_id))


def not_found() -> Refusal:
    """The 404 refusal for an unknown id: an empty body (see the module's notes)."""
    return Refusal(404)


def conflict(exc: ConflictError) -> Refusal:
    """The 409 refusal for a taken email or username."""
    field = "Username" if isinstance(exc, UsernameTakenError) else "Email"
    return Refusal(409, f"{field} has already been taken.")


def error_answer(status: int, *messages: str, retry_after: float | None = None) -> Response:
    """An error answer: ``status``, ``{"errors": [...]}`` and, when given, ``Retry-After``; no messages: no body."""
    if messages:
        response = jsonify({"errors": list(messages)})
        response.status_code = status
    else:
        response = Response(status=status)
        del response.headers["Content-Type"]
    if retry_after is not None:
        response.headers["Retry-After"] = f"{retry_after:g}"
    return response


def collection(items: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    """A list answer: ``{"collection": items, "more_results": more}``."""
    return {"collection": items, "more_results": more}


def user_json(user: DirectoryUser, *, memberships: bool = False) -> dict[str, Any]:
    """A user record as the Core API sends it; ``memberships=True`` adds them."""
    body: dict[str, Any] = {
        "object": "user",
        "id": user.id,
        "realm_id": REALM_ID,
        "user_type": "human",
        "email": user.email,
        "username": user.username,
        "first_name": user.first_name or None,
        "last_name": user.last_name or None,
        "name": " ".join(part for part in (user.first_name, user.last_name) if part) or None,
        "state": user.state,
        "email_verification": "verified" if user.email_verified else "none",
        "reference": user.reference,
        "custom": dict(user.custom),
        "locale": None,
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
    }
    if memberships:
        body["memberships"] = [membership_json(item) for item in current_realm().directory.memberships(user.id)]
        body["credentials"] = [
            credential for credential in current_store().all("credentials") if credential.get("user_id") == user.id
        ]
    return body


def org_json(org: DirectoryOrg) -> dict[str, Any]:
    """An org record as the Core API sends it."""
    return {
        "object": "org",
        "id": org.id,
        "realm_id": REALM_ID,
        "name": org.name,
        "state": org.state,
        "reference": org.reference,
        "custom": dict(org.custom),
        "created_at": org.created_at,
    }


def membership_json(membership: DirectoryMembership) -> dict[str, Any]:
    """A membership record as the Core API sends it, with its org's id and name."""
    return {
        "object": "membership",
        "id": membership.id,
        "user_id": membership.user_id,
        "org_id": membership.org_id,
        "permissions": list(membership.permissions),
        "selected": membership.selected,
        "created_at": membership.created_at,
        "org": {"object": "org", "id": membership.org_id, "name": membership.org_name},
    }


def session_json(
    session: LoginSession,
    user: DirectoryUser | None,
    *,
    expires_at: float | None = None,
    token: str | None = None,
    memberships: bool = False,
) -> dict[str, Any]:
    """A session record as the Core API sends it, with its user and, when given, its expiry and token."""
    body: dict[str, Any] = {
        "object": "session",
        "id": session.id,
        "user_id": session.user_id,
        "client_app_id": None,
        "created_at": session.created_at,
        "expires_at": expires_at,
        "request": dict(session.request) if session.request else None,
        "user": user_json(user, memberships=memberships) if user is not None else None,
    }
    if token is not None:
        body["token"] = token
    return body


def token_json(token: str, user_id: str, ttl: int) -> dict[str, Any]:
    """A ``token`` record (password reset, email verification) that lasts ``ttl`` seconds."""
    return {
        "object": "token",
        "id": "tok_" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:20],
        "token": token,
        "user_id": user_id,
        "expires_at": int(time.time()) + ttl,
    }


def realm_json() -> dict[str, Any]:
    """The development realm's record."""
    return {"object": "realm", "id": REALM_ID, "name": "Development realm", "state": "active"}
