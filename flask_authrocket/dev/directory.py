"""The development LoginRocket's directory: users, orgs, memberships and sessions in SQLite.

The database lives in the instance folder and survives restarts. On first
start it is seeded with demo data (every demo user's password is ``password``):

==================  ===================  ==========================================
user                email                memberships (org: permissions)
==================  ===================  ==========================================
``usr_ada``         ada@example.com      ``org_acme`` Acme Inc.: ``site:admin``;
                                         ``org_globex`` Globex: none
``usr_grace``       grace@example.com    ``org_acme`` Acme Inc.: none
==================  ===================  ==========================================

Each connection is opened and closed per call, so one :class:`Directory`
serves a threaded server without sharing a connection between threads.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass

from werkzeug.security import check_password_hash, generate_password_hash

DATABASE_FILE = "dev_loginrocket.sqlite3"
DEMO_PASSWORD = "password"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0,
    demo_order INTEGER,
    selected_org_id TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE memberships (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    org_id TEXT NOT NULL REFERENCES orgs (id),
    permissions TEXT NOT NULL DEFAULT '[]',
    UNIQUE (user_id, org_id)
);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    ended_at INTEGER
);
"""

# (id, email, first name, last name), in the order of the login page's buttons.
_DEMO_USERS = (
    ("usr_ada", "ada@example.com", "Ada", "Lovelace"),
    ("usr_grace", "grace@example.com", "Grace", "Hopper"),
)
_DEMO_ORGS = (("org_acme", "Acme Inc."), ("org_globex", "Globex"))
# (membership id, user id, org id, permissions)
_DEMO_MEMBERSHIPS: tuple[tuple[str, str, str, list[str]], ...] = (
    ("mb_ada_acme", "usr_ada", "org_acme", ["site:admin"]),
    ("mb_ada_globex", "usr_ada", "org_globex", []),
    ("mb_grace_acme", "usr_grace", "org_acme", []),
)


class DirectoryError(ValueError):
    """A change the directory refuses; the message can be shown to the user."""


class EmailTakenError(DirectoryError):
    """Another user already has this email address."""


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

    @property
    def name(self) -> str:
        """First and last name, else the email address."""
        return " ".join(part for part in (self.first_name, self.last_name) if part) or self.email

    @property
    def is_demo(self) -> bool:
        """True for the seeded users that log in with one click."""
        return self.demo_order is not None


@dataclass(frozen=True)
class DirectoryMembership:
    """A user's membership of an org, with the org's name and the permissions it grants."""

    id: str
    org_id: str
    org_name: str
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class LoginSession:
    """A LoginRocket login: the ``sid`` of every token issued for it."""

    id: str
    user_id: str
    created_at: int
    ended_at: int | None


class Directory:
    """Users, orgs, memberships and login sessions in the SQLite file at ``path``.

    :meth:`open` creates (and seeds) the database when it is new.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    @classmethod
    def open(cls, path: str) -> Directory:
        """The directory at ``path``, created with its demo data on first use."""
        directory = cls(path)
        directory._create_if_new()
        return directory

    @classmethod
    def in_instance_folder(cls, instance_path: str) -> Directory:
        """The directory in ``instance_path`` (``dev_loginrocket.sqlite3``)."""
        return cls.open(os.path.join(instance_path, DATABASE_FILE))

    # Users -----------------------------------------------------------------

    def user(self, user_id: str) -> DirectoryUser | None:
        """The user with this id, or ``None``."""
        with self._connect() as db:
            row = db.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone()
        return _user(row) if row else None

    def demo_users(self) -> list[DirectoryUser]:
        """The one-click users, in the order of the login page."""
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE demo_order IS NOT NULL ORDER BY demo_order"
            ).fetchall()
        return [_user(row) for row in rows]

    def authenticate(self, email: str, password: str) -> DirectoryUser | None:
        """The user with this email and password, or ``None`` when either is wrong."""
        with self._connect() as db:
            row = db.execute(
                f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE email = ?", (email.strip(),)
            ).fetchone()
        if row is None or not check_password_hash(row[-1], password):
            return None
        return _user(row[:-1])

    def create_user(
        self, *, email: str, password: str, first_name: str = "", last_name: str = "", org_name: str | None = None
    ) -> DirectoryUser:
        """Sign up a user; with ``org_name``, also a new org where they are ``site:admin``.

        Raises :class:`EmailTakenError` when the email address is in use.
        """
        user_id = _new_id("usr")
        now = int(time.time())
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT INTO users (id, email, first_name, last_name, password_hash, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (user_id, email, first_name, last_name, generate_password_hash(password), now),
                )
                if org_name:
                    org_id = _new_id("org")
                    db.execute("INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)", (org_id, org_name, now))
                    db.execute(
                        "INSERT INTO memberships (id, user_id, org_id, permissions) VALUES (?, ?, ?, ?)",
                        (_new_id("mb"), user_id, org_id, json.dumps(["site:admin"])),
                    )
        except sqlite3.IntegrityError as exc:
            raise EmailTakenError(f"{email} already has an account; log in instead.") from exc
        user = self.user(user_id)
        assert user is not None
        return user

    def update_profile(self, user_id: str, *, first_name: str, last_name: str, email: str) -> DirectoryUser:
        """Change a user's names and email. Raises :class:`EmailTakenError` when the email is in use."""
        try:
            with self._connect() as db:
                db.execute(
                    "UPDATE users SET first_name = ?, last_name = ?, email = ? WHERE id = ?",
                    (first_name, last_name, email, user_id),
                )
        except sqlite3.IntegrityError as exc:
            raise EmailTakenError(f"{email} is already used by another account.") from exc
        user = self.user(user_id)
        if user is None:
            raise DirectoryError("This user no longer exists.")
        return user

    # Memberships -----------------------------------------------------------

    def memberships(self, user_id: str) -> list[DirectoryMembership]:
        """The user's memberships, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT m.id, m.org_id, o.name, m.permissions FROM memberships m JOIN orgs o ON o.id = m.org_id"
                " WHERE m.user_id = ? ORDER BY m.rowid",
                (user_id,),
            ).fetchall()
        return [DirectoryMembership(row[0], row[1], row[2], tuple(json.loads(row[3]))) for row in rows]

    def membership(self, user_id: str, org_id: str) -> DirectoryMembership | None:
        """The user's membership of ``org_id``, or ``None``."""
        return next((item for item in self.memberships(user_id) if item.org_id == org_id), None)

    def select_org(self, user_id: str, org_id: str) -> DirectoryUser:
        """Remember ``org_id`` as the user's selected org; returns the updated user.

        Raises :class:`DirectoryError` when the user is not a member of ``org_id``.
        """
        if self.membership(user_id, org_id) is None:
            raise DirectoryError("You are not a member of this account.")
        with self._connect() as db:
            db.execute("UPDATE users SET selected_org_id = ? WHERE id = ?", (org_id, user_id))
        user = self.user(user_id)
        if user is None:
            raise DirectoryError("This user no longer exists.")
        return user

    # Sessions --------------------------------------------------------------

    def start_session(self, user_id: str) -> LoginSession:
        """Record a new login of ``user_id``; its id (``kss_...``) is the ``sid`` of its tokens."""
        session = LoginSession(_new_id("kss"), user_id, int(time.time()), None)
        with self._connect() as db:
            db.execute(
                "INSERT INTO sessions (id, user_id, created_at) VALUES (?, ?, ?)",
                (session.id, session.user_id, session.created_at),
            )
        return session

    def session(self, session_id: str) -> LoginSession | None:
        """The session with this id, ended or not, or ``None``."""
        with self._connect() as db:
            row = db.execute(
                "SELECT id, user_id, created_at, ended_at FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        return LoginSession(*row) if row else None

    def end_session(self, session_id: str) -> None:
        """Mark the session ended (a logout). Unknown or already ended sessions are left alone."""
        with self._connect() as db:
            db.execute(
                "UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL", (int(time.time()), session_id)
            )

    # Storage ---------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction: committed when the block succeeds, always closed."""
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            with db:
                yield db

    def _create_if_new(self) -> None:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # two processes starting together must not both seed
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version >= SCHEMA_VERSION:
                return
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            _seed(db)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


_USER_COLUMNS = "id, email, first_name, last_name, email_verified, demo_order, selected_org_id"


def _user(row: tuple[object, ...] | sqlite3.Row) -> DirectoryUser:
    user_id, email, first_name, last_name, verified, demo_order, selected = tuple(row)
    return DirectoryUser(
        id=str(user_id),
        email=str(email),
        first_name=str(first_name),
        last_name=str(last_name),
        email_verified=bool(verified),
        demo_order=demo_order if isinstance(demo_order, int) else None,
        selected_org_id=selected if isinstance(selected, str) else None,
    )


def _seed(db: sqlite3.Connection) -> None:
    now = int(time.time())
    password_hash = _demo_password_hash()
    for order, (user_id, email, first_name, last_name) in enumerate(_DEMO_USERS, start=1):
        db.execute(
            "INSERT INTO users (id, email, first_name, last_name, password_hash, email_verified, demo_order,"
            " created_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
            (user_id, email, first_name, last_name, password_hash, order, now),
        )
    for org_id, name in _DEMO_ORGS:
        db.execute("INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)", (org_id, name, now))
    for membership_id, user_id, org_id, permissions in _DEMO_MEMBERSHIPS:
        db.execute(
            "INSERT INTO memberships (id, user_id, org_id, permissions) VALUES (?, ?, ?, ?)",
            (membership_id, user_id, org_id, json.dumps(permissions)),
        )


@functools.cache
def _demo_password_hash() -> str:
    # Hashing is deliberately slow; every demo user shares one hash of the same password.
    return generate_password_hash(DEMO_PASSWORD)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"
