"""The Bearer scheme in OpenAPI documents: APIFlask by itself, flask-smorest and apispec through the plugin.

Each with the real library; the specs are the ones the libraries build, read as a client would.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("apispec", reason="the OpenAPI tests need apispec (a dev dependency)")
apiflask = pytest.importorskip("apiflask", reason="the APIFlask tests need APIFlask (a dev dependency)")
flask_smorest = pytest.importorskip("flask_smorest", reason="the flask-smorest tests need it (a dev dependency)")

from apispec import APISpec  # noqa: E402
from flask import Flask  # noqa: E402
from flask.views import MethodView  # noqa: E402
from helpers import HS_SECRET, LOGINROCKET_URL, token_for  # noqa: E402

from flask_authrocket import AuthRocket, login_exempt, protect, require_login, require_permission  # noqa: E402
from flask_authrocket.issuer import TokenIssuer  # noqa: E402
from flask_authrocket.openapi import AuthRocketPlugin  # noqa: E402

SCHEME = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
GUARDED = [{"AuthRocket": []}]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def configure(app: Flask) -> Flask:
    app.config.update(TESTING=True, AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL=LOGINROCKET_URL)
    return app


def security_of(spec: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """Each operation of the spec, by (path, method), and its ``security`` (None when absent)."""
    return {
        (path, method): operation.get("security")
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict)
    }


# -- APIFlask: nothing to call ----------------------------------------------------------------------


def apiflask_app() -> Any:
    app = configure(apiflask.APIFlask(__name__))
    AuthRocket(app)

    @app.get("/pets")
    @require_login
    def pets() -> Any:
        return {"pets": []}

    @app.post("/pets")
    @require_permission("pets:write")
    def add_pet() -> Any:
        return {}

    @app.get("/health")
    def health() -> Any:
        return {"ok": True}

    admin = protect(apiflask.APIBlueprint("admin", __name__, url_prefix="/admin"))

    @admin.get("/users")
    def users() -> Any:
        return {"users": []}

    @admin.get("/status")
    @login_exempt
    def status() -> Any:
        return {"ok": True}

    class Pet(MethodView):
        @require_login
        def get(self, pet_id: int) -> Any:
            return {"id": pet_id}

        def delete(self, pet_id: int) -> Any:
            return {}

    app.add_url_rule("/pets/<int:pet_id>", view_func=Pet.as_view("pet"))
    app.register_blueprint(admin)
    return app


def test_init_app_on_an_apiflask_app_adds_the_authrocket_bearer_scheme():
    spec = apiflask_app().spec

    assert spec["components"]["securitySchemes"]["AuthRocket"] == SCHEME


def test_every_guarded_apiflask_operation_lists_the_scheme_and_no_public_one_does():
    found = security_of(apiflask_app().spec)

    assert found[("/pets", "get")] == GUARDED  # require_login
    assert found[("/pets", "post")] == GUARDED  # require_permission
    assert found[("/admin/users", "get")] == GUARDED  # protect(APIBlueprint)
    assert found[("/pets/{pet_id}", "get")] == GUARDED  # a MethodView's guarded method
    assert found[("/health", "get")] is None
    assert found[("/admin/status", "get")] is None  # login_exempt under protect
    assert found[("/pets/{pet_id}", "delete")] is None
    assert found[("/logout", "get")] is None  # the logout route is public


def test_guarded_apiflask_operations_describe_their_401_and_403():
    spec = apiflask_app().spec

    assert "401" in spec["paths"]["/pets"]["get"]["responses"]
    assert "pets:write" in spec["paths"]["/pets"]["post"]["responses"]["403"]["description"]
    assert "401" not in spec["paths"]["/health"]["get"]["responses"]


def test_a_scheme_the_app_declares_itself_under_the_same_name_is_kept():
    app = configure(apiflask.APIFlask(__name__))
    app.config["SECURITY_SCHEMES"] = {"AuthRocket": {"type": "http", "scheme": "bearer", "description": "ours"}}
    AuthRocket(app)

    assert app.spec["components"]["securitySchemes"]["AuthRocket"]["description"] == "ours"


@pytest.mark.parametrize(
    ("headers", "status", "json"),
    [
        ({}, 401, True),  # no Accept at all: curl, scripts
        ({"Accept": "*/*"}, 401, True),
        ({"Accept": "application/json"}, 401, True),
        ({"Accept": "text/plain"}, 401, True),
        ({"Accept": BROWSER}, 302, False),  # a browser asks for HTML explicitly: to LoginRocket
    ],
)
def test_an_apiflask_app_is_an_api_first(headers: dict[str, str], status: int, json: bool):
    answer = apiflask_app().test_client().get("/pets", headers=headers)

    assert answer.status_code == status
    assert answer.is_json == json
    if json:
        assert answer.get_json()["error"] == "login_required"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_apiflask_app_answers_a_missing_permission_with_json_403():
    app = apiflask_app()
    token = token_for(TokenIssuer(secret=HS_SECRET))  # Ada, site:admin only

    client = app.test_client()
    client.set_cookie("arToken", token)

    answer = client.post("/pets", headers={"Accept": "*/*"})

    assert (answer.status_code, answer.get_json()["missing_permissions"]) == (403, ["pets:write"])


def test_a_plain_flask_app_still_sends_a_client_without_accept_to_loginrocket(make_app):
    answer = make_app(AUTHROCKET_JWT_KEY=HS_SECRET).test_client().get("/private")

    assert answer.status_code == 302


def test_a_plain_flask_app_never_loads_the_openapi_module_nor_apispec():
    program = (
        "import json, sys\n"
        "from flask import Flask\n"
        "from flask_authrocket import AuthRocket, require_login\n"
        "app = Flask('plain')\n"
        "app.config['AUTHROCKET_JWT_KEY'] = 'x' * 40\n"
        "AuthRocket(app)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('flask_authrocket.openapi', 'apispec', "
        "'apiflask')))))\n"
    )
    finished = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True)

    assert json.loads(finished.stdout) == []


# -- flask-smorest: the plugin, given only each route's rule ----------------------------------------


def smorest_api() -> Any:
    app = configure(Flask(__name__))
    app.config.update(API_TITLE="Pets", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    AuthRocket(app)
    api = flask_smorest.Api(app, spec_kwargs={"extra_plugins": [AuthRocketPlugin()]})
    pets = flask_smorest.Blueprint("pets", __name__, url_prefix="/pets")

    @pets.route("/")
    class Pets(MethodView):
        @require_login
        def get(self) -> Any:
            return {}

        def post(self) -> Any:
            return {}

    @pets.route("/mine")
    @require_permission("pets:read")
    def mine() -> Any:
        return {}

    @pets.route("/count")
    def count() -> Any:
        return {}

    admin = protect(flask_smorest.Blueprint("admin", __name__, url_prefix="/admin"))

    @admin.route("/users")
    def users() -> Any:
        return {}

    @admin.route("/ping")
    @login_exempt
    def ping() -> Any:
        return {}

    api.register_blueprint(pets)
    api.register_blueprint(admin)
    return api


def test_flask_smorest_takes_the_plugin_and_documents_each_guarded_operation():
    spec = smorest_api().spec.to_dict()
    found = security_of(spec)

    assert spec["components"]["securitySchemes"]["AuthRocket"] == SCHEME
    assert found[("/pets/", "get")] == GUARDED
    assert found[("/pets/mine", "get")] == GUARDED
    assert found[("/admin/users", "get")] == GUARDED
    assert found[("/pets/", "post")] is None
    assert found[("/pets/count", "get")] is None
    assert found[("/admin/ping", "get")] is None


def test_flask_smorest_documents_nested_blueprints_under_protect():
    app = configure(Flask(__name__))
    app.config.update(API_TITLE="Pets", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    AuthRocket(app)
    api = flask_smorest.Api(app, spec_kwargs={"extra_plugins": [AuthRocketPlugin()]})
    parent = protect(flask_smorest.Blueprint("parent", __name__, url_prefix="/p"))
    child = flask_smorest.Blueprint("child", __name__, url_prefix="/c")

    @child.route("/x")
    def x() -> Any:
        return {}

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    with app.test_request_context():
        rule = next(app.url_map.iter_rules("parent.child.x"))
    api.spec.path(rule=rule, operations={"get": {"responses": {"200": {"description": "OK"}}}})

    assert security_of(api.spec.to_dict())[("/p/c/x", "get")] == GUARDED
    assert app.test_client().get("/p/c/x", headers={"Accept": "application/json"}).status_code == 401


# -- plain apispec: spec.path(view=..., app=...) ------------------------------------------------------


def test_plain_apispec_takes_the_plugin_the_apispec_webframeworks_way():
    app = configure(Flask(__name__))
    AuthRocket(app)

    @app.get("/me")
    @require_login
    def me() -> Any:
        """Who is logged in.
        ---
        get:
          responses:
            200:
              description: the user
        """
        return {}

    @app.get("/version")
    def version() -> Any:
        return {}

    spec = APISpec("Pets", "1", "3.0.3", plugins=[AuthRocketPlugin()])
    spec.path(view=me, app=app)
    spec.path(view=version, app=app)
    document = spec.to_dict()

    assert document["components"]["securitySchemes"]["AuthRocket"] == SCHEME
    assert document["paths"]["/me"]["get"]["security"] == GUARDED
    assert document["paths"]["/me"]["get"]["responses"]["200"]["description"] == "the user"
    assert "security" not in document["paths"]["/version"]["get"]


def test_the_plugin_finds_the_app_from_its_app_context():
    app = configure(Flask(__name__))
    AuthRocket(app)

    @app.get("/orgs/<org_id>")
    @require_login
    def org(org_id: str) -> Any:
        return {}

    spec = APISpec("Orgs", "1", "3.0.3", plugins=[AuthRocketPlugin()])
    with app.app_context():
        spec.path(view=org)

    assert spec.to_dict()["paths"]["/orgs/{org_id}"]["get"]["security"] == GUARDED


# -- the docs page's samples run --------------------------------------------------------------------


def test_the_openapi_page_samples_run():
    page = (Path(__file__).resolve().parent.parent / "docs" / "openapi.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.DOTALL)

    assert len(blocks) == 3  # APIFlask, flask-smorest, apispec: each asserts what it documents
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"docs/openapi.md, block {number}", "exec"), {"__name__": "docs_sample"})
