"""docs/observability.md's recipes, run with the real sentry-sdk and the real OpenTelemetry SDK.

Sentry runs in a fresh interpreter: ``sentry_sdk.init`` installs its Flask integration into
Flask itself, for the rest of the process, and this suite's other apps must not carry it.
Its events go to a transport that keeps them in memory: nothing leaves the machine.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import HS_SECRET, token_for

from flask_authrocket.issuer import TokenIssuer

DOCS = Path(__file__).resolve().parent.parent / "docs"
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def sample(number: int) -> str:
    return CODE_BLOCK.findall((DOCS / "observability.md").read_text())[number]


SENTRY_RUN = """
import json, sys
import sentry_sdk
from sentry_sdk.transport import Transport

envelopes = []


class InMemory(Transport):
    def capture_envelope(self, envelope):
        envelopes.append(envelope.serialize().decode("utf-8", "replace"))


PLACEHOLDER = 'dsn="https://<key>@<org>.ingest.sentry.io/<project>"'
SAMPLE = SAMPLE_TEXT.replace(PLACEHOLDER, 'dsn="https://public@sentry.invalid/1", transport=InMemory')
exec(compile(SAMPLE, "docs/observability.md, the Sentry sample", "exec"), globals())


@app.get("/boom")
def boom():
    raise RuntimeError("the view failed")


client = app.test_client()
client.set_cookie("arToken", TOKEN)
client.get("/boom")                                              # the cookie
app.test_client().get("/boom", headers={"Authorization": "Bearer " + TOKEN})  # a Bearer header
app.test_client().get("/boom?token=" + EXPIRED + "&page=2")     # a rejected ?token=: a public view fails
sentry_sdk.flush()
print(json.dumps(envelopes))
"""


def test_the_sentry_recipe_names_the_user_and_org_and_never_the_token(tmp_path: Path):
    pytest.importorskip("sentry_sdk", reason="the Sentry recipe is tested with sentry-sdk (a dev dependency)")
    issuer = TokenIssuer(secret=HS_SECRET)
    token, expired = token_for(issuer), token_for(issuer, expires_in=-3600)
    script = tmp_path / "sentry_run.py"
    script.write_text(
        f"SAMPLE_TEXT = {sample(0)!r}\nTOKEN = {token!r}\nEXPIRED = {expired!r}\n" + SENTRY_RUN, encoding="utf-8"
    )

    finished = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"AUTHROCKET_JWT_KEY": HS_SECRET, "PATH": ""},
    )

    assert finished.returncode == 0, finished.stderr
    envelopes: list[str] = json.loads(finished.stdout.splitlines()[-1])
    events = [json.loads(line) for envelope in envelopes for line in envelope.splitlines() if '"exception"' in line]
    assert len(events) == 3
    logged_in, anonymous = events[:2], events[2]
    for event in logged_in:
        assert event["user"]["id"] == "usr_ada"
        assert event["tags"]["authrocket.org"] == "org_acme"
    assert "id" not in anonymous.get("user", {})
    # Scrubbed by the recipe's before_send (sentry-sdk 2), or filtered by the SDK first (sentry-sdk 3).
    token_param = anonymous["request"]["query_string"].split("&")[0]
    assert token_param in ("token=[redacted]", "token=%5BFiltered%5D")
    for envelope in envelopes:
        for secret in (token, expired, *token.split("."), *expired.split(".")[1:]):
            assert secret not in envelope


def test_the_opentelemetry_recipe_puts_the_user_on_the_current_span(monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("opentelemetry.sdk", reason="the OpenTelemetry recipe is tested with its SDK (dev)")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    monkeypatch.setenv("AUTHROCKET_JWT_KEY", HS_SECRET)
    namespace: dict[str, Any] = {"__name__": "docs_sample"}
    # The Sentry sample builds the app; its Sentry half is left out (sentry_sdk.init is global).
    app_part = sample(0).split("def drop_login_tokens")[0].replace("import sentry_sdk\n", "")
    exec(compile(app_part.split("@signals.session_verified")[0], "docs/observability.md, the app", "exec"), namespace)
    exec(compile(sample(1), "docs/observability.md, the OpenTelemetry sample", "exec"), namespace)
    app = namespace["app"]

    @app.get("/hello")
    def hello() -> str:
        return "hello"

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")  # not made global: the recipe reads the current span only
    token = token_for(TokenIssuer(secret=HS_SECRET))

    with tracer.start_as_current_span("GET /hello"):  # as opentelemetry-instrumentation-flask opens it
        app.test_client().get("/hello", headers={"Authorization": f"Bearer {token}"})
    with tracer.start_as_current_span("GET /hello anonymous"):
        app.test_client().get("/hello")

    logged_in, anonymous = exporter.get_finished_spans()
    assert dict(logged_in.attributes or {}) == {
        "enduser.id": "usr_ada",
        "authrocket.org": "org_acme",
        "authrocket.token_source": "bearer",
    }
    assert dict(anonymous.attributes or {}) == {}
    assert not any(token in str(value) for value in (logged_in.attributes or {}).values())
