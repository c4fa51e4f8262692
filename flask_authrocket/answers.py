"""Responses that carry constant headers of ours, sent without Werkzeug's second check of them.

A guard's own answer to a logged-in request gets ``Vary: Cookie, Authorization`` and
``Cache-Control: private`` (``request.PRIVATE_LOGIN_HEADERS``). Werkzeug checks every header
value for line breaks twice: when it is added, and again when
:meth:`~werkzeug.wrappers.Response.get_wsgi_headers` copies the headers for the server, on
every response. The extension adds its constants straight to the header list (they are fixed
ASCII, checked here once); :class:`ConstantHeaders` gives the app's response class a
subclass whose ``get_wsgi_headers`` leaves those constants out of the copy it checks and puts
them back after, when they are still the last headers, exactly as added. Whatever else the
response carries, and anything an ``after_request`` function changed, Werkzeug checks and
copies as always; a response class with its own ``get_wsgi_headers``, or a say in its
subclasses, its instances' making or their pickling (:meth:`ConstantHeaders.response_class_for`),
is used as it is. The subclass has the app's class's name, so reprs and logs are
unchanged, and it pickles and copies as the app's class, so a page cache keeps what it kept.

The ground floor: no Flask request cycle here.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Response

#: Werkzeug's own check, done once on the constants instead of on every response.
_LINE_BREAK = re.compile(r"[\r\n]")


class ConstantHeaders:
    """Headers of ours, fixed ASCII, that responses get added at once and sent unchecked.

    :param headers: the ``(name, value)`` pairs, checked here, once, for line breaks.
    """

    def __init__(self, headers: tuple[tuple[str, str], ...]) -> None:
        for name, value in headers:
            if _LINE_BREAK.search(name) or _LINE_BREAK.search(value):
                raise ValueError(f"a header value holds a line break: {name!r}: {value!r}")
        self.headers = headers
        self._classes: dict[type[Response], type[Response]] = {}
        self._lock = threading.Lock()

    def response(self, response_class: type[Response], body: str) -> Response:
        """A response to ``body`` with these headers, of ``response_class`` (or :meth:`response_class_for` it)."""
        made = self._classes.get(response_class)
        if made is None:
            made = self.response_class_for(response_class)
        response = made(body)
        response.headers._list.extend(self.headers)
        return response

    def response_class_for(self, base: type[Response]) -> type[Response]:
        """The subclass of ``base`` that sends these headers without checking them again.

        ``base`` itself when it (or a class between it and Werkzeug's) defines its own
        ``get_wsgi_headers`` (it may want to see every header there), has a say in its
        subclasses (``__init_subclass__``, a metaclass) or in its instances' making or pickling
        (``__new__``, ``__reduce__`` and their kin), or when there are no headers. Made once per
        class, then looked up (an app has one response class, a process a few).
        """
        found = self._classes.get(base)
        if found is not None:
            return found
        with self._lock:
            found = self._classes.get(base)
            if found is None:
                found = self._classes[base] = _subclass(base, self.headers)
        return found


#: What a class may define to have a say in its subclasses, its instances' making or their
#: pickling: such a class gets no subclass of ours, whose pickling rebuilds it empty.
_OWN_SAY = frozenset(
    {
        "__init_subclass__",
        "__new__",
        "__reduce__",
        "__reduce_ex__",
        "__getnewargs__",
        "__getnewargs_ex__",
        "__getstate__",
        "__setstate__",
        "get_wsgi_headers",
    }
)


def _subclass(base: type[Response], constants: tuple[tuple[str, str], ...]) -> type[Response]:
    if not constants or type(base) is not type:  # a metaclass sees (and may keep) every class made
        return base
    if any(_OWN_SAY.intersection(vars(each)) for each in base.__mro__[:-1] if each is not Response):
        return base
    if base.get_wsgi_headers is not Response.get_wsgi_headers:
        return base  # patched on Werkzeug's class: whoever did wants to see every header
    tail = list(constants)
    count = len(tail)

    class ConstantHeadersResponse(base):  # type: ignore[valid-type,misc]
        __doc__ = base.__doc__

        def get_wsgi_headers(self, environ: Any) -> Headers:
            # Looked up on each answer: a method patched since this class was made is honoured.
            send = base.get_wsgi_headers
            headers = self.headers
            items = headers._list if type(headers) is Headers else None
            if items is None or items[-count:] != tail or send is not Response.get_wsgi_headers:
                return send(self, environ)  # changed since they were added: Werkzeug checks everything
            del items[-count:]
            try:
                copied = send(self, environ)
            finally:
                items += tail
            copied._list += tail
            return copied

        def __reduce_ex__(self, protocol: Any) -> Any:
            # Pickled and copied as the app's own class (a cached page, say): this class is made
            # here at run time, and its headers are ordinary ones once it is sent elsewhere.
            _, _, *state = super().__reduce_ex__(protocol)
            return (_instance_of, (base,), *state)

    # The same name in reprs and logs as the app's own class: it is that class, sending less twice.
    ConstantHeadersResponse.__name__ = base.__name__
    ConstantHeadersResponse.__qualname__ = base.__qualname__
    ConstantHeadersResponse.__module__ = base.__module__
    return ConstantHeadersResponse


def _instance_of(cls: type[Response]) -> Response:
    """An empty instance of ``cls``, for pickle to give its state (see ``__reduce_ex__`` above)."""
    return cls.__new__(cls)
