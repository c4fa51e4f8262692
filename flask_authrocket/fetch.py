"""Outbound HTTP with bounds: one GET of a JSON document, limited in time, size and depth.

Ground floor, no Flask. The key-set fetch and the diagnostics of ``flask
authrocket check`` go through :func:`get_json`, so they share one set of
limits: a deadline for the whole body (not per read), a size limit, and JSON
that cannot raise anything but :class:`FetchError`. ``requests`` is imported on
the first call, not when the package is imported.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests


class FetchError(ValueError):
    """A GET that gave no usable JSON document.

    ``kind`` says which way it failed: ``"timeout"`` or ``"unreachable"`` (nothing
    answered: :attr:`unreachable` is true), ``"status"`` (an answer other than
    200; ``status`` holds it), ``"oversize"`` or ``"not_json"`` (``start`` holds
    the first characters of the body).
    """

    def __init__(self, message: str, kind: str, *, status: int | None = None, start: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.start = start

    @property
    def unreachable(self) -> bool:
        """True when nothing answered at all (refused, no such host, timed out)."""
        return self.kind in ("timeout", "unreachable")


def new_session() -> requests.Session:
    """A :class:`requests.Session`, importing requests only now."""
    import requests

    return requests.Session()


def get_json(http: requests.Session, url: str, *, timeout: float, max_bytes: int) -> Any:
    """GET ``url`` and return its JSON, within ``timeout`` seconds and ``max_bytes`` bytes in all.

    Raises :class:`FetchError` for anything else: no answer, a status other
    than 200, a body too large, or a body that is not JSON (however deeply
    nested: ``RecursionError`` is a failed call too).
    """
    import requests

    deadline = time.monotonic() + timeout
    body = bytearray()
    try:
        with http.get(url, timeout=timeout, stream=True, headers={"Accept": "application/json"}) as answer:
            status = answer.status_code
            for chunk in answer.iter_content(8192):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(f"{url} answered over {max_bytes // 1024} KB", "oversize", status=status)
                if time.monotonic() > deadline:
                    raise requests.Timeout(f"{url} took over {timeout:g} s")
    except requests.Timeout as exc:
        raise FetchError(f"{url} did not answer within {timeout:g} s", "timeout") from exc
    except requests.RequestException as exc:
        raise FetchError(f"{url} is unreachable: {network_reason(exc)}", "unreachable") from exc
    if status != 200:
        raise FetchError(f"{url} answered HTTP {status}", "status", status=status)
    try:
        return json.loads(bytes(body))
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        start = bytes(body[:40]).decode("utf-8", "replace")
        raise FetchError(f"{url} answered something that is not JSON", "not_json", status=status, start=start) from exc


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def network_reason(exc: BaseException) -> str:
    """The few words that matter in a connection error: ``"Connection refused"``, a name that does not resolve."""
    text = str(exc)
    if "NameResolutionError" in text or "Name or service not known" in text or "nodename nor servname" in text:
        return "the host name does not resolve"
    found = _ERRNO.search(text)
    if found:
        return found.group(1).strip()
    return type(exc).__name__
