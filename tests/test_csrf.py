"""Flask-WTF's CSRF protection beside the extension, as docs/security.md says.

The extension's cross-site check refuses the login cookie on cross-site unsafe requests that the
browser marks as such; Flask-WTF's CSRFProtect still guards forms against everything else. A Bearer
API blueprint needs no CSRF token (a browser never attaches a Bearer header on its own), so it is
exempted with ``csrf.exempt(api)``.
"""

from __future__ import annotations

import re

import pytest
from flask import Blueprint, Flask, g, render_template_string
from flask_wtf.csrf import CSRFProtect
from helpers import HS_SECRET, LOGINROCKET_URL, token_for

from flask_authrocket import AuthRocket, protect
from flask_authrocket.issuer import TokenIssuer


def build(*, exempt_api: bool = True) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="csrf-test-secret", LOGINROCKET_URL=LOGINROCKET_URL, AUTHROCKET_JWT_KEY=HS_SECRET)
    csrf = CSRFProtect(app)
    AuthRocket(app)

    pages = protect(Blueprint("pages", __name__))

    @pages.route("/rename", methods=["GET", "POST"])
    def rename() -> str:
        return render_template_string(
            '<form method="post"><input name="csrf_token" value="{{ csrf_token() }}"></form> {{ who }}',
            who=g.authrocket.current_user.id,
        )

    api = protect(Blueprint("api", __name__, url_prefix="/api"))

    @api.post("/projects")
    def create_project() -> dict[str, str]:
        return {"created_by": g.authrocket.current_user.id}

    if exempt_api:
        csrf.exempt(api)  # Bearer clients: no CSRF token, no cookie needed
    app.register_blueprint(pages)
    app.register_blueprint(api)
    return app


@pytest.fixture
def app() -> Flask:
    return build()


@pytest.fixture
def token(hs_issuer: TokenIssuer) -> str:
    return token_for(hs_issuer)


def test_a_cookie_login_still_needs_flask_wtfs_token_on_a_form_post(app: Flask, token: str):
    client = app.test_client()
    client.set_cookie("arToken", token)

    answer = client.post("/rename", data={"name": "Apollo"})

    assert answer.status_code == 400
    assert b"CSRF token is missing" in answer.data


def test_a_form_post_with_the_csrf_token_and_the_cookie_goes_through(app: Flask, token: str):
    client = app.test_client()
    client.set_cookie("arToken", token)
    form = client.get("/rename").get_data(as_text=True)
    csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]

    answer = client.post("/rename", data={"name": "Apollo", "csrf_token": csrf_token})

    assert answer.status_code == 200
    assert "usr_ada" in answer.get_data(as_text=True)


def test_the_exempted_bearer_api_needs_no_csrf_token(app: Flask, token: str):
    answer = app.test_client().post("/api/projects", headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 200
    assert answer.get_json() == {"created_by": "usr_ada"}


def test_without_the_exemption_flask_wtf_refuses_bearer_posts_too(token: str):
    app = build(exempt_api=False)

    answer = app.test_client().post("/api/projects", headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 400
    assert b"CSRF token is missing" in answer.data
