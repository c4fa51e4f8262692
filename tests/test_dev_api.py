"""The development LoginRocket's Core API under /v2, on the wire: real HTTP on 127.0.0.1, raw requests.

The client's own behaviour is in test_client.py; here is what any client of
AuthRocket's API would see: the API key, the realm header, collections and
pages, root elements, 409/422/404 answers, sessions ended by /logout, and the
faults and stats that tests and the benchmark use.
"""

from __future__ import annotations

import json
import os
import queue
import re
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
import requests
from devserver import DevApi, serve_dev_api

from flask_authrocket import ConfigurationError
from flask_authrocket.dev import create_app
from flask_authrocket.dev.signing import API_KEY_FILE
from flask_authrocket.issuer import TokenIssuer, login_claims

ROOT = Path(__file__).resolve().parent.parent


def errors_of(answer: requests.Response) -> list[str]:
    assert answer.headers["Content-Type"] == "application/json", answer.text
    errors: list[str] = answer.json()["errors"]
    return errors


# The API key and the realm ---------------------------------------------------------------------


def test_every_call_needs_the_api_key(dev: DevApi) -> None:
    for key in ("", "ks_wrong", dev.api_key + "x"):
        refused = dev.call("GET", "users", key=key)
        assert refused.status_code == 403
        assert "Invalid API key" in errors_of(refused)[0]
    assert dev.call("GET", "_dev/stats", key="ks_wrong").status_code == 403
    assert dev.call("POST", "_dev/faults", key="", json={"status": 500}).status_code == 403

    answer = dev.call("GET", "users")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"


def test_only_the_development_realm_is_served(dev: DevApi) -> None:
    assert dev.call("GET", "users", headers={"Authrocket-Realm": "rl_dev"}).status_code == 200
    refused = dev.call("GET", "users", headers={"Authrocket-Realm": "rl_other"})
    assert refused.status_code == 403
    assert errors_of(refused) == [
        "This API key has no access to realm rl_other; the development LoginRocket serves rl_dev only."
    ]
    assert dev.call("GET", "realms").json()["collection"] == [
        {"object": "realm", "id": "rl_dev", "name": "Development realm", "state": "active"}
    ]
    assert dev.call("GET", "realms/rl_other").status_code == 404


def test_the_api_key_is_generated_once_and_kept_in_the_instance_folder(tmp_path: Path, signing_key_pem: bytes) -> None:
    with serve_dev_api(tmp_path / "one", signing_key_pem) as first:
        key = first.api_key
        assert first.call("GET", "users").status_code == 200
    key_file = tmp_path / "one" / API_KEY_FILE
    assert re.fullmatch(r"ks_dev_[0-9a-f]{32}", key)
    assert key_file.read_text() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    with serve_dev_api(tmp_path / "one", signing_key_pem) as restarted:
        assert restarted.api_key == key
        assert restarted.call("GET", "users", key=key).status_code == 200
    with serve_dev_api(tmp_path / "two", signing_key_pem) as other:
        assert other.api_key != key
        assert other.call("GET", "users", key=key).status_code == 403


def test_the_api_key_can_be_configured(tmp_path: Path, signing_key_pem: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    with serve_dev_api(tmp_path / "a", signing_key_pem, DEV_LOGINROCKET_API_KEY="ks_configured_1") as api:
        assert api.call("GET", "users", key="ks_configured_1").status_code == 200
    assert not (tmp_path / "a" / API_KEY_FILE).exists()

    monkeypatch.setenv("DEV_LOGINROCKET_API_KEY", "ks_from_the_environment")
    with serve_dev_api(tmp_path / "b", signing_key_pem) as api:
        assert api.api_key == "ks_from_the_environment"
        assert api.call("GET", "users", key="ks_from_the_environment").status_code == 200

    for bad in ("short", "has a space in it", 12345678):
        with pytest.raises(ConfigurationError, match="DEV_LOGINROCKET_API_KEY"):
            create_app({"DEV_LOGINROCKET_INSTANCE_PATH": str(tmp_path / "c"), "DEV_LOGINROCKET_API_KEY": bad})


def test_remote_clients_are_refused_in_json(tmp_path: Path, signing_key_pem: bytes) -> None:
    with serve_dev_api(tmp_path / "i", signing_key_pem) as api:
        answer = api.app.test_client().get(
            "/v2/users", headers={"Authrocket-Api-Key": api.api_key}, environ_base={"REMOTE_ADDR": "192.0.2.7"}
        )
    assert answer.status_code == 403
    assert answer.get_json() == {"errors": ["The development LoginRocket only answers this computer (loopback)."]}


def test_the_command_takes_an_api_key_logs_the_api_settings_and_hides_tokens(tmp_path: Path) -> None:
    # Port 0: the server takes a free port and names it in its log.
    command = [sys.executable, "-m", "flask_authrocket.dev", "--port", "0", "--data-dir", str(tmp_path / "cli")]
    command += ["--api-key", "ks_from_the_command_line"]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=environment) as process:
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stderr or ()], daemon=True)
        reader.start()
        try:
            started = _wait_for_line(lines, "Core API for your app", timeout=30)
            named = re.search(r"AUTHROCKET_URL=(http://127\.0\.0\.1:[1-9][0-9]*/)v2 ", started)
            assert named, started
            url = named.group(1)
            settings = f"AUTHROCKET_URL={url}v2 AUTHROCKET_API_KEY=ks_from_the_command_line AUTHROCKET_REALM=rl_dev"
            assert settings in started
            _wait_until_listening(url)
            key = {"Authrocket-Api-Key": "ks_from_the_command_line"}
            assert requests.get(url + "v2/users", headers=key, timeout=10).status_code == 200
            token = TokenIssuer.with_new_rsa_key(kid="x").issue(login_claims({"id": "usr_ada"}))
            assert requests.get(url + "v2/sessions/" + token, headers=key, timeout=10).status_code == 404
            logged = _wait_for_line(lines, "/v2/sessions/", timeout=10)
        finally:
            process.terminate()
            process.wait(10)
            reader.join(10)
    assert "GET /v2/sessions/<token> " in logged
    assert token not in logged


# Lists, records, root elements, refusals -------------------------------------------------------


def test_lists_are_collections_paged_by_id(dev: DevApi) -> None:
    for number in range(5):
        assert dev.call("POST", "orgs", json={"org": {"name": f"Org {number}"}}).status_code == 201

    pages, after = [], None
    while True:
        answer = dev.call("GET", "orgs", params={"max_results": 2, **({"after": after} if after else {})}).json()
        assert set(answer) == {"collection", "more_results"}
        pages.append([org["id"] for org in answer["collection"]])
        if not answer["more_results"]:
            break
        after = pages[-1][-1]

    assert [len(page) for page in pages] == [2, 2, 2, 1]
    ids = [org_id for page in pages for org_id in page]
    assert ids == sorted(ids) and len(set(ids)) == 7
    assert {"org_acme", "org_globex"} <= set(ids)
    assert dev.call("GET", "orgs").json()["more_results"] is False
    for bad in ("0", "1001", "many"):
        refused = dev.call("GET", "orgs", params={"max_results": bad})
        assert refused.status_code == 422
        assert errors_of(refused) == ["max_results must be a whole number from 1 to 1000."]


def test_records_carry_object_and_id_and_the_fields_of_the_api(dev: DevApi) -> None:
    user = dev.call("GET", "users/usr_ada").json()
    assert {key: user[key] for key in ("object", "id", "email", "username", "first_name", "name", "state")} == {
        "object": "user",
        "id": "usr_ada",
        "email": "ada@example.com",
        "username": "ada",
        "first_name": "Ada",
        "name": "Ada Lovelace",
        "state": "active",
    }
    assert user["email_verification"] == "verified"
    assert [(m["org_id"], m["permissions"]) for m in user["memberships"]] == [
        ("org_acme", ["site:admin"]),
        ("org_globex", []),
    ]
    assert dev.call("GET", "memberships/mb_grace_acme").json()["org"] == {
        "object": "org",
        "id": "org_acme",
        "name": "Acme Inc.",
    }


def test_changes_go_inside_the_root_element_and_unknown_fields_are_refused(dev: DevApi) -> None:
    bare = dev.call("POST", "users", json={"email": "bare@example.com"})
    assert bare.status_code == 422
    assert errors_of(bare) == ['Send the fields inside a "user" object: {"user": {...}}.']
    unknown = dev.call("POST", "users", json={"user": {"email": "x@example.com", "nickname": "x", "age": 3}})
    assert errors_of(unknown) == ["Unknown field: age.", "Unknown field: nickname."]

    created = dev.call("POST", "users", json={"user": {"email": "new@example.com", "custom": {"plan": "pro"}}})
    assert created.status_code == 201
    assert created.json()["custom"] == {"plan": "pro"}
    updated = dev.call("PUT", f"users/{created.json()['id']}", json={"user": {"last_name": "Newton"}})
    assert updated.json()["last_name"] == "Newton"
    assert updated.json()["email"] == "new@example.com"


def test_invalid_fields_are_422_and_conflicts_409_with_every_message(dev: DevApi) -> None:
    invalid = dev.call("POST", "users", json={"user": {"email": "nope", "password": "short", "state": "odd"}})
    assert invalid.status_code == 422
    assert errors_of(invalid) == [
        "Email is invalid.",
        "State must be one of: active, inactive.",
        "Password is too short (minimum is 8 characters).",
    ]
    taken = dev.call("POST", "users", json={"user": {"email": "ADA@example.com"}})
    assert taken.status_code == 409
    assert errors_of(taken) == ["Email has already been taken."]
    username = dev.call("PUT", "users/usr_grace", json={"user": {"username": "Ada"}})
    assert (username.status_code, errors_of(username)) == (409, ["Username has already been taken."])
    member = dev.call("POST", "memberships", json={"membership": {"user_id": "usr_ada", "org_id": "org_acme"}})
    assert (member.status_code, errors_of(member)) == (409, ["User is already a member of this org."])
    nobody = dev.call("POST", "memberships", json={"membership": {"user_id": "usr_nobody", "org_id": "org_acme"}})
    assert (nobody.status_code, errors_of(nobody)) == (422, ["User not found."])
    nameless = dev.call("POST", "orgs", json={"org": {"name": "  "}})
    assert (nameless.status_code, errors_of(nameless)) == (422, ["Name can't be blank."])


def test_unknown_ids_are_404s_with_an_empty_body_and_unknown_endpoints_json_404s(dev: DevApi) -> None:
    for method, path in (
        ("GET", "users/usr_nobody"),
        ("PUT", "orgs/org_nothing"),
        ("DELETE", "memberships/mb_none"),
        ("GET", "sessions/kss_none"),
        ("GET", "invitations/nvt_none"),
        ("GET", "realms/rl_other"),
    ):
        answer = dev.call(method, path, json={"org": {"name": "x"}} if method == "PUT" else None)
        assert (answer.status_code, answer.content) == (404, b""), (method, path)
    for method, path in (("GET", "widgets"), ("PATCH", "users/usr_ada"), ("GET", "")):
        answer = dev.call(method, path)
        assert answer.status_code == 404, (method, path)
        assert errors_of(answer), (method, path)
    assert "No such API endpoint: GET /v2/widgets." in errors_of(dev.call("GET", "widgets"))[0]


def test_deleting_an_org_closes_it_and_force_removes_it_with_its_memberships(dev: DevApi) -> None:
    closed = dev.call("DELETE", "orgs/org_globex")
    assert closed.status_code == 200
    assert (closed.json()["object"], closed.json()["id"], closed.json()["state"]) == ("org", "org_globex", "closed")
    assert dev.call("GET", "orgs/org_globex").json()["state"] == "closed"
    assert dev.call("GET", "memberships/mb_ada_globex").status_code == 200  # closing keeps the members

    removed = dev.call("DELETE", "orgs/org_globex", params={"force": "true"})
    assert (removed.status_code, removed.json()["id"], removed.json()["name"]) == (200, "org_globex", "Globex")
    assert dev.call("GET", "orgs/org_globex").status_code == 404
    assert dev.call("GET", "memberships/mb_ada_globex").status_code == 404
    assert dev.call("DELETE", "orgs/org_globex").status_code == 404
    # PHP's client sends force in a JSON body: the same
    assert dev.call("DELETE", "orgs/org_acme", json={"force": True}).json()["id"] == "org_acme"
    assert dev.call("GET", "orgs/org_acme").status_code == 404


def test_deleting_answers_the_record_and_takes_dependents_along(dev: DevApi) -> None:
    session = dev.call("POST", "sessions", json={"session": {"user_id": "usr_grace"}}).json()
    deleted = dev.call("DELETE", "users/usr_grace").json()
    assert (deleted["object"], deleted["id"], deleted["email"]) == ("user", "usr_grace", "grace@example.com")
    assert dev.call("GET", "memberships", params={"user_id": "usr_grace"}).json()["collection"] == []
    assert dev.call("GET", f"sessions/{session['id']}").status_code == 404
    membership = dev.call("DELETE", "memberships/mb_ada_globex").json()
    assert (membership["object"], membership["user_id"], membership["org_id"]) == (
        "membership",
        "usr_ada",
        "org_globex",
    )


# Sessions --------------------------------------------------------------------------------------


def test_logging_out_at_loginrocket_ends_the_session_in_the_api(dev: DevApi) -> None:
    browser, token = dev.browser_login("usr_ada")

    by_token = dev.call("GET", f"sessions/{token}")
    assert by_token.status_code == 200
    session = by_token.json()
    assert (session["object"], session["user_id"]) == ("session", "usr_ada")
    assert session["user"]["email"] == "ada@example.com"
    assert "token" not in session
    assert dev.call("GET", f"sessions/{session['id']}").json()["id"] == session["id"]

    assert browser.get(dev.root + "logout", timeout=10).status_code == 200

    assert dev.call("GET", f"sessions/{token}").status_code == 404
    assert dev.call("GET", f"sessions/{session['id']}").status_code == 404
    assert dev.call("GET", "sessions", params={"user_id": "usr_ada"}).json()["collection"] == []


def test_only_this_realms_live_tokens_name_a_session(dev: DevApi) -> None:
    _, token = dev.browser_login("usr_grace")
    sid = dev.call("GET", f"sessions/{token}").json()["id"]

    forged = TokenIssuer.with_new_rsa_key(kid="elsewhere").issue(
        login_claims({"id": "usr_grace"}, session_id=sid, realm_id="rl_dev")
    )
    assert dev.call("GET", f"sessions/{forged}").status_code == 404
    expired = dev.app.extensions["dev_loginrocket"].issuer.issue(
        login_claims({"id": "usr_grace"}, session_id=sid, issued_at=int(time.time()) - 7200)
    )
    assert dev.call("GET", f"sessions/{expired}").status_code == 404
    someone_else = dev.app.extensions["dev_loginrocket"].issuer.issue(login_claims({"id": "usr_ada"}, session_id=sid))
    assert dev.call("GET", f"sessions/{someone_else}").status_code == 404
    assert dev.call("GET", f"sessions/{token}").status_code == 200


def test_sessions_are_listed_created_and_ended(dev: DevApi) -> None:
    created = dev.call("POST", "sessions", json={"session": {"user_id": "usr_grace"}})
    assert created.status_code == 201
    session = created.json()
    assert session["token"].count(".") == 2 and session["expires_at"] > time.time()

    listed = dev.call("GET", "sessions", params={"user_id": "usr_grace"}).json()["collection"]
    assert [item["id"] for item in listed] == [session["id"]]
    ended = dev.call("DELETE", f"sessions/{session['token']}").json()
    assert (ended["object"], ended["id"], ended["user_id"]) == ("session", session["id"], "usr_grace")
    assert dev.call("GET", "sessions", params={"user_id": "usr_grace"}).json()["collection"] == []
    assert dev.call("DELETE", f"sessions/{session['id']}").status_code == 404
    nobody = dev.call("POST", "sessions", json={"session": {"user_id": "usr_nobody"}})
    assert (nobody.status_code, errors_of(nobody)) == (422, ["User not found."])


def test_a_dev_session_selects_an_org_as_the_login_and_accounts_pages_would(dev: DevApi) -> None:
    def selected(answer: requests.Response) -> list[str]:
        return [item["org_id"] for item in answer.json()["user"]["memberships"] if item["selected"]]

    demo = dev.call("POST", "_dev/sessions", json={"session": {"user_id": "usr_ada", "org_id": "org_globex"}})
    assert demo.status_code == 201, demo.text
    assert demo.json()["token"].count(".") == 2 and selected(demo) == ["org_globex"]
    later = dev.call("POST", "sessions", json={"session": {"user_id": "usr_ada"}})
    assert selected(later) == ["org_globex"]  # the selection stays, as on /accounts

    user = dev.call("POST", "users", json={"user": {"email": "lin@example.com", "password": "correct-horse"}}).json()
    dev.call("POST", "memberships", json={"membership": {"user_id": user["id"], "org_id": "org_acme"}})
    session = {"user_id": user["id"], "org_id": "org_acme"}
    no_password = dev.call("POST", "_dev/sessions", json={"session": session})
    wrong = dev.call("POST", "_dev/sessions", json={"session": {**session, "password": "wrong-horse"}})
    assert (no_password.status_code, wrong.status_code) == (401, 401)
    assert errors_of(wrong) == ["Login or password is incorrect."]
    right = dev.call("POST", "_dev/sessions", json={"session": {**session, "password": "correct-horse"}})
    assert right.status_code == 201 and selected(right) == ["org_acme"]

    stranger = dev.call("POST", "_dev/sessions", json={"session": {"user_id": "usr_grace", "org_id": "org_globex"}})
    assert (stranger.status_code, errors_of(stranger)) == (422, ["You are not a member of this account."])


def test_authenticate_tells_no_one_which_logins_exist(dev: DevApi) -> None:
    for login in ("usr_ada", "ada@example.com", "ADA"):
        answer = dev.call("POST", f"users/{login}/authenticate", json={"user": {"password": "password"}})
        assert answer.status_code == 200, login
        assert answer.json()["user_id"] == "usr_ada"
    wrong = dev.call("POST", "users/ada/authenticate", json={"user": {"password": "wrong"}})
    unknown = dev.call("POST", "users/nobody/authenticate", json={"user": {"password": "password"}})
    assert (wrong.status_code, errors_of(wrong)) == (unknown.status_code, errors_of(unknown))
    assert errors_of(wrong) == ["Login or password is incorrect."]


# Faults and stats ------------------------------------------------------------------------------


def test_a_fault_answers_the_next_calls_then_the_api_is_back(dev: DevApi) -> None:
    dev.fault(status=503, count=2, retry_after=1)

    for _ in range(2):
        answer = dev.call("GET", "users")
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
        assert errors_of(answer) == ["Service unavailable."]
    assert dev.call("GET", "users").status_code == 200
    assert dev.call("GET", "_dev/faults").json() == {"faults": []}


def test_faults_can_target_a_method_and_path_and_carry_messages(dev: DevApi) -> None:
    dev.fault(status=422, method="DELETE", path="orgs", errors=["Org has active users."])

    assert dev.call("GET", "orgs/org_acme").status_code == 200
    assert dev.call("DELETE", "users/usr_grace").status_code == 200
    refused = dev.call("DELETE", "orgs/org_globex")
    assert (refused.status_code, errors_of(refused)) == (422, ["Org has active users."])
    assert dev.call("GET", "orgs/org_globex").status_code == 200  # not deleted
    assert dev.call("DELETE", "orgs/org_globex").status_code == 200


def test_an_after_fault_loses_the_answer_of_a_change_that_was_made(dev: DevApi) -> None:
    dev.fault(status=502, apply="after", method="POST", path="orgs")

    lost = dev.call("POST", "orgs", json={"org": {"name": "Lost answer Ltd"}})

    assert lost.status_code == 502
    names = [org["name"] for org in dev.call("GET", "orgs").json()["collection"]]
    assert "Lost answer Ltd" in names


def test_faults_are_listed_cleared_and_checked(dev: DevApi) -> None:
    dev.fault(status=429, count=3, retry_after=2.5, path="/users/")
    assert dev.call("GET", "_dev/faults").json()["faults"] == [
        {
            "status": 429,
            "count": 3,
            "retry_after": 2.5,
            "errors": [],
            "method": None,
            "path": "users",
            "apply": "before",
        }
    ]
    assert dev.call("GET", "users").headers["Retry-After"] == "2.5"
    assert dev.call("DELETE", "_dev/faults").status_code == 204
    assert dev.call("GET", "users").status_code == 200

    refused = dev.call("POST", "_dev/faults", json={"status": 200, "count": 0, "apply": "sometimes"})
    assert refused.status_code == 422
    assert errors_of(refused) == [
        "status must be an HTTP error status, 400 to 599.",
        "count must be a whole number of at least 1.",
        "apply must be 'before' (answer instead of handling) or 'after' (lose the answer).",
    ]


def test_stats_count_calls_per_route_with_their_headers(dev: DevApi) -> None:
    dev.reset_stats()
    dev.call("GET", "users/usr_ada")
    dev.call("GET", "users/usr_grace", headers={"Accept-Language": "fr", "Authrocket-Service": "svc_1"})
    dev.call("GET", "users/usr_nobody", headers={"Authrocket-Realm": "rl_dev"})
    dev.call("GET", "users", key="ks_wrong")
    dev.call("GET", "gadgets")

    stats = dev.stats()

    assert stats["counts"] == {
        "GET /v2/gadgets": 1,
        "GET /v2/users": 1,
        "GET /v2/users/<user_id>": 3,
    }
    assert stats["total"] == 5
    recent = stats["recent"]
    assert [(call["path"], call["status"]) for call in recent] == [
        ("/v2/users/usr_ada", 200),
        ("/v2/users/usr_grace", 200),
        ("/v2/users/usr_nobody", 404),
        ("/v2/users", 403),
        ("/v2/gadgets", 404),
    ]
    assert (recent[1]["accept_language"], recent[1]["service"], recent[2]["realm"]) == ("fr", "svc_1", "rl_dev")
    assert dev.api_key not in json.dumps(stats)
    dev.reset_stats()
    assert dev.stats() == {"total": 0, "counts": {}, "recent": []}


# Upgrades --------------------------------------------------------------------------------------


def test_a_database_written_by_version_0_1_is_brought_up_to_date(tmp_path: Path, signing_key_pem: bytes) -> None:
    instance = tmp_path / "old"
    instance.mkdir()
    # sqlite3's own `with` only commits: closing() closes (Python 3.13 warns about an open connection).
    with closing(sqlite3.connect(instance / "dev_loginrocket.sqlite3")) as db, db:
        db.executescript(_SCHEMA_0_1)
        db.execute(
            "INSERT INTO users (id, email, first_name, last_name, password_hash, created_at)"
            " VALUES ('usr_old', 'old@example.com', 'Olga', 'Old', 'x', 1700000000)"
        )
        db.execute("INSERT INTO orgs (id, name, created_at) VALUES ('org_old', 'Old Org', 1700000000)")
        db.execute(
            "INSERT INTO memberships (id, user_id, org_id, permissions) VALUES ('mb_old', 'usr_old', 'org_old', '[]')"
        )
        db.execute("PRAGMA user_version = 1")

    with serve_dev_api(instance, signing_key_pem) as api:
        user = api.call("GET", "users/usr_old").json()
        renamed = api.call("PUT", "users/usr_old", json={"user": {"username": "olga", "reference": "r-1"}})
        org = api.call("GET", "orgs/org_old").json()

    assert (user["email"], user["username"], user["state"], user["custom"]) == ("old@example.com", None, "active", {})
    assert [m["id"] for m in user["memberships"]] == ["mb_old"]
    assert (renamed.json()["username"], renamed.json()["reference"]) == ("olga", "r-1")
    assert (org["name"], org["state"]) == ("Old Org", "active")


_SCHEMA_0_1 = """
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0,
    demo_order INTEGER,
    selected_org_id TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE orgs (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE memberships (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    org_id TEXT NOT NULL REFERENCES orgs (id),
    permissions TEXT NOT NULL DEFAULT '[]',
    UNIQUE (user_id, org_id)
);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    ended_at INTEGER
);
"""


# Helpers ---------------------------------------------------------------------------------------


def _wait_for_line(lines: queue.Queue[str], text: str, *, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"the server never logged {text!r}")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if text in line:
            return line


def _wait_until_listening(url: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            requests.get(url + "connect/jwks", timeout=10)
            return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a slow first answer
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
