"""The development LoginRocket's Core API, under ``/v2``: every resource of AuthRocket's SDKs.

The same wire format as AuthRocket's Core API, backed by the SQLite
directory the hosted pages use, so an app's :class:`~flask_authrocket.AuthRocketClient`
works against it unchanged (``AUTHROCKET_URL = <LoginRocket URL>v2``):

* every call carries ``Authrocket-Api-Key`` (the realm's ``api_key``; wrong or
  missing: 403, as the API's status codes page says of bad credentials) and,
  optionally, ``Authrocket-Realm: rl_dev`` (another realm: 403);
* a record is a JSON object with ``object`` and ``id``; a list is
  ``{"collection": [...], "more_results": bool}``, ordered by id, ``max_results``
  records (default 100, at most 1000) after the id ``after``;
* create and update take the fields inside the root element
  (``{"user": {...}}``), with a ``request`` beside it; refusals are 422 (invalid) or
  409 (a conflict, such as a taken email) with ``{"errors": ["..."]}``; an unknown id
  is a 404 with an empty body, an unknown endpoint a 404 with ``{"errors": [...]}``;
* a delete answers the record (an org is closed, ``state: "closed"``, unless ``force``).

Users and sessions are in :mod:`.api_users`, orgs and memberships in :mod:`.api_orgs`,
every other resource and its actions in :mod:`.api_realm`; which resources exist and
with which verbs is :data:`flask_authrocket.client.catalog.RESOURCES`.

``/v2/_dev/faults`` and ``/v2/_dev/stats`` are for tests and benchmarks:
see :mod:`flask_authrocket.dev` for them and for the list of endpoints.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from .api_orgs import orgs_api
from .api_realm import realm_api
from .api_users import users_api
from .realm import REALM_ID, current_realm
from .traffic import AFTER, BEFORE, Fault
from .wire import Refusal, collection, error_answer, not_found, optional_fields, realm_json

core_api = Blueprint("core_api", __name__, url_prefix="/v2")
# The resources live in their own modules; this blueprint's every-call checks apply to them too.
core_api.register_blueprint(users_api)
core_api.register_blueprint(orgs_api)
core_api.register_blueprint(realm_api)

_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

_FAULT_MESSAGES = {
    402: "This account is inactive.",
    403: "Access denied.",
    404: "Record not found.",
    409: "This change conflicts with another record.",
    422: "Validation failed.",
    429: "Rate limit exceeded.",
    500: "Internal server error.",
    502: "Bad gateway.",
    503: "Service unavailable.",
    504: "Gateway timeout.",
}


# Every call ----------------------------------------------------------------------------------


@core_api.before_request
def _check_call() -> ResponseReturnValue | None:
    """The API key on every call; the realm header, and faults, on every call but ``_dev/``."""
    realm = current_realm()
    given = request.headers.get("Authrocket-Api-Key", "")
    if not hmac.compare_digest(given.encode("utf-8"), realm.api_key.encode("utf-8")):
        raise Refusal(
            403,
            "Invalid API key: send the development LoginRocket's key in the Authrocket-Api-Key header "
            "(DEV_LOGINROCKET_API_KEY, or the file dev_loginrocket_api_key in its instance folder).",
        )
    if _is_dev_call():
        return None
    realm_id = request.headers.get("Authrocket-Realm")
    if realm_id and realm_id != REALM_ID:
        raise Refusal(
            403, f"This API key has no access to realm {realm_id}; the development LoginRocket serves {REALM_ID} only."
        )
    fault = realm.traffic.take_fault(request.method, _api_path(), BEFORE)
    return _fault_answer(fault) if fault is not None else None


@core_api.after_request
def _finish(response: Response) -> Response:
    """Apply an ``after`` fault, count the call (``_dev/`` calls are not counted), never cache."""
    if not _is_dev_call():
        traffic = current_realm().traffic
        fault = traffic.take_fault(request.method, _api_path(), AFTER)
        if fault is not None:
            response = _fault_answer(fault)
        rule = (
            request.url_rule.rule if request.url_rule is not None and request.endpoint != "core_api.unknown" else None
        )
        traffic.record(
            f"{request.method} {rule or request.path}",
            {
                "method": request.method,
                "path": request.path,
                "query": request.query_string.decode("latin-1"),
                "status": response.status_code,
                "accept_language": request.headers.get("Accept-Language"),
                "realm": request.headers.get("Authrocket-Realm"),
                "service": request.headers.get("Authrocket-Service"),
                "user_agent": request.headers.get("User-Agent"),
            },
        )
    response.headers["Cache-Control"] = "no-store"
    return response


@core_api.errorhandler(Refusal)
def _refused(refusal: Refusal) -> Response:
    return error_answer(refusal.status, *refusal.errors)


@core_api.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    return error_answer(error.code or 500, error.description or error.name)


# Realms ----------------------------------------------------------------------------------------


@core_api.get("/realms")
def list_realms() -> ResponseReturnValue:
    """The one realm of the development LoginRocket."""
    return collection([realm_json()], False)


@core_api.get("/realms/<realm_id>")
def get_realm(realm_id: str) -> ResponseReturnValue:
    """The development realm, ``rl_dev``."""
    if realm_id != REALM_ID:
        raise not_found()
    return realm_json()


@core_api.post("/realms/<realm_id>/reset")
def reset_realm(realm_id: str) -> ResponseReturnValue:
    """Empty the realm, as ``Realm#reset!``: every user, org, session and record goes; the demo data comes back.

    The demo users and orgs are seeded again so that the login page keeps its buttons.
    """
    if realm_id != REALM_ID:
        raise not_found()
    optional_fields("realm", frozenset())
    current_realm().directory.reset()
    return realm_json()


# For tests and benchmarks ----------------------------------------------------------------------


@core_api.get("/_dev/stats")
def stats() -> ResponseReturnValue:
    """Calls counted per method and route, and the recent calls with their headers."""
    return current_realm().traffic.stats()


@core_api.delete("/_dev/stats")
def reset_stats() -> ResponseReturnValue:
    """Start counting from zero."""
    current_realm().traffic.reset_stats()
    return "", 204


@core_api.get("/_dev/faults")
def list_faults() -> ResponseReturnValue:
    """The faults still queued."""
    return {"faults": [fault.to_json() for fault in current_realm().traffic.faults()]}


@core_api.post("/_dev/faults")
def add_fault() -> ResponseReturnValue:
    """Queue a fault: ``{"status": 503, "count": 2, "retry_after": 1, ...}`` (see :class:`Fault`)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Refusal(422, 'Send a JSON object such as {"status": 503, "count": 2, "retry_after": 1}.')
    fault = _fault_from(body)
    traffic = current_realm().traffic
    traffic.add_fault(fault)
    return {"faults": [queued.to_json() for queued in traffic.faults()]}, 201


@core_api.delete("/_dev/faults")
def clear_faults() -> ResponseReturnValue:
    """Drop every queued fault."""
    current_realm().traffic.clear_faults()
    return "", 204


@core_api.route("/", defaults={"rest": ""}, methods=_ALL_METHODS)
@core_api.route("/<path:rest>", methods=_ALL_METHODS)
def unknown(rest: str) -> ResponseReturnValue:
    """Anything else under ``/v2``: a JSON 404."""
    raise Refusal(
        404,
        f"No such API endpoint: {request.method} {request.path}. The development LoginRocket serves every "
        "resource of AuthRocket's SDKs, with their verbs and actions (docs/api-client.md).",
    )


# Reading requests ------------------------------------------------------------------------------


def _is_dev_call() -> bool:
    return request.path == "/v2/_dev" or request.path.startswith("/v2/_dev/")


def _api_path() -> str:
    """The call's path under ``/v2/``: ``users/usr_1``."""
    return request.path.removeprefix("/v2").strip("/")


def _fault_from(body: Mapping[str, Any]) -> Fault:
    status, count, retry_after = body.get("status"), body.get("count", 1), body.get("retry_after")
    errors, method, path, apply = (
        body.get("errors", []),
        body.get("method"),
        body.get("path"),
        body.get("apply", BEFORE),
    )
    problems: list[str] = []
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        problems.append("status must be an HTTP error status, 400 to 599.")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        problems.append("count must be a whole number of at least 1.")
    if retry_after is not None and (not isinstance(retry_after, (int, float)) or retry_after < 0):
        problems.append("retry_after must be a number of seconds, or null.")
    if not isinstance(errors, list) or not all(isinstance(item, str) for item in errors):
        problems.append("errors must be a list of messages.")
    if method is not None and method not in _ALL_METHODS:
        problems.append(f"method must be one of {', '.join(_ALL_METHODS)}, or null.")
    if path is not None and not isinstance(path, str):
        problems.append("path must be a path under /v2/ (such as users), or null.")
    if apply not in (BEFORE, AFTER):
        problems.append(f"apply must be {BEFORE!r} (answer instead of handling) or {AFTER!r} (lose the answer).")
    if problems or not isinstance(status, int):
        raise Refusal(422, *problems)
    return Fault(
        status=status,
        count=count,
        retry_after=retry_after,
        errors=tuple(errors),
        method=method,
        path=path.strip("/") if path else None,
        apply=apply,
    )


def _fault_answer(fault: Fault) -> Response:
    messages = fault.errors or (_FAULT_MESSAGES.get(fault.status, "Fault injected through /v2/_dev/faults."),)
    return error_answer(fault.status, *messages, retry_after=fault.retry_after)
