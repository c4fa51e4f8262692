"""The AuthRocket Core API client: typed records, clear errors, careful retries, opt-in caching.

Ground floor: no Flask here. An app gets a configured client as
``authrocket.client``; anything else builds one itself::

    client = AuthRocketClient()  # AUTHROCKET_URL, AUTHROCKET_API_KEY, AUTHROCKET_REALM ... from the environment
    for user in client.users.list(state="active"):
        print(user.email)
    org = client.orgs.create(name="Widgets Inc")
    client.memberships.create(user_id=user.id, org_id=org.id, permissions=["site:admin"])
    client.orgs.update(org.id, name="Widgets Ltd")
    client.sessions.retrieve(token)  # None once the session was logged out anywhere

Every resource (``users``, ``orgs``, ``memberships``, ``sessions``,
``invitations``, ``credentials``, ``realms``, ``client_apps``, ``domains``,
``auth_providers``) is a :class:`Resource` with ``all`` (one page), ``first``,
``find`` (raises when missing), ``retrieve`` (``None`` when missing),
``create``, ``update`` and ``delete``, named as in AuthRocket's Ruby and Node
clients, plus ``list`` (every page, lazily); ``users`` adds the user extras of
AuthRocket's own clients (:class:`Users`). Each verb takes ``credentials=``
(another realm or key for this call), ``headers=`` (e.g.
``{"Accept-Language": "fr"}``), and the reading verbs take ``cache=`` and
``refresh=``.

The package's rooms: :mod:`~flask_authrocket.client.transport` (where a call goes, retries,
deadlines, the cache), :mod:`~flask_authrocket.client.answers` (errors by status, records),
:mod:`~flask_authrocket.client.resources` (the verbs) and the client itself. The records are
in :mod:`flask_authrocket.records`.
"""

from __future__ import annotations

from .client import AuthRocketClient
from .resources import Page, Resource, Users
from .transport import CREDENTIAL_NAMES, DEFAULT_TIMEOUT, MAX_RETRY_WAIT, Credentials, Headers, Transport, user_agent

__all__ = [
    "CREDENTIAL_NAMES",
    "DEFAULT_TIMEOUT",
    "MAX_RETRY_WAIT",
    "AuthRocketClient",
    "Credentials",
    "Headers",
    "Page",
    "Resource",
    "Transport",
    "Users",
    "user_agent",
]
