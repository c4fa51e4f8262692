"""flask-authrocket: AuthRocket logins for Flask.

Verifies AuthRocket login tokens (from ``?token=``, a Bearer header or the
``arToken`` cookie), puts the session on ``g.authrocket`` and ``authrocket``
in templates, and guards views with :func:`require_login`,
:func:`require_permission` and :func:`protect`.
"""

from __future__ import annotations

from .errors import (
    AuthRocketError,
    ConfigurationError,
    KeysUnavailable,
    LoginRequired,
    LoginUnavailable,
    PermissionDenied,
)
from .extension import AuthRocket
from .guards import (
    login_exempt,
    protect,
    require_login,
    require_permission,
    verify_login_in_request,
    verify_permission_in_request,
)
from .models import Membership, Org, Session, User
from .request import AuthRocketRequest, current_membership, current_org, current_session, current_user
from .tokens import Rejection, TokenVerifier
from .views import full_logout, local_logout

__version__ = "0.1.0"

__all__ = [
    "AuthRocket",
    "AuthRocketError",
    "AuthRocketRequest",
    "ConfigurationError",
    "KeysUnavailable",
    "LoginRequired",
    "LoginUnavailable",
    "Membership",
    "Org",
    "PermissionDenied",
    "Rejection",
    "Session",
    "TokenVerifier",
    "User",
    "current_membership",
    "current_org",
    "current_session",
    "current_user",
    "full_logout",
    "local_logout",
    "login_exempt",
    "protect",
    "require_login",
    "require_permission",
    "verify_login_in_request",
    "verify_permission_in_request",
]
