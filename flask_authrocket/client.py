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

Choices made here:

* **Retries only where repeating cannot do harm.** GET and DELETE are retried
  (at most ``retries`` times) when nothing answered or the API answered 429,
  502, 503 or 504; POST and PUT never are, since a lost answer does not mean
  the change was not made. Waits grow from ``backoff`` (0.5, 1, 2 ... s), or
  follow ``Retry-After`` when the API sends it; a ``Retry-After`` longer than
  :data:`MAX_RETRY_WAIT` is not waited for: the error is raised at once with
  its ``retry_after``, for the caller to decide.
* **A retried DELETE that finds nothing has succeeded.** When an earlier
  attempt may have reached the API (no answer, or a 5xx) and the retry answers
  404, the first attempt did the deletion: ``delete`` returns normally.
* **Redirects are not followed.** The API never redirects; following one would
  send the API key wherever it points. A redirect raises
  :class:`~flask_authrocket.errors.ApiUnavailable` (check ``AUTHROCKET_URL``).
* **The API key stays out of sight.** It is not in ``repr(client)``, in any
  exception message or in any log line; in cache keys only its SHA-256 digest
  is mixed into the hashed key. Login tokens in a path (``sessions/<token>``)
  are shown as ``<token>`` in messages and logs.
* **Caching is opt-in, per call, for GETs only** (``cache=True`` for the
  cache's default timeout, or a number of seconds); ``refresh=True`` asks the API
  anyway and caches the fresh answer, as the Ruby gem's ``cache: {force: true}``
  (a record gone since is forgotten). Only successful answers are
  kept. The key covers the URL, the query, the realm, the service, the
  ``Accept-Language`` and a digest of the API key. A cache that fails (Redis
  down) is logged once and left alone for
  :data:`~flask_authrocket.cache.CACHE_RETRY_INTERVAL`
  seconds, never raised: the calls go to the API meanwhile, without paying for
  a cache that does not answer.
"""

from __future__ import annotations

import email.utils
import functools
import hashlib
import json as jsonlib
import logging
import math
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Generic, TypeVar, overload
from urllib.parse import quote, urlsplit

import requests
from cachelib import BaseCache, SimpleCache
from requests.structures import CaseInsensitiveDict

from .cache import GuardedCache
from .errors import (
    AccessDenied,
    AccountInactive,
    ApiError,
    ApiUnavailable,
    ClientError,
    ConfigurationError,
    RateLimited,
    RecordNotFound,
    ServerError,
    ValidationError,
)
from .fetch import Deadline, new_session, parse_json, url_problem
from .logs import redact_url
from .models import (
    MembershipRecord,
    OrgRecord,
    Record,
    SessionRecord,
    TokenRecord,
    UserRecord,
    drop_none,
    record_from_json,
)

logger = logging.getLogger("flask_authrocket")

#: Seconds one call may take in all, connect to last byte (the Node client waits 50 s).
DEFAULT_TIMEOUT = 5.0
#: The longest ``Retry-After`` (seconds) the client waits for before a retry; longer ones raise at once.
MAX_RETRY_WAIT = 30.0

#: What a per-call ``credentials=`` mapping may hold.
CREDENTIAL_NAMES = frozenset({"url", "api_key", "realm", "service"})

_RETRIED_METHODS = frozenset({"GET", "DELETE"})
_RETRIED_STATUSES = frozenset({429, 502, 503, 504})
_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_MAX_ERROR_MESSAGES = 20
_MAX_ERROR_LENGTH = 500

R = TypeVar("R", bound=Record)

Headers = Mapping[str, "str | None"]
Credentials = Mapping[str, "str | None"]


@functools.cache
def user_agent() -> str:
    """The ``User-Agent`` of every call: ``flask-authrocket/<version>``."""
    try:
        version = metadata.version("flask-authrocket")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"flask-authrocket/{version}"


@dataclass(frozen=True)
class _Target:
    """Where one call goes and as whom."""

    url: str
    api_key: str = field(repr=False)
    realm: str | None
    service: str | None


@dataclass(frozen=True)
class _Call:
    """One prepared call: what is sent, and how it is named in messages."""

    method: str
    path: str
    url: str
    query: list[tuple[str, str]]
    body: Any
    headers: CaseInsensitiveDict[str] = field(repr=False)
    api_key: str = field(repr=False)

    @property
    def shown_path(self) -> str:
        """The path for messages and logs: login tokens become ``<token>``."""
        return _shown(self.path)

    @property
    def holds_token(self) -> bool:
        return self.shown_path != self.path


class AuthRocketClient:
    """A client of the AuthRocket Core API.

    Each setting left out comes from the environment variable of the same
    name: ``url`` from ``AUTHROCKET_URL`` (e.g. ``https://api-e2.authrocket.com/v2``),
    ``api_key`` from ``AUTHROCKET_API_KEY``, ``realm`` from ``AUTHROCKET_REALM``,
    ``service`` from ``AUTHROCKET_SERVICE``. A client may be built without a URL
    or key; the first call then raises :class:`~flask_authrocket.ConfigurationError`
    naming the missing setting.

    :param locale: sent as ``Accept-Language`` (the language of the API's error messages).
    :param timeout: seconds one call may take in all, from the connect to the answer's last byte
        (each retry has its own).
    :param cache: a cachelib cache for ``cache=`` calls (default: a new in-process ``SimpleCache``).
    :param retries: how many times an idempotent call is retried (see the module's notes).
    :param backoff: seconds before the first retry, doubled for each next one.
    :param session: a :class:`requests.Session` to share (default: one of its own, pooling connections).
        One from :func:`flask_authrocket.fetch.new_session` is bounded by ``timeout`` from the connect
        on; with any other, each read is, and the body as a whole.

    Raises :class:`~flask_authrocket.ConfigurationError` for an unusable ``url``,
    ``timeout``, ``retries`` or ``backoff``.

    The resources are attributes: ``users`` (:class:`Users`), ``orgs``,
    ``memberships``, ``sessions``, ``invitations``, ``credentials``,
    ``realms``, ``client_apps``, ``domains``, ``auth_providers``.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        api_key: str | None = None,
        realm: str | None = None,
        service: str | None = None,
        locale: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        cache: BaseCache | None = None,
        retries: int = 2,
        backoff: float = 0.5,
        session: requests.Session | None = None,
    ) -> None:
        self.url = _api_url(url or os.environ.get("AUTHROCKET_URL"), "AUTHROCKET_URL")
        self._api_key = api_key or os.environ.get("AUTHROCKET_API_KEY") or None
        self.realm = realm or os.environ.get("AUTHROCKET_REALM") or None
        self.service = service or os.environ.get("AUTHROCKET_SERVICE") or None
        self.locale = locale or None
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ConfigurationError(f"The API timeout must be a positive number of seconds, not {timeout!r}.")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigurationError(f"retries must be a whole number of at least 0, not {retries!r}.")
        if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or backoff < 0:
            raise ConfigurationError(f"backoff must be a number of seconds of at least 0, not {backoff!r}.")
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self.cache: BaseCache = cache if cache is not None else SimpleCache()
        self._http = session or new_session()
        self._guarded_cache = GuardedCache(
            self.cache, name="The API client's cache", fallback="calling the API without it"
        )

        self.users = Users(self, "users", "user", UserRecord)
        self.orgs: Resource[OrgRecord] = Resource(self, "orgs", "org", OrgRecord)
        self.memberships: Resource[MembershipRecord] = Resource(self, "memberships", "membership", MembershipRecord)
        self.sessions: Resource[SessionRecord] = Resource(self, "sessions", "session", SessionRecord)
        self.invitations: Resource[Record] = Resource(self, "invitations", "invitation", Record)
        self.credentials: Resource[Record] = Resource(self, "credentials", "credential", Record)
        self.realms: Resource[Record] = Resource(self, "realms", "realm", Record)
        self.client_apps: Resource[Record] = Resource(self, "client_apps", "client_app", Record)
        self.domains: Resource[Record] = Resource(self, "domains", "domain", Record)
        self.auth_providers: Resource[Record] = Resource(self, "auth_providers", "auth_provider", Record)

    def __repr__(self) -> str:
        key = "set" if self._api_key else "unset"
        return f"AuthRocketClient(url={self.url!r}, realm={self.realm!r}, service={self.service!r}, api_key=<{key}>)"

    def close(self) -> None:
        """Close the pooled connections (the client can still be used; it reconnects)."""
        self._http.close()

    def __enter__(self) -> AuthRocketClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Headers | None = None,
        credentials: Credentials | None = None,
        cache: bool | float | None = None,
        refresh: bool = False,
    ) -> Any:
        """Call the API and return its decoded JSON answer (``None`` for an empty one).

        ``path`` is relative to the API URL (``"users/usr_123"``). ``params``
        become the query string (``None`` values are left out, ``True`` is
        ``"true"``, lists repeat the name); ``json`` is the body. ``headers``
        are merged over the defaults (``accept_language`` is read as
        ``Accept-Language``; a ``None`` value removes a default).
        ``credentials`` may hold ``api_key``, ``realm``, ``service`` and ``url``
        for this call only: ``url`` and ``api_key`` default to the client's,
        while ``realm`` and ``service`` are exactly what the mapping says (left
        out: none), so a call for another realm never carries this one's.
        ``cache`` (GET only): ``True`` or seconds to keep the answer.
        ``refresh`` (GET only; the Ruby gem's ``cache: {force: true}``): forget
        the cached answer, ask the API and cache what it says (for ``cache``
        seconds, or the cache's default timeout when ``cache`` is left out).

        Raises a subclass of :class:`~flask_authrocket.errors.ApiError` for an
        error answer or none at all, and
        :class:`~flask_authrocket.ConfigurationError` when the URL or the API
        key is missing.
        """
        method = method.upper()
        target = self._target(credentials)
        path = path.lstrip("/")
        call = _Call(
            method=method,
            path=path,
            url=f"{target.url}/{path}",
            query=_query(params),
            body=json,
            headers=self._headers(target, headers),
            api_key=target.api_key,
        )
        ttl = _cache_ttl(cache, refresh=refresh) if method == "GET" else None
        key = self._cache_key(call, target) if ttl is not None else None
        if key is not None and refresh:
            # Forgotten before asking: when the record is gone (404), nothing is cached in its
            # place, and the stale answer must not outlive the refresh.
            self._guarded_cache.delete(key)
        elif key is not None:
            cached = self._guarded_cache.get(key)
            if cached is not None:
                logger.debug("AuthRocket API %s %s: answered from the cache.", method, call.shown_path)
                return cached
        answer = self._send(call)
        if key is not None and ttl is not None and isinstance(answer, (dict, list)):
            self._guarded_cache.set(key, answer, timeout=ttl or None)
        return answer

    # Where, as whom, with what ------------------------------------------------------------

    def _target(self, credentials: Credentials | None) -> _Target:
        url, api_key, realm, service = self.url, self._api_key, self.realm, self.service
        if credentials is not None:
            unknown = sorted(set(credentials) - CREDENTIAL_NAMES)
            if unknown:
                raise ConfigurationError(
                    f"Unknown credentials {', '.join(map(repr, unknown))}; use {', '.join(sorted(CREDENTIAL_NAMES))}."
                )
            url = _api_url(credentials.get("url"), "credentials['url']") or self.url
            api_key = credentials.get("api_key") or self._api_key
            realm = credentials.get("realm") or None
            service = credentials.get("service") or None
        if url is None:
            raise ConfigurationError(
                "The AuthRocket API URL is not set: set AUTHROCKET_URL (e.g. https://api-e2.authrocket.com/v2, "
                "from Realm -> Integration) or pass url= to AuthRocketClient."
            )
        if not api_key:
            raise ConfigurationError(
                "The AuthRocket API key is not set: set AUTHROCKET_API_KEY (Realm -> Integration -> API keys) "
                "or pass api_key= to AuthRocketClient."
            )
        return _Target(url=url, api_key=api_key, realm=realm, service=service)

    def _headers(self, target: _Target, extra: Headers | None) -> CaseInsensitiveDict[str]:
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
        headers["Accept"] = "application/json"
        headers["User-Agent"] = user_agent()
        headers["Authrocket-Api-Key"] = target.api_key
        if target.realm:
            headers["Authrocket-Realm"] = target.realm
        if target.service:
            headers["Authrocket-Service"] = target.service
        if self.locale:
            headers["Accept-Language"] = self.locale
        for name, value in (extra or {}).items():
            name = _header_name(name)
            if value is None:
                headers.pop(name, None)
            else:
                headers[name] = str(value)
        return headers

    # Sending, retrying ----------------------------------------------------------------------

    def _send(self, call: _Call) -> Any:
        attempts = 1 + (self.retries if call.method in _RETRIED_METHODS else 0)
        attempt = 1
        may_have_acted = False
        while True:
            try:
                return self._send_once(call)
            except RecordNotFound:
                if call.method == "DELETE" and may_have_acted:
                    logger.info(
                        "AuthRocket API DELETE %s: not found on retry; the earlier attempt deleted it.",
                        call.shown_path,
                    )
                    return None
                raise
            except ApiError as error:
                wait = self._retry_wait(error, attempt, attempts)
                if wait is None:
                    raise
                may_have_acted = may_have_acted or error.status is None or error.status >= 500
                logger.info(
                    "AuthRocket API %s %s: %s; retry %d of %d in %.2g s.",
                    call.method,
                    call.shown_path,
                    _reason(error),
                    attempt,
                    attempts - 1,
                    wait,
                )
                time.sleep(wait)
                attempt += 1

    def _retry_wait(self, error: ApiError, attempt: int, attempts: int) -> float | None:
        """Seconds to wait before retrying after ``error``, or ``None`` for no retry."""
        if attempt >= attempts:
            return None
        no_answer = isinstance(error, ApiUnavailable) and error.status is None
        if not no_answer and error.status not in _RETRIED_STATUSES:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= MAX_RETRY_WAIT else None
        return float(self.backoff * 2 ** (attempt - 1))

    def _send_once(self, call: _Call) -> Any:
        started = time.monotonic()
        try:
            # The whole call, connect to last byte, ends at the timeout: a server sending a byte now
            # and then would hold a per-read timeout for ever.
            with Deadline(self.timeout) as deadline:
                response = self._http.request(
                    call.method,
                    call.url,
                    params=call.query,
                    json=call.body,
                    headers=call.headers,
                    timeout=deadline.timeout,
                    allow_redirects=False,
                    stream=True,
                )
                deadline.watch_response(response)
                response.content  # noqa: B018  # read the body before the deadline ends
        except requests.Timeout as exc:
            raise _unavailable(call, f"no answer within {self.timeout:g} s") from _cause(call, exc)
        except requests.ConnectionError as exc:
            host = urlsplit(call.url).netloc
            raise _unavailable(call, f"could not connect to {host}") from _cause(call, exc)
        except requests.RequestException as exc:
            raise _unavailable(call, f"the call failed ({type(exc).__name__})") from _cause(call, exc)
        logger.debug(
            "AuthRocket API %s %s: %d in %.0f ms.",
            call.method,
            call.shown_path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return _answer(call, response)

    # The cache -------------------------------------------------------------------------------

    def _cache_key(self, call: _Call, target: _Target) -> str:
        material = [
            call.url,
            sorted(call.query),
            target.realm,
            target.service,
            call.headers.get("Accept-Language"),
            hashlib.sha256(target.api_key.encode("utf-8")).hexdigest(),
        ]
        digest = hashlib.sha256(jsonlib.dumps(material, separators=(",", ":")).encode("utf-8")).hexdigest()
        return f"api:{digest}"


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

    def __init__(self, client: AuthRocketClient, path: str, root: str, record_type: type[R]) -> None:
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
        return _read(self.record_type, data, method, path)


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
        return _session_or_token(data, "POST", path)

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
        return _session_or_token(data, "POST", path)

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
        return _read(TokenRecord, data, "POST", path)

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
        return _session_or_token(data, "POST", path)

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
        return _read(TokenRecord, data, "POST", path)

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


# Answers -------------------------------------------------------------------------------------

#: Per status: the exception, a short summary, and what to do about it.
_STATUS_ERRORS: dict[int, tuple[type[ApiError], str, str]] = {
    402: (AccountInactive, "account inactive", "log in to the AuthRocket portal to check the account's status"),
    403: (AccessDenied, "access denied", "check AUTHROCKET_API_KEY, AUTHROCKET_REALM and the key's permissions"),
    404: (RecordNotFound, "not found", ""),
    409: (ValidationError, "the change was refused", ""),
    422: (ValidationError, "the change was refused", ""),
    429: (RateLimited, "rate limited", ""),
}


def _answer(call: _Call, response: requests.Response) -> Any:
    """The decoded JSON of a 2xx answer; any other answer raised as its :class:`ApiError`."""
    status = response.status_code
    if 200 <= status < 300:
        if status == 204 or not response.content:
            return None
        try:
            return parse_json(response.content)
        except ValueError:  # not JSON at all, or nested absurdly deep
            raise ApiUnavailable(
                f"AuthRocket API {call.method} {call.shown_path} answered {status} with a body that is not JSON; "
                "check AUTHROCKET_URL (the API's URL ends in /v2).",
                status=status,
            ) from None
    if status < 400:
        raise ApiUnavailable(
            f"AuthRocket API {call.method} {call.shown_path} answered {status}, a redirect, which is not followed "
            "(it would carry the API key elsewhere); check AUTHROCKET_URL.",
            status=status,
        )
    if status == 404 and not _is_json(response):
        # Not the API's "no such record" (which is JSON) but a page from some other
        # server: most likely AUTHROCKET_URL is wrong. Never report every record missing.
        raise ApiUnavailable(
            f"AuthRocket API {call.method} {call.shown_path} answered 404 with a body that is not JSON; "
            "check AUTHROCKET_URL (the API's URL ends in /v2).",
            status=status,
        )
    errors = tuple(_scrub(message, call.api_key) for message in _error_messages(response))
    retry_after = _retry_after(response.headers.get("Retry-After"))
    if status in _STATUS_ERRORS:
        kind, summary, hint = _STATUS_ERRORS[status]
    elif status < 500:
        kind, summary, hint = ClientError, "client error", ""
    else:
        kind, summary, hint = ServerError, "server error", ""
    if retry_after is not None:
        hint = f"retry after {retry_after:g} s"
    message = f"AuthRocket API {call.method} {call.shown_path} answered {status}: {'; '.join(errors) or summary}"
    if hint:
        message += f" ({hint})"
    raise kind(message, status=status, errors=errors, retry_after=retry_after)


def _is_json(response: requests.Response) -> bool:
    try:
        parse_json(response.content)
    except ValueError:
        return False
    return True


def _error_messages(response: requests.Response) -> list[str]:
    """The API's messages: ``{"errors": [...]}`` (or ``{"error": "..."}``); none from other bodies."""
    try:
        data = parse_json(response.content)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    errors = data.get("errors")
    if isinstance(errors, str):
        errors = [errors]
    if not isinstance(errors, list):
        single = data.get("error")
        errors = [single] if isinstance(single, str) else []
    return [str(item)[:_MAX_ERROR_LENGTH] for item in errors[:_MAX_ERROR_MESSAGES] if item]


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (a number, or an HTTP date), or ``None``."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _read(record_type: type[R], data: Any, method: str, path: str) -> R:
    try:
        return record_type.from_json(data)
    except ValueError as exc:
        raise ApiError(f"AuthRocket API {method} {_shown(path)} answered a record that cannot be read: {exc}.") from exc


def _session_or_token(data: Any, method: str, path: str) -> SessionRecord | TokenRecord:
    try:
        record = record_from_json(data, SessionRecord)
    except ValueError as exc:
        raise ApiError(f"AuthRocket API {method} {_shown(path)} answered a record that cannot be read: {exc}.") from exc
    if not isinstance(record, (SessionRecord, TokenRecord)):
        raise ApiError(f"AuthRocket API {method} {_shown(path)} answered a {record.object}, not a session or token.")
    return record


def _unavailable(call: _Call, reason: str) -> ApiUnavailable:
    return ApiUnavailable(f"AuthRocket API {call.method} {call.shown_path}: {reason}.")


def _cause(call: _Call, exc: Exception) -> Exception | None:
    # requests' own message names the URL; when the path holds a login token, it must not travel on.
    return None if call.holds_token else exc


def _shown(path: str) -> str:
    """``path`` for messages and logs, with login tokens (JWTs) shown as ``<token>``."""
    return "/".join("<token>" if _JWT.match(part) else part for part in path.split("/"))


def _reason(error: ApiError) -> str:
    return f"answered {error.status}" if error.status is not None else "no answer"


# Small conversions ---------------------------------------------------------------------------


def _api_url(url: str | None, setting: str) -> str | None:
    if not url:
        return None
    problem = url_problem(url)
    if problem is not None:
        raise ConfigurationError(
            f"{setting} must be an absolute http(s) URL (e.g. https://api-e2.authrocket.com/v2) without user info, "
            f"backslash, whitespace or control characters; {redact_url(url)!r} {problem}."
        )
    return url.rstrip("/")


def _header_name(name: str) -> str:
    """``accept_language`` (the Ruby gem's spelling) is ``Accept-Language``; other names are kept."""
    if "_" not in name:
        return name
    return "-".join(part.capitalize() for part in name.split("_"))


def _query(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    query: list[tuple[str, str]] = []
    for name, value in (params or {}).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if item is None:
                continue
            query.append((name, "true" if item is True else "false" if item is False else str(item)))
    return query


def _cache_ttl(cache: bool | float | None, *, refresh: bool = False) -> int | None:
    """Seconds to cache for (``0``: the cache's default), or ``None`` for no caching."""
    if refresh:
        if cache is False:
            raise ValueError("refresh=True stores the fresh answer in the cache; leave cache out or give seconds")
        cache = True if cache is None else cache
    if cache is None or cache is False:
        return None
    if cache is True:
        return 0
    if not isinstance(cache, (int, float)) or cache <= 0:
        raise ValueError(f"cache must be True or a positive number of seconds, not {cache!r}")
    return math.ceil(cache)


def _scrub(text: str, api_key: str) -> str:
    return text.replace(api_key, "<api key>") if api_key else text
