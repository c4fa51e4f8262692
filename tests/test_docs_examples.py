"""The code samples in docs/ run, so they cannot rot.

Each page's ```python blocks run in order, in one namespace, against the
development LoginRocket's Core API served on 127.0.0.1 (the page says so).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_client import signing_key_pem  # noqa: F401 - a fixture, shared
from test_dev_api import DevApi, serve_dev_api

DOCS = Path(__file__).resolve().parent.parent / "docs"
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def python_blocks(page: str) -> list[str]:
    return CODE_BLOCK.findall((DOCS / page).read_text())


@pytest.fixture
def dev(tmp_path: Path, signing_key_pem: bytes) -> Iterator[DevApi]:  # noqa: F811
    with serve_dev_api(tmp_path / "instance", signing_key_pem) as api:
        yield api


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
