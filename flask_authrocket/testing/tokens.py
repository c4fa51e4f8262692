"""Real AuthRocket login tokens for tests: :func:`make_user`, :func:`make_membership`, :func:`make_token`.

No pytest here: see :mod:`flask_authrocket.testing`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import jwt

from ..issuer import login_claims
from ..models import drop_none
from .keys import TestKeys


def make_user(
    id: str = "usr_test",
    *,
    email: str | None = None,
    first_name: str | None = "Test",
    last_name: str | None = "User",
    username: str | None = None,
    name: str | None = None,
    email_verified: bool | None = True,
    reference: str | None = None,
    custom: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A user for :func:`make_token` and ``login_as``: a mapping of the user's facts.

    ``email`` defaults to one made from the id (``usr_test`` -> ``test@example.com``).
    Values left ``None`` are left out of the token.

    >>> make_user("usr_grace", first_name="Grace", last_name="Hopper")["email"]
    'grace@example.com'
    """
    if email is None:
        email = f"{id.removeprefix('usr_')}@example.com"
    return drop_none(
        {
            "id": id,
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "name": name,
            "email_verified": email_verified,
            "reference": reference,
            "custom": dict(custom) if custom is not None else None,
        }
    )


def make_membership(
    org_id: str,
    name: str | None = None,
    permissions: Iterable[str] = (),
    membership_id: str | None = None,
    *,
    selected: bool = False,
    reference: str | None = None,
    custom: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A membership of the org ``org_id`` granting ``permissions``, for ``orgs=`` of :func:`make_token`.

    ``selected=True`` makes it the current membership (else the first one is).
    ``membership_id`` defaults to one made from the user's and org's ids.

    >>> make_membership("org_acme", "Acme", ["site:admin"])["permissions"]
    ['site:admin']
    """
    if isinstance(permissions, str):
        raise TypeError(f"permissions is a list of names; write [{permissions!r}].")
    return drop_none(
        {
            "id": org_id,
            "name": name,
            "permissions": list(permissions),
            "membership_id": membership_id,
            "selected": selected or None,
            "reference": reference,
            "custom": dict(custom) if custom is not None else None,
        }
    )


def make_token(
    user: Mapping[str, Any] | str | None = None,
    orgs: Iterable[Mapping[str, Any] | str] | None = (),
    expires_in: int = 3600,
    *,
    legacy: bool = False,
    selected: str | None = None,
    session_id: str | None = None,
    issued_at: int | None = None,
    realm_id: str | None = "rl_test",
    keys: TestKeys | None = None,
    algorithm: str = "RS256",
    **claims: Any,
) -> str:
    """A real AuthRocket login token, signed by the test keys.

    :param user: a mapping like :func:`make_user`'s (``id`` required), a user
        id, or an email (the id is made from it); the default is
        ``make_user()``, ``usr_test``.
    :param orgs: the user's memberships: mappings like :func:`make_membership`'s
        (``{"id": "org_1", "name": "Acme", "permissions": ["site:admin"]}``) or
        org ids. ``None`` leaves membership data out of the token entirely (a
        realm whose JWT fields omit it); ``()`` says "no memberships".
    :param expires_in: seconds from ``issued_at`` (now) to ``exp``; negative
        for a token that has already expired.
    :param legacy: write AuthRocket's older token format (``uid``, ``m`` ...),
        which carries no email, no session id and no ``iss`` (``tk=`` and
        ``iss=`` add them), as AuthRocket's login-token guide lays it out.
    :param selected: the org id of the selected membership (the current one).
        Raises :class:`ValueError` when no membership has that org.
    :param session_id: the ``sid`` claim (a random ``kss_...`` by default).
    :param issued_at: the ``iat`` claim, in seconds since the epoch (now by default).
    :param realm_id: the ``rid`` claim (``None`` leaves it out).
    :param keys: the :class:`TestKeys` to sign with (:meth:`TestKeys.default`).
    :param algorithm: ``"RS256"`` (the RSA key) or ``"HS256"`` (the secret).
    :param claims: claims to add or replace, e.g. ``email_verified=False``;
        ``None`` removes a claim (``sid=None``).

    >>> from flask_authrocket.tokens import TokenVerifier
    >>> token = make_token("grace@example.com", [make_membership("org_1", permissions=["site:admin"])])
    >>> session = TokenVerifier(jwt_key=TestKeys.default().public_key_pem).session_from_token(token)
    >>> session.user.id, session.current_membership.permissions
    ('usr_grace', ('site:admin',))
    """
    if isinstance(orgs, (str, Mapping)):
        raise TypeError(f"orgs is a list of memberships or org ids; write [{orgs!r}].")
    person = _user_mapping(user)
    memberships = None if orgs is None else [_org_mapping(org, person["id"]) for org in orgs]
    if selected is not None:
        if not memberships or selected not in {org["id"] for org in memberships}:
            raise ValueError(f"selected={selected!r} names no org of the token's orgs; add it to orgs.")
        memberships = [{**org, "selected": org["id"] == selected} for org in memberships]
    payload = login_claims(
        person,
        memberships,
        session_id=session_id,
        realm_id=realm_id,
        expires_in=expires_in,
        issued_at=issued_at,
        legacy=legacy,
    )
    for claim, value in claims.items():
        if value is None:
            payload.pop(claim, None)
        else:
            payload[claim] = value
    signer = (keys or TestKeys.default()).issuer(algorithm)
    if legacy and "iss" not in payload:
        # TokenIssuer.issue adds the iss that the older layout does not have.
        if signer.private_key is not None:
            return jwt.encode(payload, signer.private_key, algorithm="RS256", headers={"kid": signer.kid})
        return jwt.encode(payload, str(signer.secret), algorithm="HS256")
    return signer.issue(payload)


def _user_mapping(user: Mapping[str, Any] | str | None) -> dict[str, Any]:
    if user is None:
        return make_user()
    if isinstance(user, str):
        if "@" in user:
            local = user.split("@", 1)[0]
            return make_user("usr_" + (re.sub(r"[^a-z0-9]+", "_", local.lower()).strip("_") or "user"), email=user)
        return make_user(user)
    if not isinstance(user, Mapping) or not user.get("id"):
        raise TypeError(f"user must be a user id, an email or a mapping with an 'id' (see make_user()), not {user!r}.")
    return dict(user)


def _org_mapping(org: Mapping[str, Any] | str, user_id: str) -> dict[str, Any]:
    found = make_membership(org) if isinstance(org, str) else dict(org)
    if not isinstance(found.get("id"), str):
        raise TypeError(f"each org is an org id or a mapping with an 'id' (see make_membership()), not {org!r}.")
    # A stable membership id, so tests can assert on it.
    found.setdefault("membership_id", f"mb_{_id_suffix(user_id)}_{_id_suffix(found['id'])}")
    return found


def _id_suffix(value: str) -> str:
    return value.split("_", 1)[1] if "_" in value else value
