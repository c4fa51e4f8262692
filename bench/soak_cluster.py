"""``make soak``'s cluster scenario (issue 20): managed sessions on a Redis Cluster while one of its masters dies.

gunicorn with 2 workers of 4 threads (gthread) serving ``bench/soak_app.py``,
16 client threads sending the Bearer tokens of 40 users, managed sessions with
TTL 2 s and failure mode "open" on a Core API stand-in that counts
``GET sessions/<token>``, and ``AUTHROCKET_CACHE =
"redis+cluster://..."``: a real cluster of three masters and three replicas
(Debian's ``redis-server``, made with ``redis-cli --cluster create``).

Ten users log out through the app (``GET /logout`` with their token, so the
worker that answers marks the session ended in the cluster): five at 12 s,
then the master that serves their sessions' keys is killed (SIGKILL) at 15 s,
and five more log out half a second later, while its replica has not yet
taken over, so their "ended" marks wait in their worker's queue. Targets: no
session served more than TTL + 2 s after its logout, no 5xx, look-ups at most
2x the ideal (one per user per TTL) while a master is down and at most 1.2x
otherwise. It also prints how long after its logout each logged-out session
was last served, and how long the failover took.
"""

from __future__ import annotations

import contextlib
import http.client
import math
import secrets
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.soak_load import Answer, Load, Pick
from bench.soak_services import HOST, CoreApiStandIn, Gunicorn, SoakFailed, _stop_process, _wait_for_port, free_port
from flask_authrocket.issuer import TokenIssuer, login_claims
from flask_authrocket.managed import session_keys
from flask_authrocket.models import Session
from flask_authrocket.tokens import TokenVerifier

SESSION_CHECK_TTL = 2
USERS = 40
LOGOUTS_BEFORE = 5
LOGOUTS_DURING = 5
#: Seconds into the run (at 40 s; shorter runs scale them): logouts, the master killed, logouts again.
FIRST_LOGOUTS_AT = 12.0
KILL_AT = 15.0
SECOND_LOGOUTS_AT = 15.5


class ClusterNodes:
    """Six ``redis-server`` in cluster mode on loopback ports, joined as 3 masters with a replica each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ports: list[int] = []
        self._processes: list[subprocess.Popen[bytes]] = []
        for number in range(6):
            node = folder / f"node-{number}"
            node.mkdir(parents=True)
            port = free_port()
            command = [
                "redis-server", "--port", str(port), "--bind", HOST, "--dir", str(node),
                "--save", "", "--appendonly", "no",
                "--cluster-enabled", "yes", "--cluster-config-file", str(node / "nodes.conf"),
                "--cluster-node-timeout", "1000", "--cluster-port", str(free_port()),
            ]  # fmt: skip
            log = node / "redis.log"
            with log.open("ab") as output:
                process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
            self._processes.append(process)
            _wait_for_port(process, port, "redis-server (cluster node)", log)
            self.ports.append(port)
        create = subprocess.run(
            ["redis-cli", "--cluster", "create", *self.addresses, "--cluster-replicas", "1", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if create.returncode != 0:
            raise SoakFailed(f"redis-cli --cluster create failed: {create.stdout[-1000:]}{create.stderr[-1000:]}")
        self.wait(self.healthy, "the cluster to be ok, every replica in sync")

    @property
    def addresses(self) -> list[str]:
        return [f"{HOST}:{port}" for port in self.ports]

    @property
    def url(self) -> str:
        """What the app sets as ``AUTHROCKET_CACHE``: two startup nodes are enough."""
        return "redis+cluster://" + ",".join(self.addresses[:2])

    def _admin(self, port: int) -> Any:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        return redis.Redis(
            host=HOST, port=port, socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
        )

    def _live(self) -> list[int]:
        return [port for port, process in zip(self.ports, self._processes, strict=True) if process.poll() is None]

    def healthy(self) -> bool:
        """Every live node says the cluster is ok, and every live replica is in sync with its master."""
        for port in self._live():
            client = self._admin(port)
            state = client.execute_command("CLUSTER", "INFO")
            text = state.decode() if isinstance(state, bytes) else str(state)
            if "cluster_state:ok" not in text:
                return False
            replication = client.info("replication")
            if replication.get("role") == "slave" and replication.get("master_link_status") != "up":
                return False
        return True

    def master_of(self, key: str) -> int:
        """The port of the master that serves ``key`` now."""
        from redis.crc import key_slot

        slot = key_slot(key.encode())
        for low, high, master, *_ in self._admin(self._live()[0]).execute_command("CLUSTER", "SLOTS"):
            if low <= slot <= high:
                return int(master[1])
        raise SoakFailed(f"no master serves slot {slot}")

    def kill(self, port: int) -> None:
        """A crash of the node on ``port``: SIGKILL."""
        _stop_process(self._processes[self.ports.index(port)], kill=True)

    def taken_over(self, port: int) -> bool:
        """Whether the killed master's slots are served by another node and the cluster is ok again."""
        slots = self._admin(self._live()[0]).execute_command("CLUSTER", "SLOTS")
        return all(int(master[1]) != port for _, _, master, *_ in slots) and self.healthy()

    @staticmethod
    def wait(condition: Callable[[], bool], what: str, timeout: float = 120) -> float:
        """Poll ``condition`` (errors count as not yet) until it holds; the monotonic time it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if condition():
                    return time.monotonic()
            time.sleep(0.05)
        raise SoakFailed(f"timed out waiting for {what}")

    def stop(self) -> None:
        """Stop every node that runs."""
        for process in self._processes:
            _stop_process(process)


def log_out(port: int, token: str) -> str | None:
    """``GET /logout`` with ``token`` as a Bearer token, as a user who clicks "log out"; the worker that answered."""
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", "/logout", headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        response.read()
        if response.status != 302:
            raise SoakFailed(f"GET /logout answered {response.status}")
        return response.getheader("X-Soak-Worker")
    finally:
        connection.close()


def soak_cluster(logs: Path, seconds: float) -> list[str]:
    """Issue 20's scenario; returns the targets it missed."""
    from bench.soak import (
        CLIENTS,
        HTTP_TIMEOUT,
        THREADS,
        WORKERS,
        Targets,
        describe_load,
        managed_config,
        run_timeline,
    )

    scale = seconds / 40
    print(
        f"\n== Managed sessions on a Redis Cluster while a master dies (issue 20): gunicorn {WORKERS} x {THREADS}, "
        f"{CLIENTS} clients, {USERS} users by Bearer; TTL {SESSION_CHECK_TTL} s, failure 'open', "
        f"AUTHROCKET_HTTP_TIMEOUT = {HTTP_TIMEOUT}; 3 masters and 3 replicas; a Core API stand-in"
    )
    print(f"  {describe_load()}")
    issuer = TokenIssuer.with_new_rsa_key(kid="soak-cluster")
    with contextlib.ExitStack() as stack:
        api = CoreApiStandIn(TokenVerifier(jwt_key=issuer.public_key_pem()))
        stack.callback(api.close)
        cluster = ClusterNodes(logs / "cluster")
        stack.callback(cluster.stop)
        users = [f"usr_soak_{number:02d}" for number in range(USERS)]
        session_ids = {user: f"kss_cluster_{secrets.token_hex(4)}_{user}" for user in users}
        tokens = {
            user: issuer.issue(login_claims({"id": user}, [], session_id=session_ids[user], expires_in=3600))
            for user in users
        }
        verifier = TokenVerifier(jwt_key=issuer.public_key_pem())

        def home(user: str) -> int:
            session = verifier.verify(tokens[user])
            assert isinstance(session, Session)
            return cluster.master_of("flask_authrocket:" + session_keys(session).ended)

        # The master that will die serves the keys of the users who log out around its death.
        victim = home(users[0])
        on_victim = [user for user in users if home(user) == victim]
        chosen = (on_victim + [user for user in users if user not in on_victim])[: LOGOUTS_BEFORE + LOGOUTS_DURING]
        config = managed_config(issuer, api, cluster.url)
        assert config["AUTHROCKET_SESSION_CHECK_TTL"] == SESSION_CHECK_TTL  # the ideal below counts with it
        app = Gunicorn(config, logs, "cluster", workers=WORKERS, threads=THREADS)
        stack.callback(app.stop)

        logged_out_at: dict[str, float] = {}
        moments: dict[str, float] = {}

        def pick(chooser: Any, _seconds: float) -> Pick:
            user = chooser.choice(users)
            return Pick(tokens[user], user, "logged-out" if user in chosen else "stays", "bearer")

        def logouts(group: list[str]) -> Callable[[], None]:
            def act() -> None:
                for user in group:
                    log_out(app.port, tokens[user])
                    logged_out_at[user] = time.monotonic()

            return act

        def kill() -> None:
            moments["killed"] = time.monotonic()
            cluster.kill(victim)

        events = [
            (FIRST_LOGOUTS_AT, f"{LOGOUTS_BEFORE} users log out through the app", logouts(chosen[:LOGOUTS_BEFORE])),
            (KILL_AT, f"the master on port {victim} killed (SIGKILL)", kill),
            (
                SECOND_LOGOUTS_AT,
                f"{LOGOUTS_DURING} users log out during the failover",
                logouts(chosen[LOGOUTS_BEFORE:]),
            ),
        ]
        print(f"  {len(on_victim)} of {USERS} users' sessions live on the master that will die")
        load = Load(app.port, CLIENTS, pick)
        started = load.start()
        try:
            run_timeline(started, events, (SECOND_LOGOUTS_AT + 0.5) * scale, scale)
            moments["taken_over"] = cluster.wait(lambda: cluster.taken_over(victim), "the replica to take over")
            print(f"  {moments['taken_over'] - started:5.1f} s  its replica serves its slots; the cluster is ok")
            run_timeline(started, [], seconds, scale)
        finally:
            answers = load.stop()
        lookups = [moment - started for moment in api.lookups]
        down = (moments["killed"] - started, moments["taken_over"] - started)
        logouts_at = {user: moment - started for user, moment in logged_out_at.items()}
        return report_cluster(answers, lookups, seconds, down, logouts_at, app, Targets(), describe_load())


def report_cluster(
    answers: list[Answer],
    lookups: list[float],
    seconds: float,
    down: tuple[float, float],
    logouts_at: dict[str, float],
    app: Gunicorn,
    targets: Any,
    load_now: str,
) -> list[str]:
    """Print the cluster scenario's figures against issue 20's targets; returns the targets missed."""

    def master_down(moment: float) -> bool:
        return down[0] <= moment < down[1]

    print(f"  requests: {len(answers):,}; {load_now} (at the end)")
    print(f"  the master was down (killed until its replica served its slots) for {down[1] - down[0]:.1f} s")
    print(
        f"  {'look-ups per 1,000 requests':<30} {'requests':>9} {'look-ups':>9} {'measured':>9} {'ideal':>7}"
        f" {'ratio':>6}  target"
    )
    phases = [
        ("master up", [a for a in answers if not master_down(a.started)], [m for m in lookups if not master_down(m)],
         seconds - (down[1] - down[0]), 1.2),
        ("master down", [a for a in answers if master_down(a.started)], [m for m in lookups if master_down(m)],
         down[1] - down[0], 2.0),
    ]  # fmt: skip
    for label, phase_answers, phase_lookups, phase_seconds, limit in phases:
        ideal_lookups = USERS * phase_seconds / SESSION_CHECK_TTL
        measured = len(phase_lookups) / max(len(phase_answers), 1) * 1000
        ideal = ideal_lookups / max(len(phase_answers), 1) * 1000
        ratio = measured / ideal if ideal else math.inf
        held = ratio <= limit
        print(
            f"  {label + f' ({phase_seconds:.1f} s)':<30} {len(phase_answers):9,} {len(phase_lookups):9,}"
            f" {measured:9.1f} {ideal:7.1f} {ratio:5.2f}x  at most {limit:g}x the ideal {'PASS' if held else 'MISSED'}"
        )
        if not held:
            targets.missed.append(f"look-ups, {label}: {ratio:.2f}x the ideal, target at most {limit:g}x")
    print(f"  (ideal: one look-up per user per TTL, {USERS} users x seconds / {SESSION_CHECK_TTL} s)")

    late = 0
    longest = 0.0
    for user, at in sorted(logouts_at.items(), key=lambda item: item[1]):
        served = [a.started for a in answers if a.user_id == user and a.status == 200 and a.started > at]
        last = max(served, default=at) - at
        longest = max(longest, last)
        late += sum(1 for moment in served if moment > at + SESSION_CHECK_TTL + 2)
        when = "during the failover" if down[0] <= at < down[1] else "before the kill"
        print(f"  {user} logged out at {at:5.1f} s ({when}): last served {last:.2f} s after")
    print(
        f"  the longest a logged-out session was served after its logout: {longest:.2f} s (TTL {SESSION_CHECK_TTL} s)"
    )
    targets.check("requests served to a session more than TTL + 2 s after its logout", late, 0)
    targets.check("5xx", sum(1 for answer in answers if answer.status >= 500), 0)
    targets.check("no answer", sum(1 for answer in answers if answer.status == 0), 0)
    slowest = max((answer.seconds for answer in answers), default=0.0)
    print(f"  slowest answer: {slowest:.2f} s")
    for problem in app.problems():
        print(f"  {problem}")
    missed: list[str] = targets.missed
    return missed
