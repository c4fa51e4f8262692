"""ExpressNames: the camelCase names of AuthRocket's Express middleware, as one layer.

:class:`~flask_authrocket.request.AuthRocketRequest` (``g.authrocket``) takes its Express names
from here; :data:`EXPRESS_NAMES` is the table docs/coming-from-express.md shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["EXPRESS_NAMES", "ExpressNames"]


class _Alias:
    """A name that reads another attribute of the same object: ``currentUser`` reads ``current_user``."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __get__(self, instance: object, owner: type) -> Any:
        if instance is None:
            return self
        return getattr(instance, self.target)


class ExpressNames:
    """The camelCase names of AuthRocket's Express middleware, as one layer over the snake_case ones.

    Templates ported from the Express guide keep working unchanged
    (``{{ authrocket.currentUser.email }}``,
    ``{{ authrocket.arProfileUrl({'redirect_uri': authrocket.requestUri()}) }}``): each name
    here reads the snake_case name :data:`EXPRESS_NAMES` maps it to, and nothing else. Python
    code and new templates use the snake_case names. ``request_uri`` and ``safe_this_uri``,
    the 0.1 spellings of ``request_url`` and ``safe_this_url``, are kept here too.
    """

    currentSession = _Alias("current_session")  # noqa: N815 - the Express names
    currentUser = _Alias("current_user")  # noqa: N815
    currentMembership = _Alias("current_membership")  # noqa: N815
    currentOrg = _Alias("current_org")  # noqa: N815
    requestUri = _Alias("request_url")  # noqa: N815
    safeThisUri = _Alias("safe_this_url")  # noqa: N815
    arLoginUrl = _Alias("ar_login_url")  # noqa: N815
    arSignupUrl = _Alias("ar_signup_url")  # noqa: N815
    arProfileUrl = _Alias("ar_profile_url")  # noqa: N815
    arAccountUrl = _Alias("ar_account_url")  # noqa: N815
    arAccountsUrl = _Alias("ar_accounts_url")  # noqa: N815
    arLogoutUrl = _Alias("ar_logout_url")  # noqa: N815
    logoutPath = _Alias("logout_path")  # noqa: N815
    loginrocketUrl = _Alias("loginrocket_url")  # noqa: N815
    hasPermission = _Alias("has_permission")  # noqa: N815
    # The 0.1 spellings, before the snake_case names settled on "url".
    request_uri = _Alias("request_url")
    safe_this_uri = _Alias("safe_this_url")


#: Each Express (and 0.1) name of :class:`ExpressNames` and the snake_case name it reads.
EXPRESS_NAMES: Mapping[str, str] = MappingProxyType(
    {name: alias.target for name, alias in vars(ExpressNames).items() if isinstance(alias, _Alias)}
)
