"""Real Redis servers on 127.0.0.1 in every shape a host offers: one server, TLS, an ACL user, sentinels, a cluster.

Debian's ``redis-server`` and ``redis-sentinel`` (``make test`` installs them), started by the
tests and stopped after them, each in a folder of its own. Waits are on conditions with
generous deadlines (a busy two-core machine), never fixed sleeps. The TLS files are made
here with cryptography: a CA, a server certificate it signs for 127.0.0.1, and a CA that
signed nothing (the wrong one).
"""

from __future__ import annotations

import contextlib
import datetime
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from devserver import DevApi, new_session
from flask import Flask, g
from flask.testing import FlaskClient
from redis.backoff import NoBackoff
from redis.retry import Retry

HOST = "127.0.0.1"
#: A condition that may take a failover: sentinels and cluster nodes notice in about a second, then elect.
SLOW_DEADLINE = 60.0
#: The sentinel service of the tests.
SERVICE = "authrocket"
#: The password of the ACL user the tests make.
ACL_PASSWORD = "acl-user-secret"


def program(name: str) -> str:
    """The path of a Debian Redis program, or a failure that says how to install it."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: run `make test`, which installs it (apt-get install redis-server).")
    return found


def eventually(condition: Callable[[], Any], *, timeout: float = SLOW_DEADLINE, what: str = "") -> Any:
    """Wait for ``condition()`` to be truthy (errors count as not yet) and return it; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception as error:  # a server not up yet, a failover under way
            last, value = error, None
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(
        f"timed out after {timeout:g} s waiting for {what or condition}" + (f" (last: {last!r})" if last else "")
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def admin(port: int, **options: Any) -> redis.Redis:
    """A plain client for the test itself (the default user), that neither waits long nor retries."""
    return redis.Redis(
        host=HOST, port=port, socket_timeout=5, socket_connect_timeout=5, retry=Retry(NoBackoff(), 0), **options
    )


class RedisProcess:
    """One ``redis-server`` (or ``redis-sentinel``) on 127.0.0.1, with its folder and log.

    A port another process took between choosing it and binding it is chosen again.
    :meth:`kill` is a crash (SIGKILL); :meth:`start` after it brings the server back on its port.
    """

    def __init__(self, folder: Path, options: list[str], *, sentinel: bool = False, tls: bool = False) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.options = options
        self.sentinel = sentinel
        self.tls = tls
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.folder / "log.txt"

    def command(self) -> list[str]:
        port_option = ["--port", "0", "--tls-port", str(self.port)] if self.tls else ["--port", str(self.port)]
        if self.sentinel:
            config = self.folder / "sentinel.conf"
            config.write_text("\n".join([f"port {self.port}", f"bind {HOST}", *self.options]) + "\n")
            return [program("redis-sentinel"), str(config)]
        return [program("redis-server"), *port_option, "--bind", HOST, "--dir", str(self.folder), *self.options]

    def start(self) -> None:
        for _ in range(5):
            if not self.port:
                self.port = _free_port()
            with self.log.open("ab") as output:
                self.process = subprocess.Popen(self.command(), stdout=output, stderr=subprocess.STDOUT)
            if eventually(self._up_or_exited, timeout=30, what=f"redis on port {self.port}") == "up":
                return
            if "in use" not in self.log.read_text(errors="replace"):
                break
            self.port = 0  # taken meanwhile by someone else: another port (and another cluster bus port)
            if "--cluster-port" in self.options:
                self.options[self.options.index("--cluster-port") + 1] = str(_free_port())
        pytest.fail(f"redis did not start:\n{self.log.read_text(errors='replace')[-2000:]}")

    def _up_or_exited(self) -> str | None:
        assert self.process is not None
        if self.process.poll() is not None:
            return "exited"
        with socket.socket() as sock:
            return "up" if sock.connect_ex((HOST, self.port)) == 0 else None

    def kill(self) -> None:
        """A crash: SIGKILL, and wait for it to be gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


# -- TLS -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    """A CA, the server's certificate and key (signed by that CA, for 127.0.0.1), and a CA that signed nothing."""

    ca: Path
    certificate: Path
    key: Path
    other_ca: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def make_tls_files(folder: Path) -> TlsFiles:
    """Write a test CA, a server certificate it signs for 127.0.0.1 and localhost, and an unrelated CA."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca = _ca("flask-authrocket test CA")
    _, other = _ca("flask-authrocket other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address(HOST)), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "other-ca.pem")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.other_ca.write_bytes(other.public_bytes(serialization.Encoding.PEM))
    files.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return files


# -- the shapes ----------------------------------------------------------------------------------

#: What every data server of the tests is: in memory only.
#: Options of every server the shapes start: nothing written to disk, and a replica's first sync
#: starts at once (Redis waits 5 s by default for more replicas to share a diskless transfer).
NO_PERSISTENCE = ["--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0"]


@contextlib.contextmanager
def standalone(folder: Path, *extra: str) -> Iterator[RedisProcess]:
    """One redis-server."""
    server = RedisProcess(folder, [*NO_PERSISTENCE, *extra])
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def tls_server(folder: Path) -> Iterator[tuple[RedisProcess, TlsFiles]]:
    """One redis-server that speaks TLS only, with a certificate of a CA made for the test (clients need none)."""
    files = make_tls_files(folder / "tls")
    options = [
        *NO_PERSISTENCE,
        "--tls-cert-file", str(files.certificate),
        "--tls-key-file", str(files.key),
        "--tls-ca-cert-file", str(files.ca),
        "--tls-auth-clients", "no",
    ]  # fmt: skip
    server = RedisProcess(folder / "server", options, tls=True)
    server.start()
    try:
        yield server, files
    finally:
        server.stop()


def acl_user(rules: str) -> list[str]:
    """The options that add the user ``authrocket`` (password :data:`ACL_PASSWORD`) with ACL ``rules``."""
    return ["--user", "authrocket", "on", f">{ACL_PASSWORD}", *rules.split()]


#: How long a node may be silent before the sentinels count it down, in ms. Long enough that a
#: busy machine starving a healthy node never fails it over; a test that kills a node waits for
#: the failover anyway (:func:`eventually`, up to a minute).
DOWN_AFTER_MS = 5000
#: The same for a cluster's nodes (``cluster-node-timeout``). A cluster's master also waits this
#: long (at most 5 s) before it counts itself ok, which every new cluster pays at start; shorter was
#: not safe: at 2 s, a CI run saw a starved master failed over to its replica, which had not yet
#: replayed a DEL, so a deleted key came back on both nodes. The failover tests, which kill
#: masters, pass their own shorter timeout.
CLUSTER_NODE_TIMEOUT_MS = 5000

#: The socket timeouts of the URLs below: a live node that answers late on a busy machine is not
#: an outage, and a killed one refuses connections at once however long this is.
LIVE_TIMEOUTS = "socket_timeout=10&socket_connect_timeout=10"


class SentinelSet:
    """A master, its replica and three sentinels watching them as :data:`SERVICE` (quorum 2)."""

    def __init__(self, folder: Path, *, down_after_ms: int = DOWN_AFTER_MS) -> None:
        self.master = RedisProcess(folder / "master", list(NO_PERSISTENCE))
        self.master.start()
        self.replica = RedisProcess(folder / "replica", [*NO_PERSISTENCE, "--replicaof", HOST, str(self.master.port)])
        self.replica.start()
        watch = [
            f"sentinel monitor {SERVICE} {HOST} {self.master.port} 2",
            f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}",
            f"sentinel failover-timeout {SERVICE} 5000",
            f"sentinel parallel-syncs {SERVICE} 1",
        ]
        self.sentinels = [RedisProcess(folder / f"sentinel-{n}", watch, sentinel=True) for n in range(3)]
        for sentinel in self.sentinels:
            sentinel.start()
        # Each sentinel must know the replica and the two others before it can fail over.
        for sentinel in self.sentinels:
            eventually(
                lambda port=sentinel.port: self._ready(port), what="the sentinels to find each other and the replica"
            )

    def _ready(self, port: int) -> bool:
        state = admin(port).sentinel_master(SERVICE)
        return int(state["num-other-sentinels"]) == 2 and int(state["num-slaves"]) >= 1

    @property
    def url(self) -> str:
        hosts = ",".join(f"{HOST}:{sentinel.port}" for sentinel in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}?{LIVE_TIMEOUTS}"

    def master_port(self) -> int:
        """The master's port as the first sentinel names it."""
        return int(admin(self.sentinels[0].port).sentinel_get_master_addr_by_name(SERVICE)[1])

    def fail_over(self) -> None:
        """Kill the master (a crash), then wait until every sentinel names the replica."""
        old = self.master
        old.kill()
        for sentinel in self.sentinels:
            eventually(
                lambda port=sentinel.port: (
                    int(admin(port).sentinel_get_master_addr_by_name(SERVICE)[1]) == self.replica.port
                ),
                what="the sentinels to promote the replica",
            )
        self.master, self.replica = self.replica, old

    def stop(self) -> None:
        for server in (*self.sentinels, self.master, self.replica):
            server.stop()


def cluster_info(port: int) -> dict[str, str]:
    """``CLUSTER INFO`` of the node on ``port``, as a dict of its fields."""
    text = admin(port).execute_command("CLUSTER", "INFO")
    text = text.decode() if isinstance(text, bytes) else str(text)
    return dict(line.split(":", 1) for line in text.split() if ":" in line)


class Cluster:
    """Three masters and three replicas (``redis-cli --cluster create ... --cluster-replicas 1``)."""

    def __init__(self, folder: Path, *extra: str, node_timeout_ms: int = CLUSTER_NODE_TIMEOUT_MS) -> None:
        self.nodes: list[RedisProcess] = []
        for number in range(6):
            node_folder = folder / f"node-{number}"
            options = [
                *NO_PERSISTENCE,
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(node_folder / "nodes.conf"),
                "--cluster-node-timeout", str(node_timeout_ms),
                "--cluster-replica-validity-factor", "0",  # a replica takes over however old its data
                "--cluster-port", str(_free_port()),
                *extra,
            ]  # fmt: skip
            node = RedisProcess(node_folder, options)
            node.start()
            self.nodes.append(node)
        create = subprocess.run(
            [
                program("redis-cli"),
                "--cluster",
                "create",
                *self.addresses(),
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if create.returncode != 0:
            pytest.fail(f"redis-cli --cluster create failed:\n{create.stdout[-2000:]}{create.stderr[-2000:]}")
        self.wait_until_healthy()

    def addresses(self) -> list[str]:
        return [f"{HOST}:{node.port}" for node in self.nodes]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(self.addresses()) + "?" + LIVE_TIMEOUTS

    def alive(self) -> list[RedisProcess]:
        return [node for node in self.nodes if node.process is not None and node.process.poll() is None]

    def wait_until_healthy(self) -> None:
        """Until every live node says the cluster is ok and each of the three masters is known."""

        def healthy() -> bool:
            for node in self.alive():
                info = cluster_info(node.port)
                if info.get("cluster_state") != "ok" or int(info.get("cluster_known_nodes", 0)) < 6:
                    return False
                replication = admin(node.port).info("replication")
                if replication.get("role") == "slave" and replication.get("master_link_status") != "up":
                    return False  # a replica that never synced would not take over
            return True

        eventually(healthy, what="the cluster to be ok on every node")

    def master_of(self, key: str) -> RedisProcess:
        """The live master serving ``key``'s slot now."""
        from redis.crc import key_slot

        slot = key_slot(key.encode())
        for node in self.alive():
            for low, high, master, *_ in admin(node.port).execute_command("CLUSTER", "SLOTS"):
                if low <= slot <= high:
                    port = int(master[1])
                    return next(each for each in self.nodes if each.port == port)
        pytest.fail(f"no node serves slot {slot}")

    def fail_over(self, master: RedisProcess) -> None:
        """Kill ``master`` (a crash), then wait until its replica serves its slots and the cluster is ok."""
        master.kill()

        def promoted() -> bool:
            for node in self.alive():
                info = cluster_info(node.port)
                if info.get("cluster_state") != "ok":
                    return False
            return all(
                int(each[2][1]) != master.port
                for node in self.alive()[:1]
                for each in admin(node.port).execute_command("CLUSTER", "SLOTS")
            )

        eventually(promoted, what="a replica to take the killed master's slots")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


# -- two workers on one cache ------------------------------------------------------------------------


def visit(app: Flask, token: str, path: str = "/private") -> tuple[int, str | None]:
    """A browser with ``token`` in its cookie asks for ``path``: the status, and why it was refused if it was."""
    client: FlaskClient = app.test_client()
    client.set_cookie("arToken", token)
    with client:
        answer = client.get(path)
        rejection = g.authrocket.rejection
    return answer.status_code, rejection.reason if rejection else None


def two_workers_that_know_a_session(
    dev: DevApi, managed_app: Callable[..., Flask], url: str
) -> tuple[Flask, Flask, str, str]:
    """Two workers on ``url``, a session the second asked the API about (it keeps the answer itself too) and the
    first read from the shared cache: the apps, the session's id and its token."""
    first, second = (managed_app(AUTHROCKET_CACHE=url) for _ in range(2))
    session_id, token = new_session(dev)
    assert visit(second, token) == (200, None)
    assert visit(first, token) == (200, None)
    return first, second, session_id, token
