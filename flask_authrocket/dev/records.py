"""The records of the development realm (users, orgs, memberships, login sessions) and the limits on their fields.

The directory (:mod:`flask_authrocket.dev.directory`) stores them; the hosted
pages and the Core API under ``/v2`` check what users type against the same
limits, so a value one of them accepts is never refused by the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: The longest first name, last name, username or org name, in characters.
MAX_NAME_LENGTH = 100
#: The longest email address, in characters (RFC 5321's limit on a path).
MAX_EMAIL_LENGTH = 254
#: The shortest password, in characters.
MIN_PASSWORD_LENGTH = 8


class DirectoryError(ValueError):
    """A change the directory refuses; the message can be shown to the user."""


class ConflictError(DirectoryError):
    """The change collides with another record (a taken email, a second membership of one org)."""


class EmailTakenError(ConflictError):
    """Another user already has this email address."""


class UsernameTakenError(ConflictError):
    """Another user already has this username."""


@dataclass(frozen=True)
class DirectoryUser:
    """A user of the development realm."""

    id: str
    email: str
    first_name: str
    last_name: str
    email_verified: bool
    #: Where the user's button sits on the login page; ``None`` for users who signed up.
    demo_order: int | None
    #: The org picked on ``/accounts``, marked ``selected`` in the user's tokens.
    selected_org_id: str | None
    username: str | None = None
    reference: str | None = None
    custom: Mapping[str, Any] = field(default_factory=dict)
    #: ``"active"`` or ``"inactive"``.
    state: str = "active"
    created_at: int | None = None
    last_login_at: int | None = None

    @property
    def name(self) -> str:
        """First and last name, else the email address."""
        return " ".join(part for part in (self.first_name, self.last_name) if part) or self.email

    @property
    def is_demo(self) -> bool:
        """True for the seeded users that log in with one click."""
        return self.demo_order is not None


@dataclass(frozen=True)
class DirectoryOrg:
    """An org (an account) of the development realm."""

    id: str
    name: str
    state: str
    reference: str | None
    custom: Mapping[str, Any]
    created_at: int


@dataclass(frozen=True)
class DirectoryMembership:
    """A user's membership of an org, with the org's name and the permissions it grants."""

    id: str
    org_id: str
    org_name: str
    permissions: tuple[str, ...]
    user_id: str
    #: True when this is the org the user picked on ``/accounts``.
    selected: bool = False
    created_at: int | None = None


@dataclass(frozen=True)
class LoginSession:
    """A LoginRocket login: the ``sid`` of every token issued for it."""

    id: str
    user_id: str
    created_at: int
    ended_at: int | None
    #: What the app said of its visitor when it started the session through the API (``{"ip", "client"}``).
    request: Mapping[str, Any] | None = None
