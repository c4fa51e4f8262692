"""Frozen objects for what a login token says: Session, User, Membership, Org; and why a token did not count.

Both AuthRocket token formats map to the same objects:

* the current one (``sub``, ``given_name``, ``orgs`` with ``oid``/``mid``/``perm`` ...);
* the older one (``uid``, ``un``, ``fn``, ``ln``, ``n``, ``m`` with ``p``/``oid``/``o`` ...),
  whose session id the Ruby gem read from ``tk`` and realm id from ``aud``.

Missing values are simply absent from a token; they become ``None`` (or an
empty mapping / tuple) here. A claim that decides identity or access (the
user id, times, session, realm, org and membership ids, permissions) of the
wrong type makes the whole token unusable: :func:`session_from_claims` raises
:class:`ClaimsError`. Display and custom data (names, username, email,
``ref``, custom attributes, org names) of the wrong type does not: a number is
made a string, anything else is dropped, with a debug log line.

:class:`Rejection` says why a token did not become a session; its reason is one
of the closed set :data:`RejectionReason`, whose texts live in one table in
:mod:`flask_authrocket.tokens`. The Core API's records are in
:mod:`flask_authrocket.records`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from .logs import logger

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return _EMPTY


def drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without the entries whose value is ``None`` (claims and JSON bodies leave them out)."""
    return {name: value for name, value in values.items() if value is not None}


class ClaimsError(ValueError):
    """A claim has a type no AuthRocket token uses."""


#: Why a token did not become a session: a closed set, each with its plain-words text and what
#: to check in :data:`flask_authrocket.tokens.REASONS`.
#:
#: ``malformed``, ``oversize``, ``expired``, ``not_yet_valid``, ``too_old``, ``wrong_issuer``,
#: ``missing_claim``, ``bad_signature``, ``wrong_algorithm``, ``unknown_kid``, ``bad_claims``:
#: the token is bad (a cookie holding it is cleared). ``unusable_key`` and ``unavailable``: it
#: could not be checked (the configured key cannot verify it; LoginRocket's keys could not be
#: fetched). With managed sessions also ``session_ended`` (logged out elsewhere) and
#: ``session_unavailable`` (the Core API could not confirm it).
RejectionReason = Literal[
    "malformed",
    "oversize",
    "expired",
    "not_yet_valid",
    "too_old",
    "wrong_issuer",
    "missing_claim",
    "bad_signature",
    "wrong_algorithm",
    "unknown_kid",
    "bad_claims",
    "unusable_key",
    "unavailable",
    "session_ended",
    "session_unavailable",
]

#: Where a request's token came from: ``?token=`` on a GET (a return from LoginRocket), an
#: ``Authorization: Bearer`` header, or the login cookie.
TokenSource = Literal["query", "bearer", "cookie"]


@dataclass(frozen=True)
class Rejection:
    """Why a token did not become a session.

    ``reason`` is one word of :data:`RejectionReason`, for code and logs; ``message`` says it
    in words (it never contains the token), and is what ``str(rejection)`` gives, so a
    template may write ``{{ error.rejection }}``. ``unavailable`` is true when the token
    could not be checked at all (the LoginRocket keys or the Core API could not be reached):
    such a token is not known to be bad.

    :data:`flask_authrocket.tokens.REASONS` holds each reason's fixed plain-words text and
    what to check.
    """

    reason: RejectionReason
    message: str
    unavailable: bool = False

    def __str__(self) -> str:
        return self.message


class DisplayName:
    """Mixin: ``display_name`` for both the user of a token and a user record of the API."""

    id: str
    first_name: str | None
    name: str | None
    username: str | None
    email: str | None

    @property
    def display_name(self) -> str:
        """The first name, else the full name, username, email or id: for greetings."""
        return self.first_name or self.name or self.username or self.email or self.id


class PermissionCheck:
    """Mixin: the permission checks of a token's membership, a membership record and an invitation record.

    :meth:`has_permission` is all-of (what ``require_permission`` asks);
    :meth:`has_any_permission` is any-of, the Ruby gem's ``any_permission?``
    (``Membership#any_permission?``, ``Invitation#any_permission?`` in
    authrocket-ruby ``lib/authrocket/membership.rb``), also under that name:
    :meth:`any_permission`.
    """

    permissions: tuple[str, ...]

    def has_permission(self, *names: str) -> bool:
        """True when this membership grants every one of ``names``."""
        return all(name in self.permissions for name in names)

    def has_any_permission(self, *names_or_patterns: str | re.Pattern[str]) -> bool:
        """True when this membership grants at least one of ``names_or_patterns``.

        A string must be one of the permissions exactly; a compiled pattern
        (``re.compile(r"^site:")``) matches when it is found in any permission
        (``pattern.search``, as Ruby's ``=~``). With nothing to look for, the
        answer is ``False``, as in the gem.

        >>> membership.has_any_permission("site:admin", re.compile(r"^billing:"))  # doctest: +SKIP
        True

        Raises :class:`TypeError` for anything that is neither a string nor a
        compiled pattern (the gem skips such values silently; a list passed by
        mistake should not quietly mean "no").
        """
        for wanted in names_or_patterns:
            if not isinstance(wanted, (str, re.Pattern)):
                raise TypeError(f"permissions are strings or compiled patterns, not {type(wanted).__name__}")
        return any(
            wanted in self.permissions
            if isinstance(wanted, str)
            else any(wanted.search(permission) for permission in self.permissions)
            for wanted in names_or_patterns
        )

    #: The Ruby gem's name (``any_permission?``) for :meth:`has_any_permission`.
    any_permission = has_any_permission


@dataclass(frozen=True)
class Org:
    """An AuthRocket org, which LoginRocket calls an *account*."""

    id: str
    name: str | None = None
    reference: str | None = None
    custom: Mapping[str, Any] = field(default_factory=_empty)
    realm_id: str | None = None


@dataclass(frozen=True)
class Membership(PermissionCheck):
    """A user's membership of an org, with the permissions it grants."""

    id: str | None
    user_id: str
    org_id: str | None
    permissions: tuple[str, ...] = ()
    selected: bool = False
    custom: Mapping[str, Any] = field(default_factory=_empty)
    org: Org | None = None


@dataclass(frozen=True)
class User(DisplayName):
    """The logged-in user, as the token describes them."""

    id: str
    realm_id: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    email: str | None = None
    email_verification: str | None = None
    reference: str | None = None
    custom: Mapping[str, Any] = field(default_factory=_empty)
    #: ``None`` when the token carries no membership data at all (the realm's
    #: JWT fields setting leaves it out), an empty tuple when it says "none".
    memberships: tuple[Membership, ...] | None = None

    # Flask-Login's user protocol, so that a request_loader may return the token's user as it is.

    @property
    def is_authenticated(self) -> bool:
        """Always ``True``: a :class:`User` exists only for a verified login (Flask-Login reads it)."""
        return True

    @property
    def is_active(self) -> bool:
        """Always ``True``: LoginRocket logs in only active users (Flask-Login reads it)."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Always ``False`` (Flask-Login reads it; its anonymous user stands for nobody)."""
        return False

    def get_id(self) -> str:
        """The user's id, ``usr_...`` (Flask-Login's ``get_id``)."""
        return self.id


@dataclass(frozen=True)
class Session:
    """A verified login: the token, when it was issued and expires, and its user."""

    id: str | None
    user_id: str
    created_at: int | None
    expires_at: int
    token: str = field(repr=False)
    user: User
    claims: Mapping[str, Any] = field(default_factory=_empty, repr=False, compare=False)

    @property
    def current_membership(self) -> Membership | None:
        """The membership marked ``selected``, else the first one, else ``None``."""
        memberships = self.user.memberships
        if not memberships:
            return None
        for membership in memberships:
            if membership.selected:
                return membership
        return memberships[0]

    @property
    def current_org(self) -> Org | None:
        """The org of :attr:`current_membership`."""
        membership = self.current_membership
        return membership.org if membership else None


def is_legacy_layout(claims: Mapping[str, Any]) -> bool:
    """Whether ``claims`` are laid out in AuthRocket's older format: ``uid`` present, ``sub`` absent."""
    return "uid" in claims and "sub" not in claims


def session_from_claims(claims: Mapping[str, Any], token: str) -> Session:
    """Build a :class:`Session` from verified claims of either token format.

    Raises :class:`ClaimsError` when a claim that decides identity or access
    has an impossible type (display data of the wrong type is dropped instead).
    """
    legacy = is_legacy_layout(claims)
    if legacy:
        user = _user_from_legacy(claims)
    elif "sub" in claims:
        user = _user_from_current(claims)
    else:
        raise ClaimsError("the token names no user (neither 'sub' nor 'uid')")
    exp = _timestamp(claims, "exp")
    if exp is None:
        raise ClaimsError("'exp' is missing")
    iat = _timestamp(claims, "iat")
    session_id = _text(claims, "sid")
    if session_id is None and legacy:
        session_id = _text(claims, "tk")  # the older gem's session id
    return Session(
        id=session_id,
        user_id=user.id,
        created_at=iat,
        expires_at=exp,
        token=token,
        user=user,
        claims=MappingProxyType(dict(claims)),
    )


def _user_from_current(claims: Mapping[str, Any]) -> User:
    user_id = _required_text(claims, "sub")
    realm_id = _text(claims, "rid")
    orgs = claims.get("orgs")
    memberships: tuple[Membership, ...] | None = None
    if orgs is not None:
        if not isinstance(orgs, list):
            raise ClaimsError("'orgs' is not a list")
        memberships = tuple(_membership_from_current(entry, user_id, realm_id) for entry in orgs)
    return User(
        id=user_id,
        realm_id=realm_id,
        username=_shown(claims, "preferred_username"),
        first_name=_shown(claims, "given_name"),
        last_name=_shown(claims, "family_name"),
        name=_shown(claims, "name"),
        email=_shown(claims, "email"),
        email_verification="verified" if claims.get("email_verified") is True else "none",
        reference=_shown(claims, "ref"),
        custom=_custom(claims, "cs"),
        memberships=memberships,
    )


def _membership_from_current(entry: Any, user_id: str, realm_id: str | None) -> Membership:
    if not isinstance(entry, dict):
        raise ClaimsError("an entry of 'orgs' is not an object")
    org_id = _text(entry, "oid")
    org = None
    if org_id is not None:
        org = Org(
            id=org_id,
            name=_shown(entry, "name"),
            reference=_shown(entry, "ref"),
            custom=_custom(entry, "cs"),
            realm_id=realm_id,
        )
    return Membership(
        id=_text(entry, "mid"),
        user_id=user_id,
        org_id=org_id,
        permissions=_permissions(entry, "perm"),
        selected=entry.get("selected") is True,
        org=org,
    )


def _user_from_legacy(claims: Mapping[str, Any]) -> User:
    user_id = _required_text(claims, "uid")
    realm_id = _text(claims, "rid")
    if realm_id is None and isinstance(claims.get("aud"), str):
        realm_id = claims["aud"]  # the older gem's realm id; any other aud names no realm
    entries = claims.get("m")
    memberships: tuple[Membership, ...] | None = None
    if entries is not None:
        if not isinstance(entries, list):
            raise ClaimsError("'m' is not a list")
        memberships = tuple(_membership_from_legacy(entry, user_id, realm_id) for entry in entries)
    return User(
        id=user_id,
        realm_id=realm_id,
        username=_shown(claims, "un"),
        first_name=_shown(claims, "fn"),
        last_name=_shown(claims, "ln"),
        name=_shown(claims, "n"),
        email=_shown(claims, "em") or _shown(claims, "email"),
        email_verification=None,
        reference=_shown(claims, "ref"),
        custom=_custom(claims, "cs"),
        memberships=memberships,
    )


def _membership_from_legacy(entry: Any, user_id: str, realm_id: str | None) -> Membership:
    if not isinstance(entry, dict):
        raise ClaimsError("an entry of 'm' is not an object")
    org_id = _text(entry, "oid")
    org = None
    if org_id is not None:
        org = Org(id=org_id, name=_shown(entry, "o"), custom=_custom(entry, "ocs"), realm_id=realm_id)
    return Membership(
        id=_text(entry, "mid") or _text(entry, "id"),
        user_id=user_id,
        org_id=org_id,
        permissions=_permissions(entry, "p"),
        selected=entry.get("selected") is True,
        custom=_custom(entry, "cs"),
        org=org,
    )


def _timestamp(claims: Mapping[str, Any], name: str) -> int | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ClaimsError(f"{name!r} is not a number of seconds")
    return int(value)


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ClaimsError(f"{name!r} is not a string")
    return value


def _shown(claims: Mapping[str, Any], name: str) -> str | None:
    """A display claim (a name, username, email, ``ref``): a string, a number made one, else dropped."""
    value = claims.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        logger.debug("The token's %r claim is a number; read as a string.", name)
        return str(value)
    logger.debug("Ignored the token's %r claim: %s, not a string.", name, type(value).__name__)
    return None


def _custom(claims: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """Custom attributes: an object, else dropped (they decide nothing the library checks)."""
    value = claims.get(name)
    if isinstance(value, dict):
        return MappingProxyType(value)
    if value is not None:
        logger.debug("Ignored the token's %r claim: %s, not an object.", name, type(value).__name__)
    return _EMPTY


def _required_text(claims: Mapping[str, Any], name: str) -> str:
    value = _text(claims, name)
    if not value:
        raise ClaimsError(f"{name!r} is empty")
    return value


def _permissions(entry: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = entry.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ClaimsError(f"{name!r} is not a list of strings")
    return tuple(value)
