"""LoginCookie: the one place that knows how the login cookie is read, sized, written and cleared.

Built from the settings (``AUTHROCKET_COOKIE_*``). With
``AUTHROCKET_COOKIE_NAME = None`` the app stores no login: the cookie reads
nothing, fits nothing and writes nothing.

Ground floor: no Flask request globals here. Whatever depends on the request
(its WSGI environ, whether it came over https) is passed in.
"""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING

from werkzeug.http import parse_cookie

from .logs import logger

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.sansio.response import Response

    from .models import Session
    from .settings import Settings


#: Browsers ignore cookies larger than this (name, value and attributes).
MAX_COOKIE_BYTES = 4096
#: The longest a login cookie is kept, in seconds: 400 days, where browsers cap a cookie's lifetime anyway.
MAX_COOKIE_LIFETIME = 400 * 24 * 3600


class LoginCookie:
    """The login cookie of one app: its name and attributes, and how to read and write it.

    Build it with :meth:`from_settings`. ``secure`` is ``None`` for
    ``AUTHROCKET_COOKIE_SECURE = "auto"`` (Secure exactly on https requests).

    >>> cookie = LoginCookie.from_settings(settings)        # doctest: +SKIP
    >>> cookie.read(request.environ)                         # doctest: +SKIP
    'eyJhbGciOi...'
    """

    __slots__ = ("_prefix", "domain", "httponly", "max_age", "name", "path", "samesite", "secure")

    def __init__(
        self,
        name: str | None,
        *,
        secure: bool | None = None,
        samesite: str | None = "Lax",
        httponly: bool = True,
        domain: str | None = None,
        path: str = "/",
        max_age: int | None = None,
    ) -> None:
        #: The cookie's name, or ``None`` when the app stores no login cookie.
        self.name = name
        self._prefix = f"{name}=" if name else None
        self.secure = secure
        self.samesite = samesite
        self.httponly = httponly
        self.domain = domain
        self.path = path
        self.max_age = max_age

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginCookie:
        """The login cookie an app's checked :class:`~flask_authrocket.settings.Settings` describe."""
        return cls(
            settings.cookie_name,
            secure=settings.cookie_secure,
            samesite=settings.cookie_samesite,
            httponly=settings.cookie_httponly,
            domain=settings.cookie_domain,
            path=settings.cookie_path,
            max_age=settings.cookie_max_age,
        )

    def __repr__(self) -> str:
        return f"<LoginCookie {self.name!r}>"

    def candidate(self, raw: str) -> str | None:
        """The value after the ``name=`` that begins a ``Cookie`` header ``raw`` or follows its ``"; "``, as is.

        The request hook's first look, before any parsing: a value it finds among the tokens
        verified earlier (:meth:`TokenVerifier.known <flask_authrocket.tokens.TokenVerifier.known>`)
        is a login token as sent, so it is what :meth:`read` would answer; anything else (no such
        value, another spelling, a value not known) goes to :meth:`read`. ``None`` when the name
        does not begin a cookie there, or the app stores no login cookie.
        """
        prefix = self._prefix
        if prefix is None:
            return None
        start = raw.find(prefix)
        if start != 0 and not (start > 1 and raw[start - 1] == " " and raw[start - 2] == ";"):
            return None  # not there, or spelt otherwise: read() decides
        begin = start + len(prefix)
        end = raw.find(";", begin)
        return raw[begin:] if end == -1 else raw[begin:end]

    def read(self, environ: WSGIEnvironment) -> str | None:
        """The login token the request's ``Cookie`` header carries, or ``None``.

        Runs on every request, so it does not parse every cookie of the request:
        login tokens are base64url and dots, never quoted. A value with quotes,
        backslashes or percent signs is left to Werkzeug's full cookie parser,
        so the answer is always the first non-empty value of the name that
        ``request.cookies`` holds (the first of :meth:`read_all`).
        """
        raw: str | None = environ.get("HTTP_COOKIE")
        prefix = self._prefix
        if not raw or prefix is None:
            return None
        # The usual header: find "name=" where a cookie starts, and take the value up to the next ";".
        start = raw.find(prefix)
        while start != -1:
            before = start
            while before and raw[before - 1] in " \t":
                before -= 1
            if before == 0 or raw[before - 1] == ";":  # "name=" begins a cookie, not inside another's value
                begin = start + len(prefix)
                end = raw.find(";", begin)
                value = (raw[begin:] if end == -1 else raw[begin:end]).strip()
                # Three scans in C (memchr) cost less than one regular expression over the token.
                if value and '"' not in value and "\\" not in value and "%" not in value:
                    return value
                break  # empty, quoted or escaped: Werkzeug's parser decides
            start = raw.find(prefix, start + 1)
        name = self.name
        if not name or name not in raw:
            return None
        return next((value for value in parse_cookie(raw).getlist(name) if value), None)

    def read_all(self, environ: WSGIEnvironment) -> list[str]:
        """Every login token the ``Cookie`` header carries, in header order, without repeats.

        Browsers send several cookies of one name when they were set for
        different domains or paths (a sibling subdomain's cookie for the parent
        domain, say). The first is what :meth:`read` answers; the request hook
        asks for the rest only when that first one does not verify, so the
        usual one-cookie request never parses the whole header.
        """
        name = self.name
        raw: str | None = environ.get("HTTP_COOKIE")
        if not name or not raw or name not in raw:
            return []
        return list(dict.fromkeys(value for value in parse_cookie(raw).getlist(name) if value))

    def fits(self, token: str) -> bool:
        """Whether a browser would keep ``token`` in this cookie (at most :data:`MAX_COOKIE_BYTES`).

        A token too large is logged as a warning: the request is still logged
        in, but the login will not be remembered. Always false without a name.
        """
        if not self.name:
            return False
        if len(self.name) + 1 + len(token) > MAX_COOKIE_BYTES:
            logger.warning(
                "A login token of %d bytes is too large for a cookie (browsers keep at most %d); "
                "the request is logged in but the login will not be remembered. "
                "Leave custom attributes out of the realm's JWT fields to shrink it.",
                len(token),
                MAX_COOKIE_BYTES,
            )
            return False
        return True

    def write(self, response: Response, session: Session, *, secure: bool) -> None:
        """Store ``session``'s token in the cookie on ``response``.

        ``secure`` says whether the request came over https; it decides the
        Secure attribute when ``AUTHROCKET_COOKIE_SECURE`` is ``"auto"``. The
        cookie expires with the token unless ``AUTHROCKET_COOKIE_MAX_AGE`` is set,
        and lives at most :data:`MAX_COOKIE_LIFETIME` either way.
        """
        if not self.name:
            return
        # A token may claim to live past the year 9999, which no date format can
        # write; browsers keep a cookie at most 400 days anyway.
        max_age = None if self.max_age is None else min(self.max_age, MAX_COOKIE_LIFETIME)
        expires = None if max_age is not None else min(session.expires_at, int(time.time()) + MAX_COOKIE_LIFETIME)
        response.set_cookie(
            self.name,
            session.token,
            max_age=max_age,
            expires=expires,
            path=self.path,
            domain=self.domain,
            secure=self._secure(secure),
            httponly=self.httponly,
            samesite=self.samesite,
        )

    def clear(self, response: Response, *, secure: bool) -> None:
        """Clear the cookie on ``response``, with the attributes it was written with.

        ``secure`` is as for :meth:`write`.
        """
        if not self.name:
            return
        response.delete_cookie(
            self.name,
            path=self.path,
            domain=self.domain,
            secure=self._secure(secure),
            httponly=self.httponly,
            samesite=self.samesite,
        )

    def _secure(self, request_is_secure: bool) -> bool:
        return request_is_secure if self.secure is None else self.secure


# -- two apps on one machine: a cookie set by another app ----------------------------------------------

#: Rejections that a token of another app (another realm, another LoginRocket) earns: a key this app does not know.
FOREIGN_KEY_REASONS = frozenset({"unknown_kid", "bad_signature"})


def foreign_token_hint(token: str, reason: str, *, app_realm: str | None, cookie_name: str | None) -> str | None:
    """Why a login cookie holding ``token`` may be another app's, naming ``AUTHROCKET_COOKIE_NAME``; or ``None``.

    Cookies ignore ports: two apps on one machine (``127.0.0.1:5000`` and ``:5002``) read and
    overwrite each other's ``arToken``, and each refuses the other's token as signed with a key
    it does not know. Said when ``reason`` is such a refusal (:data:`FOREIGN_KEY_REASONS`) and
    the token's realm (its ``rid`` claim, read unverified) differs from ``app_realm``
    (``AUTHROCKET_REALM``; unknown counts as different); ``None`` otherwise, when a key
    setting is the likelier suspect. The realm is quoted with ``repr``, cut to 64 characters.
    """
    if reason not in FOREIGN_KEY_REASONS:
        return None
    realm = unverified_realm(token)
    if realm is not None and realm == app_realm:
        return None
    whose = f"of realm {realm[:64]!r}" if realm is not None else "of no realm it names"
    mine = f" (this app's realm is {app_realm!r})" if app_realm else ""
    name = cookie_name or "arToken"
    return (
        f"The token is {whose}{mine}, signed with a key this app does not know: another app on this host "
        f"probably set the {name!r} cookie. Cookies ignore ports, so apps on one machine share it unless each "
        f"sets its own AUTHROCKET_COOKIE_NAME (e.g. '{name}_billing')."
    )


def unverified_realm(token: str) -> str | None:
    """The ``rid`` claim of ``token``, read WITHOUT verification (only to explain a rejection), or ``None``."""
    segments = token.split(".")
    if len(segments) != 3 or len(segments[1]) > 16 * 1024:
        return None
    try:
        payload = segments[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError, RecursionError):
        return None
    realm = claims.get("rid") if isinstance(claims, dict) else None
    return realm if isinstance(realm, str) and realm else None
