"""The development LoginRocket's directory: users, orgs, memberships and sessions in SQLite.

The database lives in the instance folder and survives restarts. On first
start it is seeded with demo data (:mod:`flask_authrocket.dev.schema`; every
demo user's password is ``password``). The Core API under ``/v2``
(:mod:`flask_authrocket.dev.api`) reads and changes the same records
(:mod:`flask_authrocket.dev.records`).

Each connection is opened and closed per call, so one :class:`Directory`
serves a threaded server without sharing a connection between threads.
Lists are ordered by id and continue ``after`` an id, so a page boundary
never skips or repeats a record, even while records are added or deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from typing import Any

from werkzeug.security import check_password_hash

from .records import (
    ConflictError,
    DirectoryError,
    DirectoryMembership,
    DirectoryOrg,
    DirectoryUser,
    EmailTakenError,
    LoginSession,
    UsernameTakenError,
)
from .schema import bring_up_to_date, hash_password, reseed

DATABASE_FILE = "dev_loginrocket.sqlite3"


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

    def user_by_login(self, login: str) -> DirectoryUser | None:
        """The user whose id, email or username is ``login``, or ``None``."""
        login = login.strip()
        with self._connect() as db:
            row = db.execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE id = ? OR email = ? OR username = ? COLLATE NOCASE"
                " ORDER BY id = ? DESC LIMIT 1",
                (login, login, login, login),
            ).fetchone()
        return _user(row) if row else None

    def list_users(
        self, *, limit: int, after: str | None = None, email: str | None = None, state: str | None = None
    ) -> tuple[list[DirectoryUser], bool]:
        """Up to ``limit`` users ordered by id, after the id ``after``; and whether more follow."""
        where, args = _filters({"email = ?": email, "state = ?": state})
        with self._connect() as db:
            rows, more = _page(db, f"SELECT {_USER_COLUMNS} FROM users", "id", where, args, after, limit)
        return [_user(row) for row in rows], more

    def authenticate(self, email: str, password: str) -> DirectoryUser | None:
        """The user with this email and password, or ``None`` when either is wrong."""
        with self._connect() as db:
            row = db.execute(
                f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE email = ?", (email.strip(),)
            ).fetchone()
        if row is None or not check_password_hash(row[-1], password):
            return None
        return _user(row[:-1])

    def check_password(self, user_id: str, password: str) -> bool:
        """True when ``password`` is the password of user ``user_id``."""
        with self._connect() as db:
            row = db.execute("SELECT password_hash FROM users WHERE id = ?", (user_id,)).fetchone()
        return row is not None and check_password_hash(row[0], password)

    def password_fingerprint(self, user_id: str) -> str | None:
        """A short digest of the user's password hash: it changes whenever the password does."""
        with self._connect() as db:
            row = db.execute("SELECT password_hash FROM users WHERE id = ?", (user_id,)).fetchone()
        return hashlib.sha256(row[0].encode("utf-8")).hexdigest()[:16] if row else None

    def create_user(
        self,
        *,
        email: str,
        password: str | None,
        first_name: str = "",
        last_name: str = "",
        org_name: str | None = None,
        username: str | None = None,
        reference: str | None = None,
        custom: Mapping[str, Any] | None = None,
        email_verified: bool = False,
        state: str = "active",
    ) -> DirectoryUser:
        """Sign up a user; with ``org_name``, also a new org where they are ``site:admin``.

        A user created without a password cannot log in with one until it is
        set. Raises :class:`EmailTakenError` or :class:`UsernameTakenError`.
        """
        user_id = _new_id("usr")
        now = int(time.time())
        # Without a password, the hash of a random one: nobody knows it.
        password_hash = hash_password(password if password is not None else secrets.token_urlsafe(24))
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT INTO users (id, email, first_name, last_name, password_hash, email_verified, created_at,"
                    " username, reference, custom, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        user_id,
                        email,
                        first_name,
                        last_name,
                        password_hash,
                        int(email_verified),
                        now,
                        username,
                        reference,
                        json.dumps(dict(custom or {})),
                        state,
                    ),
                )
                if org_name:
                    org_id = _new_id("org")
                    db.execute("INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)", (org_id, org_name, now))
                    db.execute(
                        "INSERT INTO memberships (id, user_id, org_id, permissions, created_at) VALUES (?, ?, ?, ?, ?)",
                        (_new_id("mb"), user_id, org_id, json.dumps(["site:admin"]), now),
                    )
        except sqlite3.IntegrityError as exc:
            raise _user_conflict(exc, email, username, "already has an account; log in instead") from exc
        user = self.user(user_id)
        assert user is not None
        return user

    def update_user(self, user_id: str, changes: Mapping[str, Any]) -> DirectoryUser:
        """Change the given fields of a user and return them.

        ``changes`` may hold ``email``, ``first_name``, ``last_name``,
        ``username``, ``reference``, ``custom``, ``state``, ``email_verified``
        and ``password``. Raises :class:`EmailTakenError`,
        :class:`UsernameTakenError`, or :class:`DirectoryError` when the user
        does not exist.
        """
        columns = dict(changes)
        if "password" in columns:
            columns["password_hash"] = hash_password(columns.pop("password"))
        if "custom" in columns:
            columns["custom"] = json.dumps(dict(columns["custom"] or {}))
        if "email_verified" in columns:
            columns["email_verified"] = int(bool(columns["email_verified"]))
        unknown = set(columns) - _USER_UPDATABLE
        if unknown:
            raise ValueError(f"users have no field {', '.join(sorted(unknown))}")
        if columns:
            assignments = ", ".join(f"{name} = ?" for name in columns)
            try:
                with self._connect() as db:
                    db.execute(f"UPDATE users SET {assignments} WHERE id = ?", (*columns.values(), user_id))
            except sqlite3.IntegrityError as exc:
                raise _user_conflict(
                    exc, changes.get("email"), changes.get("username"), "is already used by another account"
                ) from exc
        user = self.user(user_id)
        if user is None:
            raise DirectoryError("This user no longer exists.")
        return user

    def update_profile(self, user_id: str, *, first_name: str, last_name: str, email: str) -> DirectoryUser:
        """Change a user's names and email. Raises :class:`EmailTakenError` when the email is in use."""
        return self.update_user(user_id, {"first_name": first_name, "last_name": last_name, "email": email})

    def delete_user(self, user_id: str) -> bool:
        """Delete a user with their memberships and sessions; ``False`` when there was no such user."""
        with self._connect() as db:
            db.execute("DELETE FROM memberships WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            deleted = db.execute("DELETE FROM users WHERE id = ?", (user_id,)).rowcount
        return deleted > 0

    # Orgs ------------------------------------------------------------------

    def org(self, org_id: str) -> DirectoryOrg | None:
        """The org with this id, or ``None``."""
        with self._connect() as db:
            row = db.execute(f"SELECT {_ORG_COLUMNS} FROM orgs WHERE id = ?", (org_id,)).fetchone()
        return _org(row) if row else None

    def list_orgs(
        self, *, limit: int, after: str | None = None, state: str | None = None
    ) -> tuple[list[DirectoryOrg], bool]:
        """Up to ``limit`` orgs ordered by id, after the id ``after``; and whether more follow."""
        where, args = _filters({"state = ?": state})
        with self._connect() as db:
            rows, more = _page(db, f"SELECT {_ORG_COLUMNS} FROM orgs", "id", where, args, after, limit)
        return [_org(row) for row in rows], more

    def create_org(
        self,
        *,
        name: str,
        reference: str | None = None,
        custom: Mapping[str, Any] | None = None,
        state: str = "active",
    ) -> DirectoryOrg:
        """Create an org and return it."""
        org_id = _new_id("org")
        with self._connect() as db:
            db.execute(
                "INSERT INTO orgs (id, name, created_at, reference, custom, state) VALUES (?, ?, ?, ?, ?, ?)",
                (org_id, name, int(time.time()), reference, json.dumps(dict(custom or {})), state),
            )
        org = self.org(org_id)
        assert org is not None
        return org

    def update_org(self, org_id: str, changes: Mapping[str, Any]) -> DirectoryOrg | None:
        """Change ``name``, ``reference``, ``custom`` or ``state`` of an org; ``None`` when there is no such org."""
        columns = dict(changes)
        if "custom" in columns:
            columns["custom"] = json.dumps(dict(columns["custom"] or {}))
        unknown = set(columns) - _ORG_UPDATABLE
        if unknown:
            raise ValueError(f"orgs have no field {', '.join(sorted(unknown))}")
        if columns:
            assignments = ", ".join(f"{name} = ?" for name in columns)
            with self._connect() as db:
                db.execute(f"UPDATE orgs SET {assignments} WHERE id = ?", (*columns.values(), org_id))
        return self.org(org_id)

    def delete_org(self, org_id: str) -> bool:
        """Delete an org and its memberships; ``False`` when there was no such org."""
        with self._connect() as db:
            db.execute("DELETE FROM memberships WHERE org_id = ?", (org_id,))
            db.execute("UPDATE users SET selected_org_id = NULL WHERE selected_org_id = ?", (org_id,))
            deleted = db.execute("DELETE FROM orgs WHERE id = ?", (org_id,)).rowcount
        return deleted > 0

    # Memberships -----------------------------------------------------------

    def memberships(self, user_id: str) -> list[DirectoryMembership]:
        """The user's memberships, oldest first."""
        with self._connect() as db:
            rows = db.execute(f"{_MEMBERSHIP_SELECT} WHERE m.user_id = ? ORDER BY m.rowid", (user_id,)).fetchall()
        return [_membership(row) for row in rows]

    def membership_by_id(self, membership_id: str) -> DirectoryMembership | None:
        """The membership with this id, or ``None``."""
        with self._connect() as db:
            row = db.execute(f"{_MEMBERSHIP_SELECT} WHERE m.id = ?", (membership_id,)).fetchone()
        return _membership(row) if row else None

    def list_memberships(
        self, *, limit: int, after: str | None = None, user_id: str | None = None, org_id: str | None = None
    ) -> tuple[list[DirectoryMembership], bool]:
        """Up to ``limit`` memberships ordered by id, after the id ``after``; and whether more follow."""
        where, args = _filters({"m.user_id = ?": user_id, "m.org_id = ?": org_id})
        with self._connect() as db:
            rows, more = _page(db, _MEMBERSHIP_SELECT, "m.id", where, args, after, limit)
        return [_membership(row) for row in rows], more

    def create_membership(self, *, user_id: str, org_id: str, permissions: Sequence[str] = ()) -> DirectoryMembership:
        """Make ``user_id`` a member of ``org_id``.

        Raises :class:`DirectoryError` when the user or org does not exist, and
        :class:`ConflictError` when the user is a member already.
        """
        if self.user(user_id) is None:
            raise DirectoryError("User not found.")
        if self.org(org_id) is None:
            raise DirectoryError("Org not found.")
        membership_id = _new_id("mb")
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT INTO memberships (id, user_id, org_id, permissions, created_at) VALUES (?, ?, ?, ?, ?)",
                    (membership_id, user_id, org_id, json.dumps(list(permissions)), int(time.time())),
                )
        except sqlite3.IntegrityError as exc:
            raise ConflictError("User is already a member of this org.") from exc
        membership = self.membership_by_id(membership_id)
        assert membership is not None
        return membership

    def update_membership(self, membership_id: str, *, permissions: Sequence[str]) -> DirectoryMembership | None:
        """Replace a membership's permissions; ``None`` when there is no such membership."""
        with self._connect() as db:
            db.execute(
                "UPDATE memberships SET permissions = ? WHERE id = ?", (json.dumps(list(permissions)), membership_id)
            )
        return self.membership_by_id(membership_id)

    def delete_membership(self, membership_id: str) -> bool:
        """Delete a membership; ``False`` when there was no such membership."""
        with self._connect() as db:
            return db.execute("DELETE FROM memberships WHERE id = ?", (membership_id,)).rowcount > 0

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

    def start_session(self, user_id: str, request: Mapping[str, Any] | None = None) -> LoginSession:
        """Record a new login of ``user_id``; its id (``kss_...``) is the ``sid`` of its tokens.

        ``request`` is what the app said of its visitor (``{"ip": ..., "client": ...}``), kept with the session.
        """
        session = LoginSession(_new_id("kss"), user_id, int(time.time()), None, dict(request) if request else None)
        with self._connect() as db:
            db.execute(
                "INSERT INTO sessions (id, user_id, created_at, request) VALUES (?, ?, ?, ?)",
                (session.id, session.user_id, session.created_at, json.dumps(request) if request else None),
            )
            db.execute("UPDATE users SET last_login_at = ? WHERE id = ?", (session.created_at, user_id))
        return session

    def list_sessions(
        self, *, limit: int, after: str | None = None, user_id: str | None = None
    ) -> tuple[list[LoginSession], bool]:
        """Up to ``limit`` sessions still on (not logged out), ordered by id; and whether more follow."""
        where, args = _filters({"user_id = ?": user_id})
        where.append("ended_at IS NULL")
        with self._connect() as db:
            rows, more = _page(db, f"SELECT {_SESSION_COLUMNS} FROM sessions", "id", where, args, after, limit)
        return [_session(row) for row in rows], more

    def session(self, session_id: str) -> LoginSession | None:
        """The session with this id, ended or not, or ``None``."""
        with self._connect() as db:
            row = db.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return _session(row) if row else None

    def end_session(self, session_id: str) -> bool:
        """Mark the session ended (a logout); ``False`` when it was unknown or had ended already."""
        with self._connect() as db:
            changed = db.execute(
                "UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL", (int(time.time()), session_id)
            ).rowcount
        return changed > 0

    # Storage ---------------------------------------------------------------

    def reset(self) -> None:
        """Empty the realm and seed its demo data again (``POST /v2/realms/rl_dev/reset``)."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            reseed(db)

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A connection in a transaction, for the records kept beside the directory (:mod:`.store`)."""
        return self._connect()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction: committed when the block succeeds, always closed."""
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.execute("PRAGMA foreign_keys = ON")
            with db:
                yield db

    def _create_if_new(self) -> None:
        """Create the database, or bring one written by an older version up to date."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # two processes starting together must not both seed
            bring_up_to_date(db)


_USER_COLUMNS = (
    "id, email, first_name, last_name, email_verified, demo_order, selected_org_id,"
    " username, reference, custom, state, created_at, last_login_at"
)
_USER_UPDATABLE = frozenset(
    {"email", "first_name", "last_name", "username", "reference", "custom", "state", "email_verified", "password_hash"}
)
_ORG_COLUMNS = "id, name, state, reference, custom, created_at"
_SESSION_COLUMNS = "id, user_id, created_at, ended_at, request"
_ORG_UPDATABLE = frozenset({"name", "reference", "custom", "state"})
_MEMBERSHIP_SELECT = (
    "SELECT m.id, m.org_id, o.name, m.permissions, m.user_id, COALESCE(u.selected_org_id = m.org_id, 0),"
    " m.created_at FROM memberships m JOIN orgs o ON o.id = m.org_id JOIN users u ON u.id = m.user_id"
)


def _user(row: tuple[object, ...] | sqlite3.Row) -> DirectoryUser:
    (
        user_id,
        email,
        first_name,
        last_name,
        verified,
        demo_order,
        selected,
        username,
        reference,
        custom,
        state,
        created_at,
        last_login_at,
    ) = tuple(row)
    return DirectoryUser(
        id=str(user_id),
        email=str(email),
        first_name=str(first_name),
        last_name=str(last_name),
        email_verified=bool(verified),
        demo_order=demo_order if isinstance(demo_order, int) else None,
        selected_org_id=selected if isinstance(selected, str) else None,
        username=username if isinstance(username, str) else None,
        reference=reference if isinstance(reference, str) else None,
        custom=json.loads(str(custom)),
        state=str(state),
        created_at=created_at if isinstance(created_at, int) else None,
        last_login_at=last_login_at if isinstance(last_login_at, int) else None,
    )


def _org(row: tuple[object, ...] | sqlite3.Row) -> DirectoryOrg:
    org_id, name, state, reference, custom, created_at = tuple(row)
    return DirectoryOrg(
        id=str(org_id),
        name=str(name),
        state=str(state),
        reference=reference if isinstance(reference, str) else None,
        custom=json.loads(str(custom)),
        created_at=int(created_at) if isinstance(created_at, int) else 0,
    )


def _membership(row: tuple[object, ...] | sqlite3.Row) -> DirectoryMembership:
    membership_id, org_id, org_name, permissions, user_id, selected, created_at = tuple(row)
    return DirectoryMembership(
        id=str(membership_id),
        org_id=str(org_id),
        org_name=str(org_name),
        permissions=tuple(json.loads(str(permissions))),
        user_id=str(user_id),
        selected=bool(selected),
        created_at=created_at if isinstance(created_at, int) else None,
    )


def _session(row: tuple[object, ...] | sqlite3.Row) -> LoginSession:
    session_id, user_id, created_at, ended_at, request = tuple(row)
    return LoginSession(
        str(session_id),
        str(user_id),
        int(created_at) if isinstance(created_at, int) else 0,
        ended_at if isinstance(ended_at, int) else None,
        json.loads(request) if isinstance(request, str) else None,
    )


def _filters(conditions: Mapping[str, str | None]) -> tuple[list[str], list[object]]:
    """The SQL conditions whose value is given, and their values."""
    given = [(condition, value) for condition, value in conditions.items() if value is not None]
    return [condition for condition, _ in given], [value for _, value in given]


def _page(
    db: sqlite3.Connection,
    select: str,
    id_column: str,
    where: list[str],
    args: list[object],
    after: str | None,
    limit: int,
) -> tuple[list[Any], bool]:
    """Up to ``limit`` rows of ``select`` ordered by id, after the id ``after``; and whether more follow."""
    if after is not None:
        where = [*where, f"{id_column} > ?"]
        args = [*args, after]
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    rows = db.execute(f"{select}{condition} ORDER BY {id_column} LIMIT ?", (*args, limit + 1)).fetchall()
    return rows[:limit], len(rows) > limit


def _user_conflict(exc: sqlite3.IntegrityError, email: Any, username: Any, what: str) -> ConflictError:
    if "username" in str(exc):
        return UsernameTakenError(f"The username {username} {what}.")
    return EmailTakenError(f"{email} {what}.")


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"
