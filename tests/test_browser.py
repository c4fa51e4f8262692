"""End to end, in real headless Chromium: the example app on the development LoginRocket.

Both run as real HTTP servers on 127.0.0.1; the example fetches its RS256 keys
from the development LoginRocket's /connect/jwks, as production does from
LoginRocket. Chromium is Debian's (/usr/bin/chromium), driven by Playwright.

Every page the flows pass through is saved as a PNG under the test run's
temporary folder (printed at the end of the module). With
``UPDATE_DOCS_SCREENSHOTS=1`` the README's screenshots in docs/ are refreshed.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import struct
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from cachelib import SimpleCache
from werkzeug.serving import make_server

from examples.app import create_app as create_example
from flask_authrocket.dev import create_app as create_loginrocket

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = Path(__file__).resolve().parent.parent / "docs"


@dataclass
class Stack:
    app_url: str
    loginrocket_url: str
    screenshots: Path
    shots: list[Path] = field(default_factory=list)

    def shot(self, page: object, name: str, *, docs: str | None = None) -> Path:
        """Save a screenshot of ``page``; with ``UPDATE_DOCS_SCREENSHOTS=1``, also as ``docs/<docs>``."""
        path = self.screenshots / f"{len(self.shots) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        self.shots.append(path)
        if docs and os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
            shutil.copy(path, DOCS / docs)
        return path


class _Server:
    """A threaded server on a free loopback port, listening from the start.

    Its WSGI ``app`` may be given once its URL is known: an app and its LoginRocket each name the
    other's URL, so one of them is built after the other listens.
    """

    def __init__(self, app: Any = None) -> None:
        self.app = app
        self.httpd = make_server("127.0.0.1", 0, self._call_app, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def _call_app(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _app_and_loginrocket(folder: Path) -> tuple[_Server, _Server]:
    """A server for the app (its ``app`` still to be given) and a development LoginRocket that knows its URL."""
    app = _Server()
    loginrocket = _Server(
        create_loginrocket(
            {"DEV_LOGINROCKET_LOGIN_URLS": [app.url], "DEV_LOGINROCKET_INSTANCE_PATH": str(folder / "loginrocket")}
        )
    )
    return app, loginrocket


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("e2e")
    example, loginrocket = _app_and_loginrocket(root)
    example.app = create_example({"LOGINROCKET_URL": loginrocket.url, "INSTANCE_PATH": str(root / "example")})
    screenshots = root / "screenshots"
    screenshots.mkdir()
    result = Stack(example.url, loginrocket.url, screenshots)
    yield result
    example.close()
    loginrocket.close()
    print(f"\nBrowser screenshots: {screenshots}")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is missing: run `make test`, which installs it (apt-get install chromium).")
    with playwright_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1000, "height": 640})  # type: ignore[attr-defined]
    context.set_default_timeout(30_000)  # a busy machine may be slow; a broken page still fails
    page = context.new_page()
    yield page
    context.close()


def _log_in_as(page: object, stack: Stack, who: str) -> None:
    """On the LoginRocket login page: click the one-click button of a demo user."""
    expect(page).to_have_url(re.compile(re.escape(stack.loginrocket_url) + "login"))  # type: ignore[arg-type]
    page.get_by_role("button", name=f"Log in as {who}").click()  # type: ignore[attr-defined]


def _sign_up(page: object, stack: Stack, first_name: str, org_name: str = "") -> str:
    email = f"{first_name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(stack.app_url)  # type: ignore[attr-defined]
    page.get_by_role("link", name="Signup", exact=True).click()  # type: ignore[attr-defined]
    expect(page).to_have_url(re.compile(re.escape(stack.loginrocket_url) + "signup"))  # type: ignore[arg-type]
    page.fill("#first_name", first_name)  # type: ignore[attr-defined]
    page.fill("#last_name", "Tester")  # type: ignore[attr-defined]
    page.fill("#email", email)  # type: ignore[attr-defined]
    page.fill("#password", "correct horse battery")  # type: ignore[attr-defined]
    page.fill("#org_name", org_name)  # type: ignore[attr-defined]
    stack.shot(page, "loginrocket-signup")
    page.get_by_role("button", name="Sign up").click()  # type: ignore[attr-defined]
    return email


def test_login_from_the_home_page_returns_home_without_the_token(page, stack):
    page.goto(stack.app_url)
    expect(page.locator("nav")).to_contain_text("Login")
    stack.shot(page, "home-logged-out")

    page.get_by_role("link", name="Login", exact=True).click()
    stack.shot(page, "loginrocket-login", docs="screenshot-loginrocket.png")
    first_button = page.locator("button").first
    expect(first_button).to_have_text(re.compile("Log in as"))
    _log_in_as(page, stack, "Ada Lovelace")

    expect(page).to_have_url(stack.app_url)
    assert "token=" not in page.url
    expect(page.locator("nav")).to_contain_text("Hi, Ada!")
    expect(page.get_by_role("link", name="Manage Profile")).to_be_visible()
    expect(page.get_by_role("link", name="Logout")).to_be_visible()
    expect(page.get_by_role("link", name="Switch accounts")).to_be_visible()
    home = stack.shot(page, "home-logged-in", docs="screenshot-home.png")
    width, height = struct.unpack(">II", home.read_bytes()[16:24])
    assert (width, height) == (1000, 640)
    _assert_screenshot_shows_a_page(page, home)


def _assert_screenshot_shows_a_page(page: object, png: Path) -> None:
    """Open the saved PNG in the browser and check it is a rendered page, not a blank one.

    The dark nav bar, the light body and the text give many colours; a blank or
    failed render gives one or two.
    """
    data = base64.b64encode(png.read_bytes()).decode()
    page.set_content(f'<img id="shot" src="data:image/png;base64,{data}">')  # type: ignore[attr-defined]
    colours = page.evaluate(  # type: ignore[attr-defined]
        """() => {
            const img = document.getElementById("shot");
            const canvas = document.createElement("canvas");
            canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
            const context = canvas.getContext("2d");
            context.drawImage(img, 0, 0);
            const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
            const seen = new Set();
            for (let i = 0; i < pixels.length; i += 4) seen.add(pixels[i] << 16 | pixels[i + 1] << 8 | pixels[i + 2]);
            const nav = context.getImageData(5, 5, 1, 1).data;
            return {count: seen.size, nav: Array.from(nav.slice(0, 3))};
        }"""
    )
    assert colours["count"] > 20
    assert sum(colours["nav"]) < 3 * 100  # the nav bar is dark


def test_protected_page_sends_to_login_and_back_to_that_page(page, stack):
    page.goto(stack.app_url + "dashboard/")
    _log_in_as(page, stack, "Ada Lovelace")

    expect(page).to_have_url(stack.app_url + "dashboard/")
    expect(page.locator("#current-org")).to_have_text("Acme Inc.")
    expect(page.locator("#permissions")).to_contain_text("site:admin")
    expect(page.locator("#projects")).to_contain_text("Rocket engine")
    expect(page.locator("#projects")).not_to_contain_text("Hammock district")
    stack.shot(page, "dashboard", docs="screenshot-dashboard.png")


def test_login_cookie_is_httponly_and_samesite_lax(page, stack):
    page.goto(stack.app_url + "dashboard/")
    _log_in_as(page, stack, "Grace Hopper")
    expect(page).to_have_url(stack.app_url + "dashboard/")

    cookies = {cookie["name"]: cookie for cookie in page.context.cookies(stack.app_url)}
    assert cookies["arToken"]["httpOnly"] is True
    assert cookies["arToken"]["sameSite"] == "Lax"
    assert "arToken" not in page.evaluate("document.cookie")


def test_signup_of_a_new_user_logs_them_in(page, stack):
    _sign_up(page, stack, "Linus", org_name="Penguin Ltd")

    expect(page).to_have_url(stack.app_url)
    expect(page.locator("nav")).to_contain_text("Hi, Linus!")
    page.goto(stack.app_url + "dashboard/")
    expect(page.locator("#current-org")).to_have_text("Penguin Ltd")
    stack.shot(page, "dashboard-new-user")


def test_profile_change_is_visible_after_return(page, stack):
    _sign_up(page, stack, "Margaret")
    expect(page.locator("nav")).to_contain_text("Hi, Margaret!")
    page.goto(stack.app_url + "dashboard/")

    page.get_by_role("link", name="Manage Profile").click()
    expect(page).to_have_url(re.compile(re.escape(stack.loginrocket_url) + "profile"))
    page.fill("#first_name", "Maggie")
    stack.shot(page, "loginrocket-profile")
    page.get_by_role("button", name="Save and return").click()

    expect(page).to_have_url(stack.app_url + "dashboard/")
    expect(page.locator("nav")).to_contain_text("Hi, Maggie!")


def test_switching_accounts_changes_the_current_org_and_permissions(page, stack):
    page.goto(stack.app_url + "dashboard/")
    _log_in_as(page, stack, "Ada Lovelace")
    expect(page.locator("#current-org")).to_have_text("Acme Inc.")
    expect(page).to_have_url(stack.app_url + "dashboard/")

    page.get_by_role("link", name="Switch accounts").click()
    stack.shot(page, "loginrocket-accounts")
    page.get_by_role("button", name=re.compile("^Globex")).click()
    expect(page).to_have_url(stack.app_url + "dashboard/")
    expect(page.locator("#current-org")).to_have_text("Globex")
    expect(page.locator("#projects")).to_contain_text("Hammock district")
    expect(page.locator("#projects")).not_to_contain_text("Rocket engine")
    # A same-origin form post with the cookie is accepted (cross-site protection lets it through).
    page.fill("input[name=name]", "Beach bar")
    page.get_by_role("button", name="Add").click()
    expect(page.locator("#projects")).to_contain_text("Beach bar")

    # Globex grants Ada no site:admin: the admin page answers with the 403 page.
    answer = page.goto(stack.app_url + "admin/")
    assert answer.status == 403
    expect(page.locator("h1")).to_have_text("403 · Not allowed")
    stack.shot(page, "admin-forbidden")

    # Back to Acme, where she is site:admin (and leave her there for other tests).
    page.goto(stack.app_url + "dashboard/")
    page.get_by_role("link", name="Switch accounts").click()
    page.get_by_role("button", name=re.compile("^Acme Inc.")).click()
    expect(page.locator("#current-org")).to_have_text("Acme Inc.")
    assert page.goto(stack.app_url + "admin/").status == 200
    stack.shot(page, "admin")


def test_logout_ends_the_app_and_the_loginrocket_login(page, stack):
    page.goto(stack.app_url + "dashboard/")
    _log_in_as(page, stack, "Ada Lovelace")
    expect(page).to_have_url(stack.app_url + "dashboard/")

    page.get_by_role("link", name="Logout").click()
    expect(page).to_have_url(stack.app_url)
    expect(page.locator("nav")).to_contain_text("Login")
    assert "arToken" not in {cookie["name"] for cookie in page.context.cookies(stack.app_url)}

    # LoginRocket forgot the login too: /login asks again instead of sending a token back.
    page.goto(stack.app_url + "dashboard/")
    expect(page).to_have_url(re.compile(re.escape(stack.loginrocket_url) + "login"))
    expect(page.get_by_role("button", name="Log in as Ada Lovelace")).to_be_visible()
    stack.shot(page, "loginrocket-login-after-logout")


def test_bearer_call_with_a_token_from_the_development_loginrocket(page, stack):
    tokens: list[str] = []
    page.on("request", lambda req: tokens.extend(re.findall(r"[?&]token=([^&]+)", req.url)))
    page.goto(stack.app_url + "dashboard/")
    _log_in_as(page, stack, "Grace Hopper")
    expect(page).to_have_url(stack.app_url + "dashboard/")
    assert tokens, "the login came back without ?token="

    answer = requests.get(stack.app_url + "api/me", headers={"Authorization": f"Bearer {tokens[-1]}"}, timeout=30)
    refused = requests.get(stack.app_url + "api/me", headers={"Authorization": "Bearer not-a-token"}, timeout=30)

    assert answer.status_code == 200
    assert answer.json()["user"]["email"] == "grace@example.com"
    assert answer.json()["org"]["name"] == "Acme Inc."
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


# -- log out everywhere: two apps of one realm, managed sessions ---------------------------

API_KEY = "ks_browser_test"


@dataclass
class TwoApps:
    loginrocket_url: str
    first_url: str
    second_url: str


@pytest.fixture(scope="module")
def two_apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoApps]:
    """Two example apps of one realm with managed sessions on, sharing one cache
    (in one process, a ``SimpleCache`` shared stands in for Redis).

    Browsers share cookies between the ports of one host, so each app names its
    login cookie differently, as two apps on one domain would.
    """
    root = tmp_path_factory.mktemp("two-apps")
    servers = (_Server(), _Server())
    urls = [server.url for server in servers]
    loginrocket = _Server(
        create_loginrocket(
            {
                "DEV_LOGINROCKET_LOGIN_URLS": urls,
                "DEV_LOGINROCKET_INSTANCE_PATH": str(root / "loginrocket"),
                "DEV_LOGINROCKET_API_KEY": API_KEY,
            }
        )
    )
    loginrocket_url = loginrocket.url
    shared_cache = SimpleCache()
    for number, server in enumerate(servers):
        server.app = create_example(
            {
                "LOGINROCKET_URL": loginrocket_url,
                "AUTHROCKET_URL": loginrocket_url + "v2",
                "AUTHROCKET_API_KEY": API_KEY,
                "AUTHROCKET_MANAGED_SESSIONS": True,
                "AUTHROCKET_CACHE": shared_cache,
                "AUTHROCKET_COOKIE_NAME": f"arToken{number}",
                "INSTANCE_PATH": str(root / f"example-{number}"),
            }
        )
    yield TwoApps(loginrocket_url, *urls)
    for server in servers:
        server.close()
    loginrocket.close()


def test_log_out_everywhere_ends_the_login_on_the_other_app_too(page, two_apps, stack):
    page.goto(two_apps.first_url + "dashboard/")
    page.get_by_role("button", name="Log in as Ada Lovelace").click()
    expect(page).to_have_url(two_apps.first_url + "dashboard/")
    page.goto(two_apps.second_url + "dashboard/")  # LoginRocket remembers her: straight back
    expect(page).to_have_url(two_apps.second_url + "dashboard/")
    expect(page.locator("nav")).to_contain_text("Hi, Ada!")

    page.goto(two_apps.first_url)
    page.get_by_role("link", name="Logout").click()
    expect(page).to_have_url(two_apps.first_url)

    # The second app still holds its cookie, but the session behind it is gone:
    # the shared cache says so at once (without it, within AUTHROCKET_SESSION_CHECK_TTL).
    assert "arToken1" in {cookie["name"] for cookie in page.context.cookies(two_apps.second_url)}
    page.goto(two_apps.second_url + "dashboard/")
    expect(page).to_have_url(re.compile(re.escape(two_apps.loginrocket_url) + "login"))
    stack.shot(page, "logged-out-everywhere")
    assert "arToken1" not in {cookie["name"] for cookie in page.context.cookies(two_apps.second_url)}


# -- a wrong key: a page saying so, never a redirect loop ----------------------------------


def test_a_rejected_login_token_ends_on_a_401_page_not_in_a_redirect_loop(page, tmp_path):
    """The first hour's case: AUTHROCKET_JWT_KEY is an HS256 secret while LoginRocket signs RS256.

    Before, the guarded page sent the browser back to LoginRocket, which sent it back with a new
    token, until Chromium gave up with ERR_TOO_MANY_REDIRECTS.
    """
    example, loginrocket = _app_and_loginrocket(tmp_path)
    app_url, loginrocket_url = example.url, loginrocket.url
    example.app = create_example(
        {
            "LOGINROCKET_URL": loginrocket_url,
            "AUTHROCKET_JWT_KEY": "jsk_a_secret_of_another_realm_0123456789abcdef",
            "INSTANCE_PATH": str(tmp_path / "example"),
        }
    )
    redirects: list[str] = []
    page.on("response", lambda response: redirects.append(response.url) if response.status == 302 else None)
    try:
        page.goto(app_url + "dashboard/")
        _log_in_as(page, Stack(app_url, loginrocket_url, tmp_path), "Ada Lovelace")

        expect(page.locator("h1")).to_have_text("Login failed")
        assert page.url.startswith(app_url + "dashboard/")
        expect(page.get_by_text("The token's algorithm does not match the key.")).to_be_visible()
        again = page.get_by_role("link", name="Log in again")
        href = again.get_attribute("href")
        assert href is not None and href.startswith(loginrocket_url + "login?redirect_uri=")
        assert "token" not in href
        answer = page.request.get(page.url)  # the same URL again, in the page's context
    finally:
        example.close()
        loginrocket.close()

    assert answer.status == 401
    # LoginRocket's one-click login redirected once, to the app; the app redirected nobody back.
    assert [url for url in redirects if url.startswith(app_url)] == [app_url + "dashboard/"]
