"""The development Core API's orgs and memberships: ``/v2/orgs`` and ``/v2/memberships``.

Registered under :data:`flask_authrocket.dev.api.core_api`, whose every-call
checks (API key, realm, faults, counting) apply; the wire format is
:mod:`flask_authrocket.dev.wire`. Each change is written to the realm's history
(:func:`flask_authrocket.dev.store.record_event`).
"""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from .realm import current_realm
from .records import ConflictError, DirectoryError
from .store import record_event
from .wire import (
    Refusal,
    checked_permissions,
    checked_string,
    collection,
    membership_json,
    membership_or_404,
    org_changes,
    org_json,
    org_or_404,
    paging,
    read_fields,
    record_or_404,
    request_data,
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
    record_event("org.created", request=request_data(), org_id=org.id)
    return org_json(org), 201


@orgs_api.put("/orgs/<org_id>")
def update_org(org_id: str) -> ResponseReturnValue:
    """Change an org's name, reference, custom data or state."""
    org_or_404(org_id)
    changes = org_changes(read_fields("org", _ORG_FIELDS), creating=False)
    org = org_json(record_or_404(current_realm().directory.update_org(org_id, changes)))
    record_event(
        "org.closed" if changes.get("state") == "closed" else "org.updated", request=request_data(), org_id=org_id
    )
    return org


@orgs_api.delete("/orgs/<org_id>")
def delete_org(org_id: str) -> ResponseReturnValue:
    """Close an org (``state: "closed"``, answered); with ``force``, delete it and its memberships.

    As the real API (authrocket-php ``tests/OrgTest.php``, authrocket-js
    ``authrocket-node/test/org_test.js``): without ``force`` the org is closed and kept,
    with ``force`` it is gone. ``force`` may come as the query (node sends it so) or in a
    JSON body (PHP does).
    """
    org = org_or_404(org_id)
    directory = current_realm().directory
    if not _forced():
        closed = record_or_404(directory.update_org(org_id, {"state": "closed"}))
        record_event("org.closed", org_id=org_id)
        return org_json(closed)
    directory.delete_org(org_id)
    return org_json(org)


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
    record_event("membership.created", membership_id=membership.id, user_id=user_id, org_id=org_id)
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
    record_event("membership.updated", membership_id=membership_id)
    return membership_json(record_or_404(membership))


@orgs_api.delete("/memberships/<membership_id>")
def delete_membership(membership_id: str) -> ResponseReturnValue:
    """Delete a membership; the answer is the membership as it was."""
    membership = membership_or_404(membership_id)
    current_realm().directory.delete_membership(membership_id)
    record_event(
        "membership.deleted", membership_id=membership_id, user_id=membership.user_id, org_id=membership.org_id
    )
    return membership_json(membership)


def _forced() -> bool:
    """Whether a delete asks for ``force``: ``?force=true`` (or ``1``), or ``{"force": true}`` in its body."""
    body = request.get_json(silent=True)
    if isinstance(body, dict) and body.get("force") is True:
        return True
    return request.args.get("force", "").lower() in ("true", "1", "yes")
