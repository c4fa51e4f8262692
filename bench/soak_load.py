"""The soak's clients: threads that send login tokens to the app and record every answer.

Each thread keeps a keep-alive connection (a new one after any error, and
now and then, so that every worker gets connections) and sends
``GET /hello`` with a token the scenario picks, in the login cookie (as a
browser: ``Accept: text/html``) or as a Bearer header (as an API client).
Every answer is recorded: when it was asked, how long it took, its status,
whether the body named the token's user, whether it cleared the login cookie,
and which worker answered.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.soak_app import PATH, WORKER_HEADER
from bench.soak_services import HOST
from flask_authrocket.settings import DEFAULTS

#: The login cookie's default name, which the soak's apps keep.
COOKIE_NAME: str = DEFAULTS["AUTHROCKET_COOKIE_NAME"]
#: Seconds a client waits for an answer before it counts the request as unanswered.
CLIENT_TIMEOUT = 10.0
#: Requests a connection carries on average: a worker that accepted a kept-alive connection
#: would otherwise get all of its requests, and one worker could serve the whole run.
REQUESTS_PER_CONNECTION = 20


@dataclass(frozen=True)
class Pick:
    """What one request sends: a valid token, whose user it names, its kind, and how it is sent."""

    token: str
    user_id: str
    #: The scenario's name for the token ("known", "fresh", "new-key", or a user group).
    kind: str
    #: "cookie" or "bearer".
    mode: str
    #: The ``kid`` of the token's header (``None`` when it names none): which key signed it.
    kid: str | None = None


@dataclass(frozen=True)
class Answer:
    """One request and its answer, as the client saw it."""

    #: Seconds from the start of the run to when the request was sent.
    started: float
    seconds: float
    #: The HTTP status; 0 when there was no answer (refused, reset, or the client's timeout).
    status: int
    kind: str
    mode: str
    user_id: str
    #: The body was ``Hello, <user id>!`` for the token's user (only 200s can be).
    right_user: bool
    #: The answer carried a Set-Cookie that clears the login cookie.
    cleared_cookie: bool
    worker: str | None
    kid: str | None = None
    #: The body of an answer other than 200 (its first 300 characters): a 503 says what was unavailable.
    body: str = ""


def _clears_login_cookie(headers: list[str]) -> bool:
    for header in headers:
        name, _, rest = header.partition("=")
        if name.strip() != COOKIE_NAME:
            continue
        value, _, attributes = rest.partition(";")
        lowered = attributes.lower().replace(" ", "")
        if not value.strip('"') or "max-age=0" in lowered or "1970" in lowered:
            return True
    return False


class Load:
    """``threads`` client threads sending what ``pick`` chooses to the app on ``port`` until stopped.

    ``pick`` is called with the thread's own random generator and the seconds
    since :meth:`start`; it must be thread-safe.
    """

    def __init__(self, port: int, threads: int, pick: Callable[[random.Random, float], Pick]) -> None:
        self.port = port
        self.pick = pick
        self._stop = threading.Event()
        self._started_at = 0.0
        self._answers: list[list[Answer]] = [[] for _ in range(threads)]
        self._threads = [
            threading.Thread(target=self._run, args=(number,), name=f"soak-client-{number}", daemon=True)
            for number in range(threads)
        ]

    def start(self) -> float:
        """Start every thread; returns the monotonic time the run counts from."""
        self._started_at = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self._started_at

    def stop(self) -> list[Answer]:
        """Stop the threads (each finishes its request in flight) and return every answer, oldest first."""
        self._stop.set()
        for thread in self._threads:
            thread.join(CLIENT_TIMEOUT + 5)
        answers = [answer for per_thread in self._answers for answer in per_thread]
        return sorted(answers, key=lambda answer: answer.started)

    def _run(self, number: int) -> None:
        chooser = random.Random(number)
        answers = self._answers[number]
        connection: http.client.HTTPConnection | None = None
        while not self._stop.is_set():
            started = time.monotonic()
            pick = self.pick(chooser, started - self._started_at)
            if pick.mode == "cookie":
                headers = {"Cookie": f"{COOKIE_NAME}={pick.token}", "Accept": "text/html"}
            else:
                headers = {"Authorization": f"Bearer {pick.token}", "Accept": "application/json"}
            status, body, set_cookies, worker = 0, "", [], None
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(HOST, self.port, timeout=CLIENT_TIMEOUT)
                connection.request("GET", PATH, headers=headers)
                response = connection.getresponse()
                body = response.read().decode(errors="replace")
                status = response.status
                set_cookies = response.msg.get_all("Set-Cookie") or []
                worker = response.getheader(WORKER_HEADER)
                if response.will_close or chooser.random() < 1 / REQUESTS_PER_CONNECTION:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException):
                if connection is not None:
                    connection.close()
                connection = None
            ended = time.monotonic()
            answers.append(
                Answer(
                    started - self._started_at,
                    ended - started,
                    status,
                    pick.kind,
                    pick.mode,
                    pick.user_id,
                    status == 200 and body == f"Hello, {pick.user_id}!",
                    _clears_login_cookie(set_cookies),
                    worker,
                    pick.kid,
                    "" if status == 200 else body[:300],
                )
            )
        if connection is not None:
            connection.close()
