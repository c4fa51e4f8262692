"""What ``flask authrocket check`` runs against ``AUTHROCKET_CACHE``: every operation the extension uses, for real.

Ground floor, no Flask. :func:`probe_cache` writes, reads, reads a session's
keys together, takes a lock and deletes, on throwaway keys shaped as the
extension's own (``check:{<random>}:...``), through the very store the app
uses: on the real topology, with the real user and TLS settings. On Redis it
also writes and reads keys in hash slots spread over the whole slot range,
so a Cluster is used on every one of its masters, and a Cluster reached
through a plain client (which can only use its own node's slots) shows. The
first failure stops it and is explained
(:func:`~flask_authrocket.redis_topology.explain_error`): a certificate that
is not trusted, a command the ACL user may not run, CROSSSLOT, MOVED. ``cli``
only formats what it finds.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .cache import RedisStore, SharedStore
from .redis_topology import CacheError, explain_error

#: How many hash slots, spread over the 16,384 of a Cluster, the probe writes a key in.
SPREAD_SLOTS = 16
_SLOTS = 16384


@dataclass
class CacheProbe:
    """What one :func:`probe_cache` found.

    ``done`` names the operations that worked, in order; ``failed`` the one
    that did not (``None`` when all did) and ``error`` what that means and how
    to fix it. ``advice`` says what in a client the app built can hold a
    request (no ``socket_timeout``: ``check`` fails on it; retries with
    backoff: a warning).
    """

    kind: str
    done: list[str] = field(default_factory=list)
    milliseconds: int = 0
    failed: str | None = None
    error: CacheError | None = None
    advice: list[str] = field(default_factory=list)


class _Wrong(Exception):
    """An operation that answered, but not what it should have."""


def probe_cache(store: SharedStore) -> CacheProbe:
    """Run each operation the extension uses on ``store`` and say what worked and what did not; never raises."""
    result = CacheProbe(store.kind, advice=list(getattr(store, "advice", [])))
    tag = "check-" + secrets.token_hex(6)
    ended, known, asking = (f"check:{{{tag}}}:{name}" for name in ("ended", "known", "asking"))
    record = {"answer": "known", "at": time.time()}
    redis = isinstance(store, RedisStore)

    def named(what: str, command: str) -> str:
        return f"{what} ({command})" if redis else what

    steps: list[tuple[str, Callable[[], None]]] = [
        (named("write with expiry", "SET PX"), lambda: _expect(store.set(known, record, 60), "the write was refused")),
        (named("read", "GET"), lambda: _expect(store.get(known) == record, "the value written was not read back")),
        (
            named("one session's keys read together", "MGET"),
            lambda: _expect(store.get_many(ended, known) == [None, record], "the values read back were wrong"),
        ),
        (named("lock", "SET NX PX"), lambda: _lock(store, asking)),
        (
            named("delete", "DEL"),
            lambda: _expect(store.delete(known) and store.get(known) is None, "the key outlived its deletion"),
        ),
    ]
    if isinstance(store, RedisStore):
        spread = _spread_keys(store.prefix, SPREAD_SLOTS)
        steps.append((f"keys in {SPREAD_SLOTS} hash slots (every master of a Cluster)", lambda: _each(store, spread)))
    started = time.monotonic()
    for name, step in steps:
        try:
            step()
        except _Wrong as wrong:
            result.failed = name
            result.error = CacheError(
                f"{wrong}", "check the cache: is it full, read-only (a replica), or evicting keys at once?"
            )
            break
        except Exception as error:  # each backend raises its own errors
            # Nothing is cleaned up after a failure: a cache that fails may hang each call, and the
            # probe's keys expire within a minute by themselves.
            result.failed, result.error = name, explain_error(error)
            break
        result.done.append(name)
    else:
        with contextlib.suppress(Exception):  # what the steps left: the lock (it expires in 5 s anyway)
            store.delete(asking)
    result.milliseconds = round((time.monotonic() - started) * 1000)
    return result


def _expect(held: bool, otherwise: str) -> None:
    if not held:
        raise _Wrong(otherwise)


def _lock(store: SharedStore, key: str) -> None:
    _expect(store.add(key, "1", 5), "the lock could not be taken")
    _expect(not store.add(key, "1", 5), "the lock was taken twice: SET NX is not honoured")


def _each(store: SharedStore, keys: list[str]) -> None:
    for key in keys:
        _expect(store.set(key, "1", 60) and store.get(key) == "1", "a value written was not read back")
        store.delete(key)


def _spread_keys(prefix: str, count: int) -> list[str]:
    """``count`` probe keys whose hash slots (with ``prefix``) lie in ``count`` equal parts of the slot range."""
    from redis.crc import key_slot

    stem = "check-" + secrets.token_hex(4)
    keys: list[str] = []
    number = 0
    for part in range(count):
        low, high = part * _SLOTS // count, (part + 1) * _SLOTS // count
        while True:
            number += 1
            key = f"check:{{{stem}-{number}}}:slot"
            if low <= key_slot((prefix + key).encode()) < high:
                keys.append(key)
                break
    return keys
