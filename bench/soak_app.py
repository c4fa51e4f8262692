"""The app ``make soak`` serves under gunicorn: one guarded route, its settings from the soak.

``GET /hello`` is behind ``@require_login`` and answers ``Hello, <user id>!``
with the answering worker's process id in ``X-Soak-Worker``, so the soak can
tell the workers apart (a worker that gunicorn had to restart is a new one).

The AuthRocket settings come as one JSON object in the ``SOAK_APP_CONFIG``
environment variable, because most of them (``AUTHROCKET_CACHE``,
``AUTHROCKET_HTTP_TIMEOUT``, the managed-session settings ...) are read from
the Flask config only. Gunicorn loads it as ``bench.soak_app:create_app()``.
"""

from __future__ import annotations

import json
import os

from flask import Flask, Response

from flask_authrocket import AuthRocket, current_user, require_login

PATH = "/hello"
#: The environment variable that carries the app's config, a JSON object.
CONFIG_VARIABLE = "SOAK_APP_CONFIG"
#: The header naming the worker that answered.
WORKER_HEADER = "X-Soak-Worker"


def create_app() -> Flask:
    """The soak's app, configured from ``SOAK_APP_CONFIG``; ``KeyError`` when it is not set."""
    app = Flask(__name__)
    app.config.update(json.loads(os.environ[CONFIG_VARIABLE]))
    AuthRocket(app)

    @app.get(PATH)
    @require_login
    def hello() -> str:
        user = current_user  # always a user behind require_login; the client checks the name
        return f"Hello, {user.id if user else None}!"

    @app.after_request
    def name_the_worker(response: Response) -> Response:
        response.headers[WORKER_HEADER] = str(os.getpid())
        return response

    return app
