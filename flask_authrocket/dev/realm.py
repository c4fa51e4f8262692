"""The development realm: its directory, its token issuer and its Login URLs, held together.

One :class:`Realm` lives in ``app.extensions["dev_loginrocket"]``; the pages
ask it for tokens and for where to send the browser.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import jwt
from flask import current_app

from ..issuer import TokenIssuer, login_claims
from .directory import Directory, DirectoryUser
from .login_urls import redirect_target

#: The ``rid`` of every token the development LoginRocket issues.
REALM_ID = "rl_dev"


@dataclass(frozen=True)
class Realm:
    """What the development LoginRocket serves: users (``directory``), tokens (``issuer``), Login URLs."""

    directory: Directory
    issuer: TokenIssuer
    login_urls: tuple[str, ...]
    token_ttl: int

    def token_for(self, user: DirectoryUser, session_id: str) -> str:
        """A fresh login token for ``user`` in the current AuthRocket format, ``sid`` = ``session_id``.

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
        )
        if self.issuer.algorithm == "HS256":
            # The length of a configured secret was warned about once, at start.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
                return self.issuer.issue(claims)
        return self.issuer.issue(claims)

    def redirect_target(self, redirect_uri: str | None) -> str:
        """``redirect_uri`` when a Login URL allows it, else the default Login URL."""
        return redirect_target(redirect_uri, self.login_urls)


def current_realm() -> Realm:
    """The :class:`Realm` of the current development LoginRocket app."""
    realm: Realm = current_app.extensions["dev_loginrocket"]
    return realm
