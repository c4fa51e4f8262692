"""Single sign-out on every shape of Redis a host offers, by URL and by client object, and through failovers.

Real servers on 127.0.0.1 (tests/redis_servers.py): one redis-server, one over TLS with a CA
made here, one with an ACL user limited to the commands docs/deployment.md lists, a master
with a replica and three sentinels, a cluster of three masters and three replicas. Two apps
on one ``AUTHROCKET_CACHE`` stand for two workers: each builds its own client, as a worker
does. A topology is started once per module; the failover tests break their own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from cachelib import RedisCache
from click.testing import Result
from devserver import SESSION_LOOKUPS, DevApi, new_session
from flask import Flask
from helpers import HS_SECRET
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel
from redis_servers import (
    ACL_PASSWORD,
    HOST,
    SERVICE,
    Cluster,
    RedisProcess,
    SentinelSet,
    TlsFiles,
    acl_user,
    standalone,
    tls_server,
    visit,
)

from flask_authrocket.cache import RedisStore, build_cache
from flask_authrocket.redis_topology import ACL_CLUSTER_RULES, ACL_RULES, SOCKET_TIMEOUT

AppFactory = Callable[..., Flask]
#: Bounded waits for the clients the tests build themselves: long enough that a live server answering
#: late on a busy machine is not an outage; a stopped one refuses connections at once.
BOUNDED: dict[str, Any] = {"socket_timeout": 10, "socket_connect_timeout": 10, "retry": Retry(NoBackoff(), 0)}


# -- the servers, once per module ------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("redis")


@pytest.fixture(scope="module")
def plain(folder: Path) -> Iterator[RedisProcess]:
    """One redis-server, also listening on a Unix socket (``folder/redis.sock``)."""
    with standalone(folder / "plain", "--unixsocket", str(folder / "redis.sock"), "--unixsocketperm", "700") as server:
        yield server


@pytest.fixture(scope="module")
def tls(folder: Path) -> Iterator[tuple[RedisProcess, TlsFiles]]:
    with tls_server(folder / "tls") as server:
        yield server


@pytest.fixture(scope="module")
def acl(folder: Path) -> Iterator[RedisProcess]:
    """A redis-server whose user ``authrocket`` may run exactly what docs/deployment.md lists."""
    with standalone(folder / "acl", *acl_user(ACL_RULES)) as server:
        yield server


@pytest.fixture(scope="module")
def sentinels(folder: Path) -> Iterator[SentinelSet]:
    shape = SentinelSet(folder / "sentinels")
    try:
        yield shape
    finally:
        shape.stop()


@pytest.fixture(scope="module")
def cluster(folder: Path) -> Iterator[Cluster]:
    """Three masters and three replicas; each node also has the user ``authrocket`` of the documented ACL."""
    shape = Cluster(folder / "cluster", *acl_user(ACL_CLUSTER_RULES))
    try:
        yield shape
    finally:
        shape.stop()


# -- two workers on one cache ------------------------------------------------------------------------


def check(make_app: AppFactory, cache: Any) -> Result:
    """``flask authrocket check`` on an app whose ``AUTHROCKET_CACHE`` is ``cache``."""
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_CACHE=cache)
    return app.test_cli_runner().invoke(args=["authrocket", "check"])


def single_sign_out_holds(dev: DevApi, first: Flask, second: Flask) -> None:
    """The API is asked once for both workers; a logout through the first logs the second out at once."""
    _, token = new_session(dev)
    dev.reset_stats()

    assert visit(first, token) == (200, None)
    assert visit(second, token) == (200, None)
    assert dev.count(SESSION_LOOKUPS) == 1  # the second worker read the first's answer from this Redis

    assert visit(first, token, "/logout")[0] == 302
    assert visit(second, token) == (302, "session_ended")
    assert dev.count(SESSION_LOOKUPS) == 1  # "ended" came from this Redis, at once


# -- every spelling of the URL --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("redis://127.0.0.1:6399/3", "Redis"),
        ("rediss://cache.internal:6380/0?ssl_ca_certs=/etc/ca.pem&ssl_cert_reqs=required", "Redis"),
        ("unix:///run/redis.sock?db=2", "Redis"),
        ("redis+unix:///run/redis.sock", "Redis"),
        ("valkey://:secret@cache.internal:6379/0", "Redis"),
        ("valkeys://cache.internal:6380?ssl_ca_certs=/etc/ca.pem", "Redis"),
        ("valkey+unix:///run/valkey.sock", "Redis"),
        ("redis+sentinel://user:secret@s1:26379,s2:26380,s3/mymaster", "Sentinel"),
        ("valkey+sentinel://s1:26379/mymaster?db=1", "Sentinel"),
        ("redis+cluster://user:secret@n1:7000,n2:7001", "RedisCluster"),
        ("valkey+cluster://n1:7000?ssl=true&ssl_ca_certs=/etc/ca.pem", "RedisCluster"),
    ],
)
def test_every_spelling_of_flask_limiters_urls_is_accepted_and_nothing_connects_at_init(
    make_app: AppFactory, url: str, kind: str
) -> None:
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_CACHE=url)  # no server anywhere: nothing connects yet

    with app.app_context():
        store = app.extensions["authrocket"].settings.cache
    assert isinstance(store, RedisStore)
    assert store.kind == kind


@pytest.mark.parametrize(
    "url",
    [
        "memcached://admin:hunter2-secret@127.0.0.1:11211",
        "redis://:hunter2-secret@127.0.0.1:notaport/0",
        "redis://127.0.0.1:6379/not-a-number?password=hunter2-secret",
        "redis://:hunter2-secret@127.0.0.1/0?ssl_ca_certs=/etc/ca.pem",  # a TLS option without TLS
        "redis://:hunter2-secret@127.0.0.1/0?socket_timeout=0",  # a wait without end
        "redis://:hunter2-secret@127.0.0.1/0?socket_timeout=nan",
        "redis://:hunter2-secret@127.0.0.1/0?no_such_option=1",
        "redis+sentinel://:hunter2-secret@127.0.0.1:26379",  # no service
        "redis+sentinel://:hunter2-secret@127.0.0.1:26379/a/b",
        "redis+cluster://:hunter2-secret@127.0.0.1:7000/0",  # a cluster has no database
        "redis+cluster://:hunter2-secret@127.0.0.1:7000?db=2",
        "redis+cluster://:hunter2-secret@,127.0.0.1:7000",  # an empty host
        "redis+cluster://:hunter2-secret@127.0.0.1:7000?ssl=maybe",
        "rediss://:hunter2-secret@127.0.0.1:6380?ssl_cert_reqs=none&%00=1",
        "redis://:hunter2-secret@" + "h" * 5000 + ":6379",
        "",
        "redis",
    ],
)
def test_an_unusable_url_is_a_configuration_error_naming_the_setting_without_its_password(
    make_app: AppFactory, url: str
) -> None:
    from flask_authrocket import ConfigurationError

    with pytest.raises(ConfigurationError) as error:
        make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_CACHE=url)

    assert "AUTHROCKET_CACHE" in str(error.value)
    assert "hunter2-secret" not in str(error.value)


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6399/0",
        "rediss://127.0.0.1:6399/0?ssl_ca_certs=/etc/ca.pem",
        "unix:///run/redis.sock",
        "redis+sentinel://127.0.0.1:26379/mymaster",
    ],
)
def test_a_client_built_from_a_url_waits_briefly_and_never_retries_with_backoff(url: str) -> None:
    store = build_cache(url)
    assert isinstance(store, RedisStore)

    kwargs = store.client.connection_pool.connection_kwargs
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (SOCKET_TIMEOUT, SOCKET_TIMEOUT)
    assert kwargs["retry"].get_retries() == 0


def test_a_clusters_client_built_from_a_url_waits_briefly_too(cluster: Cluster) -> None:
    store = build_cache(cluster.url.split("?")[0])
    assert isinstance(store, RedisStore)

    kwargs = store.client.nodes_manager.connection_kwargs
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (SOCKET_TIMEOUT, SOCKET_TIMEOUT)
    assert store.client.retry.get_retries() == 1  # at once, after the topology refresh a dead node causes


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.NoPermissionError("this user has no permissions to run the 'mget\x1b[2J' command"),
        redis.exceptions.ConnectionError(
            "Error 1 connecting to h:1. [SSL: CERTIFICATE_VERIFY_FAILED] certificate "
            "verify failed: bad\x1b]0;owned\x07 chain (_ssl.c:1006)."
        ),
        redis.exceptions.ResponseError("WRONGPASS invalid username-password pair or user is disabled. hunter2-secret"),
        redis.exceptions.ConnectionError("Error 111 connecting to redis://:hunter2-secret@10.0.0.1:6379."),
    ],
)
def test_what_a_server_says_reaches_a_log_line_only_as_a_known_phrase(error: Exception) -> None:
    from flask_authrocket.redis_topology import explain_error

    explained = explain_error(error)

    for text in (explained.short, explained.fix):
        assert text.isprintable()
        assert "hunter2-secret" not in text and "\x1b" not in text and "owned" not in text


# -- one server: by URL, by Unix socket, by object -------------------------------------------------


@pytest.mark.parametrize("form", ["redis://", "valkey://", "unix://", "redis+unix://", "Redis", "RedisCache"])
def test_single_sign_out_on_one_server(
    dev: DevApi, managed_app: AppFactory, plain: RedisProcess, folder: Path, form: str
) -> None:
    def cache() -> Any:
        return {
            "redis://": f"redis://{HOST}:{plain.port}/0",
            "valkey://": f"valkey://{HOST}:{plain.port}/0",
            "unix://": f"unix://{folder / 'redis.sock'}",
            "redis+unix://": f"redis+unix://{folder / 'redis.sock'}",
            "Redis": lambda: redis.Redis(host=HOST, port=plain.port, **BOUNDED),
            "RedisCache": lambda: RedisCache(redis.Redis(host=HOST, port=plain.port, **BOUNDED)),
        }[form]

    made = cache()
    single_sign_out_holds(
        dev,
        managed_app(AUTHROCKET_CACHE=made() if callable(made) else made),
        managed_app(AUTHROCKET_CACHE=made() if callable(made) else made),
    )


# -- TLS -------------------------------------------------------------------------------------------


def test_single_sign_out_over_tls_with_the_ca_in_the_url(
    dev: DevApi, managed_app: AppFactory, tls: tuple[RedisProcess, TlsFiles]
) -> None:
    server, files = tls
    url = f"rediss://{HOST}:{server.port}/0?ssl_ca_certs={files.ca}&ssl_cert_reqs=required"

    single_sign_out_holds(dev, managed_app(AUTHROCKET_CACHE=url), managed_app(AUTHROCKET_CACHE=url))


def test_single_sign_out_over_tls_with_a_client_object(
    dev: DevApi, managed_app: AppFactory, tls: tuple[RedisProcess, TlsFiles]
) -> None:
    server, files = tls

    def client() -> redis.Redis:
        return redis.Redis(host=HOST, port=server.port, ssl=True, ssl_ca_certs=str(files.ca), **BOUNDED)

    single_sign_out_holds(dev, managed_app(AUTHROCKET_CACHE=client()), managed_app(AUTHROCKET_CACHE=client()))


@pytest.mark.parametrize("ca", ["none given", "another CA"])
def test_a_certificate_this_app_does_not_trust_is_named_in_the_log_with_its_fix(
    dev: DevApi,
    managed_app: AppFactory,
    tls: tuple[RedisProcess, TlsFiles],
    caplog: pytest.LogCaptureFixture,
    ca: str,
) -> None:
    server, files = tls
    url = f"rediss://{HOST}:{server.port}/0" + ("" if ca == "none given" else f"?ssl_ca_certs={files.other_ca}")
    app = managed_app(AUTHROCKET_CACHE=url)
    _, token = new_session(dev)

    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        assert visit(app, token) == (200, None)  # the cache steps aside; the session is checked all the same

    warnings = [record.getMessage() for record in caplog.records if record.name == "flask_authrocket"]
    assert len(warnings) == 1
    assert warnings[0].startswith("Managed sessions: AUTHROCKET_CACHE failed (certificate verify failed")
    assert "set ssl_ca_certs" in warnings[0]


def test_check_fails_on_a_certificate_it_does_not_trust_and_says_to_set_ssl_ca_certs(
    make_app: AppFactory, tls: tuple[RedisProcess, TlsFiles]
) -> None:
    server, files = tls

    result = check(make_app, f"rediss://{HOST}:{server.port}/0")

    assert result.exit_code == 1
    assert "FAIL  AUTHROCKET_CACHE (Redis) failed at write with expiry (SET PX): certificate verify failed" in (
        result.output
    )
    assert "Fix: set ssl_ca_certs=/path/to/ca.pem in the rediss:// URL" in result.output

    fine = check(make_app, f"rediss://{HOST}:{server.port}/0?ssl_ca_certs={files.ca}")
    assert "OK    AUTHROCKET_CACHE (Redis) answered every operation the extension uses" in fine.output


# -- an ACL user limited to the documented commands ----------------------------------------------------


def test_single_sign_out_with_an_acl_user_limited_to_the_documented_commands(
    dev: DevApi, managed_app: AppFactory, acl: RedisProcess
) -> None:
    url = f"redis://authrocket:{ACL_PASSWORD}@{HOST}:{acl.port}/0"

    single_sign_out_holds(dev, managed_app(AUTHROCKET_CACHE=url), managed_app(AUTHROCKET_CACHE=url))
    # The API client's cached GETs live under the same prefix, with the same commands.
    with dev.client(cache=build_cache(url)) as api:
        assert api.users.find("usr_ada", cache=60).id == api.users.find("usr_ada", cache=60).id == "usr_ada"


def test_check_passes_with_the_documented_acl_and_names_a_command_the_acl_refuses(
    make_app: AppFactory, acl: RedisProcess, folder: Path
) -> None:
    fine = check(make_app, f"redis://authrocket:{ACL_PASSWORD}@{HOST}:{acl.port}/0")
    assert "OK    AUTHROCKET_CACHE (Redis) answered every operation" in fine.output

    with standalone(folder / "acl-without-mget", *acl_user(ACL_RULES.replace(" +mget", ""))) as server:
        result = check(make_app, f"redis://authrocket:{ACL_PASSWORD}@{HOST}:{server.port}/0")

    assert result.exit_code == 1
    assert (
        "FAIL  AUTHROCKET_CACHE (Redis) failed at one session's keys read together (MGET): NOPERM: the ACL user "
        "may not run MGET." in result.output
    )
    assert f"Fix: grant the Redis ACL user the extension's commands and keys: ACL SETUSER <user> {ACL_RULES} " in (
        result.output
    )
    assert ACL_PASSWORD not in result.output


# -- sentinels ----------------------------------------------------------------------------------------


def test_single_sign_out_through_sentinels_by_url(dev: DevApi, managed_app: AppFactory, sentinels: SentinelSet) -> None:
    single_sign_out_holds(dev, managed_app(AUTHROCKET_CACHE=sentinels.url), managed_app(AUTHROCKET_CACHE=sentinels.url))


def test_single_sign_out_through_a_sentinels_master_for_client(
    dev: DevApi, managed_app: AppFactory, sentinels: SentinelSet
) -> None:
    def client() -> redis.Redis:
        watching = Sentinel([(HOST, each.port) for each in sentinels.sentinels], **BOUNDED)
        return watching.master_for(SERVICE, **BOUNDED)

    single_sign_out_holds(dev, managed_app(AUTHROCKET_CACHE=client()), managed_app(AUTHROCKET_CACHE=client()))


# -- a cluster -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["redis+cluster://", "valkey+cluster://", "RedisCluster", "RedisCache"])
def test_single_sign_out_on_a_cluster(dev: DevApi, managed_app: AppFactory, cluster: Cluster, form: str) -> None:
    nodes = [ClusterNode(HOST, node.port) for node in cluster.nodes[:2]]

    def cache() -> Any:
        if form.endswith("://"):
            return cluster.url.replace("redis+cluster://", form)
        client = RedisCluster(startup_nodes=nodes, socket_timeout=10, socket_connect_timeout=10)
        return client if form == "RedisCluster" else RedisCache(client)

    single_sign_out_holds(dev, managed_app(AUTHROCKET_CACHE=cache()), managed_app(AUTHROCKET_CACHE=cache()))


def test_single_sign_out_on_a_cluster_with_an_acl_user_limited_to_the_documented_commands(
    dev: DevApi, managed_app: AppFactory, cluster: Cluster
) -> None:
    url = cluster.url.replace("redis+cluster://", f"redis+cluster://authrocket:{ACL_PASSWORD}@")

    single_sign_out_holds(dev, managed_app(AUTHROCKET_CACHE=url), managed_app(AUTHROCKET_CACHE=url))


def test_check_uses_every_master_of_a_cluster(make_app: AppFactory, cluster: Cluster) -> None:
    # Another test of the module may have left probe keys on the shared cluster (a check that fails
    # midway leaves its keys to expire): only what this check leaves counts.
    before = probe_keys(cluster)

    result = check(make_app, cluster.url)

    assert result.exit_code == 0, result.output
    assert re.search(
        r"OK    AUTHROCKET_CACHE \(RedisCluster\) answered every operation the extension uses in \d+ ms: .*"
        r"one session's keys read together \(MGET\), .*keys in 16 hash slots \(every master of a Cluster\)\.",
        result.output,
    )
    assert probe_keys(cluster) - before == set()


def probe_keys(cluster: Cluster) -> set[tuple[int, bytes]]:
    """The keys of an unprefixed ``flask authrocket check`` probe on each master of ``cluster``, by port.

    Masters only: a replica may still be replaying another test's writes or this check's deletes.
    """
    found = set()
    for node in cluster.alive():
        client = redis.Redis(host=HOST, port=node.port, **BOUNDED)
        if client.info("replication")["role"] == "master":
            found |= {(node.port, key) for pattern in ("check:*", "check-*") for key in client.keys(pattern)}
    return found


def test_check_fails_on_a_cluster_reached_through_a_plain_client(make_app: AppFactory, cluster: Cluster) -> None:
    result = check(make_app, f"redis://{HOST}:{cluster.nodes[0].port}/0")

    assert result.exit_code == 1
    assert "MOVED: this Redis is a node of a Cluster, reached through a client that is not a cluster client" in (
        result.output
    )
    assert "Fix: use redis+cluster://host:port[,host:port...] in AUTHROCKET_CACHE" in result.output


def test_check_fails_on_crossslot_when_a_key_prefix_breaks_the_hash_tags(
    make_app: AppFactory, cluster: Cluster
) -> None:
    # "{}" is an empty hash tag: Redis then hashes each whole key, and one session's keys land in two slots.
    client = RedisCluster(startup_nodes=[ClusterNode(HOST, cluster.nodes[0].port)], socket_timeout=10)

    result = check(make_app, RedisCache(client, key_prefix="{}myapp:"))

    assert result.exit_code == 1
    assert (
        "FAIL  AUTHROCKET_CACHE (RedisCluster) failed at one session's keys read together (MGET): CROSSSLOT: the keys "
        "of one command are in two hash slots." in result.output
    )
    assert "a key prefix of your own must not contain { or }" in result.output


# -- a client passed in without a socket timeout (issue 21, item 6) -------------------------------------------


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_client_without_socket_timeout_is_warned_about_at_init_app_and_fails_check(
    make_app: AppFactory, plain: RedisProcess, caplog: pytest.LogCaptureFixture, wrapped: bool
) -> None:
    client = redis.Redis(host=HOST, port=plain.port, socket_timeout=None, retry=Retry(NoBackoff(), 0))
    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        result = check(make_app, RedisCache(client) if wrapped else client)

    warnings = [record.getMessage() for record in caplog.records if record.name == "flask_authrocket"]
    assert len(warnings) == 1  # at init_app
    assert warnings[0].startswith("AUTHROCKET_CACHE is a redis-py client without socket_timeout: a Redis that stops")
    assert result.exit_code == 1
    assert "FAIL  AUTHROCKET_CACHE is a redis-py client without socket_timeout" in result.output
    assert check(make_app, redis.Redis(host=HOST, port=plain.port, **BOUNDED)).exit_code == 0


# -- failovers: a logout made while the master is down reaches every worker once it is back -------------------
