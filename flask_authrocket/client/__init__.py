"""The AuthRocket Core API client: every resource of AuthRocket's SDKs, typed records, clear errors, careful retries.

Ground floor: no Flask here. An app gets a configured client as
``authrocket.client``; anything else builds one itself::

    client = AuthRocketClient()  # AUTHROCKET_URL, AUTHROCKET_API_KEY, AUTHROCKET_REALM ... from the environment
    for user in client.users.list(state="active"):
        print(user.email)
    org = client.orgs.create(name="Widgets Inc")
    client.memberships.create(user_id=user.id, org_id=org.id, permissions=["site:admin"])
    client.orgs.update(org.id, name="Widgets Ltd")
    client.sessions.retrieve(token)  # None once the session was logged out anywhere
    client.orgs.delete(org.id)       # closes the org: the answer has state == "closed"

Every resource of AuthRocket's SDKs is an attribute, with the verbs the SDKs give it
(``all`` one page, ``first``, ``find`` raising when missing, ``retrieve`` answering
``None``, ``create``, ``update``, ``delete``, plus this project's ``list``: every page,
lazily) and the actions beyond them (``users.accept_invitation``, ``realms.reset``,
``credentials.verify`` ...), named as in the Ruby gem. Each verb takes ``credentials=``
(another realm or key for this call), ``headers=`` (e.g. ``{"Accept-Language": "fr"}``),
and the reading verbs take ``cache=`` and ``refresh=``. The table of resources, verbs and
actions, with the SDK files each comes from, is :mod:`~flask_authrocket.client.catalog`.

The package's rooms: :mod:`~flask_authrocket.client.transport` (where a call goes, retries,
deadlines, size cap, the cache), :mod:`~flask_authrocket.client.answers` (errors by status,
records), :mod:`~flask_authrocket.client.resources` (the verbs),
:mod:`~flask_authrocket.client.users` (users and orgs, and navigation between them),
:mod:`~flask_authrocket.client.realm_resources` (the rest) and the client itself. The records
are in :mod:`flask_authrocket.records`.
"""

from __future__ import annotations

from .catalog import RESOURCES, WIRE_FACTS, Action, ResourceFacts, WireFact
from .client import AuthRocketClient
from .realm_resources import (
    HOOK_EMAIL_EVENT_TYPES,
    HOOK_EVENT_TYPES,
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
from .resources import Creatable, Deletable, Findable, Listable, Page, Resource, ResourceBase, Updatable, build_root
from .transport import (
    CREDENTIAL_NAMES,
    DEFAULT_TIMEOUT,
    MAX_ANSWER_BYTES,
    MAX_RETRY_WAIT,
    Credentials,
    Headers,
    Transport,
    user_agent,
)
from .users import Orgs, Users

__all__ = [
    "CREDENTIAL_NAMES",
    "DEFAULT_TIMEOUT",
    "HOOK_EMAIL_EVENT_TYPES",
    "HOOK_EVENT_TYPES",
    "MAX_ANSWER_BYTES",
    "MAX_RETRY_WAIT",
    "RESOURCES",
    "WIRE_FACTS",
    "Action",
    "AuthProviders",
    "AuthRocketClient",
    "Creatable",
    "Credentials",
    "Deletable",
    "Domains",
    "Events",
    "Findable",
    "Headers",
    "Hooks",
    "Invitations",
    "JwtKeys",
    "Listable",
    "NamedPermissions",
    "Oauth2Sessions",
    "Orgs",
    "Page",
    "Realms",
    "Resource",
    "ResourceBase",
    "ResourceFacts",
    "ResourceLinks",
    "Transport",
    "Updatable",
    "UserCredentials",
    "Users",
    "WireFact",
    "build_root",
    "user_agent",
]
