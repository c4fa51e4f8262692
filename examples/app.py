"""An example app in the shape of AuthRocket's integration guides.

* ``/`` — a public home page with the nav of the Express guide;
* ``/dashboard`` — a blueprint guarded with :func:`protect`: the user, the
  current org (account), its permissions, and the org's projects;
* ``/admin`` — needs ``site:admin`` (a 403 page otherwise);
* ``/api/me`` — JSON for Bearer tokens.

"Connecting to your app's data": projects live in SQLite with an
``ar_org_id`` column, and each org sees only its own.

Run it with ``make run`` (it starts the development LoginRocket too), or on
its own with ``LOGINROCKET_URL=... flask --app examples.app run``.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, g, jsonify, redirect, render_template, request, url_for

from flask_authrocket import AuthRocket, current_org, current_user, protect, require_permission

authrocket = AuthRocket()

home = Blueprint("home", __name__)
dashboard = protect(Blueprint("dashboard", __name__, url_prefix="/dashboard"))
admin = Blueprint("admin", __name__, url_prefix="/admin")
api = protect(Blueprint("api", __name__, url_prefix="/api"), api=True)  # always 401 JSON, never a 302

#: Projects of the development LoginRocket's demo orgs, so the dashboard has something to show.
SAMPLE_PROJECTS = [("org_acme", "Rocket engine"), ("org_acme", "Launch pad"), ("org_globex", "Hammock district")]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The example app. ``LOGINROCKET_URL`` comes from ``config`` or the environment.

    ``INSTANCE_PATH`` in ``config`` (or ``EXAMPLE_INSTANCE_PATH``) says where the
    projects database lives. Any other setting can come from ``EXAMPLE_``-prefixed
    environment variables (Flask's ``from_prefixed_env``, values parsed as JSON), e.g.
    ``EXAMPLE_AUTHROCKET_MANAGED_SESSIONS=true EXAMPLE_AUTHROCKET_CACHE=redis://127.0.0.1:6379/0``.
    """
    config = dict(config or {})
    instance_path = config.pop("INSTANCE_PATH", None) or os.environ.get("EXAMPLE_INSTANCE_PATH")
    app = Flask(__name__, instance_path=instance_path)
    app.config.from_mapping(DATABASE=os.path.join(app.instance_path, "projects.sqlite3"))
    app.config.from_prefixed_env("EXAMPLE")
    app.config.update(config)
    if not app.config["SECRET_KEY"]:
        # Flask's session carries the "You have been logged out." message. A key made at
        # start is enough for an example; a real app sets SECRET_KEY (EXAMPLE_SECRET_KEY here).
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    os.makedirs(app.instance_path, exist_ok=True)
    authrocket.init_app(app)
    app.register_blueprint(home)
    app.register_blueprint(dashboard)
    app.register_blueprint(admin)
    app.register_blueprint(api)
    app.teardown_appcontext(_close_db)

    @authrocket.forbidden_handler
    def forbidden(error: Exception) -> tuple[str, int]:
        return render_template("403.html", error=error), 403

    with app.app_context():
        db = _db()
        db.execute(
            "CREATE TABLE IF NOT EXISTS projects ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT, ar_org_id TEXT NOT NULL, name TEXT NOT NULL)"
        )
        if db.execute("SELECT COUNT(*) FROM projects").fetchone()[0] == 0:
            db.executemany("INSERT INTO projects (ar_org_id, name) VALUES (?, ?)", SAMPLE_PROJECTS)
        db.commit()
    return app


@home.get("/")
def index() -> str:
    return render_template("home.html")


@dashboard.get("/")
def show_dashboard() -> str:
    org_id = current_org.id if current_org else None
    projects = _db().execute("SELECT name FROM projects WHERE ar_org_id = ? ORDER BY id", (org_id,)).fetchall()
    return render_template("dashboard.html", projects=[row[0] for row in projects])


@dashboard.post("/projects")
def add_project() -> Any:
    name = request.form.get("name", "").strip()
    if name and current_org:
        _db().execute("INSERT INTO projects (ar_org_id, name) VALUES (?, ?)", (current_org.id, name[:100]))
        _db().commit()
    return redirect(url_for("dashboard.show_dashboard"))


@admin.get("/")
@require_permission("site:admin")
def show_admin() -> str:
    return render_template("admin.html")


@api.get("/me")
def me() -> Any:
    membership = g.authrocket.current_membership
    return jsonify(
        user={"id": current_user.id, "email": current_user.email, "name": current_user.name},
        org={"id": current_org.id, "name": current_org.name} if current_org else None,
        permissions=list(membership.permissions) if membership else [],
    )


def _db() -> sqlite3.Connection:
    if "example_db" not in g:
        from flask import current_app

        g.example_db = sqlite3.connect(current_app.config["DATABASE"])
    connection: sqlite3.Connection = g.example_db
    return connection


def _close_db(_: BaseException | None) -> None:
    connection = g.pop("example_db", None)
    if connection is not None:
        connection.close()
