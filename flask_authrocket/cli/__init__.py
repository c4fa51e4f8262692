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

import click

from .apps import app_and_extension
from .check import check
from .decode import decode, read_token
from .token import token

__all__ = ["authrocket"]


@click.group("authrocket")
def authrocket() -> None:
    """AuthRocket: check the configuration, explain a token, get a development token."""


@authrocket.command("check")
def check_command() -> None:
    """Show the configuration, fetch the keys, call the API: say what is wrong and how to fix it.

    Exit status 0 when nothing is wrong (notes for production do not count), 1 otherwise.
    """
    check(*app_and_extension())


@authrocket.command("decode")
@click.argument("token", required=False)
def decode_command(token: str | None) -> None:
    """Verify TOKEN as the app does and show what it holds, or exactly why it is rejected.

    TOKEN may be "-" or left out to read it from stdin (a leading "Bearer " is
    dropped). Exit status 0 for a valid token, 1 for a rejected one, 2 for usage errors.
    """
    text = read_token(token)
    _, extension = app_and_extension()
    decode(text, extension)


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
    _, extension = app_and_extension()
    token(
        extension,
        user_ref=user_ref,
        org_id=org_id,
        loginrocket_url=loginrocket_url,
        api_key=api_key,
        password=password,
    )
