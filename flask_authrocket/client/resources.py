"""The verbs of the Core API's resources: :class:`Page`, one mixin per verb, and :class:`Resource` with them all.

A resource has the verbs AuthRocket's SDKs give it, and only those: ``client.events`` can
be listed and read but not changed, as the Ruby gem's ``crud :all, :find``. Each verb is a
mixin on :class:`ResourceBase`: :class:`Listable` (``all``, ``page``, ``first``, ``list``),
:class:`Findable` (``find``, ``retrieve``), :class:`Creatable`, :class:`Updatable` and
:class:`Deletable`; :class:`Resource` has every one. Which resource has which verbs is
written once, in :mod:`flask_authrocket.client.catalog`.

Bodies are built as AuthRocket's node and PHP clients build them (``buildRoot`` in
authrocket-js ``authrocket-node/lib/resource.js`` and authrocket-php ``lib/Resource.php``):
the fields inside the resource's root element, and a ``request`` (what the app says of its
own visitor: ``{"ip": ..., "client": ...}``) beside it: ``{"session": {...}, "request": {...}}``.

Ground floor: no Flask here. A resource sends its calls through a
:class:`~flask_authrocket.client.transport.Transport` (the client itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar, overload
from urllib.parse import quote

from ..errors import RecordNotFound
from ..records import Record
from .answers import read_record, unreadable
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


class ResourceBase(Generic[R]):
    """What every resource has: where it lives, its root element, its record type; the verbs are mixins.

    ``client`` sends the calls (a :class:`~flask_authrocket.client.transport.Transport`),
    ``path`` is the resource's path under the API URL (``"users"``), ``root`` the root
    element that wraps the fields of a change (``"user"``), ``record_type`` what its answers
    are read as.
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

    # Shared steps ------------------------------------------------------------------------------

    def _member(self, id: str) -> str:
        if not isinstance(id, str) or not id:
            raise RecordNotFound(f"AuthRocket API: no id given for {self.path}.", status=None)
        return f"{self.path}/{quote(id, safe='')}"

    def _wrap(self, fields: Mapping[str, Any] | None, more_fields: Mapping[str, Any]) -> dict[str, Any]:
        return build_root(self.root, {**(fields or {}), **more_fields})

    def _record(self, data: Any, method: str, path: str) -> R:
        return read_record(self.record_type, data, method, path)


class Listable(ResourceBase[R]):
    """``all`` (one page, as Ruby's ``all``), ``page`` (the same), ``first`` and ``list`` (every page, lazily)."""

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
            raise unreadable("GET", self.path, "something other than a list")
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
                raise unreadable("GET", self.path, "the same page twice; stopping the list")
            after = page.next_after


class Findable(ResourceBase[R]):
    """``find`` (raises :class:`~flask_authrocket.errors.RecordNotFound`) and ``retrieve`` (``None`` instead)."""

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


class Creatable(ResourceBase[R]):
    """``create``: ``POST <path>`` with the fields in the root element."""

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


class Updatable(ResourceBase[R]):
    """``update``: ``PUT <path>/<id>`` with the changed fields in the root element."""

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


class Deletable(ResourceBase[R]):
    """``delete``: ``DELETE <path>/<id>``, answering what the API answers."""

    def delete(
        self,
        id: str,
        *,
        credentials: Credentials | None = None,
        headers: Headers | None = None,
        **params: Any,
    ) -> R | None:
        """Delete record ``id`` (``DELETE <path>/<id>``) and return what the API answers: the record.

        What a delete does is the API's to say, and the answer says it:
        ``orgs.delete(id)`` *closes* the org and answers it with
        ``state == "closed"``, while ``orgs.delete(id, force=True)`` removes it
        (authrocket-php ``tests/OrgTest.php``, authrocket-js
        ``authrocket-node/test/org_test.js``). Keyword arguments are sent as the
        query (``force=True`` is ``?force=true``). ``None`` when the API answers
        nothing (204), and after a retry whose first attempt may have deleted
        the record already (see the transport's notes).

        Raises :class:`~flask_authrocket.errors.RecordNotFound` when there is
        no such record.
        """
        path = self._member(id)
        data = self.client.request("DELETE", path, params=params or None, headers=headers, credentials=credentials)
        return None if data is None else self._record(data, "DELETE", path)


class Resource(Listable[R], Findable[R], Creatable[R], Updatable[R], Deletable[R]):
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


def build_root(root: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of a change: ``values`` inside the ``root`` element, a ``request`` beside it.

    As ``buildRoot`` in AuthRocket's node and PHP clients (authrocket-js
    ``authrocket-node/lib/resource.js``, authrocket-php ``lib/Resource.php``):
    ``{"email": ..., "request": {"ip": ...}}`` for ``"user"`` is
    ``{"user": {"email": ...}, "request": {"ip": ...}}``. Values already
    wrapped (``{"user": {...}}``, with or without a ``request``) are sent as they are.
    """
    if set(values) - {"request"} == {root} and isinstance(values[root], Mapping):
        return dict(values)  # already wrapped: {"user": {...}}
    fields = dict(values)
    request = fields.pop("request", None)
    body: dict[str, Any] = {root: fields}
    if request is not None:
        body["request"] = request
    return body
