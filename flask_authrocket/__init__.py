"""flask-authrocket: AuthRocket logins for Flask.

Verifies AuthRocket login tokens (from ``?token=``, a Bearer header or the
login cookie), puts the session on ``g.authrocket`` and ``authrocket``
in templates, and guards views with :func:`require_login`,
:func:`require_permission` and :func:`protect`. :class:`AuthRocketClient`
speaks AuthRocket's Core API.

``import flask_authrocket`` loads nothing but this file: each public name is imported from
its module on first use (``from flask_authrocket import AuthRocket`` loads the extension, not
the Core API client nor ``requests``), so that pytest's loading of the plugin
(:mod:`flask_authrocket.testing.plugin`) costs a project next to nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import AuthRocketClient, Page, Resource, Users
    from .errors import (
        AccessDenied,
        AccountInactive,
        ApiError,
        ApiUnavailable,
        AuthenticationFailed,
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
    from .models import Membership, Org, Rejection, RejectionReason, Session, TokenSource, User
    from .records import MembershipRecord, OrgRecord, Record, RecordError, SessionRecord, TokenRecord, UserRecord
    from .request import AuthRocketRequest, current_membership, current_org, current_session, current_user
    from .signals import logged_out, session_verified, token_rejected
    from .tokens import TokenVerifier
    from .views import full_logout, local_logout

#: Each public name and the module it lives in, imported on first use.
_NAMES = {
    "AccessDenied": "errors",
    "AccountInactive": "errors",
    "ApiError": "errors",
    "ApiUnavailable": "errors",
    "AuthenticationFailed": "errors",
    "AuthRocketError": "errors",
    "ClientError": "errors",
    "ConfigurationError": "errors",
    "KeysUnavailable": "errors",
    "LoginRequired": "errors",
    "LoginUnavailable": "errors",
    "PermissionDenied": "errors",
    "RateLimited": "errors",
    "RecordNotFound": "errors",
    "ServerError": "errors",
    "ValidationError": "errors",
    "AuthRocket": "extension",
    "login_exempt": "guards",
    "protect": "guards",
    "require_login": "guards",
    "require_permission": "guards",
    "verify_login_in_request": "guards",
    "verify_permission_in_request": "guards",
    "Membership": "models",
    "Org": "models",
    "Rejection": "models",
    "RejectionReason": "models",
    "Session": "models",
    "TokenSource": "models",
    "User": "models",
    "MembershipRecord": "records",
    "OrgRecord": "records",
    "Record": "records",
    "RecordError": "records",
    "SessionRecord": "records",
    "TokenRecord": "records",
    "UserRecord": "records",
    "AuthRocketRequest": "request",
    "current_membership": "request",
    "current_org": "request",
    "current_session": "request",
    "current_user": "request",
    "logged_out": "signals",
    "session_verified": "signals",
    "token_rejected": "signals",
    "TokenVerifier": "tokens",
    "full_logout": "views",
    "local_logout": "views",
    "AuthRocketClient": "client",
    "Page": "client",
    "Resource": "client",
    "Users": "client",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module the first time it is asked for (and ``__version__``)."""
    if name == "__version__":
        from importlib.metadata import version

        value: Any = version("flask-authrocket")  # written once, in pyproject.toml
    else:
        module = _NAMES.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    """The module's names, the lazy ones included."""
    return sorted({*globals(), *_NAMES, "__version__"})


__all__ = [
    "AccessDenied",
    "AccountInactive",
    "ApiError",
    "ApiUnavailable",
    "AuthenticationFailed",
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
    "RecordError",
    "RecordNotFound",
    "Rejection",
    "RejectionReason",
    "Resource",
    "ServerError",
    "Session",
    "SessionRecord",
    "TokenRecord",
    "TokenSource",
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
