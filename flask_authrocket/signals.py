"""Signals, as Flask's own (blinker): audit logins, count rejections, react to logouts.

Connect a receiver; the sender is the Flask app::

    from flask_authrocket import signals

    @signals.token_rejected.connect_via(app)
    def count_rejection(app, rejection, source, **extra):
        metrics.increment(f"authrocket.rejected.{rejection.reason}")

``session_verified``
    A token of this request verified (sent once per request that has a
    session). Keyword arguments: ``session`` (the :class:`~flask_authrocket.models.Session`)
    and ``source`` (``"query"`` for a return from LoginRocket, i.e. a login;
    ``"bearer"``; ``"cookie"``).
``token_rejected``
    A token sent with this request did not count. Keyword arguments:
    ``rejection`` (a :class:`~flask_authrocket.tokens.Rejection` with its
    ``reason``, e.g. ``"expired"``, ``"bad_signature"``, ``"session_ended"``;
    ``rejection.unavailable`` when the keys or the API could not be reached)
    and ``source``.
``logged_out``
    ``full_logout`` or ``local_logout`` ran. Keyword arguments: ``session``
    (the session that ended, or ``None`` when nobody was logged in) and
    ``everywhere`` (``True`` for a full logout, which also ends the LoginRocket
    login and, with managed sessions, the session in the API).

Receivers run inside the request; an exception in one propagates, as with
Flask's signals. Nothing is sent when no receiver is connected, so unused
signals cost nothing.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent when a request's token verified: ``sender=app, session=..., source=...``.
session_verified = _signals.signal("authrocket-session-verified")
#: Sent when a request's token did not count: ``sender=app, rejection=..., source=...``.
token_rejected = _signals.signal("authrocket-token-rejected")
#: Sent by the logout views: ``sender=app, session=..., everywhere=...``.
logged_out = _signals.signal("authrocket-logged-out")

__all__ = ["logged_out", "session_verified", "token_rejected"]
