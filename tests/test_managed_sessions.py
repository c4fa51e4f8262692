"""Managed sessions through the Flask app: every verified token is also looked up in the Core API.

The development LoginRocket serves the real /v2 API over HTTP on 127.0.0.1;
its tokens are real (``sessions.create`` or ``?token=`` as LoginRocket sends
it) and its stats count the calls the app made. A live session costs one
lookup per ``AUTHROCKET_SESSION_CHECK_TTL``; a session ended anywhere logs the
request out and clears the cookie once the cached answer expires (at once for
apps sharing the cache of the app that logged out); an unreachable API is
trusted (``"open"``) or answered with 503 (``"closed"``); a broken cache is
skipped, never a 500.
"""

from __future__ import annotations

import json
import logging
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from cachelib import SimpleCache
from devserver import SESSION_LOOKUPS, DevApi, new_session
from flask import Flask, Response, g, request
from flask.testing import FlaskClient
from helpers import Clock, refused_port, serving, wait_until
from test_cache import RedisServer, planted_pickle

from flask_authrocket.cache import build_cache
from flask_authrocket.errors import ConfigurationError
from flask_authrocket.issuer import login_claims
from flask_authrocket.managed import SessionCheck, SessionState
from flask_authrocket.models import Session
from flask_authrocket.tokens import TokenVerifier

#: The dev API's stats names for looking a session up and ending it.
SESSION_DELETES = "DELETE /v2/sessions/<session_ref>"

AppFactory = Callable[..., Flask]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="flask_authrocket")
    return caplog


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server for this test (which it may stop), stopped after it."""
    server = RedisServer(tmp_path / "redis")
    server.folder.mkdir()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def refused_redis_url() -> Iterator[str]:
    """A redis:// URL on a loopback port where nothing listens for the whole test."""
    with refused_port() as port:
        yield f"redis://127.0.0.1:{port}/0"


def logged_in(dev: DevApi, app: Flask, user_id: str = "usr_ada") -> tuple[FlaskClient, str, str]:
    """A client of ``app`` back from LoginRocket with a new session's token (``?token=``), API stats reset."""
    session_id, token = new_session(dev, user_id)
    client = app.test_client()
    dev.reset_stats()
    log_in(client, token)
    return client, session_id, token


def end_session_in_the_api(dev: DevApi, session_id: str) -> None:
    with dev.client() as api:
        api.sessions.delete(session_id)


def log_in(client: FlaskClient, token: str) -> None:
    """Come back from LoginRocket with ``?token=``: the app keeps the token in its cookie."""
    answer = client.get("/?token=" + token)
    assert answer.status_code == 302, answer.text
    assert answer.headers["Location"] == "http://localhost/"
    cookie = client.get_cookie("arToken")
    assert cookie is not None and cookie.value == token


def deletes_the_cookie(answer: Any) -> bool:
    return any(
        header.startswith("arToken=;") and "Max-Age=0" in header for header in answer.headers.getlist("Set-Cookie")
    )


def warnings_of(logs: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in logs.records
        if record.name == "flask_authrocket" and record.levelno == logging.WARNING
    ]


def logged_text(logs: pytest.LogCaptureFixture) -> str:
    """Everything flask_authrocket logged (the dev server's own request log is not the package's)."""
    return "\n".join(record.getMessage() for record in logs.records if record.name == "flask_authrocket")


# A live session ---------------------------------------------------------------------------------


@pytest.mark.parametrize("keys", ["jwks", "pem"])
def test_a_live_session_is_asked_about_once_then_answered_from_the_cache(
    dev: DevApi, managed_app: AppFactory, keys: str
) -> None:
    if keys == "jwks":
        app = managed_app()  # keys from the development LoginRocket's /connect/jwks
    else:
        issuer = dev.app.extensions["dev_loginrocket"].issuer
        app = managed_app(LOGINROCKET_URL=None, AUTHROCKET_JWT_KEY=issuer.verification_key())
    client, _, token = logged_in(dev, app)

    pages = [client.get("/private") for _ in range(10)]
    home = client.get("/")
    bearer = [app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"}) for _ in range(3)]

    assert [(page.status_code, page.text) for page in pages] == [(200, "private for usr_ada")] * 10
    assert home.text == "Hi, Ada!"
    assert [answer.json["id"] for answer in bearer] == ["usr_ada"] * 3
    assert dev.stats()["counts"] == {SESSION_LOOKUPS: 1}


def test_after_the_ttl_the_api_is_asked_again(dev: DevApi, managed_app: AppFactory) -> None:
    app = managed_app(AUTHROCKET_SESSION_CHECK_TTL=60)
    with app.app_context():
        ttl = app.extensions["authrocket"].session_check.ttl
    assert ttl == 60  # the setting reaches the app's check; below, a check of that TTL on a clock the test moves
    clock = Clock()
    _, token = new_session(dev)
    session = verified(dev, token)
    with dev.client(retries=0) as api:
        check = SessionCheck(api.sessions, build_cache(None), ttl=ttl, clock=clock)
        dev.reset_stats()
        first = check.state(session)
        clock.advance(59)
        within = check.state(session)
        assert dev.count(SESSION_LOOKUPS) == 1

        clock.advance(2)
        again, then = check.state(session), check.state(session)

    assert [first, within, again, then] == [SessionState.KNOWN] * 4
    assert dev.count(SESSION_LOOKUPS) == 2


def test_known_lately_answers_only_a_fresh_known_answer_of_this_process(dev: DevApi) -> None:
    # The request hook's short path asks this first: a wrong True would keep a logged-out session.
    clock = Clock()
    _, token = new_session(dev)
    session = verified(dev, token)
    with dev.client(retries=0) as api:
        check = SessionCheck(api.sessions, build_cache(None), ttl=60, clock=clock)
        before = check.known_lately(session)
        check.state(session)
        answered = check.known_lately(session)
        clock.advance(61)
        expired = check.known_lately(session)
        check.state(session)
        check.end(session)
        ended = check.known_lately(session)

    assert [before, answered, expired, ended] == [False, True, False, False]
    assert check.state(session) is SessionState.ENDED


# A session ended elsewhere ----------------------------------------------------------------------


@pytest.mark.parametrize("where", ["api", "loginrocket"])
def test_a_session_ended_elsewhere_is_logged_out_once_the_cached_answer_expires(
    dev: DevApi, managed_app: AppFactory, where: str
) -> None:
    cache = SimpleCache()
    app = managed_app(AUTHROCKET_CACHE=cache)
    if where == "api":
        session_id, token = new_session(dev)
    else:  # logged in at LoginRocket: its /logout ends the login of that browser's own cookie, never another
        browser, token = dev.browser_login("usr_ada")
    client = app.test_client()
    log_in(client, token)
    assert client.get("/private").status_code == 200

    if where == "api":
        end_session_in_the_api(dev, session_id)
    else:
        assert browser.get(dev.root + "logout", timeout=10).status_code == 200
    assert client.get("/private").status_code == 200  # the API's answer holds for the TTL
    dev.reset_stats()
    cache.clear()  # the TTL has passed
    with client:
        guarded = client.get("/private")
        reason = g.authrocket.rejection.reason

    assert guarded.status_code == 302
    assert guarded.headers["Location"].startswith(dev.root + "login?")
    assert reason == "session_ended"
    assert deletes_the_cookie(guarded)
    assert client.get_cookie("arToken") is None
    assert dev.count(SESSION_LOOKUPS) == 1

    client.set_cookie("arToken", token)  # a browser that kept the old cookie
    public = client.get("/")
    assert (public.status_code, public.text) == (200, "Logged out")
    assert deletes_the_cookie(public)
    assert dev.count(SESSION_LOOKUPS) == 1  # "ended" is cached too


def test_a_token_for_a_session_the_api_never_knew_is_logged_out(dev: DevApi, managed_app: AppFactory) -> None:
    app = managed_app()
    issuer = dev.app.extensions["dev_loginrocket"].issuer
    token = issuer.issue(login_claims({"id": "usr_ada", "first_name": "Ada"}, session_id="kss_never_created"))
    client = app.test_client()
    client.set_cookie("arToken", token)

    with client:
        answer = client.get("/private")
        reason = g.authrocket.rejection.reason

    assert answer.status_code == 302
    assert reason == "session_ended"
    assert deletes_the_cookie(answer)
    assert dev.count(SESSION_LOOKUPS) == 1


def test_an_ended_sessions_bearer_token_gets_401_invalid_token(dev: DevApi, managed_app: AppFactory) -> None:
    cache = SimpleCache()
    app = managed_app(AUTHROCKET_CACHE=cache)
    session_id, token = new_session(dev)
    client = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=bearer).json["id"] == "usr_ada"

    end_session_in_the_api(dev, session_id)
    cache.clear()
    with client:
        answer = client.get("/api/me", headers=bearer)
        reason = g.authrocket.rejection.reason

    assert answer.status_code == 401
    assert answer.json == {"error": "invalid_token", "message": "the session was logged out"}
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="authrocket", error="invalid_token"')
    assert reason == "session_ended"
    assert "Set-Cookie" not in answer.headers


# The API cannot be asked ------------------------------------------------------------------------


def test_when_the_api_is_unreachable_open_trusts_verified_tokens_and_warns_once(
    dev: DevApi, managed_app: AppFactory, refused_url: str, logs: pytest.LogCaptureFixture
) -> None:
    app = managed_app(AUTHROCKET_URL=refused_url + "v2")  # "open" is the default
    _, token = new_session(dev)
    client = app.test_client()

    log_in(client, token)
    pages = [client.get("/private") for _ in range(5)]
    bearer = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"})

    assert [page.status_code for page in pages] == [200] * 5
    assert bearer.json["id"] == "usr_ada"
    warnings = warnings_of(logs)
    assert len(warnings) == 1
    assert "the AuthRocket API could not be asked" in warnings[0]
    assert "AUTHROCKET_SESSION_CHECK_FAILURE = 'open'" in warnings[0]
    assert token not in logged_text(logs)


def test_an_open_outage_is_not_cached_checking_resumes_when_the_api_answers(
    dev: DevApi, managed_app: AppFactory, logs: pytest.LogCaptureFixture
) -> None:
    app = managed_app(AUTHROCKET_SESSION_CHECK_FAILURE="open")
    session_id, token = new_session(dev)
    client = app.test_client()
    dev.fault(status=503, count=3, method="GET", path="sessions")
    dev.reset_stats()

    log_in(client, token)
    trusted = [client.get("/private").status_code for _ in range(2)]
    end_session_in_the_api(dev, session_id)
    answered = client.get("/private")

    assert trusted == [200, 200]
    assert dev.count(SESSION_LOOKUPS) == 4  # three 503s, then the answer: the outage was never cached
    assert answered.status_code == 302
    assert deletes_the_cookie(answered)
    assert len(warnings_of(logs)) == 1
    assert "Managed sessions: the AuthRocket API answers again." in logged_text(logs)


def test_a_wrong_authrocket_url_is_an_api_that_cannot_be_asked_not_every_session_ended(
    dev: DevApi, managed_app: AppFactory, logs: pytest.LogCaptureFixture
) -> None:
    app = managed_app(AUTHROCKET_URL=dev.root)  # LoginRocket's URL, a common mix-up: its pages answer HTML 404s
    _, token = new_session(dev)
    client = app.test_client()
    client.set_cookie("arToken", token)

    answer = client.get("/private")

    assert (answer.status_code, answer.text) == (200, "private for usr_ada")  # "open": the verified token holds
    assert not deletes_the_cookie(answer)
    warnings = warnings_of(logs)
    assert len(warnings) == 2  # the page that is not the API's, naming the setting; then the failure mode
    assert "answered 404 with a page that is not the API's" in warnings[0]
    assert "check AUTHROCKET_URL" in warnings[0] and token not in warnings[0]


def test_when_the_api_fails_closed_guarded_views_answer_503_and_the_cookie_is_kept(
    dev: DevApi, managed_app: AppFactory, logs: pytest.LogCaptureFixture
) -> None:
    app = managed_app(AUTHROCKET_SESSION_CHECK_FAILURE="closed")
    _, token = new_session(dev)
    client = app.test_client()
    client.set_cookie("arToken", token)
    dev.fault(status=503, count=3, method="GET", path="sessions")

    with client:
        guarded = client.get("/private")
        reason = g.authrocket.rejection.reason
    api = client.get("/api/me", headers={"Accept": "application/json"})
    public = client.get("/")

    assert guarded.status_code == 503
    assert guarded.headers["Retry-After"].isdigit() and int(guarded.headers["Retry-After"]) >= 1
    assert reason == "session_unavailable"
    assert (api.status_code, api.json["error"]) == (503, "login_unavailable")
    assert "AuthRocket API could not be reached" in api.json["message"]  # not LoginRocket: its keys are fine
    assert (public.status_code, public.text) == (200, "Logged out")
    for answer in (guarded, api, public):
        assert "Set-Cookie" not in answer.headers
    kept = client.get_cookie("arToken")
    assert kept is not None and kept.value == token
    warnings = warnings_of(logs)
    assert len(warnings) == 1 and "AUTHROCKET_SESSION_CHECK_FAILURE = 'closed'" in warnings[0]

    back = client.get("/private")  # the faults are used up: the API answers again
    assert (back.status_code, back.text) == (200, "private for usr_ada")


def test_closed_failure_on_a_refused_port_stores_no_cookie_and_answers_bearer_clients_503(
    dev: DevApi, managed_app: AppFactory, refused_url: str
) -> None:
    app = managed_app(AUTHROCKET_URL=refused_url + "v2", AUTHROCKET_SESSION_CHECK_FAILURE="closed")
    _, token = new_session(dev)
    client = app.test_client()

    arrival = client.get("/?token=" + token)  # the login cannot be confirmed: no cookie is stored
    bearer = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})

    assert (arrival.status_code, arrival.text) == (200, "Logged out")
    assert client.get_cookie("arToken") is None
    assert bearer.status_code == 503
    assert bearer.json["error"] == "login_unavailable"
    assert "Retry-After" in bearer.headers


# Logging out ------------------------------------------------------------------------------------


def test_full_logout_ends_the_session_for_every_app_sharing_the_cache(dev: DevApi, managed_app: AppFactory) -> None:
    shared = SimpleCache()
    first, second = managed_app(AUTHROCKET_CACHE=shared), managed_app(AUTHROCKET_CACHE=shared)
    session_id, token = new_session(dev)
    on_first, on_second = first.test_client(), second.test_client()
    dev.reset_stats()
    log_in(on_first, token)
    log_in(on_second, token)
    assert on_second.get("/private").status_code == 200
    assert dev.stats()["counts"] == {SESSION_LOOKUPS: 1}  # the second app found the answer in the shared cache

    logout = on_first.get("/logout")

    assert logout.status_code == 302
    assert logout.headers["Location"].startswith(dev.root + "logout?")
    assert f"session={session_id}" in logout.headers["Location"]
    assert deletes_the_cookie(logout)
    assert dev.stats()["counts"] == {SESSION_LOOKUPS: 1, SESSION_DELETES: 1}
    with on_second:
        elsewhere = on_second.get("/private")
        reason = g.authrocket.rejection.reason
    assert elsewhere.status_code == 302
    assert reason == "session_ended"
    assert deletes_the_cookie(elsewhere)
    assert dev.count(SESSION_LOOKUPS) == 1  # "ended" came from the cache, at once
    assert dev.call("GET", f"sessions/{token}").status_code == 404


def test_local_logout_leaves_the_session_alive(dev: DevApi, managed_app: AppFactory) -> None:
    shared = SimpleCache()
    first = managed_app(AUTHROCKET_CACHE=shared, AUTHROCKET_LOGOUT="local")
    second = managed_app(AUTHROCKET_CACHE=shared)
    _, token = new_session(dev)
    on_first, on_second = first.test_client(), second.test_client()
    log_in(on_first, token)
    log_in(on_second, token)

    logout = on_first.get("/logout")

    assert (logout.status_code, logout.headers["Location"]) == (302, "http://localhost/")
    assert deletes_the_cookie(logout)
    assert on_first.get("/private").status_code == 302
    assert on_second.get("/private").text == "private for usr_ada"
    assert dev.count(SESSION_DELETES) == 0
    assert dev.call("GET", f"sessions/{token}").status_code == 200


# The cache, and managed sessions off ------------------------------------------------------------


def test_a_broken_cache_never_turns_into_a_500(
    dev: DevApi, managed_app: AppFactory, refused_redis_url: str, logs: pytest.LogCaptureFixture
) -> None:
    app = managed_app(AUTHROCKET_CACHE=refused_redis_url)
    client, _, token = logged_in(dev, app)

    pages = [client.get("/private") for _ in range(4)]
    logout = client.get("/logout")

    assert [(page.status_code, page.text) for page in pages] == [(200, "private for usr_ada")] * 4
    assert logout.status_code == 302
    # The API, asked once (its answer kept in the process while the cache is down), and the session ended.
    assert dev.stats()["counts"] == {SESSION_LOOKUPS: 1, SESSION_DELETES: 1}
    warnings = warnings_of(logs)
    assert len(warnings) == 1
    assert "AUTHROCKET_CACHE failed" in warnings[0]
    assert token not in logged_text(logs)


def test_without_managed_sessions_the_api_is_never_asked(dev: DevApi, make_app: AppFactory) -> None:
    app = make_app(LOGINROCKET_URL=dev.root, AUTHROCKET_URL=dev.url, AUTHROCKET_API_KEY=dev.api_key)
    client, session_id, token = logged_in(dev, app)

    pages = [client.get("/private").status_code for _ in range(3)]
    bearer = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    logout = client.get("/logout")

    assert pages == [200] * 3
    assert bearer.status_code == 200
    assert f"session={session_id}" in logout.headers["Location"]
    assert dev.stats()["total"] == 0
    with app.app_context():
        assert app.extensions["authrocket"].session_check is None


def test_without_loginrocket_url_the_default_logout_still_ends_the_managed_session(
    dev: DevApi, managed_app: AppFactory
) -> None:
    pem = dev.app.extensions["dev_loginrocket"].issuer.public_key_pem()
    app = managed_app(LOGINROCKET_URL=None, AUTHROCKET_JWT_KEY=pem)
    session_id, token = new_session(dev)
    client = app.test_client()
    client.set_cookie("arToken", token)

    answer = client.get("/logout")

    assert answer.status_code == 302
    assert answer.headers["Location"] == "http://localhost/"  # no LoginRocket to send the browser to
    assert dev.count("DELETE /v2/sessions/<session_ref>") == 1
    with dev.client() as api:
        assert api.sessions.retrieve(session_id) is None


def test_an_api_that_does_not_answer_is_asked_once_not_on_every_request(
    dev: DevApi, managed_app: AppFactory, logs: pytest.LogCaptureFixture
) -> None:
    from test_client import RawServer

    silent = RawServer()  # accepts connections and never answers
    try:
        # The static key: the short timeout bounds the silent API alone, not a key fetch as well.
        pem = dev.app.extensions["dev_loginrocket"].issuer.public_key_pem()
        app = managed_app(AUTHROCKET_JWT_KEY=pem, AUTHROCKET_URL=silent.url, AUTHROCKET_HTTP_TIMEOUT=0.3)
        _, token = new_session(dev)
        client = app.test_client()
        client.set_cookie("arToken", token)

        pages = [client.get("/private").status_code for _ in range(5)]
        wait_until(lambda: silent.connections >= 1, timeout=30)  # counted by the server's own thread
    finally:
        silent.close()

    assert pages == [200] * 5  # "open": verified tokens are trusted meanwhile
    assert silent.connections == 1  # one timeout paid, not five
    assert len(warnings_of(logs)) == 1


def test_a_logout_is_remembered_until_the_token_expires_not_only_for_the_ttl(
    dev: DevApi, managed_app: AppFactory
) -> None:
    cache = SimpleCache()
    app = managed_app(AUTHROCKET_CACHE=cache, AUTHROCKET_SESSION_CHECK_TTL=1)
    session_id, token = new_session(dev)
    client = app.test_client()
    client.set_cookie("arToken", token)
    client.get("/logout")

    entry = cache._cache["session:{" + session_id + "}:ended"]
    assert entry[0] - time.time() > 60  # cachelib keeps (expiry, value): far beyond the 1 s TTL


# A logout is never undone -----------------------------------------------------------------------


class HeldApi:
    """A loopback proxy to the development API that holds back its first answer to a session lookup.

    The lookup reaches the API at once; its answer is held until ``release``,
    so a test can log out while a check that asked before the logout is still
    in flight, as a slow API makes happen by itself.
    """

    def __init__(self, dev: DevApi) -> None:
        self.dev = dev
        self.asked = threading.Event()
        self.released = threading.Event()
        self._held = False
        self.app = Flask("held_api")
        self.app.add_url_rule("/<path:path>", view_func=self.forward, methods=["GET", "POST", "PUT", "DELETE"])

    def hold_next(self) -> None:
        """Hold the answer to the next session lookup too (until ``release`` is set again)."""
        self.asked.clear()
        self.released.clear()
        self._held = False

    def forward(self, path: str) -> Response:
        headers = {name: value for name, value in request.headers if name.lower() not in ("host", "content-length")}
        answer = requests.request(
            request.method,
            self.dev.root + path,
            params=request.args,
            data=request.get_data(),
            headers=headers,
            timeout=10,
        )
        if request.method == "GET" and path.startswith("v2/sessions/") and not self._held:
            self._held = True
            self.asked.set()
            assert self.released.wait(10), "the test never released the held answer"
        return Response(answer.content, answer.status_code, content_type=answer.headers.get("Content-Type"))


@contextmanager
def held_api(dev: DevApi) -> Iterator[tuple[HeldApi, str]]:
    """The held proxy, served on 127.0.0.1, and the AUTHROCKET_URL that goes through it."""
    api = HeldApi(dev)
    try:
        with serving(api.app) as url:
            yield api, url + "v2"
    finally:
        api.released.set()


@contextmanager
def a_page_in_flight(app: Flask, token: str, api: HeldApi) -> Iterator[dict[str, int]]:
    """A tab of ``app`` asks for /private with ``token``; the block runs while the API's answer is held
    back (the API said "known", the answer is on its way back); then the tab's status is in the dict."""
    in_flight: dict[str, int] = {}

    def open_a_page() -> None:
        tab = app.test_client()
        tab.set_cookie("arToken", token)
        in_flight["status"] = tab.get("/private").status_code

    tab = threading.Thread(target=open_a_page)
    tab.start()
    assert api.asked.wait(10)
    try:
        yield in_flight
    finally:
        api.released.set()
        tab.join(10)


def test_a_check_in_flight_when_the_user_logs_out_does_not_undo_the_logout(
    dev: DevApi, managed_app: AppFactory
) -> None:
    shared = SimpleCache()
    session_id, token = new_session(dev)
    with held_api(dev) as (api, api_url):
        # Two workers on one cache. Failing "closed", a page the API did not answer would be a 503:
        # the tab's 200 below is the API's "known", arriving after the logout.
        settings = {
            "AUTHROCKET_URL": api_url,
            "AUTHROCKET_CACHE": shared,
            "AUTHROCKET_SESSION_CHECK_FAILURE": "closed",
            "AUTHROCKET_HTTP_TIMEOUT": 30,  # the held look-up outlasts the other worker's logout, however slow
        }
        app = managed_app(**settings)
        other = managed_app(**settings)  # another worker on the same cache
        with a_page_in_flight(app, token, api) as in_flight:
            # The logout reaches the other worker: in the tab's own, the request would wait for the
            # look-up in flight (one per session per process) and come after its answer.
            browser = other.test_client()
            browser.set_cookie("arToken", token)
            logout = browser.get("/logout")

        assert logout.status_code == 302
        assert dev.count(SESSION_DELETES) == 1
        assert in_flight == {"status": 200}  # that page was asked for before the logout, and answered after it
        pages = []
        for each in (app, other):
            client = each.test_client()
            client.set_cookie("arToken", token)
            with client:
                page = client.get("/private")
                pages.append((page.status_code, g.authrocket.rejection.reason))

    assert pages == [(302, "session_ended"), (302, "session_ended")]
    assert shared.get(f"session:{{{session_id}}}:ended")["answer"] == "ended"


def test_in_process_an_answer_arriving_after_a_logout_does_not_undo_it(dev: DevApi, managed_app: AppFactory) -> None:
    # Without a shared cache, a session's fresh "known" answer is one dict lookup away. A logout
    # made through the check while a look-up is in flight (an app calling end() itself: a request
    # of the same process would wait for that look-up) must still win over the answer that
    # arrives after it. Failing "closed", the tab's 200 can only be the API's "known".
    _, token = new_session(dev)
    with held_api(dev) as (api, api_url):
        app = managed_app(AUTHROCKET_URL=api_url, AUTHROCKET_SESSION_CHECK_FAILURE="closed", AUTHROCKET_HTTP_TIMEOUT=30)
        with app.app_context():
            check = app.extensions["authrocket"].session_check
        with a_page_in_flight(app, token, api) as in_flight:
            check.end(verified(dev, token))

        client = app.test_client()
        client.set_cookie("arToken", token)
        with client:
            page = client.get("/private")
            reason = g.authrocket.rejection.reason

    assert in_flight == {"status": 200}  # asked before the logout, answered after it
    assert (page.status_code, reason) == (302, "session_ended")


def test_in_process_a_known_answer_is_served_for_the_ttl_and_a_logout_ends_it_at_once(
    dev: DevApi, managed_app: AppFactory
) -> None:
    clock = Clock(time.monotonic())
    _, token = new_session(dev)
    app = managed_app()
    with app.app_context():
        check = app.extensions["authrocket"].session_check
    check._clock = clock  # the check's own clock: "fresh for the TTL" is measured on it
    client = app.test_client()
    client.set_cookie("arToken", token)

    for _ in range(3):
        assert client.get("/private").status_code == 200
    asked = dev.count(SESSION_LOOKUPS)
    clock.advance(check.ttl + 1)
    assert client.get("/private").status_code == 200
    assert (asked, dev.count(SESSION_LOOKUPS)) == (1, 2)

    assert client.get("/logout").status_code == 302
    client.set_cookie("arToken", token)  # the browser kept a copy
    assert client.get("/private").status_code == 302  # at once, though its answer was fresh


# The shared cache down, or written by someone else ---------------------------------------------


def verified(dev: DevApi, token: str) -> Session:
    """The verified session of a token of the development LoginRocket."""
    pem = dev.app.extensions["dev_loginrocket"].issuer.public_key_pem()
    session = TokenVerifier(jwt_key=pem).verify(token)
    assert isinstance(session, Session), session
    return session


def test_with_the_shared_cache_down_a_session_costs_one_api_call_per_ttl_per_process(
    dev: DevApi, refused_redis_url: str, logs: pytest.LogCaptureFixture
) -> None:
    clock = Clock(now=1000.0)
    _, token = new_session(dev)
    session = verified(dev, token)
    with dev.client(retries=0) as api:
        check = SessionCheck(api.sessions, build_cache(refused_redis_url), ttl=300, clock=clock)
        dev.reset_stats()

        first = [check.state(session) for _ in range(5)]
        clock.advance(299)
        still = check.state(session)
        assert dev.count(SESSION_LOOKUPS) == 1
        clock.advance(1)  # the TTL is over: asked again, once
        later = [check.state(session) for _ in range(5)]

    assert first == [SessionState.KNOWN] * 5
    assert still == SessionState.KNOWN
    assert later == [SessionState.KNOWN] * 5
    assert dev.count(SESSION_LOOKUPS) == 2
    warnings = warnings_of(logs)
    assert warnings == [
        "Managed sessions: AUTHROCKET_CACHE failed (ConnectionError); keeping the answers in this process "
        "for the next 1 s."  # then one request probes it, every second, until it answers
    ]


def test_a_redis_that_stops_does_not_send_every_request_to_the_api(
    dev: DevApi, managed_app: AppFactory, redis_server: RedisServer
) -> None:
    app = managed_app(AUTHROCKET_CACHE=redis_server.url)
    client, _, _ = logged_in(dev, app)
    assert dev.count(SESSION_LOOKUPS) == 1

    redis_server.stop()
    pages = [client.get("/private") for _ in range(6)]
    assert [page.status_code for page in pages] == [200] * 6
    # Not once a request, and not even once more: this process kept its own copy of the answer it fetched.
    assert dev.count(SESSION_LOOKUPS) == 1


@pytest.mark.parametrize("planted", ["code", "known"])
def test_a_pickle_planted_under_a_sessions_keys_never_runs_and_never_revives_it(
    dev: DevApi, managed_app: AppFactory, redis_server: RedisServer, tmp_path: Path, planted: str
) -> None:
    marker = tmp_path / "unpickled"
    app = managed_app(AUTHROCKET_CACHE=redis_server.url)
    session_id, token = new_session(dev)
    end_session_in_the_api(dev, session_id)
    # Every key the extension could read for this session holds a pickle: one that runs code when
    # unpickled, or one that says "known" to revive the session that was logged out.
    value = planted_pickle(marker) if planted == "code" else b"!" + pickle.dumps({"answer": "known", "at": time.time()})
    raw = redis_server.client()
    for key in (f"flask_authrocket:session:{{{session_id}}}:ended", f"flask_authrocket:session:{{{session_id}}}:known"):
        raw.set(key, value)
    client = app.test_client()
    client.set_cookie("arToken", token)
    dev.reset_stats()

    with client:
        page = client.get("/private")
        reason = g.authrocket.rejection.reason

    assert (page.status_code, reason) == (302, "session_ended")
    assert not marker.exists()
    assert dev.count(SESSION_LOOKUPS) == 1  # the planted values were misses: the API was asked


# At deployment scale: one look-up per session per TTL, and outages that revive no logout ---------


def checks_of(dev: DevApi, cache: Any, count: int, **options: Any) -> list[SessionCheck]:
    """``count`` session checks (as ``count`` workers would have) on one cache, each with its own API client."""
    return [SessionCheck(dev.client(retries=0).sessions, cache, **options) for _ in range(count)]


def test_concurrent_requests_for_a_session_whose_answer_expired_make_one_lookup_in_a_process(
    dev: DevApi,
) -> None:
    _, token = new_session(dev)
    session = verified(dev, token)
    with held_api(dev) as (api, api_url):
        check = SessionCheck(dev.client(url=api_url, retries=0).sessions, build_cache(None), ttl=300)
        answers: list[SessionState] = []
        asking = [threading.Thread(target=lambda: answers.append(check.state(session))) for _ in range(8)]
        dev.reset_stats()
        asking[0].start()
        assert api.asked.wait(10)  # the first request's look-up reached the API; its answer is held
        for thread in asking[1:]:
            thread.start()
        wait_until(lambda: check.stats.joined == 7)  # the seven others wait for that answer, asking nothing
        api.released.set()
        for thread in asking:
            thread.join(10)

    assert answers == [SessionState.KNOWN] * 8
    assert dev.count(SESSION_LOOKUPS) == 1
    assert check.stats.lookups == 1


def test_when_a_shared_answer_expires_one_worker_asks_while_the_others_keep_the_stale_answer(
    dev: DevApi, redis_server: RedisServer
) -> None:
    session_id, token = new_session(dev)
    session = verified(dev, token)
    with held_api(dev) as (api, api_url):
        # Two workers on one Redis; the API's answers to the first go through the proxy that holds one.
        asking = SessionCheck(  # its lock (the timeout and a second) outlasts any pause of a busy machine
            dev.client(url=api_url, retries=0).sessions, build_cache(redis_server.url), ttl=300, timeout=30
        )
        waiting = checks_of(dev, build_cache(redis_server.url), 1, ttl=300)[0]
        assert waiting.state(session) == SessionState.KNOWN
        stale = json.dumps({"answer": "known", "at": time.time() - 301})  # asked for longer ago than the TTL
        redis_server.client().set(f"flask_authrocket:session:{{{session_id}}}:known", stale)
        dev.reset_stats()

        first: list[SessionState] = []
        thread = threading.Thread(target=lambda: first.append(asking.state(session)))
        thread.start()
        assert api.asked.wait(10)  # one worker took the lock and asked
        others = [waiting.state(session) for _ in range(5)]  # the other worker does not ask meanwhile
        api.released.set()
        thread.join(10)

    assert first == [SessionState.KNOWN]
    assert others == [SessionState.KNOWN] * 5
    assert dev.count(SESSION_LOOKUPS) == 1
    assert (asking.stats.lookups, waiting.stats.lookups) == (1, 1)  # the other's one is the first, before the TTL
    assert waiting.stats.stale == 5
    known = redis_server.client().get(f"flask_authrocket:session:{{{session_id}}}:known")
    assert json.loads(known or "null")["answer"] == "known"


def test_a_recovered_shared_cache_is_used_again_within_a_second(dev: DevApi, redis_server: RedisServer) -> None:
    clock = Clock(now=1000.0)
    _, first_token = new_session(dev)
    second_id, second_token = new_session(dev, "usr_grace")
    first, second = verified(dev, first_token), verified(dev, second_token)
    check = checks_of(dev, build_cache(redis_server.url), 1, ttl=300, clock=clock)[0]

    redis_server.stop()
    assert check.state(first) == SessionState.KNOWN  # the cache fails: the answer is kept in the process
    redis_server.start()
    clock.advance(1)  # one probe a second, not one every 30 s
    assert check.state(second) == SessionState.KNOWN

    known = redis_server.client().get(f"flask_authrocket:session:{{{second_id}}}:known")
    assert json.loads(known or "null")["answer"] == "known"


def test_after_redis_comes_back_empty_a_process_keeps_its_own_answers_for_their_ttl(
    dev: DevApi, redis_server: RedisServer
) -> None:
    clock = Clock(now=1000.0)
    _, token = new_session(dev)
    session = verified(dev, token)
    check = checks_of(dev, build_cache(redis_server.url), 1, ttl=300, clock=clock)[0]
    dev.reset_stats()
    assert check.state(session) == SessionState.KNOWN

    redis_server.stop()
    assert check.state(session) == SessionState.KNOWN
    redis_server.start()  # empty: it saves nothing
    clock.advance(31)
    back = [check.state(session) for _ in range(3)]
    assert dev.count(SESSION_LOOKUPS) == 1  # the answer of 31 s ago, fetched by this process, still holds
    clock.advance(270)  # its TTL is over: asked again, once, and shared again
    again = [check.state(session) for _ in range(3)]

    assert back == again == [SessionState.KNOWN] * 3
    assert dev.count(SESSION_LOOKUPS) == 2
    known = redis_server.client().get(f"flask_authrocket:session:{{{session.id}}}:known")
    assert json.loads(known or "null")["answer"] == "known"


@pytest.mark.parametrize("failure", ["open", "closed"])
def test_a_session_last_known_ended_stays_ended_while_the_api_cannot_answer(
    dev: DevApi, refused_url: str, failure: str
) -> None:
    clock = Clock(now=1000.0)
    session_id, token = new_session(dev)
    session = verified(dev, token)
    check = checks_of(dev, build_cache(None), 1, ttl=2, failure=failure, clock=clock)[0]
    assert check.state(session) == SessionState.KNOWN
    end_session_in_the_api(dev, session_id)
    clock.advance(2)
    assert check.state(session) == SessionState.ENDED

    clock.advance(5)  # long past the TTL of that answer
    check.sessions = dev.client(url=refused_url + "v2", retries=0).sessions  # the API stops answering
    during = [check.state(session) for _ in range(3)]
    clock.advance(11)  # past UNREACHABLE_RETRY_INTERVAL: asked again, and still no answer
    later = check.state(session)

    assert during == [SessionState.ENDED] * 3
    assert later == SessionState.ENDED


def test_a_session_ended_in_the_shared_cache_stays_ended_beyond_the_ttl_in_every_worker(
    dev: DevApi, redis_server: RedisServer, refused_url: str
) -> None:
    session_id, token = new_session(dev)
    session = verified(dev, token)
    end_session_in_the_api(dev, session_id)
    first, second = checks_of(dev, build_cache(redis_server.url), 2, ttl=2)
    assert first.state(session) == SessionState.ENDED

    ttl = redis_server.client().ttl(f"flask_authrocket:session:{{{session_id}}}:ended")
    second.sessions = dev.client(url=refused_url + "v2", retries=0).sessions

    assert ttl > 60  # until the token expires, not for the 2 s TTL
    assert second.state(session) == SessionState.ENDED


def test_closed_keeps_a_session_confirmed_alive_within_the_grace_period_and_decides_only_without_one(
    dev: DevApi, refused_url: str, logs: pytest.LogCaptureFixture
) -> None:
    clock = Clock(now=1000.0)
    _, token = new_session(dev)
    _, never_asked_token = new_session(dev, "usr_grace")
    session, never_asked = verified(dev, token), verified(dev, never_asked_token)
    check = checks_of(dev, build_cache(None), 1, ttl=2, failure="closed", clock=clock)[0]
    assert check.grace == 6  # three TTLs when not set
    assert check.state(session) == SessionState.KNOWN

    check.sessions = dev.client(url=refused_url + "v2", retries=0).sessions
    clock.advance(3)  # past the TTL, within the grace period
    within = check.state(session)
    unanswered = check.state(never_asked)
    clock.advance(3)  # the grace period is over
    after = check.state(session)

    assert within == SessionState.KNOWN  # not a 503
    assert unanswered == SessionState.UNAVAILABLE  # no answer at all: "closed" decides
    assert after == SessionState.UNAVAILABLE
    assert "confirmed alive in the last 6 s keep working" in warnings_of(logs)[0]


def test_the_grace_period_is_a_setting(dev: DevApi, managed_app: AppFactory) -> None:
    default = managed_app(AUTHROCKET_SESSION_CHECK_TTL=10)
    chosen = managed_app(
        AUTHROCKET_SESSION_CHECK_TTL=10, AUTHROCKET_SESSION_CHECK_GRACE="45", AUTHROCKET_HTTP_TIMEOUT=2
    )
    short = managed_app(AUTHROCKET_SESSION_CHECK_TTL=10, AUTHROCKET_SESSION_CHECK_GRACE=4)

    with default.app_context():
        assert default.extensions["authrocket"].session_check.grace == 30
    with chosen.app_context():
        check = chosen.extensions["authrocket"].session_check
    assert (check.grace, check.timeout) == (45, 2)
    with short.app_context():
        assert short.extensions["authrocket"].session_check.grace == 10  # never less than the TTL
    for value in (-1, "soon", True):
        with pytest.raises(ConfigurationError, match="AUTHROCKET_SESSION_CHECK_GRACE"):
            managed_app(AUTHROCKET_SESSION_CHECK_GRACE=value)


def test_the_local_ttl_is_a_setting_and_defaults_to_reading_the_shared_cache_every_time(
    managed_app: AppFactory,
) -> None:
    default = managed_app()
    chosen = managed_app(AUTHROCKET_SESSION_CHECK_LOCAL_TTL="1.5")

    with default.app_context():
        assert default.extensions["authrocket"].session_check.local_ttl == 0
    with chosen.app_context():
        assert chosen.extensions["authrocket"].session_check.local_ttl == 1.5
    for value in (-1, "soon", True, float("nan")):
        with pytest.raises(ConfigurationError, match="AUTHROCKET_SESSION_CHECK_LOCAL_TTL"):
            managed_app(AUTHROCKET_SESSION_CHECK_LOCAL_TTL=value)


def test_a_logout_seen_by_one_worker_is_seen_by_another_through_the_shared_cache(
    dev: DevApi, redis_server: RedisServer
) -> None:
    _, token = new_session(dev)
    session = verified(dev, token)
    first, second = checks_of(dev, build_cache(redis_server.url), 2, ttl=300)
    dev.reset_stats()
    assert [first.state(session), second.state(session)] == [SessionState.KNOWN] * 2
    assert dev.count(SESSION_LOOKUPS) == 1  # the answer one worker fetched serves the other

    first.end(session)

    assert second.state(session) == SessionState.ENDED
    assert dev.count(SESSION_LOOKUPS) == 1
