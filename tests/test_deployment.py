"""docs/deployment.md's complete deployment, for real: nginx (its site, as the page shows it) with TLS
in front of gunicorn (the page's gunicorn.conf.py) serving an app with the page's production settings.

All on loopback, with a certificate made for the test. The browser's return from LoginRocket
(``?token=``) must log in with a Secure cookie and an https redirect, and no access log may
hold the token: nginx's (masked by its log format), nginx's default one, gunicorn's.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from helpers import HS_SECRET, gunicorn_serving, reserved_port, running, token_for, wait_until

from flask_authrocket.issuer import TokenIssuer

DOCS = Path(__file__).resolve().parent.parent / "docs"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx-light)")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (DOCS / "deployment.md").read_text(), re.DOTALL)


def write_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for app.example.com and 127.0.0.1, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app.example.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("app.example.com"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "app.example.com.pem", folder / "app.example.com.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


APP_MODULE = f"""
from flask import Flask
from flask_authrocket import AuthRocket, require_login

app = Flask(__name__)
app.config.update(AUTHROCKET_JWT_KEY={HS_SECRET!r}, LOGINROCKET_URL="https://myapp.e2.loginrocket.com/")
AuthRocket(app)

# docs/deployment.md's production settings, as the page shows them:
PRODUCTION_SETTINGS


@app.get("/dashboard")
@require_login
def dashboard():
    return "dashboard"
"""


class Deployment:
    """The running chain: its https and http ports, the certificate, and the log files."""

    def __init__(self, folder: Path, https_port: int, http_port: int, certificate: Path) -> None:
        self.folder, self.https_port, self.http_port, self.certificate = folder, https_port, http_port, certificate
        self.site_log = folder / "yourapp.access.log"
        self.default_log = folder / "access.log"
        self.gunicorn_log = folder / "gunicorn.access.log"

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return requests.get(
            f"https://127.0.0.1:{self.https_port}{path}",
            headers={"Host": "app.example.com", **kwargs.pop("headers", {})},  # type: ignore[dict-item]
            verify=str(self.certificate),
            allow_redirects=False,
            timeout=10,
            **kwargs,  # type: ignore[arg-type]
        )

    def logs(self) -> str:
        logs = (self.site_log, self.default_log, self.gunicorn_log)
        return "".join(path.read_text() for path in logs if path.exists())


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    (production,) = [block for block in blocks("python") if block.startswith("# in the app factory, for production")]
    (gunicorn_conf,) = [block for block in blocks("python") if block.startswith("# gunicorn.conf.py")]
    (site,) = blocks("nginx")
    certificate, key = write_certificate(tmp_path)
    module = APP_MODULE.replace("PRODUCTION_SETTINGS", production)
    gunicorn_log = ["--access-logfile", str(tmp_path / "gunicorn.access.log")]

    # nginx listens with SO_REUSEADDR on the ports held for it: nobody else can take them first.
    with (
        reserved_port() as https_port,
        reserved_port() as http_port,
        gunicorn_serving(tmp_path, module, gunicorn_conf, *gunicorn_log) as upstream,
    ):
        replacements = {
            "server 127.0.0.1:8000;": f"server {upstream.removeprefix('http://').rstrip('/')};",
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
            "/etc/ssl/certs/app.example.com.pem": str(certificate),
            "/etc/ssl/private/app.example.com.key": str(key),
            "/var/log/nginx/yourapp.access.log": str(tmp_path / "yourapp.access.log"),
        }
        for placeholder, value in replacements.items():
            assert placeholder in site, placeholder
            site = site.replace(placeholder, value)
        temporary = tmp_path / "nginx-temp"
        temporary.mkdir()
        # Debian's nginx.conf around the site: an http-level access log in the combined format included.
        (tmp_path / "nginx.conf").write_text(
            f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\nhttp {{\n"
            + "".join(
                f"    {kind}_temp_path {temporary}/{kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"    access_log {tmp_path}/access.log;\n{site}\n}}\n"
        )
        command = [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"]
        tested = subprocess.run([*command[:-2], "-t"], capture_output=True, text=True, timeout=30)
        assert tested.returncode == 0, tested.stderr  # nginx -t: the page's site is valid
        running_site = Deployment(tmp_path, https_port, http_port, certificate)
        with running(command, "nginx", lambda: running_site.get("/up")):
            yield running_site


def test_a_login_through_nginx_and_gunicorn_is_https_and_no_log_holds_the_token(deployment: Deployment):
    token = token_for(TokenIssuer(secret=HS_SECRET))

    back = deployment.get(f"/dashboard?token={token}&tab=2", headers={"Referer": f"https://x.example/?token={token}"})
    cookie = back.headers["Set-Cookie"]
    logged_in = deployment.get("/dashboard", cookies={"arToken": token})
    later_in_the_query = deployment.get(f"/dashboard?tab=3&token={token}&sort=name")
    plain = requests.get(
        f"http://127.0.0.1:{deployment.http_port}/dashboard?token={token}",
        headers={"Host": "app.example.com"},
        allow_redirects=False,
        timeout=10,
    )

    assert back.status_code == 302
    assert back.headers["Location"] == "https://app.example.com/dashboard?tab=2"  # ProxyFix: https, the real host
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert logged_in.text == "dashboard"
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://app.example.com/")
    assert later_in_the_query.status_code == 302
    wait_until(lambda: deployment.logs().count("/dashboard") >= 5, timeout=10)
    logs = deployment.logs()
    for part in (token, *token.split(".")):
        assert part not in logs
    site_log = deployment.site_log.read_text()
    assert '"GET /dashboard?token=[redacted]&tab=2 HTTP/1.1" 302' in site_log
    assert '"GET /dashboard?tab=3&token=[redacted]&sort=name HTTP/1.1" 302' in site_log
    assert '"https://x.example/?token=[redacted]"' in site_log  # the Referer, masked too
    assert deployment.default_log.read_text() == ""  # each server's own access_log replaces the http one


def test_a_forged_host_through_nginx_is_refused_by_trusted_hosts(deployment: Deployment):
    answer = deployment.get("/dashboard", headers={"Host": "evil.example"})

    assert answer.status_code == 400
