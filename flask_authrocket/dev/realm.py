"""The development realm: its directory, its token issuer, its Login URLs and its API key, held together.

One :class:`Realm` lives in ``app.extensions["dev_loginrocket"]``; the pages
ask it for tokens and for where to send the browser, the Core API under
``/v2`` for its API key and for the sessions behind tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from ..issuer import TokenIssuer, login_claims
from ..keys import short_secret_warning_ignored
from ..models import Session
from ..tokens import TokenVerifier
from .directory import Directory
from .login_urls import redirect_target
from .records import DirectoryUser, LoginSession
from .traffic import Traffic

#: The ``rid`` of every token the development LoginRocket issues.
REALM_ID = "rl_dev"


@dataclass(frozen=True)
class Realm:
    """What the development LoginRocket serves: users (``directory``), tokens (``issuer``), Login URLs.

    ``api_key`` is the key every call to the Core API under ``/v2`` must
    carry; ``verifier`` checks this realm's own tokens (the real
    :class:`~flask_authrocket.tokens.TokenVerifier`, with the issuer's key);
    ``traffic`` counts the API's calls and holds the faults queued for it.
    """

    directory: Directory
    issuer: TokenIssuer
    login_urls: tuple[str, ...]
    token_ttl: int
    api_key: str = field(repr=False)
    verifier: TokenVerifier = field(repr=False)
    traffic: Traffic = field(default_factory=Traffic, repr=False)

    def token_for(self, user: DirectoryUser, session_id: str, *, issued_at: int | None = None) -> str:
        """A fresh login token for ``user`` in the current AuthRocket format, ``sid`` = ``session_id``.

        ``issued_at`` is its ``iat`` (now by default): a new session's first token is dated with the
        session, so that the API's ``expires_at`` for the session and the token's ``exp`` agree.

        Every membership is an entry of ``orgs``; the org the user picked on
        ``/accounts`` (if any) has ``selected: true``.
        """
        orgs: list[dict[str, Any]] = [
            {
                "id": membership.org_id,
                "name": membership.org_name,
                "membership_id": membership.id,
                "permissions": list(membership.permissions),
                "selected": membership.org_id == user.selected_org_id,
            }
            for membership in self.directory.memberships(user.id)
        ]
        claims = login_claims(
            {
                "id": user.id,
                "email": user.email,
                "first_name": user.first_name or None,
                "last_name": user.last_name or None,
                "email_verified": user.email_verified,
            },
            orgs,
            session_id=session_id,
            realm_id=REALM_ID,
            expires_in=self.token_ttl,
            issued_at=issued_at,
        )
        if self.issuer.algorithm == "HS256":
            # The length of a configured secret was warned about once, at start.
            with short_secret_warning_ignored():
                return self.issuer.issue(claims)
        return self.issuer.issue(claims)

    def log_in(self, user: DirectoryUser, request: Mapping[str, Any] | None = None) -> tuple[LoginSession, str]:
        """A new LoginRocket session for ``user`` and a login token for it; ``request`` is kept with the session."""
        session = self.directory.start_session(user.id, request)
        return session, self.token_for(user, session.id, issued_at=int(session.created_at))

    def session_for_token(self, token: str) -> tuple[LoginSession, Session] | None:
        """The live session behind a token of this realm, with the verified token; ``None`` when there is none.

        ``None`` for a token that does not verify (forged, expired, another
        realm's) and for one whose session was logged out or never existed.
        """
        verified = self.verifier.session_from_token(token)
        if verified is None or verified.id is None:
            return None
        session = self.directory.session(verified.id)
        if session is None or session.ended_at is not None or session.user_id != verified.user_id:
            return None
        return session, verified

    def redirect_target(self, redirect_uri: str | None) -> str:
        """``redirect_uri`` when a Login URL allows it, else the default Login URL."""
        return redirect_target(redirect_uri, self.login_urls)


def current_realm() -> Realm:
    """The :class:`Realm` of the current development LoginRocket app."""
    realm: Realm = current_app.extensions["dev_loginrocket"]
    return realm
