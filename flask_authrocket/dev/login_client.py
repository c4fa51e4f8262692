"""Login tokens from a development LoginRocket on loopback, for ``flask authrocket token``.

Only ever talks to a development LoginRocket on loopback
(:func:`loginrocket_root` refuses any other URL, and :meth:`DevLoginClient.check_realm`
any server that is not one), so it can never create sessions in a real realm.
It uses the development LoginRocket's Core API under ``/v2`` with its API key:
a session for a user, or, to select an org, ``POST /v2/_dev/sessions``.
"""

from __future__ import annotations

from collections.abc import Callable

from urllib3.util import parse_url

from ..client import AuthRocketClient
from ..errors import AccessDenied, ApiError, ApiUnavailable, ClientError
from ..fetch import is_loopback_host, is_loopback_url, new_session, url_problem
from ..records import UserRecord
from .realm import REALM_ID


class DevLoginError(Exception):
    """The development LoginRocket cannot give the token; the message says why and what to do."""


def loginrocket_root(url: str) -> str:
    """The origin of ``url`` with a trailing ``/``, after refusing anything that is not loopback.

    Raises ``ValueError`` for a URL that is not a plain http(s) URL (a usage
    error; the message never repeats the URL, which may hold a password) and
    :class:`DevLoginError` for one that is not on loopback. The host checked
    is the one requests connects to (urllib3's reading of the URL), and the
    root returned is built from that same reading.
    """
    problem = url_problem(url)
    if problem is not None:
        raise ValueError(f"The LoginRocket URL {problem}; the development LoginRocket is at http://127.0.0.1:5001/.")
    target = parse_url(url)
    if not (is_loopback_url(url) and is_loopback_host((target.host or "").strip("[]"))):
        raise DevLoginError(
            f"Refusing to ask {target.netloc} for a token: `authrocket token` only talks to the development "
            "LoginRocket on loopback (127.0.0.1, ::1, localhost), so it can never create sessions in a real realm. "
            "Start one with `python -m flask_authrocket.dev` and pass --loginrocket-url http://127.0.0.1:5001/."
        )
    return f"{target.scheme}://{target.netloc}/"


class DevLoginClient:
    """The Core API of the development LoginRocket at ``root`` (from :func:`loginrocket_root`), with its API key.

    ``note`` receives progress messages worth showing (on stderr). Use as a
    context manager, or call :meth:`close`. Methods raise
    :class:`DevLoginError`, or :class:`~flask_authrocket.errors.ApiError` for
    an answer nobody expected.
    """

    def __init__(self, root: str, api_key: str, *, timeout: float, note: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.note = note or _say_nothing
        http = new_session()
        http.trust_env = False  # never through a proxy: the loopback check is about where the call really goes
        self.api = AuthRocketClient(
            url=root + "v2", api_key=api_key, realm=REALM_ID, timeout=timeout, retries=0, session=http
        )

    def __enter__(self) -> DevLoginClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self.api.close()

    def check_realm(self) -> None:
        """Make sure ``root`` is a development LoginRocket that takes the API key, before anything is asked of it."""
        root = self.root
        try:
            realm = self.api.realms.find(REALM_ID)
        except ApiUnavailable as exc:
            if exc.status is None:
                raise DevLoginError(
                    f"Nothing answers at {root} ({exc}). Start the development LoginRocket: "
                    "python -m flask_authrocket.dev"
                ) from exc
            raise DevLoginError(
                f"{root} does not answer like the development LoginRocket ({exc}); refusing to go on."
            ) from exc
        except AccessDenied as exc:
            raise DevLoginError(
                f"The development LoginRocket at {root} refused the API key ({exc}). Pass --api-key with its key: "
                "it logs the key at start; it is also in dev_loginrocket_api_key in its instance folder."
            ) from exc
        except ApiError as exc:
            raise DevLoginError(
                f"{root} does not answer like the development LoginRocket ({exc}); refusing to go on."
            ) from exc
        if realm.id != REALM_ID:
            raise DevLoginError(f"{root} serves realm {realm.id!r}, not the development realm; refusing to go on.")

    def find_user(self, reference: str) -> UserRecord:
        """The user with this email (or id), with their memberships."""
        reference = reference.strip()
        users = self.api.users
        if "@" in reference:
            found = users.first(email=reference) or users.first(email=reference.lower())
        else:
            found = users.retrieve(reference)
        if found is None:
            known = [user.email or user.id for user in users.all(max_results=10)]
            raise DevLoginError(
                f"The development LoginRocket at {self.root} has no user {reference!r}. Users there: "
                + (", ".join(known) if known else "none")
                + "."
            )
        return users.find(found.id)

    def token(self, user: UserRecord, *, org_id: str | None = None, password: str | None = None) -> str:
        """A fresh login token for ``user``; with ``org_id``, one that has that org selected.

        Selecting an org the user is not selected in already logs them in as
        the login page would: a user without a demo button needs ``password``.
        Their later tokens keep the org selected.
        """
        if org_id is None:
            return self._session_token(user.id)
        memberships = user.memberships or ()
        chosen = next((membership for membership in memberships if membership.org_id == org_id), None)
        if chosen is None:
            orgs = ", ".join(
                f"{membership.org_id} ({membership.org.name})"
                if membership.org and membership.org.name
                else str(membership.org_id)
                for membership in memberships
            )
            raise DevLoginError(f"{user.email or user.id} is not a member of {org_id}; member of: {orgs or 'no org'}.")
        if chosen.selected or len(memberships) == 1:
            return self._session_token(user.id)
        self.note(f"Selecting {org_id} (later tokens of this user keep it selected) ...")
        session = {"user_id": user.id, "org_id": org_id}
        if password is not None:
            session["password"] = password
        try:
            answer = self.api.request("POST", "_dev/sessions", json={"session": session})
        except ClientError as exc:
            if exc.status != 401:
                raise
            if password is None:
                raise DevLoginError(
                    f"{user.email or user.id} has no demo button on the login page, so selecting an org needs "
                    "their password: add --password."
                ) from exc
            raise DevLoginError("The development LoginRocket refused the login: wrong password?") from exc
        return _token_of(answer)

    def _session_token(self, user_id: str) -> str:
        session = self.api.sessions.create(user_id=user_id)
        if not session.token:
            raise DevLoginError("The development LoginRocket created a session without a token.")
        return session.token


def _say_nothing(message: str) -> None:
    """The ``note`` of a client nobody listens to."""


def _token_of(answer: object) -> str:
    token = answer.get("token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise DevLoginError("The development LoginRocket created a session without a token.")
    return token
