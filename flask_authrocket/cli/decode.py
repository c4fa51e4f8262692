"""``flask authrocket decode``: verify a token as the app does, show what it holds or exactly why it is rejected.

The verification is the app's own (:meth:`AuthRocket.verify
<flask_authrocket.AuthRocket.verify>`, managed sessions included); this
module only formats its answer. A rejection is explained with the token's own
times and claims, read without verification and labelled so.

Whatever a token says is shown with every control, format and bidirectional
character escaped (:func:`escape_unprintable`): a claim cannot move the
cursor, recolour the terminal, ring its bell or reorder what is shown around it.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import click
import jwt

from ..cookie import foreign_token_hint
from ..jwks import diagnose_key_set
from ..logs import escape_unprintable, redact_url
from ..models import Membership, Rejection, Session
from ..tokens import ISSUER, MAX_TOKEN_BYTES, describe_rejection
from .apps import AppAuthRocket


def read_token(argument: str | None) -> str:
    """The token from the argument, or from stdin for ``-`` or none; a leading ``Bearer`` is dropped.

    Raises :class:`click.UsageError` when there is no token.
    """
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


def decode(token: str, extension: AppAuthRocket) -> None:
    """Print what a valid token holds, or why it is rejected (then exit with status 1)."""
    result = extension.verify(token)
    if isinstance(result, Session):
        _show_session(result, extension)
        return
    _show_rejection(token, result, extension)
    raise SystemExit(1)


def _show_session(session: Session, extension: AppAuthRocket) -> None:
    header = jwt.get_unverified_header(session.token)  # the signature covers it: verified now
    click.secho("VALID", fg="green", bold=True, nl=False)
    click.echo(f"  signed with {escape_unprintable(redact_url(extension.verifier.keys.describe_key_for(header)))}")
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
        click.echo(f"{label:<12}{escape_unprintable(value)}")
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
            click.echo(f"  {marker} {escape_unprintable(_membership_line(membership))}")
    if current is not None:
        org = current.org
        how = "selected in the token" if current.selected else "the first; none is marked selected"
        name = f" ({org.name})" if org is not None and org.name else ""
        click.echo(escape_unprintable(f"Current org {current.org_id}{name}: {how}"))


def _membership_line(membership: Membership) -> str:
    org = membership.org
    name = f" ({org.name})" if org is not None and org.name else ""
    permissions = ", ".join(membership.permissions) or "none"
    selected = "  [selected]" if membership.selected else ""
    return f"{membership.org_id}{name}  membership {membership.id or '-'}  permissions: {permissions}{selected}"


def _show_rejection(token: str, rejection: Rejection, extension: AppAuthRocket) -> None:
    header, claims, problem = _unverified(token)
    click.secho("REJECTED", fg="red", bold=True, nl=False)
    click.echo(f"  {explain(rejection, token, extension)}")
    click.echo(
        f"          reason: {rejection.reason}"
        + (" (not known to be bad: it could not be checked)" if rejection.unavailable else "")
    )
    settings = extension.settings
    hint = foreign_token_hint(token, rejection.reason, app_realm=settings.realm, cookie_name=settings.cookie_name)
    if hint is not None:  # two apps on one host, sharing one cookie name
        click.echo(f"          from the login cookie? {escape_unprintable(hint)}")
    if header is None and claims is None:
        return
    # Shown only to explain the rejection, and labelled so that nobody takes them for facts.
    click.echo()
    click.secho("UNVERIFIED header", fg="yellow", bold=True, nl=False)
    click.echo(" (read from the token without checking it: do not trust it)")
    click.echo(_pretty(header) if header is not None else "(unreadable)")
    click.secho("UNVERIFIED claims", fg="yellow", bold=True, nl=False)
    click.echo(" (read from the token without checking it: do not trust them)")
    click.echo(_pretty(claims) if claims is not None else f"(unreadable: {escape_unprintable(str(problem))})")


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


def explain(rejection: Rejection, token: str, extension: AppAuthRocket) -> str:
    """The rejection of ``token`` in words, with the token's own times and claims that make it actionable.

    The generic part of each reason is the one table's text
    (:data:`~flask_authrocket.tokens.REJECTION_TEXTS`) or the rejection's own
    message; what is added here is what only this token and this app can say.
    Anything the token says is escaped (:func:`escape_unprintable`); a password in
    a URL the explanation names is not shown.
    """
    return escape_unprintable(redact_url(_explanation(rejection, token, extension)))


def _explanation(rejection: Rejection, token: str, extension: AppAuthRocket) -> str:
    header_read, claims_read, problem = _unverified(token)
    reason = rejection.reason
    claims = claims_read or {}
    header = header_read or {}
    settings = extension.settings
    keys = extension.verifier.keys
    within = extension.verifier.within
    now = time.time()
    leeway = f"leeway {settings.leeway:g} s"
    exp, nbf, iat = (_number(claims.get(name)) for name in ("exp", "nbf", "iat"))
    if reason == "expired" and exp is not None:
        return f"expired {relative(exp - now)} (exp {_utc(exp)}, {leeway})"
    if reason == "not_yet_valid":
        if nbf is not None and nbf > now + settings.leeway:
            return f"not valid until {_utc(nbf)}, {relative(nbf - now)} (nbf, {leeway})"
        if iat is not None:
            return (
                f"issued in the future: iat {_utc(iat)}, {relative(iat - now)} ({leeway}); "
                "is this machine's clock right?"
            )
    if reason == "too_old" and iat is not None and within is not None:
        return (
            f"issued {relative(iat - now)} (iat {_utc(iat)}), longer ago than AUTHROCKET_TOKEN_WITHIN = "
            f"{within:g} s allows"
        )
    if reason == "wrong_issuer":
        return f"wrong issuer: {claims.get('iss')!r} (expected {ISSUER})"
    if reason == "missing_claim":
        # A token in the older layout (uid, no sub) may leave out iss, as seed 004 lays it out.
        legacy = "uid" in claims and "sub" not in claims
        needed = ["exp"] + ([] if legacy else ["iss"]) + (["iat"] if within is not None else [])
        missing = [name for name in needed if name not in claims]
        if missing:
            return f"missing claim {', '.join(repr(name) for name in missing)}: every AuthRocket login token has them"
    if reason == "bad_signature":
        return (
            f"bad signature: the token was not signed with {keys.describe_key_for(header)}; "
            "it comes from another realm or LoginRocket, or it was altered"
        )
    if reason == "wrong_algorithm":
        algorithm = header.get("alg")
        if isinstance(algorithm, str) and algorithm.lower() == "none":
            return "unsigned token (alg 'none'): never accepted"
        return (
            f"wrong algorithm: the token says {algorithm!r} but {keys.describe_key_for(header)} "
            f"verifies {keys.expected_algorithm(header)} only"
        )
    if reason == "unknown_kid":
        return _explain_unknown_kid(header, extension)
    if reason == "unavailable":
        diagnosis = diagnose_key_set(
            settings.loginrocket_url or "", timeout=settings.http_timeout, ca_bundle=settings.ca_bundle
        )
        why = diagnosis.error or "the key set could not be fetched a moment ago"
        return f"could not be checked: {why} The app keeps the cookie and answers 503 on guarded views"
    if reason == "malformed":
        return f"malformed: {problem or rejection.message}"
    if reason == "session_ended":
        return (
            f"{_plain(describe_rejection(reason))} (managed sessions: the API no longer knows it); "
            "the signature and times are fine"
        )
    return f"{reason.replace('_', ' ')}: {rejection.message or _plain(describe_rejection(reason))}"


def _explain_unknown_kid(header: Mapping[str, Any], extension: AppAuthRocket) -> str:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        return (
            "no kid in the header: LoginRocket keys are chosen by kid (an HS256 token needs AUTHROCKET_JWT_KEY "
            "set to the realm's JWT secret)"
        )
    settings = extension.settings
    diagnosis = diagnose_key_set(
        settings.loginrocket_url or "", timeout=settings.http_timeout, ca_bundle=settings.ca_bundle
    )
    if diagnosis.error is not None:
        return f"unknown kid {kid!r} (and the key set cannot be fetched now: {diagnosis.error})"
    return f"unknown kid {kid!r} (LoginRocket serves: {', '.join(diagnosis.kids)})"


def _plain(text: str) -> str:
    """A table text inside a sentence: "The session was logged out." -> "the session was logged out"."""
    return text[:1].lower() + text[1:].rstrip(".")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _utc(timestamp: float) -> str:
    try:
        return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return repr(timestamp)


def relative(seconds: float) -> str:
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
    return f"{_utc(timestamp)} ({relative(timestamp - now)})"


def _pretty(data: Any) -> str:
    # JSON escapes C0 controls inside strings, so every newline left is the layout's own.
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return "\n".join(escape_unprintable(line) for line in text.split("\n"))
