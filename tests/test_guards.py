"""Guards: require_login, require_permission, protect, app-wide protection, and how they answer."""

from __future__ import annotations

import functools
import html
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Blueprint, Flask, abort, g, render_template_string
from helpers import ACME, ADA, GLOBEX, LOGINROCKET_URL, token_for, wait_until
from werkzeug.wrappers import Response

from flask_authrocket import (
    AuthRocket,
    ConfigurationError,
    LoginRequired,
    PermissionDenied,
    full_logout,
    local_logout,
    login_exempt,
    protect,
    require_login,
    require_permission,
    verify_login_in_request,
)
from flask_authrocket.issuer import TokenIssuer
from flask_authrocket.testing import TestKeys, make_membership, make_token
from flask_authrocket.tokens import describe_rejection, what_to_check

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}
#: A CORS preflight: the browser asks before a cross-origin call, and sends no credentials.
PREFLIGHT = {"Origin": "https://spa.example", "Access-Control-Request-Method": "GET"}
CLEARED_COOKIE = "arToken=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/; SameSite=Lax"


def assert_login_redirect(answer: Response, redirect_uri: str) -> None:
    """A 302 to LoginRocket's /login coming back to ``redirect_uri``."""
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "myapp.e2.loginrocket.com", "/login")
    assert parse_qs(location.query) == {"redirect_uri": [redirect_uri]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def trusting_test_keys(**config: Any) -> dict[str, Any]:
    """Config trusting the test keys of flask_authrocket.testing, on the usual LoginRocket URL."""
    return {**TestKeys.default().config(), "LOGINROCKET_URL": LOGINROCKET_URL, **config}


def bare_app(**config: Any) -> Flask:
    """A fresh app with no routes yet; AuthRocket is not registered."""
    app = Flask(__name__)
    app.config.update(TESTING=True, **trusting_test_keys(**config))
    return app


@pytest.fixture
def app(make_app) -> Flask:
    """The demo app, trusting the test keys: ``authrocket_client`` logs in to it."""
    return make_app(**trusting_test_keys())


@pytest.fixture(scope="module")
def forger() -> TestKeys:
    """Keys this app does not trust, under the trusted key's kid."""
    return TestKeys.generate(kid="test-key-1")


# -- require_login -----------------------------------------------------------


def test_logged_in_cookie_passes_require_login(authrocket_client):
    authrocket_client.login_as(ADA, [ACME])

    answer = authrocket_client.get("/private")

    assert answer.status_code == 200
    assert answer.text == "private for usr_ada"


@pytest.mark.parametrize("headers", [{}, HTML], ids=["no-accept", "accept-html"])
def test_browser_without_login_is_sent_to_loginrocket(authrocket_client, headers):
    answer = authrocket_client.get("/private?page=2", headers=headers)

    assert_login_redirect(answer, "http://localhost/private?page=2")
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in answer.headers


def test_login_redirect_leaves_out_token_account_and_session(authrocket_client):
    # An empty token= is no token: the browser is sent to log in. (A rejected one gets the 401
    # page below, whose "Log in again" link leaves them out the same way.)
    answer = authrocket_client.get("/private?token=&account=org_acme&session=kss_1&keep=yes", headers=HTML)

    assert_login_redirect(answer, "http://localhost/private?keep=yes")


@pytest.mark.parametrize(
    "headers",
    [JSON, {"X-Requested-With": "XMLHttpRequest"}, {"Accept": "application/json, text/html;q=0.5"}],
    ids=["accept-json", "xhr", "json-preferred"],
)
def test_api_client_without_token_gets_401_json_without_error_attribute(authrocket_client, headers):
    answer = authrocket_client.get("/api/me", headers=headers)

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="authrocket"'
    assert "error=" not in answer.headers["WWW-Authenticate"]
    assert answer.get_json() == {
        "error": "login_required",
        "message": "Log in, or send a token as 'Authorization: Bearer <token>'.",
    }


def test_expired_bearer_token_gets_401_invalid_token(authrocket_client):
    authrocket_client.login_as(ADA, [ACME], mode="bearer", issued_at=int(time.time()) - 3600, expires_in=60)

    # A Bearer header makes an API client, whatever it accepts.
    answer = authrocket_client.get("/api/me", headers=HTML)

    assert answer.status_code == 401
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="authrocket", error="invalid_token"')
    assert 'error_description="The token has expired."' in challenge
    assert answer.get_json() == {"error": "invalid_token", "message": "The token has expired."}


def test_forged_bearer_token_gets_401_invalid_token(authrocket_client, forger):
    authrocket_client.login_as(ADA, [ACME], mode="bearer", keys=forger)

    answer = authrocket_client.get("/api/me")

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="authrocket", error="invalid_token"')
    assert answer.get_json()["error"] == "invalid_token"


def test_forged_cookie_on_api_call_is_401_invalid_token_and_cleared(authrocket_client, forger):
    authrocket_client.login_as(ADA, [ACME], keys=forger)

    answer = authrocket_client.get("/api/me", headers=JSON)

    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]


def test_forged_cookie_on_browser_navigation_redirects_and_clears_it(authrocket_client, forger):
    authrocket_client.login_as(ADA, [ACME], keys=forger)

    answer = authrocket_client.get("/private", headers=HTML)

    assert_login_redirect(answer, "http://localhost/private")
    assert answer.headers.getlist("Set-Cookie") == [CLEARED_COOKIE]
    assert authrocket_client.get_cookie("arToken") is None


def test_require_login_guards_async_views(authrocket_client):
    assert_login_redirect(authrocket_client.get("/async"), "http://localhost/async")

    authrocket_client.login_as(ADA, [ACME])
    answer = authrocket_client.get("/async")

    assert answer.status_code == 200
    assert answer.text == "async for usr_ada"


def test_a_preflight_passes_require_login_answered_by_the_guard(app):
    @app.route("/async-cors", methods=["GET", "OPTIONS"])
    @require_login
    async def async_cors() -> str:
        return "the view's answer"

    answer = app.test_client().options("/async-cors", headers=PREFLIGHT)

    assert answer.status_code == 200
    assert answer.text == ""  # the app's default OPTIONS answer, not the view's
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_explicit_options_route_without_a_login_does_not_run_the_view(app):
    # Only a CORS preflight passes: a plain OPTIONS must not read protected data.
    @app.route("/ledger", methods=["GET", "OPTIONS"])
    @require_login
    def ledger() -> str:
        return "the ledger"

    @app.route("/async-ledger", methods=["GET", "OPTIONS"])
    @require_login
    async def async_ledger() -> str:
        return "the async ledger"

    client = app.test_client()
    for path in ("/ledger", "/async-ledger"):
        api = client.options(path, headers=JSON)
        browser = client.options(path, headers=HTML)

        assert api.status_code == 401
        assert api.json["error"] == "login_required"
        assert_login_redirect(browser, f"http://localhost{path}")
        assert "the ledger" not in api.text + browser.text and "async ledger" not in api.text + browser.text


def test_explicit_options_route_with_a_login_runs_the_view(app, authrocket_client):
    @app.route("/ledger", methods=["GET", "OPTIONS"])
    @require_login
    def ledger() -> str:
        return "the ledger"

    authrocket_client.login_as(ADA, [ACME])
    answer = authrocket_client.options("/ledger")

    assert answer.status_code == 200
    assert answer.text == "the ledger"


def test_a_guarded_views_answer_is_private_and_varies_on_the_login(authrocket_client):
    authrocket_client.login_as(ADA, [ACME])

    answer = authrocket_client.get("/private")

    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "private"
    assert answer.headers["Vary"] == "Cookie, Authorization"


def test_a_guarded_views_own_cache_control_is_kept(app, authrocket_client):
    @app.get("/report")
    @require_login
    def report() -> Any:
        return "report", {"Cache-Control": "no-store", "Vary": "Accept"}

    authrocket_client.login_as(ADA, [ACME])
    answer = authrocket_client.get("/report")

    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Vary"] == "Accept, Cookie, Authorization"


def test_a_failed_guards_answer_is_not_cached_for_others_either(authrocket_client):
    api = authrocket_client.get("/private", headers=JSON)
    authrocket_client.login_as(ADA, [GLOBEX])
    forbidden = authrocket_client.get("/admin", headers=JSON)
    browser = authrocket_client.get("/private", headers=HTML)

    for answer in (api, forbidden):
        assert answer.headers["Cache-Control"] == "private"
        assert answer.headers["Vary"] == "Cookie, Authorization"
    assert (api.status_code, forbidden.status_code) == (401, 403)
    assert browser.headers["Cache-Control"] == "private"  # logged in as Ada: the page, privately
    assert browser.status_code == 200


def test_protected_blueprint_views_are_private_and_its_exempt_views_are_not():
    app = bare_app()
    AuthRocket(app)
    app.register_blueprint(protect(reports_blueprint()))
    client = app.test_client()

    public = client.get("/reports/about")
    guarded = client.get("/reports/", headers=bearer(make_token(ADA, [ACME])))

    assert guarded.headers["Cache-Control"] == "private"
    assert "Cache-Control" not in public.headers
    assert "Vary" not in public.headers


# -- require_permission --------------------------------------------------------


def test_permission_granted_by_the_current_membership_passes(authrocket_client):
    authrocket_client.login_as(ADA, [ACME], mode="bearer")

    answer = authrocket_client.get("/admin")

    assert answer.status_code == 200
    assert answer.text == "admin"


def test_missing_permission_is_403_html_for_browsers(authrocket_client):
    authrocket_client.login_as(ADA, [GLOBEX])

    answer = authrocket_client.get("/admin", headers=HTML)

    assert answer.status_code == 403
    assert answer.mimetype == "text/html"
    assert "Missing permission: site:admin." in answer.text
    assert "Set-Cookie" not in answer.headers


def test_missing_permission_is_403_json_for_api_clients(authrocket_client):
    authrocket_client.login_as(ADA, [GLOBEX], mode="bearer")

    answer = authrocket_client.get("/admin")

    assert answer.status_code == 403
    assert answer.get_json() == {
        "error": "forbidden",
        "message": "Missing permission: site:admin.",
        "missing_permissions": ["site:admin"],
    }


def test_permission_comes_from_the_selected_membership_only(authrocket_client):
    # Ada may administer Acme, but she is working in Globex right now.
    authrocket_client.login_as(ADA, [ACME, GLOBEX], selected="org_globex", mode="bearer")

    answer = authrocket_client.get("/admin")

    assert answer.status_code == 403


def test_require_permission_without_login_asks_for_a_login_first(authrocket_client):
    assert_login_redirect(authrocket_client.get("/admin"), "http://localhost/admin")


def test_require_permission_needs_every_name(app, authrocket_client):
    @app.get("/books")
    @require_permission("site:admin", "billing:edit")
    def books() -> str:
        return "books"

    authrocket_client.login_as(ADA, [ACME], mode="bearer")
    only_admin = authrocket_client.get("/books")
    both = make_membership("org_acme", "Acme Inc.", ["site:admin", "billing:edit"])
    authrocket_client.login_as(ADA, [both], mode="bearer")
    admin_and_billing = authrocket_client.get("/books")

    assert only_admin.status_code == 403
    assert only_admin.get_json()["missing_permissions"] == ["billing:edit"]
    assert admin_and_billing.status_code == 200
    assert admin_and_billing.text == "books"


def test_require_permission_guards_async_views(app, authrocket_client):
    @app.get("/async-admin")
    @require_permission("site:admin")
    async def async_admin() -> str:
        return "async admin"

    authrocket_client.login_as(ADA, [GLOBEX], mode="bearer")
    denied = authrocket_client.get("/async-admin")
    authrocket_client.login_as(ADA, [ACME], mode="bearer")
    allowed = authrocket_client.get("/async-admin")

    assert denied.status_code == 403
    assert allowed.status_code == 200
    assert allowed.text == "async admin"


def test_a_preflight_passes_require_permission_answered_by_the_guard(authrocket_client):
    answer = authrocket_client.options("/admin", headers=PREFLIGHT)

    assert answer.status_code == 200
    assert answer.text == ""  # never the view's "admin"


def test_plain_options_on_an_explicit_route_needs_the_permission_too(authrocket_client):
    anonymous = authrocket_client.options("/admin", headers=JSON)
    authrocket_client.login_as(ADA, [GLOBEX])
    without_permission = authrocket_client.options("/admin", headers=JSON)

    assert anonymous.status_code == 401
    assert without_permission.status_code == 403
    assert without_permission.json["missing_permissions"] == ["site:admin"]


def test_require_permission_without_names_is_a_type_error():
    with pytest.raises(TypeError, match="one or more permission names"):
        require_permission()


def test_require_permission_used_without_parentheses_is_a_type_error():
    def view() -> str:
        return "oops"

    with pytest.raises(TypeError):
        require_permission(view)  # type: ignore[arg-type]


# -- protect() and login_exempt ------------------------------------------------


def reports_blueprint() -> Blueprint:
    bp = Blueprint("reports", __name__, url_prefix="/reports")

    @bp.get("/")
    def index() -> str:
        return f"reports for {g.authrocket.current_user.id}"

    @bp.get("/about")
    @login_exempt
    def about() -> str:
        return "about reports"

    @bp.get("/live")
    async def live() -> str:
        return f"live for {g.authrocket.current_user.id}"

    return bp


def test_protect_guards_every_view_of_a_blueprint():
    app = bare_app()
    AuthRocket(app)
    app.register_blueprint(protect(reports_blueprint()))
    client = app.test_client()

    assert_login_redirect(client.get("/reports/"), "http://localhost/reports/")
    client.set_cookie("arToken", make_token(ADA, [ACME]))
    answer = client.get("/reports/")

    assert answer.status_code == 200
    assert answer.text == "reports for usr_ada"


def test_protect_guards_async_views_of_a_blueprint():
    app = bare_app()
    AuthRocket(app)
    app.register_blueprint(protect(reports_blueprint()))
    client = app.test_client()

    denied = client.get("/reports/live", headers=JSON)
    allowed = client.get("/reports/live", headers=bearer(make_token(ADA, [ACME])))

    assert denied.status_code == 401
    assert allowed.status_code == 200
    assert allowed.text == "live for usr_ada"


def test_protect_leaves_login_exempt_views_public():
    app = bare_app()
    AuthRocket(app)
    app.register_blueprint(protect(reports_blueprint()))

    answer = app.test_client().get("/reports/about")

    assert answer.status_code == 200
    assert answer.text == "about reports"


def test_protect_does_not_reach_outside_its_blueprint(app):
    app.register_blueprint(protect(reports_blueprint()))

    answer = app.test_client().get("/")

    assert answer.status_code == 200
    assert answer.text == "Logged out"


def test_protect_lets_options_through():
    app = bare_app()
    AuthRocket(app)
    app.register_blueprint(protect(reports_blueprint()))

    answer = app.test_client().options("/reports/")

    assert answer.status_code == 200
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_protect_lets_a_cors_preflight_through_an_explicit_options_route():
    bp = Blueprint("sync", __name__)

    @bp.route("/sync", methods=["GET", "OPTIONS"])
    def sync() -> str:
        return "synced data"

    app = bare_app()
    AuthRocket(app)
    app.register_blueprint(protect(bp))
    client = app.test_client()

    preflight = client.options("/sync", headers=PREFLIGHT)
    plain = client.options("/sync", headers=JSON)

    assert preflight.status_code == 200
    assert plain.status_code == 401
    assert "synced data" not in plain.text


def test_protect_with_permission_needs_it():
    app = bare_app()
    AuthRocket(app)
    app.register_blueprint(protect(reports_blueprint(), permission="site:admin"))
    client = app.test_client()

    denied = client.get("/reports/", headers=bearer(make_token(ADA, [GLOBEX])))
    allowed = client.get("/reports/", headers=bearer(make_token(ADA, [ACME])))

    assert denied.status_code == 403
    assert denied.get_json()["missing_permissions"] == ["site:admin"]
    assert allowed.status_code == 200


def test_protect_with_several_permissions_needs_them_all():
    app = bare_app()
    AuthRocket(app)
    app.register_blueprint(protect(reports_blueprint(), permission=["site:admin", "billing:edit"]))
    client = app.test_client()

    answer = client.get("/reports/", headers=bearer(make_token(ADA, [ACME])))

    assert answer.status_code == 403
    assert answer.get_json()["missing_permissions"] == ["billing:edit"]


def test_protect_guards_a_view_that_is_merely_named_static():
    # Exemption is by identity: a view function called `static` is not the static file view.
    bp = Blueprint("vault", __name__, url_prefix="/vault")

    @bp.get("/static")
    def static() -> str:
        return "the vault's contents"

    app = bare_app()
    AuthRocket(app)
    app.register_blueprint(protect(bp))

    answer = app.test_client().get("/vault/static", headers=JSON)

    assert answer.status_code == 401
    assert "vault" not in answer.text


def test_protect_on_an_app_without_static_folder_guards_its_own_static_endpoint():
    app = Flask(__name__, static_folder=None)
    app.config.update(TESTING=True, **trusting_test_keys())

    @app.get("/files/<path:filename>")
    def static(filename: str) -> str:
        return f"private file {filename}"

    protect(app)
    AuthRocket(app)
    client = app.test_client()

    assert client.get("/files/payroll.csv", headers=JSON).status_code == 401
    assert client.get("/files/payroll.csv", headers=bearer(make_token(ADA, [ACME]))).text == "private file payroll.csv"


def test_protect_leaves_the_static_files_of_protected_blueprints_public(tmp_path):
    for folder in ("outer", "inner"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "app.js").write_text(f"// {folder}\n")
    outer = Blueprint(
        "outer", __name__, static_folder=tmp_path / "outer", static_url_path="/static", url_prefix="/outer"
    )
    inner = Blueprint(
        "inner", __name__, static_folder=tmp_path / "inner", static_url_path="/static", url_prefix="/inner"
    )

    @outer.get("/")
    def index() -> str:
        return "outer index"

    outer.register_blueprint(protect(inner))
    app = bare_app()
    AuthRocket(app)
    app.register_blueprint(protect(outer))
    client = app.test_client()

    with client.get("/outer/static/app.js") as outer_file, client.get("/outer/inner/static/app.js") as inner_file:
        assert (outer_file.status_code, outer_file.text) == (200, "// outer\n")
        assert (inner_file.status_code, inner_file.text) == (200, "// inner\n")
    assert client.get("/outer/", headers=JSON).status_code == 401


def test_protect_on_a_blueprint_before_the_extension_exists():
    app = bare_app()
    app.register_blueprint(protect(reports_blueprint()))
    AuthRocket(app)  # registered last: the guard must still see the session
    client = app.test_client()

    assert_login_redirect(client.get("/reports/"), "http://localhost/reports/")
    client.set_cookie("arToken", make_token(ADA, [ACME]))
    assert client.get("/reports/").text == "reports for usr_ada"


def test_protect_on_the_app_before_the_extension_exists():
    app = bare_app()

    @app.get("/")
    def home() -> str:
        return f"home of {g.authrocket.current_user.id}"

    protect(app)
    AuthRocket(app)
    client = app.test_client()

    assert client.get("/", headers=JSON).status_code == 401
    assert client.get("/", headers=bearer(make_token(ADA, [ACME]))).text == "home of usr_ada"


# -- AUTHROCKET_REQUIRE_LOGIN ------------------------------------------------------


@pytest.fixture
def walled_app(tmp_path) -> Flask:
    """An app guarded as a whole, with a static folder and a public page."""
    static = tmp_path / "static"
    static.mkdir()
    (static / "site.css").write_text("body { color: black; }\n")
    app = Flask(__name__, static_folder=str(static))
    app.config.update(TESTING=True, **trusting_test_keys(AUTHROCKET_REQUIRE_LOGIN=True))
    AuthRocket(app)

    @app.get("/")
    def home() -> str:
        return f"home of {g.authrocket.current_user.id}"

    @app.get("/pricing")
    @login_exempt
    def pricing() -> str:
        return "pricing for everyone"

    @app.get("/live")
    async def live() -> str:
        return f"live for {g.authrocket.current_user.id}"

    return app


def test_require_login_setting_guards_every_view(walled_app):
    assert_login_redirect(walled_app.test_client().get("/"), "http://localhost/")


def test_require_login_setting_lets_logged_in_users_in(walled_app):
    client = walled_app.test_client()
    client.set_cookie("arToken", make_token(ADA, [ACME]))

    assert client.get("/").text == "home of usr_ada"
    assert client.get("/live").text == "live for usr_ada"


def test_require_login_setting_guards_async_views(walled_app):
    answer = walled_app.test_client().get("/live", headers=JSON)

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="authrocket"'


def test_require_login_setting_leaves_static_files_public(walled_app):
    with walled_app.test_client().get("/static/site.css") as answer:
        assert answer.status_code == 200
        assert answer.text == "body { color: black; }\n"


def test_require_login_setting_leaves_login_exempt_views_public(walled_app):
    answer = walled_app.test_client().get("/pricing")

    assert answer.status_code == 200
    assert answer.text == "pricing for everyone"


def test_require_login_setting_leaves_the_logout_route_public(walled_app):
    answer = walled_app.test_client().get("/logout")

    assert answer.status_code == 302
    assert (
        answer.headers["Location"] == "https://myapp.e2.loginrocket.com/logout?redirect_uri=http%3A%2F%2Flocalhost%2F"
    )


def test_require_login_setting_leaves_logout_views_on_app_routes_public(walled_app):
    walled_app.add_url_rule("/signout", view_func=full_logout)
    walled_app.add_url_rule("/leave", view_func=local_logout)
    client = walled_app.test_client()

    signout = client.get("/signout")
    leave = client.get("/leave")

    assert signout.status_code == 302
    assert (
        signout.headers["Location"] == "https://myapp.e2.loginrocket.com/logout?redirect_uri=http%3A%2F%2Flocalhost%2F"
    )
    assert leave.status_code == 302
    assert leave.headers["Location"] == "http://localhost/"


# -- AUTHROCKET_POST_LOGOUT_PATH: a path on this app, nothing a browser reads as another host ----------


@pytest.mark.parametrize(
    "path",
    [
        "/\t/evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "/\n/evil.example",
        "/ /evil.example",
        "/bye\x00",
        "/bye\x7f",
        "/see you",
        "\t/",
        "//evil.example",
    ],
)
def test_post_logout_path_that_a_browser_could_read_as_another_host_is_refused(path):
    # urljoin drops tabs and newlines: "/\t/evil.example" became "//evil.example", another host.
    with pytest.raises(ConfigurationError, match="AUTHROCKET_POST_LOGOUT_PATH"):
        AuthRocket(bare_app(AUTHROCKET_POST_LOGOUT_PATH=path))


def test_post_logout_path_on_this_app_is_where_logouts_return():
    app = bare_app(AUTHROCKET_POST_LOGOUT_PATH="/goodbye/see-you?from=logout", AUTHROCKET_LOGOUT="local")
    AuthRocket(app)

    answer = app.test_client().get("/logout")

    assert answer.status_code == 302
    assert answer.headers["Location"] == "http://localhost/goodbye/see-you?from=logout"


def test_require_login_setting_guards_a_view_that_only_borrows_the_logout_endpoint_name():
    app = bare_app(AUTHROCKET_REQUIRE_LOGIN=True, AUTHROCKET_LOGOUT_URL=None)
    AuthRocket(app)

    @app.get("/session-report", endpoint="authrocket_logout")
    def session_report() -> str:
        return "every session of the realm"

    answer = app.test_client().get("/session-report", headers=JSON)

    assert answer.status_code == 401
    assert "realm" not in answer.text


def test_require_login_setting_answers_unknown_urls_404(walled_app):
    assert walled_app.test_client().get("/nowhere").status_code == 404


def test_require_login_setting_lets_options_through(walled_app):
    answer = walled_app.test_client().options("/")

    assert answer.status_code == 200
    assert "GET" in answer.headers["Allow"]


# -- keys unreachable: 503, the cookie kept -------------------------------------------


@pytest.fixture
def unreachable_app(make_app, refused_url) -> Flask:
    """Dynamic keys from a LoginRocket that refuses connections."""
    return make_app(LOGINROCKET_URL=refused_url)


def test_unreachable_keys_make_guarded_views_503_for_browsers(unreachable_app):
    client = unreachable_app.test_client()
    client.set_cookie("arToken", make_token(ADA, [ACME]))

    answer = client.get("/private", headers=HTML)

    assert answer.status_code == 503
    assert answer.mimetype == "text/html"
    assert 1 <= int(answer.headers["Retry-After"]) <= 30
    assert "Set-Cookie" not in answer.headers


def test_unreachable_keys_make_guarded_views_503_json_for_api_clients(unreachable_app):
    answer = unreachable_app.test_client().get("/api/me", headers=bearer(make_token(ADA, [ACME])))

    assert answer.status_code == 503
    assert answer.get_json()["error"] == "login_unavailable"
    assert 1 <= int(answer.headers["Retry-After"]) <= 30


def test_unreachable_keys_render_public_views_logged_out_and_keep_the_cookie(unreachable_app):
    client = unreachable_app.test_client()
    token = make_token(ADA, [ACME])
    client.set_cookie("arToken", token)

    answer = client.get("/")

    assert answer.status_code == 200
    assert answer.text == "Logged out"
    assert "Set-Cookie" not in answer.headers
    assert client.get_cookie("arToken").value == token


def test_hanging_loginrocket_is_503_within_the_timeout(make_app, jwks_server):
    jwks_server.hang()
    app = make_app(LOGINROCKET_URL=jwks_server.url, AUTHROCKET_HTTP_TIMEOUT=0.25)
    client = app.test_client()
    client.set_cookie("arToken", make_token(ADA, [ACME]))

    started = time.monotonic()
    answer = client.get("/private")
    elapsed = time.monotonic() - started

    assert answer.status_code == 503
    assert "Retry-After" in answer.headers
    assert "Set-Cookie" not in answer.headers
    assert elapsed < 10  # a hang bound: the server would hold the fetch for ever
    wait_until(lambda: jwks_server.fetches >= 1, timeout=30)  # the server's own thread counts it, maybe a moment later
    assert jwks_server.fetches == 1


def test_reachable_keys_let_the_same_cookie_in(make_app, authrocket_jwks_server, authrocket_jwks_config):
    # The contrast to the tests above: the token itself is fine.
    client = make_app(**authrocket_jwks_config).test_client()
    client.set_cookie("arToken", make_token(ADA, [ACME]))

    assert client.get("/private").text == "private for usr_ada"
    assert authrocket_jwks_server.fetches == 1


# -- a rejected ?token= is never a redirect loop -----------------------------------


@pytest.fixture
def jwks_app(make_app, authrocket_jwks_config) -> Flask:
    """The demo app fetching the test keys from a JWK-set server, as from LoginRocket."""
    return make_app(**authrocket_jwks_config)


def rejected_query_tokens(forger: TestKeys) -> dict[str, str]:
    """A token the jwks_app rejects for each reason a login return can fail, by that reason."""
    now = int(time.time())
    return {
        "bad_signature": make_token(ADA, [ACME], keys=forger),  # the trusted kid, another key
        "unknown_kid": make_token(ADA, [ACME], keys=TestKeys.generate(kid="another-realm")),
        "wrong_issuer": make_token(ADA, [ACME], iss="https://evil.example"),
        "expired": make_token(ADA, [ACME], issued_at=now - 3600, expires_in=60),
        "not_yet_valid": make_token(ADA, [ACME], nbf=now + 3600),
    }


@pytest.fixture
def rejecting(make_app, authrocket_jwks_config, forger):
    """``rejecting(reason)``: an app and a ``?token=`` it rejects for ``reason``."""

    def build(reason: str) -> tuple[Flask, str]:
        if reason == "wrong_algorithm":
            # The first hour's case: an HS256 secret in AUTHROCKET_JWT_KEY while the realm signs RS256.
            return make_app(**TestKeys.default().config("hs256")), make_token(ADA, [ACME])
        return make_app(**authrocket_jwks_config), rejected_query_tokens(forger)[reason]

    return build


REJECTED_REASONS = ["bad_signature", "wrong_algorithm", "unknown_kid", "wrong_issuer", "expired", "not_yet_valid"]


@pytest.mark.parametrize("reason", REJECTED_REASONS)
@pytest.mark.parametrize("headers", [{}, HTML], ids=["no-accept", "accept-html"])
def test_rejected_query_token_on_a_guarded_page_is_a_401_page_not_a_redirect(rejecting, reason, headers):
    app, token = rejecting(reason)
    login_url = app.config["LOGINROCKET_URL"].rstrip("/") + "/login"

    answer = app.test_client().get(f"/private?token={token}&account=org_acme&session=kss_1&keep=yes", headers=headers)

    assert answer.status_code == 401
    assert "Location" not in answer.headers
    assert answer.mimetype == "text/html"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="authrocket", error="invalid_token"')
    page = answer.text
    assert describe_rejection(reason) in html.unescape(page)
    links = re.findall(r'<a href="([^"]*)">Log in again</a>', page)
    assert len(links) == 1
    link = urlsplit(html.unescape(links[0]))
    assert f"{link.scheme}://{link.netloc}{link.path}" == login_url
    assert parse_qs(link.query) == {"redirect_uri": ["http://localhost/private?keep=yes"]}
    assert token not in page
    assert token.split(".")[1] not in page  # nor its claims


@pytest.mark.parametrize(
    ("reason", "setting"),
    [
        ("bad_signature", "AUTHROCKET_JWT_KEY"),
        ("wrong_algorithm", "AUTHROCKET_JWT_KEY"),
        ("unknown_kid", "LOGINROCKET_URL"),
        ("wrong_issuer", "LOGINROCKET_URL"),
        ("expired", "clock"),
        ("not_yet_valid", "clock"),
    ],
)
def test_rejected_query_token_page_names_what_to_check_in_debug_mode_only(rejecting, reason, setting):
    # Two apps, each with a key set of its own: a second unknown kid within seconds of a
    # fetch is "unavailable" (the key may be brand new), not rejected.
    (app, token), (debug_app, debug_token) = rejecting(reason), rejecting(reason)
    debug_app.debug = True

    generic = app.test_client().get(f"/private?token={token}", headers=HTML)
    debugging = debug_app.test_client().get(f"/private?token={debug_token}", headers=HTML)

    assert generic.status_code == debugging.status_code == 401
    assert setting in debugging.text
    assert what_to_check(reason) in html.unescape(debugging.text)
    for name in ("AUTHROCKET_", "LOGINROCKET_URL", "clock"):
        assert name not in generic.text
    assert "Log in again" in generic.text


def test_rejected_query_token_from_an_api_client_is_the_usual_401_json(jwks_app, forger):
    token = rejected_query_tokens(forger)["bad_signature"]

    answer = jwks_app.test_client().get(f"/api/me?token={token}", headers=JSON)

    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_token"
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="authrocket", error="invalid_token"')


def test_rejected_query_token_on_a_protected_blueprint_is_the_401_page_too(make_app, authrocket_jwks_config, forger):
    app = make_app(**authrocket_jwks_config, AUTHROCKET_REQUIRE_LOGIN=True)

    answer = app.test_client().get(f"/?token={rejected_query_tokens(forger)['expired']}", headers=HTML)

    assert answer.status_code == 401
    assert "Log in again" in answer.text


def test_rejected_query_token_on_a_public_page_renders_it_logged_out(jwks_app, forger):
    # No redirect, so no loop: the page renders as for anyone, and says nothing about the token.
    answer = jwks_app.test_client().get(f"/?token={rejected_query_tokens(forger)['bad_signature']}", headers=HTML)

    assert answer.status_code == 200
    assert answer.text == "Logged out"


def test_unauthorized_handler_tells_a_rejected_query_token_and_replaces_the_page(jwks_app, forger):
    seen: list[tuple[str | None, str | None]] = []

    @jwks_app.extensions["authrocket"].unauthorized_handler
    def own_page(error: LoginRequired) -> tuple[str, int]:
        seen.append((error.source, error.rejection.reason if error.rejection else None))
        return "our own page", 401

    client = jwks_app.test_client()
    answer = client.get(f"/private?token={rejected_query_tokens(forger)['expired']}", headers=HTML)
    client.get("/private", headers=HTML)

    assert (answer.status_code, answer.text) == (401, "our own page")
    assert seen == [("query", "expired"), (None, None)]


def test_rejected_cookie_still_redirects_to_loginrocket(jwks_app, forger):
    # The cookie is cleared with the answer, so coming back from LoginRocket cannot loop.
    client = jwks_app.test_client()
    client.set_cookie("arToken", rejected_query_tokens(forger)["expired"])

    answer = client.get("/private", headers=HTML)

    assert answer.status_code == 302
    assert answer.headers["Set-Cookie"].startswith("arToken=;")


# -- api=True: always JSON, never a redirect ------------------------------------------


def api_app() -> Flask:
    """An app with an API blueprint under protect(api=True) and views under the api=True decorators."""
    app = bare_app()
    AuthRocket(app)
    api = protect(Blueprint("api", __name__, url_prefix="/api"), api=True)

    @api.get("/me")
    def me() -> dict[str, Any]:
        return {"id": g.authrocket.current_user.id}

    admin = protect(Blueprint("admin_api", __name__, url_prefix="/admin-api"), permission="site:admin", api=True)

    @admin.get("/")
    def admin_index() -> str:
        return "admin"

    @app.get("/called")
    @require_login(api=True)
    def called() -> str:
        return f"called by {g.authrocket.current_user.id}"

    @app.get("/called-async")
    @require_login(api=True)
    async def called_async() -> str:
        return "async"

    @app.get("/bare-called")
    @require_login()
    def bare_called() -> str:
        return "bare"

    @app.get("/permitted")
    @require_permission("site:admin", api=True)
    def permitted() -> str:
        return "permitted"

    app.register_blueprint(api)
    app.register_blueprint(admin)
    return app


@pytest.mark.parametrize("path", ["/api/me", "/called", "/called-async", "/permitted"])
@pytest.mark.parametrize(
    "headers", [{}, HTML, {**HTML, "Sec-Fetch-Mode": "navigate"}], ids=["no-accept", "html", "nav"]
)
def test_api_guards_answer_401_json_whatever_the_client_accepts(path, headers):
    answer = api_app().test_client().get(path, headers=headers)

    assert answer.status_code == 401
    assert "Location" not in answer.headers
    assert answer.get_json()["error"] == "login_required"
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="authrocket"'


@pytest.mark.parametrize("path", ["/admin-api/", "/permitted"])
def test_api_permission_guards_answer_403_json_to_browsers_too(path):
    answer = api_app().test_client().get(path, headers={**HTML, **bearer(make_token(ADA, [GLOBEX]))})
    as_browser = api_app().test_client()
    as_browser.set_cookie("arToken", make_token(ADA, [GLOBEX]))
    navigation = as_browser.get(path, headers=HTML)

    for each in (answer, navigation):
        assert each.status_code == 403
        assert each.get_json()["missing_permissions"] == ["site:admin"]


def test_api_guards_let_a_login_through():
    client = api_app().test_client()
    client.set_cookie("arToken", make_token(ADA, [ACME]))

    assert client.get("/api/me").get_json() == {"id": "usr_ada"}
    assert client.get("/called").text == "called by usr_ada"
    assert client.get("/called-async").text == "async"
    assert client.get("/permitted").text == "permitted"
    assert client.get("/admin-api/").text == "admin"


def test_require_login_called_without_api_still_redirects_browsers():
    answer = api_app().test_client().get("/bare-called", headers=HTML)

    assert answer.status_code == 302


def test_api_guard_answers_a_rejected_query_token_with_json(forger):
    answer = api_app().test_client().get(f"/api/me?token={make_token(ADA, [ACME], keys=forger)}", headers=HTML)

    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_token"


# -- replacing the answers -------------------------------------------------------


def test_unauthorized_handler_without_arguments_replaces_the_answer(app, authrocket_client):
    authrocket = app.extensions["authrocket"]

    @authrocket.unauthorized_handler
    def please_log_in() -> tuple[str, int]:
        return "please log in", 401

    answer = authrocket_client.get("/private")

    assert answer.status_code == 401
    assert answer.text == "please log in"
    assert "Location" not in answer.headers


def test_unauthorized_handler_may_take_the_error(app, authrocket_client):
    @app.extensions["authrocket"].unauthorized_handler
    def explain(error: LoginRequired) -> tuple[dict[str, Any], int]:
        return {"why": error.rejection.reason if error.rejection else None}, 401

    authrocket_client.login_as(ADA, [ACME], mode="bearer", issued_at=int(time.time()) - 3600, expires_in=60)
    with_expired = authrocket_client.get("/private")
    authrocket_client.logout()
    without_token = authrocket_client.get("/private")

    assert with_expired.get_json() == {"why": "expired"}
    assert without_token.get_json() == {"why": None}


def test_forbidden_handler_without_arguments_replaces_the_answer(app, authrocket_client):
    @app.extensions["authrocket"].forbidden_handler
    def go_away() -> tuple[str, int]:
        return "not for you", 403

    authrocket_client.login_as(ADA, [GLOBEX], mode="bearer")
    answer = authrocket_client.get("/admin")

    assert answer.status_code == 403
    assert answer.text == "not for you"


def test_forbidden_handler_may_take_the_error(app, authrocket_client):
    @app.extensions["authrocket"].forbidden_handler
    async def explain(error: PermissionDenied) -> tuple[str, int]:
        return "missing " + ",".join(error.missing), 418

    authrocket_client.login_as(ADA, [GLOBEX], mode="bearer")
    answer = authrocket_client.get("/admin")

    assert answer.status_code == 418
    assert answer.text == "missing site:admin"


def test_unauthorized_handler_returning_none_falls_back_to_the_default_answer(app, authrocket_client):
    asked: list[LoginRequired] = []

    @app.extensions["authrocket"].unauthorized_handler
    def only_sometimes(error: LoginRequired) -> None:
        asked.append(error)

    browser = authrocket_client.get("/private", headers=HTML)
    api_client = authrocket_client.get("/api/me", headers=JSON)

    assert len(asked) == 2
    assert_login_redirect(browser, "http://localhost/private")
    assert api_client.status_code == 401
    assert api_client.get_json()["error"] == "login_required"


def test_forbidden_handler_returning_none_falls_back_to_the_default_answer(app, authrocket_client):
    @app.extensions["authrocket"].forbidden_handler
    async def only_sometimes() -> None:
        return None

    authrocket_client.login_as(ADA, [GLOBEX], mode="bearer")
    answer = authrocket_client.get("/admin")

    assert answer.status_code == 403
    assert answer.get_json()["missing_permissions"] == ["site:admin"]


def test_handlers_may_wrap_the_default_answers(app, authrocket_client):
    authrocket = app.extensions["authrocket"]

    @authrocket.unauthorized_handler
    def marked(error: LoginRequired) -> Response:
        answer = authrocket.default_unauthorized(error)
        answer.headers["X-Login"] = "needed"
        return answer

    @authrocket.forbidden_handler
    def explained(error: PermissionDenied) -> Response:
        answer = authrocket.default_forbidden(error)
        answer.headers["X-Missing"] = ",".join(error.missing)
        return answer

    anonymous = authrocket_client.get("/private", headers=HTML)
    authrocket_client.login_as(ADA, [GLOBEX], mode="bearer")
    denied = authrocket_client.get("/admin")

    assert_login_redirect(anonymous, "http://localhost/private")
    assert anonymous.headers["X-Login"] == "needed"
    assert (denied.status_code, denied.headers["X-Missing"]) == (403, "site:admin")
    assert denied.get_json()["error"] == "forbidden"


# -- verify_login_in_request for custom decorators ---------------------------------


def require_example_staff(view):
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not verify_login_in_request().user.email.endswith("@example.com"):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@pytest.fixture
def staff_app(app) -> Flask:
    @app.get("/staff")
    @require_example_staff
    def staff() -> str:
        return f"staff room for {g.authrocket.current_user.email}"

    return app


def test_custom_decorator_lets_the_extension_answer_a_missing_login(staff_app, authrocket_client):
    assert_login_redirect(authrocket_client.get("/staff"), "http://localhost/staff")
    assert authrocket_client.get("/staff", headers=JSON).status_code == 401


def test_custom_decorator_passes_with_a_login(staff_app, authrocket_client):
    authrocket_client.login_as(ADA, [ACME], mode="bearer")

    answer = authrocket_client.get("/staff")

    assert answer.status_code == 200
    assert answer.text == "staff room for ada@example.com"


def test_custom_decorator_makes_its_own_decision(staff_app, authrocket_client):
    outsider = {"id": "usr_eve", "email": "eve@elsewhere.test"}
    authrocket_client.login_as(outsider, [ACME], mode="bearer")

    answer = authrocket_client.get("/staff")

    assert answer.status_code == 403


def test_fetch_calls_get_a_401_not_a_redirect(hs_app):
    answer = hs_app.test_client().get("/private", headers={"Accept": "*/*", "Sec-Fetch-Mode": "cors"})
    navigation = hs_app.test_client().get("/private", headers={"Accept": "*/*", "Sec-Fetch-Mode": "navigate"})

    assert answer.status_code == 401
    assert navigation.status_code == 302


# -- docs/security.md: its samples run --------------------------------------------------


def security_page_samples() -> dict[str, Any]:
    """The names docs/security.md's Python blocks define, run in order in one namespace."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "security.md").read_text()
    namespace: dict[str, Any] = {"__name__": "docs_sample"}
    for number, block in enumerate(re.findall(r"```python\n(.*?)```", page, re.DOTALL), start=1):
        exec(compile(block, f"docs/security.md, block {number}", "exec"), namespace)
    return namespace


def test_the_security_pages_samples_behave_as_the_page_says():
    namespace = security_page_samples()
    app = namespace["app"]
    app.config["LOGINROCKET_URL"] = LOGINROCKET_URL
    client = app.test_client()
    token = token_for(TokenIssuer(secret=app.config["AUTHROCKET_JWT_KEY"]))

    preflight = client.options("/api/ledger", headers=PREFLIGHT)
    plain = client.options("/api/ledger", headers=JSON)
    logged_in = client.options("/api/ledger", headers=bearer(token))
    dashboard = client.get("/dashboard", headers=bearer(token))

    assert (preflight.status_code, preflight.text) == (200, "")  # the guard's answer, not the view's 204
    assert set(preflight.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert plain.status_code == 401
    assert (logged_in.status_code, logged_in.headers["Allow"]) == (204, "GET, OPTIONS")
    assert dashboard.headers["Cache-Control"] == "private, max-age=60"
    assert dashboard.headers["Vary"] == "Cookie, Authorization"


def test_the_security_pages_handler_answers_for_every_app_of_the_factory():
    create_app = security_page_samples()["create_app"]
    first, second = create_app({"LOGINROCKET_URL": LOGINROCKET_URL}), create_app({"LOGINROCKET_URL": LOGINROCKET_URL})
    rejected = token_for(TokenIssuer(secret="jsk_another_realms_secret_0123456789abcdef0123"))

    answers = [each.test_client().get(f"/reports?token={rejected}", headers=HTML) for each in (first, second)]
    anonymous = second.test_client().get("/reports", headers=HTML)

    for answer in answers:
        assert answer.status_code == 401
        assert "We could not log you in" in answer.text
        assert "redirect_uri=http%3A%2F%2Flocalhost%2Freports" in answer.text
        assert rejected not in answer.text
    assert_login_redirect(anonymous, "http://localhost/reports")


# -- no default page carries a rejected token in a link; a template shows the rejection in words ----------


def links_of(answer: Response) -> list[str]:
    """Every URL an answer leads to: its Location, and each href, src and action of its body."""
    found = [answer.headers.get("Location", "")]
    found += [html.unescape(url) for url in re.findall(r'(?:href|src|action)="([^"]*)"', answer.text)]
    return [url for url in found if url]


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_no_default_page_carries_a_rejected_query_token_in_any_link_or_text(
    make_app, authrocket_jwks_config, forger, debug
):
    app = make_app(**authrocket_jwks_config)
    app.debug = debug
    token = rejected_query_tokens(forger)["bad_signature"]
    member = make_token(ADA, [{**GLOBEX, "selected": True}])  # logged in, without site:admin
    client = app.test_client()
    with_member = app.test_client()
    with_member.set_cookie("arToken", member)
    query = f"token={token}&account=org_acme&session=kss_1&page=2"

    answers = {
        "the 401 page": client.get(f"/private?{query}", headers=HTML),
        "the 401 page of a permission guard": client.get(f"/admin?{query}", headers=HTML),
        "401 JSON": client.get(f"/api/me?{query}", headers=JSON),
        "401 without Accept": client.get(f"/private?{query}"),
        "403 for a member": with_member.get(f"/admin?{query}", headers=HTML),
        "403 JSON for a member": with_member.get(f"/admin?{query}", headers=JSON),
        "the logout redirect": client.get(f"/logout?{query}", headers=HTML),
    }

    assert answers["the 401 page"].status_code == 401
    assert answers["403 for a member"].status_code == 403
    for name, answer in answers.items():
        for secret in (token, *token.split(".")):
            assert secret not in answer.get_data(as_text=True), name
            assert not any(secret in url for url in links_of(answer)), name
            assert not any(secret in value for _, value in answer.headers.items()), name
    login_again = [url for url in links_of(answers["the 401 page"]) if "/login" in url]
    assert parse_qs(urlsplit(login_again[0]).query) == {"redirect_uri": ["http://localhost/private?page=2"]}


def test_a_503_page_for_a_query_token_that_could_not_be_checked_carries_no_token(make_app, refused_url):
    app = make_app(LOGINROCKET_URL=refused_url, AUTHROCKET_HTTP_TIMEOUT=0.25)
    token = make_token(ADA, [ACME])

    answer = app.test_client().get(f"/private?token={token}", headers=HTML)

    assert answer.status_code == 503
    assert token not in answer.text and not any(token in url for url in links_of(answer))


def test_a_template_shows_a_rejection_as_its_reason_in_plain_words(make_app):
    app = make_app(**trusting_test_keys())
    authrocket = app.extensions["authrocket"]

    @authrocket.unauthorized_handler
    def explain(error: LoginRequired) -> Any:
        return render_template_string("<p>{{ error.rejection }}</p>", error=error), 401

    expired = make_token(ADA, [ACME], issued_at=int(time.time()) - 3600, expires_in=60)
    answer = app.test_client().get("/private", headers=bearer(expired))

    rejection = authrocket.verify(expired, app=app)
    assert answer.text == f"<p>{html.escape(rejection.message, quote=True)}</p>"
    assert "Rejection(" not in answer.text and "expired" in answer.text.lower()
    assert expired not in answer.text
