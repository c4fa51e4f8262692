"""The Bearer security scheme in OpenAPI documents: APIFlask (automatic), flask-smorest and apispec (a plugin).

:class:`AuthRocketPlugin` is an apispec plugin. It adds the security scheme ``AuthRocket``
(``{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}``) to the spec's components,
and ``security: [{"AuthRocket": []}]`` to every operation whose view a guard covers:
:func:`~flask_authrocket.require_login`, :func:`~flask_authrocket.require_permission`, or
:func:`~flask_authrocket.protect` on its blueprint (or the app), unless the view is
:func:`~flask_authrocket.login_exempt`. Public views get no ``security``.

* **APIFlask**: nothing to do. ``init_app`` on an ``APIFlask`` app adds the plugin to
  ``app.spec_plugins`` (and its guards answer JSON to every client that does not ask for
  HTML). This module is imported for APIFlask apps only.
* **flask-smorest**: ``Api(app, spec_kwargs={"extra_plugins": [AuthRocketPlugin()]})``
  (its own ``plugins`` keyword would replace the ``Api``'s). Call ``authrocket.init_app(app)``
  before the ``Api`` registers blueprints: flask-smorest gives a plugin only each route's rule,
  and the rule leads to its app through the URL map ``init_app`` noted.
* **apispec**: ``APISpec(..., plugins=[AuthRocketPlugin()])`` then ``spec.path(view=view,
  app=app)``, as with apispec-webframeworks (whose ``FlaskPlugin`` may stand beside it).

The guards leave marks that need no request (:func:`flask_authrocket.guards.guard_of`), so
the plugin reads them while the spec is built, at any time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from apispec import APISpec, BasePlugin
from flask import Flask, current_app, has_app_context
from werkzeug.routing import Rule

from .guards import app_for_url_map, guard_of

#: The name of the security scheme in ``components.securitySchemes``.
SECURITY_SCHEME_NAME = "AuthRocket"
#: The scheme: a LoginRocket login token, sent as ``Authorization: Bearer <token>``.
SECURITY_SCHEME: Mapping[str, str] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}

#: The HTTP methods an OpenAPI path item holds operations for.
_OPERATION_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: A Werkzeug rule's ``<converter:name>`` placeholders.
_PLACEHOLDER = re.compile(r"<(?:[^<:>]+:)?([^<>]+)>")


class AuthRocketPlugin(BasePlugin):
    """An apispec plugin: the ``AuthRocket`` Bearer scheme, and ``security`` on every guarded operation.

    :param app: the Flask app whose routes the spec describes. Optional: the plugin finds it
        from the rule flask-smorest passes, from ``app=`` given to ``spec.path``, or from the
        current app context.

    >>> api = Api(app, spec_kwargs={"extra_plugins": [AuthRocketPlugin()]})  # doctest: +SKIP
    """

    def __init__(self, app: Flask | None = None) -> None:
        self._app = app
        self._spec: APISpec | None = None

    def init_spec(self, spec: APISpec) -> None:
        """Add the ``AuthRocket`` security scheme to ``spec`` (unless APIFlask's ``SECURITY_SCHEMES`` names it)."""
        super().init_spec(spec)
        self._spec = spec
        declared = self._app.config.get("SECURITY_SCHEMES") if self._app is not None else None
        if not (isinstance(declared, Mapping) and SECURITY_SCHEME_NAME in declared):
            spec.components.security_scheme(SECURITY_SCHEME_NAME, dict(SECURITY_SCHEME))

    def path_helper(
        self,
        path: str | None = None,
        operations: dict[str, Any] | None = None,
        parameters: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> str | None:
        """For ``spec.path(view=view, app=app)``: the view's path, and its operations when none are given.

        The operations come from the view's docstring (apispec's YAML after ``---``) when
        PyYAML is installed, else one per method of the route, with a bare 200 answer.
        Returns ``None`` (the path is someone else's to find) when no ``view`` is given.
        """
        view = kwargs.get("view")
        if view is None or path is not None:
            return None
        app = self._app_for(kwargs)
        rule = _rule_for_view(app, view) if app is not None else None
        if rule is None:
            return None
        if operations is not None and not operations:
            operations.update(_docstring_operations(view) or _bare_operations(rule))
        return openapi_path(rule)

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """Add ``security: [{"AuthRocket": []}]`` to each operation of ``operations`` whose view is guarded."""
        if not operations:
            return
        app = self._app_for(kwargs)
        if app is None:
            return
        rule = kwargs.get("rule")
        view = kwargs.get("view")
        if not isinstance(rule, Rule) and view is not None:
            rule = _rule_for_view(app, view)
        for method, operation in operations.items():
            if method not in _OPERATION_METHODS or not isinstance(operation, dict):
                continue
            if isinstance(rule, Rule):
                endpoints = [rule.endpoint] if _serves(rule, method) else []
            else:  # APIFlask gives the path alone: every rule with that path and method
                endpoints = [each.endpoint for each in _rules_for_path(app, path or "") if _serves(each, method)]
            guards = [
                guard for guard in (guard_of(app, endpoint, method) for endpoint in endpoints) if guard is not None
            ]
            if guards:
                add_security(operation, tuple(dict.fromkeys(name for guard in guards for name in guard)))

    def _app_for(self, kwargs: Mapping[str, Any]) -> Flask | None:
        given = kwargs.get("app")
        if isinstance(given, Flask):
            return given
        if self._app is not None:
            return self._app
        rule = kwargs.get("rule")
        if isinstance(rule, Rule) and getattr(rule, "map", None) is not None:
            found = app_for_url_map(rule.map)
            if found is not None:
                return found
        if has_app_context():
            app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
            return app
        return None


def add_security(operation: dict[str, Any], permissions: tuple[str, ...] = ()) -> None:
    """Mark an operation as guarded: ``{"AuthRocket": []}`` in its ``security``, and its 401 (and 403) answers.

    Another scheme already in ``security`` stays (either one then works). The 401 answer is
    described unless the operation describes it already; so is the 403 when ``permissions``
    (the names the guard needs) are given.
    """
    security = operation.setdefault("security", [])
    if {SECURITY_SCHEME_NAME: []} not in security:
        security.append({SECURITY_SCHEME_NAME: []})
    responses = operation.setdefault("responses", {})
    if "401" not in responses and 401 not in responses:
        responses["401"] = {"description": "Not logged in: send a login token as 'Authorization: Bearer <token>'."}
    if permissions and "403" not in responses and 403 not in responses:
        responses["403"] = {"description": "The login's membership lacks a permission: " + ", ".join(permissions) + "."}


def openapi_path(rule: Rule) -> str:
    """A Werkzeug rule as an OpenAPI path: ``/pets/<int:pet_id>`` is ``/pets/{pet_id}``."""
    return _PLACEHOLDER.sub(r"{\1}", rule.rule)


def document_apiflask(app: Flask) -> None:
    """What ``init_app`` does for an APIFlask app: the plugin joins ``app.spec_plugins``.

    APIFlask builds its spec when it is first asked for, with the plugins it has then, so the
    scheme and the operations' ``security`` include every route, those added later too.
    """
    plugins: list[BasePlugin] = app.spec_plugins  # type: ignore[attr-defined]
    if not any(isinstance(plugin, AuthRocketPlugin) for plugin in plugins):
        plugins.append(AuthRocketPlugin(app))


def _serves(rule: Rule, method: str) -> bool:
    return rule.methods is not None and method.upper() in rule.methods


def _rules_for_path(app: Flask, path: str) -> Iterator[Rule]:
    for rule in app.url_map.iter_rules():
        if openapi_path(rule) == path:
            yield rule


def _rule_for_view(app: Flask, view: Any) -> Rule | None:
    endpoints = [endpoint for endpoint, function in app.view_functions.items() if function is view]
    for rule in app.url_map.iter_rules():
        if rule.endpoint in endpoints:
            return rule
    return None


def _docstring_operations(view: Any) -> dict[str, Any]:
    try:
        from apispec.yaml_utils import load_operations_from_docstring
    except ImportError:  # apispec reads docstrings with PyYAML, an extra of its own
        return {}
    operations: dict[str, Any] = load_operations_from_docstring(view.__doc__ or "")
    return operations


def _bare_operations(rule: Rule) -> dict[str, Any]:
    methods = sorted(method.lower() for method in rule.methods or () if method.lower() in _OPERATION_METHODS)
    return {
        method: {"responses": {"200": {"description": "OK"}}} for method in methods if method not in ("head", "options")
    }
