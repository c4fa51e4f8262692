"""The records of a realm's set-up and history: realms, client apps, domains, auth providers, hooks, keys, events ...

Fields as the Ruby gem names them (``attr`` in authrocket-ruby ``lib/authrocket/realm.rb``,
``client_app.rb``, ``domain.rb``, ``auth_provider.rb``, ``event.rb``, ``notification.rb``,
``hook.rb``, ``jwt_key.rb``, ``mailing_list_provider.rb``, ``mailing_list_subscription.rb``,
``named_permission.rb``, ``oauth2_session.rb``, ``resource_link.rb``, ``smtp_provider.rb``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .base import Record, flag, many, mapping, number, seconds, text, texts, value


@dataclass(frozen=True, kw_only=True)
class NamedPermissionRecord(Record):
    """A permission with a name shown on LoginRocket's pages; ``auto_grant`` gives it to new members."""

    name: str | None = text()
    permission: str | None = text()
    auto_grant: bool | None = flag()
    realm_id: str | None = text()


@dataclass(frozen=True, kw_only=True)
class ResourceLinkRecord(Record):
    """A link LoginRocket's pages show (help, terms ...)."""

    title: str | None = text()
    link_url: str | None = text()
    resource_type: str | None = text()
    realm_id: str | None = text()


@dataclass(frozen=True, kw_only=True)
class RealmRecord(Record):
    """A realm: one set of users, orgs and settings; ``jwt_key`` is kept out of ``repr``."""

    name: str | None = text()
    public_name: str | None = text()
    state: str | None = text()
    environment: str | None = text()
    custom: Mapping[str, Any] = mapping()
    available_locales: Any = value()
    default_locale: str | None = text()
    email_verification: str | None = text()
    org_mode: str | None = text()
    signup: str | None = text()
    name_field: str | None = text()
    org_name_field: str | None = text()
    password_field: str | None = text()
    username_field: str | None = text()
    allowed_origins: Any = value()
    lr_features: Any = value()
    branding: Any = value()
    color_1: str | None = text()
    logo: str | None = text()
    logo_icon: str | None = text()
    privacy_policy: str | None = text()
    stylesheet: str | None = text()
    terms_of_service: str | None = text()
    access_token_minutes: float | None = number()
    jwt_algo: str | None = text()
    jwt_minutes: float | None = number()
    jwt_scopes: Any = value()
    session_minutes: float | None = number()
    #: The realm's JWT key: an RSA public key, or the HS256 secret (``jsk_...``).
    jwt_key: str | None = text(secret=True)
    named_permissions: tuple[NamedPermissionRecord, ...] | None = many(lambda: NamedPermissionRecord)
    resource_links: tuple[ResourceLinkRecord, ...] | None = many(lambda: ResourceLinkRecord)


@dataclass(frozen=True, kw_only=True)
class ClientAppRecord(Record):
    """A client app of the realm (a connected app, or an OAuth2 client); ``secret`` is kept out of ``repr``."""

    name: str | None = text()
    client_type: str | None = text()
    redirect_uris: tuple[str, ...] = texts()
    state: str | None = text()
    allowed_scopes: Any = value()
    app_type: str | None = text()
    logo: str | None = text()
    secret: str | None = text(secret=True)
    trusted: bool | None = flag()
    realm_id: str | None = text()


@dataclass(frozen=True, kw_only=True)
class DomainRecord(Record):
    """A domain of the realm: its LoginRocket domain, or a custom one to verify (``domains.verify``)."""

    domain_type: str | None = text()
    fqdn: str | None = text()
    domain: str | None = text()
    subdomain: str | None = text()
    uri: str | None = text()
    state: str | None = text()
    cert_state: str | None = text()
    dns_state: str | None = text()
    flags: Any = value()
    realm_id: str | None = text()


@dataclass(frozen=True, kw_only=True)
class AuthProviderRecord(Record):
    """An auth provider: passwords, TOTP, a social login or SSO; ``auth_url`` after ``authorize_url``."""

    name: str | None = text()
    provider_type: str | None = text()
    state: str | None = text()
    min_complexity: float | None = number()
    min_length: float | None = number()
    required_chars: Any = value()
    client_id: str | None = text()
    client_secret: str | None = text(secret=True)
    scopes: Any = value()
    loginrocket_domain: str | None = text()
    authorization_url: str | None = text()
    profile_url: str | None = text()
    token_url: str | None = text()
    email_field: str | None = text()
    email_verified_field: str | None = text()
    first_name_field: str | None = text()
    id_field: str | None = text()
    last_name_field: str | None = text()
    name_field: str | None = text()
    #: Where to send the user to log in with this provider (answers of ``authorize_url(s)``).
    auth_url: str | None = text()
    realm_id: str | None = text()


@dataclass(frozen=True, kw_only=True)
class NotificationRecord(Record):
    """One delivery of an event to a hook, and how it went."""

    event_id: str | None = text()
    hook_id: str | None = text()
    hook_type: str | None = text()
    state: str | None = text()
    attempts: float | None = number()
    last_destination: str | None = text()
    last_result: str | None = text()
    last_attempt_at: float | None = seconds()


@dataclass(frozen=True, kw_only=True)
class EventRecord(Record):
    """Something that happened in the realm (``user.created``, ``user.login.succeeded`` ...), and its notifications."""

    event_type: str | None = text()
    event_at: float | None = seconds()
    expires_at: float | None = seconds()
    user_id: str | None = text()
    org_id: str | None = text()
    membership_id: str | None = text()
    invitation_id: str | None = text()
    auth_provider_id: str | None = text()
    session_id: str | None = text()
    realm_id: str | None = text()
    token: str | None = text(secret=True)
    #: What the app said of the request (``{"ip": ..., "client": ...}``), the gem's ``request_data``.
    request: Mapping[str, Any] = mapping()
    #: ``None`` when the answer did not include them (``events.notifications(event)`` asks).
    notifications: tuple[NotificationRecord, ...] | None = many(lambda: NotificationRecord)


@dataclass(frozen=True, kw_only=True)
class HookRecord(Record):
    """A hook: an email, a webhook or a mailing-list sync, run on events of ``event_type``."""

    name: str | None = text()
    description: str | None = text()
    event_type: str | None = text()
    hook_type: str | None = text()
    state: str | None = text()
    destination: str | None = text()
    accumulate: Any = value()
    delay: float | None = number()
    email_renderers: Any = value()
    email_subjects: Any = value()
    email_templates: Any = value()
    email_to: Any = value()
    locales: Any = value()
    current_locales: Any = value()
    list_id: str | None = text()
    on_create: Any = value()
    visibility: str | None = text()
    mailing_list_provider_id: str | None = text()
    realm_id: str | None = text()


@dataclass(frozen=True, kw_only=True)
class JwtKeyRecord(Record):
    """A key the realm signs login tokens with; ``key`` (a public key, or an HS256 secret) is kept out of ``repr``."""

    algo: str | None = text()
    use: str | None = text()
    key: str | None = text(secret=True)
    short_key: str | None = text()
    flags: Any = value()
    realm_id: str | None = text()


@dataclass(frozen=True, kw_only=True)
class MailingListProviderRecord(Record):
    """A mailing-list service hooks subscribe users to."""

    provider_name: str | None = text()
    provider_type: str | None = text()
    state: str | None = text()
    api_endpoint: str | None = text()
    provider_account: str | None = text()
    valid_list_ids: Any = value()
    realm_id: str | None = text()


@dataclass(frozen=True, kw_only=True)
class MailingListSubscriptionRecord(Record):
    """A user's subscription through a mailing-list hook."""

    hook_id: str | None = text()
    user_id: str | None = text()
    list_state: str | None = text()


@dataclass(frozen=True, kw_only=True)
class Oauth2SessionRecord(Record):
    """An OAuth2 login (``sessions/oauth2``): its code, then (``code_to_token``) its tokens, kept out of ``repr``."""

    code: str | None = text(secret=True)
    redirect_uri: str | None = text()
    access_token: str | None = text(secret=True)
    id_token: str | None = text(secret=True)
    token_type: str | None = text()
    expires_in: float | None = number()
    expires_at: float | None = seconds()
    profile: Any = value()


@dataclass(frozen=True, kw_only=True)
class SmtpProviderRecord(Record):
    """An SMTP server the realm's emails go out through; ``smtp_password`` is kept out of ``repr``."""

    provider_name: str | None = text()
    provider_type: str | None = text()
    state: str | None = text()
    email_from: str | None = text()
    email_from_name: str | None = text()
    smtp_host: str | None = text()
    smtp_port: float | None = number()
    smtp_user: str | None = text()
    smtp_password: str | None = text(secret=True)
    realm_id: str | None = text()
