"""The development LoginRocket: AuthRocket's hosted login pages, on your own machine.

**For development only, never in production.** It signs real login tokens for
anyone who clicks a button, so it listens on loopback (127.0.0.1) only.

Run it next to your app::

    python -m flask_authrocket.dev                      # http://127.0.0.1:5001/
    python -m flask_authrocket.dev --port 5001 --login-url http://127.0.0.1:5000/ --instance ./instance
    flask --app flask_authrocket.dev run --port 5001    # the same app, through Flask's CLI

and point the app at it, exactly as at a real realm::

    LOGINROCKET_URL=http://127.0.0.1:5001/              # RS256: keys come from /connect/jwks
    # or, after starting it with --secret S (HS256):
    LOGINROCKET_URL=http://127.0.0.1:5001/ AUTHROCKET_JWT_KEY=S

Pages: ``/login`` (one button per demo user first, then email and password),
``/signup``, ``/profile``, ``/accounts`` (``force=1`` shows the picker even with
one org), ``/accounts/<org id>``, ``/logout`` (``redirect_uri``, ``session``),
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
    The instance folder. Default: Flask's instance folder for ``flask_authrocket.dev``.
``DEV_LOGINROCKET_ALLOW_REMOTE``
    Answer clients other than loopback. Default ``False`` (they get 403).
``SECRET_KEY``
    Signs the LoginRocket's own cookie. Default: generated once and kept in the instance folder.

The instance folder holds ``dev_loginrocket.sqlite3`` (users, orgs,
memberships, sessions), ``dev_loginrocket_signing_key.pem`` (the RS256 key; its
``kid`` is its RFC 7638 thumbprint, stable across restarts) and
``dev_loginrocket_secret_key``. A folder it creates gets a ``.gitignore`` of ``*``.

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

from .app import create_app

__all__ = ["create_app"]
