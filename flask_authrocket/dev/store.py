"""The records the development Core API keeps beside the directory: invitations, credentials, hooks, events ...

Users, orgs, memberships and sessions are the directory's own tables
(:mod:`flask_authrocket.dev.directory`); every other resource of the API is a JSON object
in the ``records`` table, by kind (the resource's path, ``"hooks"``) and id. Lists are ordered
by id and continue ``after`` an id, as the directory's.

:func:`record_event` writes the realm's history (``events``): what happened, to whom, with
the ``request`` the app sent, and a notification for each active hook of that event type.
The development LoginRocket delivers no notification (it sends no email and calls no
webhook): each is recorded with ``state: "skipped"``.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from .directory import Directory
from .realm import REALM_ID, current_realm

#: Seconds an event is kept in AuthRocket's history (the API answers its ``expires_at``).
EVENT_LIFETIME = 90 * 24 * 3600


class RecordStore:
    """The JSON records of one kind or another, in the directory's SQLite file."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def get(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """The record ``record_id`` of ``kind`` (``"hooks"``), or ``None``."""
        with self.directory.transaction() as db:
            row = db.execute("SELECT data FROM records WHERE kind = ? AND id = ?", (kind, record_id)).fetchone()
        return json.loads(row[0]) if row else None

    def find_by(self, kind: str, field: str, value: Any) -> dict[str, Any] | None:
        """The first record of ``kind`` whose ``field`` is ``value``, or ``None``."""
        return next((record for record in self.all(kind) if record.get(field) == value), None)

    def all(self, kind: str, after: str | None = None) -> list[dict[str, Any]]:
        """Every record of ``kind`` ordered by id (after the id ``after``)."""
        with self.directory.transaction() as db:
            rows = db.execute(
                "SELECT data FROM records WHERE kind = ? AND id > ? ORDER BY id", (kind, after or "")
            ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def page(
        self, kind: str, *, limit: int, after: str | None, filters: Mapping[str, str]
    ) -> tuple[list[dict[str, Any]], bool]:
        """Up to ``limit`` records of ``kind`` whose fields equal ``filters``, after ``after``; whether more follow."""
        matching = [
            record
            for record in self.all(kind, after)
            if all(str(record.get(name)) == wanted for name, wanted in filters.items())
        ]
        return matching[:limit], len(matching) > limit

    def create(self, kind: str, object_name: str, prefix: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Store a new record of ``kind`` with ``fields``; its id is ``<prefix>_`` and random hex."""
        now = int(time.time())
        record = {"object": object_name, "id": f"{prefix}_{secrets.token_hex(10)}", **fields, "created_at": now}
        with self.directory.transaction() as db:
            db.execute(
                "INSERT INTO records (id, kind, data, created_at) VALUES (?, ?, ?, ?)",
                (record["id"], kind, json.dumps(record), now),
            )
        return record

    def save(self, kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """Write ``record`` (a record of ``kind`` read earlier, changed) back; returns it."""
        with self.directory.transaction() as db:
            db.execute(
                "UPDATE records SET data = ? WHERE kind = ? AND id = ?", (json.dumps(record), kind, record["id"])
            )
        return dict(record)

    def delete(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """Delete record ``record_id`` of ``kind``; the record as it was, or ``None`` when there was none."""
        record = self.get(kind, record_id)
        if record is not None:
            with self.directory.transaction() as db:
                db.execute("DELETE FROM records WHERE kind = ? AND id = ?", (kind, record_id))
        return record


def current_store() -> RecordStore:
    """The :class:`RecordStore` of the current development LoginRocket."""
    return RecordStore(current_realm().directory)


def record_event(event_type: str, *, request: Mapping[str, Any] | None = None, **about: str | None) -> dict[str, Any]:
    """Write event ``event_type`` (``"user.created"``) about the ids in ``about`` (``user_id=...``) to the history."""
    store = current_store()
    now = int(time.time())
    event = store.create(
        "events",
        "event",
        "evt",
        {
            "event_type": event_type,
            "event_at": now,
            "expires_at": now + EVENT_LIFETIME,
            "realm_id": REALM_ID,
            **{name: value for name, value in about.items() if value is not None},
            "request": dict(request) if request else None,
        },
    )
    hooks = [
        hook for hook in store.all("hooks") if hook.get("event_type") == event_type and hook.get("state") == "active"
    ]
    event["notifications"] = [
        {
            "object": "notification",
            "id": f"ntf_{secrets.token_hex(10)}",
            "event_id": event["id"],
            "hook_id": hook["id"],
            "hook_type": hook.get("hook_type"),
            "state": "skipped",  # the development LoginRocket delivers nothing
            "attempts": 0,
            "created_at": now,
        }
        for hook in hooks
    ]
    return store.save("events", event)
