"""Helpers on g.authrocket and `authrocket` in templates: who is logged in, and LoginRocket URLs."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, g, render_template_string
from helpers import ACME, ADA, GLOBEX, HS_SECRET, LOGINROCKET_URL

from flask_authrocket import (
    AuthRocket,
    ConfigurationError,
    current_membership,
    current_org,
    current_session,
    current_user,
)
from flask_authrocket.testing import make_token


@pytest.fixture
def app(make_app, authrocket_config) -> Flask:
    """The demo app, trusting the test keys of flask_authrocket.testing, on the usual LoginRocket URL."""
    return make_app(**{**authrocket_config, "LOGINROCKET_URL": LOGINROCKET_URL})


def _logged_in(app: Flask, token: str, path: str = "/", **kwargs):
    ctx = app.test_request_context(path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    ctx.push()
    app.preprocess_request()
    return ctx


def test_current_objects_when_logged_in(app):
    token = make_token(ADA, [ACME, GLOBEX], session_id="kss_42")
    ctx = _logged_in(app, token)
    try:
        authrocket = g.authrocket
        assert authrocket.is_authenticated
        assert authrocket.current_session.id == "kss_42"
        assert authrocket.current_user.email == "ada@example.com"
        assert authrocket.current_membership.id == "mb_ada_acme"  # none selected: the first
        assert authrocket.current_org.name == "Acme Inc."
        assert authrocket.has_permission("site:admin")
        assert not authrocket.has_permission("site:admin", "billing:manage")
        # The Express names are the same objects.
        assert authrocket.currentUser is authrocket.current_user
        assert authrocket.currentSession is authrocket.current_session
        assert authrocket.currentMembership is authrocket.current_membership
        assert authrocket.currentOrg is authrocket.current_org
        # And so are the typed proxies.
        assert current_user.id == "usr_ada"
        assert current_session.token == token
        assert current_membership.permissions == ("site:admin",)
        assert current_org.id == "org_acme"
    finally:
        ctx.pop()


def test_selected_membership_is_current(app):
    token = make_token(ADA, [ACME, GLOBEX], selected="org_globex")
    ctx = _logged_in(app, token)
    try:
        assert g.authrocket.current_org.id == "org_globex"
        assert not g.authrocket.has_permission("site:admin")
    finally:
        ctx.pop()


def test_logged_out_everything_is_none(app):
    with app.test_request_context("/"):
        app.preprocess_request()
        authrocket = g.authrocket
        assert not authrocket.is_authenticated
        assert authrocket.current_user is None and authrocket.current_org is None
        assert authrocket.current_membership is None and authrocket.token is None
        assert not authrocket.has_permission("site:admin")
        assert not current_user
        assert not current_org


def test_loginrocket_url_builders(app):
    ctx = _logged_in(app, make_token(ADA, [ACME], session_id="kss_7"), path="/page?x=1")
    try:
        ar = g.authrocket
        assert ar.ar_login_url() == "https://myapp.e2.loginrocket.com/login"
        assert ar.ar_signup_url() == "https://myapp.e2.loginrocket.com/signup"
        back = ar.request_url()
        assert back == "http://localhost/page?x=1"
        assert ar.ar_profile_url(redirect_uri=back) == (
            "https://myapp.e2.loginrocket.com/profile?redirect_uri=http%3A%2F%2Flocalhost%2Fpage%3Fx%3D1"
        )
        assert ar.arProfileUrl({"redirect_uri": back}) == ar.ar_profile_url(redirect_uri=back)
        assert ar.ar_accounts_url() == "https://myapp.e2.loginrocket.com/accounts?force=1"
        assert ar.ar_accounts_url(force=False) == "https://myapp.e2.loginrocket.com/accounts"
        assert ar.ar_account_url() == "https://myapp.e2.loginrocket.com/accounts/org_acme"
        assert ar.ar_account_url(id="org_other") == "https://myapp.e2.loginrocket.com/accounts/org_other"
        assert ar.ar_logout_url(redirect_uri="http://localhost/") == (
            "https://myapp.e2.loginrocket.com/logout?redirect_uri=http%3A%2F%2Flocalhost%2F&session=kss_7"
        )
        assert ar.loginrocket_url("/custom", {"a": "b"}, c=None) == "https://myapp.e2.loginrocket.com/custom?a=b"
    finally:
        ctx.pop()


def test_account_url_without_an_org_falls_back_to_accounts(app):
    ctx = _logged_in(app, make_token(ADA, orgs=None))
    try:
        assert g.authrocket.ar_account_url() == "https://myapp.e2.loginrocket.com/accounts?force=1"
        assert g.authrocket.current_user.memberships is None
    finally:
        ctx.pop()


def test_loginrocket_path_is_replaced_and_host_kept(make_app):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL="https://login.example.com:8443/some/path?q=1")
    with app.test_request_context("/"):
        app.preprocess_request()
        # The path is replaced, the host and port kept, and so is the query string (as in the Node helpers).
        assert g.authrocket.ar_login_url(redirect_uri="x") == "https://login.example.com:8443/login?q=1&redirect_uri=x"


@pytest.mark.parametrize("falsy", [False, 0, "", None])
def test_a_falsy_force_leaves_the_parameter_out(app, falsy):
    ctx = _logged_in(app, make_token(ADA, [ACME]))
    try:
        ar = g.authrocket
        assert ar.ar_accounts_url(force=falsy) == "https://myapp.e2.loginrocket.com/accounts"
        assert ar.arAccountsUrl({"force": falsy, "redirect_uri": "x"}) == (
            "https://myapp.e2.loginrocket.com/accounts?redirect_uri=x"
        )
        assert ar.ar_account_url(force=falsy) == "https://myapp.e2.loginrocket.com/accounts/org_acme"
    finally:
        ctx.pop()


@pytest.mark.parametrize("truthy", [True, 1, 2, "yes", "0"])
def test_a_truthy_force_is_force_1(app, truthy):
    ctx = _logged_in(app, make_token(ADA, [ACME]))
    try:
        ar = g.authrocket
        assert ar.ar_accounts_url(force=truthy) == "https://myapp.e2.loginrocket.com/accounts?force=1"
        assert ar.ar_account_url(force=truthy) == "https://myapp.e2.loginrocket.com/accounts/org_acme?force=1"
        assert ar.ar_account_url(id="org_2", force=truthy) == "https://myapp.e2.loginrocket.com/accounts/org_2?force=1"
    finally:
        ctx.pop()


def test_account_url_without_an_org_keeps_a_falsy_force_out(app):
    ctx = _logged_in(app, make_token(ADA, orgs=None))
    try:
        assert g.authrocket.ar_account_url(force=0) == "https://myapp.e2.loginrocket.com/accounts"
        assert g.authrocket.ar_account_url(force="") == "https://myapp.e2.loginrocket.com/accounts"
    finally:
        ctx.pop()


def test_loginrocket_url_query_is_merged_with_each_helpers_parameters(make_app, authrocket_config):
    app = make_app(
        **{**authrocket_config, "LOGINROCKET_URL": "https://login.example.com/?realm=rl_1&lang=fr&tag=a&tag=b"}
    )
    token = make_token(ADA, [ACME], session_id="kss_9")
    with app.test_request_context("/", headers={"Authorization": f"Bearer {token}"}):
        app.preprocess_request()
        ar = g.authrocket
        assert ar.current_session.id == "kss_9"
        base = "realm=rl_1&lang=fr&tag=a&tag=b"
        assert ar.ar_login_url() == f"https://login.example.com/login?{base}"
        assert ar.ar_signup_url(redirect_uri="http://x/") == (
            f"https://login.example.com/signup?{base}&redirect_uri=http%3A%2F%2Fx%2F"
        )
        assert ar.ar_profile_url() == f"https://login.example.com/profile?{base}"
        assert ar.ar_accounts_url() == f"https://login.example.com/accounts?{base}&force=1"
        assert ar.ar_account_url() == f"https://login.example.com/accounts/org_acme?{base}"
        assert ar.ar_logout_url() == f"https://login.example.com/logout?{base}&session=kss_9"
        assert ar.loginrocket_url("/custom") == f"https://login.example.com/custom?{base}"
        # The helper's own parameters win on a clash; every value of a clashing name goes.
        assert ar.ar_login_url(lang="de", tag="c") == "https://login.example.com/login?realm=rl_1&lang=de&tag=c"
        # A parameter given as None or False drops the URL's value of that name too.
        assert ar.ar_login_url(lang=None) == "https://login.example.com/login?realm=rl_1&tag=a&tag=b"


def test_loginrocket_url_query_keeps_its_own_encoding(make_app):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL="https://login.example.com/?next=%2Fa%20b&flag&x=")
    with app.test_request_context("/"):
        app.preprocess_request()
        assert g.authrocket.ar_login_url(redirect_uri="r") == (
            "https://login.example.com/login?next=%2Fa%20b&flag&x=&redirect_uri=r"
        )
        # A clash is found by the decoded name, whatever its spelling in the URL.
        assert g.authrocket.ar_login_url(flag=1, next="n") == "https://login.example.com/login?x=&flag=1&next=n"


def test_logout_path_is_the_default_routes_url_under_the_app_root(app):
    with app.test_request_context("/page"):
        app.preprocess_request()
        assert g.authrocket.logout_path() == "/logout"
        assert g.authrocket.logoutPath() == "/logout"
    with app.test_request_context("/page", base_url="http://localhost/app/"):
        app.preprocess_request()
        assert g.authrocket.logout_path() == "/app/logout"


def test_logout_path_follows_logout_url(make_app):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_LOGOUT_URL="/account/sign-out")
    with app.test_request_context("/"):
        app.preprocess_request()
        assert g.authrocket.logout_path() == "/account/sign-out"
        assert render_template_string('<a href="{{ authrocket.logoutPath() }}">Logout</a>') == (
            '<a href="/account/sign-out">Logout</a>'
        )


def test_logout_path_without_the_default_route_says_what_to_do(make_app):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_LOGOUT_URL=None)
    with app.test_request_context("/"):
        app.preprocess_request()
        with pytest.raises(ConfigurationError, match=r"AUTHROCKET_LOGOUT_URL is None.*url_for"):
            g.authrocket.logout_path()


def test_request_url_with_a_path_resolves_like_a_link_on_the_page_even_under_a_prefix(app):
    # Documented: "/x" is the host's root, as in Express; "x" is relative to the current page.
    with app.test_request_context("/reports/page", base_url="http://localhost/app/"):
        app.preprocess_request()
        ar = g.authrocket
        assert ar.request_url() == "http://localhost/app/reports/page"
        assert ar.request_url("/other") == "http://localhost/other"
        assert ar.request_url("other") == "http://localhost/app/reports/other"


def test_safe_this_url_drops_login_parameters_on_get(app):
    with app.test_request_context("/p?token=abc&account=org_1&session=kss_1&keep=1&keep=2"):
        app.preprocess_request()
        assert g.authrocket.safe_this_url() == "http://localhost/p?keep=1&keep=2"
        assert g.authrocket.request_url("/other") == "http://localhost/other"


def test_request_url_uses_server_name_when_set(make_app):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, SERVER_NAME="app.example.com")
    with app.test_request_context("/x", base_url="http://app.example.com", headers={"Host": "evil.example"}):
        app.preprocess_request()
        assert g.authrocket.request_url() == "http://app.example.com/x"


def test_request_url_keeps_a_subdomain_of_server_name(make_app):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, SERVER_NAME="example.test")
    with app.test_request_context("/form", base_url="https://acme.example.test"):
        app.preprocess_request()
        assert g.authrocket.request_url() == "https://acme.example.test/form"
    with app.test_request_context("/form", base_url="https://notexample.test"):
        app.preprocess_request()
        assert g.authrocket.request_url() == "https://example.test/form"


def test_untrusted_host_is_refused_instead_of_redirected_to(make_app):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, TRUSTED_HOSTS=["app.example.com"])
    client = app.test_client()
    evil = client.get("/private", headers={"Host": "evil.example"})
    good = client.get("/private", headers={"Host": "app.example.com"})
    assert evil.status_code == 400
    assert good.status_code == 302
    assert parse_qs(urlsplit(good.headers["Location"]).query)["redirect_uri"] == ["http://app.example.com/private"]


def test_templates_can_use_the_express_helpers(app, authrocket_client):
    template = (
        "{% if authrocket.currentUser %}"
        "<span>Hi, {{ authrocket.currentUser.first_name }}!</span>"
        "<a href=\"{{ authrocket.arProfileUrl({'redirect_uri': authrocket.requestUri()}) }}\">Manage Profile</a>"
        '{% else %}<a href="{{ authrocket.arLoginUrl() }}">Login</a>{% endif %}'
    )

    @app.get("/nav")
    def nav() -> str:
        return render_template_string(template)

    assert authrocket_client.get("/nav").text == '<a href="https://myapp.e2.loginrocket.com/login">Login</a>'
    authrocket_client.login_as(ADA, [ACME])
    html = authrocket_client.get("/nav").text
    assert "<span>Hi, Ada!</span>" in html
    assert "/profile?redirect_uri=http%3A%2F%2Flocalhost%2Fnav" in html


def test_url_builders_without_loginrocket_url_say_what_to_set(make_app):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL=None)
    with app.test_request_context("/"):
        app.preprocess_request()
        with pytest.raises(ConfigurationError, match="LOGINROCKET_URL") as caught:
            g.authrocket.ar_login_url()
    # For local work, the way to a LoginRocket without an account:
    assert "python -m flask_authrocket.dev" in str(caught.value)


def test_without_loginrocket_url_or_key_init_app_names_the_development_loginrocket(monkeypatch):
    for name in ("LOGINROCKET_URL", "AUTHROCKET_JWT_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match="Neither LOGINROCKET_URL nor AUTHROCKET_JWT_KEY") as caught:
        AuthRocket(Flask(__name__))
    message = str(caught.value)
    assert "Realm -> Integration" in message  # a real realm
    assert "python -m flask_authrocket.dev" in message and "LOGINROCKET_URL=http://127.0.0.1:5001/" in message


def test_without_loginrocket_url_guards_answer_401_not_500(make_app):
    app = make_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL=None)
    answer = app.test_client().get("/private")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_proxies_outside_a_request_say_so(app):
    with pytest.raises(RuntimeError):
        _ = current_user.id


def test_proxies_outside_a_request_raise_on_attributes_and_are_false_in_a_truth_test(app):
    # What docs/api.md says: werkzeug's LocalProxy answers a truth test with False when the
    # lookup raises RuntimeError, so `if current_user:` in a CLI command or a thread is False.
    for proxy in (current_user, current_session, current_membership, current_org):
        with pytest.raises(RuntimeError, match="only known inside a request"):
            _ = proxy.id
        assert not proxy
        assert bool(proxy) is False
    with app.app_context():  # an app context is not a request
        assert not current_user
        with pytest.raises(RuntimeError, match="only known inside a request"):
            _ = current_user.email
    with app.test_request_context("/"):  # in a request nobody is logged in: falsy, no error
        app.preprocess_request()
        assert not current_user and current_user == None  # noqa: E711 (the proxy compares its object)
        with pytest.raises(AttributeError):
            _ = current_user.id
