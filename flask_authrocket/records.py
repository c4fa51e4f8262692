"""Records of the AuthRocket Core API: :class:`Record` and its typed kinds, read from the API's JSON.

:class:`Record` and its typed kinds :class:`UserRecord`, :class:`OrgRecord`,
:class:`MembershipRecord`, :class:`SessionRecord` and :class:`TokenRecord`, built by
:func:`record_from_json`. Every record keeps the whole JSON object, read-only, in
``attributes``, so fields this library does not name are still reachable:
``record["last_login_at"]``. A JSON object no API answer has (no ``id``, a field of a type the
API never sends) raises :class:`RecordError`.

Ground floor: no Flask, no requests. The client (:mod:`flask_authrocket.client`) reads its
answers through this module; the token's own objects are in :mod:`flask_authrocket.models`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from .models import DisplayName, PermissionCheck

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return _EMPTY


class RecordError(ValueError):
    """A JSON object of the Core API that no API answer has: no ``id``, or a field of an impossible type."""


_R = TypeVar("_R", bound="Record")


@dataclass(frozen=True, kw_only=True)
class Record:
    """One object of the AuthRocket Core API: its ``id``, its kind (``object``) and all its JSON.

    ``record["name"]`` and ``record.get("name")`` read any field of the JSON
    object, typed or not. Resources without a typed kind of their own
    (invitations, credentials, realms, client apps, domains, auth providers)
    come back as plain records.
    """

    id: str
    #: The API's name for the kind of record: ``"user"``, ``"org"``, ``"session"`` ...
    object: str | None = None
    #: Seconds since the epoch.
    created_at: float | None = None
    #: The whole JSON object, read-only.
    attributes: Mapping[str, Any] = field(default_factory=_empty, repr=False, compare=False)

    def __getitem__(self, name: str) -> Any:
        """The field ``name`` of the JSON object (``KeyError`` when absent)."""
        return self.attributes[name]

    def __contains__(self, name: Any) -> bool:
        return name in self.attributes

    def get(self, name: str, default: Any = None) -> Any:
        """The field ``name`` of the JSON object, or ``default``."""
        return self.attributes.get(name, default)

    @classmethod
    def from_json(cls: type[_R], data: Any) -> _R:
        """Build this kind of record from one JSON object of the API.

        Raises :class:`RecordError` (a ``ValueError``) when the object has no
        ``id`` or a field has a type the API never sends.
        """
        if not isinstance(data, Mapping):
            raise RecordError("the record is not a JSON object")
        return cls(
            id=_required_text(data, "id"),
            object=_text(data, "object"),
            created_at=_seconds(data, "created_at"),
            attributes=MappingProxyType(dict(data)),
            **cls._typed_fields(data),
        )

    @classmethod
    def _typed_fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """The typed fields a kind of record adds, read from its JSON object."""
        return {}


@dataclass(frozen=True, kw_only=True)
class OrgRecord(Record):
    """An org (an *account* on LoginRocket's pages), as the API describes it."""

    name: str | None = None
    #: ``"active"`` or ``"inactive"``.
    state: str | None = None
    reference: str | None = None
    custom: Mapping[str, Any] = field(default_factory=_empty)

    @classmethod
    def _typed_fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "name": _text(data, "name"),
            "state": _text(data, "state"),
            "reference": _text(data, "reference"),
            "custom": _mapping(data, "custom"),
        }


@dataclass(frozen=True, kw_only=True)
class MembershipRecord(Record, PermissionCheck):
    """A user's membership of an org and the permissions it grants."""

    user_id: str | None = None
    org_id: str | None = None
    permissions: tuple[str, ...] = ()
    #: True for the org the user last picked on LoginRocket's accounts page.
    selected: bool = False
    custom: Mapping[str, Any] = field(default_factory=_empty)
    #: The org, when the API embeds it.
    org: OrgRecord | None = None
    #: The user, when the API embeds them.
    user: UserRecord | None = None

    @classmethod
    def _typed_fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        org = data.get("org")
        user = data.get("user")
        return {
            "user_id": _text(data, "user_id"),
            "org_id": _text(data, "org_id"),
            "permissions": _permissions(data, "permissions"),
            "selected": data.get("selected") is True,
            "custom": _mapping(data, "custom"),
            "org": OrgRecord.from_json(org) if org is not None else None,
            "user": UserRecord.from_json(user) if user is not None else None,
        }


@dataclass(frozen=True, kw_only=True)
class UserRecord(Record, DisplayName):
    """A user of the realm, as the API describes them."""

    email: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    #: ``"active"`` or ``"inactive"``.
    state: str | None = None
    #: ``"verified"``, ``"requested"`` or ``"none"``.
    email_verification: str | None = None
    reference: str | None = None
    custom: Mapping[str, Any] = field(default_factory=_empty)
    locale: str | None = None
    #: Seconds since the epoch.
    last_login_at: float | None = None
    #: ``None`` when the answer did not include memberships (lists usually do not).
    memberships: tuple[MembershipRecord, ...] | None = None

    @classmethod
    def _typed_fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        memberships = data.get("memberships")
        if memberships is not None and not isinstance(memberships, list):
            raise RecordError("'memberships' is not a list")
        return {
            "email": _text(data, "email"),
            "username": _text(data, "username"),
            "first_name": _text(data, "first_name"),
            "last_name": _text(data, "last_name"),
            "name": _text(data, "name"),
            "state": _text(data, "state"),
            "email_verification": _text(data, "email_verification"),
            "reference": _text(data, "reference"),
            "custom": _mapping(data, "custom"),
            "locale": _text(data, "locale"),
            "last_login_at": _seconds(data, "last_login_at"),
            "memberships": None
            if memberships is None
            else tuple(MembershipRecord.from_json(item) for item in memberships),
        }


@dataclass(frozen=True, kw_only=True)
class SessionRecord(Record):
    """A login session, as the API describes it: logged out anywhere, and the API no longer finds it."""

    user_id: str | None = None
    #: Seconds since the epoch.
    expires_at: float | None = None
    #: A login token for the session, when the answer carries one (after ``authenticate``).
    token: str | None = field(default=None, repr=False)
    #: The user, when the API embeds them.
    user: UserRecord | None = None

    @classmethod
    def _typed_fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        user = data.get("user")
        return {
            "user_id": _text(data, "user_id"),
            "expires_at": _seconds(data, "expires_at"),
            "token": _text(data, "token"),
            "user": UserRecord.from_json(user) if user is not None else None,
        }


@dataclass(frozen=True, kw_only=True)
class TokenRecord(Record):
    """A one-time token the API hands out: to reset a password, verify an email, finish a login."""

    token: str | None = field(default=None, repr=False)
    user_id: str | None = None
    #: Seconds since the epoch.
    expires_at: float | None = None

    @classmethod
    def _typed_fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "token": _text(data, "token"),
            "user_id": _text(data, "user_id"),
            "expires_at": _seconds(data, "expires_at"),
        }


#: The typed record for each ``object`` name of the API.
RECORD_TYPES: Mapping[str, type[Record]] = MappingProxyType(
    {
        "user": UserRecord,
        "org": OrgRecord,
        "membership": MembershipRecord,
        "session": SessionRecord,
        "token": TokenRecord,
    }
)


def record_from_json(data: Any, default: type[Record] = Record) -> Record:
    """The record for one JSON object, typed by its ``object`` field (else as ``default``).

    Raises :class:`RecordError` (a ``ValueError``) for an object no API answer has.
    """
    kind = data.get("object") if isinstance(data, Mapping) else None
    record_type = RECORD_TYPES.get(kind, default) if isinstance(kind, str) else default
    return record_type.from_json(data)


def _seconds(data: Mapping[str, Any], name: str) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(f"{name!r} is not a number of seconds")
    return float(value)


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{name!r} is not a string")
    return value


def _required_text(data: Mapping[str, Any], name: str) -> str:
    value = _text(data, name)
    if not value:
        raise RecordError(f"{name!r} is empty")
    return value


def _mapping(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name)
    if value is None:
        return _EMPTY
    if not isinstance(value, dict):
        raise RecordError(f"{name!r} is not an object")
    return MappingProxyType(value)


def _permissions(data: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RecordError(f"{name!r} is not a list of strings")
    return tuple(value)
