"""Logout views: full_logout (the app and LoginRocket) and local_logout (the app only).

Register them yourself (``app.add_url_rule("/signout", view_func=full_logout)``)
or let the extension add its default route at ``AUTHROCKET_LOGOUT_URL`` (GET,
POST and DELETE). Both return to ``AUTHROCKET_POST_LOGOUT_PATH``, a path under
the app's root, and flash ``AUTHROCKET_LOGOUT_MESSAGE`` when Flask's session works.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, session
from werkzeug.wrappers import Response

from .guards import login_exempt
from .models import Session
from .request import AuthRocketRequest, app_root_url, current_authrocket
from .signals import logged_out


# Logging out never needs a login: both views stay public under protect()
# and AUTHROCKET_REQUIRE_LOGIN, on whatever route an app registers them.
@login_exempt
def full_logout() -> Response:
    """Clear the login cookie and log out of LoginRocket too.

    Redirects to LoginRocket's ``/logout`` with ``redirect_uri`` set to the
    post-logout path on this app and ``session`` set to the current session.
    With ``AUTHROCKET_MANAGED_SESSIONS``, the session is also deleted through
    the Core API (and marked ended in ``AUTHROCKET_CACHE``), so the logout
    holds on every app of the realm. Without ``LOGINROCKET_URL`` it returns
    straight to the post-logout path. Flashes ``AUTHROCKET_LOGOUT_MESSAGE``.
    """
    authrocket = current_authrocket()
    session_check = current_app.extensions["authrocket"].session_check
    if session_check is not None and authrocket.current_session is not None:
        session_check.end(authrocket.current_session)
    _announce(authrocket.current_session, everywhere=True)
    back = _post_logout_url(authrocket)
    # Without LOGINROCKET_URL there is no LoginRocket login to end: back to this app
    # (init_app warned), after ending a managed session all the same.
    target = authrocket.ar_logout_url(redirect_uri=back) if authrocket.settings.loginrocket_url else back
    authrocket.clear_cookie()
    _flash_logout_message(authrocket)
    return _no_store(redirect(target, 302))


@login_exempt
def local_logout() -> Response:
    """Clear the login cookie and return to the post-logout path; LoginRocket stays logged in.

    Flashes ``AUTHROCKET_LOGOUT_MESSAGE``.
    """
    authrocket = current_authrocket()
    _announce(authrocket.current_session, everywhere=False)
    target = _post_logout_url(authrocket)
    authrocket.clear_cookie()
    _flash_logout_message(authrocket)
    return _no_store(redirect(target, 302))


def _post_logout_url(authrocket: AuthRocketRequest) -> str:
    # A path on this app, so under the app's root: behind a proxy that mounts the app
    # at /app (SCRIPT_NAME), "/" is /app/, not the host's root. Joined as text, not
    # urljoin, so the configured path keeps its escapes and nothing in it reads as a scheme.
    return app_root_url() + authrocket.settings.post_logout_path[1:]


def _flash_logout_message(authrocket: AuthRocketRequest) -> None:
    # As the Rails integration's logout; only when Flask's session can carry it (a
    # SECRET_KEY, or another session interface), since flash() raises otherwise.
    message = authrocket.settings.logout_message
    if message and not current_app.session_interface.is_null_session(session):
        flash(message)


def _announce(session: Session | None, *, everywhere: bool) -> None:
    if logged_out.receivers:
        logged_out.send(current_app._get_current_object(), session=session, everywhere=everywhere)  # type: ignore[attr-defined]


def _no_store(answer: Response) -> Response:
    answer.headers["Cache-Control"] = "no-store"
    return answer
