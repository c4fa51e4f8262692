"""The resources of the Core API: :class:`Page`, :class:`Resource` (the verbs every resource shares) and
:class:`Users` (the user extras of AuthRocket's own clients).

Ground floor: no Flask here. A resource sends its calls through a
:class:`~flask_authrocket.client.transport.Transport` (the client itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar, overload
from urllib.parse import quote

from ..errors import ApiError, RecordNotFound
from ..models import drop_none
from ..records import Record, SessionRecord, TokenRecord, UserRecord
from .answers import read_record, session_or_token
from .transport import Credentials, Headers, Transport

R = TypeVar("R", bound=Record)


class Page(Sequence[R]):
    """One page of a list: its records, and whether the API has more after them.

    What :meth:`Resource.all` returns, as the Ruby gem's ``all`` returns an
    array with ``more_results?``: a sequence (index it, slice it, loop over it)
    with ``more_results`` and ``next_after``, the ``after=`` for the next page.

    >>> page = client.orgs.all(max_results=20)  # doctest: +SKIP
    >>> if page.more_results:  # doctest: +SKIP
    ...     page = client.orgs.all(max_results=20, after=page.next_after)
    """

    def __init__(self, records: Iterable[R], more_results: bool) -> None:
        self._records = tuple(records)
        self.more_results = more_results

    @overload
    def __getitem__(self, index: int) -> R: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[R]: ...

    def __getitem__(self, index: int | slice) -> R | Sequence[R]:
        return self._records[index]

    def __len__(self) -> int:
        return len(self._records)

    def __repr__(self) -> str:
        return f"Page({list(self._records)!r}, more_results={self.more_results})"

    @property
    def next_after(self) -> str | None:
        """The ``after=`` for the next page (the last record's id), or ``None`` when there is none."""
        return self._records[-1].id if self.more_results and self._records else None


class Resource(Generic[R]):
    """One resource of the API (``users``, ``orgs`` ...), with the verbs every resource shares.

    The names mean what they mean in AuthRocket's Ruby and Node clients:
    ``all`` is one page, ``first`` the first record or ``None``, ``find``
    raises :class:`~flask_authrocket.errors.RecordNotFound` for a missing
    record and ``retrieve`` returns ``None`` instead; ``list`` (every page,
    lazily) is this project's own. Reading verbs take ``cache=`` (``True`` or
    seconds) and ``refresh=True`` (the gem's ``cache: {force: true}``: ask the
    API and cache the fresh answer); every verb takes ``credentials=`` and
    ``headers=`` (see :meth:`AuthRocketClient.request`). Records come back as
    ``record_type``; a list answer is ``{"collection": [...], "more_results": bool}``.
    """

    def __init__(self, client: Transport, path: str, root: str, record_type: type[R]) -> None:
        self.client = client
        #: The resource's path under the API URL: ``"users"``.
        self.path = path
        #: The root element that wraps the fields of ``create`` and ``update``: ``"user"``.
        self.root = root
        self.record_type = record_type

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path}>"

    def all(
        self,
        *,
        max_results: int | None = None,
        after: str | None = None,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        cache: bool | float | None = None,
        refresh: bool = False,
        **params: Any,
    ) -> Page[R]:
        """One page of records (``GET <path>``), starting after the record ``after``, as Ruby's ``all``.

        ``max_results`` is the page size (the API's default when left out);
        other keyword arguments are the API's filters (``state="active"``,
        ``user_id=...``). The :class:`Page` says whether more follow
        (``more_results``) and where the next one starts (``next_after``); for
        every record, page after page, use :meth:`list`. ``page`` is the same
        call under another name.

        >>> first = client.orgs.all(max_results=20)  # doctest: +SKIP
        >>> first.more_results  # doctest: +SKIP
        True
        """
        query = dict(params, max_results=max_results, after=after)
        data = self.client.request(
            "GET", self.path, params=query, headers=headers, credentials=credentials, cache=cache, refresh=refresh
        )
        if not isinstance(data, Mapping) or not isinstance(data.get("collection"), list):
            raise ApiError(f"AuthRocket API GET {self.path} answered something other than a list.")
        return Page(
            (self._record(item, "GET", self.path) for item in data["collection"]), data.get("more_results") is True
        )

    # The name this client used before it took Ruby's; it reads well beside ``after=``.
    page = all

    def first(
        self,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        cache: bool | float | None = None,
        refresh: bool = False,
        **params: Any,
    ) -> R | None:
        """The first record matching the filters in ``params``, or ``None``.

        >>> client.orgs.first(state="active")  # doctest: +SKIP
        """
        page = self.all(max_results=1, credentials=credentials, headers=headers, cache=cache, refresh=refresh, **params)
        return page[0] if page else None

    def find(
        self,
        id: str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        cache: bool | float | None = None,
        refresh: bool = False,
        **params: Any,
    ) -> R:
        """The record ``id`` (``GET <path>/<id>``); raises :class:`~flask_authrocket.errors.RecordNotFound`.

        As ``find`` in the Ruby and Node clients: a missing record (or an
        empty ``id``) raises, so a ``try``/``except RecordNotFound`` ported from
        a ``rescue`` keeps its meaning. :meth:`retrieve` answers ``None`` instead.

        >>> client.orgs.find("org_0vKhXCrhd5Gp4wXY7h2aaz", cache=300)  # doctest: +SKIP
        """
        path = self._member(id)
        data = self.client.request(
            "GET",
            path,
            params=params or None,
            headers=headers,
            credentials=credentials,
            cache=cache,
            refresh=refresh,
        )
        return self._record(data, "GET", path)

    def retrieve(
        self,
        id: str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        cache: bool | float | None = None,
        refresh: bool = False,
        **params: Any,
    ) -> R | None:
        """The record ``id``, or ``None`` when the API does not know it (other errors still raise).

        As ``retrieve`` in the Ruby and Node clients: the Rails guide's managed
        sessions are ``client.sessions.retrieve(token)``, ``None`` once the
        session was logged out anywhere.
        """
        try:
            return self.find(id, credentials=credentials, headers=headers, cache=cache, refresh=refresh, **params)
        except RecordNotFound:
            return None

    def create(
        self,
        fields: Mapping[str, Any] | None = None,
        /,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **more_fields: Any,
    ) -> R:
        """Create a record (``POST <path>`` with ``{"<root>": {...fields}}``) and return it.

        Fields come as keyword arguments, or as one mapping when a field's
        name collides with ``credentials`` or ``headers``. Raises
        :class:`~flask_authrocket.errors.ValidationError` with the API's
        messages when it refuses.

        >>> client.orgs.create(name="Widgets Inc")  # doctest: +SKIP
        """
        body = self._wrap(fields, more_fields)
        data = self.client.request("POST", self.path, json=body, headers=headers, credentials=credentials)
        return self._record(data, "POST", self.path)

    def update(
        self,
        id: str,
        fields: Mapping[str, Any] | None = None,
        /,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **more_fields: Any,
    ) -> R:
        """Change the given fields of record ``id`` (``PUT <path>/<id>``) and return the record.

        Raises :class:`~flask_authrocket.errors.RecordNotFound` or
        :class:`~flask_authrocket.errors.ValidationError`.
        """
        path = self._member(id)
        body = self._wrap(fields, more_fields)
        data = self.client.request("PUT", path, json=body, headers=headers, credentials=credentials)
        return self._record(data, "PUT", path)

    def delete(
        self,
        id: str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **params: Any,
    ) -> None:
        """Delete record ``id`` (``DELETE <path>/<id>``).

        Raises :class:`~flask_authrocket.errors.RecordNotFound` when there is
        no such record, except after a retry of a first attempt that may have
        deleted it (see the module's notes).
        """
        self.client.request("DELETE", self._member(id), params=params or None, headers=headers, credentials=credentials)

    def list(
        self,
        *,
        max_results: int | None = None,
        page_size: int | None = None,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        cache: bool | float | None = None,
        refresh: bool = False,
        **params: Any,
    ) -> Iterator[R]:
        """Iterate over the records matching the filters in ``params``.

        Without ``max_results``, every record: page after page (of
        ``page_size`` records, or the API's default), each asked for when the
        previous one is used up, following ``after`` until ``more_results`` is
        false. With ``max_results``, the first ``max_results`` records only
        (one page; :meth:`all` also says whether there are more). Calls are
        made as the iteration goes, so errors are raised from the loop.

        >>> for user in client.users.list(state="active", page_size=100):  # doctest: +SKIP
        ...     print(user.email)
        """
        after = params.pop("after", None)
        while True:
            page = self.all(
                max_results=max_results if max_results is not None else page_size,
                after=after,
                credentials=credentials,
                headers=headers,
                cache=cache,
                refresh=refresh,
                **params,
            )
            yield from page
            if max_results is not None or page.next_after is None:
                return
            if page.next_after == after:
                raise ApiError(f"AuthRocket API GET {self.path} answered the same page twice; stopping the list.")
            after = page.next_after

    # Shared steps ------------------------------------------------------------------------------

    def _member(self, id: str) -> str:
        if not isinstance(id, str) or not id:
            raise RecordNotFound(f"AuthRocket API: no id given for {self.path}.", status=None)
        return f"{self.path}/{quote(id, safe='')}"

    def _wrap(self, fields: Mapping[str, Any] | None, more_fields: Mapping[str, Any]) -> dict[str, Any]:
        values = {**(fields or {}), **more_fields}
        if set(values) == {self.root} and isinstance(values[self.root], Mapping):
            return values  # already wrapped: {"user": {...}}
        return {self.root: values}

    def _record(self, data: Any, method: str, path: str) -> R:
        return read_record(self.record_type, data, method, path)


class Users(Resource[UserRecord]):
    """``client.users``: the shared verbs, plus the user extras of AuthRocket's Ruby and Node clients.

    Paths and bodies as in the authrocket-ruby gem (``lib/authrocket/user.rb``)
    and authrocket-node (``lib/user.js``): ``authenticate`` is
    ``POST users/<id>/authenticate``, ``authenticate_token`` is
    ``POST users/authenticate_token``, ``update_password`` is
    ``PUT users/<id>/update_password``, ``update_profile`` is
    ``PUT users/<id>/profile``, ``generate_password_token`` is
    ``POST users/<id>/generate_password_token``, ``reset_password_with_token``
    is ``POST users/reset_password_with_token``, ``request_email_verification``
    is ``POST users/<id>/request_email_verification`` and ``verify_email`` is
    ``POST users/verify_email``; bodies with fields are wrapped in ``{"user": ...}``.
    Each raises :class:`~flask_authrocket.errors.ValidationError` with the
    API's messages when it refuses (a wrong password, an expired token).
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

        Returns a :class:`~flask_authrocket.models.SessionRecord` (a new login,
        with its ``token``), or a :class:`~flask_authrocket.models.TokenRecord`
        when the realm asks for a second factor (finish with
        :meth:`authenticate_token`).
        """
        path = f"{self._member(id)}/authenticate"
        body = {self.root: {**fields, "password": password}}
        data = self.client.request("POST", path, json=body, headers=headers, credentials=credentials)
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
        values = {**fields, "token": token}
        if code is not None:
            values["code"] = code
        data = self.client.request("POST", path, json={self.root: values}, headers=headers, credentials=credentials)
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
    ) -> UserRecord:
        """Change a user's password, checking ``current_password`` when given; returns the user."""
        path = f"{self._member(id)}/update_password"
        values = drop_none(
            {
                "current_password": current_password,
                "password": password,
                "password_confirmation": password_confirmation,
            }
        )
        data = self.client.request("PUT", path, json={self.root: values}, headers=headers, credentials=credentials)
        return self._record(data, "PUT", path)

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
        body = self._wrap(fields, more_fields)
        data = self.client.request("PUT", path, json=body, headers=headers, credentials=credentials)
        return self._record(data, "PUT", path)

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

        Returns a :class:`~flask_authrocket.models.SessionRecord`, or a
        :class:`~flask_authrocket.models.TokenRecord` when a second factor is needed.
        """
        path = f"{self.path}/reset_password_with_token"
        values = {**fields, "token": token, "password": password}
        if password_confirmation is not None:
            values["password_confirmation"] = password_confirmation
        data = self.client.request("POST", path, json={self.root: values}, headers=headers, credentials=credentials)
        return session_or_token(data, "POST", path)

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
    ) -> UserRecord:
        """Mark the email address verified with a token from :meth:`request_email_verification`."""
        path = f"{self.path}/verify_email"
        data = self.client.request(
            "POST", path, json={self.root: {"token": token}}, headers=headers, credentials=credentials
        )
        return self._record(data, "POST", path)
