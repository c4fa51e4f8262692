"""The Core API transport: where a call goes and as whom, retries, deadlines, errors, opt-in caching.

Ground floor: no Flask here. :class:`Transport` sends one call and reads its answer
(:mod:`flask_authrocket.client.answers`); :class:`~flask_authrocket.client.AuthRocketClient`
is a transport with the resources on it.

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
  kept. The key covers what the call sends: the URL, the query and every header
  (so ``headers={"Authrocket-Realm": ...}``, ``{"authrocket_realm": ...}``, another
  ``Authrocket-Api-Key`` or ``Authrocket-Service`` each have entries of their own),
  with the API key and any ``Authorization`` as SHA-256 digests. A cache that fails (Redis
  down) is logged once and left alone for
  :data:`~flask_authrocket.cache.CACHE_RETRY_INTERVAL`
  seconds, never raised: the calls go to the API meanwhile, without paying for
  a cache that does not answer.
* **Answers are bounded.** A body is read as it arrives and the call fails as
  :class:`~flask_authrocket.errors.ApiUnavailable` once it passes
  ``max_answer_bytes`` (:data:`MAX_ANSWER_BYTES`, 4 MiB: AuthRocket's SDKs show no
  answer near it), as the key set is bounded by its own cap.
* **A 404 that is not the API's** (a body that is neither empty nor JSON: an HTML page
  of a proxy or another host) is :class:`~flask_authrocket.errors.ApiUnavailable` and
  logged naming ``AUTHROCKET_URL``, never "not found": a wrong URL must not log everyone out.
* **Certificates are always checked**, against ``ca_bundle`` (``AUTHROCKET_CA_BUNDLE``)
  when given; there is no switch to turn the check off, unlike the node and PHP clients'
  ``verifySsl``.
"""

from __future__ import annotations

import functools
import hashlib
import json as jsonlib
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from cachelib import BaseCache, SimpleCache
from requests.structures import CaseInsensitiveDict

from ..cache import GuardedCache, SharedStore
from ..errors import ApiError, ApiUnavailable, ConfigurationError, RecordNotFound
from ..fetch import ApiUri, Deadline, ca_bundle_problem, new_session, parse_api_uri, tls_verify, url_problem
from ..logs import logger, redact_url
from .answers import read_answer, shown_path

_T = TypeVar("_T", bound="Transport")

#: Seconds one call may take in all, connect to last byte (the Node client waits 50 s).
DEFAULT_TIMEOUT = 5.0
#: The longest ``Retry-After`` (seconds) the client waits for before a retry; longer ones raise at once.
MAX_RETRY_WAIT = 30.0
#: The largest answer read, in bytes (the key set has its own, smaller cap).
MAX_ANSWER_BYTES = 4 * 1024 * 1024
#: Seconds between two warnings that ``AUTHROCKET_URL`` answers pages that are not the API's.
NOT_THE_API_WARNING_INTERVAL = 300.0

#: What a per-call ``credentials=`` mapping may hold.
CREDENTIAL_NAMES = frozenset({"url", "api_key", "realm", "service"})


_RETRIED_METHODS = frozenset({"GET", "DELETE"})
_RETRIED_STATUSES = frozenset({429, 502, 503, 504})
#: Headers whose values are secrets: in cache keys as digests only.
_SECRET_HEADERS = frozenset({"authrocket-api-key", "authorization"})

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
        return shown_path(self.path)

    @property
    def holds_token(self) -> bool:
        return self.shown_path != self.path


class Transport:
    """Sends calls to the AuthRocket Core API: the settings, headers, retries, deadline and cache of a client.

    Each setting left out comes from the environment variable of the same
    name: ``url`` from ``AUTHROCKET_URL`` (e.g. ``https://api-e2.authrocket.com/v2``),
    ``api_key`` from ``AUTHROCKET_API_KEY``, ``realm`` from ``AUTHROCKET_REALM``,
    ``service`` from ``AUTHROCKET_SERVICE``; ``AUTHROCKET_URI`` (the URL with the key and
    realm inside, ``https://ks_...:rl_...@api-e2.authrocket.com/v2``, as the Ruby gem
    reads it) fills whichever of these is still missing. A client may be built without a
    URL or key; the first call then raises :class:`~flask_authrocket.ConfigurationError`
    naming the missing setting.

    :param locale: sent as ``Accept-Language`` (the language of the API's error messages).
    :param timeout: seconds one call may take in all, from the connect to the answer's last byte
        (each retry has its own).
    :param cache: where ``cache=`` calls keep their answers: a cachelib cache (default: a new in-process
        ``SimpleCache``; a ``RedisCache`` is spoken to through its redis-py client) or a
        :class:`~flask_authrocket.cache.SharedStore` (``AUTHROCKET_CACHE``'s, in the extension).
    :param retries: how many times an idempotent call is retried (see the module's notes).
    :param backoff: seconds before the first retry, doubled for each next one.
    :param session: a :class:`requests.Session` to share (default: one of its own, pooling connections).
        One from :func:`flask_authrocket.fetch.new_session` is bounded by ``timeout`` from the connect
        on; with any other, each read is, and the body as a whole.
    :param ca_bundle: a file of CA certificates to check the API's certificate against
        (``AUTHROCKET_CA_BUNDLE``, for a TLS-inspecting proxy); certificates are always checked.
    :param max_answer_bytes: the largest answer read; a larger one is ``ApiUnavailable``.

    Raises :class:`~flask_authrocket.ConfigurationError` for an unusable ``url``,
    ``timeout``, ``retries``, ``backoff``, ``ca_bundle`` or ``AUTHROCKET_URI``, and when
    ``AUTHROCKET_URI`` and ``AUTHROCKET_API_KEY`` (or ``_URL``, ``_REALM``, ``_SERVICE``)
    in the environment disagree.

    :class:`~flask_authrocket.client.AuthRocketClient` is this class with the resources on it.
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
        cache: BaseCache | SharedStore | None = None,
        retries: int = 2,
        backoff: float = 0.5,
        session: requests.Session | None = None,
        ca_bundle: str | None = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        uri = functools.cache(_environment_uri)  # read only for a setting left out
        self.url = _api_url(url or uri_part(uri, "url", "AUTHROCKET_URL"), "AUTHROCKET_URL")
        self._api_key = api_key or uri_part(uri, "api_key", "AUTHROCKET_API_KEY")
        self.realm = realm or uri_part(uri, "realm", "AUTHROCKET_REALM")
        self.service = service or uri_part(uri, "service", "AUTHROCKET_SERVICE")
        self.locale = locale or None
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ConfigurationError(f"The API timeout must be a positive number of seconds, not {timeout!r}.")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigurationError(f"retries must be a whole number of at least 0, not {retries!r}.")
        if isinstance(backoff, bool) or not isinstance(backoff, (int, float)) or backoff < 0:
            raise ConfigurationError(f"backoff must be a number of seconds of at least 0, not {backoff!r}.")
        if isinstance(max_answer_bytes, bool) or not isinstance(max_answer_bytes, int) or max_answer_bytes < 1:
            raise ConfigurationError(f"max_answer_bytes must be a whole number of bytes, not {max_answer_bytes!r}.")
        if ca_bundle is not None and ca_bundle_problem(ca_bundle) is not None:
            raise ConfigurationError(
                f"AUTHROCKET_CA_BUNDLE {ca_bundle!r} {ca_bundle_problem(ca_bundle)}; give the path of a PEM file of "
                "the CA certificates to trust (your proxy's)."
            )
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self.max_answer_bytes = max_answer_bytes
        self.cache: BaseCache | SharedStore = cache if cache is not None else SimpleCache()
        self._http = session or new_session(ca_bundle)
        self._not_the_api_warned_at: float | None = None
        self._verify: bool | str = ca_bundle or tls_verify(self._http)
        self._guarded_cache = GuardedCache(
            self.cache, name="The API client's cache", fallback="calling the API without it"
        )

    def __repr__(self) -> str:
        key = "set" if self._api_key else "unset"
        return (
            f"{type(self).__name__}(url={self.url!r}, realm={self.realm!r}, service={self.service!r}, api_key=<{key}>)"
        )

    def close(self) -> None:
        """Close the pooled connections (the client can still be used; it reconnects)."""
        self._http.close()

    def __enter__(self: _T) -> _T:
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
        key = _cache_key(call) if ttl is not None else None
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
                    verify=self._verify,
                )
                deadline.watch_response(response)
                body = self._read_body(call, response)  # within the deadline
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
        try:
            return read_answer(call.method, call.path, response, body, call.api_key)
        except ApiUnavailable as error:
            if error.status == 404:
                self._warn_not_the_api(call, response)
            raise

    def _warn_not_the_api(self, call: _Call, response: requests.Response) -> None:
        """Say that ``AUTHROCKET_URL`` leads to something that is not the API: a warning every few minutes at most.

        The host is named, never the URL: its path may hold a login token.
        """
        parts = urlsplit(call.url)
        now = time.monotonic()
        last, self._not_the_api_warned_at = self._not_the_api_warned_at, now
        level = logging.WARNING if last is None or now - last >= NOT_THE_API_WARNING_INTERVAL else logging.DEBUG
        if level == logging.DEBUG:
            self._not_the_api_warned_at = last
        logger.log(
            level,
            "AuthRocket API %s %s answered 404 with a page that is not the API's (%s, from %s://%s); "
            "check AUTHROCKET_URL: the API's URL ends in /v2 (e.g. https://api-e2.authrocket.com/v2).",
            call.method,
            call.shown_path,
            response.headers.get("Content-Type", "no Content-Type")[:100],
            parts.scheme,
            parts.netloc.rpartition("@")[2],
        )

    def _read_body(self, call: _Call, response: requests.Response) -> bytes:
        """The body of ``response``, read as it arrives and never past :attr:`max_answer_bytes`."""
        limit = self.max_answer_bytes
        body = bytearray()
        try:
            declared = int(response.headers.get("Content-Length", "0"))
        except ValueError:
            declared = 0
        if declared <= limit:
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > limit:
                    break
        if declared > limit or len(body) > limit:
            response.close()  # the rest is never read
            raise ApiUnavailable(
                f"AuthRocket API {call.method} {call.shown_path} answered {response.status_code} with a body over "
                f"{limit // 1024} KB, which is not read; check AUTHROCKET_URL (the API's URL ends in /v2).",
                status=response.status_code,
            )
        return bytes(body)


# The cache -----------------------------------------------------------------------------------------


def _cache_key(call: _Call) -> str:
    """The cache key of a GET: what it sends (URL, query, every header), secrets as digests only."""
    headers = sorted(
        (name.lower(), _digest(value) if name.lower() in _SECRET_HEADERS else value)
        for name, value in call.headers.items()
    )
    material = [call.url, sorted(call.query), headers]
    return f"api:{_digest(jsonlib.dumps(material, separators=(',', ':')))}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Where the environment's settings come from ------------------------------------------------------


def _environment_uri() -> ApiUri | None:
    """The ``AUTHROCKET_URI`` of the environment, read; ``None`` when unset."""
    text = os.environ.get("AUTHROCKET_URI")
    if not text:
        return None
    try:
        return parse_api_uri(text)
    except ValueError as exc:
        raise ConfigurationError(
            f"AUTHROCKET_URI {exc}; write it as https://<api key>:<realm>@api-e2.authrocket.com/v2, "
            "or set AUTHROCKET_URL and AUTHROCKET_API_KEY instead."
        ) from None


def uri_part(uri: Callable[[], ApiUri | None], part: str, key: str) -> str | None:
    """Setting ``key`` from the environment, or else part ``part`` of ``uri()`` (``AUTHROCKET_URI``).

    Raises :class:`~flask_authrocket.ConfigurationError` naming both keys when both are set
    and disagree: which one was meant cannot be guessed.
    """
    separate = os.environ.get(key) or None
    parsed = uri()
    from_uri = getattr(parsed, part) if parsed is not None else None
    if separate is not None and from_uri is not None and separate.rstrip("/") != from_uri:
        raise ConfigurationError(f"AUTHROCKET_URI and {key} are both set and disagree; set only one of them.")
    return separate or from_uri


# Small steps and conversions -------------------------------------------------------------------


def _unavailable(call: _Call, reason: str) -> ApiUnavailable:
    return ApiUnavailable(f"AuthRocket API {call.method} {call.shown_path}: {reason}.")


def _cause(call: _Call, exc: Exception) -> Exception | None:
    # requests' own message names the URL; when the path holds a login token, it must not travel on.
    return None if call.holds_token else exc


def _reason(error: ApiError) -> str:
    return f"answered {error.status}" if error.status is not None else "no answer"


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
