"""Session, User, Membership and Org: frozen objects built from token claims.

Both AuthRocket token formats map to the same objects:

* the current one (``sub``, ``given_name``, ``orgs`` with ``oid``/``mid``/``perm`` ...);
* the older one (``uid``, ``un``, ``fn``, ``ln``, ``n``, ``m`` with ``p``/``oid``/``o`` ...).

Missing values are simply absent from a token; they become ``None`` (or an
empty mapping / tuple) here. A claim of the wrong type makes the whole token
unusable: :func:`session_from_claims` raises :class:`ClaimsError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return _EMPTY


class ClaimsError(ValueError):
    """A claim has a type no AuthRocket token uses."""


@dataclass(frozen=True)
class Org:
    """An AuthRocket org, which LoginRocket calls an *account*."""

    id: str
    name: str | None = None
    reference: str | None = None
    custom: Mapping[str, Any] = field(default_factory=_empty)
    realm_id: str | None = None


@dataclass(frozen=True)
class Membership:
    """A user's membership of an org, with the permissions it grants."""

    id: str | None
    user_id: str
    org_id: str | None
    permissions: tuple[str, ...] = ()
    selected: bool = False
    custom: Mapping[str, Any] = field(default_factory=_empty)
    org: Org | None = None

    def has_permission(self, *names: str) -> bool:
        """True when this membership grants every one of ``names``."""
        return all(name in self.permissions for name in names)


@dataclass(frozen=True)
class User:
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

    @property
    def display_name(self) -> str:
        """The first name, else the full name, username, email or id: for greetings."""
        return self.first_name or self.name or self.username or self.email or self.id


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


def session_from_claims(claims: Mapping[str, Any], token: str) -> Session:
    """Build a :class:`Session` from verified claims of either token format.

    Raises :class:`ClaimsError` when a claim has an impossible type.
    """
    if "sub" in claims:
        user = _user_from_current(claims)
    elif "uid" in claims:
        user = _user_from_legacy(claims)
    else:
        raise ClaimsError("the token names no user (neither 'sub' nor 'uid')")
    exp = _timestamp(claims, "exp")
    if exp is None:
        raise ClaimsError("'exp' is missing")
    iat = _timestamp(claims, "iat")
    return Session(
        id=_text(claims, "sid"),
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
        username=_text(claims, "preferred_username"),
        first_name=_text(claims, "given_name"),
        last_name=_text(claims, "family_name"),
        name=_text(claims, "name"),
        email=_text(claims, "email"),
        email_verification="verified" if claims.get("email_verified") is True else "none",
        reference=_text(claims, "ref"),
        custom=_mapping(claims, "cs"),
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
            name=_text(entry, "name"),
            reference=_text(entry, "ref"),
            custom=_mapping(entry, "cs"),
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
    entries = claims.get("m")
    memberships: tuple[Membership, ...] | None = None
    if entries is not None:
        if not isinstance(entries, list):
            raise ClaimsError("'m' is not a list")
        memberships = tuple(_membership_from_legacy(entry, user_id, realm_id) for entry in entries)
    return User(
        id=user_id,
        realm_id=realm_id,
        username=_text(claims, "un"),
        first_name=_text(claims, "fn"),
        last_name=_text(claims, "ln"),
        name=_text(claims, "n"),
        email=_text(claims, "em") or _text(claims, "email"),
        email_verification=None,
        reference=_text(claims, "ref"),
        custom=_mapping(claims, "cs"),
        memberships=memberships,
    )


def _membership_from_legacy(entry: Any, user_id: str, realm_id: str | None) -> Membership:
    if not isinstance(entry, dict):
        raise ClaimsError("an entry of 'm' is not an object")
    org_id = _text(entry, "oid")
    org = None
    if org_id is not None:
        org = Org(id=org_id, name=_text(entry, "o"), custom=_mapping(entry, "ocs"), realm_id=realm_id)
    return Membership(
        id=_text(entry, "mid") or _text(entry, "id"),
        user_id=user_id,
        org_id=org_id,
        permissions=_permissions(entry, "p"),
        selected=entry.get("selected") is True,
        custom=_mapping(entry, "cs"),
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


def _required_text(claims: Mapping[str, Any], name: str) -> str:
    value = _text(claims, name)
    if not value:
        raise ClaimsError(f"{name!r} is empty")
    return value


def _mapping(claims: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = claims.get(name)
    if value is None:
        return _EMPTY
    if not isinstance(value, dict):
        raise ClaimsError(f"{name!r} is not an object")
    return MappingProxyType(value)


def _permissions(entry: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = entry.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ClaimsError(f"{name!r} is not a list of strings")
    return tuple(value)
