"""Single sign-out, end to end: two example apps (two processes) on one development LoginRocket.

A user logs in on both apps; a logout on one is seen by the other. With a real
Redis server shared by both (``AUTHROCKET_CACHE``), at once; with a cache per
process, within ``AUTHROCKET_SESSION_CHECK_TTL`` (1 s there, its least value).
Everything runs for real on 127.0.0.1: redis-server (Debian's package), the
development LoginRocket with its Core API under /v2, and the example app under
``flask run``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from helpers import reserved_port, serving

from flask_authrocket.dev import create_app as create_loginrocket

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "ks_single_sign_out_test"
#: AUTHROCKET_SESSION_CHECK_TTL of the apps sharing Redis: nothing waits for it, and the answers
#: must outlive a slow test.
SHARED_TTL = 60
#: ... and of the apps with a cache each: the least, since the test waits for it to run out.
SEPARATE_TTL = 1


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the process for port {port} exited with {process.returncode}"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free loopback port, stopped after the module."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is missing: run `make test`, which installs it (apt-get install redis-server).")
    folder = tmp_path_factory.mktemp("redis")
    with reserved_port() as port:
        options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        process = subprocess.Popen([server, *options, "--dir", str(folder)], stdout=subprocess.DEVNULL)
        try:
            wait_for_port(port, process)
            # 10 s: a live server answering late on a busy machine is not an outage.
            yield f"redis://127.0.0.1:{port}/0?socket_timeout=10&socket_connect_timeout=10"
        finally:
            stop(process)


@dataclass
class Realm:
    loginrocket_url: str
    app_urls: tuple[str, str]


@pytest.fixture
def realm(tmp_path: Path) -> Iterator[Realm]:
    """The development LoginRocket (in a thread) that knows both apps' Login URLs (their ports reserved)."""
    with reserved_port() as first, reserved_port() as second:
        app_urls = (f"http://127.0.0.1:{first}/", f"http://127.0.0.1:{second}/")
        loginrocket = create_loginrocket(
            {
                "DEV_LOGINROCKET_LOGIN_URLS": list(app_urls),
                "DEV_LOGINROCKET_INSTANCE_PATH": str(tmp_path / "loginrocket"),
                "DEV_LOGINROCKET_API_KEY": API_KEY,
            }
        )
        with serving(loginrocket) as url:
            yield Realm(url, app_urls)


def start_example(realm: Realm, number: int, instance: Path, cache: str | None, ttl: int) -> subprocess.Popen[bytes]:
    """Example app ``number`` in its own process, with managed sessions on.

    Browsers share cookies between ports of one host, so each app names its
    login cookie differently, as two apps on one domain would.
    """
    app_url = realm.app_urls[number]
    port = int(app_url.rstrip("/").rsplit(":", 1)[1])
    env = {
        **os.environ,
        "LOGINROCKET_URL": realm.loginrocket_url,
        "AUTHROCKET_URL": realm.loginrocket_url + "v2",
        "AUTHROCKET_API_KEY": API_KEY,
        "EXAMPLE_INSTANCE_PATH": str(instance),
        "EXAMPLE_AUTHROCKET_MANAGED_SESSIONS": "true",
        "EXAMPLE_AUTHROCKET_SESSION_CHECK_TTL": str(ttl),
        "EXAMPLE_AUTHROCKET_COOKIE_NAME": f'"arToken{number}"',
    }
    env.pop("AUTHROCKET_JWT_KEY", None)
    if cache:
        env["EXAMPLE_AUTHROCKET_CACHE"] = f'"{cache}"'  # from_prefixed_env parses values as JSON
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "examples.app:create_app", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process)
    return process


def log_in_as_ada(browser: requests.Session, realm: Realm, app_url: str) -> None:
    """Open the app's dashboard; log in at the development LoginRocket if it asks."""
    page = browser.get(app_url + "dashboard/", timeout=10)
    if page.url.startswith(realm.loginrocket_url):
        form = dict(re.findall(r'name="(csrf_token|redirect_uri)" value="([^"]*)"', page.text))
        page = browser.post(realm.loginrocket_url + "login", data={**form, "demo_user": "usr_ada"}, timeout=10)
    assert page.url == app_url + "dashboard/", page.url
    assert "Ada Lovelace" in page.text


def is_logged_in(browser: requests.Session, app_url: str) -> bool:
    answer = browser.get(app_url + "dashboard/", allow_redirects=False, timeout=10)
    assert answer.status_code in (200, 302), answer.status_code
    return answer.status_code == 200


def seconds_until_logged_out(browser: requests.Session, app_url: str, limit: float) -> float:
    """Poll the app until it has the user logged out; fail after ``limit`` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if not is_logged_in(browser, app_url):
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"{app_url} still had the user logged in {limit} s after the logout")


@contextmanager
def two_examples(realm: Realm, tmp_path: Path, cache: str | None, ttl: int) -> Iterator[Realm]:
    processes = [start_example(realm, n, tmp_path / f"example-{n}", cache, ttl) for n in range(2)]
    try:
        yield realm
    finally:
        for process in processes:
            stop(process)


@pytest.fixture
def redis_two_apps(redis_url: str, realm: Realm, tmp_path: Path) -> Iterator[Realm]:
    """Both example apps with AUTHROCKET_CACHE on the shared Redis server."""
    with two_examples(realm, tmp_path, redis_url, SHARED_TTL) as apps:
        yield apps


@pytest.fixture
def separate_two_apps(realm: Realm, tmp_path: Path) -> Iterator[Realm]:
    """Both example apps with their own in-process cache."""
    with two_examples(realm, tmp_path, None, SEPARATE_TTL) as apps:
        yield apps


def log_in_on_both_then_log_out_of_the_first(realm: Realm) -> tuple[requests.Session, float]:
    """The browser, logged out of the first app, and the time (monotonic) just before the second app saw the login.

    The second app asks the API about the session when the login reaches it, so its answer is
    no older than that time.
    """
    first, second = realm.app_urls
    browser = requests.Session()
    log_in_as_ada(browser, realm, first)
    before_second = time.monotonic()
    log_in_as_ada(browser, realm, second)  # LoginRocket remembers her: no second login form
    assert is_logged_in(browser, first) and is_logged_in(browser, second)
    logout = browser.get(first + "logout", timeout=10)
    assert logout.url == first
    assert not is_logged_in(browser, first)
    return browser, before_second


def test_a_logout_on_one_app_logs_out_the_other_at_once_through_a_shared_redis(redis_two_apps):
    browser, _ = log_in_on_both_then_log_out_of_the_first(redis_two_apps)

    assert not is_logged_in(browser, redis_two_apps.app_urls[1])


def test_with_a_cache_per_process_the_other_app_logs_out_within_the_ttl(separate_two_apps):
    browser, before_second = log_in_on_both_then_log_out_of_the_first(separate_two_apps)
    second = separate_two_apps.app_urls[1]

    still_logged_in = is_logged_in(browser, second)
    if time.monotonic() - before_second < SEPARATE_TTL:
        # Its own cache still holds the API's answer from before the logout. (On a machine so
        # loaded that the TTL ran out meanwhile, the app rightly asked again: nothing to assert.)
        assert still_logged_in
    seconds_until_logged_out(browser, second, limit=SEPARATE_TTL + 10)


def test_the_shared_cache_saves_api_calls_across_processes(redis_two_apps, redis_url):
    import redis

    first, second = redis_two_apps.app_urls
    shared = redis.Redis.from_url(redis_url)
    shared.flushdb()  # the server is shared by this module's tests
    browser = requests.Session()
    log_in_as_ada(browser, redis_two_apps, first)
    log_in_as_ada(browser, redis_two_apps, second)

    keys = sorted(shared.keys("flask_authrocket:session:*"))
    # One session, one cached answer (with the time it was asked for), shared by both processes.
    assert len({key.rsplit(b":", 1)[0] for key in keys}) == 1
    assert [key.rsplit(b":", 1)[1] for key in keys] == [b"known"]
