"""The development LoginRocket's signing key (and its other secrets), kept in the instance folder.

RS256 (the default): an RSA key is generated on first start and written to
``dev_loginrocket_signing_key.pem`` (mode 0600). It is a development key: it
never leaves the instance folder (which is git-ignored) and is never used by
a real realm. Its ``kid`` is the key's RFC 7638 JWK thumbprint, so it stays
the same across restarts and changes only with the key.

HS256: when a shared secret is configured, tokens are signed with it instead
and the key set at ``/connect/jwks`` is empty.

The cookie secret (``dev_loginrocket_secret_key``) and the Core API's key
(``dev_loginrocket_api_key``) are generated and kept the same way, when they
are not configured.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import rsa

from ..issuer import TokenIssuer, generate_rsa_key, private_key_from_pem, private_key_to_pem
from ..keys import b64url_uint

SIGNING_KEY_FILE = "dev_loginrocket_signing_key.pem"
SECRET_KEY_FILE = "dev_loginrocket_secret_key"
API_KEY_FILE = "dev_loginrocket_api_key"


def load_issuer(instance_path: str, *, secret: str | None = None) -> TokenIssuer:
    """The issuer of the development LoginRocket: HS256 with ``secret``, else RS256 with the kept key."""
    if secret:
        return TokenIssuer(secret=secret)
    path = os.path.join(instance_path, SIGNING_KEY_FILE)
    pem = read_or_create(path, lambda: private_key_to_pem(generate_rsa_key()))
    key = private_key_from_pem(pem)
    return TokenIssuer(private_key=key, kid=key_thumbprint(key))


def load_secret_key(instance_path: str) -> str:
    """The secret that signs the LoginRocket's own cookie, generated once and kept."""
    path = os.path.join(instance_path, SECRET_KEY_FILE)
    return read_or_create(path, lambda: secrets.token_urlsafe(32).encode("ascii")).decode("ascii").strip()


def load_api_key(instance_path: str) -> str:
    """The key of the development Core API (``ks_dev_...``), generated once and kept."""
    path = os.path.join(instance_path, API_KEY_FILE)
    return read_or_create(path, lambda: f"ks_dev_{secrets.token_hex(16)}".encode("ascii")).decode("ascii").strip()


def key_thumbprint(key: rsa.RSAPrivateKey) -> str:
    """The RFC 7638 SHA-256 thumbprint of the key's public JWK, base64url without padding."""
    numbers = key.public_key().public_numbers()
    canonical = json.dumps(
        {"e": b64url_uint(numbers.e), "kty": "RSA", "n": b64url_uint(numbers.n)}, separators=(",", ":")
    )
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def read_or_create(path: str, make: Callable[[], bytes]) -> bytes:
    """The content of ``path``; when it does not exist, ``make()`` is written there first (mode 0600).

    The file appears whole or not at all (written aside, then linked into
    place), and when two processes race, both end up with the winner's content.
    """
    try:
        with open(path, "rb") as existing:
            return existing.read()
    except FileNotFoundError:
        pass
    content = make()
    draft = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        try:
            os.link(draft, path)
        except FileExistsError:
            with open(path, "rb") as existing:
                return existing.read()
    finally:
        os.unlink(draft)
    return content
