"""The development LoginRocket: AuthRocket's hosted login pages, on your own machine.

**For development only, never in production.** It signs real login tokens for
anyone who clicks a button, so it listens on loopback (127.0.0.1) only.

Run it next to your app::

    python -m flask_authrocket.dev                      # http://127.0.0.1:5001/
    python -m flask_authrocket.dev --port 5001 --login-url http://127.0.0.1:5000/ --data-dir ./instance
    flask --app flask_authrocket.dev run --port 5001    # the same app, through Flask's CLI

and point the app at it, exactly as at a real realm::

    LOGINROCKET_URL=http://127.0.0.1:5001/              # RS256: keys come from /connect/jwks
    # or, after starting it with --secret S (HS256):
    LOGINROCKET_URL=http://127.0.0.1:5001/ AUTHROCKET_JWT_KEY=S

Pages: ``/login`` (one button per demo user first, then email and password),
``/signup``, ``/profile``, ``/accounts`` (``force=1`` shows the picker even with
one org), ``/accounts/<org id>`` (also ``/account/<org id>``, as the LoginRocket URLs
page writes it), ``/logout`` (``redirect_uri``, ``session``),
and the key set at ``/connect/jwks``. Finishing a step sends the browser back
(302) to ``redirect_uri?token=<jwt>`` when ``redirect_uri`` is equal to or under
one of the Login URLs (same scheme, host and port, path under the Login URL's
path), else to the default (first) Login URL. The tokens are in AuthRocket's
current format (``sub``, ``sid``, ``orgs`` with ``oid``/``mid``/``perm``/``selected``,
``rid`` ``rl_dev``) and pass the real :class:`~flask_authrocket.TokenVerifier`.

Configuration (keys of the ``config`` mapping of :func:`create_app`, or
environment variables of the same name; the mapping wins):

``DEV_LOGINROCKET_LOGIN_URLS``
    The allowed Login URLs (a list, or one string separated by spaces or
    commas); the first is the default. Default ``["http://127.0.0.1:5000/"]``.
``DEV_LOGINROCKET_JWT_SECRET``
    When set, tokens are HS256 with this secret (at most 256 characters) and
    ``/connect/jwks`` serves ``{"keys": []}``. Default: RS256.
``DEV_LOGINROCKET_TOKEN_TTL``
    Seconds a token lives. Default 3600.
``DEV_LOGINROCKET_INSTANCE_PATH``
    The data folder (``--data-dir``). Default: ``instance`` in the current directory, printed at start.
``DEV_LOGINROCKET_ALLOW_REMOTE``
    Answer clients other than loopback. Default ``False`` (they get 403).
``DEV_LOGINROCKET_API_KEY``
    The key of the Core API under ``/v2`` (also ``--api-key KEY``). Default:
    ``ks_dev_`` and 32 hex digits, generated once and kept in the instance folder.
``SECRET_KEY``
    Signs the LoginRocket's own cookie. Default: generated once and kept in the instance folder.

The instance folder holds ``dev_loginrocket.sqlite3`` (users, orgs,
memberships, sessions), ``dev_loginrocket_signing_key.pem`` (the RS256 key; its
``kid`` is its RFC 7638 thumbprint, stable across restarts),
``dev_loginrocket_secret_key`` and ``dev_loginrocket_api_key``. A folder it
creates gets a ``.gitignore`` of ``*``. A database written by an older version
is brought up to date on start.

The Core API
------------

Under ``/v2``, in the wire format of AuthRocket's Core API and on the same
users, orgs, memberships and sessions as the pages, so an app's
:class:`~flask_authrocket.AuthRocketClient` (and managed sessions) work
against it unchanged::

    AUTHROCKET_URL=http://127.0.0.1:5001/v2  AUTHROCKET_API_KEY=<the key>  AUTHROCKET_REALM=rl_dev

The key: ``python -m flask_authrocket.dev`` logs these three lines at start;
in Python it is ``app.extensions["dev_loginrocket"].api_key``; on disk,
``<instance>/dev_loginrocket_api_key``. Every call must send it as
``Authrocket-Api-Key`` (wrong or missing: 403 ``{"errors": [...]}``).
``Authrocket-Realm`` may be left out or be ``rl_dev``; any other realm is
refused with 403, as a key without access to that realm would be.

Records are JSON objects with ``object`` and ``id``. Lists answer
``{"collection": [...], "more_results": bool}``, ordered by id: at most
``max_results`` records (default 100, at most 1000) after the id ``after``.
Create and update take the fields in the root element (``{"user": {...}}``;
unknown fields are refused), with a ``request`` (``{"ip", "client"}``) beside it,
kept with sessions and events; refusals are 422 (invalid) or 409 (a taken email
or username, a second membership of one org) with ``{"errors": ["..."]}``;
an unknown id is a 404 with an empty body, an unknown endpoint a 404 with
``{"errors": [...]}``. A delete answers the record; ``DELETE /v2/orgs/<id>``
closes the org (``state: "closed"``) unless ``force`` (``?force=true`` or
``{"force": true}``) removes it with its memberships.

Every resource of AuthRocket's SDKs is served, with the verbs and actions
:data:`flask_authrocket.client.catalog.RESOURCES` gives it (docs/api-client.md
lists them):

==========================================================  ==================================================
``GET /v2/users`` (``email``, ``state``)                    ``POST /v2/users`` (``email`` required)
``GET|PUT|DELETE /v2/users/<id>``                           deleting a user also deletes their memberships
                                                            and sessions
``POST /v2/users/<id, email or username>/authenticate``     ``{"user": {"password"}}``: a session with its
                                                            ``token`` (a real login token); wrong: 422
``PUT /v2/users/<id>/update_password``                      ``current_password`` (checked when sent),
                                                            ``password``, ``password_confirmation``
``PUT /v2/users/<id>/profile``                              email, names, username, password
``POST /v2/users/<id>/generate_password_token``             a ``token`` object; then
``POST /v2/users/reset_password_with_token``                ``{"user": {"token", "password"}}``: a session
``POST /v2/users/<id>/request_email_verification``          a ``token`` object; then
``POST /v2/users/verify_email``                             ``{"user": {"token"}}``: the verified user
``POST /v2/users/authenticate_token``                       always 422: the development realm has no second
                                                            factors
``POST /v2/users/<id>/accept_invitation``                   ``{"user": {"token"}}``: an org invitation makes
                                                            the user a member; used or wrong: 422
``GET /v2/orgs`` (``state``), ``POST /v2/orgs``             ``GET|PUT|DELETE /v2/orgs/<id>`` (closes; ``force``
                                                            removes)
``GET /v2/memberships`` (``user_id``, ``org_id``)           ``POST /v2/memberships`` (``user_id``,
                                                            ``org_id``, ``permissions``);
                                                            ``GET|PUT|DELETE /v2/memberships/<id>``
``GET /v2/sessions`` (``user_id``): sessions still on       ``POST /v2/sessions`` ``{"session": {"user_id"}}``:
                                                            a login without a password, with its token
``GET /v2/sessions/<id or token>``                          404 once logged out anywhere (``/logout``,
                                                            ``DELETE``), and for tokens that do not verify
``DELETE /v2/sessions/<id or token>``                       ends the session: a logout everywhere
``GET /v2/realms``, ``GET /v2/realms/rl_dev``               the one realm; ``POST /v2/realms/rl_dev/reset``
                                                            empties it and seeds the demo data again
invitations, credentials, client apps, domains, auth        the verbs of the catalog, on records kept beside
providers, events, hooks, JWT keys, mailing-list            the directory (:mod:`.store`); any field of the
providers and subscriptions, named permissions,             record is a list filter
``sessions/oauth2``, resource links, SMTP providers
``POST /v2/invitations/<id>/invite``                        sets ``invited_at`` (no email is sent)
``POST /v2/credentials/<id>/verify``                        a TOTP code (RFC 6238) for the credential's
                                                            ``otp_secret``; wrong: 422
``POST /v2/domains/<id>/verify``                            marks the domain verified (no DNS is checked)
``GET /v2/auth_providers/authorize``,                       providers with an ``auth_url`` leading to
``GET /v2/auth_providers/<id>/authorize``                   ``/_dev/provider``, a stand-in page that sends
                                                            the browser back with ``code`` and ``state``
``POST /v2/auth_providers/authorize``                       ``{"code", "state"}``: a session; wrong: 422
``POST /v2/sessions/oauth2/code``                           a code for its tokens; a wrong client secret: 401
==========================================================  ==================================================

Each change is written to the realm's events (``GET /v2/events``), with a
notification (``state: "skipped"``: nothing is delivered) for each active hook
of its event type.

For tests and benchmarks (API key required; these calls are neither counted
nor faulted):

``GET /v2/_dev/stats``
    ``{"total": n, "counts": {"GET /v2/users/<user_id>": n, ...}, "recent": [...]}``:
    calls counted per method and route (tokens never appear in the keys), and
    the last 200 calls with ``method``, ``path``, ``query``, ``status``,
    ``accept_language``, ``realm``, ``service`` and ``user_agent``.
    ``DELETE /v2/_dev/stats`` starts again from zero.
``POST /v2/_dev/faults``
    Queue an error answer: ``{"status": 503, "count": 2, "retry_after": 1}``
    answers the next 2 calls with 503, ``Retry-After: 1`` and
    ``{"errors": ["Service unavailable."]}``. Optional: ``errors`` (the
    messages), ``method`` and ``path`` (only calls of that method, to that
    path under ``/v2/`` or below it, e.g. ``"users"``), and ``apply``:
    ``"before"`` (default: the call is not handled) or ``"after"`` (the call is
    handled, then its answer replaced: an answer lost on the way back). Faults
    are used in order, each by the first calls it matches.
    ``GET /v2/_dev/faults`` lists those left; ``DELETE /v2/_dev/faults`` drops them.
``POST /v2/_dev/sessions``
    ``{"session": {"user_id", "org_id", "password"}}``: log a user in as the
    login page would, with ``org_id`` selected first as on ``/accounts``; the
    session and its token (201). A demo user needs no password, any other user
    theirs (without it or wrong: 401); not a member of ``org_id``: 422. It is
    how ``flask authrocket token --org`` gets its token.

Demo data, seeded on first start (password ``password`` for each):

* Ada Lovelace, ``usr_ada``, ada@example.com: ``site:admin`` in Acme Inc.
  (``org_acme``, membership ``mb_ada_acme``), plain member of Globex
  (``org_globex``, ``mb_ada_globex``);
* Grace Hopper, ``usr_grace``, grace@example.com: plain member of Acme Inc.
  (``mb_grace_acme``).

Signing up asks for first name, last name, email, password and, optionally,
an account (org) name: given, a new org is created with the user as its
``site:admin``; left empty, the user belongs to no org.

Nothing here is imported by ``import flask_authrocket``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    """``create_app``, imported on first use: ``flask authrocket`` imports small parts of this package
    (the loopback check, the client of ``token``) without loading the development app."""
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
