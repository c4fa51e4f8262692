"""AuthRocketClient: the Core API client, a transport with the resources on it.

Ground floor: no Flask here. Each resource's path, root element and record type come from
:data:`flask_authrocket.client.catalog.RESOURCES`, the one table of what AuthRocket's SDKs say.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from ..records import (
    ClientAppRecord,
    MailingListProviderRecord,
    MailingListSubscriptionRecord,
    MembershipRecord,
    SessionRecord,
    SmtpProviderRecord,
)
from .catalog import RESOURCES
from .realm_resources import (
    AuthProviders,
    Domains,
    Events,
    Hooks,
    Invitations,
    JwtKeys,
    NamedPermissions,
    Oauth2Sessions,
    Realms,
    ResourceLinks,
    UserCredentials,
)
from .resources import Resource
from .transport import Transport
from .users import Orgs, Users

__all__ = ["AuthRocketClient"]


def _where(name: str) -> tuple[str, str, type[Any]]:
    """The path, root element and record type of resource ``name``, from the catalog."""
    facts = RESOURCES[name]
    return facts.path, facts.root, facts.record


class AuthRocketClient(Transport):
    """A client of the AuthRocket Core API.

    Each setting left out comes from the environment variable of the same
    name: ``url`` from ``AUTHROCKET_URL`` (e.g. ``https://api-e2.authrocket.com/v2``),
    ``api_key`` from ``AUTHROCKET_API_KEY``, ``realm`` from ``AUTHROCKET_REALM``,
    ``service`` from ``AUTHROCKET_SERVICE``; ``AUTHROCKET_URI`` (the URL with the key and
    realm inside, as the Ruby gem reads it) fills whichever of them is still missing. A
    client may be built without a URL or key; the first call then raises
    :class:`~flask_authrocket.ConfigurationError` naming the missing setting. Its settings
    (``locale``, ``timeout``, ``cache``, ``retries``, ``backoff``, ``session``,
    ``ca_bundle``, ``max_answer_bytes`` ...) are those of
    :class:`~flask_authrocket.client.transport.Transport`.

    The resources are attributes, one per resource of AuthRocket's SDKs, each with the
    verbs and actions the SDKs give it (docs/api-client.md lists them): ``auth_providers``,
    ``client_apps``, ``credentials``, ``domains``, ``events``, ``hooks``, ``invitations``,
    ``jwt_keys``, ``mailing_list_providers``, ``mailing_list_subscriptions``,
    ``memberships``, ``named_permissions``, ``oauth2_sessions``, ``orgs``, ``realms``,
    ``resource_links``, ``sessions``, ``smtp_providers``, ``users``.
    """

    @cached_property
    def auth_providers(self) -> AuthProviders:
        """Auth providers: passwords, TOTP, social logins, SSO; and logging in through them."""
        return AuthProviders(self, *_where("auth_providers"))

    @cached_property
    def client_apps(self) -> Resource[ClientAppRecord]:
        """Client apps of the realm."""
        return Resource(self, *_where("client_apps"))

    @cached_property
    def credentials(self) -> UserCredentials:
        """Users' credentials: passwords, TOTP, social logins; ``verify`` a TOTP code."""
        return UserCredentials(self, *_where("credentials"))

    @cached_property
    def domains(self) -> Domains:
        """The realm's domains; ``verify`` a custom one."""
        return Domains(self, *_where("domains"))

    @cached_property
    def events(self) -> Events:
        """What happened in the realm, read-only, with each event's notifications."""
        return Events(self, *_where("events"))

    @cached_property
    def hooks(self) -> Hooks:
        """Hooks: emails, webhooks and mailing-list syncs run on events."""
        return Hooks(self, *_where("hooks"))

    @cached_property
    def invitations(self) -> Invitations:
        """Invitations to the realm or to an org; ``invite`` sends one."""
        return Invitations(self, *_where("invitations"))

    @cached_property
    def jwt_keys(self) -> JwtKeys:
        """The keys the realm signs login tokens with."""
        return JwtKeys(self, *_where("jwt_keys"))

    @cached_property
    def mailing_list_providers(self) -> Resource[MailingListProviderRecord]:
        """Mailing-list services hooks subscribe users to."""
        return Resource(self, *_where("mailing_list_providers"))

    @cached_property
    def mailing_list_subscriptions(self) -> Resource[MailingListSubscriptionRecord]:
        """Users' subscriptions through mailing-list hooks."""
        return Resource(self, *_where("mailing_list_subscriptions"))

    @cached_property
    def memberships(self) -> Resource[MembershipRecord]:
        """Memberships: a user in an org, with permissions."""
        return Resource(self, *_where("memberships"))

    @cached_property
    def named_permissions(self) -> NamedPermissions:
        """Permissions with names shown on LoginRocket's pages."""
        return NamedPermissions(self, *_where("named_permissions"))

    @cached_property
    def oauth2_sessions(self) -> Oauth2Sessions:
        """OAuth2 logins of client apps (``sessions/oauth2``); ``code_to_token``."""
        return Oauth2Sessions(self, *_where("oauth2_sessions"))

    @cached_property
    def orgs(self) -> Orgs:
        """Orgs (*accounts* on LoginRocket's pages); ``delete`` closes one, ``delete(force=True)`` removes it."""
        return Orgs(self, *_where("orgs"))

    @cached_property
    def realms(self) -> Realms:
        """Realms; ``reset`` empties one."""
        return Realms(self, *_where("realms"))

    @cached_property
    def resource_links(self) -> ResourceLinks:
        """Links LoginRocket's pages show."""
        return ResourceLinks(self, *_where("resource_links"))

    @cached_property
    def sessions(self) -> Resource[SessionRecord]:
        """Login sessions; ``retrieve(token)`` is ``None`` once logged out anywhere."""
        return Resource(self, *_where("sessions"))

    @cached_property
    def smtp_providers(self) -> Resource[SmtpProviderRecord]:
        """SMTP servers the realm's emails go out through."""
        return Resource(self, *_where("smtp_providers"))

    @cached_property
    def users(self) -> Users:
        """Users: the shared verbs, the user extras and their orgs (:class:`Users`)."""
        return Users(self, *_where("users"))
