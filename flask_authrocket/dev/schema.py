"""The development directory's SQLite schema, its migrations and its demo data.

Demo data, seeded into a new database (every demo user's password is ``password``):

==================  ===================  ==========================================
user                email                memberships (org: permissions)
==================  ===================  ==========================================
``usr_ada``         ada@example.com      ``org_acme`` Acme Inc.: ``site:admin``;
                                         ``org_globex`` Globex: none
``usr_grace``       grace@example.com    ``org_acme`` Acme Inc.: none
==================  ===================  ==========================================

The demo users also have usernames (``ada``, ``grace``). The realm has two auth providers,
``ap_password`` (passwords, at least 8 characters) and ``ap_totp`` (TOTP, inactive), as a new
AuthRocket realm has (authrocket-php ``tests/AuthProviderTest.php`` finds two, one of them ``totp``).

Version 3 adds what the Core API's other resources keep (invitations, credentials, hooks,
events ...: :mod:`flask_authrocket.dev.store`) and the ``request`` a session was started with.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time

from werkzeug.security import generate_password_hash

DEMO_PASSWORD = "password"
SCHEMA_VERSION = 3

# Version 1: what 0.1 wrote. Never changed: databases of that version are migrated from it.
_SCHEMA_V1 = """
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

# Version 2: the fields the Core API serves.
_SCHEMA_V2 = """
ALTER TABLE users ADD COLUMN username TEXT;
CREATE UNIQUE INDEX users_username ON users (username COLLATE NOCASE);
ALTER TABLE users ADD COLUMN reference TEXT;
ALTER TABLE users ADD COLUMN custom TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
ALTER TABLE users ADD COLUMN last_login_at INTEGER;
ALTER TABLE orgs ADD COLUMN reference TEXT;
ALTER TABLE orgs ADD COLUMN custom TEXT NOT NULL DEFAULT '{}';
ALTER TABLE orgs ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
ALTER TABLE memberships ADD COLUMN created_at INTEGER;
"""

# Version 3: the records of the API's other resources, each a JSON object by kind and id; a session's request.
_SCHEMA_V3 = """
CREATE TABLE records (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX records_kind ON records (kind, id);
ALTER TABLE sessions ADD COLUMN request TEXT;
"""

_DEMO_USERNAMES = (("usr_ada", "ada"), ("usr_grace", "grace"))
# The auth providers of a new realm: (id, provider type, state, minimum password length).
_DEMO_AUTH_PROVIDERS = (("ap_password", "password", "active", 8), ("ap_totp", "totp", "inactive", None))

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


def bring_up_to_date(db: sqlite3.Connection) -> None:
    """Create the tables (and seed them) in a new database, or migrate one written by an older version.

    Runs inside the caller's transaction, which must hold the write lock
    (``BEGIN IMMEDIATE``) so that two processes starting together do not both seed.
    """
    (version,) = db.execute("PRAGMA user_version").fetchone()
    if version >= SCHEMA_VERSION:
        return
    if version < 1:
        _run_script(db, _SCHEMA_V1)
        _seed(db)
    if version < 2:
        _run_script(db, _SCHEMA_V2)
        _seed_usernames(db)
    if version < 3:
        _run_script(db, _SCHEMA_V3)
        _seed_auth_providers(db)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def reseed(db: sqlite3.Connection) -> None:
    """Empty every table and seed the demo data again: a realm reset (``POST /v2/realms/rl_dev/reset``).

    Runs inside the caller's transaction.
    """
    for table in ("memberships", "sessions", "records", "users", "orgs"):
        db.execute(f"DELETE FROM {table}")  # a fixed list of names, nothing from outside
    _seed(db)
    _seed_usernames(db)
    _seed_auth_providers(db)


def _seed_usernames(db: sqlite3.Connection) -> None:
    for user_id, username in _DEMO_USERNAMES:
        db.execute("UPDATE users SET username = ? WHERE id = ?", (username, user_id))


def _seed_auth_providers(db: sqlite3.Connection) -> None:
    now = int(time.time())
    for provider_id, provider_type, state, min_length in _DEMO_AUTH_PROVIDERS:
        data = {
            "object": "auth_provider",
            "id": provider_id,
            "realm_id": "rl_dev",
            "provider_type": provider_type,
            "name": provider_type.capitalize(),
            "state": state,
            "min_length": min_length,
            "created_at": now,
        }
        db.execute(
            "INSERT INTO records (id, kind, data, created_at) VALUES (?, ?, ?, ?)",
            (provider_id, "auth_providers", json.dumps(data), now),
        )


def _run_script(db: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


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


#: How the development LoginRocket hashes passwords: scrypt, at an eighth of Werkzeug's default
#: cost (N = 2**12, about 10 ms, where the default takes 100 ms). Its directory holds test users on
#: a developer's machine, and every login waits for the hash; a hash of Werkzeug's default cost,
#: from an older directory, is still checked as it was made.
PASSWORD_HASH_METHOD = "scrypt:4096:8:1"


def hash_password(password: str) -> str:
    """The hash of ``password`` the development directory stores (:data:`PASSWORD_HASH_METHOD`)."""
    return generate_password_hash(password, method=PASSWORD_HASH_METHOD)


@functools.cache
def _demo_password_hash() -> str:
    # Every demo user shares one hash of the same password.
    return hash_password(DEMO_PASSWORD)
