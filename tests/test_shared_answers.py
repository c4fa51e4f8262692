"""What managed sessions keep in a shared Redis: answers each app reads by its own settings, keys a Cluster can serve,
and logouts that survive an outage of the cache.

A real redis-server for the module, the development LoginRocket's API, and session checks on a
clock the test moves (answers are dated by it; Redis's own expiries run on real time and are
far longer than any test).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cachelib import SimpleCache
from devserver import DevApi
from helpers import Clock, wait_until
from redis.crc import key_slot
from redis_servers import HOST, RedisProcess, admin, eventually, standalone

from flask_authrocket.cache import GuardedCache, build_cache
from flask_authrocket.issuer import login_claims
from flask_authrocket.managed import SessionCheck, SessionState, session_keys
from flask_authrocket.models import Session, session_from_claims
from flask_authrocket.tokens import TokenVerifier

SESSION_LOOKUPS = "GET /v2/sessions/<session_ref>"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisProcess]:
    with standalone(tmp_path_factory.mktemp("redis")) as running:
        yield running


@pytest.fixture
def url(server: RedisProcess) -> str:
    admin(server.port).flushdb()  # one server for the module: each test starts from an empty one
    # A live server: 10 s, so a busy machine is not an outage; a stopped one refuses connections at
    # once anyway.
    return f"redis://{HOST}:{server.port}/0?socket_timeout=10&socket_connect_timeout=10"


def session_of(dev: DevApi) -> Session:
    """A verified session of a new login at the development LoginRocket."""
    with dev.client() as api:
        token = api.sessions.create(user_id="usr_ada").token
    pem = dev.app.extensions["dev_loginrocket"].issuer.public_key_pem()
    session = TokenVerifier(jwt_key=pem).verify(token or "")
    assert isinstance(session, Session), session
    return session


def check(dev: DevApi, cache: Any, clock: Clock, **options: Any) -> SessionCheck:
    """A session check as one app (or worker) has it: its own API client, the shared cache, its settings."""
    return SessionCheck(dev.client(retries=0).sessions, cache, clock=clock, timeout=10, **options)


def end_in_the_api(dev: DevApi, session: Session) -> None:
    """A logout somewhere else in the realm: through the API, not through these apps."""
    with dev.client() as api:
        api.sessions.delete(session.id or "")


# -- each app applies its own settings to the answers it shares ------------------------------------


def test_an_app_with_a_short_ttl_never_inherits_the_long_ttl_of_the_app_that_asked(dev: DevApi, url: str) -> None:
    clock = Clock()
    lenient = check(dev, build_cache(url), clock, ttl=300)
    strict = check(dev, build_cache(url), clock, ttl=1, failure="closed")
    session = session_of(dev)
    assert lenient.state(session) == SessionState.KNOWN  # asked the API; the answer is shared

    end_in_the_api(dev, session)
    clock.advance(2)

    assert strict.state(session) == SessionState.ENDED  # the answer is 2 s old: past its own TTL, it asks
    assert lenient.state(session) == SessionState.ENDED  # and "ended" is shared: it wins over "known"


def test_an_app_with_a_long_ttl_uses_an_answer_a_short_ttl_app_fetched(dev: DevApi, url: str) -> None:
    clock = Clock()
    strict = check(dev, build_cache(url), clock, ttl=1)
    lenient = check(dev, build_cache(url), clock, ttl=300)
    session = session_of(dev)
    dev.reset_stats()
    assert strict.state(session) == SessionState.KNOWN

    clock.advance(100)  # long past the TTL of the app that asked, well within this one's

    assert lenient.state(session) == SessionState.KNOWN
    assert dev.count(SESSION_LOOKUPS) == 1


# -- AUTHROCKET_SESSION_CHECK_LOCAL_TTL: a worker's own copy of a fresh answer ------------------------


def shared_reads_from_now(server: RedisProcess) -> Callable[[], int]:
    """The MGETs the server answers from now on (each is a request that read the shared cache)."""
    client = admin(server.port)
    client.config_resetstat()
    return lambda: int(client.info("commandstats").get("cmdstat_mget", {}).get("calls", 0))


def test_by_default_every_request_reads_the_shared_cache_so_another_workers_logout_counts_at_once(
    dev: DevApi, url: str, server: RedisProcess
) -> None:
    clock = Clock()
    first, second = check(dev, build_cache(url), clock, ttl=300), check(dev, build_cache(url), clock, ttl=300)
    session = session_of(dev)
    assert second.state(session) == SessionState.KNOWN
    reads = shared_reads_from_now(server)

    assert [second.state(session) for _ in range(3)] == [SessionState.KNOWN] * 3
    assert reads() == 3
    first.end(session)
    assert second.state(session) == SessionState.ENDED  # no time passed


def test_with_a_local_ttl_a_worker_reads_the_shared_cache_once_per_local_ttl_and_sees_a_logout_within_it(
    dev: DevApi, url: str, server: RedisProcess
) -> None:
    clock = Clock()
    first = check(dev, build_cache(url), clock, ttl=300, local_ttl=2)
    second = check(dev, build_cache(url), clock, ttl=300, local_ttl=2)
    session = session_of(dev)
    assert first.state(session) == SessionState.KNOWN  # asked the API; the answer is shared
    reads = shared_reads_from_now(server)

    assert [second.state(session) for _ in range(5)] == [SessionState.KNOWN] * 5
    assert reads() == 1  # the first read it; the others trusted this worker's copy

    first.end(session)
    assert first.state(session) == SessionState.ENDED  # the worker that logged out knows at once
    clock.advance(1)
    assert second.state(session) == SessionState.KNOWN  # within the local TTL: not yet
    clock.advance(1.5)
    assert second.state(session) == SessionState.ENDED  # past it: the shared cache's "ended" wins


def test_a_local_ttl_never_stretches_an_answer_past_its_own_ttl(dev: DevApi, url: str) -> None:
    clock = Clock()
    asker = check(dev, build_cache(url), clock, ttl=5)
    reader = check(dev, build_cache(url), clock, ttl=5, local_ttl=60)
    session = session_of(dev)
    assert asker.state(session) == SessionState.KNOWN
    clock.advance(4)
    assert reader.state(session) == SessionState.KNOWN  # the shared answer is 4 s old: 1 s left
    end_in_the_api(dev, session)
    dev.reset_stats()

    clock.advance(2)

    assert reader.state(session) == SessionState.ENDED  # asked the API again, not kept for 60 s
    assert dev.count(SESSION_LOOKUPS) == 1


@pytest.mark.parametrize("value", [-1, float("nan")])
def test_a_local_ttl_below_zero_or_not_a_number_is_refused(dev: DevApi, value: float) -> None:
    with pytest.raises(ValueError, match="local_ttl"):
        check(dev, SimpleCache(), Clock(), ttl=300, local_ttl=value)


def test_each_app_applies_its_own_grace_period_and_failure_mode_when_the_api_cannot_answer(
    dev: DevApi, url: str, refused_url: str
) -> None:
    clock = Clock()
    asker = check(dev, build_cache(url), clock, ttl=10)
    session = session_of(dev)
    assert asker.state(session) == SessionState.KNOWN
    patient = check(dev, build_cache(url), clock, ttl=10, grace=600, failure="closed")
    wary = check(dev, build_cache(url), clock, ttl=10, grace=10, failure="closed")
    for each in (patient, wary):
        each.sessions = dev.client(url=refused_url + "v2", retries=0).sessions  # the API stops answering

    clock.advance(60)

    assert patient.state(session) == SessionState.KNOWN  # confirmed alive 60 s ago: within its grace period
    assert wary.state(session) == SessionState.UNAVAILABLE  # not within its own: "closed" decides


def test_an_answer_dated_in_the_future_is_fresh_unless_it_is_more_than_a_ttl_ahead(dev: DevApi, url: str) -> None:
    clock = Clock()
    reader = check(dev, build_cache(url), clock, ttl=30)
    session = session_of(dev)
    keys = session_keys(session)
    raw = admin(int(url.split(":")[2].split("/")[0]))
    dev.reset_stats()

    # Written by a host whose clock runs 2 s fast: counted as just asked.
    raw.set("flask_authrocket:" + keys.known, json.dumps({"answer": "known", "at": clock() + 2}))
    assert reader.state(session) == SessionState.KNOWN
    assert dev.count(SESSION_LOOKUPS) == 0

    # A day ahead (a broken clock, or someone who can write to Redis): no answer, the API is asked.
    raw.set("flask_authrocket:" + keys.known, json.dumps({"answer": "known", "at": clock() + 86_400}))
    assert reader.state(session) == SessionState.KNOWN
    assert dev.count(SESSION_LOOKUPS) == 1


@pytest.mark.parametrize(
    "value",
    [
        b'"known"',  # the layout of earlier versions
        b'{"answer": "known"}',
        b'{"answer": "known", "at": "soon"}',
        b'{"answer": "known", "at": true}',
        b'{"answer": "known", "at": 1e999}',
        b'{"answer": "alive", "at": 0}',
        b"[1, 2]",
        b"\xff\xfe",
    ],
)
def test_a_value_that_is_not_an_answer_of_ours_is_a_miss(dev: DevApi, url: str, value: bytes) -> None:
    reader = check(dev, build_cache(url), Clock(), ttl=30)
    session = session_of(dev)
    keys = session_keys(session)
    raw = admin(int(url.split(":")[2].split("/")[0]))
    raw.set("flask_authrocket:" + keys.known, value)
    raw.set("flask_authrocket:" + keys.ended, value)
    end_in_the_api(dev, session)
    dev.reset_stats()

    assert reader.state(session) == SessionState.ENDED  # nothing planted revives it: the API was asked
    assert dev.count(SESSION_LOOKUPS) == 1


# -- keys a Cluster can serve ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("session_id", "readable"),
    [
        ("kss_0vKhXCrhd5Gp4wXY7h2aaz", True),
        ("kss_with}brace", False),
        ("}", False),
        ("{}", False),
        ("kss with space", False),
        ("kss_\x1b[2J", False),
        ("k" * 500, False),
        (None, False),  # a token without a session id
    ],
)
def test_every_key_of_a_session_is_in_one_hash_slot_and_names_the_session_when_it_can(
    session_id: str | None, readable: bool
) -> None:
    claims = login_claims({"id": "usr_ada"}, session_id=session_id)
    session = session_from_claims(claims, token="header.payload.signature")

    keys = session_keys(session)

    assert len({key_slot(("flask_authrocket:" + key).encode()) for key in keys}) == 1
    assert [key.rsplit(":", 1)[1] for key in keys] == ["ended", "known", "asking"]
    if readable:
        assert keys.ended == f"session:{{{session_id}}}:ended"
    else:
        assert all(key.isprintable() and " " not in key and len(key) < 120 for key in keys)
        assert "header.payload.signature" not in "".join(keys)  # never the token itself


# -- nothing lost in an outage ------------------------------------------------------------------------


def test_a_logout_while_redis_is_down_reaches_the_other_worker_once_it_is_back(
    dev: DevApi, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    with standalone(tmp_path / "redis") as redis_server:
        url = f"redis://{HOST}:{redis_server.port}/0?socket_timeout=10&socket_connect_timeout=10"
        first, second = check(dev, build_cache(url), clock, ttl=300), check(dev, build_cache(url), clock, ttl=300)
        session = session_of(dev)
        assert second.state(session) == SessionState.KNOWN  # it asked the API: it keeps the answer too
        assert first.state(session) == SessionState.KNOWN  # from the shared cache

        redis_server.stop()
        with caplog.at_level(logging.INFO, logger="flask_authrocket"):
            first.end(session)  # the shared cache cannot take "ended": it waits in the queue
            assert second.state(session) == SessionState.KNOWN  # its own answer stands in meanwhile
            redis_server.start()  # back, on its port, empty
            clock.advance(1)  # the next probe of each worker

            eventually(lambda: second.state(session) == SessionState.ENDED, timeout=30, what="the queued logout")
        assert first.state(session) == SessionState.ENDED

    assert "Managed sessions: AUTHROCKET_CACHE: 1 write(s) made during its outage written now." in caplog.messages


def test_the_queue_of_writes_is_bounded_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    class Down(SimpleCache):
        def set(self, *args: Any, **kwargs: Any) -> bool:
            raise ConnectionError("down")

    clock = Clock()
    guarded = GuardedCache(Down(), name="The test cache", fallback="without it", clock=clock, queue_size=3)

    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        for number in range(5):
            assert guarded.set(f"ended:{number}", "ended", timeout=60, queue=True) is False

    assert guarded.queued == 3  # the two oldest were dropped
    dropped = [message for message in caplog.messages if "writes wait for it to answer" in message]
    assert dropped == [
        "The test cache: more than 3 writes wait for it to answer; the oldest are dropped (their logouts reach "
        "the other workers only when their cached answers expire)."
    ]


def test_a_queued_write_whose_time_ran_out_is_dropped_unwritten(tmp_path: Path) -> None:
    clock = Clock()
    with standalone(tmp_path / "redis") as redis_server:
        url = f"redis://{HOST}:{redis_server.port}/0?socket_timeout=10&socket_connect_timeout=10"
        guarded = GuardedCache(build_cache(url), name="The test cache", fallback="without it", clock=clock)
        redis_server.stop()
        assert guarded.set("late", "ended", timeout=5, queue=True) is False
        assert guarded.set("soon", "ended", timeout=60, queue=True) is False
        redis_server.start()
        clock.advance(30)  # the retry interval, and more than the first write's time

        assert guarded.flush() == 1
        raw = admin(redis_server.port)
        assert raw.get("flask_authrocket:late") is None
        assert raw.get("flask_authrocket:soon") == b'"ended"'
        assert 0 < raw.pttl("flask_authrocket:soon") <= 30_000  # what was left of its time, not all of it


def test_a_silent_redis_holds_no_request_when_the_url_bounds_its_waits(
    dev: DevApi, make_app: Any, request: pytest.FixtureRequest
) -> None:
    from test_client import RawServer

    silent = RawServer()  # accepts connections and never answers, like a Redis that hangs
    port = int(silent.url.split(":")[2].split("/")[0])
    request.addfinalizer(silent.close)
    app = make_app(
        LOGINROCKET_URL=dev.root,
        AUTHROCKET_URL=dev.url,
        AUTHROCKET_API_KEY=dev.api_key,
        AUTHROCKET_MANAGED_SESSIONS=True,
        AUTHROCKET_CACHE=f"redis://{HOST}:{port}/0?socket_timeout=0.25&socket_connect_timeout=0.25",
    )
    with app.app_context():  # the cache is tried again after a rest of real time: none passes here
        app.extensions["authrocket"].session_check._shared._clock = Clock(time.monotonic())
    session = session_of(dev)
    client = app.test_client()
    client.set_cookie("arToken", session.token)

    pages = [client.get("/private").status_code for _ in range(3)]
    wait_until(lambda: silent.connections >= 1, timeout=30)  # counted by the server's own thread

    assert pages == [200, 200, 200]
    assert silent.connections == 1  # one wait of 0.25 s, then the cache is left alone
