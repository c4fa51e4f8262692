"""Keep login tokens, secrets and terminal escapes out of logs: filters, and the redaction and escaping they use.

A login token in a log line is a login: whoever reads the log can replay it
until it expires. LoginRocket sends the browser back with ``?token=<jwt>``, so
every server's access log (gunicorn, werkzeug, a proxy) records live tokens
unless told otherwise. :class:`RedactTokens` is that "otherwise"::

    import logging
    from flask_authrocket.logs import RedactTokens

    logging.getLogger("gunicorn.access").addFilter(RedactTokens())  # or "werkzeug" for flask run

docs/deployment.md ("Tokens in access logs") shows it wired into gunicorn.

Outside text (a kid from a key set, an API's error message, a request path) may hold control
characters: ``\x1b`` sequences that retitle or clear a terminal, a newline that forges a log
line or a line of ``flask authrocket check``. :func:`escape_unprintable` writes each such
character as a JSON escape (``\u001b``); every command passes its output through it, and
:data:`logger`, the package's one logger, escapes every line it logs
(:class:`EscapeUnprintable`), whatever its level and whoever formatted it.

Ground floor: the standard library only, no Flask.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MARK", "EscapeUnprintable", "RedactTokens", "escape_unprintable", "logger", "redact_tokens", "redact_url"]

#: What stands in a log line where a token or a secret was.
MARK = "[redacted]"

# A ``token`` query parameter: at the start of a query string (gunicorn's ``%(q)s``), after ``?``, ``&``
# or ``;``, after a quote or a space (a request line), or percent-encoded inside another URL's parameter
# (``redirect_uri=...%3Ftoken%3D...``). ``access_token=`` and the like do not match: only ``token=``.
_TOKEN_PARAMETER = re.compile(
    r"(?:^|(?<=[?&;\s\"'])|(?<=%3f)|(?<=%26))(token(?:=|%3d))[^&\s\"'#;%]*(?:%(?!26)[^&\s\"'#;%]*)*",
    re.IGNORECASE,
)
# RFC 6750's token68 after the scheme name, in any case, with any spacing.
_BEARER = re.compile(r"\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)

# The user information of a URL: everything between "scheme://" and the last "@" before the path.
_USER_INFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]*://)([^/\s]*)@")
# A network location without its scheme, "user:password@host", as connection errors write it.
_BARE_USER_INFO = re.compile(r"(?:^|(?<=[\s(\"']))([^\s/@:\"'()]*):[^\s/@\"']*@")
# A query parameter that names a secret (redis' ?password=, ?api_key=, ?token=, ...).
_SECRET_PARAMETER = re.compile(
    r"([?&;][^=&#\s]*(?:pass|secret|token|key|auth|credential)[^=&#\s]*=)[^&#\s\"']*", re.IGNORECASE
)


def redact_tokens(text: str) -> str:
    """``text`` with the values of ``token=`` query parameters and of ``Bearer`` credentials replaced by :data:`MARK`.

    ``"GET /?token=eyJ...&keep=1 HTTP/1.1"`` becomes ``"GET /?token=[redacted]&keep=1 HTTP/1.1"``;
    ``"Authorization: Bearer eyJ..."`` becomes ``"Authorization: Bearer [redacted]"``.
    """
    lowered = text.lower()
    if "token" not in lowered and "bearer" not in lowered:
        return text  # most access log lines: no need to run the patterns
    text = _TOKEN_PARAMETER.sub(lambda match: match.group(1) + MARK, text)
    return _BEARER.sub(lambda match: match.group(1) + " " + MARK, text)


def redact_url(text: str) -> str:
    """``text`` with the secrets of any URL in it replaced by ``***``.

    Those are the password of a URL's user information (all of the user
    information when it has no password) and the values of query parameters
    named like a secret (``password``, ``token``, ``api_key``, ...).

    ``"redis://:hunter2@cache:6379/0"`` becomes ``"redis://:***@cache:6379/0"``,
    ``"redis://cache/0?password=hunter2"`` becomes ``"redis://cache/0?password=***"``, and a bare
    ``"could not connect to ada:hunter2@host"`` becomes ``"... ada:***@host"``. For messages
    and ``check``'s table: what is left says which server, never how to log in to it.
    """

    def user_info(match: re.Match[str]) -> str:
        user, colon, _ = match.group(2).partition(":")
        return f"{match.group(1)}{user}:***@" if colon else f"{match.group(1)}***@"

    text = _BARE_USER_INFO.sub(lambda match: match.group(1) + ":***@", _USER_INFO.sub(user_info, text))
    return _SECRET_PARAMETER.sub(lambda match: match.group(1) + "***", text)


class RedactTokens(logging.Filter):
    """A :class:`logging.Filter` that hides login tokens in a record's message and arguments.

    Add it to a logger (``logging.getLogger("gunicorn.access").addFilter(RedactTokens())``) or a
    handler, or name it in a ``dictConfig`` as ``{"()": "flask_authrocket.logs.RedactTokens"}``.
    Every string in ``record.msg`` and ``record.args`` (a tuple, as werkzeug logs, or a mapping, as
    gunicorn's access log does) goes through :func:`redact_tokens`. A mapping is copied, keeping its
    class, so gunicorn's lookups of missing atoms still answer ``"-"``. It never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; always ``True`` (the record is logged)."""
        if isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(_redacted(value) for value in args)
        elif isinstance(args, Mapping):
            record.args = _redacted_mapping(args)
        return True


def _redacted(value: Any) -> Any:
    return redact_tokens(value) if isinstance(value, str) else value


def _redacted_mapping(args: Mapping[str, Any]) -> Mapping[str, Any]:
    changed = {key: redact_tokens(value) for key, value in args.items() if isinstance(value, str)}
    changed = {key: value for key, value in changed.items() if value is not args[key]}
    if not changed:
        return args
    if isinstance(args, dict):
        # The same class (gunicorn's SafeAtoms answers "-" for atoms it lacks); the caller's dict untouched.
        copied = copy.copy(args)
        for key, value in changed.items():
            dict.__setitem__(copied, key, value)
        return copied
    return {**args, **changed}


def escape_unprintable(text: str) -> str:
    """``text`` with every character Python does not call printable written as a JSON escape (``\\u202e``).

    That is every control character (C0, DEL, C1), every format character
    (the bidirectional marks, embeddings, overrides and isolates U+200E/F,
    U+202A-202E, U+2066-2069, U+061C; zero-width characters; tag
    characters), line and paragraph separators, spaces other than the ASCII
    space, surrogates and unassigned code points. Characters beyond U+FFFF are
    written as a surrogate pair, so escaped JSON stays valid JSON.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escaped(char) for char in text)


def _escaped(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


class EscapeUnprintable(logging.Filter):
    """A :class:`logging.Filter` that escapes what is not printable in a record's message (:func:`escape_unprintable`).

    A line whose message is printable is left as it is, template and arguments; one that is not
    becomes its escaped, formatted message (so no argument can bring a control character back).
    :data:`logger` carries one; add it to other loggers or handlers as you like. It never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Escape ``record``'s message in place when it needs it; always ``True``."""
        try:
            message = record.getMessage()
        except Exception:  # a call site's own formatting error: logging reports it, as usual
            return True
        if not message.isprintable():
            record.msg, record.args = escape_unprintable(message), None
        return True


#: The package's one logger, ``flask_authrocket``: every line it logs is escaped (:class:`EscapeUnprintable`).
logger = logging.getLogger("flask_authrocket")
if not any(isinstance(each, EscapeUnprintable) for each in logger.filters):
    logger.addFilter(EscapeUnprintable())
