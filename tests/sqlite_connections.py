"""Which SQLite connections a test opened and left open, on every Python.

Python 3.13 warns (``ResourceWarning``) when an open ``sqlite3.Connection`` is garbage
collected; under ``filterwarnings = error`` that fails whatever test is running at that moment,
usually the next one. Older Pythons say nothing. :class:`OpenedConnections` counts the
connections themselves, so the test that leaks one fails, by name, on every Python.
"""

from __future__ import annotations

import sqlite3
from typing import Any


class TrackedConnection(sqlite3.Connection):
    """A ``sqlite3.Connection`` that remembers whether it was closed."""

    closed = False

    def close(self) -> None:
        """Close the connection and remember it."""
        self.closed = True
        super().close()


class OpenedConnections:
    """Stands in for ``sqlite3.connect``: every connection it opens is kept for :meth:`still_open`."""

    def __init__(self) -> None:
        self.opened: list[TrackedConnection] = []
        self._connect = sqlite3.connect

    def connect(self, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        """``sqlite3.connect``, with a connection that remembers being closed."""
        if "factory" in kwargs:  # the caller's own class: not tracked
            return self._connect(*args, **kwargs)
        connection = self._connect(*args, factory=TrackedConnection, **kwargs)
        assert isinstance(connection, TrackedConnection)
        self.opened.append(connection)
        return connection

    def still_open(self) -> list[TrackedConnection]:
        """The connections opened and not closed."""
        return [connection for connection in self.opened if not connection.closed]

    def close_all(self) -> None:
        """Close the ones left open, so that a leak is reported once, by the test that made it."""
        for connection in self.still_open():
            connection.close()
