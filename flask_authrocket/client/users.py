"""``client.users`` and ``client.orgs``: the shared verbs, the user extras, and navigation between the two.

Ground floor: no Flask here. Paths and bodies as in AuthRocket's SDKs (authrocket-ruby
``lib/authrocket/user.rb`` and ``org.rb``, authrocket-js ``authrocket-node/lib/user.js``,
authrocket-php ``lib/User.php``; :mod:`flask_authrocket.client.catalog` lists them).

**Navigation.** The Ruby gem's records carry their client, so ``user.orgs`` and
``org.users`` can call the API. This client's records are plain frozen data (they can be
cached, pickled by nobody, compared, and never call anyone behind your back), so the
navigation lives on the resources, where the client and its credentials are:
``client.users.orgs(user)``, ``client.users.find_org(user, org_id)``,
``client.orgs.users(org)`` and ``client.orgs.find_user(org, user_id)``. Each takes a record
or an id, and makes the calls it needs in plain sight (see each method).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from ..errors import RecordNotFound
from ..models import drop_none
from ..records import MembershipRecord, OrgRecord, Record, SessionRecord, TokenRecord, UserRecord
from .answers import read_record, session_or_token
from .catalog import RESOURCES
from .resources import Resource, ResourceBase, build_root
from .transport import Credentials, Headers

_Found = TypeVar("_Found", bound=Record)


class Users(Resource[UserRecord]):
    """``client.users``: the shared verbs, the user extras of AuthRocket's SDKs, and the user's orgs.

    ``authenticate`` is ``POST users/<id>/authenticate``, ``authenticate_token`` is
    ``POST users/authenticate_token``, ``update_password`` is
    ``PUT users/<id>/update_password``, ``update_profile`` is ``PUT users/<id>/profile``,
    ``generate_password_token`` is ``POST users/<id>/generate_password_token``,
    ``reset_password_with_token`` is ``POST users/reset_password_with_token``,
    ``request_email_verification`` is ``POST users/<id>/request_email_verification``,
    ``verify_email`` is ``POST users/verify_email`` and ``accept_invitation`` is
    ``POST users/<id>/accept_invitation``; bodies with fields are wrapped in
    ``{"user": ...}``, with a ``request`` beside it. Each raises
    :class:`~flask_authrocket.errors.ValidationError` with the API's messages when it
    refuses (a wrong password, an expired token).
    """

    def authenticate(
        self,
        id: str,
        password: str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **fields: Any,
    ) -> SessionRecord | TokenRecord:
        """Check a user's password; ``id`` may be the user's id, email or username.

        Returns a :class:`~flask_authrocket.records.SessionRecord` (a new login,
        with its ``token``), or a :class:`~flask_authrocket.records.TokenRecord`
        when the realm asks for a second factor (finish with
        :meth:`authenticate_token`).
        """
        path = f"{self._member(id)}/authenticate"
        data = self._send("POST", path, {**fields, "password": password}, credentials, headers)
        return session_or_token(data, "POST", path)

    def authenticate_token(
        self,
        token: str,
        code: str | None = None,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **fields: Any,
    ) -> SessionRecord | TokenRecord:
        """Finish a login with the token from :meth:`authenticate` and, for a second factor, its ``code``."""
        path = f"{self.path}/authenticate_token"
        data = self._send("POST", path, drop_none({**fields, "token": token, "code": code}), credentials, headers)
        return session_or_token(data, "POST", path)

    def update_password(
        self,
        id: str,
        *,
        password: str,
        current_password: str | None = None,
        password_confirmation: str | None = None,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **fields: Any,
    ) -> UserRecord:
        """Change a user's password, checking ``current_password`` when given; returns the user."""
        path = f"{self._member(id)}/update_password"
        values = drop_none(
            {
                **fields,
                "current_password": current_password,
                "password": password,
                "password_confirmation": password_confirmation,
            }
        )
        return self._record(self._send("PUT", path, values, credentials, headers), "PUT", path)

    def update_profile(
        self,
        id: str,
        fields: Mapping[str, Any] | None = None,
        /,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **more_fields: Any,
    ) -> UserRecord:
        """Change what a user may change of themselves (email, names, username, password); returns the user."""
        path = f"{self._member(id)}/profile"
        return self._record(
            self._send("PUT", path, {**(fields or {}), **more_fields}, credentials, headers), "PUT", path
        )

    def generate_password_token(
        self,
        id: str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **params: Any,
    ) -> TokenRecord:
        """A one-time token for :meth:`reset_password_with_token` (e-mail it to the user yourself)."""
        path = f"{self._member(id)}/generate_password_token"
        data = self.client.request("POST", path, json=dict(params), headers=headers, credentials=credentials)
        return read_record(TokenRecord, data, "POST", path)

    def reset_password_with_token(
        self,
        token: str,
        password: str,
        password_confirmation: str | None = None,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **fields: Any,
    ) -> SessionRecord | TokenRecord:
        """Set a new password with a token from :meth:`generate_password_token`; the user is logged in.

        Returns a :class:`~flask_authrocket.records.SessionRecord`, or a
        :class:`~flask_authrocket.records.TokenRecord` when a second factor is needed.
        """
        path = f"{self.path}/reset_password_with_token"
        values = drop_none(
            {**fields, "token": token, "password": password, "password_confirmation": password_confirmation}
        )
        return session_or_token(self._send("POST", path, values, credentials, headers), "POST", path)

    def request_email_verification(
        self,
        id: str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **params: Any,
    ) -> TokenRecord:
        """Start verifying a user's email address; returns the token for :meth:`verify_email`."""
        path = f"{self._member(id)}/request_email_verification"
        data = self.client.request("POST", path, json=dict(params), headers=headers, credentials=credentials)
        return read_record(TokenRecord, data, "POST", path)

    def verify_email(
        self,
        token: str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **fields: Any,
    ) -> UserRecord:
        """Mark the email address verified with a token from :meth:`request_email_verification`."""
        path = f"{self.path}/verify_email"
        return self._record(self._send("POST", path, {**fields, "token": token}, credentials, headers), "POST", path)

    def accept_invitation(
        self,
        id: str,
        token: str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **fields: Any,
    ) -> UserRecord:
        """Make user ``id`` accept the invitation whose token is ``token``; returns the user.

        ``POST users/<id>/accept_invitation`` with ``{"user": {"token": ...}}``, as
        the gem's ``User#accept_invitation`` (authrocket-ruby ``lib/authrocket/user.rb``),
        node's ``users.acceptInvitation`` and PHP's ``users->acceptInvitation``. An org
        invitation makes the user a member of its org. Raises
        :class:`~flask_authrocket.errors.ValidationError` for a token that is wrong,
        used or expired.
        """
        path = f"{self._member(id)}/accept_invitation"
        return self._record(self._send("POST", path, {**fields, "token": token}, credentials, headers), "POST", path)

    # Navigation, as the gem's User#orgs and User#find_org --------------------------------------

    def orgs(
        self,
        user: UserRecord | str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        cache: bool | float | None = None,
    ) -> list[OrgRecord]:
        """The orgs user ``user`` (a record or an id) is a member of, as the gem's ``User#orgs``.

        The memberships come from ``user`` when the record holds them (``find``
        answers do), else from ``GET memberships?user_id=<id>``, page after page;
        each membership's org is the one the API embeds in it, else ``GET orgs/<id>``.
        """
        return _through(
            self._memberships_of(user, "user_id", credentials, headers, cache),
            lambda membership: (membership.org, membership.org_id),
            _resource(self, "orgs", OrgRecord),
            credentials,
            headers,
            cache,
        )

    def find_org(
        self,
        user: UserRecord | str,
        org_id: str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        cache: bool | float | None = None,
    ) -> OrgRecord:
        """The org ``org_id`` of user ``user``, as the gem's ``User#find_org``.

        Raises :class:`~flask_authrocket.errors.RecordNotFound` when the user is
        not a member of it (whether or not the org exists).
        """
        memberships = self._memberships_of(user, "user_id", credentials, headers, cache)
        chosen = [membership for membership in memberships if membership.org_id == org_id]
        found = _through(
            chosen,
            lambda membership: (membership.org, membership.org_id),
            _resource(self, "orgs", OrgRecord),
            credentials,
            headers,
            cache,
        )
        return _one_or_not_found(found, f"AuthRocket API: user {_id_of(user)} is not a member of org {org_id}.")

    def _memberships_of(
        self,
        user: UserRecord | str,
        key: str,
        credentials: Credentials | None,
        headers: Headers | None,
        cache: bool | float | None,
    ) -> Iterable[MembershipRecord]:
        if isinstance(user, UserRecord) and user.memberships is not None:
            return user.memberships
        return _memberships(self, key, _id_of(user), credentials, headers, cache)

    def _send(
        self,
        method: str,
        path: str,
        values: Mapping[str, Any],
        credentials: Credentials | None,
        headers: Headers | None,
    ) -> Any:
        return self.client.request(
            method, path, json=build_root(self.root, values), headers=headers, credentials=credentials
        )


class Orgs(Resource[OrgRecord]):
    """``client.orgs``: the shared verbs, and the org's users.

    ``delete(id)`` *closes* the org: the API answers it with ``state == "closed"``;
    ``delete(id, force=True)`` removes it (authrocket-php ``tests/OrgTest.php``,
    authrocket-js ``authrocket-node/test/org_test.js``).
    """

    def users(
        self,
        org: OrgRecord | str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        cache: bool | float | None = None,
    ) -> list[UserRecord]:
        """The users who are members of org ``org`` (a record or an id), as the gem's ``Org#users``.

        The memberships come from ``GET memberships?org_id=<id>``, page after page;
        each membership's user is the one the API embeds in it, else ``GET users/<id>``.
        """
        memberships = _memberships(self, "org_id", _id_of(org), credentials, headers, cache)
        return _through(
            memberships,
            lambda membership: (membership.user, membership.user_id),
            _resource(self, "users", UserRecord),
            credentials,
            headers,
            cache,
        )

    def find_user(
        self,
        org: OrgRecord | str,
        user_id: str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        cache: bool | float | None = None,
    ) -> UserRecord:
        """The member ``user_id`` of org ``org``, as the gem's ``Org#find_user``.

        Raises :class:`~flask_authrocket.errors.RecordNotFound` when that user is
        not a member of the org.
        """
        memberships = _memberships(self, "org_id", _id_of(org), credentials, headers, cache, user_id=user_id)
        chosen = [membership for membership in memberships if membership.user_id == user_id]
        found = _through(
            chosen,
            lambda membership: (membership.user, membership.user_id),
            _resource(self, "users", UserRecord),
            credentials,
            headers,
            cache,
        )
        return _one_or_not_found(found, f"AuthRocket API: user {user_id} is not a member of org {_id_of(org)}.")


# Shared steps of the navigation -----------------------------------------------------------------


def _id_of(record: Record | str) -> str:
    return record if isinstance(record, str) else record.id


def _resource(near: ResourceBase[Any], name: str, record_type: type[_Found]) -> Resource[_Found]:
    """Another resource of the same client, as the catalog describes it."""
    facts = RESOURCES[name]
    return Resource(near.client, facts.path, facts.root, record_type)


def _memberships(
    near: ResourceBase[Any],
    key: str,
    value: str,
    credentials: Credentials | None,
    headers: Headers | None,
    cache: bool | float | None,
    **filters: str,
) -> Iterable[MembershipRecord]:
    if not isinstance(value, str) or not value:
        raise RecordNotFound(f"AuthRocket API: no id given for {near.path}.", status=None)
    memberships = _resource(near, "memberships", MembershipRecord)
    query: dict[str, Any] = {key: value, **filters}
    return memberships.list(credentials=credentials, headers=headers, cache=cache, **query)


def _through(
    memberships: Iterable[MembershipRecord],
    embedded: Callable[[MembershipRecord], tuple[_Found | None, str | None]],
    other: Resource[_Found],
    credentials: Credentials | None,
    headers: Headers | None,
    cache: bool | float | None,
) -> list[_Found]:
    """What each membership leads to: the record it embeds, else the one ``other`` finds by id."""
    found: list[_Found] = []
    for membership in memberships:
        record, record_id = embedded(membership)
        if record is None and record_id:
            record = other.find(record_id, credentials=credentials, headers=headers, cache=cache)
        if record is not None:
            found.append(record)
    return found


def _one_or_not_found(found: list[_Found], message: str) -> _Found:
    if not found:
        raise RecordNotFound(message, status=404)
    return found[0]
