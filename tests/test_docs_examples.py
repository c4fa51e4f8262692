"""The code samples in docs/ run, so they cannot rot.

Each page's ```python blocks run in order, in one namespace, against the
development LoginRocket's Core API served on 127.0.0.1 (the page says so).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from devserver import DevApi

DOCS = Path(__file__).resolve().parent.parent / "docs"
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def python_blocks(page: str) -> list[str]:
    return CODE_BLOCK.findall((DOCS / page).read_text())


def test_the_api_client_page_has_samples_for_every_verb():
    code = "\n".join(python_blocks("api-client.md"))
    for verb in ("create(", ".get(", ".find(", ".update(", ".list(", ".page(", ".first(", ".delete("):
        assert verb in code


def test_the_api_client_page_runs(dev: DevApi, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("AUTHROCKET_URL", dev.url)
    monkeypatch.setenv("AUTHROCKET_API_KEY", dev.api_key)
    namespace: dict[str, object] = {"user_id": "usr_grace"}  # the page's placeholder for "a user's id"

    for number, block in enumerate(python_blocks("api-client.md"), start=1):
        exec(compile(block, f"docs/api-client.md, block {number}", "exec"), namespace)

    printed = capsys.readouterr().out
    assert "404" in printed  # the RecordNotFound sample printed its status
    assert "Email is invalid." in printed  # and the ValidationError sample the API's messages


def test_the_api_reference_lists_exactly_the_public_names():
    import flask_authrocket

    headings = re.findall(r"^### (.+)$", (DOCS / "api.md").read_text(), re.MULTILINE)
    documented = {name for heading in headings for name in re.findall(r"`([A-Za-z_]+)`", heading)}

    assert documented == set(flask_authrocket.__all__)


def test_every_public_name_has_a_docstring():
    import inspect

    import flask_authrocket

    undocumented = [
        name
        for name in flask_authrocket.__all__
        if not name.startswith("current_")  # LocalProxies: documented in request.py and docs/api.md
        and not (inspect.getdoc(getattr(flask_authrocket, name)) or "").strip()
    ]
    assert undocumented == []


@pytest.mark.parametrize("page", ["coming-from-express.md", "coming-from-flask-login.md"])
def test_the_coming_from_pages_run(page: str, monkeypatch: pytest.MonkeyPatch):
    for name in ("LOGINROCKET_URL", "AUTHROCKET_JWT_KEY"):
        monkeypatch.delenv(name, raising=False)
    blocks = python_blocks(page)
    assert blocks
    namespace: dict[str, object] = {"__name__": "docs_sample"}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"docs/{page}, block {number}", "exec"), namespace)


def all_pages() -> list[Path]:
    return [DOCS.parent / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("page", all_pages(), ids=lambda path: path.name)
def test_every_python_sample_in_the_docs_is_valid_python(page: Path):
    for number, block in enumerate(CODE_BLOCK.findall(page.read_text()), start=1):
        compile(block, f"{page.name}, block {number}", "exec")


def test_the_deployment_samples_run_on_an_app():
    from flask import Flask

    app = Flask("docs_sample")
    namespace: dict[str, object] = {"app": app}
    for number, block in enumerate(python_blocks("deployment.md"), start=1):
        exec(compile(block, f"docs/deployment.md, block {number}", "exec"), namespace)

    from cachelib import RedisCache

    assert isinstance(app.config["AUTHROCKET_CACHE"], RedisCache)  # the last sample's cache, built lazily


def test_the_readme_ten_line_quickstart_runs(monkeypatch: pytest.MonkeyPatch):
    for name in ("LOGINROCKET_URL", "AUTHROCKET_JWT_KEY"):
        monkeypatch.delenv(name, raising=False)
    quickstart = CODE_BLOCK.findall((DOCS.parent / "README.md").read_text())[0]
    assert len([line for line in quickstart.splitlines() if line.strip()]) <= 10
    namespace: dict[str, object] = {"__name__": "app"}
    exec(compile(quickstart, "README.md, quickstart", "exec"), namespace)

    answer = namespace["app"].test_client().get("/")  # type: ignore[attr-defined]

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("https://myapp.e2.loginrocket.com/login?redirect_uri=")


def test_the_readme_app_factory_runs(monkeypatch: pytest.MonkeyPatch):
    for name in ("LOGINROCKET_URL", "AUTHROCKET_JWT_KEY"):
        monkeypatch.delenv(name, raising=False)
    factory = CODE_BLOCK.findall((DOCS.parent / "README.md").read_text())[1]
    namespace: dict[str, object] = {"__name__": "app"}
    exec(compile(factory, "README.md, app factory", "exec"), namespace)

    app = namespace["create_app"]()  # type: ignore[operator]
    answer = app.test_client().get("/admin/", headers={"Accept": "application/json"})

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("page", all_pages(), ids=lambda path: path.name)
def test_relative_links_in_the_docs_lead_somewhere(page: Path):
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
        assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
