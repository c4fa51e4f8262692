"""The Core API as AuthRocket's own SDKs speak it, against the development LoginRocket's /v2 (issue 19).

Each behaviour is written down, with its source, in flask_authrocket.client.catalog
(WIRE_FACTS, RESOURCES); these tests hold the client and the development API to it:
404s (empty, JSON, or a page that is not the API's), deletes that answer the record (an
org is closed unless ``force``), ``request`` beside the root element, 401s as
AuthenticationFailed, every resource and action of the Ruby gem 3.11, navigation between
users and orgs, and ``any_permission``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import struct
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from devserver import DevApi
from helpers import ADA, serving, token_for
from werkzeug.wrappers import Response

import flask_authrocket
from flask_authrocket import (
    ApiUnavailable,
    AuthenticationFailed,
    AuthRocketClient,
    ClientError,
    MembershipRecord,
    OrgRecord,
    RecordNotFound,
    SessionRecord,
    UserRecord,
    ValidationError,
)
from flask_authrocket.client import HOOK_EVENT_TYPES, RESOURCES
from flask_authrocket.issuer import TokenIssuer
from flask_authrocket.records import (
    CredentialRecord,
    DomainRecord,
    EventRecord,
    HookRecord,
    InvitationRecord,
    JwtKeyRecord,
    Oauth2SessionRecord,
    RealmRecord,
    RecordError,
)
from flask_authrocket.tokens import TokenVerifier


@pytest.fixture
def client(dev: DevApi) -> Iterator[AuthRocketClient]:
    with dev.client() as api_client:
        yield api_client


def answering(status: int, body: bytes, content_type: str | None) -> Any:
    """A WSGI app that answers every call with ``status`` and ``body``: a stand-in for what sits at AUTHROCKET_URL."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        headers = {"Content-Type": content_type} if content_type else {}
        return Response(body, status=status, headers=headers)(environ, start_response)

    return app


# 404s: not found when empty or JSON; a misconfiguration when it is someone else's page --------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"", None), (b"", "application/json"), (b'{"errors": ["Record not found."]}', "application/json"), (b"  ", None)],
    ids=["empty", "empty-json", "json", "blank"],
)
def test_a_404_that_is_empty_or_json_is_not_found(body: bytes, content_type: str | None) -> None:
    with serving(answering(404, body, content_type)) as root:
        client = AuthRocketClient(url=root + "v2", api_key="ks_test", retries=0, timeout=10)
        with pytest.raises(RecordNotFound) as missing:
            client.users.find("usr_gone")
        assert client.users.retrieve("usr_gone") is None
        assert client.sessions.retrieve("kss_gone") is None
    assert missing.value.status == 404


def test_a_404_page_from_elsewhere_is_unavailable_and_the_log_names_authrocket_url(
    caplog: pytest.LogCaptureFixture, rsa_issuer: TokenIssuer
) -> None:
    token = token_for(rsa_issuer)
    page = b"<!doctype html><title>Not Found</title><h1>Not Found</h1>"
    with serving(answering(404, page, "text/html; charset=utf-8")) as root:
        client = AuthRocketClient(url=root, api_key="ks_test", retries=0, timeout=10)  # /v2 forgotten
        with caplog.at_level(logging.DEBUG, logger="flask_authrocket"):
            for _ in range(3):
                with pytest.raises(ApiUnavailable, match="check AUTHROCKET_URL") as unavailable:
                    client.sessions.retrieve(token)  # never "None": that would log the user out

    assert unavailable.value.status == 404
    warnings = [r.getMessage() for r in caplog.records if r.name == "flask_authrocket" and r.levelno >= logging.WARNING]
    assert len(warnings) == 1  # once, not once per call
    assert "answered 404 with a page that is not the API's" in warnings[0]
    assert "check AUTHROCKET_URL" in warnings[0] and root.rstrip("/") in warnings[0]
    assert all(token not in r.getMessage() for r in caplog.records if r.name == "flask_authrocket")


def test_a_session_logged_out_elsewhere_is_not_found_through_the_apis_empty_404(
    client: AuthRocketClient, dev: DevApi
) -> None:
    session = client.sessions.create(user_id="usr_ada")
    assert session.token is not None
    client.sessions.delete(session.id)

    raw = dev.call("GET", f"sessions/{session.token}")
    assert (raw.status_code, raw.content) == (404, b"")  # what the development /v2 answers now
    assert client.sessions.retrieve(session.token) is None


# Deletes answer the record; an org is closed unless force ---------------------------------------------


def test_deleting_an_org_closes_it_and_force_removes_it(client: AuthRocketClient) -> None:
    org = client.orgs.create(name="Closing time")

    closed = client.orgs.delete(org.id)

    assert isinstance(closed, OrgRecord)
    assert (closed.id, closed.state) == (org.id, "closed")
    assert client.orgs.find(org.id).state == "closed"
    removed = client.orgs.delete(org.id, force=True)
    assert isinstance(removed, OrgRecord) and removed.id == org.id
    assert client.orgs.retrieve(org.id) is None


def test_every_delete_answers_the_record(client: AuthRocketClient) -> None:
    user = client.users.create(email="short@example.com")
    membership = client.memberships.create(user_id=user.id, org_id="org_acme")
    session = client.sessions.create(user_id=user.id)

    assert isinstance(client.memberships.delete(membership.id), MembershipRecord)
    assert isinstance(client.sessions.delete(session.id), SessionRecord)
    deleted = client.users.delete(user.id)
    assert isinstance(deleted, UserRecord) and deleted.email == "short@example.com"


# request goes beside the root element ---------------------------------------------------------------


def test_request_goes_beside_the_root_element_and_the_session_keeps_it(client: AuthRocketClient) -> None:
    visitor = {"ip": "203.0.113.7", "client": "Firefox/128"}

    created = client.sessions.create(user_id="usr_grace", request=visitor)

    assert dict(created.request) == visitor
    assert dict(client.sessions.find(created.id).request) == visitor
    login = client.events.first(event_type="user.login.succeeded", session_id=created.id)
    assert login is not None and dict(login.request) == visitor


def test_the_development_api_refuses_request_inside_the_root_element_saying_where_it_goes(dev: DevApi) -> None:
    answer = dev.call("POST", "sessions", json={"session": {"user_id": "usr_ada", "request": {"ip": "10.0.0.1"}}})

    assert answer.status_code == 422
    assert 'Send "request" beside the "session" object' in answer.json()["errors"][0]
    hostile = dev.call("POST", "sessions", json={"session": {"user_id": "usr_ada"}, "request": ["10.0.0.1"]})
    assert hostile.status_code == 422
    huge = dev.call("POST", "sessions", json={"session": {"user_id": "usr_ada"}, "request": {"ip": "x" * 5000}})
    assert huge.status_code == 422


def test_every_change_sends_request_beside_its_root(client: AuthRocketClient) -> None:
    visitor = {"ip": "198.51.100.2", "client": "curl/8"}

    user = client.users.create(email="beside@example.com", password="long enough 1", request=visitor)
    client.users.update(user.id, first_name="Bea", request=visitor)
    session = client.users.authenticate(user.id, "long enough 1", request=visitor)

    kinds = {event.event_type: dict(event.request) for event in client.events.list(user_id=user.id)}
    assert kinds["user.created"] == visitor
    assert kinds["user.updated"] == visitor
    assert kinds["user.login.succeeded"] == visitor
    assert isinstance(session, SessionRecord) and dict(session.request) == visitor


# users.accept_invitation ------------------------------------------------------------------------------


def test_a_user_accepts_an_org_invitation_and_becomes_a_member(client: AuthRocketClient) -> None:
    org = client.orgs.create(name="Invited Co")
    invitation = client.invitations.create(
        email="grace@example.com", invitation_type="org", org_id=org.id, permissions=["billing:read"]
    )
    assert isinstance(invitation, InvitationRecord) and invitation.token

    accepted = client.users.accept_invitation("usr_grace", token=invitation.token)

    assert isinstance(accepted, UserRecord)
    assert accepted.memberships is not None
    assert [(m.org_id, m.permissions) for m in accepted.memberships if m.org_id == org.id] == [
        (org.id, ("billing:read",))
    ]
    with pytest.raises(ValidationError, match="invalid or was used already"):
        client.users.accept_invitation("usr_grace", token=invitation.token)
    with pytest.raises(ValidationError):
        client.users.accept_invitation("usr_grace", token="not-a-token")


# 401: AuthenticationFailed, still a ClientError ----------------------------------------------------------


def test_a_401_is_authentication_failed_and_still_a_client_error(client: AuthRocketClient, dev: DevApi) -> None:
    dev.fault(status=401, method="POST", path="users/usr_ada/authenticate")
    with pytest.raises(AuthenticationFailed) as failed:
        client.users.authenticate("usr_ada", "password")
    assert failed.value.status == 401
    assert isinstance(failed.value, ClientError)  # `except ClientError` written before it existed still works
    assert "AuthenticationFailed" in flask_authrocket.__all__
    assert flask_authrocket.AuthenticationFailed is AuthenticationFailed


def test_a_wrong_client_secret_for_an_oauth2_code_is_a_401(client: AuthRocketClient) -> None:
    app = client.client_apps.create(name="Mobile", client_type="oauth2", redirect_uris=["http://127.0.0.1:5000/cb"])
    oauth2 = client.oauth2_sessions.create(client_app_id=app.id, user_id="usr_ada")
    assert isinstance(oauth2, Oauth2SessionRecord) and oauth2.code

    with pytest.raises(AuthenticationFailed):
        client.oauth2_sessions.code_to_token(client_app_id=app.id, client_app_secret="wrong", code=oauth2.code)
    assert app["secret"]
    tokens = client.oauth2_sessions.code_to_token(
        client_app_id=app.id, client_app_secret=app["secret"], code=oauth2.code
    )
    assert isinstance(tokens, Oauth2SessionRecord) and tokens.access_token and tokens.id_token
    assert TokenVerifier(jwt_key=None, loginrocket_url=client.url.removesuffix("v2")).verify(tokens.id_token)
    with pytest.raises(ValidationError, match="used already"):
        client.oauth2_sessions.code_to_token(client_app_id=app.id, client_app_secret=app["secret"], code=oauth2.code)


# Every resource and action of the gem, with its verbs ------------------------------------------------


def test_the_client_has_every_resource_of_the_catalog_with_exactly_its_verbs(client: AuthRocketClient) -> None:
    assert len(RESOURCES) == 19
    for name, facts in RESOURCES.items():
        resource = getattr(client, name)
        assert (resource.path, resource.root, resource.record_type) == (facts.path, facts.root, facts.record), name
        has = {verb for verb in ("all", "find", "create", "update", "delete") if hasattr(resource, verb)}
        assert has == set(facts.verbs), name
        for action in facts.actions:
            assert callable(getattr(resource, action.name)), (name, action.name)


#: Per resource: the fields of a create, and one field to change.
PLAIN_RESOURCES: dict[str, tuple[dict[str, Any], str]] = {
    "hooks": ({"name": "Welcome", "event_type": "user.created", "hook_type": "email", "email_to": "user"}, "name"),
    "mailing_list_providers": ({"provider_type": "mailchimp", "provider_name": "News"}, "provider_name"),
    "smtp_providers": ({"provider_type": "smtp", "smtp_host": "mail.example.com", "smtp_port": 587}, "smtp_host"),
    "client_apps": ({"name": "Portal", "client_type": "standard", "redirect_uris": ["http://127.0.0.1:5000/"]}, "name"),
    "domains": ({"domain_type": "custom", "fqdn": "login.example.com"}, "fqdn"),
    "named_permissions": ({"name": "Billing", "permission": "billing:*"}, "name"),
    "resource_links": ({"title": "Help", "link_url": "https://example.com/help"}, "title"),
    "jwt_keys": ({"algo": "hs256"}, ""),
}


@pytest.mark.parametrize("name", PLAIN_RESOURCES)
def test_each_resource_answers_its_verbs_on_the_development_api(client: AuthRocketClient, name: str) -> None:
    facts = RESOURCES[name]
    resource = getattr(client, name)

    fields, changed = PLAIN_RESOURCES[name]
    created = resource.create(**fields)
    assert isinstance(created, facts.record) and created.object == facts.root
    assert resource.find(created.id) == created
    if "all" in facts.verbs:
        assert created.id in [record.id for record in resource.list()]
    if "update" in facts.verbs:
        assert resource.update(created.id, {changed: "renamed.example.com"})[changed] == "renamed.example.com"
    assert resource.delete(created.id).id == created.id
    assert resource.retrieve(created.id) is None


def test_a_mailing_list_subscription_belongs_to_a_hook_and_a_user(client: AuthRocketClient) -> None:
    hook = client.hooks.create(event_type="user.created", hook_type="mailing_list", list_id="news")
    subscription = client.mailing_list_subscriptions.create(hook_id=hook.id, user_id="usr_ada")
    assert (subscription.hook_id, subscription.user_id, subscription.list_state) == (hook.id, "usr_ada", "subscribed")
    assert client.mailing_list_subscriptions.first(user_id="usr_ada") == subscription
    with pytest.raises(ValidationError, match="User not found"):
        client.mailing_list_subscriptions.create(hook_id=hook.id, user_id="usr_nobody")


def test_the_development_api_refuses_fields_of_types_the_records_never_hold(dev: DevApi) -> None:
    for path, body in (
        ("hooks", {"hook": {"event_type": "user.created", "hook_type": "email", "name": ["not", "text"]}}),
        ("smtp_providers", {"smtp_provider": {"provider_type": "smtp", "smtp_port": "587"}}),
        ("named_permissions", {"named_permission": {"permission": "a:b", "auto_grant": "yes"}}),
        ("invitations", {"invitation": {"email": "x@example.com", "invitation_type": "request", "permissions": "a"}}),
    ):
        answer = dev.call("POST", path, json=body)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["errors"], path
    unknown = dev.call("POST", "hooks", json={"hook": {"event_type": "user.created", "hook_type": "email", "x": 1}})
    assert (unknown.status_code, unknown.json()["errors"]) == (422, ["Unknown field: x."])


def test_a_hook_takes_only_the_gems_event_types(client: AuthRocketClient) -> None:
    assert client.hooks.event_types() == HOOK_EVENT_TYPES
    assert "user.login.succeeded" in HOOK_EVENT_TYPES and len(HOOK_EVENT_TYPES) == 39
    assert set(client.hooks.email_event_types()) < set(HOOK_EVENT_TYPES)
    with pytest.raises(ValidationError, match="Event type must be one of"):
        client.hooks.create(event_type="user.exploded", hook_type="email")


def test_events_are_read_only_and_carry_their_notifications(client: AuthRocketClient) -> None:
    hook = client.hooks.create(event_type="org.created", hook_type="webhook", destination="http://127.0.0.1:9/")
    assert isinstance(hook, HookRecord)
    org = client.orgs.create(name="Eventful")

    event = client.events.first(event_type="org.created", org_id=org.id)

    assert isinstance(event, EventRecord) and event.event_at is not None
    notifications = client.events.notifications(event.id)
    assert [(n.hook_id, n.state) for n in notifications] == [(hook.id, "skipped")]  # the dev delivers nothing
    assert client.events.find_notification(event, notifications[0].id) == notifications[0]
    with pytest.raises(RecordNotFound):
        client.events.find_notification(event, "ntf_missing")
    assert not hasattr(client.events, "create") and not hasattr(client.events, "delete")
    assert client.events.find(event.id)["event_type"] == "org.created"


def test_invitations_are_created_and_sent(client: AuthRocketClient) -> None:
    invitation = client.invitations.create(email="new@example.com", invitation_type="request")
    assert invitation.invited_at is None and invitation.id.startswith("nvt_")

    sent = client.invitations.invite(invitation.id)

    assert isinstance(sent, InvitationRecord) and sent.invited_at is not None
    assert client.events.first(event_type="invitation.request.invited", invitation_id=invitation.id) is not None
    with pytest.raises(ValidationError, match="org_id"):
        client.invitations.create(email="x@example.com", invitation_type="org")


def totp_now(secret: str) -> str:
    """The current RFC 6238 code of a base32 secret (HMAC-SHA-1, 30 s, 6 digits): what an authenticator shows."""
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", int(time.time() // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def test_a_totp_credential_is_verified_with_its_code(client: AuthRocketClient) -> None:
    totp = client.auth_providers.find("totp")  # by its type, as the SDKs' tests find it
    credential = client.credentials.create(
        user_id="usr_ada", auth_provider_id=totp.id, credential_type="totp", name="Phone"
    )
    assert isinstance(credential, CredentialRecord) and credential.otp_secret and credential.state == "pending"
    assert "otp_secret" not in repr(credential)

    with pytest.raises(ValidationError, match="Verification failed"):
        client.credentials.verify(credential.id, "000000" if totp_now(credential.otp_secret) != "000000" else "111111")
    verified = client.credentials.verify(credential.id, totp_now(credential.otp_secret))

    assert verified.state == "active"
    assert [c.id for c in client.users.find("usr_ada").credentials or ()] == [credential.id]


def test_a_domain_is_verified(client: AuthRocketClient) -> None:
    domain = client.domains.create(domain_type="custom", fqdn="login.example.com")
    assert domain.dns_state == "pending"

    verified = client.domains.verify(domain.id)

    assert isinstance(verified, DomainRecord) and (verified.dns_state, verified.state) == ("verified", "active")


def test_the_realms_jwt_keys_include_the_one_tokens_are_signed_with(client: AuthRocketClient, dev: DevApi) -> None:
    keys = client.jwt_keys.all()
    signing = keys[0]
    assert isinstance(signing, JwtKeyRecord) and signing.algo == "RS256" and "PUBLIC KEY" in (signing.key or "")
    assert "PUBLIC KEY" not in repr(signing)
    assert not hasattr(client.jwt_keys, "update")
    with pytest.raises(ValidationError, match="cannot be deleted"):
        client.jwt_keys.delete(signing.id)


def test_a_realm_reset_empties_it_and_brings_the_demo_data_back(client: AuthRocketClient) -> None:
    client.users.create(email="temporary@example.com")
    client.orgs.create(name="Temporary")

    realm = client.realms.reset("rl_dev")

    assert isinstance(realm, RealmRecord) and realm.id == "rl_dev"
    assert sorted(user.email for user in client.users.list()) == ["ada@example.com", "grace@example.com"]
    assert [org.name for org in client.orgs.list()] == ["Acme Inc.", "Globex"]
    with pytest.raises(RecordNotFound):
        client.realms.reset("rl_other")


def test_logging_in_through_a_social_provider(client: AuthRocketClient) -> None:
    provider = client.auth_providers.create(provider_type="google", client_id="id", client_secret="shh")
    assert "shh" not in repr(provider)
    app_url = "http://127.0.0.1:5000/social"

    listed = client.auth_providers.authorize_urls(app_url)
    one = client.auth_providers.authorize_url(provider.id, app_url, nonce="n-1")

    assert [p.id for p in listed] == [provider.id] and one.auth_url
    back = requests.get(one.auth_url, params={"user": "usr_grace"}, allow_redirects=False, timeout=5)
    assert back.status_code == 302 and back.headers["Location"].startswith(app_url + "?")
    query = parse_qs(urlsplit(back.headers["Location"]).query)
    with pytest.raises(ValidationError, match="Error validating code"):
        client.auth_providers.authorize("invalid", query["state"][0])
    session = client.auth_providers.authorize(query["code"][0], query["state"][0])
    assert isinstance(session, SessionRecord) and session.user_id == "usr_grace" and session.token
    with pytest.raises(ValidationError):
        client.auth_providers.authorize_url("ap_password", app_url)  # a password provider has no page


# Navigation: User -> orgs, Org -> users ------------------------------------------------------------


def test_a_users_orgs_and_an_orgs_users(client: AuthRocketClient) -> None:
    ada = client.users.find("usr_ada")

    assert [org.name for org in client.users.orgs(ada)] == ["Acme Inc.", "Globex"]  # from the record's memberships
    assert [org.id for org in client.users.orgs("usr_grace")] == ["org_acme"]  # listed through the API
    assert client.users.find_org("usr_ada", "org_globex").name == "Globex"
    with pytest.raises(RecordNotFound, match="not a member"):
        client.users.find_org("usr_grace", "org_globex")

    members = client.orgs.users("org_acme")
    assert sorted(user.email for user in members) == ["ada@example.com", "grace@example.com"]
    assert all(isinstance(user, UserRecord) for user in members)
    assert client.orgs.find_user(client.orgs.find("org_acme"), "usr_grace").first_name == "Grace"
    with pytest.raises(RecordNotFound):
        client.orgs.find_user("org_globex", "usr_grace")
    with pytest.raises(RecordNotFound):
        client.orgs.users("")


# any_permission: any of several names, or a pattern --------------------------------------------------


def test_any_permission_takes_names_or_patterns_on_tokens_and_records(client: AuthRocketClient) -> None:
    verifier_token = TokenIssuer(secret="jsk_" + "s" * 40)
    session = TokenVerifier(jwt_key="jsk_" + "s" * 40).verify(token_for(verifier_token, ADA))
    membership_from_token = session.user.memberships[0]  # type: ignore[union-attr]
    membership_record = client.memberships.find("mb_ada_acme")
    invitation = client.invitations.create(
        email="p@example.com", invitation_type="org", org_id="org_acme", permissions=["billing:read"]
    )

    for membership in (membership_from_token, membership_record):
        assert membership.has_any_permission("nope", "site:admin")
        assert membership.any_permission(re.compile(r"^site:"))  # the gem's name
        assert not membership.has_any_permission("nope", re.compile(r"^billing:"))
        assert not membership.has_any_permission()
        with pytest.raises(TypeError):
            membership.has_any_permission(["site:admin"])  # type: ignore[arg-type]
    assert invitation.has_any_permission(re.compile("billing")) and not invitation.has_permission("site:admin")


def test_records_refuse_fields_of_types_the_api_never_sends() -> None:
    with pytest.raises(ValueError, match="'delay' is not a number"):
        HookRecord.from_json({"id": "hk_1", "delay": "soon"})
    with pytest.raises(ValueError, match="'notifications' is not a list"):
        EventRecord.from_json({"id": "evt_1", "notifications": {"id": "ntf_1"}})
    with pytest.raises(ValueError, match="'auto_grant' is not true or false"):
        client_record = RESOURCES["named_permissions"].record
        client_record.from_json({"id": "np_1", "auto_grant": "yes"})


@pytest.mark.parametrize(
    ("record", "field", "hostile", "said"),
    [
        (HookRecord, "name", 42, "'name' is not a string"),
        (HookRecord, "name", ["Hook"], "'name' is not a string"),
        (HookRecord, "delay", True, "'delay' is not a number"),  # a bool is an int to Python, not to JSON
        (HookRecord, "delay", "5", "'delay' is not a number"),
        (RealmRecord, "custom", ["a", "b"], "'custom' is not an object"),
        (RealmRecord, "custom", "{}", "'custom' is not an object"),
        (MembershipRecord, "permissions", "site:admin", "'permissions' is not a list of strings"),
        (MembershipRecord, "permissions", ["site:admin", 7], "'permissions' is not a list of strings"),
        (MembershipRecord, "selected", 1, "'selected' is not true or false"),
    ],
)
def test_each_reader_refuses_a_value_of_another_json_type(record: Any, field: str, hostile: Any, said: str) -> None:
    with pytest.raises(RecordError, match=re.escape(said)):
        record.from_json({"id": "x_1", field: hostile})


def test_each_reader_reads_its_own_type_and_null_as_absent() -> None:
    hook = HookRecord.from_json({"id": "hk_1", "name": "Welcome", "delay": 5})
    assert (hook.name, hook.delay) == ("Welcome", 5)
    realm = RealmRecord.from_json({"id": "rl_1", "custom": {"plan": "pro"}})
    assert dict(realm.custom) == {"plan": "pro"}
    with pytest.raises(TypeError):
        realm.custom["plan"] = "free"  # type: ignore[index]  # read-only, as every record
    membership = MembershipRecord.from_json({"id": "mb_1", "permissions": ["site:admin"], "selected": True})
    assert (membership.permissions, membership.selected) == (("site:admin",), True)

    nulls = {"name": None, "delay": None, "custom": None, "permissions": None, "selected": None}
    hook, realm, membership = (
        kind.from_json({"id": "x_1", **nulls}) for kind in (HookRecord, RealmRecord, MembershipRecord)
    )
    assert (hook.name, hook.delay, dict(realm.custom)) == (None, None, {})
    assert (membership.permissions, membership.selected) == ((), False)  # each field's own default


def test_the_api_client_page_lists_every_resource_and_action_beside_the_sdks_names() -> None:
    from pathlib import Path

    page = (Path(__file__).parent.parent / "docs" / "api-client.md").read_text()
    resources = re.findall(
        r"^\| `(\w+)`(?: \(`[\w/]+`\))? \| ([a-z ]+) \| `([^`]+)` \(`([^`]+)`\) \|", page, re.MULTILINE
    )
    actions = re.findall(r"^\| `(\w+)\.(\w+)` \| `([^`]+)` \| `([^`]+)` \|", page, re.MULTILINE)

    assert [(name, verbs, ruby) for name, verbs, ruby, _ in resources] == [
        (name, " ".join(facts.verbs), facts.ruby) for name, facts in RESOURCES.items()
    ]
    assert all(f"authrocket-ruby {source}" in RESOURCES[name].sources for name, _, _, source in resources)
    assert sorted((name, action, call, ruby) for name, action, call, ruby in actions) == sorted(
        (name, action.name, action.call, action.ruby) for name, facts in RESOURCES.items() for action in facts.actions
    )
