"""``make run``: the development LoginRocket and the example app together, on 127.0.0.1.

The example reaches its keys over HTTP from the development LoginRocket's
``/connect/jwks``, exactly as production reaches LoginRocket. Both stop on Ctrl-C.
Data and the development signing key live in ``instance/`` (never committed);
``EXAMPLE_PORT``, ``LOGINROCKET_PORT`` and ``EXAMPLE_INSTANCE_ROOT`` change the
ports (5000, 5001) and that folder.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _stop)  # `kill`, or a terminal closing, stops both servers too
    app_port = int(os.environ.get("EXAMPLE_PORT", "5000"))
    loginrocket_port = int(os.environ.get("LOGINROCKET_PORT", "5001"))
    for port in (app_port, loginrocket_port):
        if _port_in_use(port):
            print(f"Port {port} on {HOST} is in use; stop what runs there, or set EXAMPLE_PORT / LOGINROCKET_PORT.")
            return 1
    instance = Path(os.environ.get("EXAMPLE_INSTANCE_ROOT", ROOT / "instance"))
    app_url = f"http://{HOST}:{app_port}/"
    loginrocket_url = f"http://{HOST}:{loginrocket_port}/"
    api_key = "ks_dev_" + secrets.token_hex(16)  # for this run only: the example's managed sessions use it
    env = {
        **os.environ,
        "LOGINROCKET_URL": loginrocket_url,
        "AUTHROCKET_URL": loginrocket_url + "v2",
        "AUTHROCKET_API_KEY": api_key,
        "EXAMPLE_AUTHROCKET_MANAGED_SESSIONS": "true",
        "EXAMPLE_INSTANCE_PATH": str(instance / "example"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("AUTHROCKET_JWT_KEY", None)  # the example fetches RS256 keys from the dev LoginRocket
    loginrocket = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask_authrocket.dev",
            "--host",
            HOST,
            "--port",
            str(loginrocket_port),
            "--login-url",
            app_url,
            "--data-dir",
            str(instance / "dev-loginrocket"),
            "--api-key",
            api_key,
        ],
        cwd=ROOT,
        env=env,
    )
    example = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "examples.app:create_app",
            "run",
            "--host",
            HOST,
            "--port",
            str(app_port),
        ],
        cwd=ROOT,
        env=env,
    )
    processes = [loginrocket, example]
    try:
        if not (_wait_for_port(loginrocket_port, loginrocket) and _wait_for_port(app_port, example)):
            print("A server did not start; see the messages above.")
            return 1
        print(BANNER.format(app_url=app_url, loginrocket_url=loginrocket_url, api_key=api_key), flush=True)
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        print("\nStopping the example and the development LoginRocket.")
        return 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


BANNER = """
==============================================================================
  Example app:             {app_url}
  Development LoginRocket: {loginrocket_url}   (for development only)
  Its Core API:            {loginrocket_url}v2   AUTHROCKET_API_KEY={api_key}
  The example checks sessions through it (managed sessions): a logout ends them everywhere.

  Demo logins (one click on the login page; password "password"):
    Ada Lovelace   ada@example.com    site:admin in Acme Inc., member of Globex
    Grace Hopper   grace@example.com  member of Acme Inc.

  Press Ctrl-C to stop both.
==============================================================================
"""


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) == 0


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if _port_in_use(port):
            return True
        time.sleep(0.1)
    return False


if __name__ == "__main__":
    sys.exit(main())
