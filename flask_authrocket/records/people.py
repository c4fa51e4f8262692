"""The records of people and their orgs: users, orgs, memberships, sessions, tokens, invitations, credentials.

Fields as the Ruby gem names them (``attr`` in authrocket-ruby ``lib/authrocket/user.rb``,
``org.rb``, ``membership.rb``, ``session.rb``, ``token.rb``, ``invitation.rb``, ``credential.rb``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..models import DisplayName, PermissionCheck
from .base import Record, flag, many, mapping, one, seconds, text, texts, value


@dataclass(frozen=True, kw_only=True)
class OrgRecord(Record):
    """An org (an *account* on LoginRocket's pages), as the API describes it."""

    name: str | None = text()
    #: ``"active"``, ``"inactive"``, or ``"closed"`` after ``orgs.delete(id)`` without ``force``.
    state: str | None = text()
    reference: str | None = text()
    custom: Mapping[str, Any] = mapping()
    realm_id: str | None = text()


@dataclass(frozen=True, kw_only=True)
class MembershipRecord(Record, PermissionCheck):
    """A user's membership of an org and the permissions it grants."""

    user_id: str | None = text()
    org_id: str | None = text()
    permissions: tuple[str, ...] = texts()
    #: True for the org the user last picked on LoginRocket's accounts page.
    selected: bool = flag(False)
    custom: Mapping[str, Any] = mapping()
    #: Seconds since the epoch, for a membership that ends.
    expires_at: float | None = seconds()
    #: The org, when the API embeds it.
    org: OrgRecord | None = one(lambda: OrgRecord)
    #: The user, when the API embeds them.
    user: UserRecord | None = one(lambda: UserRecord)


@dataclass(frozen=True, kw_only=True)
class UserRecord(Record, DisplayName):
    """A user of the realm, as the API describes them."""

    email: str | None = text()
    #: A new address waiting for its verification.
    email_pending: str | None = text()
    username: str | None = text()
    first_name: str | None = text()
    last_name: str | None = text()
    name: str | None = text()
    #: ``"active"`` or ``"inactive"``.
    state: str | None = text()
    #: ``"verified"``, ``"requested"`` or ``"none"``.
    email_verification: str | None = text()
    reference: str | None = text()
    custom: Mapping[str, Any] = mapping()
    locale: str | None = text()
    realm_id: str | None = text()
    #: Seconds since the epoch.
    last_login_at: float | None = seconds()
    #: ``None`` when the answer did not include memberships (lists usually do not).
    memberships: tuple[MembershipRecord, ...] | None = many(lambda: MembershipRecord)
    #: ``None`` when the answer did not include credentials.
    credentials: tuple[CredentialRecord, ...] | None = many(lambda: CredentialRecord)


@dataclass(frozen=True, kw_only=True)
class SessionRecord(Record):
    """A login session, as the API describes it: logged out anywhere, and the API no longer finds it."""

    user_id: str | None = text()
    client_app_id: str | None = text()
    #: Seconds since the epoch.
    expires_at: float | None = seconds()
    #: A login token for the session, when the answer carries one (after ``authenticate``).
    token: str | None = text(secret=True)
    #: What the app said of the request that started it (``{"ip": ..., "client": ...}``), the gem's ``request_data``.
    request: Mapping[str, Any] = mapping()
    #: The user, when the API embeds them.
    user: UserRecord | None = one(lambda: UserRecord)


@dataclass(frozen=True, kw_only=True)
class TokenRecord(Record):
    """A one-time token the API hands out: to reset a password, verify an email, finish a login."""

    token: str | None = text(secret=True)
    user_id: str | None = text()
    #: Seconds since the epoch.
    expires_at: float | None = seconds()


@dataclass(frozen=True, kw_only=True)
class InvitationRecord(Record, PermissionCheck):
    """An invitation to the realm or to an org; ``has_any_permission`` as the gem's ``any_permission?``."""

    email: str | None = text()
    #: ``"org"``, ``"preverify"``, ``"referral"`` or ``"request"``.
    invitation_type: str | None = text()
    locale: str | None = text()
    #: What ``users.accept_invitation`` and LoginRocket's ``/signup?invitation=`` take.
    token: str | None = text(secret=True)
    permissions: tuple[str, ...] = texts()
    org_id: str | None = text()
    realm_id: str | None = text()
    auth_provider_id: str | None = text()
    inviting_user_id: str | None = text()
    expires_at: float | None = seconds()
    invited_at: float | None = seconds()


@dataclass(frozen=True, kw_only=True)
class CredentialRecord(Record):
    """A user's credential: a password, a TOTP authenticator, a social login."""

    #: ``"password"``, ``"totp"``, ``"oauth2"`` ...
    credential_type: str | None = text()
    name: str | None = text()
    state: str | None = text()
    user_id: str | None = text()
    auth_provider_id: str | None = text()
    client_app_id: str | None = text()
    client_app_name: str | None = text()
    otp_secret: str | None = text(secret=True)
    provisioning_svg: str | None = text()
    provisioning_uri: str | None = text(secret=True)
    access_token: str | None = text(secret=True)
    provider_user_id: str | None = text()
    token_expires_at: float | None = seconds()
    approved_scopes: Any = value()
