"""Logout views: full_logout (the app and LoginRocket) and local_logout (the app only).

Register them yourself (``app.add_url_rule("/signout", view_func=full_logout)``)
or let the extension add its default route at ``AUTHROCKET_LOGOUT_URL``.
Both return to ``AUTHROCKET_POST_LOGOUT_PATH`` on this app.
"""

from __future__ import annotations

from flask import current_app, redirect
from werkzeug.wrappers import Response

from .guards import login_exempt
from .models import Session
from .request import current_authrocket
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
    straight to the post-logout path.
    """
    authrocket = current_authrocket()
    session_check = current_app.extensions["authrocket"].session_check
    if session_check is not None and authrocket.current_session is not None:
        session_check.end(authrocket.current_session)
    _announce(authrocket.current_session, everywhere=True)
    back = authrocket.request_uri(authrocket.settings.post_logout_path)
    # Without LOGINROCKET_URL there is no LoginRocket login to end: back to this app
    # (init_app warned), after ending a managed session all the same.
    target = authrocket.ar_logout_url(redirect_uri=back) if authrocket.settings.loginrocket_url else back
    authrocket.clear_cookie()
    return _no_store(redirect(target, 302))


@login_exempt
def local_logout() -> Response:
    """Clear the login cookie and return to the post-logout path; LoginRocket stays logged in."""
    authrocket = current_authrocket()
    _announce(authrocket.current_session, everywhere=False)
    target = authrocket.request_uri(authrocket.settings.post_logout_path)
    authrocket.clear_cookie()
    return _no_store(redirect(target, 302))


def _announce(session: Session | None, *, everywhere: bool) -> None:
    if logged_out.receivers:
        logged_out.send(current_app._get_current_object(), session=session, everywhere=everywhere)  # type: ignore[attr-defined]


def _no_store(answer: Response) -> Response:
    answer.headers["Cache-Control"] = "no-store"
    return answer
