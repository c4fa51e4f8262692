"""The guarded cache: a cache that fails is an empty cache for a while, logged once, never an error.

A shared cache holds JSON, never pickles: what the extension reads back from
a real redis-server cannot run code, and anything that is not JSON is a miss.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import redis
from cachelib import FileSystemCache, RedisCache, SimpleCache
from devserver import DevApi
from helpers import refused_port, reserved_port, wait_until
from redis.backoff import NoBackoff
from redis.retry import Retry

from flask_authrocket import ConfigurationError
from flask_authrocket.cache import CACHE_RETRY_INTERVAL, GuardedCache, InProcessCache, JsonSerializer, build_cache


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

    def add(self, key: str, value: Any, timeout: Any = None) -> bool:
        self._call()
        return bool(super().add(key, value, timeout))


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RedisServer:
    """A real redis-server on a reserved loopback port, which a test can stop (as in an outage) and start again.

    The port stays reserved until :meth:`close`: while the server is stopped, connections are
    refused and no other program can take the port, so :meth:`start` gets it back.
    """

    def __init__(self, folder: Path) -> None:
        self._reservation = ExitStack()
        self.port = self._reservation.enter_context(reserved_port())
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        # 10 s: a live server answering late on a busy machine is not an outage; a stopped one refuses at once.
        return f"redis://127.0.0.1:{self.port}/0?socket_timeout=10&socket_connect_timeout=10"

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.fail("redis-server is missing: run `make test`, which installs it (apt-get install redis-server).")
        options = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen([server, *options, "--dir", str(self.folder)], stdout=subprocess.DEVNULL)
        wait_until(self._listening, timeout=20)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        """Stop the server and give its port back."""
        try:
            self.stop()
        finally:
            self._reservation.close()

    def client(self) -> redis.Redis:
        """A plain redis-py client: what anyone who can reach this Redis can do with it."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10, retry=Retry(NoBackoff(), 0))

    def _listening(self) -> bool:
        assert self.process is not None and self.process.poll() is None, "redis-server exited"
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server for this test, stopped after it."""
    server = RedisServer(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.close()


class Planted:
    """What an attacker who can write to Redis plants: a pickle that, once unpickled, creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


def planted_pickle(marker: Path) -> bytes:
    """The bytes cachelib's RedisCache would unpickle: ``!`` and a pickle."""
    return b"!" + pickle.dumps(Planted(marker))


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
    with refused_port() as port:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
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


# No pickles in a shared cache ------------------------------------------------------------------


def test_a_shared_cache_stores_json_never_a_pickle(redis_server: RedisServer) -> None:
    cache = build_cache(redis_server.url)
    guarded = guard(cache)

    assert guarded.set("session:kss_1", "ended", timeout=60) is True
    assert guarded.set("api:users", {"id": "usr_ada", "orgs": [1, 2]}, timeout=60) is True

    raw = redis_server.client()
    assert raw.get("flask_authrocket:session:kss_1") == b'"ended"'
    assert raw.get("flask_authrocket:api:users") == b'{"id":"usr_ada","orgs":[1,2]}'
    assert guarded.get("session:kss_1") == "ended"
    assert guarded.get_many("api:users", "session:kss_1", "nothing") == [
        {"id": "usr_ada", "orgs": [1, 2]},
        "ended",
        None,
    ]


def test_a_pickle_planted_in_redis_is_ignored_never_unpickled(
    redis_server: RedisServer, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    marker = tmp_path / "unpickled"
    raw = redis_server.client()
    raw.set("flask_authrocket:session:kss_1", planted_pickle(marker))
    raw.set("flask_authrocket:session:kss_2", planted_pickle(marker))
    guarded = guard(build_cache(redis_server.url))

    assert guarded.get("session:kss_1") is None  # a miss, as if nothing were there
    assert guarded.get_many("session:kss_1", "session:kss_2") == [None, None]
    assert not marker.exists()  # the pickle never ran
    assert not guarded.failing  # a foreign value is not an outage
    assert logged(logs) == [
        (
            "WARNING",
            "A value in the shared cache is not JSON (a pickle, or something written by someone else); "
            "it is ignored, never unpickled.",
        )
    ]  # once, not on every read


def test_a_redis_cache_built_by_the_user_is_read_through_json_and_left_as_it_was(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    marker = tmp_path / "unpickled"
    users_cache = RedisCache(redis_server.client(), key_prefix="myapp:")
    redis_server.client().set("myapp:session:kss_1", planted_pickle(marker))
    guarded = guard(users_cache)

    assert guarded.get("session:kss_1") is None
    assert not marker.exists()
    assert guarded.set("session:kss_2", "known", timeout=60) is True
    assert redis_server.client().get("myapp:session:kss_2") == b'"known"'
    assert not isinstance(users_cache.serializer, JsonSerializer)  # the app's own object, for its own uses, unchanged
    assert guarded.store.prefix == "myapp:"  # its client and prefix, spoken to through redis-py directly


def test_a_file_system_cache_is_json_too(tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    files = FileSystemCache(str(tmp_path / "cache"))
    files.set("session:kss_1", Planted(marker))  # written by someone else with the folder's rights
    assert not marker.exists()
    guarded = guard(files)

    assert guarded.get("session:kss_1") is None
    assert not marker.exists()
    assert guarded.set("session:kss_2", "ended", timeout=60) is True
    assert guarded.get("session:kss_2") == "ended"


def test_a_value_json_cannot_hold_is_not_cached_and_the_cache_stays_in_use(redis_server: RedisServer) -> None:
    guarded = guard(build_cache(redis_server.url))

    assert guarded.set("odd", {1, 2}, timeout=60) is False
    assert not guarded.failing  # the value's fault, not the cache's
    assert guarded.set("fine", [1, 2], timeout=60) is True
    assert redis_server.client().get("flask_authrocket:odd") is None


def test_the_in_process_cache_is_untouched_by_the_json_rule() -> None:
    backend = SimpleCache()
    guarded = guard(backend)

    assert guarded.store.cache is backend  # nobody else writes to it: it keeps any value
    assert guarded.set("odd", {1, 2}) is True
    assert guarded.get("odd") == {1, 2}


def test_the_api_clients_cached_gets_are_json_in_redis_and_a_planted_pickle_is_ignored(
    dev: DevApi, redis_server: RedisServer, tmp_path: Path
) -> None:
    marker = tmp_path / "unpickled"
    raw = redis_server.client()
    with dev.client(cache=build_cache(redis_server.url)) as api:
        first = api.users.find("usr_ada", cache=60)
        keys = raw.keys("flask_authrocket:api:*")
        assert len(keys) == 1
        stored = raw.get(keys[0])
        assert stored is not None and not stored.startswith(b"!")
        assert first.id == "usr_ada" and b'"usr_ada"' in stored

        raw.set(keys[0], planted_pickle(marker))
        dev.reset_stats()
        again = api.users.find("usr_ada", cache=60)

    assert again.id == "usr_ada"
    assert not marker.exists()
    assert dev.count("GET /v2/users/<user_id>") == 1  # the planted value was a miss: the API answered


# The in-process cache ---------------------------------------------------------------------------


def test_the_in_process_cache_keeps_each_entry_for_its_timeout() -> None:
    clock = Clock()
    local = InProcessCache(size=10, clock=clock)
    local.set("known", "known", timeout=300)
    local.set("ended", "ended", timeout=3600)

    clock.now += 299.9
    assert (local.get("known"), local.get("ended")) == ("known", "ended")
    clock.now += 0.1
    assert (local.get("known"), local.get("ended")) == (None, "ended")
    assert local.get("never") is None


def test_the_in_process_cache_is_bounded_and_drops_the_oldest_first() -> None:
    local = InProcessCache(size=3, clock=Clock())
    for number in range(5):
        local.set(f"session:{number}", "known", timeout=60)

    assert [local.get(f"session:{number}") for number in range(5)] == [None, None, "known", "known", "known"]
    assert len(local) == 3


# Probing a cache that is down, and a short-lived lock ------------------------------------------


def test_while_down_one_call_probes_the_cache_each_interval_and_a_cache_that_is_back_is_used_at_once() -> None:
    backend, clock = Backend(), Clock()
    guarded = GuardedCache(
        backend, name="The test cache", fallback="answering without it", retry_interval=1.0, clock=clock
    )
    backend.down = True
    assert guarded.get("answer") is None
    calls = backend.calls

    clock.now += 1.0  # the first call after the interval probes; the ones after it rest
    assert [guarded.get("answer") for _ in range(3)] == [None] * 3
    assert backend.calls == calls + 1
    backend.down = False
    clock.now += 1.0
    assert guarded.set("answer", 42) is True  # back: used from the first call that finds it answering
    assert guarded.get("answer") == 42
    assert not guarded.failing


def test_add_takes_a_key_once_with_an_expiry_in_milliseconds_on_redis(redis_server: RedisServer) -> None:
    guarded = guard(build_cache(redis_server.url))

    # Long enough that no pause of a busy machine lets the key expire between these lines; the
    # half second shows the expiry is not rounded up to whole seconds (EX 101 would read 101000).
    assert guarded.add("session:kss_1:asking", "1", timeout=100.5) is True
    assert guarded.add("session:kss_1:asking", "1", timeout=100.5) is False  # held by the first
    milliseconds = redis_server.client().pttl("flask_authrocket:session:kss_1:asking")
    assert 0 < milliseconds <= 100_500  # one SET NX PX: it expires even if its holder dies
    assert redis_server.client().get("flask_authrocket:session:kss_1:asking") == b'"1"'


def test_add_on_other_caches_and_on_a_failing_one() -> None:
    backend, clock = Backend(), Clock()
    guarded = guard(backend, clock)
    # 60 s: the backend keeps whole seconds of real time, so a short lock could end between two lines.
    assert guarded.add("lock", "1", timeout=60) is True
    assert guarded.add("lock", "1", timeout=60) is False
    backend.down = True
    assert guarded.add("other", "1", timeout=60) is False
    assert guarded.failing


def test_only_the_cache_made_for_an_unset_setting_is_this_process_only() -> None:
    assert guard(build_cache(None)).process_only
    assert not guard(SimpleCache()).process_only  # a cache the app passes may be shared by its apps
    assert not guard(build_cache("redis://127.0.0.1:6399/0")).process_only


@pytest.mark.parametrize(
    "value",
    [
        "memcached://admin:hunter2-secret@127.0.0.1:11211",
        "redis://:hunter2-secret@127.0.0.1:6379/not-a-number",
        "redis://127.0.0.1:6379/not-a-number?password=hunter2-secret",
    ],
)
def test_an_unusable_cache_url_is_named_without_its_password(value: str):
    with pytest.raises(ConfigurationError) as error:
        build_cache(value)

    assert "AUTHROCKET_CACHE" in str(error.value)
    assert "hunter2-secret" not in str(error.value)
