"""The development Core API's users and sessions: ``/v2/users`` and ``/v2/sessions``.

Registered under :data:`flask_authrocket.dev.api.core_api`, whose every-call
checks (API key, realm, faults, counting) apply; the wire format is
:mod:`flask_authrocket.dev.wire`. Logging in through the API (``authenticate``,
``POST /v2/sessions``, a password reset) starts a LoginRocket session as the
login page does, and answers with its login token; the ``request`` sent beside the
root element is kept with the session and its events
(:func:`flask_authrocket.dev.store.record_event`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .realm import current_realm
from .records import ConflictError, DirectoryError, DirectoryUser, LoginSession
from .store import current_store, record_event
from .wire import (
    Refusal,
    collection,
    conflict,
    not_found,
    paging,
    read_fields,
    request_data,
    session_json,
    token_json,
    user_changes,
    user_json,
    user_or_404,
)

users_api = Blueprint("users", __name__)

#: Seconds a password-reset token lasts; an email-verification token lasts a day.
PASSWORD_TOKEN_TTL = 3600
EMAIL_TOKEN_TTL = 24 * 3600

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


@users_api.get("/users")
def list_users() -> ResponseReturnValue:
    """Users, filtered by ``email`` and ``state``."""
    limit, after = paging()
    users, more = current_realm().directory.list_users(
        limit=limit, after=after, email=request.args.get("email"), state=request.args.get("state")
    )
    return collection([user_json(user) for user in users], more)


@users_api.get("/users/<user_id>")
def get_user(user_id: str) -> ResponseReturnValue:
    """One user, with their memberships."""
    return user_json(user_or_404(user_id), memberships=True)


@users_api.post("/users")
def create_user() -> ResponseReturnValue:
    """Create a user: ``email`` is required; without ``password`` nobody can log in with one."""
    changes = user_changes(read_fields("user", _USER_FIELDS), creating=True)
    try:
        user = current_realm().directory.create_user(
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
        raise conflict(exc) from exc
    record_event("user.created", request=request_data(), user_id=user.id)
    return user_json(user, memberships=True), 201


@users_api.put("/users/<user_id>")
def update_user(user_id: str) -> ResponseReturnValue:
    """Change any of a user's fields."""
    changes = user_changes(read_fields("user", _USER_FIELDS), creating=False)
    return _change_user(user_or_404(user_id), changes, "user.updated")


@users_api.delete("/users/<user_id>")
def delete_user(user_id: str) -> ResponseReturnValue:
    """Delete a user, their memberships and their sessions; the answer is the user as they were."""
    answer = user_json(user_or_404(user_id), memberships=True)
    current_realm().directory.delete_user(user_id)
    record_event("user.deleted", user_id=user_id)
    return answer


@users_api.post("/users/<login>/authenticate")
def authenticate(login: str) -> ResponseReturnValue:
    """Check a password (``login`` is an id, email or username); a new session with its token."""
    fields = read_fields("user", frozenset({"password"}))
    password = fields.get("password")
    directory = current_realm().directory
    user = directory.user_by_login(login)
    if user is None or not isinstance(password, str) or not directory.check_password(user.id, password):
        record_event("user.login.failed", request=request_data(), user_id=user.id if user else None)
        raise Refusal(422, "Login or password is incorrect.")
    if user.state != "active":
        raise Refusal(422, "This user is inactive.")
    return _new_session(user)


@users_api.post("/users/authenticate_token")
def authenticate_token() -> ResponseReturnValue:
    """The second step of a login; the development realm has no second factors, so no token is valid."""
    read_fields("user", frozenset({"token", "code"}))
    raise Refusal(422, "Token is invalid or expired.")


@users_api.put("/users/<user_id>/update_password")
def update_password(user_id: str) -> ResponseReturnValue:
    """Set a new password, checking ``current_password`` when it is sent."""
    user = user_or_404(user_id)
    fields = read_fields("user", _PASSWORD_FIELDS)
    current = fields.pop("current_password", None)
    if current is not None and not (
        isinstance(current, str) and current_realm().directory.check_password(user.id, current)
    ):
        raise Refusal(422, "Current password is incorrect.")
    if not fields.get("password"):
        raise Refusal(422, "Password can't be blank.")
    return _change_user(user, user_changes(fields, creating=False), "user.password.updated")


@users_api.put("/users/<user_id>/profile")
def update_profile(user_id: str) -> ResponseReturnValue:
    """Change what a user may change of themselves: email, names, username, password."""
    changes = user_changes(read_fields("user", _PROFILE_FIELDS), creating=False)
    return _change_user(user_or_404(user_id), changes, "user.profile.updated")


@users_api.post("/users/<user_id>/generate_password_token")
def generate_password_token(user_id: str) -> ResponseReturnValue:
    """A token for ``reset_password_with_token``: one use, for an hour."""
    user = user_or_404(user_id)
    fingerprint = current_realm().directory.password_fingerprint(user.id)
    token = _serializer("password").dumps({"user": user.id, "password": fingerprint})
    return token_json(token, user.id, PASSWORD_TOKEN_TTL)


@users_api.post("/users/reset_password_with_token")
def reset_password_with_token() -> ResponseReturnValue:
    """Set a new password with a token from ``generate_password_token``; the user is logged in."""
    fields = read_fields("user", frozenset({"token", "password", "password_confirmation"}))
    directory = current_realm().directory
    data = _token_data("password", fields.pop("token", None), PASSWORD_TOKEN_TTL)
    user = directory.user(str(data.get("user")))
    if user is None or directory.password_fingerprint(user.id) != data.get("password"):
        raise Refusal(422, "Token is invalid or expired.")  # used already: the password changed since
    if not fields.get("password"):
        raise Refusal(422, "Password can't be blank.")
    _change_user(user, user_changes(fields, creating=False), "user.password.updated")
    return _new_session(user)


@users_api.post("/users/<user_id>/request_email_verification")
def request_email_verification(user_id: str) -> ResponseReturnValue:
    """A token for ``verify_email``, bound to the user's current email address, for a day."""
    user = user_or_404(user_id)
    token = _serializer("email").dumps({"user": user.id, "email": user.email})
    return token_json(token, user.id, EMAIL_TOKEN_TTL)


@users_api.post("/users/verify_email")
def verify_email() -> ResponseReturnValue:
    """Mark the email address verified with a token from ``request_email_verification``."""
    fields = read_fields("user", frozenset({"token"}))
    data = _token_data("email", fields.get("token"), EMAIL_TOKEN_TTL)
    user = current_realm().directory.user(str(data.get("user")))
    if user is None or user.email != data.get("email"):
        raise Refusal(422, "Token is invalid or expired.")
    return _change_user(user, {"email_verified": True}, "user.email.verified")


@users_api.post("/users/<user_id>/accept_invitation")
def accept_invitation(user_id: str) -> ResponseReturnValue:
    """Accept an invitation for user ``user_id`` (``{"user": {"token": ...}}``); an org invitation makes a member.

    The answer is the user, with their memberships (authrocket-ruby ``User#accept_invitation``
    loads it into the user). A token that names no invitation, or one accepted already: 422.
    """
    user = user_or_404(user_id)
    fields = read_fields("user", frozenset({"token"}))
    token = fields.get("token")
    store = current_store()
    invitation = store.find_by("invitations", "token", token) if isinstance(token, str) and token else None
    if invitation is None or invitation.get("accepted_at") is not None:
        raise Refusal(422, "Invitation token is invalid or was used already.")
    if invitation.get("invitation_type") == "org":
        try:
            current_realm().directory.create_membership(
                user_id=user.id, org_id=str(invitation.get("org_id")), permissions=invitation.get("permissions") or []
            )
        except ConflictError as exc:
            raise Refusal(409, str(exc)) from exc
        except DirectoryError as exc:
            raise Refusal(422, str(exc)) from exc
    invitation.update(accepted_at=int(time.time()), accepted_user_id=user.id)
    store.save("invitations", invitation)
    record_event(
        f"invitation.{invitation.get('invitation_type')}.accepted",
        request=request_data(),
        user_id=user.id,
        invitation_id=invitation["id"],
        org_id=invitation.get("org_id"),
    )
    return user_json(user_or_404(user_id), memberships=True)


@users_api.get("/sessions")
def list_sessions() -> ResponseReturnValue:
    """Sessions still on (not logged out), filtered by ``user_id``."""
    limit, after = paging()
    directory = current_realm().directory
    sessions, more = directory.list_sessions(limit=limit, after=after, user_id=request.args.get("user_id"))
    return collection([session_json(session, directory.user(session.user_id)) for session in sessions], more)


@users_api.get("/sessions/<session_ref>")
def get_session(session_ref: str) -> ResponseReturnValue:
    """A live session, by its id (``kss_...``) or by a login token of it; logged out anywhere: 404."""
    session, expires_at = _live_session_or_404(session_ref)
    user = current_realm().directory.user(session.user_id)
    return session_json(session, user, expires_at=expires_at, memberships=True)


@users_api.post("/sessions")
def create_session() -> ResponseReturnValue:
    """Log a user in without a password (``{"session": {"user_id": ...}}``): the session and its token."""
    fields = read_fields("session", frozenset({"user_id"}))
    user = current_realm().directory.user(str(fields.get("user_id") or ""))
    if user is None:
        raise Refusal(422, "User not found.")
    return _new_session(user, status=201)


@users_api.post("/_dev/sessions")
def create_session_in_org() -> ResponseReturnValue:
    """Log a user in as the login page would, with ``org_id`` selected first as on ``/accounts``.

    ``{"session": {"user_id", "org_id", "password"}}``: the session and its
    token, which marks ``org_id`` selected (as do the user's later tokens). A
    demo user needs no password (their button logs them in); any other user
    needs theirs: without it, or with a wrong one, 401. Not a member of
    ``org_id``: 422. This is how ``flask authrocket token --org`` gets its token.
    """
    fields = read_fields("session", frozenset({"user_id", "org_id", "password"}))
    directory = current_realm().directory
    user = directory.user(str(fields.get("user_id") or ""))
    if user is None:
        raise Refusal(422, "User not found.")
    password = fields.get("password")
    if not user.is_demo:
        if password is None:
            raise Refusal(401, "This user has no demo button on the login page: send their password.")
        if not isinstance(password, str) or not directory.check_password(user.id, password):
            raise Refusal(401, "Login or password is incorrect.")
    try:
        user = directory.select_org(user.id, str(fields.get("org_id") or ""))
    except DirectoryError as exc:
        raise Refusal(422, str(exc)) from exc
    return _new_session(user, status=201)


@users_api.delete("/sessions/<session_ref>")
def delete_session(session_ref: str) -> ResponseReturnValue:
    """End a session (a logout everywhere), by id or token; unknown or ended already: 404. Answers the session."""
    session, _ = _live_session_or_404(session_ref)
    directory = current_realm().directory
    directory.end_session(session.id)
    record_event("session.deleted", user_id=session.user_id, session_id=session.id)
    return session_json(session, directory.user(session.user_id))


def _live_session_or_404(session_ref: str) -> tuple[LoginSession, float | None]:
    """The session named by an id or a token, if still on, and when the token expires."""
    realm = current_realm()
    if "." in session_ref:  # a login token
        found = realm.session_for_token(session_ref)
        if found is None:
            raise not_found()  # the token is invalid, expired or logged out
        live, verified = found
        return live, float(verified.expires_at)
    session = realm.directory.session(session_ref)
    if session is None or session.ended_at is not None:
        raise not_found()
    return session, None


def _change_user(user: DirectoryUser, changes: Mapping[str, Any], event_type: str) -> ResponseReturnValue:
    try:
        changed = current_realm().directory.update_user(user.id, changes)
    except ConflictError as exc:
        raise conflict(exc) from exc
    except DirectoryError as exc:
        raise not_found() from exc
    record_event(event_type, request=request_data(), user_id=user.id)
    return user_json(changed, memberships=True)


def _new_session(user: DirectoryUser, *, status: int = 200) -> ResponseReturnValue:
    realm = current_realm()
    request = request_data()
    session, token = realm.log_in(user, request)
    record_event("user.login.succeeded", request=request, user_id=user.id, session_id=session.id)
    body = session_json(
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
