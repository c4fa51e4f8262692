"""Single sign-out through a failover: a logout made while Redis fails over reaches every worker.

Each test builds its own shape (a master, a replica and three sentinels; a cluster of three
masters and three replicas) and kills a master, so they live apart from the shapes the other
topology tests share (tests/test_redis_topologies.py): the suite can run them side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from devserver import SESSION_LOOKUPS, DevApi, new_session
from flask import Flask
from redis_servers import Cluster, SentinelSet, eventually, two_workers_that_know_a_session, visit

AppFactory = Callable[..., Flask]
#: Shorter than the shared shapes' DOWN_AFTER_MS, to keep these tests short; long enough that the
#: steps between a kill and the "it cannot know yet" visit never outlast it, even on a busy machine.
FAILOVER_AFTER_MS = 2000


def test_a_logout_during_a_sentinel_failover_reaches_the_other_worker(
    dev: DevApi, managed_app: AppFactory, tmp_path: Path
) -> None:
    shape = SentinelSet(tmp_path / "sentinels", down_after_ms=FAILOVER_AFTER_MS)
    try:
        first, second, _, token = two_workers_that_know_a_session(dev, managed_app, shape.url)

        shape.master.kill()  # a crash: the sentinels notice within FAILOVER_AFTER_MS, then promote the replica
        assert visit(first, token, "/logout")[0] == 302  # during the failover: "ended" is queued
        assert visit(second, token) == (200, None)  # it cannot know yet: its own answer stands in
        shape.fail_over()  # (the master is dead already) until every sentinel names the replica
        # TTL 300 s: the other worker can see the logout only through the shared cache.
        eventually(lambda: visit(second, token) == (302, "session_ended"), what="the logout to reach the other worker")
    finally:
        shape.stop()


def test_a_logout_during_a_cluster_failover_reaches_the_other_worker(
    dev: DevApi, managed_app: AppFactory, tmp_path: Path
) -> None:
    # The other masters go on serving their slots while one fails over (not the default, where the
    # whole cluster answers CLUSTERDOWN once a master is marked failed).
    shape = Cluster(tmp_path / "cluster", "--cluster-require-full-coverage", "no", node_timeout_ms=FAILOVER_AFTER_MS)
    try:
        first, second, session_id, token = two_workers_that_know_a_session(dev, managed_app, shape.url)
        master = shape.master_of(f"flask_authrocket:session:{{{session_id}}}:ended")

        master.kill()  # the master of this session's slot: its replica takes over within seconds
        assert visit(first, token, "/logout")[0] == 302  # during the failover: "ended" is queued
        assert visit(second, token) == (200, None)  # it cannot know yet: its own answer stands in

        # Meanwhile the other masters serve their sessions as ever: the workers still share answers.
        elsewhere = next(
            token
            for session_id, token in (new_session(dev) for _ in range(50))
            if shape.master_of(f"flask_authrocket:session:{{{session_id}}}:ended") is not master
        )
        dev.reset_stats()
        assert visit(first, elsewhere) == visit(second, elsewhere) == (200, None)
        assert dev.count(SESSION_LOOKUPS) == 1

        shape.fail_over(master)
        eventually(lambda: visit(second, token) == (302, "session_ended"), what="the logout to reach the other worker")
    finally:
        shape.stop()
