"""The development Core API's orgs and memberships: ``/v2/orgs`` and ``/v2/memberships``.

Registered under :data:`flask_authrocket.dev.api.core_api`, whose every-call
checks (API key, realm, faults, counting) apply; the wire format is
:mod:`flask_authrocket.dev.wire`.
"""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from .realm import current_realm
from .records import ConflictError, DirectoryError
from .wire import (
    Refusal,
    checked_permissions,
    checked_string,
    collection,
    deleted_answer,
    membership_json,
    membership_or_404,
    org_changes,
    org_json,
    org_or_404,
    paging,
    read_fields,
    record_or_404,
)

orgs_api = Blueprint("orgs", __name__)

_ORG_FIELDS = frozenset({"name", "reference", "custom", "state"})


@orgs_api.get("/orgs")
def list_orgs() -> ResponseReturnValue:
    """Orgs, filtered by ``state``."""
    limit, after = paging()
    orgs, more = current_realm().directory.list_orgs(limit=limit, after=after, state=request.args.get("state"))
    return collection([org_json(org) for org in orgs], more)


@orgs_api.get("/orgs/<org_id>")
def get_org(org_id: str) -> ResponseReturnValue:
    """One org."""
    return org_json(org_or_404(org_id))


@orgs_api.post("/orgs")
def create_org() -> ResponseReturnValue:
    """Create an org: ``name`` is required."""
    changes = org_changes(read_fields("org", _ORG_FIELDS), creating=True)
    org = current_realm().directory.create_org(
        name=changes["name"],
        reference=changes.get("reference"),
        custom=changes.get("custom"),
        state=changes.get("state", "active"),
    )
    return org_json(org), 201


@orgs_api.put("/orgs/<org_id>")
def update_org(org_id: str) -> ResponseReturnValue:
    """Change an org's name, reference, custom data or state."""
    org_or_404(org_id)
    changes = org_changes(read_fields("org", _ORG_FIELDS), creating=False)
    return org_json(record_or_404(current_realm().directory.update_org(org_id, changes), "org", org_id))


@orgs_api.delete("/orgs/<org_id>")
def delete_org(org_id: str) -> ResponseReturnValue:
    """Delete an org and its memberships."""
    return deleted_answer(current_realm().directory.delete_org(org_id), "org", org_id)


@orgs_api.get("/memberships")
def list_memberships() -> ResponseReturnValue:
    """Memberships, filtered by ``user_id`` and ``org_id``."""
    limit, after = paging()
    memberships, more = current_realm().directory.list_memberships(
        limit=limit, after=after, user_id=request.args.get("user_id"), org_id=request.args.get("org_id")
    )
    return collection([membership_json(membership) for membership in memberships], more)


@orgs_api.get("/memberships/<membership_id>")
def get_membership(membership_id: str) -> ResponseReturnValue:
    """One membership."""
    return membership_json(membership_or_404(membership_id))


@orgs_api.post("/memberships")
def create_membership() -> ResponseReturnValue:
    """Make a user a member of an org: ``user_id`` and ``org_id`` required, ``permissions`` optional."""
    fields = read_fields("membership", frozenset({"user_id", "org_id", "permissions"}))
    errors: list[str] = []
    user_id = checked_string(fields, "user_id", errors)
    org_id = checked_string(fields, "org_id", errors)
    permissions = checked_permissions(fields, errors)
    for name, value in (("User", user_id), ("Org", org_id)):
        if not value:
            errors.append(f"{name} can't be blank.")
    if errors:
        raise Refusal(422, *errors)
    assert user_id and org_id
    try:
        membership = current_realm().directory.create_membership(
            user_id=user_id, org_id=org_id, permissions=permissions
        )
    except ConflictError as exc:
        raise Refusal(409, str(exc)) from exc
    except DirectoryError as exc:
        raise Refusal(422, str(exc)) from exc
    return membership_json(membership), 201


@orgs_api.put("/memberships/<membership_id>")
def update_membership(membership_id: str) -> ResponseReturnValue:
    """Replace a membership's permissions (its user and org never change)."""
    membership_or_404(membership_id)
    fields = read_fields("membership", frozenset({"permissions"}))
    errors: list[str] = []
    permissions = checked_permissions(fields, errors)
    if errors:
        raise Refusal(422, *errors)
    membership = current_realm().directory.update_membership(membership_id, permissions=permissions)
    return membership_json(record_or_404(membership, "membership", membership_id))


@orgs_api.delete("/memberships/<membership_id>")
def delete_membership(membership_id: str) -> ResponseReturnValue:
    """Delete a membership."""
    return deleted_answer(current_realm().directory.delete_membership(membership_id), "membership", membership_id)
