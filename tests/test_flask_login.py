"""docs/flask-login.md's bridge, run with the real Flask-Login: the app's own users behind AuthRocket logins."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

flask_login = pytest.importorskip("flask_login", reason="the Flask-Login recipe is tested with it (dev)")

from helpers import ACME, HS_SECRET, token_for  # noqa: E402

from flask_authrocket.issuer import TokenIssuer  # noqa: E402
from flask_authrocket.models import User  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / "flask-login.md").read_text(), re.DOTALL)


@pytest.fixture
def recipe(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AUTHROCKET_JWT_KEY", HS_SECRET)  # the sample names only its LoginRocket
    namespace: dict[str, Any] = {"__name__": "docs_sample"}
    exec(compile(blocks()[0], "docs/flask-login.md, the bridge", "exec"), namespace)
    yield namespace
    namespace["db"].close()


def bearer(**kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(TokenIssuer(secret=HS_SECRET), **kwargs)}"}


def test_nobody_logged_in_is_flask_logins_anonymous_user_and_login_required_answers_as_the_guards(recipe: Any):
    client = recipe["app"].test_client()

    home = client.get("/")
    browser = client.get("/orders", headers=BROWSER)
    api = client.get("/orders", headers={"Accept": "application/json"})

    assert home.get_data(as_text=True) == "Hi, stranger!"
    assert browser.status_code == 302
    assert browser.headers["Location"].startswith("https://myapp.e2.loginrocket.com/login?redirect_uri=")
    assert (api.status_code, api.get_json()["error"]) == (401, "login_required")
    assert api.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_login_becomes_the_apps_own_member_made_on_the_first_visit(recipe: Any):
    client = recipe["app"].test_client()

    first = client.get("/orders", headers=bearer())
    again = client.get("/orders", headers=bearer())
    home = client.get("/", headers=bearer())

    assert first.get_json() == {"member": 1, "authrocket_id": "usr_ada"}
    assert again.get_json() == first.get_json()  # the same row, not a second one
    assert home.get_data(as_text=True) == "Hi, ada@example.com!"
    assert recipe["db"].execute("SELECT count(*) FROM members").fetchone() == (1,)


def test_a_member_the_app_blocked_gets_403_though_authrocket_logged_them_in(recipe: Any):
    client = recipe["app"].test_client()
    client.get("/", headers=bearer())
    recipe["db"].execute("UPDATE members SET blocked = 1 WHERE authrocket_id = 'usr_ada'")

    assert client.get("/orders", headers=bearer()).status_code == 403


def test_a_rejected_token_is_not_a_login_in_flask_login_either(recipe: Any):
    client = recipe["app"].test_client()
    expired = bearer(expires_in=-3600)

    answer = client.get("/orders", headers=expired)

    assert (answer.status_code, answer.get_json()["error"]) == (401, "invalid_token")
    assert recipe["db"].execute("SELECT count(*) FROM members").fetchone() == (0,)


def test_without_a_table_the_tokens_user_is_flask_logins_current_user(recipe: Any):
    exec(compile(blocks()[1], "docs/flask-login.md, the bridge without a table", "exec"), recipe)
    app = recipe["app"]

    @app.get("/who")
    @flask_login.login_required
    def who() -> Any:
        user = flask_login.current_user
        return {"id": flask_login.current_user.get_id(), "class": type(user._get_current_object()).__name__}

    answer = app.test_client().get("/who", headers=bearer(orgs=[ACME]))

    assert answer.get_json() == {"id": "usr_ada", "class": "User"}


def test_a_tokens_user_has_flask_logins_user_protocol():
    user = User(id="usr_ada")

    assert (user.is_authenticated, user.is_active, user.is_anonymous, user.get_id()) == (True, True, False, "usr_ada")
