"""The guarded cache: a cache that fails is an empty cache for a while, logged once, never an error."""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import pytest
import redis
from cachelib import RedisCache, SimpleCache
from helpers import free_port
from redis.backoff import NoBackoff
from redis.retry import Retry

from flask_authrocket.cache import CACHE_RETRY_INTERVAL, GuardedCache


class Backend(SimpleCache):
    """A real in-process cache that can be taken down, like a Redis that stops, and counts the calls it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls = 0

    def _call(self) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("Error 111 connecting to cache:6379. Connection refused.")

    def get(self, key: str) -> Any:
        self._call()
        return super().get(key)

    def set(self, key: str, value: Any, timeout: Any = None) -> bool:
        self._call()
        return bool(super().set(key, value, timeout))

    def delete(self, key: str) -> bool:
        self._call()
        return super().delete(key)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="flask_authrocket")
    return caplog


def logged(logs: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(record.levelname, record.getMessage()) for record in logs.records if record.name == "flask_authrocket"]


def guard(cache: Any, clock: Clock | None = None) -> GuardedCache:
    return GuardedCache(cache, name="The test cache", fallback="answering without it", clock=clock or Clock())


def test_a_working_cache_is_used_as_it_is() -> None:
    backend = SimpleCache()
    guarded = guard(backend)

    assert guarded.set("answer", 42, timeout=60) is True
    assert guarded.get("answer") == 42
    assert backend.get("answer") == 42  # the same cache underneath, not a copy
    assert guarded.delete("answer") is True
    assert guarded.get("answer") is None
    assert guarded.delete("answer") is False  # nothing left to forget
    assert not guarded.failing


def test_a_failing_cache_is_empty_logged_once_and_left_alone_for_the_interval(logs: pytest.LogCaptureFixture) -> None:
    backend, clock = Backend(), Clock()
    guarded = guard(backend, clock)
    guarded.set("answer", 42)
    backend.down = True

    assert guarded.get("answer") is None  # the failure is an empty cache, not an error
    assert guarded.failing
    calls = backend.calls
    clock.now += CACHE_RETRY_INTERVAL - 0.1
    assert guarded.get("answer") is None
    assert guarded.set("answer", 43) is False
    assert guarded.delete("answer") is False
    assert backend.calls == calls  # resting: not even asked

    clock.now += 0.1  # the interval is over: tried again, still down, rests again
    assert guarded.get("answer") is None
    assert backend.calls == calls + 1
    assert guarded.get("answer") is None
    assert backend.calls == calls + 1

    assert logged(logs) == [
        ("WARNING", "The test cache failed (ConnectionError); answering without it for the next 30 s.")
    ]


def test_a_cache_that_answers_again_is_used_again_and_that_is_logged_once(logs: pytest.LogCaptureFixture) -> None:
    backend, clock = Backend(), Clock()
    guarded = guard(backend, clock)
    backend.down = True
    assert guarded.set("answer", 42) is False

    backend.down = False
    clock.now += CACHE_RETRY_INTERVAL
    assert guarded.set("answer", 42) is True
    assert guarded.get("answer") == 42
    assert not guarded.failing

    backend.down = True  # a second outage is reported again
    assert guarded.get("answer") is None

    assert [level for level, _ in logged(logs)] == ["WARNING", "INFO", "WARNING"]
    assert logged(logs)[1] == ("INFO", "The test cache answers again.")


def test_a_refused_redis_is_an_empty_cache_and_its_message_stays_out_of_the_log(
    logs: pytest.LogCaptureFixture,
) -> None:
    client = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    guarded = guard(RedisCache(client))

    assert guarded.set("answer", 42) is False
    assert guarded.get("answer") is None
    client.close()

    assert logged(logs) == [
        ("WARNING", "The test cache failed (ConnectionError); answering without it for the next 30 s.")
    ]


def test_the_settings_and_managed_sessions_load_no_cachelib_until_a_cache_is_built() -> None:
    code = (
        "import sys, flask_authrocket.cache, flask_authrocket.settings, flask_authrocket.managed\n"
        "before = 'cachelib' in sys.modules\n"
        "flask_authrocket.cache.build_cache(None)\n"
        "print(before, 'cachelib' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)

    assert run.stdout.split() == ["False", "True"]
