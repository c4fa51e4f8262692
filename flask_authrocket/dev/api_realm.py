"""The development Core API's other resources: invitations, credentials, hooks, events, keys ... and their actions.

Registered under :data:`flask_authrocket.dev.api.core_api`, whose every-call checks apply.
Each resource of :data:`flask_authrocket.client.catalog.RESOURCES` that is not the
directory's own (users, orgs, memberships, sessions, realms) is served here with exactly the
verbs the catalog gives it, on records kept in :mod:`flask_authrocket.dev.store`. The fields
a create or update may send are the typed fields of the resource's record
(:mod:`flask_authrocket.records`), less those the API writes itself (:data:`KINDS`).

The actions, as AuthRocket's SDKs call them: ``POST invitations/<id>/invite``,
``POST credentials/<id>/verify`` (a TOTP code, RFC 6238), ``POST domains/<id>/verify``,
``GET auth_providers/authorize``, ``GET auth_providers/<id>/authorize``,
``POST auth_providers/authorize``, ``POST auth_providers/<id>/authorize`` and
``POST sessions/oauth2/code``. What the development LoginRocket cannot do for real it says
so in its answers: it sends no email, checks no DNS, delivers no hook; its social logins go
through a stand-in provider page (``/_dev/provider``, :data:`provider_page`) that hands out a
code for a demo user at once.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import hmac
import secrets
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, redirect, request
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..client.catalog import RESOURCES
from ..client.realm_resources import HOOK_EVENT_TYPES
from .realm import REALM_ID, current_realm
from .records import DirectoryUser
from .store import current_store, record_event
from .wire import (
    Refusal,
    collection,
    not_found,
    optional_fields,
    paging,
    read_fields,
    record_or_404,
    request_data,
    session_json,
)

realm_api = Blueprint("realm_resources", __name__)
#: The stand-in for a social login provider's page, outside ``/v2`` (a browser goes there, without an API key).
provider_page = Blueprint("dev_provider", __name__)

#: Seconds an invitation, a provider's ``state`` and its ``code`` last.
INVITATION_TTL = 7 * 24 * 3600
AUTHORIZE_TTL = 600


@dataclass(frozen=True)
class Kind:
    """How the development API keeps one resource: its ids, its required fields, what it writes itself."""

    prefix: str
    required: tuple[str, ...] = ()
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Fields only the API writes (tokens, secrets, states of checks).
    read_only: frozenset[str] = frozenset()
    #: Fields a change may send that its record does not type (the gem's write-only ``attr``\ s, ids).
    extra: frozenset[str] = frozenset()
    defaults: Mapping[str, Any] = field(default_factory=dict)


#: The resources served here, by the catalog's name. Id prefixes are AuthRocket's where its SDKs' tests show
#: them (``nvt_``, ``crd_``, ``ap_``); the others are this LoginRocket's own.
KINDS: Mapping[str, Kind] = {
    "auth_providers": Kind("ap", ("provider_type",), read_only=frozenset({"auth_url"}), defaults={"state": "active"}),
    "client_apps": Kind("ca", ("name", "client_type"), read_only=frozenset({"secret"}), defaults={"state": "active"}),
    "credentials": Kind(
        "crd",
        ("user_id", "credential_type"),
        read_only=frozenset({"otp_secret", "provisioning_svg", "provisioning_uri", "access_token", "state"}),
        extra=frozenset({"password", "password_confirmation"}),
    ),
    "domains": Kind(
        "dom",
        ("domain_type",),
        read_only=frozenset({"cert_state", "dns_state", "flags", "state", "uri"}),
    ),
    "events": Kind("evt"),
    "hooks": Kind(
        "hk",
        ("event_type", "hook_type"),
        choices={"event_type": HOOK_EVENT_TYPES},
        read_only=frozenset({"current_locales"}),
        defaults={"state": "active"},
    ),
    "invitations": Kind(
        "nvt",
        ("email", "invitation_type"),
        choices={"invitation_type": ("org", "preverify", "referral", "request")},
        read_only=frozenset({"token", "invited_at", "expires_at", "inviting_user_id"}),
    ),
    "jwt_keys": Kind("jwk", ("algo",), read_only=frozenset({"flags", "short_key"}), defaults={"use": "sig"}),
    "mailing_list_providers": Kind("mlp", ("provider_type",), defaults={"state": "active"}),
    "mailing_list_subscriptions": Kind("mls", ("hook_id", "user_id"), defaults={"list_state": "subscribed"}),
    "named_permissions": Kind("np", ("permission",), defaults={"auto_grant": False}),
    "oauth2_sessions": Kind(
        "oas",
        ("client_app_id", "user_id"),
        read_only=frozenset({"access_token", "id_token", "code"}),
        extra=frozenset({"client_app_id", "user_id", "scopes"}),
    ),
    "resource_links": Kind("rsl", ("title", "link_url")),
    "smtp_providers": Kind("smtp", ("provider_type",), defaults={"state": "active"}),
}

_VERBS: dict[str, tuple[str, str]] = {
    "all": ("", "GET"),
    "find": ("/<record_id>", "GET"),
    "create": ("", "POST"),
    "update": ("/<record_id>", "PUT"),
    "delete": ("/<record_id>", "DELETE"),
}


def _writable(name: str) -> frozenset[str]:
    """The fields a create or update of ``name`` may send: its record's typed fields, less the API's own."""
    kind = RESOURCES[name], KINDS[name]
    typed = {item.name for item in dataclasses.fields(kind[0].record) if "read" in item.metadata}
    return frozenset((typed - kind[1].read_only) | kind[1].extra)


# The shared verbs ------------------------------------------------------------------------------------


def _list(name: str) -> ResponseReturnValue:
    limit, after = paging()
    filters = {key: value for key, value in request.args.items() if key not in ("max_results", "after")}
    records, more = current_store().page(name, limit=limit, after=after, filters=filters)
    if name == "jwt_keys" and after is None:
        records = [_signing_key(), *records]
    return collection(records, more)


def _find(name: str, record_id: str) -> ResponseReturnValue:
    return _get(name, record_id)


def _create(name: str) -> ResponseReturnValue:
    facts, kind = RESOURCES[name], KINDS[name]
    fields = _checked(name, read_fields(facts.root, _writable(name)), creating=True)
    values = {**kind.defaults, "realm_id": REALM_ID, **fields, **_written_by_the_api(name, fields)}
    record = current_store().create(
        name, facts.root if name != "oauth2_sessions" else "oauth2_session", kind.prefix, values
    )
    if name == "invitations":
        record_event(
            f"invitation.{record['invitation_type']}.created",
            request=request_data(),
            invitation_id=record["id"],
            org_id=record.get("org_id"),
        )
    return record, 201


def _update(name: str, record_id: str) -> ResponseReturnValue:
    record = _get(name, record_id)
    record.update(_checked(name, read_fields(RESOURCES[name].root, _writable(name)), creating=False))
    return current_store().save(name, record)


def _delete(name: str, record_id: str) -> ResponseReturnValue:
    if name == "jwt_keys" and record_id == _signing_key()["id"]:
        raise Refusal(422, "This is the key the development LoginRocket signs tokens with; it cannot be deleted.")
    return record_or_404(current_store().delete(name, record_id))


_HANDLERS: dict[str, Callable[..., ResponseReturnValue]] = {
    "all": _list,
    "find": _find,
    "create": _create,
    "update": _update,
    "delete": _delete,
}

for _name in KINDS:
    for _verb in RESOURCES[_name].verbs:
        _rule, _method = _VERBS[_verb]
        realm_api.add_url_rule(
            f"/{RESOURCES[_name].path}{_rule}",
            f"{_name}_{_verb}",
            functools.partial(_HANDLERS[_verb], _name),
            methods=[_method],
        )


# The actions -----------------------------------------------------------------------------------------


@realm_api.post("/invitations/<record_id>/invite")
def invite(record_id: str) -> ResponseReturnValue:
    """Send an invitation (the development LoginRocket sends no email): ``invited_at`` is now."""
    invitation = _get("invitations", record_id)
    invitation.update(optional_fields("invitation", frozenset({"locale"})))
    invitation["invited_at"] = int(time.time())
    record_event(f"invitation.{invitation['invitation_type']}.invited", request=request_data(), invitation_id=record_id)
    return current_store().save("invitations", invitation)


@realm_api.post("/credentials/<record_id>/verify")
def verify_credential(record_id: str) -> ResponseReturnValue:
    """Check a TOTP code against a credential's secret (RFC 6238: SHA-1, 30 s, 6 digits, one step of skew)."""
    credential = _get("credentials", record_id)
    code = read_fields("credential", frozenset({"code"})).get("code")
    secret = credential.get("otp_secret")
    if not isinstance(code, str) or not isinstance(secret, str) or not _totp_matches(secret, code):
        raise Refusal(422, "Verification failed: the code is wrong or too old.")
    credential["state"] = "active"
    return current_store().save("credentials", credential)


@realm_api.post("/domains/<record_id>/verify")
def verify_domain(record_id: str) -> ResponseReturnValue:
    """Mark a domain's DNS and certificate checked (the development LoginRocket checks nothing)."""
    domain = _get("domains", record_id)
    optional_fields("domain", frozenset())
    domain.update(dns_state="verified", cert_state="issued", state="active")
    return current_store().save("domains", domain)


@realm_api.get("/auth_providers/authorize")
def authorize_urls() -> ResponseReturnValue:
    """Every active social or SSO provider with its ``auth_url`` for ``redirect_uri`` (and ``nonce``)."""
    providers = [
        provider
        for provider in current_store().all("auth_providers")
        if provider.get("state") == "active" and provider.get("provider_type") not in ("password", "totp")
    ]
    return collection([_with_auth_url(provider) for provider in providers], False)


@realm_api.get("/auth_providers/<record_id>/authorize")
def authorize_url(record_id: str) -> ResponseReturnValue:
    """One provider (by id or type) with its ``auth_url`` for ``redirect_uri``."""
    provider = _get("auth_providers", record_id)
    if provider.get("provider_type") in ("password", "totp"):
        raise Refusal(422, f"A {provider.get('provider_type')} provider has no page to send users to.")
    return _with_auth_url(provider)


@realm_api.post("/auth_providers/authorize")
def authorize() -> ResponseReturnValue:
    """Log a user in with the ``code`` and ``state`` the provider page sent back: a session with its token."""
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    state = _signed("state", body.get("state"))
    code = _signed("code", body.get("code"))
    if code is None or state is None or code.get("state") != body.get("state"):
        raise Refusal(422, "Error validating code: it is wrong, used with another state, or expired.")
    return _log_in(str(code.get("user")), status=200)


@realm_api.post("/auth_providers/<record_id>/authorize")
def authorize_token(record_id: str) -> ResponseReturnValue:
    """Log a user in with an access token of the provider: here, one from ``POST sessions/oauth2/code``."""
    _get("auth_providers", record_id)
    body = request.get_json(silent=True)
    token = body.get("access_token") if isinstance(body, dict) else None
    oauth2 = current_store().find_by("oauth2_sessions", "access_token", token) if isinstance(token, str) else None
    if oauth2 is None:
        raise Refusal(422, "Error validating access token.")
    return _log_in(str(oauth2.get("user_id")), status=200)


@realm_api.post("/sessions/oauth2/code")
def code_to_token() -> ResponseReturnValue:
    """Trade an OAuth2 session's ``code`` for its tokens; the client app's id and secret must match (else 401).

    A wrong client secret is answered 401, as an OAuth2 token endpoint answers a client that
    fails to authenticate (RFC 6749, section 5.2): an authentication call that failed, what
    AuthRocket's PHP client calls ``AuthenticationFailed``.
    """
    fields = read_fields("session", frozenset({"client_app_id", "client_app_secret", "code"}))
    store = current_store()
    client_app = store.get("client_apps", str(fields.get("client_app_id") or ""))
    secret = fields.get("client_app_secret")
    if (
        client_app is None
        or not isinstance(secret, str)
        or not hmac.compare_digest(secret.encode(), str(client_app.get("secret") or "").encode())
    ):
        raise Refusal(401, "Client app authentication failed: check client_app_id and client_app_secret.")
    code = fields.get("code")
    oauth2 = store.find_by("oauth2_sessions", "code", code) if isinstance(code, str) and code else None
    if oauth2 is None or oauth2.get("client_app_id") != client_app["id"] or oauth2.get("access_token"):
        raise Refusal(422, "Code is invalid or was used already.")
    user = current_realm().directory.user(str(oauth2.get("user_id")))
    if user is None:
        raise Refusal(422, "Code is invalid or was used already.")
    _, id_token = current_realm().log_in(user)
    oauth2.update(
        access_token=secrets.token_urlsafe(24),
        id_token=id_token,
        token_type="Bearer",
        expires_in=current_realm().token_ttl,
        expires_at=int(time.time()) + current_realm().token_ttl,
        profile={"sub": user.id, "email": user.email, "name": user.name},
    )
    return store.save("oauth2_sessions", oauth2)


@provider_page.get("/_dev/provider")
def provider() -> ResponseReturnValue:
    """The stand-in provider page: back to the signed ``redirect_uri`` at once, with a ``code`` for a demo user.

    ``user`` picks the demo user (default: the first). Only a ``state`` this LoginRocket
    signed is honoured, so the page sends browsers nowhere but where an API call asked.
    """
    state = request.args.get("state", "")
    data = _signed("state", state)
    if data is None:
        abort(400, description="This page needs the state of an auth_url from GET /v2/auth_providers/authorize.")
    demo_users = current_realm().directory.demo_users()
    wanted = request.args.get("user")
    user = next((u for u in demo_users if u.id == wanted), demo_users[0] if demo_users else None)
    if user is None:
        abort(400, description="The development realm has no demo user to log in as.")
    code = _serializer("code").dumps({"user": user.id, "state": state})
    joiner = "&" if "?" in data["redirect_uri"] else "?"
    return redirect(f"{data['redirect_uri']}{joiner}{urlencode({'code': code, 'state': state})}")


# Steps -------------------------------------------------------------------------------------------------


def _get(name: str, record_id: str) -> dict[str, Any]:
    """Record ``record_id`` of resource ``name`` (an auth provider also by its type), or a 404."""
    if name == "jwt_keys" and record_id == _signing_key()["id"]:
        return _signing_key()
    store = current_store()
    record = store.get(name, record_id)
    if record is None and name == "auth_providers":
        record = store.find_by(name, "provider_type", record_id)  # find('totp'), as the SDKs' tests do
    return record_or_404(record)


def _checked(name: str, fields: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    """``fields`` with the required ones present and the closed ones valid; 422 with every problem."""
    kind = KINDS[name]
    problems = [
        f"{required.replace('_', ' ').capitalize()} can't be blank."
        for required in kind.required
        if creating and fields.get(required) in (None, "")
    ]
    for choice_field, choices in kind.choices.items():
        if choice_field in fields and fields[choice_field] not in choices:
            problems.append(f"{choice_field.replace('_', ' ').capitalize()} must be one of: {', '.join(choices)}.")
    problems += _references(name, fields)
    try:  # the record's own readers say which JSON types its fields take
        RESOURCES[name].record.from_json({"id": "check", **fields})
    except ValueError as exc:
        problems.append(f"{str(exc)[0].upper()}{str(exc)[1:]}.")
    if problems:
        raise Refusal(422, *problems)
    return dict(fields)


def _references(name: str, fields: Mapping[str, Any]) -> list[str]:
    """The records ``fields`` name that do not exist."""
    directory, store = current_realm().directory, current_store()
    problems = []
    if isinstance(fields.get("user_id"), str) and directory.user(fields["user_id"]) is None:
        problems.append("User not found.")
    org_id = fields.get("org_id")
    if (
        name == "invitations"
        and fields.get("invitation_type") == "org"
        and (not isinstance(org_id, str) or directory.org(org_id) is None)
    ):
        problems.append("An org invitation needs the org_id of an org of this realm.")
    if name == "oauth2_sessions" and store.get("client_apps", str(fields.get("client_app_id") or "")) is None:
        problems.append("Client app not found.")
    if name == "mailing_list_subscriptions" and store.get("hooks", str(fields.get("hook_id") or "")) is None:
        problems.append("Hook not found.")
    return problems


def _written_by_the_api(name: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """What the API writes itself on a new record of ``name``: tokens, secrets, states."""
    now = int(time.time())
    if name == "invitations":
        return {"token": secrets.token_urlsafe(24), "expires_at": now + INVITATION_TTL, "invited_at": None}
    if name == "credentials" and fields.get("credential_type") == "totp":
        secret = base64.b32encode(secrets.token_bytes(20)).decode()
        user = current_realm().directory.user(str(fields.get("user_id")))
        label = user.email if isinstance(user, DirectoryUser) else str(fields.get("user_id"))
        uri = f"otpauth://totp/Development%20realm:{label}?" + urlencode(
            {"secret": secret, "issuer": "Development realm"}
        )
        return {"otp_secret": secret, "provisioning_uri": uri, "state": "pending"}
    if name == "credentials":
        return {"state": "active"}
    if name == "client_apps":
        return {"secret": secrets.token_urlsafe(24)}
    if name == "domains":
        return {"dns_state": "pending", "cert_state": "pending", "state": "pending", "flags": []}
    if name == "oauth2_sessions":
        return {"code": secrets.token_urlsafe(24)}
    if name == "jwt_keys":
        return {"short_key": secrets.token_hex(4), "flags": ["not_signing"]}
    return {}


def _signing_key() -> dict[str, Any]:
    """The key this LoginRocket signs tokens with, as a ``jwt_key`` record (read-only: it cannot be deleted)."""
    issuer = current_realm().issuer
    kid = issuer.kid or "hs256"
    return {
        "object": "jwt_key",
        "id": f"jwk_{kid}"[:64],
        "realm_id": REALM_ID,
        "algo": issuer.algorithm,
        "use": "sig",
        "short_key": kid[:8],
        "key": issuer.verification_key(),  # the public key, or the HS256 secret, as the real API shows it
        "flags": ["signing"],
        "created_at": None,
    }


def _with_auth_url(provider: Mapping[str, Any]) -> dict[str, Any]:
    redirect_uri = request.args.get("redirect_uri")
    if not redirect_uri or not redirect_uri.startswith(("http://", "https://")):
        raise Refusal(422, "redirect_uri must be an absolute http(s) URL.")
    state = _serializer("state").dumps(
        {"provider": provider["id"], "redirect_uri": redirect_uri, "nonce": request.args.get("nonce")}
    )
    return {**provider, "auth_url": f"{request.host_url}_dev/provider?" + urlencode({"state": state})}


def _log_in(user_id: str, *, status: int) -> ResponseReturnValue:
    user = current_realm().directory.user(user_id)
    if user is None:
        raise not_found()
    realm = current_realm()
    session, token = realm.log_in(user, request_data())
    record_event("user.login.succeeded", user_id=user.id, session_id=session.id)
    expires_at = float(session.created_at + realm.token_ttl)
    return session_json(session, user, expires_at=expires_at, token=token, memberships=True), status


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=f"flask_authrocket.dev.provider.{purpose}")


def _signed(purpose: str, value: Any) -> dict[str, Any] | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        data = _serializer(purpose).loads(value, max_age=AUTHORIZE_TTL)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


def _totp_matches(secret: str, code: str, *, now: float | None = None) -> bool:
    """Whether ``code`` is the TOTP of ``secret`` for this 30-second step or the one before or after."""
    key = base64.b32decode(secret)
    step = int((time.time() if now is None else now) // 30)
    return any(hmac.compare_digest(code, totp(key, step + skew)) for skew in (-1, 0, 1))


def totp(key: bytes, step: int) -> str:
    """The 6-digit RFC 6238 code of ``key`` for 30-second ``step`` (HMAC-SHA-1, RFC 4226's truncation)."""
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"
