"""``flask authrocket token``: a real login token from the development LoginRocket on loopback.

The talking to the development LoginRocket is
:class:`flask_authrocket.dev.login_client.DevLoginClient`'s (which refuses
anything but loopback); this module says what it got and whether the app
accepts it. The token alone goes to stdout, everything else to stderr.
"""

from __future__ import annotations

import time

import click

from ..errors import ApiError
from ..logs import escape_unprintable
from ..models import Session
from .apps import AppAuthRocket
from .decode import explain, relative


def token(
    extension: AppAuthRocket,
    *,
    user_ref: str,
    org_id: str | None,
    loginrocket_url: str | None,
    api_key: str | None,
    password: str | None,
) -> None:
    """Print a token for ``user_ref`` (an email or a user id), then say on stderr whether the app accepts it."""
    # Loaded here, not with the command group: every `flask` command loads the group,
    # and only this command needs the development LoginRocket's client.
    from ..dev.login_client import DevLoginClient, DevLoginError, loginrocket_root

    settings = extension.settings
    url = loginrocket_url or settings.loginrocket_url
    if not url:
        raise click.UsageError(
            "No LoginRocket URL: pass --loginrocket-url http://127.0.0.1:5001/ or set LOGINROCKET_URL."
        )
    try:
        root = loginrocket_root(url)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    except DevLoginError as exc:
        raise click.ClickException(escape_unprintable(str(exc))) from exc
    key = api_key or settings.api_key
    if not key:
        raise click.UsageError(
            "No API key for the development LoginRocket: pass --api-key, or set AUTHROCKET_API_KEY. "
            "It logs the key at start; it is also in dev_loginrocket_api_key in its instance folder."
        )
    _note(f"Asking the development LoginRocket at {root} ...")
    try:
        with DevLoginClient(root, key, timeout=settings.http_timeout, note=_note) as client:
            client.check_realm()
            user = client.find_user(user_ref)
            minted = client.token(user, org_id=org_id, password=password)
    except (DevLoginError, ApiError) as exc:
        raise click.ClickException(escape_unprintable(str(exc))) from exc
    click.echo(minted)

    name = " ".join(part for part in (user.first_name, user.last_name) if part) or user.display_name
    who = f"{name} <{user.email}> ({user.id})" if user.email else f"{name} ({user.id})"
    result = extension.verify(minted)
    if isinstance(result, Session):
        org = result.current_org
        where = f", org {org.id}" + (f" ({org.name})" if org.name else "") if org else ""
        _note(
            f"Token for {who}{where}, session {result.id}, "
            f"expires {relative(result.expires_at - time.time())}. The app accepts it."
        )
        return
    hint = _HINTS.get(result.reason, "").format(root=root)
    _note(f"Token for {who}. Warning: this app would reject it: {explain(result, minted, extension)}.{hint}")


#: What to look at when the app rejects a token fresh from the development LoginRocket, by the
#: reason; the explanation itself says the rest (the clock, AUTHROCKET_TOKEN_WITHIN, the API).
_HINTS = {
    reason: " Is the app's LOGINROCKET_URL (or AUTHROCKET_JWT_KEY) this development LoginRocket's ({root})?"
    for reason in ("bad_signature", "unknown_kid", "wrong_algorithm", "wrong_issuer")
}


def _note(message: str) -> None:
    # Names and messages come from the development LoginRocket: never let them drive the terminal.
    click.echo(escape_unprintable(message), err=True)
