"""AuthRocketClient: the Core API client, a transport with the resources on it.

Ground floor: no Flask here.
"""

from __future__ import annotations

from functools import cached_property

from ..records import MembershipRecord, OrgRecord, Record, SessionRecord, UserRecord
from .resources import Resource, Users
from .transport import Transport

__all__ = ["AuthRocketClient"]


class AuthRocketClient(Transport):
    """A client of the AuthRocket Core API.

    Each setting left out comes from the environment variable of the same
    name: ``url`` from ``AUTHROCKET_URL`` (e.g. ``https://api-e2.authrocket.com/v2``),
    ``api_key`` from ``AUTHROCKET_API_KEY``, ``realm`` from ``AUTHROCKET_REALM``,
    ``service`` from ``AUTHROCKET_SERVICE``. A client may be built without a URL
    or key; the first call then raises :class:`~flask_authrocket.ConfigurationError`
    naming the missing setting. Its settings (``locale``, ``timeout``,
    ``cache``, ``retries``, ``backoff``, ``session`` ...) are those of
    :class:`~flask_authrocket.client.transport.Transport`.

    The resources are attributes: ``users`` (:class:`Users`), ``orgs``,
    ``memberships``, ``sessions``, ``invitations``, ``credentials``,
    ``realms``, ``client_apps``, ``domains``, ``auth_providers``.
    """

    @cached_property
    def users(self) -> Users:
        """Users: the shared verbs plus the user extras (:class:`Users`)."""
        return Users(self, "users", "user", UserRecord)

    @cached_property
    def orgs(self) -> Resource[OrgRecord]:
        """Orgs (*accounts* on LoginRocket's pages)."""
        return Resource(self, "orgs", "org", OrgRecord)

    @cached_property
    def memberships(self) -> Resource[MembershipRecord]:
        """Memberships: a user in an org, with permissions."""
        return Resource(self, "memberships", "membership", MembershipRecord)

    @cached_property
    def sessions(self) -> Resource[SessionRecord]:
        """Login sessions; ``retrieve(token)`` is ``None`` once logged out anywhere."""
        return Resource(self, "sessions", "session", SessionRecord)

    @cached_property
    def invitations(self) -> Resource[Record]:
        """Invitations to the realm or to an org."""
        return Resource(self, "invitations", "invitation", Record)

    @cached_property
    def credentials(self) -> Resource[Record]:
        """Users' credentials: passwords, TOTP, social logins."""
        return Resource(self, "credentials", "credential", Record)

    @cached_property
    def realms(self) -> Resource[Record]:
        """Realms."""
        return Resource(self, "realms", "realm", Record)

    @cached_property
    def client_apps(self) -> Resource[Record]:
        """Client apps of the realm."""
        return Resource(self, "client_apps", "client_app", Record)

    @cached_property
    def domains(self) -> Resource[Record]:
        """The realm's domains."""
        return Resource(self, "domains", "domain", Record)

    @cached_property
    def auth_providers(self) -> Resource[Record]:
        """Auth providers: social logins, SSO."""
        return Resource(self, "auth_providers", "auth_provider", Record)
