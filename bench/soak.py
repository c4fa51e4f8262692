"""``make soak``: the extension under load while its key set, its cache and its API fail, on 127.0.0.1.

Two scenarios, each against gunicorn with 2 workers of 4 threads (gthread)
serving ``bench/soak_app.py`` (one route behind ``@require_login``), driven by
16 client threads of this process, with ``AUTHROCKET_HTTP_TIMEOUT = 1``:

``faults`` (issue 10, about 60 s)
    Keys come from a loopback JWK-set server (``JwksTestServer``) that answers,
    answers 503, hangs, refuses connections and sends its body a byte at a
    time, in turns; a new key is published mid-run and LoginRocket then signs
    new sessions with it. Managed sessions ask the development LoginRocket's
    Core API (TTL 5 s), with a real ``redis-server`` as ``AUTHROCKET_CACHE``,
    killed and restarted during the run. The clients send tokens of sessions
    made before the run ("known"), of sessions made during it ("fresh"), and
    of sessions signed with the new key ("new-key", told by the kid in their
    header), in the login cookie and as Bearer headers. Every token is valid,
    so the targets are: no 5xx but 503, no 503 from a worker for a token whose
    key it had (it had accepted a token of that key), no valid cookie cleared,
    no valid token refused, no answer slower than the timeout + 1 s, and at
    most one key fetch per floor per worker.

``sessions`` (issue 13, a 10 s quiet phase, then about 40 s)
    Managed sessions with TTL 2 s, failure mode "open", ``AUTHROCKET_CACHE`` a
    real ``redis-server``, and a Core API stand-in that counts
    ``GET sessions/<token>``. 16 clients send the Bearer tokens of 40 users.
    First without any fault; then Redis is killed at 10 s and restarted at
    20 s, 10 users are logged out through the API at 24 s, and the API hangs
    for 3 s at 30 s. It prints look-ups per 1,000 requests against the ideal
    (one per user per TTL), requests served to a session more than TTL + 2 s
    after its logout, and 5xx.

``cluster`` (issue 20, about 40 s): managed sessions on a Redis Cluster of
    three masters and three replicas while one master is killed, with ten
    logouts around it (bench/soak_cluster.py).

Usage: ``python -m bench.soak [--only faults|sessions|cluster] [--faults-seconds S]
[--sessions-seconds S] [--cluster-seconds S]`` from the project's root (shorter runs scale the
timelines). The exit status is 0 when every target held, 1 when one was
missed (each is named), 2 when the soak could not run. Every process it
started is stopped however it ends, Ctrl-C included; logs go to a temporary
directory that is removed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from bench.soak_load import CLIENT_TIMEOUT, Answer, Load, Pick
from bench.soak_services import (
    HOST,
    CoreApiStandIn,
    DevLoginRocket,
    Gunicorn,
    RedisServer,
    SoakFailed,
)
from flask_authrocket.dev.signing import SIGNING_KEY_FILE
from flask_authrocket.issuer import TokenIssuer, generate_rsa_key, login_claims, private_key_to_pem
from flask_authrocket.jwks import NEW_KEY_FLOOR
from flask_authrocket.testing import JwksTestServer
from flask_authrocket.tokens import TokenVerifier

WORKERS = 2
THREADS = 4
CLIENTS = 16
HTTP_TIMEOUT = 1
#: An answer slower than this is slow: the timeout bounds every outbound call, plus a little.
SLOW = HTTP_TIMEOUT + 1
#: The faults scenario's key-set settings: a refresh every 10 s lands in the faults; failures
#: and unknown kids are retried at most every 5 s.
JWKS_TTL = 10
JWKS_MIN_INTERVAL = 5
FAULTS_SESSION_CHECK_TTL = 5
#: The sessions scenario's settings (issue 13).
SESSION_CHECK_TTL = 2
SESSION_USERS = 40
LOGGED_OUT_USERS = 10
QUIET_SECONDS = 10.0
#: A LoginRocket URL for the app that gets its key from AUTHROCKET_JWT_KEY; never contacted.
UNUSED_LOGINROCKET_URL = "https://soak.loginrocket.invalid/"

Event = tuple[float, str, Callable[[], None]]


def run_timeline(started: float, events: Sequence[Event], seconds: float, scale: float) -> list[tuple[float, str]]:
    """Run each event at its offset (scaled) from ``started``, printing it, then wait out ``seconds``.

    Returns each event's label with the seconds from ``started`` at which its action had run.
    """
    happened: list[tuple[float, str]] = []
    for offset, label, action in events:
        _sleep_until(started + offset * scale)
        print(f"  {time.monotonic() - started:5.1f} s  {label}", flush=True)
        action()
        happened.append((time.monotonic() - started, label))
    _sleep_until(started + seconds)
    return happened


def _sleep_until(moment: float) -> None:
    while (left := moment - time.monotonic()) > 0:
        time.sleep(min(left, 0.2))


def describe_load() -> str:
    """The load average and the cores: the soak shares them with whoever else runs."""
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"load average {load} on {os.cpu_count()} CPUs"


class Targets:
    """The soak's targets: each is printed with its verdict; the missed ones decide the exit status."""

    def __init__(self) -> None:
        self.missed: list[str] = []

    def check(self, label: str, value: float, limit: float, *, shown: str | None = None) -> None:
        """Print ``label: value`` against ``value <= limit``."""
        held = value <= limit
        text = shown if shown is not None else f"{value:g}"
        print(f"  {label}: {text} (target: at most {limit:g}) {'PASS' if held else 'MISSED'}")
        if not held:
            self.missed.append(f"{label}: {text}, target at most {limit:g}")


# -- issue 10: faults under load ---------------------------------------------------------------


class TokenPool:
    """The valid tokens the clients send, by kind; sessions made during the run join it."""

    def __init__(self, known: list[tuple[str, str]]) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, list[tuple[str, str]]] = {"known": list(known), "fresh": [], "new-key": []}

    def add(self, kind: str, token: str, user_id: str) -> None:
        """A token of a session made just now."""
        with self._lock:
            self._tokens[kind].append((token, user_id))

    def count(self, kind: str) -> int:
        """How many tokens of ``kind`` there are."""
        with self._lock:
            return len(self._tokens[kind])

    def pick(self, chooser: random.Random, _seconds: float) -> Pick:
        """A known token half the time, else a recent fresh or new-key one; cookie or Bearer alike."""
        roll = chooser.random()
        with self._lock:
            kind = "known"
            if roll < 0.25 and self._tokens["new-key"]:
                kind = "new-key"
            elif roll < 0.5 and self._tokens["fresh"]:
                kind = "fresh"
            # Recent sessions, so fresh tokens are often first seen by the worker that gets them.
            token, user_id = chooser.choice(self._tokens[kind][-30:])
        return Pick(token, user_id, kind, chooser.choice(("cookie", "bearer")), token_kid(token))


def token_kid(token: str) -> str | None:
    """The ``kid`` in the header of ``token``, read without any check: which key signed it."""
    segment = token.split(".", 1)[0]
    header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def soak_faults(logs: Path, seconds: float) -> list[str]:
    """Issue 10's scenario; returns the targets it missed."""
    scale = seconds / 60
    print(
        f"\n== Faults under load (issue 10): {seconds:g} s; gunicorn {WORKERS} workers x {THREADS} threads, "
        f"{CLIENTS} clients; AUTHROCKET_HTTP_TIMEOUT = {HTTP_TIMEOUT}, JWKS TTL {JWKS_TTL} s, "
        f"min interval {JWKS_MIN_INTERVAL} s; managed sessions (TTL {FAULTS_SESSION_CHECK_TTL} s) on the "
        "development LoginRocket's API; a real redis-server"
    )
    print(f"  {describe_load()}")
    with contextlib.ExitStack() as stack:
        instance = logs / "dev-loginrocket"
        instance.mkdir()
        # The development LoginRocket signs with the old key; the new one is published mid-run.
        (instance / SIGNING_KEY_FILE).write_bytes(private_key_to_pem(generate_rsa_key()))
        dev = DevLoginRocket(instance)
        stack.callback(dev.close)
        old_issuer = dev.realm.issuer
        new_issuer = TokenIssuer.with_new_rsa_key(kid="soak-new-key")
        key_set = stack.enter_context(JwksTestServer(old_issuer))
        dev.trust(stack.enter_context(JwksTestServer(old_issuer, new_issuer)).url)
        redis = RedisServer(logs)
        stack.callback(redis.stop)
        redis.start()
        config: dict[str, Any] = {
            "LOGINROCKET_URL": key_set.url,
            "AUTHROCKET_URL": dev.api_url,
            "AUTHROCKET_API_KEY": dev.api_key,
            "AUTHROCKET_HTTP_TIMEOUT": HTTP_TIMEOUT,
            "AUTHROCKET_JWKS_TTL": JWKS_TTL,
            "AUTHROCKET_JWKS_MIN_INTERVAL": JWKS_MIN_INTERVAL,
            "AUTHROCKET_MANAGED_SESSIONS": True,
            "AUTHROCKET_SESSION_CHECK_TTL": FAULTS_SESSION_CHECK_TTL,
            "AUTHROCKET_SESSION_CHECK_FAILURE": "open",
            "AUTHROCKET_CACHE": redis.url,
        }
        app = Gunicorn(config, logs, "faults", workers=WORKERS, threads=THREADS)
        stack.callback(app.stop)
        users = dev.demo_user_ids()
        pool = TokenPool([(dev.new_session(user), user) for user in users * 6])
        first_request = time.monotonic()  # the workers may fetch keys from here on
        dev.reset_api_calls()
        stop_making = threading.Event()

        def make_sessions() -> None:
            # New logins all along the run; after the rotation, LoginRocket signs them with the new key.
            # A token's kind is the key that signed it, read from its header: a session asked for
            # just before the rotation may come back signed with the new key (a run once counted
            # such a "fresh" token's 503s as 503s for a known key).
            chooser = random.Random(99)
            while not stop_making.wait(0.25):
                user = chooser.choice(users)
                token = dev.new_session(user)
                pool.add("new-key" if token_kid(token) == new_issuer.kid else "fresh", token, user)

        def publish_new_key() -> None:
            key_set.keys = [old_issuer, new_issuer]

        def sign_with_new_key() -> None:
            dev.sign_with(new_issuer)

        events: list[Event] = [
            (6, "key set answers 503", lambda: key_set.fail(503)),
            (12, "key set answers", key_set.recover),
            (16, "key set hangs", key_set.hang),
            (20, "Redis killed (SIGKILL)", redis.kill),
            (22, "key set answers", key_set.recover),
            (26, "key set refuses connections", key_set.refuse),
            (28, "a new key is published in the key set", publish_new_key),
            (29, "LoginRocket signs new sessions with the new key", sign_with_new_key),
            (32, "key set answers", key_set.recover),
            (34, "Redis restarted (empty)", redis.start),
            (38, "key set sends its body a byte every 0.5 s", lambda: key_set.slow_body(0.5)),
            (44, "key set answers", key_set.recover),
            (48, "key set hangs", key_set.hang),
            (52, "key set answers", key_set.recover),
        ]
        maker = threading.Thread(target=make_sessions, name="soak-sessions", daemon=True)
        load = Load(app.port, CLIENTS, pool.pick)
        started = load.start()
        maker.start()
        happened: list[tuple[float, str]] = []
        try:
            happened = run_timeline(started, events, seconds, scale)
        finally:
            answers = load.stop()
            stop_making.set()
            maker.join(15)
        elapsed = time.monotonic() - first_request
        api_calls = dev.api_calls()
        fetches = key_set.fetches
        missed = report_faults(answers, app, fetches, api_calls, elapsed, new_key_at=28 * scale)
        explain_unavailable(answers, happened)
        return missed


def split_unavailable(answers: list[Answer]) -> tuple[list[Answer], list[Answer]]:
    """The 503s, split by whether their worker had the token's key: (it had, it had not yet).

    A worker had a key once it had answered 200 to a token that key signed (the 200 was
    back before the 503 was asked): a worker never drops a key it fetched while the set
    keeps serving it (stale keys are kept when a refresh fails), and neither key is ever
    withdrawn here. Until then, a 503 is the key set's outage or a first fetch under way.
    """
    had: dict[tuple[str | None, str | None], float] = {}  # (worker, kid): when its first 200 was back
    for answer in answers:
        if answer.status == 200:
            done = answer.started + answer.seconds
            key = (answer.worker, answer.kid)
            had[key] = min(had.get(key, done), done)
    known: list[Answer] = []
    first: list[Answer] = []
    for answer in answers:
        if answer.status == 503:
            since = had.get((answer.worker, answer.kid))
            (known if since is not None and since < answer.started else first).append(answer)
    return known, first


def explain_unavailable(answers: list[Answer], happened: list[tuple[float, str]]) -> None:
    """Print the 503s of tokens whose key their worker had, and the others grouped: when, key-set phase, kid, why."""
    key_set_events = [(moment, label) for moment, label in happened if label.startswith("key set")]

    def phase(moment: float) -> str:
        current = "key set answers"
        for at, label in key_set_events:
            if at <= moment:
                current = label
        return current

    def reason(answer: Answer) -> str:
        # The extension's 503 says which was out of reach: LoginRocket's keys, or the AuthRocket API.
        return "the AuthRocket API" if "AuthRocket API" in answer.body else "LoginRocket keys"

    known, first = split_unavailable(answers)
    for answer in known[:20]:
        print(
            f"  503 with the key known, at {answer.started:.2f} s [{phase(answer.started)}]: {answer.kind} "
            f"token, kid {answer.kid}, {answer.mode}, worker {answer.worker}: {' '.join(answer.body.split())[:160]}"
        )
    groups: dict[tuple[str, str, str | None, str], list[float]] = {}
    for answer in first:
        groups.setdefault((phase(answer.started), answer.kind, answer.kid, reason(answer)), []).append(answer.started)
    for (label, kind, kid, why), moments in sorted(groups.items(), key=lambda item: min(item[1])):
        print(
            f"  503 before the worker had the key: {len(moments)} {kind} (kid {kid}) from {min(moments):.1f} to "
            f"{max(moments):.1f} s, [{label}], {why} unavailable"
        )


def report_faults(
    answers: list[Answer],
    app: Gunicorn,
    fetches: int,
    api_calls: dict[str, int],
    elapsed: float,
    *,
    new_key_at: float,
) -> list[str]:
    """Print the faults scenario's figures against its targets; returns the targets missed."""
    by_kind = {kind: sum(1 for answer in answers if answer.kind == kind) for kind in ("known", "fresh", "new-key")}
    cookies = sum(1 for answer in answers if answer.mode == "cookie")
    print(
        f"  requests: {len(answers):,} ({by_kind['known']:,} known, {by_kind['fresh']:,} fresh, "
        f"{by_kind['new-key']:,} new-key; {cookies:,} by cookie, {len(answers) - cookies:,} Bearer)"
    )
    print(f"  {describe_load()} (at the end)")
    targets = Targets()
    targets.check(
        "5xx other than 503", sum(1 for answer in answers if answer.status >= 500 and answer.status != 503), 0
    )
    unavailable = split_unavailable(answers)
    targets.check(
        "503s for tokens whose key their worker had (it had accepted a token of that key)", len(unavailable[0]), 0
    )
    before = unavailable[1]
    old_key = sum(1 for answer in before if answer.kind != "new-key")
    print(
        f"  503s before the worker had the token's key (not a target): {old_key} of the old key "
        f"(a worker's first fetch), {len(before) - old_key} of the new key"
    )
    targets.check("valid cookies cleared", sum(1 for answer in answers if answer.cleared_cookie), 0)
    refused = [answer for answer in answers if answer.status in (302, 401, 403)]
    targets.check("valid tokens refused (302, 401 or 403)", len(refused), 0)
    wrong = sum(1 for answer in answers if answer.status == 200 and not answer.right_user)
    targets.check("200s that did not name the token's user", wrong, 0)
    targets.check(f"no answer within {CLIENT_TIMEOUT:g} s", sum(1 for answer in answers if answer.status == 0), 0)
    slowest = max((answer.seconds for answer in answers), default=0.0)
    slow = sum(1 for answer in answers if answer.seconds > SLOW)
    targets.check(f"answers slower than {SLOW} s (timeout + 1 s)", slow, 0, shown=f"{slow} (slowest {slowest:.2f} s)")
    new_key_unavailable = [answer for answer in answers if answer.kind == "new-key" and answer.status == 503]
    if new_key_unavailable:
        last = max(answer.started for answer in new_key_unavailable) - new_key_at
        print(
            f"  new-key tokens answered 503 (unavailable until a fetch is allowed; cookie kept): "
            f"{len(new_key_unavailable)} of {by_kind['new-key']:,}, the last {last:.1f} s after the key was published"
        )
    else:
        print(f"  new-key tokens answered 503: 0 of {by_kind['new-key']:,}")
    workers = {answer.worker for answer in answers if answer.worker}
    floor = min(JWKS_TTL, JWKS_MIN_INTERVAL, NEW_KEY_FLOOR)
    allowed = len(workers) * (1 + math.floor(elapsed / floor))
    targets.check(
        "key fetches (JwksTestServer.fetches)",
        fetches,
        allowed,
        shown=f"{fetches} in {elapsed:.0f} s; one per {floor:g} s floor per worker, {len(workers)} workers",
    )
    lookups = api_calls.get("GET /v2/sessions/<session_ref>", 0)
    made = api_calls.get("POST /v2/sessions", 0)
    others = sum(api_calls.values()) - lookups - made
    print(
        f"  API calls by the app: {lookups:,} session look-ups (GET /v2/sessions/<token>), {others} others; "
        f"the soak itself made {made} sessions (POST /v2/sessions)"
    )
    for problem in app.problems():
        print(f"  {problem}")
    return targets.missed


# -- issue 13: managed sessions at deployment scale -------------------------------------------


class Sessions:
    """The login tokens of :data:`SESSION_USERS` users, one session each, signed with ``issuer``."""

    def __init__(self, issuer: TokenIssuer, phase: str) -> None:
        self.users = [f"usr_soak_{number:02d}" for number in range(SESSION_USERS)]
        self.session_ids = {user: f"kss_soak_{phase}_{user}" for user in self.users}
        self.tokens = {
            user: issuer.issue(login_claims({"id": user}, [], session_id=self.session_ids[user], expires_in=3600))
            for user in self.users
        }
        #: The users logged out through the API mid-run.
        self.logged_out = set(self.users[:LOGGED_OUT_USERS])

    def pick(self, chooser: random.Random, _seconds: float) -> Pick:
        """Any user's Bearer token."""
        user = chooser.choice(self.users)
        return Pick(self.tokens[user], user, "logged-out" if user in self.logged_out else "stays", "bearer")


def managed_config(issuer: TokenIssuer, api: CoreApiStandIn, cache: str) -> dict[str, Any]:
    """The app's config in the scenarios of managed sessions: the issuer's key, the stand-in API, TTL 2 s, "open"."""
    return {
        "AUTHROCKET_JWT_KEY": issuer.public_key_pem(),
        "LOGINROCKET_URL": UNUSED_LOGINROCKET_URL,
        "AUTHROCKET_URL": api.url,
        "AUTHROCKET_API_KEY": "ks_soak_" + secrets.token_hex(16),
        "AUTHROCKET_HTTP_TIMEOUT": HTTP_TIMEOUT,
        "AUTHROCKET_MANAGED_SESSIONS": True,
        "AUTHROCKET_SESSION_CHECK_TTL": SESSION_CHECK_TTL,
        "AUTHROCKET_SESSION_CHECK_FAILURE": "open",
        "AUTHROCKET_CACHE": cache,
    }


def soak_sessions(logs: Path, seconds: float) -> list[str]:
    """Issue 13's scenario; returns the targets it missed."""
    scale = seconds / 40
    print(
        f"\n== Managed sessions at deployment scale (issue 13): gunicorn {WORKERS} x {THREADS}, {CLIENTS} clients, "
        f"{SESSION_USERS} users by Bearer; TTL {SESSION_CHECK_TTL} s, failure 'open', "
        f"AUTHROCKET_HTTP_TIMEOUT = {HTTP_TIMEOUT}, a real redis-server; a Core API stand-in"
    )
    print(f"  {describe_load()}")
    issuer = TokenIssuer.with_new_rsa_key(kid="soak-sessions")
    with contextlib.ExitStack() as stack:
        api = CoreApiStandIn(TokenVerifier(jwt_key=issuer.public_key_pem()))
        stack.callback(api.close)
        redis_logs = logs / "redis-sessions"
        redis_logs.mkdir()
        redis = RedisServer(redis_logs)
        stack.callback(redis.stop)
        redis.start()
        app = Gunicorn(managed_config(issuer, api, redis.url), logs, "sessions", workers=WORKERS, threads=THREADS)
        stack.callback(app.stop)

        quiet_seconds = QUIET_SECONDS * scale
        print(f"  No faults: {quiet_seconds:g} s with {SESSION_USERS} new sessions ...", flush=True)
        quiet = Load(app.port, CLIENTS, Sessions(issuer, "quiet").pick)
        quiet_started = quiet.start()
        try:
            run_timeline(quiet_started, [], quiet_seconds, scale)
        finally:
            quiet_answers = quiet.stop()
        quiet_lookups = [moment - quiet_started for moment in api.lookups]

        print(f"  Faults: {seconds:g} s with {SESSION_USERS} new sessions ...", flush=True)
        sessions = Sessions(issuer, "run")
        api.lookups.clear()
        logged_out_at: list[float] = []

        def log_out() -> None:
            logged_out_at.append(time.monotonic())
            for user in sessions.logged_out:
                api.end(sessions.session_ids[user])

        events: list[Event] = [
            (10, "Redis killed (SIGKILL)", redis.kill),
            (20, "Redis restarted (empty)", redis.start),
            (24, f"{LOGGED_OUT_USERS} users logged out through the API", log_out),
            (30, "the API hangs for 3 s", lambda: api.hang(3 * scale)),
        ]
        load = Load(app.port, CLIENTS, sessions.pick)
        started = load.start()
        try:
            run_timeline(started, events, seconds, scale)
        finally:
            answers = load.stop()
        lookups = [moment - started for moment in api.lookups]
        logout = (logged_out_at[0] - started) if logged_out_at else math.inf
        return report_sessions(
            quiet_answers, quiet_lookups, quiet_seconds, answers, lookups, seconds, scale, logout, app
        )


def report_sessions(
    quiet_answers: list[Answer],
    quiet_lookups: list[float],
    quiet_seconds: float,
    answers: list[Answer],
    lookups: list[float],
    seconds: float,
    scale: float,
    logout: float,
    app: Gunicorn,
) -> list[str]:
    """Print the sessions scenario's figures against issue 13's targets; returns the targets missed."""
    down = (10 * scale, 20 * scale)

    def redis_down(moment: float) -> bool:
        return down[0] <= moment < down[1]

    phases = [
        ("no faults", quiet_answers, quiet_lookups, quiet_seconds, 1.2),
        (
            "Redis up",
            [answer for answer in answers if not redis_down(answer.started)],
            [moment for moment in lookups if not redis_down(moment)],
            seconds - (down[1] - down[0]),
            1.5,
        ),
        (
            "Redis down",
            [answer for answer in answers if redis_down(answer.started)],
            [moment for moment in lookups if redis_down(moment)],
            down[1] - down[0],
            float(WORKERS),  # one per session per TTL per worker
        ),
    ]
    print(f"  requests: {len(quiet_answers):,} without faults, {len(answers):,} with; {describe_load()} (at the end)")
    print(
        f"  {'look-ups per 1,000 requests':<28} {'requests':>9} {'look-ups':>9} {'measured':>9} {'ideal':>7}"
        f" {'ratio':>6}  target"
    )
    targets = Targets()
    for label, phase_answers, phase_lookups, phase_seconds, limit in phases:
        ideal_lookups = SESSION_USERS * phase_seconds / SESSION_CHECK_TTL
        measured = len(phase_lookups) / max(len(phase_answers), 1) * 1000
        ideal = ideal_lookups / max(len(phase_answers), 1) * 1000
        ratio = measured / ideal if ideal else math.inf
        print(
            f"  {label + f' ({phase_seconds:g} s)':<28} {len(phase_answers):9,} {len(phase_lookups):9,}"
            f" {measured:9.1f} {ideal:7.1f} {ratio:5.2f}x  at most {limit:g}x the ideal"
        )
        if ratio > limit:
            targets.missed.append(f"look-ups, {label}: {ratio:.2f}x the ideal, target at most {limit:g}x")
    print(f"  (ideal: one look-up per user per TTL, {SESSION_USERS} users x seconds / {SESSION_CHECK_TTL} s)")
    for label, _, _, _, _ in phases:
        verdict = "MISSED" if any(missed.startswith(f"look-ups, {label}:") for missed in targets.missed) else "PASS"
        print(f"  look-ups, {label}: {verdict}")
    after = logout + SESSION_CHECK_TTL + 2
    served = sum(
        1 for answer in answers if answer.kind == "logged-out" and answer.started > after and answer.status == 200
    )
    targets.check(f"requests served to a session more than TTL + 2 s after its logout (from {after:.1f} s)", served, 0)
    every = quiet_answers + answers
    targets.check("5xx", sum(1 for answer in every if answer.status >= 500), 0)
    unanswered = sum(1 for answer in every if answer.status == 0)
    targets.check(f"no answer within {CLIENT_TIMEOUT:g} s", unanswered, 0)
    slow = sum(1 for answer in every if answer.seconds > SLOW)
    slowest = max((answer.seconds for answer in every), default=0.0)
    print(f"  answers slower than {SLOW} s: {slow} (slowest {slowest:.2f} s; not a target of issue 13)")
    for problem in app.problems():
        print(f"  {problem}")
    return targets.missed


# -- the run ------------------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--only", choices=("faults", "sessions", "cluster"), help="run one scenario")
    parser.add_argument("--faults-seconds", type=float, default=60, help="the faults scenario's length (60)")
    parser.add_argument("--sessions-seconds", type=float, default=40, help="the sessions scenario's length (40)")
    parser.add_argument("--cluster-seconds", type=float, default=40, help="the cluster scenario's length (40)")
    arguments = parser.parse_args(argv)
    if min(arguments.faults_seconds, arguments.sessions_seconds, arguments.cluster_seconds) < 8:
        parser.error("each scenario needs at least 8 seconds")
    return arguments


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # a SIGTERM (make interrupted, a CI timeout) cleans up as Ctrl-C does


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scenarios; 0 when every target held, 1 when one was missed, 2 when the soak could not run."""
    arguments = parse_arguments(argv)
    for program in ("redis-server", "redis-cli"):
        if shutil.which(program) is None:
            print(f"{program} is not installed: `make soak` installs it (apt-get install redis-server redis-tools).")
            return 2
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"flask-authrocket soak: faults under load on {HOST}")
    missed: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="authrocket-soak-") as directory:
            logs = Path(directory)
            if arguments.only in (None, "faults"):
                missed += [f"faults: {text}" for text in soak_faults(logs, arguments.faults_seconds)]
            if arguments.only in (None, "sessions"):
                missed += [f"sessions: {text}" for text in soak_sessions(logs, arguments.sessions_seconds)]
            if arguments.only in (None, "cluster"):
                from bench.soak_cluster import soak_cluster  # it uses this module's pieces

                missed += [f"cluster: {text}" for text in soak_cluster(logs, arguments.cluster_seconds)]
    except SoakFailed as failure:
        print(f"\nThe soak could not run: {failure}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrupted; every server the soak started is stopped.", file=sys.stderr)
        return 130
    if missed:
        print("\nTargets missed:\n  " + "\n  ".join(missed))
        return 1
    print("\nEvery target held.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
