"""``flask authrocket check``: the configuration and where each value came from; the keys and the API, tried.

What is found is formatted here; the finding is done where its subject lives:
the settings table (:mod:`flask_authrocket.settings`) shows each value,
masked when secret; the key kinds describe themselves and the key-set
diagnosis is :func:`flask_authrocket.jwks.diagnose_key_set` (also the key set a
static key is compared with); keys named like settings that are not are found by
:func:`flask_authrocket.settings.unknown_settings`; the API is asked through the
app's own client, and the cache with one throwaway key.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import click
from flask import Flask

from ..errors import AccessDenied, ApiError, ApiUnavailable, ConfigurationError, RecordNotFound
from ..fetch import is_loopback_url
from ..jwks import KeySetDiagnosis, diagnose_key_set
from ..keys import HS256_SECRET_MIN_BYTES, RsaPublicKey, VerificationKey
from ..logs import escape_unprintable, redact_url
from ..settings import SETTINGS, Settings, mask_api_key, unknown_settings
from .apps import AppAuthRocket


def check(app: Flask, extension: AppAuthRocket) -> None:
    """Print the configuration and what the keys and the API say; exit with status 1 on any problem."""
    settings = extension.settings
    report = _Report()

    click.secho(f"AuthRocket configuration of the app {app.name!r}", bold=True)
    _show_configuration(extension)
    _check_names(report, app, settings)

    report.section("Keys")
    _check_keys(report, extension)
    report.section("Core API")
    _check_api(report, settings)
    report.section("Cache")
    _check_cache(report, app, settings)
    report.section("For production")
    _advise(report, app, settings)

    click.echo()
    if report.problems:
        noun = "problem" if report.problems == 1 else "problems"
        click.secho(f"{report.problems} {noun} found.", fg="red", bold=True)
        raise SystemExit(1)
    notes = f" ({report.notes} {'note' if report.notes == 1 else 'notes'} for production.)" if report.notes else ""
    if report.warnings:
        noun = "warning" if report.warnings == 1 else "warnings"
        click.secho(f"No problems, but {report.warnings} {noun}: read them above." + notes, fg="yellow", bold=True)
        return
    click.secho("All is well." + notes, fg="green")


class _Report:
    """What ``check`` found, printed as it is found: OK lines, problems and warnings (each with its fix), notes.

    Every line goes through :func:`_shown`: the URLs in what the keys, the API and their errors
    say keep their host but never a password, and no character of theirs can drive the terminal.
    """

    def __init__(self) -> None:
        self.problems = 0
        self.warnings = 0
        self.notes = 0

    def section(self, title: str) -> None:
        click.echo()
        click.secho(title, bold=True)

    def ok(self, text: str) -> None:
        click.echo("  " + click.style("OK  ", fg="green") + "  " + _shown(text))

    def info(self, text: str) -> None:
        click.echo("  " + "-   " + "  " + _shown(text))

    def problem(self, text: str, fix: str, *, said: str | None = None) -> None:
        self.problems += 1
        click.echo("  " + click.style("FAIL", fg="red", bold=True) + "  " + _shown(text))
        if said:
            click.echo("        It said: " + _shown(said))
        click.echo("        Fix: " + _shown(fix))

    def warning(self, text: str, fix: str) -> None:
        # Likely wrong, but possibly meant (a realm about to switch algorithms): said loudly, exit status 0.
        self.warnings += 1
        click.echo("  " + click.style("WARN", fg="yellow", bold=True) + "  " + _shown(text))
        click.echo("        Fix: " + _shown(fix))

    def note(self, text: str) -> None:
        self.notes += 1
        click.echo("  " + click.style("NOTE", fg="yellow") + "  " + _shown(text))


def _shown(text: str) -> str:
    """``text`` as ``check`` may print it: passwords in URLs masked, unprintable characters escaped."""
    return escape_unprintable(redact_url(text))


def _show_configuration(extension: AppAuthRocket) -> None:
    settings = extension.settings
    width = max(len(row.key) for row in SETTINGS)
    for row in SETTINGS:
        source = settings.sources.get(row.key, "default")
        if row is Settings.jwt_key and settings.jwt_key is not None:
            value = extension.verifier.keys.key_for({}).describe()  # the kind of key, never the key
        else:
            value = settings.shown(row.key)
        click.echo(f"  {row.key:<{width}}  {source:<11}  {_shown(value)}")


def _check_keys(report: _Report, extension: AppAuthRocket) -> None:
    settings = extension.settings
    if settings.jwt_key is not None:
        key = extension.verifier.keys.key_for({})  # a configured key answers every header
        if key.weak:
            report.problem(
                f"AUTHROCKET_JWT_KEY is an HS256 secret of {len(key.key)} bytes: a secret shorter than "
                f"{HS256_SECRET_MIN_BYTES} bytes can be guessed offline from any one token, and then anyone can "
                "sign tokens your app accepts.",
                "paste the realm's JWT secret from Realm -> Integration, or switch the realm to RS256 and set "
                "LOGINROCKET_URL instead of AUTHROCKET_JWT_KEY.",
            )
        else:
            report.ok(f"AUTHROCKET_JWT_KEY: {key.describe()}; tokens are checked with it, the app fetches no key set.")
        if settings.loginrocket_url:
            report.info(
                "LOGINROCKET_URL builds the login and logout links; its key set is not used while "
                "AUTHROCKET_JWT_KEY is set, but is fetched here once to compare."
            )
            diagnosis = _compare_with_loginrocket(
                report, key, settings.loginrocket_url, settings.http_timeout, ca_bundle=settings.ca_bundle
            )
            _check_clock(report, diagnosis, settings.leeway)
        return
    diagnosis = diagnose_key_set(
        settings.loginrocket_url or "", timeout=settings.http_timeout, ca_bundle=settings.ca_bundle
    )
    if diagnosis.error is not None:
        fix = diagnosis.fix or "check LOGINROCKET_URL."
        if diagnosis.unreachable:
            fix = _unreachable_fix(diagnosis.url, "LOGINROCKET_URL")
        report.problem(diagnosis.error, fix)
        return
    count = len(diagnosis.kids)
    report.ok(
        f"{diagnosis.url} answered in {diagnosis.milliseconds} ms: {count} {'key' if count == 1 else 'keys'} "
        f"(kid {', '.join(diagnosis.kids)})."
    )
    for skipped in diagnosis.skipped:
        report.info(f"skipped a key that cannot verify AuthRocket tokens: {skipped}")
    _check_clock(report, diagnosis, settings.leeway)


def _check_clock(report: _Report, diagnosis: KeySetDiagnosis, leeway: float) -> None:
    """Compare this machine's clock with the key server's ``Date``: a skew over the leeway refuses fresh tokens."""
    offset = diagnosis.clock_offset
    if offset is None:
        if diagnosis.error is None:
            report.info(f"{diagnosis.url} sent no usable Date header: this machine's clock was not compared with it.")
        return
    seconds = round(abs(offset))
    if abs(offset) <= 1.5:
        report.ok(f"this machine's clock agrees with LoginRocket's (its Date header, within {seconds or 1} s).")
    elif abs(offset) <= leeway:
        report.info(
            f"this machine's clock is {seconds} s {'behind' if offset > 0 else 'ahead of'} LoginRocket's, within "
            f"AUTHROCKET_LEEWAY ({leeway:g} s)."
        )
    elif offset > 0:
        report.problem(
            f"this machine's clock is {seconds} s behind LoginRocket's (its Date header at {diagnosis.url}), more "
            f"than AUTHROCKET_LEEWAY ({leeway:g} s) allows: every token LoginRocket signs looks issued in the "
            "future here and is refused as not yet valid, which loops the browser back to the login page.",
            "synchronise this machine's clock (NTP: timedatectl set-ntp true, or your platform's time service).",
        )
    else:
        report.problem(
            f"this machine's clock is {seconds} s ahead of LoginRocket's (its Date header at {diagnosis.url}), more "
            f"than AUTHROCKET_LEEWAY ({leeway:g} s) allows: tokens expire here {seconds} s early, and a short-lived "
            "one may be refused as expired as it arrives.",
            "synchronise this machine's clock (NTP: timedatectl set-ntp true, or your platform's time service).",
        )


def _compare_with_loginrocket(
    report: _Report, key: VerificationKey, loginrocket_url: str, timeout: float, *, ca_bundle: str | None
) -> KeySetDiagnosis:
    """Does LoginRocket sign with the static key? A mismatch rejects every login, looping the browser back.

    Returns what the fetch found, for the clock's comparison.
    """
    diagnosis = diagnose_key_set(loginrocket_url, timeout=timeout, ca_bundle=ca_bundle)
    where = f"at {diagnosis.url} (kid {', '.join(diagnosis.kids)})"
    if diagnosis.unreachable:
        # The app never fetches it while the static key is set: worth a line, not a failure.
        report.info(f"could not compare AUTHROCKET_JWT_KEY with LoginRocket's keys: {diagnosis.error}")
    elif isinstance(key, RsaPublicKey):
        numbers = key.key.public_numbers()
        same = [k for k in diagnosis.keys if isinstance(k, RsaPublicKey) and k.key.public_numbers() == numbers]
        if same:
            report.ok(f"AUTHROCKET_JWT_KEY is LoginRocket's key {same[0].kid!r} ({diagnosis.url}).")
        elif diagnosis.keys:
            report.problem(
                f"AUTHROCKET_JWT_KEY is not among the keys LoginRocket publishes {where}: every token LoginRocket "
                "signs will be rejected.",
                "paste the realm's current key from Realm -> Integration, or unset AUTHROCKET_JWT_KEY so that the "
                "app uses LoginRocket's key set (which follows key rotations).",
            )
        else:
            report.problem(
                f"AUTHROCKET_JWT_KEY is an RSA public key, but LoginRocket publishes no RSA key: {diagnosis.error}",
                diagnosis.fix or "check LOGINROCKET_URL.",
            )
    elif diagnosis.keys:
        report.warning(
            f"AUTHROCKET_JWT_KEY is an {key.kind}, but LoginRocket publishes RSA keys {where}: tokens signed "
            f"{diagnosis.keys[0].algorithm} will be rejected.",
            "unset AUTHROCKET_JWT_KEY so that the app uses LoginRocket's keys, or switch the realm to HS256 if it "
            "is meant to sign with the secret.",
        )
    else:
        report.info(f"AUTHROCKET_JWT_KEY is an {key.kind}, and LoginRocket publishes no RSA key: {diagnosis.error}")
    return diagnosis


def _unreachable_fix(url: str, setting: str) -> str:
    if is_loopback_url(url):
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
    from ..client import AuthRocketClient  # apps without API calls never load it

    # No retries: one cheap call, and an unreachable API should say so at once.
    client = AuthRocketClient(
        url=url,
        api_key=key,
        realm=settings.realm,
        service=settings.service,
        locale=settings.locale,
        timeout=settings.http_timeout,
        retries=0,
        ca_bundle=settings.ca_bundle,
    )
    realm = settings.realm
    path = f"realms/{realm}" if realm else "realms?max_results=1"
    started = time.monotonic()
    try:
        if realm:
            record: Any = client.realms.find(realm)
        else:
            page = client.realms.all(max_results=1)
            record = page[0] if page else None
    except AccessDenied as exc:
        hint = (
            "the development LoginRocket logs its key at start; it is also in dev_loginrocket_api_key in its "
            "instance folder."
            if is_loopback_url(url)
            else "copy a key from Realm -> Integration -> API keys."
        )
        scope = f", or has no access to realm {realm}" if realm else ""
        report.problem(
            f"GET {path} answered 403: the API refused AUTHROCKET_API_KEY ({mask_api_key(key)}); "
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


def _check_names(report: _Report, app: Flask, settings: Settings) -> None:
    configured = [key for key, source in settings.sources.items() if source == "config"]
    unknown = unknown_settings(app.config, configured=configured)
    if not unknown:
        return
    report.section("Setting names")
    for item in unknown:  # names only: a value set under a misspelt name may be a secret
        if item.config_only:
            fix = f"set it in the app's config: app.config[{item.key!r}] = ... (from os.environ if you like)."
        elif item.suggestion:
            fix = f"rename it to {item.suggestion}."
        else:
            fix = "remove it; the settings are listed above and in the configuration docs."
        report.problem(item.describe(), fix)


def _check_cache(report: _Report, app: Flask, settings: Settings) -> None:
    from ..cache_probe import probe_cache

    found = probe_cache(settings.cache)  # the app's own store: its topology, user, TLS and client
    shown = f"AUTHROCKET_CACHE ({found.kind})"
    if found.error is not None:
        report.problem(
            f"{shown} failed at {found.failed}: {_without_cache_password(found.error.short, app)}.",
            found.error.fix
            + " While it fails, each worker keeps its own answers: a logout reaches the others only when it answers.",
        )
    else:
        report.ok(
            f"{shown} answered every operation the extension uses in {found.milliseconds} ms: "
            + ", ".join(found.done)
            + "."
        )
    for advice in found.advice:
        if "socket_timeout" in advice:
            report.problem(advice, "build the client with socket_timeout and socket_connect_timeout (seconds).")
        else:
            report.warning(advice, "build the client with retry=Retry(NoBackoff(), 0).")


def _without_cache_password(text: str, app: Flask) -> str:
    """``text``, cut short, without the password of a Redis URL in AUTHROCKET_CACHE."""
    text = text[:300]
    configured = app.config.get("AUTHROCKET_CACHE")
    if isinstance(configured, str):
        parts = urlsplit(configured)
        for secret in [parts.password, *(v for k, v in parse_qsl(parts.query) if k == "password")]:
            if secret:
                text = text.replace(secret, "***")
    return text


def _advise_on_cookie_tossing(report: _Report, settings: Settings) -> None:
    """On https, a login cookie name without ``__Host-`` can be set by any sibling subdomain (docs/security.md)."""
    name = settings.cookie_name
    loginrocket = settings.loginrocket_url or ""
    https = settings.cookie_secure is True or (loginrocket.startswith("https://") and not is_loopback_url(loginrocket))
    if not name or name.startswith("__Host-") or not https:
        return
    if settings.cookie_domain is None:
        report.note(
            f"AUTHROCKET_COOKIE_NAME is {name!r}: any subdomain of this site can set a cookie of that name for the "
            "whole domain (cookie tossing), and a valid token of someone else's account in it would log the user "
            "in as them once their own expires. Name it '__Host-arToken': browsers let no other host set it."
        )
    else:
        report.note(
            f"AUTHROCKET_COOKIE_DOMAIN is {settings.cookie_domain!r}: the login cookie is shared with every "
            f"subdomain, and any of them can set its own {name!r} (cookie tossing). Share it only among hosts "
            "you trust alike; otherwise unset AUTHROCKET_COOKIE_DOMAIN and name the cookie '__Host-arToken'."
        )


def _advise(report: _Report, app: Flask, settings: Settings) -> None:
    before = report.problems + report.notes
    for setting, url in (("LOGINROCKET_URL", settings.loginrocket_url), ("AUTHROCKET_URL", settings.api_url)):
        if url and urlsplit(url).scheme == "http" and not is_loopback_url(url):
            carried = "keys and login tokens" if setting == "LOGINROCKET_URL" else "the API key"
            report.problem(
                f"{setting} is plain http:// to another machine: {carried} can be read or replaced on the way.",
                f"use the https:// URL in {setting}.",
            )
    if settings.loginrocket_url and is_loopback_url(settings.loginrocket_url):
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
    _advise_on_cookie_tossing(report, settings)
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
