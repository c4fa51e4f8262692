"""flask-authrocket: AuthRocket logins for Flask.

Verifies AuthRocket login tokens (from ``?token=``, a Bearer header or the
``arToken`` cookie), puts the session on ``g.authrocket`` and ``authrocket``
in templates, and guards views with :func:`require_login`,
:func:`require_permission` and :func:`protect`. :class:`AuthRocketClient`
speaks AuthRocket's Core API.
"""

from __future__ import annotations

from .client import AuthRocketClient, Page, Resource, Users
from .errors import (
    AccessDenied,
    AccountInactive,
    ApiError,
    ApiUnavailable,
    AuthRocketError,
    ClientError,
    ConfigurationError,
    KeysUnavailable,
    LoginRequired,
    LoginUnavailable,
    PermissionDenied,
    RateLimited,
    RecordNotFound,
    ServerError,
    ValidationError,
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
from .models import (
    Membership,
    MembershipRecord,
    Org,
    OrgRecord,
    Record,
    Session,
    SessionRecord,
    TokenRecord,
    User,
    UserRecord,
)
from .request import AuthRocketRequest, current_membership, current_org, current_session, current_user
from .signals import logged_out, session_verified, token_rejected
from .tokens import Rejection, TokenVerifier
from .views import full_logout, local_logout

__version__ = "0.1.0"

__all__ = [
    "AccessDenied",
    "AccountInactive",
    "ApiError",
    "ApiUnavailable",
    "AuthRocket",
    "AuthRocketClient",
    "AuthRocketError",
    "AuthRocketRequest",
    "ClientError",
    "ConfigurationError",
    "KeysUnavailable",
    "LoginRequired",
    "LoginUnavailable",
    "Membership",
    "MembershipRecord",
    "Org",
    "OrgRecord",
    "Page",
    "PermissionDenied",
    "RateLimited",
    "Record",
    "RecordNotFound",
    "Rejection",
    "Resource",
    "ServerError",
    "Session",
    "SessionRecord",
    "TokenRecord",
    "TokenVerifier",
    "User",
    "UserRecord",
    "Users",
    "ValidationError",
    "current_membership",
    "current_org",
    "current_session",
    "current_user",
    "full_logout",
    "local_logout",
    "logged_out",
    "login_exempt",
    "protect",
    "require_login",
    "require_permission",
    "session_verified",
    "token_rejected",
    "verify_login_in_request",
    "verify_permission_in_request",
]
