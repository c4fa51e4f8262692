"""``flask authrocket ...``: check the configuration, explain a token, get a development token.

::

    flask --app yourapp authrocket check                       # settings, keys, API: what is wrong and how to fix it
    flask --app yourapp authrocket decode TOKEN                # or "-" / nothing: read the token from stdin
    flask --app yourapp authrocket token --user ada@example.com [--org org_globex]

:meth:`AuthRocket.init_app <flask_authrocket.AuthRocket.init_app>` adds the
group to every app's ``app.cli``. It is also a Flask plugin command (the
``flask.commands`` entry point), found without loading the app, so that an app
whose factory raises :class:`~flask_authrocket.ConfigurationError` gets that
message, not a traceback.

Exit status: 0 when all is well (a valid token, a clean check), 1 when
something is wrong (a rejected token, an unreachable LoginRocket, a refusal),
2 for usage errors. Results go to stdout, messages about the work to stderr;
colours only on a terminal.

``token`` only ever talks to the development LoginRocket
(:mod:`flask_authrocket.dev`) on loopback: it refuses any other URL, so it can
never create sessions in a real realm.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import click
import jwt
import requests
from flask import Flask, current_app
from flask.cli import ScriptInfo

from .errors import (
    AccessDenied,
    ApiError,
    ApiUnavailable,
    ConfigurationError,
    RecordNotFound,
)
from .keys import (
    HS256_SECRET_MIN_BYTES,
    MAX_JWKS_BYTES,
    StaticKeySource,
    VerificationKey,
    jwks_url,
    key_from_jwk,
)
from .models import Membership, Session
from .settings import DEFAULTS, ENVIRONMENT_KEYS, Settings
from .tokens import ISSUER, MAX_TOKEN_BYTES, Rejection

if TYPE_CHECKING:
    from .client import AuthRocketClient
    from .extension import AuthRocket
    from .models import UserRecord

#: The realm id of the development LoginRocket; ``token`` insists on it.
DEV_REALM_ID = "rl_dev"

#: The :class:`Settings` attribute holding each key of :data:`ENVIRONMENT_KEYS`.
_SETTING_NAMES = {
    "LOGINROCKET_URL": "loginrocket_url",
    "AUTHROCKET_JWT_KEY": "jwt_key",
    "AUTHROCKET_URL": "api_url",
    "AUTHROCKET_API_KEY": "api_key",
    "AUTHROCKET_REALM": "realm",
    "AUTHROCKET_SERVICE": "service",
}
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


@click.group("authrocket")
def authrocket() -> None:
    """AuthRocket: check the configuration, explain a token, get a development token."""


# The app ---------------------------------------------------------------------------------------


def _app_and_extension() -> tuple[Flask, AuthRocket]:
    """The app the command runs for, with an app context pushed, and its AuthRocket extension.

    Run through ``app.cli`` the app is loaded already; run as a plugin command
    it is loaded here, so a :class:`ConfigurationError` raised while the app is
    created is shown as one clear line.
    """
    from .extension import AuthRocket  # the extension imports this module

    ctx = click.get_current_context()
    if current_app:
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    else:
        try:
            app = ctx.ensure_object(ScriptInfo).load_app()
        except ConfigurationError as exc:
            raise click.ClickException(f"The app could not be created: {exc}") from exc
        ctx.with_resource(app.app_context())
    extension = app.extensions.get("authrocket")
    if not isinstance(extension, AuthRocket):
        raise click.ClickException(
            f"The app {app.name!r} does not use flask-authrocket: call AuthRocket(app) or authrocket.init_app(app) "
            "in its factory."
        )
    return app, extension


# check -----------------------------------------------------------------------------------------


@authrocket.command("check")
def check_command() -> None:
    """Show the configuration, fetch the keys, call the API: say what is wrong and how to fix it.

    Exit status 0 when nothing is wrong (notes for production do not count), 1 otherwise.
    """
    app, extension = _app_and_extension()
    settings = extension.settings
    report = _Report()

    click.secho(f"AuthRocket configuration of the app {app.name!r}", bold=True)
    _show_configuration(app.config, settings, extension)

    report.section("Keys")
    _check_keys(report, settings, extension)
    report.section("Core API")
    _check_api(report, settings)
    report.section("For production")
    _advise(report, app, settings)

    click.echo()
    if report.problems:
        noun = "problem" if report.problems == 1 else "problems"
        click.secho(f"{report.problems} {noun} found.", fg="red", bold=True)
        raise SystemExit(1)
    notes = f" ({report.notes} {'note' if report.notes == 1 else 'notes'} for production.)" if report.notes else ""
    click.secho("All is well." + notes, fg="green")


class _Report:
    """What ``check`` found, printed as it is found: OK lines, problems (each with its fix), notes."""

    def __init__(self) -> None:
        self.problems = 0
        self.notes = 0

    def section(self, title: str) -> None:
        click.echo()
        click.secho(title, bold=True)

    def ok(self, text: str) -> None:
        click.echo("  " + click.style("OK  ", fg="green") + "  " + text)

    def info(self, text: str) -> None:
        click.echo("  " + "-   " + "  " + text)

    def problem(self, text: str, fix: str, *, said: str | None = None) -> None:
        self.problems += 1
        click.echo("  " + click.style("FAIL", fg="red", bold=True) + "  " + text)
        if said:
            click.echo("        It said: " + said)
        click.echo("        Fix: " + fix)

    def note(self, text: str) -> None:
        self.notes += 1
        click.echo("  " + click.style("NOTE", fg="yellow") + "  " + text)


def _show_configuration(config: Mapping[str, Any], settings: Settings, extension: AuthRocket) -> None:
    keys = [*ENVIRONMENT_KEYS, *DEFAULTS]
    width = max(len(key) for key in keys)
    for key in keys:
        source = settings.sources.get(key, "default")
        if key == "AUTHROCKET_JWT_KEY" and settings.jwt_key is not None:
            value = _static_key_kind(extension)
        elif key in _SETTING_NAMES:
            value = _shown_value(key, getattr(settings, _SETTING_NAMES[key]))
        else:
            value = _shown_value(key, config.get(key, DEFAULTS[key]))
        click.echo(f"  {key:<{width}}  {source:<11}  {value}")


def _shown_value(key: str, value: Any) -> str:
    """The value as ``check`` shows it: secrets masked, everything else as Python writes it."""
    if value is None:
        return "None"
    if key == "AUTHROCKET_API_KEY":
        return _mask_api_key(str(value))
    if key == "AUTHROCKET_CACHE":
        if isinstance(value, str):
            return repr(_without_password(value))
        return f"<{type(value).__module__}.{type(value).__name__}>"
    return repr(value)


def _static_key_kind(extension: AuthRocket) -> str:
    """What the configured ``AUTHROCKET_JWT_KEY`` is, never what it says."""
    keys = extension.verifier.keys
    if not isinstance(keys, StaticKeySource):
        return "None"
    return _key_kind(keys.key, len(extension.settings.jwt_key or ""))


def _key_kind(key: VerificationKey, length: int) -> str:
    """``"HS256 secret (40 chars)"`` or ``"RSA public key (2048 bits)"``."""
    if isinstance(key.key, bytes):
        weak = ", weak" if len(key.key) < HS256_SECRET_MIN_BYTES else ""
        return f"HS256 secret ({length} chars{weak})"
    return f"RSA public key ({key.key.key_size} bits)"


def _mask_api_key(value: str) -> str:
    """An API key as it may be shown: its kind prefix and last four characters (``"ks_...3f9a"``)."""
    prefix, sep, _ = value.partition("_")
    shown_prefix = prefix + sep if sep and len(prefix) <= 4 else ""
    if len(value) < 16:
        return f"{shown_prefix}... ({len(value)} chars)"
    return f"{shown_prefix}...{value[-4:]}"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}{port}", parts.path, parts.query, parts.fragment))


def _check_keys(report: _Report, settings: Settings, extension: AuthRocket) -> None:
    keys = extension.verifier.keys
    if isinstance(keys, StaticKeySource):
        kind = _static_key_kind(extension)
        if isinstance(keys.key.key, bytes) and len(keys.key.key) < HS256_SECRET_MIN_BYTES:
            report.problem(
                f"AUTHROCKET_JWT_KEY is an HS256 secret of {len(keys.key.key)} bytes: a secret shorter than "
                f"{HS256_SECRET_MIN_BYTES} bytes can be guessed offline from any one token, and then anyone can "
                "sign tokens your app accepts.",
                "paste the realm's JWT secret from Realm -> Integration, or switch the realm to RS256 and set "
                "LOGINROCKET_URL instead of AUTHROCKET_JWT_KEY.",
            )
        else:
            report.ok(f"AUTHROCKET_JWT_KEY: {kind}; tokens are checked with it, no key set is fetched.")
        if settings.loginrocket_url:
            report.info(
                "LOGINROCKET_URL builds the login and logout links; its key set is not used while "
                "AUTHROCKET_JWT_KEY is set."
            )
        return
    url = jwks_url(settings.loginrocket_url or "")
    fetched = _fetch_key_set(url, timeout=settings.http_timeout)
    if fetched.error is not None:
        report.problem(fetched.error, fetched.fix or "check LOGINROCKET_URL.")
        return
    count = len(fetched.kids)
    report.ok(
        f"{url} answered in {fetched.milliseconds} ms: {count} {'key' if count == 1 else 'keys'} "
        f"(kid {', '.join(fetched.kids)})."
    )
    for skipped in fetched.skipped:
        report.info(f"skipped a key that cannot verify AuthRocket tokens: {skipped}")


@dataclass
class _KeySetFetch:
    """What one diagnostic fetch of a LoginRocket key set found (:func:`_fetch_key_set`)."""

    url: str
    #: How long the fetch took.
    milliseconds: int = 0
    #: The kids of the usable keys, in the order served.
    kids: list[str] = field(default_factory=list)
    #: Why each unusable entry was left out.
    skipped: list[str] = field(default_factory=list)
    #: What went wrong, in words; ``None`` when at least one key is usable.
    error: str | None = None
    #: How to fix ``error``.
    fix: str | None = None


def _fetch_key_set(url: str, *, timeout: float) -> _KeySetFetch:
    """Fetch the JWK set at ``url`` once, and say what is in it or what went wrong.

    The verifier's own :class:`~flask_authrocket.keys.JwksClient` keeps quiet
    and keeps going; this explains. It never raises for network or content errors.
    """
    result = _KeySetFetch(url)
    started = time.monotonic()
    body = bytearray()
    try:
        with requests.get(url, timeout=timeout, headers={"Accept": "application/json"}, stream=True) as answer:
            status = answer.status_code
            for chunk in answer.iter_content(8192):
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    break
    except requests.Timeout:
        result.error = f"{url} did not answer within {timeout:g} s."
        result.fix = "check LOGINROCKET_URL and the network; AUTHROCKET_HTTP_TIMEOUT sets the wait."
        return result
    except requests.RequestException as exc:
        result.error = f"{url} is unreachable: {_network_reason(exc)}."
        result.fix = _unreachable_fix(url, "LOGINROCKET_URL")
        return result
    finally:
        result.milliseconds = round((time.monotonic() - started) * 1000)
    if status != 200:
        result.error = f"{url} answered HTTP {status}, not a key set."
        result.fix = (
            "LOGINROCKET_URL must be your LoginRocket URL (Realm -> Integration -> Using LoginRocket, "
            "e.g. https://myapp.e2.loginrocket.com/); its key set is at /connect/jwks."
        )
        return result
    if len(body) > MAX_JWKS_BYTES:
        result.error = f"{url} answered over {MAX_JWKS_BYTES // 1024} KB: that is not a key set."
        result.fix = "check LOGINROCKET_URL."
        return result
    try:
        document = json.loads(bytes(body))
    except (ValueError, RecursionError):
        start = bytes(body[:40]).decode("utf-8", "replace")
        result.error = f"{url} answered something that is not JSON (it starts {start!r})."
        result.fix = "check LOGINROCKET_URL: it should be the LoginRocket URL, not the app's or the API's."
        return result
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        result.error = f"{url} answered JSON without a 'keys' list."
        result.fix = "check LOGINROCKET_URL."
        return result
    for entry in entries:
        try:
            if not isinstance(entry, dict):
                raise ValueError("an entry that is not an object")
            key = key_from_jwk(entry)
        except ValueError as exc:
            result.skipped.append(str(exc))
            continue
        result.kids.append(key.kid or "")
    if not entries:
        result.error = f"{url} serves an empty key set: this LoginRocket signs tokens with HS256 (a shared secret)."
        result.fix = (
            "set AUTHROCKET_JWT_KEY to the realm's JWT secret (Realm -> Integration), or switch the realm to RS256."
        )
    elif not result.kids:
        result.error = f"none of the {len(entries)} keys at {url} can verify AuthRocket tokens."
        result.fix = "check LOGINROCKET_URL; AuthRocket serves RSA signing keys."
    return result


def _network_reason(exc: BaseException) -> str:
    """The few words that matter in a connection error: ``"Connection refused"``, ``"the name does not resolve"``."""
    text = str(exc)
    if "NameResolutionError" in text or "Name or service not known" in text or "nodename nor servname" in text:
        return "the host name does not resolve"
    found = _ERRNO.search(text)
    if found:
        return found.group(1).strip()
    return type(exc).__name__


def _unreachable_fix(url: str, setting: str) -> str:
    if _is_loopback_url(url):
        return (
            f"start the development LoginRocket (python -m flask_authrocket.dev), or correct {setting} "
            "(its port above all)."
        )
    return f"check {setting} and this machine's network (DNS, firewall, proxy)."


def _check_api(report: _Report, settings: Settings) -> None:
    url, key = settings.api_url, settings.api_key
    if url is None and key is None:
        report.info(
            "AUTHROCKET_URL and AUTHROCKET_API_KEY are unset: no API calls (only authrocket.client and "
            "managed sessions need them)."
        )
        return
    if url is None or key is None:
        missing, present = (
            ("AUTHROCKET_URL", "AUTHROCKET_API_KEY") if url is None else ("AUTHROCKET_API_KEY", "AUTHROCKET_URL")
        )
        report.problem(
            f"{present} is set but {missing} is not, so every API call fails.",
            f"set {missing}"
            + (
                " (Realm -> Integration -> API keys)."
                if missing == "AUTHROCKET_API_KEY"
                else " (e.g. https://api-e2.authrocket.com/v2)."
            ),
        )
        return
    client = _api_client(settings, url, key)
    realm = settings.realm
    path = f"realms/{realm}" if realm else "realms?max_results=1"
    started = time.monotonic()
    try:
        if realm:
            record: Any = client.realms.get(realm)
        else:
            page = client.realms.page(max_results=1)
            record = page[0] if page else None
    except AccessDenied as exc:
        hint = (
            "the development LoginRocket logs its key at start; it is also in dev_loginrocket_api_key in its "
            "instance folder."
            if _is_loopback_url(url)
            else "copy a key from Realm -> Integration -> API keys."
        )
        scope = f", or has no access to realm {realm}" if realm else ""
        report.problem(
            f"GET {path} answered 403: the API refused AUTHROCKET_API_KEY ({_mask_api_key(key)}); "
            f"the key is wrong{scope}.",
            f"set AUTHROCKET_API_KEY to a key of this realm: {hint}",
            said="; ".join(exc.errors) or None,
        )
        return
    except RecordNotFound:
        report.problem(
            f"the API does not know realm {realm!r} (GET {path} answered 404).",
            "set AUTHROCKET_REALM to the realm's id (rl_...), shown in the AuthRocket dashboard.",
        )
        return
    except ApiUnavailable as exc:
        if exc.status is None:
            report.problem(f"{url} is unreachable: {exc}", _unreachable_fix(url, "AUTHROCKET_URL"))
        else:
            report.problem(
                f"{url} does not answer like the AuthRocket API: {exc}",
                "AUTHROCKET_URL is the API's URL, ending in /v2 (e.g. https://api-e2.authrocket.com/v2).",
            )
        return
    except (ApiError, ConfigurationError) as exc:
        report.problem(f"the API call failed: {exc}", "check AUTHROCKET_URL, AUTHROCKET_API_KEY and AUTHROCKET_REALM.")
        return
    finally:
        client.close()
    milliseconds = round((time.monotonic() - started) * 1000)
    if record is None:
        described = "no realm is visible to this key"
    else:
        name = record.get("name")
        described = f"realm {record.id}" + (f" ({name})" if name else "")
    report.ok(f"GET {path} answered in {milliseconds} ms: {described}.")
    if settings.managed_sessions:
        report.info(
            f"managed sessions are on: each session is checked through this API "
            f"(at most every {settings.session_check_ttl:g} s per session)."
        )


def _api_client(settings: Settings, url: str, key: str) -> AuthRocketClient:
    from .client import AuthRocketClient  # apps without API calls never load it

    # No retries: one cheap call, and an unreachable API should say so at once.
    return AuthRocketClient(
        url=url,
        api_key=key,
        realm=settings.realm,
        service=settings.service,
        locale=settings.locale,
        timeout=settings.http_timeout,
        retries=0,
    )


def _advise(report: _Report, app: Flask, settings: Settings) -> None:
    before = report.problems + report.notes
    for setting, url in (("LOGINROCKET_URL", settings.loginrocket_url), ("AUTHROCKET_URL", settings.api_url)):
        if url and urlsplit(url).scheme == "http" and not _is_loopback_url(url):
            carried = "keys and login tokens" if setting == "LOGINROCKET_URL" else "the API key"
            report.problem(
                f"{setting} is plain http:// to another machine: {carried} can be read or replaced on the way.",
                f"use the https:// URL in {setting}.",
            )
    if settings.loginrocket_url and _is_loopback_url(settings.loginrocket_url):
        report.note(
            "LOGINROCKET_URL is on loopback (the development LoginRocket?): fine on your machine, never in production."
        )
    if not app.config.get("SERVER_NAME") and not app.config.get("TRUSTED_HOSTS"):
        report.note(
            "SERVER_NAME and TRUSTED_HOSTS are unset: login redirect_uri links are built from the request's Host "
            "header. In production set TRUSTED_HOSTS = ['app.example.com'] (Flask 3.1+) or SERVER_NAME, and "
            "ProxyFix behind a reverse proxy."
        )
    if settings.cookie_secure is False:
        report.note(
            "AUTHROCKET_COOKIE_SECURE is False: the login cookie also travels over plain http. "
            "Leave it 'auto' (or True) in production."
        )
    if settings.logout_url is not None and settings.logout == "full" and not settings.loginrocket_url:
        report.note(
            f"AUTHROCKET_LOGOUT is 'full' but LOGINROCKET_URL is not set, so {settings.logout_url} logs out of this "
            "app only. Set LOGINROCKET_URL, or AUTHROCKET_LOGOUT = 'local' to say so."
        )
    if settings.managed_sessions and app.config.get("AUTHROCKET_CACHE") is None:
        report.note(
            "managed sessions use an in-process cache: with several workers a logout reaches the others only "
            "after AUTHROCKET_SESSION_CHECK_TTL. Set AUTHROCKET_CACHE = 'redis://...' to share it."
        )
    if report.problems + report.notes == before:
        report.ok("nothing to add.")


def _is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is a loopback address (127.0.0.0/8, ::1) or ``localhost`` resolving only to one."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    if host == "localhost":
        try:
            addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
        except OSError:
            return False
        return bool(addresses) and all(_is_loopback_address(address) for address in addresses)
    return _is_loopback_address(host)


def _is_loopback_address(text: str) -> bool:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


# decode ----------------------------------------------------------------------------------------


@authrocket.command("decode")
@click.argument("token", required=False)
def decode_command(token: str | None) -> None:
    """Verify TOKEN as the app does and show what it holds, or exactly why it is rejected.

    TOKEN may be "-" or left out to read it from stdin (a leading "Bearer " is
    dropped). Exit status 0 for a valid token, 1 for a rejected one, 2 for usage errors.
    """
    token = _read_token(token)
    _, extension = _app_and_extension()
    settings = extension.settings
    result = extension.verifier.verify(token)
    if isinstance(result, Session) and extension.session_check is not None:
        from .managed import SessionState

        state = extension.session_check.state(result)
        if state is SessionState.ENDED:
            result = Rejection("session_ended", "the session was logged out")
        elif state is SessionState.UNAVAILABLE:
            result = Rejection(
                "session_unavailable", "the AuthRocket API could not confirm the session", unavailable=True
            )
    if isinstance(result, Session):
        _show_session(result, settings, extension)
        return
    _show_rejection(token, result, settings, extension)
    raise SystemExit(1)


def _read_token(argument: str | None) -> str:
    if argument is None or argument == "-":
        stream = sys.stdin
        if stream.isatty():
            raise click.UsageError(
                'Give the token as an argument, or pipe it in: echo "$TOKEN" | flask authrocket decode -'
            )
        text = stream.read(MAX_TOKEN_BYTES * 4)
    else:
        text = argument
    token = text.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    if not token:
        raise click.UsageError("The token is empty.")
    return token


def _show_session(session: Session, settings: Settings, extension: AuthRocket) -> None:
    header = jwt.get_unverified_header(session.token)  # the signature covers it: verified now
    click.secho("VALID", fg="green", bold=True, nl=False)
    click.echo(f"  signed with {_key_description(header, settings, extension)}")
    click.echo()
    click.secho("Header", bold=True)
    click.echo(_pretty(header))
    click.secho("Claims", bold=True)
    click.echo(_pretty(dict(session.claims)))
    click.echo()
    now = time.time()
    user = session.user
    rows: list[tuple[str, str]] = [
        ("Session", session.id or "(no sid: the token names no session)"),
        ("  issued", _when(session.created_at, now) if session.created_at is not None else "(no iat)"),
        ("  expires", _when(session.expires_at, now)),
        ("User", user.id),
        ("  name", " ".join(part for part in (user.first_name, user.last_name) if part) or user.name or "-"),
        ("  email", (user.email or "-") + (" (verified)" if user.email_verification == "verified" else "")),
    ]
    if user.username:
        rows.append(("  username", user.username))
    if user.reference:
        rows.append(("  reference", user.reference))
    if user.realm_id:
        rows.append(("  realm", user.realm_id))
    if user.custom:
        rows.append(("  custom", json.dumps(dict(user.custom), sort_keys=True)))
    for label, value in rows:
        click.echo(f"{label:<12}{value}")
    memberships = user.memberships
    current = session.current_membership
    if memberships is None:
        click.echo("Memberships not in the token (the realm's JWT fields leave them out)")
    elif not memberships:
        click.echo("Memberships none")
    else:
        click.echo(f"Memberships ({len(memberships)}; * marks the current one)")
        for membership in memberships:
            marker = "*" if membership is current else " "
            click.echo(f"  {marker} {_membership_line(membership)}")
    if current is not None:
        org = current.org
        how = "selected in the token" if current.selected else "the first; none is marked selected"
        name = f" ({org.name})" if org is not None and org.name else ""
        click.echo(f"Current org {current.org_id}{name}: {how}")


def _membership_line(membership: Membership) -> str:
    org = membership.org
    name = f" ({org.name})" if org is not None and org.name else ""
    permissions = ", ".join(membership.permissions) or "none"
    selected = "  [selected]" if membership.selected else ""
    return f"{membership.org_id}{name}  membership {membership.id or '-'}  permissions: {permissions}{selected}"


def _show_rejection(token: str, rejection: Rejection, settings: Settings, extension: AuthRocket) -> None:
    header, claims, problem = _unverified(token)
    explanation = _explain(rejection, header, claims, problem, settings, extension)
    click.secho("REJECTED", fg="red", bold=True, nl=False)
    click.echo(f"  {explanation}")
    click.echo(
        f"          reason: {rejection.reason}"
        + (" (not known to be bad: it could not be checked)" if rejection.unavailable else "")
    )
    if header is None and claims is None:
        return
    # Shown only to explain the rejection, and labelled so that nobody takes them for facts.
    click.echo()
    click.secho("UNVERIFIED header", fg="yellow", bold=True, nl=False)
    click.echo(" (read from the token without checking it: do not trust it)")
    click.echo(_pretty(header) if header is not None else "(unreadable)")
    click.secho("UNVERIFIED claims", fg="yellow", bold=True, nl=False)
    click.echo(" (read from the token without checking it: do not trust them)")
    click.echo(_pretty(claims) if claims is not None else f"(unreadable: {problem})")


def _unverified(token: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """The token's header and claims read WITHOUT verification, only to explain a rejection."""
    if len(token) > MAX_TOKEN_BYTES or not token.isascii():
        return None, None, "not read"
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.DecodeError, ValueError, TypeError, RecursionError) as exc:
        return None, None, str(exc)
    try:
        claims = jwt.decode(
            token,
            options={
                "verify_signature": False,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except (jwt.InvalidTokenError, ValueError, TypeError, RecursionError) as exc:
        return header, None, str(exc)
    return header, claims, None


def _explain(
    rejection: Rejection,
    header: Mapping[str, Any] | None,
    claims: Mapping[str, Any] | None,
    problem: str | None,
    settings: Settings,
    extension: AuthRocket,
) -> str:
    """The rejection in words, with the context that makes it actionable."""
    reason = rejection.reason
    claims = claims or {}
    header = header or {}
    now = time.time()
    leeway = f"leeway {settings.leeway:g} s"
    exp, nbf, iat = (_number(claims.get(name)) for name in ("exp", "nbf", "iat"))
    if reason == "expired" and exp is not None:
        return f"expired {_relative(exp - now)} (exp {_utc(exp)}, {leeway})"
    if reason == "not_yet_valid":
        if nbf is not None and nbf > now + settings.leeway:
            return f"not valid until {_utc(nbf)}, {_relative(nbf - now)} (nbf, {leeway})"
        if iat is not None:
            return (
                f"issued in the future: iat {_utc(iat)}, {_relative(iat - now)} ({leeway}); "
                "is this machine's clock right?"
            )
    if reason == "too_old" and iat is not None and extension.verifier.within is not None:
        return (
            f"issued {_relative(iat - now)} (iat {_utc(iat)}), longer ago than AUTHROCKET_TOKEN_WITHIN = "
            f"{extension.verifier.within:g} s allows"
        )
    if reason == "wrong_issuer":
        return f"wrong issuer: {claims.get('iss')!r} (expected {ISSUER})"
    if reason == "missing_claim":
        needed = ["exp", "iss"] + (["iat"] if extension.verifier.within is not None else [])
        missing = [name for name in needed if name not in claims]
        if missing:
            return f"missing claim {', '.join(repr(name) for name in missing)}: every AuthRocket login token has them"
    if reason == "bad_signature":
        return (
            f"bad signature: the token was not signed with {_key_description(header, settings, extension)}; "
            "it comes from another realm or LoginRocket, or it was altered"
        )
    if reason == "wrong_algorithm":
        algorithm = header.get("alg")
        if isinstance(algorithm, str) and algorithm.lower() == "none":
            return "unsigned token (alg 'none'): never accepted"
        return (
            f"wrong algorithm: the token says {algorithm!r} but {_key_description(header, settings, extension)} "
            f"verifies {_expected_algorithm(header, extension)} only"
        )
    if reason == "unknown_kid":
        return _explain_unknown_kid(header, settings)
    if reason == "unavailable":
        fetched = _fetch_key_set(jwks_url(settings.loginrocket_url or ""), timeout=settings.http_timeout)
        why = fetched.error or "the key set could not be fetched a moment ago"
        return f"could not be checked: {why} The app keeps the cookie and answers 503 on guarded views"
    if reason == "malformed":
        return f"malformed: {problem or rejection.message}"
    if reason == "session_ended":
        return (
            "the session was logged out (managed sessions: the API no longer knows it); "
            "the signature and times are fine"
        )
    return f"{reason.replace('_', ' ')}: {rejection.message}"


def _explain_unknown_kid(header: Mapping[str, Any], settings: Settings) -> str:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        return (
            "no kid in the header: LoginRocket keys are chosen by kid (an HS256 token needs AUTHROCKET_JWT_KEY "
            "set to the realm's JWT secret)"
        )
    fetched = _fetch_key_set(jwks_url(settings.loginrocket_url or ""), timeout=settings.http_timeout)
    if fetched.error is not None:
        return f"unknown kid {kid!r} (and the key set cannot be fetched now: {fetched.error})"
    return f"unknown kid {kid!r} (LoginRocket serves: {', '.join(fetched.kids)})"


def _key_description(header: Mapping[str, Any], settings: Settings, extension: AuthRocket) -> str:
    keys = extension.verifier.keys
    if isinstance(keys, StaticKeySource):
        kind = "HS256 secret" if keys.key.algorithm == "HS256" else "RSA public key"
        return f"AUTHROCKET_JWT_KEY (the app's {kind})"
    return f"the LoginRocket key {header.get('kid')!r} ({jwks_url(settings.loginrocket_url or '')})"


def _expected_algorithm(header: Mapping[str, Any], extension: AuthRocket) -> str:
    keys = extension.verifier.keys
    if isinstance(keys, StaticKeySource):
        return keys.key.algorithm
    try:
        return keys.key_for(header).algorithm
    except Exception:  # explaining only: any failure means the usual algorithm
        return "RS256"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _utc(timestamp: float) -> str:
    try:
        return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return repr(timestamp)


def _relative(seconds: float) -> str:
    """``"in 42 min"`` for a time ahead, ``"3 min ago"`` for one past."""
    span = abs(seconds)
    if span < 90:
        text = f"{round(span)} s"
    elif span < 90 * 60:
        text = f"{round(span / 60)} min"
    elif span < 48 * 3600:
        hours, minutes = divmod(round(span / 60), 60)
        text = f"{hours} h {minutes} min" if minutes else f"{hours} h"
    else:
        text = f"{round(span / 86400)} days"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def _when(timestamp: float, now: float) -> str:
    return f"{_utc(timestamp)} ({_relative(timestamp - now)})"


def _pretty(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)


# token -----------------------------------------------------------------------------------------


@authrocket.command("token")
@click.option("--user", "user_ref", required=True, metavar="EMAIL", help="The user's email (or id, usr_...).")
@click.option("--org", "org_id", metavar="ORG_ID", help="Select this org in the token (the user must be a member).")
@click.option(
    "--loginrocket-url",
    metavar="URL",
    help="The development LoginRocket (default: the app's LOGINROCKET_URL).",
)
@click.option("--api-key", metavar="KEY", help="Its API key (default: the app's AUTHROCKET_API_KEY).")
@click.option(
    "--password",
    metavar="PASSWORD",
    help="The user's password: only needed with --org, for users without a demo button.",
)
def token_command(
    user_ref: str, org_id: str | None, loginrocket_url: str | None, api_key: str | None, password: str | None
) -> None:
    """Print a real login token from the development LoginRocket (on loopback only), for curl and API work.

    \b
    curl -H "Authorization: Bearer $(flask authrocket token --user ada@example.com)" http://127.0.0.1:5000/api/me

    The token alone goes to stdout; everything else to stderr.
    """
    _, extension = _app_and_extension()
    settings = extension.settings
    url = loginrocket_url or settings.loginrocket_url
    if not url:
        raise click.UsageError(
            "No LoginRocket URL: pass --loginrocket-url http://127.0.0.1:5001/ or set LOGINROCKET_URL."
        )
    key = api_key or settings.api_key
    root = _dev_root(url)
    if not key:
        raise click.UsageError(
            "No API key for the development LoginRocket: pass --api-key, or set AUTHROCKET_API_KEY. "
            "It logs the key at start; it is also in dev_loginrocket_api_key in its instance folder."
        )
    _note(f"Asking the development LoginRocket at {root} ...")
    client = _dev_client(root, key, settings.http_timeout)
    try:
        _require_dev_loginrocket(client, root)
        user = _find_user(client, user_ref, root)
        if org_id is None:
            token = _session_token(client, user.id)
        else:
            token = _token_with_org(client, root, user, org_id, password, settings.http_timeout)
    except ApiError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        client.close()
    click.echo(token)
    _describe_minted(token, user, extension)


def _note(message: str) -> None:
    click.echo(message, err=True)


def _dev_root(url: str) -> str:
    """The origin of ``url`` with a trailing "/", after refusing anything that is not loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.UsageError(
            f"{url!r} is not an http(s) URL; the development LoginRocket is at http://127.0.0.1:5001/."
        )
    if not _is_loopback_url(url):
        raise click.ClickException(
            f"Refusing to ask {parts.netloc} for a token: `authrocket token` only talks to the development "
            "LoginRocket on loopback (127.0.0.1, ::1, localhost), so it can never create sessions in a real realm. "
            "Start one with `python -m flask_authrocket.dev` and pass --loginrocket-url http://127.0.0.1:5001/."
        )
    return f"{parts.scheme}://{parts.netloc}/"


def _dev_client(root: str, key: str, timeout: float) -> AuthRocketClient:
    from .client import AuthRocketClient

    http = requests.Session()
    http.trust_env = False  # never through a proxy: the loopback check is about where the call really goes
    return AuthRocketClient(url=root + "v2", api_key=key, realm=DEV_REALM_ID, timeout=timeout, retries=0, session=http)


def _require_dev_loginrocket(client: AuthRocketClient, root: str) -> None:
    try:
        realm = client.realms.get(DEV_REALM_ID)
    except ApiUnavailable as exc:
        if exc.status is None:
            raise click.ClickException(
                f"Nothing answers at {root} ({exc}). Start the development LoginRocket: python -m flask_authrocket.dev"
            ) from exc
        raise click.ClickException(
            f"{root} does not answer like the development LoginRocket ({exc}); refusing to go on."
        ) from exc
    except AccessDenied as exc:
        raise click.ClickException(
            f"The development LoginRocket at {root} refused the API key ({exc}). Pass --api-key with its key: "
            "it logs the key at start; it is also in dev_loginrocket_api_key in its instance folder."
        ) from exc
    except ApiError as exc:
        raise click.ClickException(
            f"{root} does not answer like the development LoginRocket ({exc}); refusing to go on."
        ) from exc
    if realm.id != DEV_REALM_ID:
        raise click.ClickException(f"{root} serves realm {realm.id!r}, not the development realm; refusing to go on.")


def _find_user(client: AuthRocketClient, reference: str, root: str) -> UserRecord:
    reference = reference.strip()
    if "@" in reference:
        found = client.users.first(email=reference) or client.users.first(email=reference.lower())
    else:
        found = client.users.find(reference)
    if found is None:
        known = [user.email or user.id for user in client.users.page(max_results=10)]
        raise click.ClickException(
            f"The development LoginRocket at {root} has no user {reference!r}. Users there: "
            + (", ".join(known) if known else "none")
            + "."
        )
    return client.users.get(found.id)  # with memberships


def _session_token(client: AuthRocketClient, user_id: str) -> str:
    session = client.sessions.create(user_id=user_id)
    if not session.token:
        raise click.ClickException("The development LoginRocket created a session without a token.")
    return session.token


def _token_with_org(
    client: AuthRocketClient, root: str, user: UserRecord, org_id: str, password: str | None, timeout: float
) -> str:
    memberships = user.memberships or ()
    chosen = next((membership for membership in memberships if membership.org_id == org_id), None)
    if chosen is None:
        orgs = ", ".join(
            f"{membership.org_id} ({membership.org.name})"
            if membership.org and membership.org.name
            else str(membership.org_id)
            for membership in memberships
        )
        raise click.ClickException(
            f"{user.email or user.id} is not a member of {org_id}; member of: {orgs or 'no org'}."
        )
    if chosen.selected or len(memberships) == 1:
        return _session_token(client, user.id)
    # The API has no way to pick the selected org: pick it on the /accounts
    # page, as the user would, after logging in on the /login page.
    _note(f"Selecting {org_id} on the /accounts page (later tokens of this user keep it selected) ...")
    return _select_org_on_pages(root, user, org_id, password, timeout)


def _select_org_on_pages(root: str, user: UserRecord, org_id: str, password: str | None, timeout: float) -> str:
    browser = requests.Session()
    browser.trust_env = False
    with browser:
        page = browser.get(root + "login", timeout=timeout, allow_redirects=False)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if page.status_code != 200 or csrf is None:
            raise click.ClickException(f"{root}login is not the development LoginRocket's login page.")
        form = {"csrf_token": csrf.group(1)}
        if f'name="demo_user" value="{user.id}"' in page.text:
            form["demo_user"] = user.id
        elif password is not None:
            form.update(email=user.email or "", password=password)
        else:
            raise click.ClickException(
                f"{user.email or user.id} has no demo button on the login page, so selecting an org needs their "
                "password: add --password."
            )
        answer = browser.post(root + "login", data=form, allow_redirects=False, timeout=timeout)
        if answer.status_code != 302:
            raise click.ClickException(
                f"The login page refused the login (HTTP {answer.status_code})"
                + (": wrong password?" if answer.status_code == 401 else ".")
            )
        answer = browser.post(
            root + "accounts",
            data={"csrf_token": form["csrf_token"], "org_id": org_id},
            allow_redirects=False,
            timeout=timeout,
        )
        tokens = parse_qs(urlsplit(answer.headers.get("Location", "")).query).get("token")
        if answer.status_code != 302 or not tokens:
            raise click.ClickException(f"The /accounts page did not select {org_id} (HTTP {answer.status_code}).")
        return tokens[0]


def _describe_minted(token: str, user: UserRecord, extension: AuthRocket) -> None:
    """Say on stderr whom the token is for, and whether this app accepts it."""
    name = " ".join(part for part in (user.first_name, user.last_name) if part) or user.display_name
    who = f"{name} <{user.email}> ({user.id})" if user.email else f"{name} ({user.id})"
    result = extension.verifier.verify(token)
    if isinstance(result, Session):
        org = result.current_org
        where = f", org {org.id}" + (f" ({org.name})" if org.name else "") if org else ""
        _note(
            f"Token for {who}{where}, session {result.id}, "
            f"expires {_relative(result.expires_at - time.time())}. The app accepts it."
        )
        return
    header, claims, problem = _unverified(token)
    explanation = _explain(result, header, claims, problem, extension.settings, extension)
    _note(
        f"Token for {who}. Warning: this app would reject it: {explanation}. "
        "Is the app's LOGINROCKET_URL (or AUTHROCKET_JWT_KEY) this development LoginRocket's?"
    )
