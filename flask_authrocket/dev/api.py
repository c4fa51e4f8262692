"""The development LoginRocket's Core API, under ``/v2``: users, orgs, memberships, sessions, realms.

The same wire format as AuthRocket's Core API, backed by the SQLite
directory the hosted pages use, so an app's :class:`~flask_authrocket.AuthRocketClient`
works against it unchanged (``AUTHROCKET_URL = <LoginRocket URL>v2``):

* every call carries ``Authrocket-Api-Key`` (the realm's ``api_key``; wrong or
  missing: 403) and, optionally, ``Authrocket-Realm: rl_dev`` (another realm: 403);
* a record is a JSON object with ``object`` and ``id``; a list is
  ``{"collection": [...], "more_results": bool}``, ordered by id, ``max_results``
  records (default 100, at most 1000) after the id ``after``;
* create and update take the fields inside the root element
  (``{"user": {...}}``); refusals are 422 (invalid) or 409 (a conflict, such
  as a taken email) with ``{"errors": ["..."]}``; unknown ids and endpoints are
  404 with ``{"errors": [...]}``.

``/v2/_dev/faults`` and ``/v2/_dev/stats`` are for tests and benchmarks:
see :mod:`flask_authrocket.dev` for them and for the list of endpoints.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from .directory import (
    ConflictError,
    DirectoryError,
    DirectoryMembership,
    DirectoryOrg,
    DirectoryUser,
    LoginSession,
    UsernameTakenError,
)
from .realm import REALM_ID, Realm, current_realm
from .traffic import AFTER, BEFORE, Fault

core_api = Blueprint("core_api", __name__, url_prefix="/v2")
T = TypeVar("T")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
#: Seconds a password-reset token lasts; an email-verification token lasts a day.
PASSWORD_TOKEN_TTL = 3600
EMAIL_TOKEN_TTL = 24 * 3600

_MIN_PASSWORD = 8
_MAX_NAME = 100
_MAX_EMAIL = 254
_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

_USER_FIELDS = frozenset(
    {
        "email",
        "password",
        "password_confirmation",
        "first_name",
        "last_name",
        "username",
        "reference",
        "custom",
        "state",
        "email_verification",
    }
)

_PROFILE_FIELDS = frozenset({"email", "password", "password_confirmation", "first_name", "last_name", "username"})
_PASSWORD_FIELDS = frozenset({"current_password", "password", "password_confirmation"})
_ORG_FIELDS = frozenset({"name", "reference", "custom", "state"})
_STATES = ("active", "inactive")

_FAULT_MESSAGES = {
    402: "This account is inactive.",
    403: "Access denied.",
    404: "Record not found.",
    409: "This change conflicts with another record.",
    422: "Validation failed.",
    429: "Rate limit exceeded.",
    500: "Internal server error.",
    502: "Bad gateway.",
    503: "Service unavailable.",
    504: "Gateway timeout.",
}


class Refusal(Exception):
    """An error answer of the API: ``status`` and ``{"errors": [...]}``."""

    def __init__(self, status: int, *errors: str) -> None:
        super().__init__(status, *errors)
        self.status = status
        self.errors = errors


# Every call ----------------------------------------------------------------------------------


@core_api.before_request
def _check_call() -> ResponseReturnValue | None:
    """The API key on every call; the realm header, and faults, on every call but ``_dev/``."""
    realm = current_realm()
    given = request.headers.get("Authrocket-Api-Key", "")
    if not hmac.compare_digest(given.encode("utf-8"), realm.api_key.encode("utf-8")):
        raise Refusal(
            403,
            "Invalid API key: send the development LoginRocket's key in the Authrocket-Api-Key header "
            "(DEV_LOGINROCKET_API_KEY, or the file dev_loginrocket_api_key in its instance folder).",
        )
    if _is_dev_call():
        return None
    realm_id = request.headers.get("Authrocket-Realm")
    if realm_id and realm_id != REALM_ID:
        raise Refusal(
            403, f"This API key has no access to realm {realm_id}; the development LoginRocket serves {REALM_ID} only."
        )
    fault = realm.traffic.take_fault(request.method, _api_path(), BEFORE)
    return _fault_answer(fault) if fault is not None else None


@core_api.after_request
def _finish(response: Response) -> Response:
    """Apply an ``after`` fault, count the call (``_dev/`` calls are not counted), never cache."""
    if not _is_dev_call():
        traffic = current_realm().traffic
        fault = traffic.take_fault(request.method, _api_path(), AFTER)
        if fault is not None:
            response = _fault_answer(fault)
        rule = (
            request.url_rule.rule if request.url_rule is not None and request.endpoint != "core_api.unknown" else None
        )
        traffic.record(
            f"{request.method} {rule or request.path}",
            {
                "method": request.method,
                "path": request.path,
                "query": request.query_string.decode("latin-1"),
                "status": response.status_code,
                "accept_language": request.headers.get("Accept-Language"),
                "realm": request.headers.get("Authrocket-Realm"),
                "service": request.headers.get("Authrocket-Service"),
                "user_agent": request.headers.get("User-Agent"),
            },
        )
    response.headers["Cache-Control"] = "no-store"
    return response


@core_api.errorhandler(Refusal)
def _refused(refusal: Refusal) -> Response:
    return _errors(refusal.status, *refusal.errors)


@core_api.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return _errors(error.code or 500, error.description or error.name)


# Users -----------------------------------------------------------------------------------------


@core_api.get("/users")
def list_users() -> ResponseReturnValue:
    """Users, filtered by ``email`` and ``state``."""
    limit, after = _paging()
    users, more = _realm().directory.list_users(
        limit=limit, after=after, email=request.args.get("email"), state=request.args.get("state")
    )
    return _collection([_user_json(user) for user in users], more)


@core_api.get("/users/<user_id>")
def get_user(user_id: str) -> ResponseReturnValue:
    """One user, with their memberships."""
    return _user_json(_user_or_404(user_id), memberships=True)


@core_api.post("/users")
def create_user() -> ResponseReturnValue:
    """Create a user: ``email`` is required; without ``password`` nobody can log in with one."""
    changes = _user_changes(_fields("user", _USER_FIELDS), creating=True)
    try:
        user = _realm().directory.create_user(
            email=changes["email"],
            password=changes.get("password"),
            first_name=changes.get("first_name", ""),
            last_name=changes.get("last_name", ""),
            username=changes.get("username"),
            reference=changes.get("reference"),
            custom=changes.get("custom"),
            email_verified=changes.get("email_verified", False),
            state=changes.get("state", "active"),
        )
    except ConflictError as exc:
        raise _conflict(exc) from exc
    return _user_json(user, memberships=True), 201


@core_api.put("/users/<user_id>")
def update_user(user_id: str) -> ResponseReturnValue:
    """Change any of a user's fields."""
    return _change_user(_user_or_404(user_id), _user_changes(_fields("user", _USER_FIELDS), creating=False))


@core_api.delete("/users/<user_id>")
def delete_user(user_id: str) -> ResponseReturnValue:
    """Delete a user, their memberships and their sessions."""
    return _deleted(_realm().directory.delete_user(user_id), "user", user_id)


@core_api.post("/users/<login>/authenticate")
def authenticate(login: str) -> ResponseReturnValue:
    """Check a password (``login`` is an id, email or username); a new session with its token."""
    fields = _fields("user", frozenset({"password"}))
    password = fields.get("password")
    directory = _realm().directory
    user = directory.user_by_login(login)
    if user is None or not isinstance(password, str) or not directory.check_password(user.id, password):
        raise Refusal(422, "Login or password is incorrect.")
    if user.state != "active":
        raise Refusal(422, "This user is inactive.")
    return _new_session(user)


@core_api.post("/users/authenticate_token")
def authenticate_token() -> ResponseReturnValue:
    """The second step of a login; the development realm has no second factors, so no token is valid."""
    _fields("user", frozenset({"token", "code"}))
    raise Refusal(422, "Token is invalid or expired.")


@core_api.put("/users/<user_id>/update_password")
def update_password(user_id: str) -> ResponseReturnValue:
    """Set a new password, checking ``current_password`` when it is sent."""
    user = _user_or_404(user_id)
    fields = _fields("user", _PASSWORD_FIELDS)
    current = fields.pop("current_password", None)
    if current is not None and not (isinstance(current, str) and _realm().directory.check_password(user.id, current)):
        raise Refusal(422, "Current password is incorrect.")
    if not fields.get("password"):
        raise Refusal(422, "Password can't be blank.")
    return _change_user(user, _user_changes(fields, creating=False))


@core_api.put("/users/<user_id>/profile")
def update_profile(user_id: str) -> ResponseReturnValue:
    """Change what a user may change of themselves: email, names, username, password."""
    return _change_user(_user_or_404(user_id), _user_changes(_fields("user", _PROFILE_FIELDS), creating=False))


@core_api.post("/users/<user_id>/generate_password_token")
def generate_password_token(user_id: str) -> ResponseReturnValue:
    """A token for ``reset_password_with_token``: one use, for an hour."""
    user = _user_or_404(user_id)
    fingerprint = _realm().directory.password_fingerprint(user.id)
    token = _serializer("password").dumps({"user": user.id, "password": fingerprint})
    return _token_json(token, user.id, PASSWORD_TOKEN_TTL)


@core_api.post("/users/reset_password_with_token")
def reset_password_with_token() -> ResponseReturnValue:
    """Set a new password with a token from ``generate_password_token``; the user is logged in."""
    fields = _fields("user", frozenset({"token", "password", "password_confirmation"}))
    directory = _realm().directory
    data = _token_data("password", fields.pop("token", None), PASSWORD_TOKEN_TTL)
    user = directory.user(str(data.get("user")))
    if user is None or directory.password_fingerprint(user.id) != data.get("password"):
        raise Refusal(422, "Token is invalid or expired.")  # used already: the password changed since
    if not fields.get("password"):
        raise Refusal(422, "Password can't be blank.")
    _change_user(user, _user_changes(fields, creating=False))
    return _new_session(user)


@core_api.post("/users/<user_id>/request_email_verification")
def request_email_verification(user_id: str) -> ResponseReturnValue:
    """A token for ``verify_email``, bound to the user's current email address, for a day."""
    user = _user_or_404(user_id)
    token = _serializer("email").dumps({"user": user.id, "email": user.email})
    return _token_json(token, user.id, EMAIL_TOKEN_TTL)


@core_api.post("/users/verify_email")
def verify_email() -> ResponseReturnValue:
    """Mark the email address verified with a token from ``request_email_verification``."""
    fields = _fields("user", frozenset({"token"}))
    data = _token_data("email", fields.get("token"), EMAIL_TOKEN_TTL)
    user = _realm().directory.user(str(data.get("user")))
    if user is None or user.email != data.get("email"):
        raise Refusal(422, "Token is invalid or expired.")
    return _change_user(user, {"email_verified": True})


# Orgs ------------------------------------------------------------------------------------------


@core_api.get("/orgs")
def list_orgs() -> ResponseReturnValue:
    """Orgs, filtered by ``state``."""
    limit, after = _paging()
    orgs, more = _realm().directory.list_orgs(limit=limit, after=after, state=request.args.get("state"))
    return _collection([_org_json(org) for org in orgs], more)


@core_api.get("/orgs/<org_id>")
def get_org(org_id: str) -> ResponseReturnValue:
    """One org."""
    return _org_json(_org_or_404(org_id))


@core_api.post("/orgs")
def create_org() -> ResponseReturnValue:
    """Create an org: ``name`` is required."""
    changes = _org_changes(_fields("org", _ORG_FIELDS), creating=True)
    org = _realm().directory.create_org(
        name=changes["name"],
        reference=changes.get("reference"),
        custom=changes.get("custom"),
        state=changes.get("state", "active"),
    )
    return _org_json(org), 201


@core_api.put("/orgs/<org_id>")
def update_org(org_id: str) -> ResponseReturnValue:
    """Change an org's name, reference, custom data or state."""
    _org_or_404(org_id)
    changes = _org_changes(_fields("org", _ORG_FIELDS), creating=False)
    return _org_json(_found(_realm().directory.update_org(org_id, changes), "org", org_id))


@core_api.delete("/orgs/<org_id>")
def delete_org(org_id: str) -> ResponseReturnValue:
    """Delete an org and its memberships."""
    return _deleted(_realm().directory.delete_org(org_id), "org", org_id)


# Memberships -----------------------------------------------------------------------------------


@core_api.get("/memberships")
def list_memberships() -> ResponseReturnValue:
    """Memberships, filtered by ``user_id`` and ``org_id``."""
    limit, after = _paging()
    memberships, more = _realm().directory.list_memberships(
        limit=limit, after=after, user_id=request.args.get("user_id"), org_id=request.args.get("org_id")
    )
    return _collection([_membership_json(membership) for membership in memberships], more)


@core_api.get("/memberships/<membership_id>")
def get_membership(membership_id: str) -> ResponseReturnValue:
    """One membership."""
    return _membership_json(_membership_or_404(membership_id))


@core_api.post("/memberships")
def create_membership() -> ResponseReturnValue:
    """Make a user a member of an org: ``user_id`` and ``org_id`` required, ``permissions`` optional."""
    fields = _fields("membership", frozenset({"user_id", "org_id", "permissions"}))
    errors: list[str] = []
    user_id = _string(fields, "user_id", errors)
    org_id = _string(fields, "org_id", errors)
    permissions = _permissions(fields, errors)
    for name, value in (("User", user_id), ("Org", org_id)):
        if not value:
            errors.append(f"{name} can't be blank.")
    if errors:
        raise Refusal(422, *errors)
    assert user_id and org_id
    try:
        membership = _realm().directory.create_membership(user_id=user_id, org_id=org_id, permissions=permissions)
    except ConflictError as exc:
        raise Refusal(409, str(exc)) from exc
    except DirectoryError as exc:
        raise Refusal(422, str(exc)) from exc
    return _membership_json(membership), 201


@core_api.put("/memberships/<membership_id>")
def update_membership(membership_id: str) -> ResponseReturnValue:
    """Replace a membership's permissions (its user and org never change)."""
    _membership_or_404(membership_id)
    fields = _fields("membership", frozenset({"permissions"}))
    errors: list[str] = []
    permissions = _permissions(fields, errors)
    if errors:
        raise Refusal(422, *errors)
    membership = _realm().directory.update_membership(membership_id, permissions=permissions)
    return _membership_json(_found(membership, "membership", membership_id))


@core_api.delete("/memberships/<membership_id>")
def delete_membership(membership_id: str) -> ResponseReturnValue:
    """Delete a membership."""
    return _deleted(_realm().directory.delete_membership(membership_id), "membership", membership_id)


# Sessions --------------------------------------------------------------------------------------


@core_api.get("/sessions")
def list_sessions() -> ResponseReturnValue:
    """Sessions still on (not logged out), filtered by ``user_id``."""
    limit, after = _paging()
    directory = _realm().directory
    sessions, more = directory.list_sessions(limit=limit, after=after, user_id=request.args.get("user_id"))
    return _collection([_session_json(session, directory.user(session.user_id)) for session in sessions], more)


@core_api.get("/sessions/<session_ref>")
def get_session(session_ref: str) -> ResponseReturnValue:
    """A live session, by its id (``kss_...``) or by a login token of it; logged out anywhere: 404."""
    session, expires_at = _live_session_or_404(session_ref)
    user = _realm().directory.user(session.user_id)
    return _session_json(session, user, expires_at=expires_at, memberships=True)


@core_api.post("/sessions")
def create_session() -> ResponseReturnValue:
    """Log a user in without a password (``{"session": {"user_id": ...}}``): the session and its token."""
    fields = _fields("session", frozenset({"user_id"}))
    user = _realm().directory.user(str(fields.get("user_id") or ""))
    if user is None:
        raise Refusal(422, "User not found.")
    return _new_session(user, status=201)


@core_api.delete("/sessions/<session_ref>")
def delete_session(session_ref: str) -> ResponseReturnValue:
    """End a session (a logout everywhere), by id or token; unknown or ended already: 404."""
    session, _ = _live_session_or_404(session_ref)
    _realm().directory.end_session(session.id)
    return {"object": "session", "id": session.id}


# Realms ----------------------------------------------------------------------------------------


@core_api.get("/realms")
def list_realms() -> ResponseReturnValue:
    """The one realm of the development LoginRocket."""
    return _collection([_realm_json()], False)


@core_api.get("/realms/<realm_id>")
def get_realm(realm_id: str) -> ResponseReturnValue:
    """The development realm, ``rl_dev``."""
    if realm_id != REALM_ID:
        raise _not_found("realm", realm_id)
    return _realm_json()


# For tests and benchmarks ----------------------------------------------------------------------


@core_api.get("/_dev/stats")
def stats() -> ResponseReturnValue:
    """Calls counted per method and route, and the recent calls with their headers."""
    return _realm().traffic.stats()


@core_api.delete("/_dev/stats")
def reset_stats() -> ResponseReturnValue:
    """Start counting from zero."""
    _realm().traffic.reset_stats()
    return "", 204


@core_api.get("/_dev/faults")
def list_faults() -> ResponseReturnValue:
    """The faults still queued."""
    return {"faults": [fault.to_json() for fault in _realm().traffic.faults()]}


@core_api.post("/_dev/faults")
def add_fault() -> ResponseReturnValue:
    """Queue a fault: ``{"status": 503, "count": 2, "retry_after": 1, ...}`` (see :class:`Fault`)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Refusal(422, 'Send a JSON object such as {"status": 503, "count": 2, "retry_after": 1}.')
    fault = _fault_from(body)
    traffic = _realm().traffic
    traffic.add_fault(fault)
    return {"faults": [queued.to_json() for queued in traffic.faults()]}, 201


@core_api.delete("/_dev/faults")
def clear_faults() -> ResponseReturnValue:
    """Drop every queued fault."""
    _realm().traffic.clear_faults()
    return "", 204


@core_api.route("/", defaults={"rest": ""}, methods=_ALL_METHODS)
@core_api.route("/<path:rest>", methods=_ALL_METHODS)
def unknown(rest: str) -> ResponseReturnValue:
    """Anything else under ``/v2``: a JSON 404."""
    raise Refusal(
        404,
        f"No such API endpoint: {request.method} {request.path}. The development LoginRocket serves "
        "users, orgs, memberships, sessions and realms.",
    )


# Reading requests ------------------------------------------------------------------------------


def _realm() -> Realm:
    return current_realm()


def _is_dev_call() -> bool:
    return request.path == "/v2/_dev" or request.path.startswith("/v2/_dev/")


def _api_path() -> str:
    """The call's path under ``/v2/``: ``users/usr_1``."""
    return request.path.removeprefix("/v2").strip("/")


def _paging() -> tuple[int, str | None]:
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


def _fields(root: str, allowed: frozenset[str]) -> dict[str, Any]:
    """The fields of a create or update, from ``{"<root>": {...}}``; unknown fields are refused."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get(root), dict):
        raise Refusal(422, f'Send the fields inside a "{root}" object: {{"{root}": {{...}}}}.')
    fields: dict[str, Any] = dict(body[root])
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise Refusal(422, *(f"Unknown field: {name}." for name in unknown))
    return fields


def _string(fields: Mapping[str, Any], name: str, errors: list[str], *, max_length: int = _MAX_NAME) -> str | None:
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


def _choice(fields: Mapping[str, Any], name: str, choices: tuple[str, ...], errors: list[str]) -> str | None:
    value = fields.get(name)
    if value not in choices:
        label = name.replace("_", " ").capitalize()
        errors.append(f"{label} must be one of: {', '.join(choices)}.")
        return None
    return str(value)


def _custom(fields: Mapping[str, Any], errors: list[str]) -> dict[str, Any]:
    value = fields.get("custom")
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append("Custom must be an object.")
        return {}
    return value


def _permissions(fields: Mapping[str, Any], errors: list[str]) -> list[str]:
    value = fields.get("permissions", [])
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        errors.append("Permissions must be a list of names.")
        return []
    return list(dict.fromkeys(value))


def _user_changes(fields: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """The checked changes a user's fields ask for, in the directory's terms; 422 with every problem."""
    errors: list[str] = []
    changes: dict[str, Any] = {}
    for name in ("first_name", "last_name"):
        if name in fields:
            changes[name] = _string(fields, name, errors) or ""
    if creating or "email" in fields:
        email = _string(fields, "email", errors, max_length=_MAX_EMAIL)
        if not email or "@" not in email or any(char.isspace() for char in email):
            errors.append("Email is invalid.")
        else:
            changes["email"] = email
    if "username" in fields:
        username = _string(fields, "username", errors)
        if username and ("@" in username or any(char.isspace() for char in username)):
            errors.append("Username may not contain spaces or @.")
        changes["username"] = username or None
    if "reference" in fields:
        changes["reference"] = _string(fields, "reference", errors, max_length=255) or None
    if "custom" in fields:
        changes["custom"] = _custom(fields, errors)
    if "state" in fields:
        changes["state"] = _choice(fields, "state", _STATES, errors)
    if "email_verification" in fields:
        changes["email_verified"] = _choice(fields, "email_verification", ("verified", "none"), errors) == "verified"
    if fields.get("password") is not None:
        password = fields["password"]
        if not isinstance(password, str) or len(password) < _MIN_PASSWORD:
            errors.append(f"Password is too short (minimum is {_MIN_PASSWORD} characters).")
        elif fields.get("password_confirmation") not in (None, password):
            errors.append("Password confirmation doesn't match Password.")
        else:
            changes["password"] = password
    if errors:
        raise Refusal(422, *errors)
    return changes


def _org_changes(fields: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    errors: list[str] = []
    changes: dict[str, Any] = {}
    if creating or "name" in fields:
        name = _string(fields, "name", errors)
        if not name:
            errors.append("Name can't be blank.")
        changes["name"] = name
    if "reference" in fields:
        changes["reference"] = _string(fields, "reference", errors, max_length=255) or None
    if "custom" in fields:
        changes["custom"] = _custom(fields, errors)
    if "state" in fields:
        changes["state"] = _choice(fields, "state", _STATES, errors)
    if errors:
        raise Refusal(422, *errors)
    return changes


def _fault_from(body: Mapping[str, Any]) -> Fault:
    status, count, retry_after = body.get("status"), body.get("count", 1), body.get("retry_after")
    errors, method, path, apply = (
        body.get("errors", []),
        body.get("method"),
        body.get("path"),
        body.get("apply", BEFORE),
    )
    problems: list[str] = []
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        problems.append("status must be an HTTP error status, 400 to 599.")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        problems.append("count must be a whole number of at least 1.")
    if retry_after is not None and (not isinstance(retry_after, (int, float)) or retry_after < 0):
        problems.append("retry_after must be a number of seconds, or null.")
    if not isinstance(errors, list) or not all(isinstance(item, str) for item in errors):
        problems.append("errors must be a list of messages.")
    if method is not None and method not in _ALL_METHODS:
        problems.append(f"method must be one of {', '.join(_ALL_METHODS)}, or null.")
    if path is not None and not isinstance(path, str):
        problems.append("path must be a path under /v2/ (such as users), or null.")
    if apply not in (BEFORE, AFTER):
        problems.append(f"apply must be {BEFORE!r} (answer instead of handling) or {AFTER!r} (lose the answer).")
    if problems or not isinstance(status, int):
        raise Refusal(422, *problems)
    return Fault(
        status=status,
        count=count,
        retry_after=retry_after,
        errors=tuple(errors),
        method=method,
        path=path.strip("/") if path else None,
        apply=apply,
    )


# Looking things up -----------------------------------------------------------------------------


def _found(record: T | None, kind: str, record_id: str) -> T:
    """``record``, or a 404 naming the ``kind`` and id that were asked for."""
    if record is None:
        raise _not_found(kind, record_id)
    return record


def _deleted(deleted: bool, kind: str, record_id: str) -> ResponseReturnValue:
    """The API's answer to a delete: the deleted object's kind and id, or a 404."""
    if not deleted:
        raise _not_found(kind, record_id)
    return {"object": kind, "id": record_id}


def _user_or_404(user_id: str) -> DirectoryUser:
    return _found(_realm().directory.user(user_id), "user", user_id)


def _org_or_404(org_id: str) -> DirectoryOrg:
    return _found(_realm().directory.org(org_id), "org", org_id)


def _membership_or_404(membership_id: str) -> DirectoryMembership:
    return _found(_realm().directory.membership_by_id(membership_id), "membership", membership_id)


def _live_session_or_404(session_ref: str) -> tuple[LoginSession, float | None]:
    """The session named by an id or a token, if still on, and when the token expires."""
    realm = _realm()
    if "." in session_ref:  # a login token
        found = realm.session_for_token(session_ref)
        if found is None:
            raise Refusal(404, "Session not found: the token is invalid, expired or logged out.")
        live, verified = found
        return live, float(verified.expires_at)
    session = realm.directory.session(session_ref)
    if session is None or session.ended_at is not None:
        raise _not_found("session", session_ref)
    return session, None


def _not_found(kind: str, record_id: str) -> Refusal:
    return Refusal(404, f"No {kind} with id {record_id}.")


def _conflict(exc: ConflictError) -> Refusal:
    field = "Username" if isinstance(exc, UsernameTakenError) else "Email"
    return Refusal(409, f"{field} has already been taken.")


def _change_user(user: DirectoryUser, changes: Mapping[str, Any]) -> ResponseReturnValue:
    try:
        changed = _realm().directory.update_user(user.id, changes)
    except ConflictError as exc:
        raise _conflict(exc) from exc
    except DirectoryError as exc:
        raise _not_found("user", user.id) from exc
    return _user_json(changed, memberships=True)


def _new_session(user: DirectoryUser, *, status: int = 200) -> ResponseReturnValue:
    realm = _realm()
    session, token = realm.log_in(user)
    body = _session_json(
        session, user, expires_at=float(session.created_at + realm.token_ttl), token=token, memberships=True
    )
    return body, status


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=f"flask_authrocket.dev.api.{purpose}")


def _token_data(purpose: str, token: Any, max_age: int) -> dict[str, Any]:
    if not isinstance(token, str) or not token:
        raise Refusal(422, "Token can't be blank.")
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except BadSignature as exc:  # also an expired token
        raise Refusal(422, "Token is invalid or expired.") from exc
    if not isinstance(data, dict):
        raise Refusal(422, "Token is invalid or expired.")
    return data


# Writing answers -------------------------------------------------------------------------------


def _errors(status: int, *messages: str, retry_after: float | None = None) -> Response:
    response = jsonify({"errors": list(messages)})
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = f"{retry_after:g}"
    return response


def _fault_answer(fault: Fault) -> Response:
    messages = fault.errors or (_FAULT_MESSAGES.get(fault.status, "Fault injected through /v2/_dev/faults."),)
    return _errors(fault.status, *messages, retry_after=fault.retry_after)


def _collection(items: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    return {"collection": items, "more_results": more}


def _user_json(user: DirectoryUser, *, memberships: bool = False) -> dict[str, Any]:
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
        body["memberships"] = [_membership_json(item) for item in _realm().directory.memberships(user.id)]
    return body


def _org_json(org: DirectoryOrg) -> dict[str, Any]:
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


def _membership_json(membership: DirectoryMembership) -> dict[str, Any]:
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


def _session_json(
    session: LoginSession,
    user: DirectoryUser | None,
    *,
    expires_at: float | None = None,
    token: str | None = None,
    memberships: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "session",
        "id": session.id,
        "user_id": session.user_id,
        "created_at": session.created_at,
        "expires_at": expires_at,
        "user": _user_json(user, memberships=memberships) if user is not None else None,
    }
    if token is not None:
        body["token"] = token
    return body


def _token_json(token: str, user_id: str, ttl: int) -> dict[str, Any]:
    return {
        "object": "token",
        "id": "tok_" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:20],
        "token": token,
        "user_id": user_id,
        "expires_at": int(time.time()) + ttl,
    }


def _realm_json() -> dict[str, Any]:
    return {"object": "realm", "id": REALM_ID, "name": "Development realm", "state": "active"}
