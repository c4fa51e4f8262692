"""Flask-SocketIO handlers under the guards: :func:`~flask_authrocket.require_login` and its kin.

Flask-SocketIO runs each handler inside a request context built from the connection's
handshake (its cookies, headers and query string) and sets ``request.sid`` and
``request.event``; no ``before_request`` function runs, and an exception a handler raises goes
to the Socket.IO server. So a guard on a Socket.IO handler answers differently:

* on the ``connect`` handler, a client without a valid login is refused: the guard raises
  python-socketio's ``ConnectionRefusedError`` (the one Flask-SocketIO lets through, whatever
  error handlers the app has) with the message and ``{"error": ..., "message": ...}``, and the
  client gets a ``connect_error`` with that data;
* on any other handler, the handler does not run: the guard returns the same ``{"error": ...}``
  (a client that asked for an acknowledgement gets it as the answer), and nothing is raised.

The login is the handshake's (the login cookie, or an ``Authorization: Bearer`` header), else
the ``auth`` the client connected with: ``io({auth: {token}})``, or
``socketio.test_client(app, auth={"token": ...})``. A valid ``auth`` token is kept for the
connection (in its WSGI environ), so the client's later events count as logged in while the
token stays valid; each event checks it again (expiry included).

Nothing here imports Flask-SocketIO: an event is told by ``request.event``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from flask import current_app, request

from ..errors import LoginRequired, LoginUnavailable, PermissionDenied
from ..logs import logger
from ..models import Session
from ..request import AuthRocketRequest, current_authrocket
from ..signals import session_verified, token_rejected

#: Where a connection's valid ``auth`` token is kept: in its WSGI environ, which python-socketio
#: keeps for the connection and Flask-SocketIO builds every event's request from.
AUTH_TOKEN_KEY = "flask_authrocket.socketio_auth_token"


def in_event() -> bool:
    """Whether the current request is a Flask-SocketIO event (``connect`` included), not an HTTP request."""
    event = getattr(request, "event", None)
    return isinstance(event, dict) and "message" in event


def guarded_event(check: Callable[[], object], view: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """Run the Socket.IO handler ``view`` if ``check`` passes; else refuse the connection or skip the event.

    ``check`` is the guard's own check (it raises :class:`LoginRequired`,
    :class:`LoginUnavailable` or :class:`PermissionDenied`). Returns what ``view`` returns, or,
    for an event the guard keeps from running, ``{"error": ..., "message": ...}``. Raises
    python-socketio's ``ConnectionRefusedError`` (and nothing else) for a ``connect`` it refuses.
    """
    event: Mapping[str, Any] = request.event  # type: ignore[attr-defined]
    connecting = event.get("message") == "connect"
    environ = request.environ
    # Built afresh for each event: Flask-SocketIO gives each event a request context of its own, and
    # the login is kept on its request, so an app context that outlives one event (a test's
    # `with app.app_context():`) cannot lend it another connection's login.
    authrocket = current_authrocket()
    token = _auth_token(event.get("args")) if connecting else environ.get(AUTH_TOKEN_KEY)
    accepted = authrocket.current_session is None and token is not None and _log_in(authrocket, token)
    try:
        check()
    except (LoginRequired, LoginUnavailable, PermissionDenied) as error:
        refusal = _refusal(error)
        logger.debug("A Socket.IO %r from %s was refused: %s", event.get("message"), request.sid, refusal["error"])  # type: ignore[attr-defined]
        if connecting:
            raise _connection_refused(refusal) from None
        return refusal
    if connecting and accepted:
        environ[AUTH_TOKEN_KEY] = token  # the connection's later events log in with it
    return view(*args, **kwargs)


def _connection_refused(refusal: dict[str, str]) -> Exception:
    """python-socketio's ``ConnectionRefusedError`` carrying ``refusal``; Python's own if it is not loaded.

    Flask-SocketIO lets only python-socketio's class through to the server: any other
    exception goes to the app's ``on_error`` handlers first, which could accept the connection.
    """
    exceptions = sys.modules.get("socketio.exceptions")
    refused: type[Exception] = getattr(exceptions, "ConnectionRefusedError", ConnectionRefusedError)
    return refused(refusal["message"], refusal)


def _auth_token(event_args: Any) -> str | None:
    """The token of the ``auth`` a client connected with: ``{"token": "..."}`` (a leading ``Bearer`` is dropped)."""
    # Flask-SocketIO calls connect handlers with (environ, auth) as the event's args.
    auth = event_args[1] if isinstance(event_args, (tuple, list)) and len(event_args) > 1 else None
    token = auth.get("token") if isinstance(auth, Mapping) else None
    if not isinstance(token, str):
        return None
    token = token.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    return token or None


def _log_in(authrocket: AuthRocketRequest, token: str) -> bool:
    """Verify ``token`` as the app does; a valid one becomes the event's session. Returns whether it did."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    result = app.extensions["authrocket"].verify(token)
    if isinstance(result, Session):
        authrocket.current_session = result
        authrocket.token_source = "bearer"  # a credential the client sent itself, as a Bearer header is
        if session_verified.receivers:
            session_verified.send(app, session=result, source="bearer")
        return True
    if token_rejected.receivers:
        token_rejected.send(app, rejection=result, source="bearer")
    authrocket.rejection, authrocket.rejection_source = result, "bearer"
    authrocket.unavailable = authrocket.unavailable or result.unavailable
    return False


def _refusal(error: Exception) -> dict[str, str]:
    """What a refused client is told: the error's kind and its message, as the JSON answers say it."""
    if isinstance(error, PermissionDenied):
        return {"error": "forbidden", "message": str(error)}
    if isinstance(error, LoginUnavailable):
        return {"error": "login_unavailable", "message": str(error)}
    rejection = error.rejection if isinstance(error, LoginRequired) else None
    if rejection is not None:
        return {"error": "invalid_token", "message": rejection.message}
    return {"error": "login_required", "message": "Log in, or connect with auth={'token': '<login token>'}."}
