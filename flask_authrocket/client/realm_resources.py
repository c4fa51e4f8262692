"""The resources of a realm's set-up and history, with the actions AuthRocket's SDKs give them.

Ground floor: no Flask here. Each class has the verbs its resource has in the SDKs
(:mod:`flask_authrocket.client.catalog`) and the actions beyond them, named as the Ruby gem
names them (authrocket-ruby ``lib/authrocket/<resource>.rb``): ``realms.reset``,
``credentials.verify``, ``domains.verify``, ``invitations.invite``, the auth providers'
``authorize_urls``, ``authorize_url``, ``authorize`` and ``authorize_token``, an event's
``notifications``, the hooks' ``event_types``, and ``oauth2_sessions.code_to_token``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import RecordNotFound
from ..models import drop_none
from ..records import (
    AuthProviderRecord,
    CredentialRecord,
    DomainRecord,
    EventRecord,
    HookRecord,
    InvitationRecord,
    JwtKeyRecord,
    NamedPermissionRecord,
    NotificationRecord,
    Oauth2SessionRecord,
    RealmRecord,
    Record,
    ResourceLinkRecord,
    SessionRecord,
    TokenRecord,
)
from .answers import read_any_record, read_record, session_or_token, unreadable
from .resources import Creatable, Deletable, Findable, Listable, Resource, ResourceBase, Updatable, build_root
from .transport import Credentials, Headers


class _Actions(ResourceBase[Any]):
    """The step every action shares: one call on a record of this resource (or the resource), its answer."""

    def _act(
        self,
        method: str,
        action: str,
        values: Mapping[str, Any] | None,
        credentials: Credentials | None,
        headers: Headers | None,
        *,
        id: str | None = None,
        wrap: bool = True,
    ) -> tuple[Any, str]:
        path = f"{self._member(id) if id is not None else self.path}/{action}"
        if method == "GET":
            data = self.client.request(method, path, params=values, headers=headers, credentials=credentials)
        else:
            body = build_root(self.root, values or {}) if wrap else dict(values or {})
            data = self.client.request(method, path, json=body, headers=headers, credentials=credentials)
        return data, path


class Realms(Resource[RealmRecord], _Actions):
    """``client.realms``: the shared verbs, and ``reset``."""

    def reset(
        self, id: str, *, credentials: Credentials | None = None, headers: Headers | None = None, **params: Any
    ) -> RealmRecord | None:
        """Empty realm ``id`` of its users, orgs and the rest of its data, as the gem's ``Realm#reset!``.

        ``POST realms/<id>/reset`` (node's ``realms.reset``, PHP's ``realms->reset``).
        Returns the realm as the API answers it (``None`` when it answers nothing).
        Meant for test and staging realms: there is no undo.
        """
        data, path = self._act("POST", "reset", params, credentials, headers, id=id, wrap=False)
        return None if data is None else self._record(data, "POST", path)


class UserCredentials(Resource[CredentialRecord], _Actions):
    """``client.credentials``: the shared verbs, and ``verify`` (a TOTP code)."""

    def verify(
        self,
        id: str,
        code: str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **fields: Any,
    ) -> CredentialRecord:
        """Check ``code`` against credential ``id`` (a new TOTP authenticator), as the gem's ``Credential#verify``.

        ``POST credentials/<id>/verify`` with ``{"credential": {"code": ...}}``.
        Returns the credential, now verified; a wrong code raises
        :class:`~flask_authrocket.errors.ValidationError` ("Verification failed").
        """
        data, path = self._act("POST", "verify", {**fields, "code": code}, credentials, headers, id=id)
        return read_record(CredentialRecord, data, "POST", path)


class Domains(Resource[DomainRecord], _Actions):
    """``client.domains``: the shared verbs, and ``verify`` (the DNS of a custom domain)."""

    def verify(
        self, id: str, *, credentials: Credentials | None = None, headers: Headers | None = None, **fields: Any
    ) -> DomainRecord:
        """Ask the API to check domain ``id``'s DNS now, as the gem's ``Domain#verify``; returns the domain."""
        data, path = self._act("POST", "verify", fields, credentials, headers, id=id)
        return read_record(DomainRecord, data, "POST", path)


class Invitations(Resource[InvitationRecord], _Actions):
    """``client.invitations``: the shared verbs, and ``invite`` (send it)."""

    def invite(
        self, id: str, *, credentials: Credentials | None = None, headers: Headers | None = None, **fields: Any
    ) -> InvitationRecord:
        """Send invitation ``id`` to its email address (again), as the gem's ``Invitation#invite``.

        ``POST invitations/<id>/invite``; returns the invitation, with ``invited_at`` set.
        """
        data, path = self._act("POST", "invite", fields, credentials, headers, id=id)
        return read_record(InvitationRecord, data, "POST", path)


class AuthProviders(Resource[AuthProviderRecord], _Actions):
    """``client.auth_providers``: the shared verbs, and logging in through a social or SSO provider.

    The flow, as the gem's ``AuthProvider`` and node's ``authProviders``: ``authorize_urls``
    (or ``authorize_url`` for one provider) gives each provider's ``auth_url``; the user goes
    there and comes back to ``redirect_uri`` with ``code`` and ``state``; ``authorize`` turns
    them into a login session. ``authorize_token`` does the same with an access token the app
    already holds.
    """

    def authorize_urls(
        self,
        redirect_uri: str,
        nonce: str | None = None,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **params: Any,
    ) -> list[AuthProviderRecord]:
        """Every provider the user can log in with, each with its ``auth_url`` (``GET auth_providers/authorize``)."""
        query = drop_none({**params, "redirect_uri": redirect_uri, "nonce": nonce})
        data, path = self._act("GET", "authorize", query, credentials, headers)
        if not isinstance(data, Mapping) or not isinstance(data.get("collection"), list):
            raise unreadable("GET", path, "something other than a list")
        return [read_record(AuthProviderRecord, item, "GET", path) for item in data["collection"]]

    def authorize_url(
        self,
        id: str,
        redirect_uri: str,
        nonce: str | None = None,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **params: Any,
    ) -> AuthProviderRecord:
        """Provider ``id`` (or its type: ``"google"``) with its ``auth_url``: ``GET auth_providers/<id>/authorize``."""
        query = drop_none({**params, "redirect_uri": redirect_uri, "nonce": nonce})
        data, path = self._act("GET", "authorize", query, credentials, headers, id=id)
        return read_record(AuthProviderRecord, data, "GET", path)

    def authorize(
        self,
        code: str,
        state: str,
        nonce: str | None = None,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **params: Any,
    ) -> SessionRecord | TokenRecord:
        """Log the user in with the ``code`` and ``state`` the provider sent back (``POST auth_providers/authorize``).

        Returns a :class:`~flask_authrocket.records.SessionRecord` with its token, or a
        :class:`~flask_authrocket.records.TokenRecord` when a second factor is needed.
        A code the provider refuses raises :class:`~flask_authrocket.errors.ValidationError`.
        """
        values = drop_none({**params, "code": code, "state": state, "nonce": nonce})
        data, path = self._act("POST", "authorize", values, credentials, headers, wrap=False)
        return session_or_token(data, "POST", path)

    def authorize_token(
        self,
        id: str,
        access_token: str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **params: Any,
    ) -> SessionRecord | TokenRecord:
        """Log the user in with an ``access_token`` of provider ``id`` (``POST auth_providers/<id>/authorize``)."""
        values = {**params, "access_token": access_token}
        data, path = self._act("POST", "authorize", values, credentials, headers, id=id, wrap=False)
        return session_or_token(data, "POST", path)


class Events(Listable[EventRecord], Findable[EventRecord]):
    """``client.events``: read-only (``all``, ``find`` ...), as the gem's ``crud :all, :find``; and notifications."""

    def notifications(
        self,
        event: EventRecord | str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        cache: bool | float | None = None,
    ) -> tuple[NotificationRecord, ...]:
        """The notifications of ``event`` (a record or an id): each hook it was delivered to, and how.

        From the record when it holds them, else from ``GET events/<id>``, as the gem's
        ``Event#notifications`` reloads the event.
        """
        if isinstance(event, EventRecord) and event.notifications is not None:
            return event.notifications
        event_id = event if isinstance(event, str) else event.id
        found = self.find(event_id, credentials=credentials, headers=headers, cache=cache)
        return found.notifications or ()

    def find_notification(
        self,
        event: EventRecord | str,
        notification_id: str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        cache: bool | float | None = None,
    ) -> NotificationRecord:
        """Notification ``notification_id`` of ``event``; raises :class:`~flask_authrocket.errors.RecordNotFound`."""
        for notification in self.notifications(event, credentials=credentials, headers=headers, cache=cache):
            if notification.id == notification_id:
                return notification
        raise RecordNotFound(f"AuthRocket API: no notification {notification_id} on that event.", status=404)


#: The event types a hook may run on, sorted: the gem's ``Hook.event_types`` (authrocket-ruby lib/authrocket/hook.rb).
HOOK_EVENT_TYPES: tuple[str, ...] = tuple(
    sorted(
        [
            f"invitation.{kind}.{step}"
            for kind in ("org", "preverify", "referral", "request")
            for step in ("created", "updated", "invited", "accepted", "expired")
        ]
        + ["membership.created", "membership.updated", "membership.deleted"]
        + ["org.created", "org.updated", "org.closed", "session.deleted"]
        + ["user.created", "user.updated", "user.deleted", "user.profile.updated"]
        + ["user.email.updating", "user.email.verifying", "user.email.verified"]
        + ["user.login.succeeded", "user.login.failed", "user.login.initiated"]
        + ["user.password.resetting", "user.password.updated"]
    )
)
#: The event types an email hook may run on, sorted, as the gem's ``Hook.email_event_types``.
HOOK_EMAIL_EVENT_TYPES: tuple[str, ...] = tuple(
    sorted(
        [f"invitation.{kind}.invited" for kind in ("org", "preverify", "referral", "request")]
        + ["invitation.org.accepted", "user.created", "user.profile.updated"]
        + ["user.email.updating", "user.email.verifying", "user.email.verified"]
        + ["user.login.succeeded", "user.login.failed", "user.password.resetting", "user.password.updated"]
    )
)


class Hooks(Resource[HookRecord]):
    """``client.hooks``: the shared verbs, and the event types a hook may run on."""

    def event_types(self) -> tuple[str, ...]:
        """Every event type a hook may run on, sorted, as the gem's ``Hook.event_types`` (no call)."""
        return HOOK_EVENT_TYPES

    def email_event_types(self) -> tuple[str, ...]:
        """The event types an email hook may run on, sorted, as the gem's ``Hook.email_event_types`` (no call)."""
        return HOOK_EMAIL_EVENT_TYPES


class JwtKeys(Listable[JwtKeyRecord], Findable[JwtKeyRecord], Creatable[JwtKeyRecord], Deletable[JwtKeyRecord]):
    """``client.jwt_keys``: a realm's signing keys; listed, read, created, deleted, never changed (the gem's crud)."""


class NamedPermissions(
    Findable[NamedPermissionRecord],
    Creatable[NamedPermissionRecord],
    Updatable[NamedPermissionRecord],
    Deletable[NamedPermissionRecord],
):
    """``client.named_permissions``: no list of their own (a realm's record holds them: ``realm.named_permissions``)."""


class ResourceLinks(
    Findable[ResourceLinkRecord],
    Creatable[ResourceLinkRecord],
    Updatable[ResourceLinkRecord],
    Deletable[ResourceLinkRecord],
):
    """``client.resource_links``: no list of their own (a realm's record holds them: ``realm.resource_links``)."""


class Oauth2Sessions(Findable[Oauth2SessionRecord], Creatable[Oauth2SessionRecord], _Actions):
    """``client.oauth2_sessions``: OAuth2 logins of client apps (``sessions/oauth2``), the gem's ``Oauth2Session``."""

    def code_to_token(
        self,
        *,
        client_app_id: str,
        client_app_secret: str,
        code: str,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **fields: Any,
    ) -> Record:
        """Trade an OAuth2 ``code`` for its tokens (``POST sessions/oauth2/code``), as the gem's ``code_to_token``.

        The body is ``{"session": {"client_app_id", "client_app_secret", "code"}}``.
        Returns the record the API answers, typed by its ``object`` (an
        :class:`~flask_authrocket.records.Oauth2SessionRecord` with ``access_token``
        and ``id_token``). A wrong code or secret raises
        :class:`~flask_authrocket.errors.ValidationError` (or
        :class:`~flask_authrocket.errors.AuthenticationFailed` on a 401).
        """
        values = {**fields, "client_app_id": client_app_id, "client_app_secret": client_app_secret, "code": code}
        data, path = self._act("POST", "code", values, credentials, headers)
        return read_any_record(data, "POST", path, Oauth2SessionRecord)
