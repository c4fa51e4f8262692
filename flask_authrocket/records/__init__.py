"""Records of the AuthRocket Core API: :class:`Record` and its typed kinds, read from the API's JSON.

One typed kind per resource of AuthRocket's own SDKs, with the fields the Ruby gem names
(its ``attr`` lists, authrocket-ruby ``lib/authrocket/*.rb``): :class:`UserRecord`,
:class:`OrgRecord`, :class:`MembershipRecord`, :class:`SessionRecord`, :class:`TokenRecord`,
:class:`InvitationRecord`, :class:`CredentialRecord`, :class:`RealmRecord`,
:class:`ClientAppRecord`, :class:`DomainRecord`, :class:`AuthProviderRecord`,
:class:`EventRecord` with its :class:`NotificationRecord`\\ s, :class:`HookRecord`,
:class:`JwtKeyRecord`, :class:`MailingListProviderRecord`,
:class:`MailingListSubscriptionRecord`, :class:`NamedPermissionRecord`,
:class:`Oauth2SessionRecord`, :class:`ResourceLinkRecord` and :class:`SmtpProviderRecord`,
built by :func:`record_from_json`. Every record keeps the whole JSON object, read-only, in
``attributes``, so fields this library does not name are still reachable:
``record["last_login_at"]``. A JSON object no API answer has (no ``id``, a field of a type the
API never sends) raises :class:`RecordError`. Fields whose JSON type the SDKs do not say
(``flags``, ``branding`` ...) are kept as the API sends them (``Any``).

Each typed field is declared once, with the reader of its JSON type
(``name: str | None = text()``; :mod:`flask_authrocket.records.base`), and
:meth:`Record.from_json` reads them all. The records of people and their orgs are in
:mod:`~flask_authrocket.records.people`, those of a realm's set-up and history in
:mod:`~flask_authrocket.records.realm`; every name is importable from here.

Ground floor: no Flask, no requests. The client (:mod:`flask_authrocket.client`) reads its
answers through this module; the token's own objects are in :mod:`flask_authrocket.models`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .base import Record, RecordError
from .people import (
    CredentialRecord,
    InvitationRecord,
    MembershipRecord,
    OrgRecord,
    SessionRecord,
    TokenRecord,
    UserRecord,
)
from .realm import (
    AuthProviderRecord,
    ClientAppRecord,
    DomainRecord,
    EventRecord,
    HookRecord,
    JwtKeyRecord,
    MailingListProviderRecord,
    MailingListSubscriptionRecord,
    NamedPermissionRecord,
    NotificationRecord,
    Oauth2SessionRecord,
    RealmRecord,
    ResourceLinkRecord,
    SmtpProviderRecord,
)

__all__ = [
    "AuthProviderRecord",
    "ClientAppRecord",
    "CredentialRecord",
    "DomainRecord",
    "EventRecord",
    "HookRecord",
    "InvitationRecord",
    "JwtKeyRecord",
    "MailingListProviderRecord",
    "MailingListSubscriptionRecord",
    "MembershipRecord",
    "NamedPermissionRecord",
    "NotificationRecord",
    "Oauth2SessionRecord",
    "OrgRecord",
    "RECORD_TYPES",
    "RealmRecord",
    "Record",
    "RecordError",
    "ResourceLinkRecord",
    "SessionRecord",
    "SmtpProviderRecord",
    "TokenRecord",
    "UserRecord",
    "record_from_json",
]


#: The typed record for each ``object`` name of the API.
RECORD_TYPES: Mapping[str, type[Record]] = MappingProxyType(
    {
        "user": UserRecord,
        "org": OrgRecord,
        "membership": MembershipRecord,
        "session": SessionRecord,
        "token": TokenRecord,
        "invitation": InvitationRecord,
        "credential": CredentialRecord,
        "realm": RealmRecord,
        "client_app": ClientAppRecord,
        "domain": DomainRecord,
        "auth_provider": AuthProviderRecord,
        "event": EventRecord,
        "notification": NotificationRecord,
        "hook": HookRecord,
        "jwt_key": JwtKeyRecord,
        "mailing_list_provider": MailingListProviderRecord,
        "mailing_list_subscription": MailingListSubscriptionRecord,
        "named_permission": NamedPermissionRecord,
        "oauth2_session": Oauth2SessionRecord,
        "resource_link": ResourceLinkRecord,
        "smtp_provider": SmtpProviderRecord,
    }
)


def record_from_json(data: Any, default: type[Record] = Record) -> Record:
    """The record for one JSON object, typed by its ``object`` field (else as ``default``).

    Raises :class:`RecordError` (a ``ValueError``) for an object no API answer has.
    """
    kind = data.get("object") if isinstance(data, Mapping) else None
    record_type = RECORD_TYPES.get(kind, default) if isinstance(kind, str) else default
    return record_type.from_json(data)
