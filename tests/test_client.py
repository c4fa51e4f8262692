"""AuthRocketClient against the development LoginRocket's Core API, over real HTTP on 127.0.0.1.

Every verb of users, orgs, memberships and sessions; pages; each error status
(made on demand through /v2/_dev/faults); retries that stop and never repeat a
POST (counted through /v2/_dev/stats); timeouts against a socket that never
answers; caching; per-call credentials and headers; and the API key kept out
of every message, repr and log line.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from cachelib import RedisCache, SimpleCache
from devserver import DevApi
from helpers import wait_until
from redis.backoff import NoBackoff
from redis.retry import Retry

from flask_authrocket import (
    AccessDenied,
    AccountInactive,
    ApiError,
    ApiUnavailable,
    AuthRocketClient,
    ClientError,
    ConfigurationError,
    MembershipRecord,
    OrgRecord,
    Page,
    RateLimited,
    RecordNotFound,
    Resource,
    ServerError,
    SessionRecord,
    TokenRecord,
    UserRecord,
    ValidationError,
)
from flask_authrocket.models import Session
from flask_authrocket.records import RealmRecord
from flask_authrocket.tokens import TokenVerifier


@pytest.fixture
def client(dev: DevApi) -> Iterator[AuthRocketClient]:
    with dev.client() as api_client:
        yield api_client


class RawServer:
    """A TCP server on 127.0.0.1 that counts connections and never answers, or answers ``answer`` and closes."""

    def __init__(self, answer: bytes | None = None) -> None:
        self.answer = answer
        self.connections = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/v2"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            if self.answer is None:
                self._held.append(connection)
                continue
            with connection:
                received = b""
                while b"\r\n\r\n" not in received:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    received += chunk
                connection.sendall(self.answer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for connection in self._held:
            connection.close()
        self._socket.close()


@pytest.fixture
def silent_server() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.close()


def canned(status_line: str, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status_line}", f"Content-Length: {len(body)}", "Connection: close", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


# Configuration ---------------------------------------------------------------------------------


def test_settings_come_from_the_environment(dev: DevApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHROCKET_URL", dev.url + "/")
    monkeypatch.setenv("AUTHROCKET_API_KEY", dev.api_key)
    monkeypatch.setenv("AUTHROCKET_REALM", "rl_dev")
    monkeypatch.setenv("AUTHROCKET_SERVICE", "svc_env")

    with AuthRocketClient() as from_environment:
        assert (from_environment.url, from_environment.realm, from_environment.service) == (
            dev.url,
            "rl_dev",
            "svc_env",
        )
        user = from_environment.users.find("usr_ada")

    assert user.email == "ada@example.com"
    call = dev.stats()["recent"][-1]
    assert (call["realm"], call["service"]) == ("rl_dev", "svc_env")


def test_a_missing_url_or_key_is_named_at_the_first_call() -> None:
    unconfigured = AuthRocketClient()
    assert unconfigured.url is None
    with pytest.raises(ConfigurationError, match="AUTHROCKET_URL"):
        unconfigured.users.find("usr_ada")
    keyless = AuthRocketClient(url="https://api-e2.authrocket.com/v2")
    with pytest.raises(ConfigurationError, match="AUTHROCKET_API_KEY"):
        keyless.orgs.first()


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"url": "api-e2.authrocket.com/v2"}, "AUTHROCKET_URL"),
        ({"url": "ftp://api.example/v2"}, "AUTHROCKET_URL"),
        ({"timeout": 0}, "timeout"),
        ({"retries": -1}, "retries"),
        ({"backoff": "fast"}, "backoff"),
    ],
)
def test_unusable_settings_are_refused_when_built(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        AuthRocketClient(**settings)


def test_every_call_carries_the_clients_headers(dev: DevApi) -> None:
    with dev.client(service="svc_1", locale="de") as client:
        client.users.find("usr_ada")
        client.users.find("usr_ada", headers={"Accept-Language": "fr"})
        client.users.find("usr_ada", headers={"accept_language": "es"})  # the Ruby gem's spelling
        client.users.find("usr_ada", headers={"Accept-Language": None})

    calls = dev.stats()["recent"]
    assert [call["accept_language"] for call in calls] == ["de", "fr", "es", None]
    assert {call["realm"] for call in calls} == {"rl_dev"}
    assert {call["service"] for call in calls} == {"svc_1"}
    assert all(call["user_agent"].startswith("flask-authrocket/") for call in calls)


# Users ------------------------------------------------------------------------------------------


def test_users_are_created_read_found_updated_and_deleted(client: AuthRocketClient, dev: DevApi) -> None:
    created = client.users.create(
        email="katherine@example.com",
        password="orbit-1962",
        first_name="Katherine",
        last_name="Johnson",
        username="kj",
        reference="emp-7",
        custom={"team": "orbits"},
    )

    assert isinstance(created, UserRecord)
    assert created.id.startswith("usr_")
    assert (created.email, created.username, created.name, created.state, created.reference) == (
        "katherine@example.com",
        "kj",
        "Katherine Johnson",
        "active",
        "emp-7",
    )
    assert dict(created.custom) == {"team": "orbits"}
    assert created.email_verification == "none"
    assert created.memberships == ()
    assert created.created_at is not None and abs(created.created_at - time.time()) < 60

    assert client.users.find(created.id) == created
    assert client.users.retrieve(created.id) == created
    assert client.users.first(email="katherine@example.com") == dataclasses.replace(
        created, memberships=None, credentials=None
    )  # a list answer holds neither
    assert client.users.first(email="nobody@example.com") is None

    updated = client.users.update(created.id, first_name="Kate", custom={"team": "moon"})
    assert (updated.first_name, updated.name, dict(updated.custom)) == ("Kate", "Kate Johnson", {"team": "moon"})
    assert updated.email == "katherine@example.com"

    client.users.delete(created.id)
    assert client.users.retrieve(created.id) is None
    with pytest.raises(RecordNotFound, match=rf"GET users/{created.id} answered 404: not found$"):
        client.users.find(created.id)
    with pytest.raises(RecordNotFound):
        client.users.delete(created.id)
    assert dev.count("POST /v2/users") == 1


def test_fields_may_come_as_one_mapping_when_names_collide(client: AuthRocketClient) -> None:
    org = client.orgs.create({"name": "Headers & Co", "custom": {"headers": True}}, headers={"Accept-Language": "en"})
    assert org.name == "Headers & Co"
    assert dict(org.custom) == {"headers": True}
    already_wrapped = client.orgs.update(org.id, {"org": {"name": "Headers Ltd"}})
    assert already_wrapped.name == "Headers Ltd"


def test_refused_changes_raise_validation_errors_with_the_apis_messages(client: AuthRocketClient) -> None:
    with pytest.raises(ValidationError) as taken:
        client.users.create(email="ada@example.com")
    assert taken.value.status == 409
    assert taken.value.errors == ("Email has already been taken.",)
    assert str(taken.value) == "AuthRocket API POST users answered 409: Email has already been taken."

    with pytest.raises(ValidationError) as invalid:
        client.users.update("usr_grace", email="not an email", password="short")
    assert invalid.value.status == 422
    assert invalid.value.errors == ("Email is invalid.", "Password is too short (minimum is 8 characters).")


def test_ids_are_quoted_into_the_path(client: AuthRocketClient, dev: DevApi) -> None:
    assert client.users.retrieve("../orgs") is None
    # Sent as users/..%2Forgs: it reached the API under users/, not normalised into GET orgs.
    assert dev.stats()["counts"] == {"GET /v2/users/../orgs": 1}
    with pytest.raises(RecordNotFound, match="no id given"):
        client.users.find("")
    assert client.orgs.retrieve("") is None


# Orgs and memberships ---------------------------------------------------------------------------


def test_orgs_and_memberships_through_every_verb(client: AuthRocketClient, dev: DevApi) -> None:
    org = client.orgs.create(name="Langley", reference="nasa-1", custom={"site": "VA"})
    assert isinstance(org, OrgRecord)
    assert (org.name, org.state, org.reference, dict(org.custom)) == ("Langley", "active", "nasa-1", {"site": "VA"})
    assert client.orgs.find(org.id) == org
    assert client.orgs.update(org.id, state="inactive").state == "inactive"
    assert client.orgs.first(state="inactive") == client.orgs.find(org.id)
    assert [o.id for o in client.orgs.list(state="active")] == ["org_acme", "org_globex"]

    membership = client.memberships.create(user_id="usr_grace", org_id=org.id, permissions=["reports:read"])
    assert isinstance(membership, MembershipRecord)
    assert (membership.user_id, membership.org_id, membership.permissions) == ("usr_grace", org.id, ("reports:read",))
    assert membership.has_permission("reports:read") and not membership.has_permission("site:admin")
    assert membership.org is not None and membership.org.name == "Langley"
    assert {m.org_id for m in client.memberships.list(user_id="usr_grace")} == {"org_acme", org.id}
    assert {m.user_id for m in client.memberships.list(org_id="org_acme")} == {"usr_ada", "usr_grace"}
    changed = client.memberships.update(membership.id, permissions=["reports:read", "reports:write"])
    assert changed.permissions == ("reports:read", "reports:write")
    assert client.memberships.find(membership.id) == changed

    # The change reaches Grace's next login token, checked by the real verifier against /connect/jwks.
    login = client.users.authenticate("grace@example.com", "password")
    assert isinstance(login, SessionRecord) and login.token
    verified = _verified(dev, login.token)
    assert verified.user.memberships is not None
    assert {m.org_id: m.permissions for m in verified.user.memberships} == {
        "org_acme": (),
        org.id: ("reports:read", "reports:write"),
    }

    assert client.memberships.delete(membership.id).id == membership.id  # type: ignore[union-attr]  # the record
    assert client.memberships.retrieve(membership.id) is None
    closed = client.orgs.delete(org.id)  # without force, the org is closed
    assert isinstance(closed, OrgRecord) and (closed.id, closed.state) == (org.id, "closed")
    assert client.orgs.find(org.id).state == "closed"
    removed = client.orgs.delete(org.id, force=True)
    assert removed is not None and removed.id == org.id
    assert client.orgs.retrieve(org.id) is None


# Sessions ---------------------------------------------------------------------------------------


def test_sessions_through_every_verb(client: AuthRocketClient) -> None:
    created = client.sessions.create(user_id="usr_grace")
    assert isinstance(created, SessionRecord)
    assert created.user_id == "usr_grace" and created.token
    assert created.user is not None and created.user.email == "grace@example.com"
    assert "token" not in repr(created)

    assert [s.id for s in client.sessions.list(user_id="usr_grace")] == [created.id]
    first = client.sessions.first(user_id="usr_grace")
    by_id = client.sessions.find(created.id)
    assert first is not None
    assert (first.id, first.user_id, first.created_at) == (by_id.id, by_id.user_id, created.created_at)
    by_token = client.sessions.retrieve(created.token)
    assert by_token is not None
    assert (by_token.id, by_token.user_id, by_token.expires_at) == (created.id, "usr_grace", created.expires_at)

    client.sessions.delete(created.id)

    assert client.sessions.retrieve(created.token) is None
    assert client.sessions.retrieve(created.id) is None
    assert client.sessions.first(user_id="usr_grace") is None


def test_a_session_logged_out_at_loginrocket_is_no_longer_found(client: AuthRocketClient, dev: DevApi) -> None:
    browser, token = dev.browser_login("usr_ada")
    session = client.sessions.retrieve(token)
    assert session is not None and session.user_id == "usr_ada"
    assert session.user is not None and session.user.memberships is not None

    browser.get(dev.root + "logout", timeout=10)

    assert client.sessions.retrieve(token) is None
    with pytest.raises(RecordNotFound) as not_found:
        client.sessions.find(token)
    assert "sessions/<token>" in str(not_found.value)
    assert token not in str(not_found.value)


# The user extras --------------------------------------------------------------------------------


def test_authenticate_by_id_email_or_username_returns_a_session_with_a_real_token(
    client: AuthRocketClient, dev: DevApi
) -> None:
    for login in ("usr_ada", "ada@example.com", "ada"):
        session = client.users.authenticate(login, "password")
        assert isinstance(session, SessionRecord), login
        assert session.user_id == "usr_ada"
        assert session.token is not None
        assert _verified(dev, session.token).id == session.id
    with pytest.raises(ValidationError) as wrong:
        client.users.authenticate("ada", "not the password")
    assert wrong.value.errors == ("Login or password is incorrect.",)
    with pytest.raises(ValidationError, match="Token is invalid or expired"):
        client.users.authenticate_token("kli:anything", "000000")


def test_a_user_changes_their_password_and_profile(client: AuthRocketClient) -> None:
    with pytest.raises(ValidationError, match="Current password is incorrect"):
        client.users.update_password("usr_grace", current_password="guess", password="cobol-1959")

    user = client.users.update_password(
        "usr_grace", current_password="password", password="cobol-1959", password_confirmation="cobol-1959"
    )

    assert user.id == "usr_grace"
    assert isinstance(client.users.authenticate("grace", "cobol-1959"), SessionRecord)
    with pytest.raises(ValidationError):
        client.users.authenticate("grace", "password")

    profile = client.users.update_profile("usr_grace", first_name="Amazing", username="amazing_grace")
    assert (profile.first_name, profile.name, profile.username) == ("Amazing", "Amazing Hopper", "amazing_grace")
    with pytest.raises(ValidationError, match="Unknown field: reference"):
        client.users.update_profile("usr_grace", reference="not the user's to change")


def test_a_forgotten_password_is_reset_with_a_one_time_token(client: AuthRocketClient, dev: DevApi) -> None:
    issued = client.users.generate_password_token("usr_grace")
    assert isinstance(issued, TokenRecord)
    assert issued.user_id == "usr_grace" and issued.token

    session = client.users.reset_password_with_token(issued.token, "new-password-1", "new-password-1")

    assert isinstance(session, SessionRecord) and session.user_id == "usr_grace"
    assert session.token is not None and _verified(dev, session.token).user.id == "usr_grace"
    assert isinstance(client.users.authenticate("grace", "new-password-1"), SessionRecord)
    with pytest.raises(ValidationError, match="Token is invalid or expired"):
        client.users.reset_password_with_token(issued.token, "another-password")


def test_an_email_address_is_verified_with_a_token(client: AuthRocketClient) -> None:
    user = client.users.create(email="unverified@example.com")
    assert user.email_verification == "none"

    issued = client.users.request_email_verification(user.id)
    assert issued.token is not None
    verified = client.users.verify_email(issued.token)

    assert (verified.id, verified.email_verification) == (user.id, "verified")
    with pytest.raises(ValidationError):
        client.users.verify_email("forged")


# Lists and pages --------------------------------------------------------------------------------


def test_list_iterates_every_page_and_max_results_asks_for_one(client: AuthRocketClient, dev: DevApi) -> None:
    inactive = []
    for number in range(7):
        user = client.users.create(email=f"user{number}@example.com", state="inactive" if number % 2 else "active")
        if user.state == "inactive":
            inactive.append(user.id)
    everyone = sorted(user.id for user in client.users.list(max_results=100))
    assert len(everyone) == 9
    dev.reset_stats()

    listed = client.users.list(page_size=3)
    assert dev.count("GET /v2/users") == 0  # nothing is asked before the loop starts
    assert [user.id for user in listed] == everyone

    assert dev.count("GET /v2/users") == 3
    queries = [call["query"] for call in dev.stats()["recent"]]
    assert queries == ["max_results=3", f"max_results=3&after={everyone[2]}", f"max_results=3&after={everyone[5]}"]

    dev.reset_stats()
    assert [user.id for user in client.users.list(max_results=4)] == everyone[:4]
    assert dev.count("GET /v2/users") == 1
    assert [user.id for user in client.users.list(state="inactive", page_size=2)] == sorted(inactive)
    assert len(inactive) == 3


def test_a_page_says_whether_more_follow(client: AuthRocketClient) -> None:
    for number in range(3):
        client.orgs.create(name=f"Org {number}")

    first = client.orgs.all(max_results=4)
    assert len(first) == 4 and first.more_results
    assert first.next_after == first[-1].id
    rest = client.orgs.all(max_results=4, after=first.next_after)
    assert len(rest) == 1 and not rest.more_results and rest.next_after is None
    assert {org.id for org in (*first, *rest)} == {org.id for org in client.orgs.list()}
    assert [org.id for org in first[1:3]] == [first[1].id, first[2].id]


# The names of AuthRocket's Ruby and Node clients -----------------------------------------------


def test_find_raises_for_a_missing_record_as_in_the_ruby_client(client: AuthRocketClient) -> None:
    # Code ported from Ruby rescues RecordNotFound around find: a None here would slip past it.
    assert client.users.find("usr_ada").email == "ada@example.com"
    with pytest.raises(RecordNotFound, match=r"GET users/usr_nobody answered 404") as missing:
        client.users.find("usr_nobody")
    assert missing.value.status == 404
    with pytest.raises(RecordNotFound, match="no id given"):
        client.orgs.find("")


def test_retrieve_answers_none_for_a_missing_record(client: AuthRocketClient, dev: DevApi) -> None:
    ada = client.users.retrieve("usr_ada")
    assert ada is not None and ada == client.users.find("usr_ada")
    assert client.users.retrieve("usr_nobody") is None
    assert client.orgs.retrieve("") is None
    assert dev.count("GET /v2/users/<user_id>") == 3  # the empty id never reached the API

    dev.fault(status=403, errors=["No access."])
    with pytest.raises(AccessDenied):
        client.users.retrieve("usr_ada")  # only "not found" is an answer; other errors still raise


def test_get_is_gone_so_ported_code_fails_loudly(client: AuthRocketClient) -> None:
    assert not hasattr(client.users, "get")
    assert not hasattr(client.orgs, "get")


def test_all_returns_one_page_that_knows_whether_more_follow(client: AuthRocketClient, dev: DevApi) -> None:
    for number in range(3):
        client.orgs.create(name=f"Org {number}")
    dev.reset_stats()

    first = client.orgs.all(max_results=2)
    assert isinstance(first, Page)
    assert len(first) == 2 and first.more_results is True
    rest = client.orgs.all(max_results=4, after=first[-1].id)
    assert len(rest) == 3 and rest.more_results is False
    assert dev.count("GET /v2/orgs") == 2  # one call per page, never a walk through them all

    active = client.orgs.all(state="active")
    assert sorted(org.name for org in active) == ["Acme Inc.", "Globex", "Org 0", "Org 1", "Org 2"]
    assert Resource.page is Resource.all  # page() is the same call under this project's older name


def test_refresh_asks_the_api_and_stores_the_fresh_answer(dev: DevApi) -> None:
    with dev.client(cache=SimpleCache()) as client:
        assert client.orgs.find("org_acme", cache=600).name == "Acme Inc."
        assert client.orgs.first(cache=True).name == "Acme Inc."  # type: ignore[union-attr]
        client.orgs.update("org_acme", name="Acme Renamed")
        assert client.orgs.find("org_acme", cache=600).name == "Acme Inc."  # still the cached answer
        assert dev.count("GET /v2/orgs/<org_id>") == 1

        assert client.orgs.find("org_acme", cache=600, refresh=True).name == "Acme Renamed"
        assert dev.count("GET /v2/orgs/<org_id>") == 2
        assert client.orgs.find("org_acme", cache=600).name == "Acme Renamed"  # the fresh answer was stored
        assert client.orgs.retrieve("org_acme", cache=True).name == "Acme Renamed"  # type: ignore[union-attr]
        assert dev.count("GET /v2/orgs/<org_id>") == 2

        assert client.orgs.all(refresh=True)[0].name == "Acme Renamed"  # no cache=: the cache's default timeout
        assert client.orgs.all(cache=True)[0].name == "Acme Renamed"
        assert client.orgs.first(cache=True).name == "Acme Inc."  # type: ignore[union-attr]  # another query's entry
        assert dev.count("GET /v2/orgs") == 2


def test_refresh_forgets_a_record_that_is_gone(dev: DevApi) -> None:
    with dev.client(cache=SimpleCache()) as client:
        org = client.orgs.create(name="Short-lived")
        assert client.orgs.retrieve(org.id, cache=True) == org
        client.orgs.delete(org.id, force=True)
        assert client.orgs.retrieve(org.id, cache=True) == org  # cached: the API is not asked

        assert client.orgs.retrieve(org.id, refresh=True) is None
        assert client.orgs.retrieve(org.id, cache=True) is None  # the stale answer went with the refresh
        with pytest.raises(RecordNotFound):
            client.orgs.find(org.id, cache=True)
        with pytest.raises(ValueError, match="refresh=True stores the fresh answer"):
            client.orgs.find("org_acme", cache=False, refresh=True)


# Error answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "hint"),
    [
        (400, ClientError, ""),
        (402, AccountInactive, " (log in to the AuthRocket portal to check the account's status)"),
        (403, AccessDenied, " (check AUTHROCKET_API_KEY, AUTHROCKET_REALM and the key's permissions)"),
        (404, RecordNotFound, ""),
        (409, ValidationError, ""),
        (418, ClientError, ""),
        (422, ValidationError, ""),
        (429, RateLimited, ""),
        (500, ServerError, ""),
        (503, ServerError, ""),
    ],
)
def test_each_error_status_raises_its_exception_with_the_apis_message(
    dev: DevApi, status: int, kind: type[ApiError], hint: str
) -> None:
    dev.fault(status=status, errors=[f"Message for {status}."])

    with dev.client(retries=0) as client, pytest.raises(ApiError) as raised:
        client.users.find("usr_ada")

    error = raised.value
    assert type(error) is kind
    assert (error.status, error.errors, error.retry_after) == (status, (f"Message for {status}.",), None)
    assert str(error) == f"AuthRocket API GET users/usr_ada answered {status}: Message for {status}.{hint}"
    assert client.users.find("usr_ada").id == "usr_ada"  # one fault, one answer


def test_an_error_without_messages_is_summed_up(dev: DevApi) -> None:
    dev.fault(status=500, errors=[])
    dev.fault(status=402)
    with dev.client() as client:
        with pytest.raises(ServerError, match=r"answered 500: Internal server error\.$"):
            client.orgs.create(name="x")
        with pytest.raises(AccountInactive, match=r"answered 402: This account is inactive\."):
            client.orgs.create(name="x")


def test_a_wrong_api_key_or_realm_is_access_denied(dev: DevApi) -> None:
    with dev.client(api_key="ks_wrong") as client, pytest.raises(AccessDenied) as wrong_key:
        client.users.first()
    assert wrong_key.value.status == 403
    assert "Invalid API key" in str(wrong_key.value)
    with dev.client(realm="rl_other") as client, pytest.raises(AccessDenied, match="no access to realm rl_other"):
        client.users.first()


def test_rate_limits_carry_retry_after(dev: DevApi) -> None:
    dev.fault(status=429, retry_after=7)
    with dev.client(retries=0) as client, pytest.raises(RateLimited) as limited:
        client.users.first()
    assert limited.value.retry_after == 7.0
    assert str(limited.value) == "AuthRocket API GET users answered 429: Rate limit exceeded. (retry after 7 s)"


def test_answers_that_are_not_the_apis_json_are_unusable() -> None:
    html = RawServer(canned("200 OK", b"<html>a login page</html>", "Content-Type: text/html"))
    moved = RawServer(canned("302 Found", b"", "Location: http://elsewhere.example/v2/users"))
    to_html = AuthRocketClient(url=html.url, api_key="ks_test", retries=0)
    to_redirect = AuthRocketClient(url=moved.url, api_key="ks_test", backoff=0.01)
    try:
        with pytest.raises(ApiUnavailable, match=r"answered 200 with a body that is not JSON; check AUTHROCKET_URL"):
            to_html.users.first()
        with pytest.raises(ApiUnavailable, match="a redirect, which is not followed") as redirected:
            to_redirect.users.first()
    finally:
        for closing in (to_html, to_redirect, html, moved):
            closing.close()
    assert redirected.value.status == 302
    assert moved.connections == 1  # neither followed nor retried


# Retries ----------------------------------------------------------------------------------------


def test_a_get_is_retried_through_503s_and_succeeds(client: AuthRocketClient, dev: DevApi) -> None:
    dev.fault(status=503, count=2)

    assert client.users.find("usr_ada").id == "usr_ada"

    assert dev.count("GET /v2/users/<user_id>") == 3


def test_retries_stop_after_the_last_one(dev: DevApi) -> None:
    dev.fault(status=502, count=10)

    with dev.client(retries=2) as client, pytest.raises(ServerError) as failed:
        client.users.find("usr_ada")

    assert failed.value.status == 502
    assert dev.count("GET /v2/users/<user_id>") == 3


@pytest.mark.parametrize("status", [500, 400, 404, 422])
def test_answers_that_would_not_change_are_not_retried(client: AuthRocketClient, dev: DevApi, status: int) -> None:
    dev.fault(status=status, count=5)
    with pytest.raises(ApiError):
        client.orgs.find("org_acme")
    assert dev.count("GET /v2/orgs/<org_id>") == 1


def test_post_and_put_are_never_retried(client: AuthRocketClient, dev: DevApi) -> None:
    dev.fault(status=503, count=5, retry_after=0)

    with pytest.raises(ServerError):
        client.orgs.create(name="Only once")
    with pytest.raises(ServerError):
        client.orgs.update("org_acme", name="Only once")
    with pytest.raises(ServerError):
        client.users.authenticate("ada", "password")

    assert dev.count("POST /v2/orgs") == 1
    assert dev.count("PUT /v2/orgs/<org_id>") == 1
    assert dev.count("POST /v2/users/<login>/authenticate") == 1


def test_retry_after_is_honoured_then_the_call_succeeds(client: AuthRocketClient, dev: DevApi) -> None:
    dev.fault(status=429, retry_after=0.3)  # whole seconds in HTTP; the client reads fractions too

    started = time.monotonic()
    assert client.users.find("usr_grace").email == "grace@example.com"
    waited = time.monotonic() - started

    assert waited >= 0.29  # the API asked for 0.3 s; the backoff alone is 10 ms
    assert waited < 10
    assert dev.count("GET /v2/users/<user_id>") == 2


def test_a_retry_after_longer_than_the_limit_is_not_waited_for(client: AuthRocketClient, dev: DevApi) -> None:
    dev.fault(status=503, retry_after=120)

    started = time.monotonic()
    with pytest.raises(ServerError) as unavailable:
        client.users.first()

    assert time.monotonic() - started < 60  # far below the 120 s it was asked to wait
    assert unavailable.value.retry_after == 120.0
    assert dev.count("GET /v2/users") == 1


def test_a_delete_whose_answer_was_lost_succeeds_on_retry(client: AuthRocketClient, dev: DevApi) -> None:
    org = client.orgs.create(name="Deleted once")
    dev.fault(status=503, apply="after", method="DELETE", path="orgs")

    # deleted, answer lost (503), retried: 404, which means done
    assert client.orgs.delete(org.id, force=True) is None

    assert dev.count("DELETE /v2/orgs/<org_id>") == 2
    assert client.orgs.retrieve(org.id) is None
    with pytest.raises(RecordNotFound):
        client.orgs.delete(org.id, force=True)  # a first attempt that finds nothing is still an error


def test_a_delete_is_retried_through_a_503(client: AuthRocketClient, dev: DevApi) -> None:
    dev.fault(status=503, method="DELETE")
    client.memberships.delete("mb_grace_acme")
    assert dev.count("DELETE /v2/memberships/<membership_id>") == 2
    assert client.memberships.retrieve("mb_grace_acme") is None


# No answer --------------------------------------------------------------------------------------


def test_a_server_that_never_answers_times_out_and_the_retries_stop(silent_server: RawServer) -> None:
    client = AuthRocketClient(url=silent_server.url, api_key="ks_test", timeout=0.1, retries=2, backoff=0.01)

    started = time.monotonic()
    with pytest.raises(ApiUnavailable) as no_answer:
        client.users.find("usr_ada")
    elapsed = time.monotonic() - started

    assert elapsed < 10  # a hang bound: three calls of 0.1 s, to a server that would hold them for ever
    assert no_answer.value.status is None
    assert str(no_answer.value) == "AuthRocket API GET users/usr_ada: no answer within 0.1 s."
    wait_until(
        lambda: silent_server.connections >= 3, timeout=30
    )  # the server's own thread counts it, maybe a moment later
    assert silent_server.connections == 3
    client.close()


def test_a_post_to_a_server_that_never_answers_is_sent_once(silent_server: RawServer) -> None:
    client = AuthRocketClient(url=silent_server.url, api_key="ks_test", timeout=0.1, retries=2, backoff=0.01)
    with pytest.raises(ApiUnavailable):
        client.orgs.create(name="Maybe created")
    wait_until(
        lambda: silent_server.connections >= 1, timeout=30
    )  # the server's own thread counts it, maybe a moment later
    assert silent_server.connections == 1
    client.close()


def test_a_refused_connection_is_unavailable(refused_url: str) -> None:
    client = AuthRocketClient(url=refused_url + "v2", api_key="ks_test", backoff=0.01)
    with pytest.raises(ApiUnavailable, match=r"GET orgs/org_acme: could not connect to 127\.0\.0\.1:"):
        client.orgs.find("org_acme")
    client.close()


# Caching ----------------------------------------------------------------------------------------


def test_cached_gets_ask_the_api_once(dev: DevApi) -> None:
    cache = SimpleCache()
    with dev.client(cache=cache) as client:
        first = client.users.find("usr_ada", cache=True)
        again = client.users.find("usr_ada", cache=60)
        assert dev.count("GET /v2/users/<user_id>") == 1
        assert again == first

        client.users.find("usr_ada")  # not asked to cache: asks the API
        client.users.find("usr_ada", cache=True, headers={"Accept-Language": "fr"})  # another language
        client.users.find("usr_ada", cache=True, credentials={"api_key": dev.api_key})  # no realm header
        assert dev.count("GET /v2/users/<user_id>") == 4

        assert [user.id for user in client.users.list(cache=True)] == ["usr_ada", "usr_grace"]
        assert [user.id for user in client.users.list(cache=True)] == ["usr_ada", "usr_grace"]
        assert dev.count("GET /v2/users") == 1

    keys = list(cache._cache)
    assert keys and all(key.startswith("api:") and len(key) == 68 for key in keys)
    assert not any(dev.api_key in repr(entry) for entry in cache._cache.values())


def test_failures_and_changes_are_never_cached(client: AuthRocketClient, dev: DevApi) -> None:
    assert client.users.retrieve("usr_nobody", cache=True) is None
    assert client.users.retrieve("usr_nobody", cache=True) is None
    assert dev.count("GET /v2/users/<user_id>") == 2

    client.orgs.find("org_acme", cache=True)
    client.orgs.update("org_acme", name="Acme Renamed")
    assert client.orgs.find("org_acme", cache=True).name == "Acme Inc."  # the cache holds what it was given
    assert client.orgs.find("org_acme").name == "Acme Renamed"
    with pytest.raises(ValueError, match="cache must be True or a positive number"):
        client.orgs.find("org_acme", cache=-5)


def test_a_cache_that_fails_is_left_alone_for_a_while_and_reported_once(
    dev: DevApi, silent_server: RawServer, caplog: pytest.LogCaptureFixture
) -> None:
    # A "Redis" that accepts connections and never answers: each cache call would wait for its timeout.
    port = int(silent_server.url.split(":")[2].split("/")[0])
    redis_client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.2, retry=Retry(NoBackoff(), 0))
    client = dev.client(cache=RedisCache(redis_client))
    with caplog.at_level(logging.WARNING, logger="flask_authrocket"):
        for _ in range(3):
            assert client.users.find("usr_ada", cache=True).id == "usr_ada"
    client.close()
    redis_client.close()

    assert dev.count("GET /v2/users/<user_id>") == 3
    assert silent_server.connections == 1  # tried once, then left alone
    warnings = [record.getMessage() for record in caplog.records if "cache failed" in record.getMessage()]
    assert warnings == ["The API client's cache failed (TimeoutError); calling the API without it for the next 30 s."]


# Credentials per call ---------------------------------------------------------------------------


def test_credentials_per_call_choose_the_realm_and_key(dev: DevApi, refused_url: str) -> None:
    with dev.client(realm="rl_other") as client:
        with pytest.raises(AccessDenied):
            client.orgs.first()
        assert client.orgs.first(credentials={"realm": "rl_dev"}) is not None
        assert client.orgs.first(credentials={}) is not None  # no realm header at all
        with pytest.raises(AccessDenied):
            client.orgs.first(credentials={"api_key": "ks_wrong", "realm": "rl_dev"})
        with pytest.raises(
            ConfigurationError, match="Unknown credentials 'realm_id'; use api_key, realm, service, url"
        ):
            client.orgs.first(credentials={"realm_id": "rl_dev"})

    assert [call["realm"] for call in dev.stats()["recent"]] == ["rl_other", "rl_dev", None, "rl_dev"]

    with AuthRocketClient(url=refused_url + "v2", api_key=dev.api_key) as elsewhere:
        org = elsewhere.orgs.find("org_acme", credentials={"url": dev.url, "realm": "rl_dev", "service": "svc_2"})
    assert org.name == "Acme Inc."
    assert dev.stats()["recent"][-1]["service"] == "svc_2"


# Records ----------------------------------------------------------------------------------------


def test_records_are_typed_read_only_and_keep_all_the_json(client: AuthRocketClient, dev: DevApi) -> None:
    user = client.users.find("usr_ada")

    assert user["user_type"] == "human"  # a field without a typed attribute
    assert user.get("realm_id") == "rl_dev" and user.get("missing", 1) == 1
    assert "email" in user and "missing" not in user
    assert user.display_name == "Ada"
    assert user.memberships is not None
    assert [(m.org_id, m.permissions) for m in user.memberships] == [("org_acme", ("site:admin",)), ("org_globex", ())]
    with pytest.raises(dataclasses.FrozenInstanceError):
        user.email = "changed@example.com"  # type: ignore[misc]
    with pytest.raises(TypeError):
        user.attributes["email"] = "changed@example.com"  # type: ignore[index]

    realm = client.realms.find("rl_dev")
    assert type(realm) is RealmRecord
    assert (realm.id, realm.object, realm.name, realm["name"]) == (
        "rl_dev",
        "realm",
        "Development realm",
        "Development realm",
    )


def test_every_resource_has_its_path(client: AuthRocketClient, dev: DevApi) -> None:
    resources = {
        "invitations": client.invitations,
        "credentials": client.credentials,
        "client_apps": client.client_apps,
        "domains": client.domains,
        "auth_providers": client.auth_providers,
    }
    for name, resource in resources.items():
        assert resource.retrieve("x_1") is None  # the development API serves none of these
        assert dev.stats()["recent"][-1]["path"] == f"/v2/{name}/x_1"


# The API key stays secret -----------------------------------------------------------------------


def test_the_api_key_is_never_in_reprs_messages_or_logs(
    dev: DevApi, silent_server: RawServer, caplog: pytest.LogCaptureFixture
) -> None:
    key = dev.api_key
    raised: list[BaseException] = []
    _, token = dev.browser_login("usr_ada")
    dev.fault(status=503, count=2)
    dev.fault(status=422, method="POST", path="orgs", errors=[f"The key {key} echoed back."])
    with caplog.at_level(logging.DEBUG):
        with dev.client() as client:
            assert key not in repr(client) and "api_key=<set>" in repr(client)
            client.users.find("usr_ada", cache=True)  # retried twice, then cached
            client.users.find("usr_ada", cache=True)
            client.sessions.retrieve(token)
            for call in (
                lambda: client.orgs.create(name="x"),
                lambda: client.users.find("usr_nobody"),
                lambda: client.sessions.find("kss_none"),
                lambda: client.users.first(credentials={"api_key": key + "-wrong"}),
            ):
                with pytest.raises(ApiError) as error:
                    call()
                raised.append(error.value)
        with AuthRocketClient(url=silent_server.url, api_key=key, timeout=0.1, retries=1, backoff=0.01) as hanging:
            with pytest.raises(ApiUnavailable) as timed_out:
                hanging.sessions.find(token)
            raised.append(timed_out.value)

    assert raised[0].errors == ("The key <api key> echoed back.",)
    texts = [record.getMessage() for record in caplog.records] + [str(e) for e in raised] + [repr(e) for e in raised]
    assert any("retry 1 of 2" in text for text in texts)  # the retries were logged
    assert not [text for text in texts if key in text]
    ours = [r.getMessage() for r in caplog.records if r.name == "flask_authrocket"] + [str(e) for e in raised]
    assert not [text for text in ours if token in text]
    assert timed_out.value.__cause__ is None  # requests' message names the URL, which holds the token


# Helpers ----------------------------------------------------------------------------------------


def _verified(dev: DevApi, token: str) -> Session:
    """The session of ``token``, verified with the keys the development LoginRocket serves at /connect/jwks."""
    verifier = TokenVerifier(loginrocket_url=dev.root)
    session = verifier.session_from_token(token)
    assert session is not None
    return session
