"""What AuthRocket's own SDKs say about the Core API, written down once: every resource, its verbs and actions.

The facts the client (:mod:`flask_authrocket.client.client`), the development LoginRocket's
``/v2`` (:mod:`flask_authrocket.dev.api_realm`) and the docs (docs/api-client.md, checked by
a test) all follow, each with the SDK files it was read from:

* authrocket-ruby 3.11, ``lib/authrocket/<name>.rb`` (``crud :all, :find ...`` says a
  resource's verbs; its methods are the actions);
* authrocket-js, ``authrocket-node/lib/<name>.js`` (every resource there has the five verbs of
  ``lib/resource.js``);
* authrocket-php, ``lib/<Name>.php`` (the same five, from ``lib/Resource.php``).

A resource has a verb when one of the SDKs gives it (the gem is the only source for the
resources only it knows). :data:`WIRE_FACTS` are the behaviours of the API itself that the
client follows, with where each is written.

Ground floor: no Flask, no requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..records import (
    AuthProviderRecord,
    ClientAppRecord,
    CredentialRecord,
    DomainRecord,
    EventRecord,
    HookRecord,
    InvitationRecord,
    JwtKeyRecord,
    MailingListProviderRecord,
    MailingListSubscriptionRecord,
    MembershipRecord,
    NamedPermissionRecord,
    Oauth2SessionRecord,
    OrgRecord,
    RealmRecord,
    Record,
    ResourceLinkRecord,
    SessionRecord,
    SmtpProviderRecord,
    UserRecord,
)

#: Every verb: ``all`` (with ``page``, ``first`` and ``list``), ``find`` (with ``retrieve``), ``create``, ``update``,
#: ``delete``.
ALL_VERBS = ("all", "find", "create", "update", "delete")


@dataclass(frozen=True)
class Action:
    """One call beyond the shared verbs: its Python name, what it sends, and its name in each SDK.

    ``call`` is the HTTP method and path (``<id>`` for the record's id), or ``"(no call)"``
    for what needs no call of its own (a fixed list, navigation over other calls); ``body``
    is ``"root"`` (the fields in the root element, a ``request`` beside it), ``"bare"`` (the
    fields as they are) or ``"query"``. ``node`` and ``php`` are ``None`` when that SDK lacks it.
    """

    name: str
    call: str
    body: str
    ruby: str
    node: str | None = None
    php: str | None = None


@dataclass(frozen=True)
class ResourceFacts:
    """One resource of the Core API as the SDKs speak it.

    ``name`` is the client's attribute (``client.users``) and the Ruby file's plural;
    ``path`` the path under the API URL; ``root`` the root element of a change;
    ``record`` the typed record of its answers; ``verbs`` those of :data:`ALL_VERBS` it has;
    ``ruby``, ``node`` and ``php`` its name in each SDK (``None``: that SDK lacks it);
    ``sources`` the SDK files it was read from.
    """

    name: str
    path: str
    root: str
    record: type[Record]
    verbs: tuple[str, ...]
    ruby: str
    node: str | None
    php: str | None
    sources: tuple[str, ...]
    actions: tuple[Action, ...] = ()


def _sdk_files(ruby: str, node: str | None = None, php: str | None = None) -> tuple[str, ...]:
    files = [f"authrocket-ruby lib/authrocket/{ruby}.rb"]
    if node:
        files.append(f"authrocket-js authrocket-node/lib/{node}.js")
    if php:
        files.append(f"authrocket-php lib/{php}.php")
    return tuple(files)


_READ_ONLY = ("all", "find")
_NO_LIST = ("find", "create", "update", "delete")

#: Every resource of the SDKs, by the client's attribute name, in alphabetical order.
RESOURCES: Mapping[str, ResourceFacts] = MappingProxyType(
    {
        facts.name: facts
        for facts in (
            ResourceFacts(
                "auth_providers",
                "auth_providers",
                "auth_provider",
                AuthProviderRecord,
                ALL_VERBS,
                "AuthRocket::AuthProvider",
                "authProviders",
                "authProviders()",
                _sdk_files("auth_provider", "auth_provider", "AuthProvider"),
                (
                    Action(
                        "authorize_urls",
                        "GET auth_providers/authorize",
                        "query",
                        "AuthProvider.authorize_urls",
                        "authorizeUrls",
                        "authorizeUrls",
                    ),
                    Action(
                        "authorize_url",
                        "GET auth_providers/<id>/authorize",
                        "query",
                        "AuthProvider.authorize_url, #authorize_url",
                        "authorizeUrl",
                        "authorizeUrl",
                    ),
                    Action(
                        "authorize",
                        "POST auth_providers/authorize",
                        "bare",
                        "AuthProvider.authorize",
                        "authorize",
                        "authorize",
                    ),
                    Action(
                        "authorize_token",
                        "POST auth_providers/<id>/authorize",
                        "bare",
                        "AuthProvider#authorize_token",
                        "authorizeToken",
                        "authorizeToken",
                    ),
                ),
            ),
            ResourceFacts(
                "client_apps",
                "client_apps",
                "client_app",
                ClientAppRecord,
                ALL_VERBS,
                "AuthRocket::ClientApp",
                "clientApps",
                "clientApps()",
                _sdk_files("client_app", "client_app", "ClientApp"),
            ),
            ResourceFacts(
                "credentials",
                "credentials",
                "credential",
                CredentialRecord,
                ALL_VERBS,
                "AuthRocket::Credential",
                "credentials",
                "credentials()",
                _sdk_files("credential", "credential", "Credential"),
                (Action("verify", "POST credentials/<id>/verify", "root", "Credential#verify", "verify", "verify"),),
            ),
            ResourceFacts(
                "domains",
                "domains",
                "domain",
                DomainRecord,
                ALL_VERBS,
                "AuthRocket::Domain",
                "domains",
                "domains()",
                _sdk_files("domain", "domain", "Domain"),
                (Action("verify", "POST domains/<id>/verify", "root", "Domain#verify"),),
            ),
            ResourceFacts(
                "events",
                "events",
                "event",
                EventRecord,
                _READ_ONLY,
                "AuthRocket::Event",
                None,
                None,
                _sdk_files("event") + _sdk_files("notification"),
                (
                    Action("notifications", "GET events/<id>", "query", "Event#notifications"),
                    Action("find_notification", "GET events/<id>", "query", "Event#find_notification"),
                ),
            ),
            ResourceFacts(
                "hooks",
                "hooks",
                "hook",
                HookRecord,
                ALL_VERBS,
                "AuthRocket::Hook",
                None,
                None,
                _sdk_files("hook"),
                (
                    Action("event_types", "(no call)", "query", "Hook.event_types"),
                    Action("email_event_types", "(no call)", "query", "Hook.email_event_types"),
                ),
            ),
            ResourceFacts(
                "invitations",
                "invitations",
                "invitation",
                InvitationRecord,
                ALL_VERBS,
                "AuthRocket::Invitation",
                "invitations",
                "invitations()",
                _sdk_files("invitation", "invitation", "Invitation"),
                (Action("invite", "POST invitations/<id>/invite", "root", "Invitation#invite", "invite", "invite"),),
            ),
            ResourceFacts(
                "jwt_keys",
                "jwt_keys",
                "jwt_key",
                JwtKeyRecord,
                ("all", "find", "create", "delete"),
                "AuthRocket::JwtKey",
                None,
                None,
                _sdk_files("jwt_key"),
            ),
            ResourceFacts(
                "mailing_list_providers",
                "mailing_list_providers",
                "mailing_list_provider",
                MailingListProviderRecord,
                ALL_VERBS,
                "AuthRocket::MailingListProvider",
                None,
                None,
                _sdk_files("mailing_list_provider"),
            ),
            ResourceFacts(
                "mailing_list_subscriptions",
                "mailing_list_subscriptions",
                "mailing_list_subscription",
                MailingListSubscriptionRecord,
                ALL_VERBS,
                "AuthRocket::MailingListSubscription",
                None,
                None,
                _sdk_files("mailing_list_subscription"),
            ),
            ResourceFacts(
                "memberships",
                "memberships",
                "membership",
                MembershipRecord,
                ALL_VERBS,
                "AuthRocket::Membership",
                "memberships",
                "memberships()",
                _sdk_files("membership", "membership", "Membership"),
            ),
            ResourceFacts(
                "named_permissions",
                "named_permissions",
                "named_permission",
                NamedPermissionRecord,
                _NO_LIST,
                "AuthRocket::NamedPermission",
                None,
                None,
                _sdk_files("named_permission"),
            ),
            ResourceFacts(
                "oauth2_sessions",
                "sessions/oauth2",
                "session",
                Oauth2SessionRecord,
                ("find", "create"),
                "AuthRocket::Oauth2Session",
                None,
                None,
                _sdk_files("oauth2_session"),
                (Action("code_to_token", "POST sessions/oauth2/code", "root", "Oauth2Session.code_to_token"),),
            ),
            ResourceFacts(
                "orgs",
                "orgs",
                "org",
                OrgRecord,
                ALL_VERBS,
                "AuthRocket::Org",
                "orgs",
                "orgs()",
                _sdk_files("org", "org", "Org"),
                (
                    Action("users", "GET memberships?org_id=<id>", "query", "Org#users"),
                    Action("find_user", "GET memberships?org_id=<id>", "query", "Org#find_user"),
                ),
            ),
            ResourceFacts(
                "realms",
                "realms",
                "realm",
                RealmRecord,
                ALL_VERBS,
                "AuthRocket::Realm",
                "realms",
                "realms()",
                _sdk_files("realm", "realm", "Realm"),
                (Action("reset", "POST realms/<id>/reset", "bare", "Realm#reset!", "reset", "reset"),),
            ),
            ResourceFacts(
                "resource_links",
                "resource_links",
                "resource_link",
                ResourceLinkRecord,
                _NO_LIST,
                "AuthRocket::ResourceLink",
                None,
                None,
                _sdk_files("resource_link"),
            ),
            ResourceFacts(
                "sessions",
                "sessions",
                "session",
                SessionRecord,
                ALL_VERBS,
                "AuthRocket::Session",
                "sessions",
                "sessions()",
                _sdk_files("session", "session", "Session"),
            ),
            ResourceFacts(
                "smtp_providers",
                "smtp_providers",
                "smtp_provider",
                SmtpProviderRecord,
                ALL_VERBS,
                "AuthRocket::SmtpProvider",
                None,
                None,
                _sdk_files("smtp_provider"),
            ),
            ResourceFacts(
                "users",
                "users",
                "user",
                UserRecord,
                ALL_VERBS,
                "AuthRocket::User",
                "users",
                "users()",
                _sdk_files("user", "user", "User"),
                (
                    Action(
                        "accept_invitation",
                        "POST users/<id>/accept_invitation",
                        "root",
                        "User#accept_invitation",
                        "acceptInvitation",
                        "acceptInvitation",
                    ),
                    Action(
                        "authenticate",
                        "POST users/<id>/authenticate",
                        "root",
                        "User.authenticate, #authenticate",
                        "authenticate",
                        "authenticate",
                    ),
                    Action(
                        "authenticate_token",
                        "POST users/authenticate_token",
                        "root",
                        "User.authenticate_token",
                        "authenticateToken",
                        "authenticateToken",
                    ),
                    Action(
                        "generate_password_token",
                        "POST users/<id>/generate_password_token",
                        "bare",
                        "User.generate_password_token, #generate_password_token",
                        "generatePasswordToken",
                        "generatePasswordToken",
                    ),
                    Action(
                        "request_email_verification",
                        "POST users/<id>/request_email_verification",
                        "bare",
                        "User.request_email_verification, #request_email_verification",
                        "requestEmailVerification",
                        "requestEmailVerification",
                    ),
                    Action(
                        "reset_password_with_token",
                        "POST users/reset_password_with_token",
                        "root",
                        "User.reset_password_with_token",
                        "resetPasswordWithToken",
                        "resetPasswordWithToken",
                    ),
                    Action(
                        "update_password",
                        "PUT users/<id>/update_password",
                        "root",
                        "User#update_password",
                        "updatePassword",
                        "updatePassword",
                    ),
                    Action(
                        "update_profile",
                        "PUT users/<id>/profile",
                        "root",
                        "User#update_profile",
                        "updateProfile",
                        "updateProfile",
                    ),
                    Action(
                        "verify_email",
                        "POST users/verify_email",
                        "root",
                        "User.verify_email",
                        "verifyEmail",
                        "verifyEmail",
                    ),
                    Action("orgs", "GET memberships?user_id=<id>", "query", "User#orgs"),
                    Action("find_org", "GET memberships?user_id=<id>", "query", "User#find_org"),
                ),
            ),
        )
    }
)


@dataclass(frozen=True)
class WireFact:
    """One behaviour of the API the client follows: what it is, and where it is written."""

    what: str
    sources: tuple[str, ...]


#: How the API answers, beyond the shape of its records: what the client (and the development ``/v2``) follow.
WIRE_FACTS: tuple[WireFact, ...] = (
    WireFact(
        "A 404 is 'not found', whatever its body: the SDKs never read it.",
        (
            "authrocket-js authrocket-node/lib/authrocket.js (handleError)",
            "authrocket-php lib/AuthRocket.php (checkError)",
        ),
    ),
    WireFact(
        "A 401 is a failed authentication call (the API key itself is fine; a wrong key is 403).",
        (
            "authrocket-php lib/AuthRocket.php (checkError: AuthenticationFailed)",
            "authrocket.com/docs/api/status_codes",
        ),
    ),
    WireFact(
        "A delete answers the record; orgs.delete closes the org (state 'closed'), force=True removes it.",
        ("authrocket-php tests/OrgTest.php", "authrocket-js authrocket-node/test/org_test.js"),
    ),
    WireFact(
        "A change sends its fields in the root element and a 'request' beside it.",
        ("authrocket-js authrocket-node/lib/resource.js (buildRoot)", "authrocket-php lib/Resource.php (buildRoot)"),
    ),
    WireFact(
        "AUTHROCKET_URI holds the API URL with the key, realm, service or JWT key as its user info.",
        ("authrocket-ruby lib/authrocket/api/api_config.rb (parse_credentials)",),
    ),
)
