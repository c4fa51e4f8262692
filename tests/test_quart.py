"""A Quart app is refused at init_app, clearly; docs/quart.md's TokenVerifier recipe runs in real Quart."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

quart = pytest.importorskip("quart", reason="the Quart tests need Quart (a dev dependency)")

from helpers import HS_SECRET, LOGINROCKET_URL, token_for  # noqa: E402

from flask_authrocket import AuthRocket, ConfigurationError  # noqa: E402
from flask_authrocket.issuer import TokenIssuer  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_a_quart_app_is_refused_at_init_app_with_a_message_that_names_quart_and_what_works():
    app = quart.Quart(__name__)
    app.config.update(LOGINROCKET_URL=LOGINROCKET_URL, AUTHROCKET_JWT_KEY=HS_SECRET)

    with pytest.raises(ConfigurationError) as raised:
        AuthRocket(app)

    message = str(raised.value)
    assert "Quart" in message
    assert "Flask app" in message and "TokenVerifier" in message  # what works instead
    assert "authrocket" not in app.extensions  # nothing half-registered


def test_a_quart_app_is_refused_by_init_app_of_a_factory_too():
    authrocket = AuthRocket()

    with pytest.raises(ConfigurationError, match="Quart"):
        authrocket.init_app(quart.Quart(__name__))


@pytest.mark.parametrize("app", [object(), "app", None.__class__])
def test_anything_that_is_not_a_flask_app_is_refused_with_a_clear_message(app: Any):
    with pytest.raises(ConfigurationError, match="needs a Flask app"):
        AuthRocket().init_app(app)


def test_the_quart_page_recipe_verifies_tokens_inside_quart(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AUTHROCKET_JWT_KEY", HS_SECRET)
    (sample,) = re.findall(r"```python\n(.*?)```", (DOCS / "quart.md").read_text(), re.DOTALL)
    namespace: dict[str, Any] = {"__name__": "quart_sample"}
    exec(compile(sample, "docs/quart.md, the recipe", "exec"), namespace)
    app = namespace["app"]
    token = token_for(TokenIssuer(secret=HS_SECRET))

    async def calls() -> list[tuple[int, Any]]:
        client = app.test_client()
        answers = [
            await client.get("/api/me", headers={"Authorization": f"Bearer {token}"}),
            await client.get("/api/me"),
            await client.get("/api/me", headers={"Authorization": "Bearer not.a.token"}),
        ]
        return [(answer.status_code, await answer.get_json()) for answer in answers]

    (ok, missing, forged) = asyncio.run(calls())

    assert ok == (200, {"id": "usr_ada", "org": "org_acme"})
    assert missing == (401, {"error": "login_required"})
    assert forged == (401, {"error": "login_required"})
