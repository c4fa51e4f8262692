"""``make run``'s entry point, ``python -m examples.run``, as real processes on 127.0.0.1.

It must start both servers, print both URLs and the demo logins, let a demo user
log in through the development LoginRocket (the example fetching its keys over
HTTP), and stop both servers when it is told to stop.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from helpers import reserved_port

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
#: The end of examples.run's own banner: its last line of text, then the closing rule. The
#: development LoginRocket it starts prints a "Press Ctrl-C" of its own, earlier.
BANNER_END = re.compile(r"Press Ctrl-C to stop both\.\n=+\n")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    banner: str
    app_port: int
    loginrocket_port: int


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    # examples.run takes its ports from the environment: they stay reserved until the end, so
    # no other program takes them before its servers listen, or after they stop.
    with reserved_port() as app_port, reserved_port() as loginrocket_port:
        env = {
            **os.environ,
            "EXAMPLE_PORT": str(app_port),
            "LOGINROCKET_PORT": str(loginrocket_port),
            "EXAMPLE_INSTANCE_ROOT": str(tmp_path),
        }
        output = tmp_path / "output.txt"
        with output.open("w") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "examples.run"], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        try:
            yield Running(process, _wait_for_banner(process, output), app_port, loginrocket_port)
        finally:
            if process.poll() is None:
                process.terminate()  # examples.run stops its two servers on SIGTERM
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
            assert not _listening(app_port) and not _listening(loginrocket_port), "a server outlived examples.run"


def _wait_for_banner(process: subprocess.Popen[bytes], output: Path) -> str:
    """The output up to the end of the banner (:data:`BANNER_END`), within START_TIMEOUT."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        text = output.read_text()
        if BANNER_END.search(text):
            return text
        time.sleep(0.05)
    pytest.fail("examples.run did not print its banner:\n" + output.read_text())


def test_it_prints_both_urls_and_the_demo_logins(running: Running) -> None:
    assert f"http://127.0.0.1:{running.app_port}/" in running.banner
    assert f"http://127.0.0.1:{running.loginrocket_port}/" in running.banner
    assert "ada@example.com" in running.banner and "grace@example.com" in running.banner


def test_a_demo_user_logs_in_to_the_example_through_the_development_loginrocket(running: Running) -> None:
    app = f"http://127.0.0.1:{running.app_port}/"
    browser = requests.Session()

    to_login = browser.get(app + "dashboard/", allow_redirects=False, timeout=5)
    assert to_login.status_code == 302
    login_page = browser.get(to_login.headers["Location"], timeout=5)
    form = {
        name: value for name, value in re.findall(r'name="(csrf_token|redirect_uri)" value="([^"]*)"', login_page.text)
    }
    dashboard = browser.post(login_page.url.split("?")[0], data={**form, "demo_user": "usr_ada"}, timeout=5)

    assert dashboard.url == app + "dashboard/"
    assert 'id="current-org">Acme Inc.<' in dashboard.text
    assert "Rocket engine" in dashboard.text

    # The example checks the session through the development LoginRocket's Core API.
    api_key = re.search(r"AUTHROCKET_API_KEY=(\S+)", running.banner)
    assert api_key is not None
    stats = requests.get(
        f"http://127.0.0.1:{running.loginrocket_port}/v2/_dev/stats",
        headers={"Authrocket-Api-Key": api_key.group(1)},
        timeout=5,
    ).json()
    assert any(name.startswith("GET /v2/sessions/") for name in stats["counts"])


def test_it_stops_both_servers_when_told_to(running: Running) -> None:
    assert _listening(running.app_port) and _listening(running.loginrocket_port)

    running.process.send_signal(signal.SIGTERM)

    assert running.process.wait(timeout=15) == 0
    assert not _listening(running.app_port)
    assert not _listening(running.loginrocket_port)
