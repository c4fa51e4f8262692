"""flask-authrocket: AuthRocket logins for Flask.

Verifies AuthRocket login tokens (from ``?token=``, a Bearer header or the
login cookie), puts the session on ``g.authrocket`` and ``authrocket``
in templates, and guards views with :func:`require_login`,
:func:`require_permission` and :func:`protect`. :class:`AuthRocketClient`
speaks AuthRocket's Core API.

``import flask_authrocket`` does not load the Core API client (nor ``requests``):
its names are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    Rejection,
    Session,
    SessionRecord,
    TokenRecord,
    User,
    UserRecord,
)
from .request import AuthRocketRequest, current_membership, current_org, current_session, current_user
from .signals import logged_out, session_verified, token_rejected
from .tokens import TokenVerifier
from .views import full_logout, local_logout

if TYPE_CHECKING:
    from .client import AuthRocketClient, Page, Resource, Users

__version__ = "0.1.0"

#: Public names loaded on first use, and the module each comes from.
_LAZY_NAMES = {
    "AuthRocketClient": "client",
    "Page": "client",
    "Resource": "client",
    "Users": "client",
}


def __getattr__(name: str) -> Any:
    """Import a lazy public name (the Core API client) the first time it is asked for."""
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    """The module's names, the lazy ones included."""
    return sorted({*globals(), *_LAZY_NAMES})


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
