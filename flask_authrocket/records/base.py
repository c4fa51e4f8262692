"""The base of the Core API's records: :class:`Record`, :class:`RecordError`, and the field declarations.

A typed record declares each field once, with the reader of its JSON type::

    @dataclass(frozen=True, kw_only=True)
    class HookRecord(Record):
        name: str | None = text()
        delay: float | None = number()

and :meth:`Record.from_json` reads them all. Ground floor: no Flask, no requests.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return _EMPTY


class RecordError(ValueError):
    """A JSON object of the Core API that no API answer has: no ``id``, or a field of an impossible type."""


_R = TypeVar("_R", bound="Record")

#: Reads one field from a record's JSON object: ``(data, name) -> value``; raises RecordError.
Reader = Callable[[Mapping[str, Any], str], Any]


@dataclass(frozen=True, kw_only=True)
class Record:
    """One object of the AuthRocket Core API: its ``id``, its kind (``object``) and all its JSON.

    ``record["name"]`` and ``record.get("name")`` read any field of the JSON
    object, typed or not. A resource without a typed kind of its own comes
    back as a plain record.
    """

    id: str
    #: The API's name for the kind of record: ``"user"``, ``"org"``, ``"session"`` ...
    object: str | None = None
    #: Seconds since the epoch.
    created_at: float | None = None
    #: The whole JSON object, read-only.
    attributes: Mapping[str, Any] = field(default_factory=_empty, repr=False, compare=False)

    def __getitem__(self, name: str) -> Any:
        """The field ``name`` of the JSON object (``KeyError`` when absent)."""
        return self.attributes[name]

    def __contains__(self, name: Any) -> bool:
        return name in self.attributes

    def get(self, name: str, default: Any = None) -> Any:
        """The field ``name`` of the JSON object, or ``default``."""
        return self.attributes.get(name, default)

    @classmethod
    def from_json(cls: type[_R], data: Any) -> _R:
        """Build this kind of record from one JSON object of the API.

        Raises :class:`RecordError` (a ``ValueError``) when the object has no
        ``id`` or a field has a type the API never sends.
        """
        if not isinstance(data, Mapping):
            raise RecordError("the record is not a JSON object")
        return cls(
            id=_required_text(data, "id"),
            object=_text(data, "object"),
            created_at=_seconds(data, "created_at"),
            attributes=MappingProxyType(dict(data)),
            **cls._typed_fields(data),
        )

    @classmethod
    def _typed_fields(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """The typed fields a kind of record adds, each read by the reader it was declared with."""
        return {name: read(data, name) for name, read in _readers(cls)}


_READERS: dict[type[Record], tuple[tuple[str, Reader], ...]] = {}


def _readers(cls: type[Record]) -> tuple[tuple[str, Reader], ...]:
    """The typed fields of ``cls`` and their readers, looked up once per kind of record."""
    found = _READERS.get(cls)
    if found is None:
        # Two threads may both build it; they build the same tuple.
        found = tuple((item.name, item.metadata["read"]) for item in dataclasses.fields(cls) if "read" in item.metadata)
        _READERS[cls] = found
    return found


# Field declarations: the reader of the field's JSON type, and its default. ---------------------


def text(*, secret: bool = False) -> Any:
    """A string field (``None`` when absent); ``secret`` keeps it out of ``repr``."""
    return field(default=None, repr=not secret, metadata={"read": _text})


def seconds() -> Any:
    """A time field, in seconds since the epoch (``None`` when absent)."""
    return field(default=None, metadata={"read": _seconds})


def number() -> Any:
    """A whole or decimal number (``None`` when absent)."""
    return field(default=None, metadata={"read": _number})


def flag(default: bool | None = None) -> Any:
    """A true/false field (``default`` when absent)."""
    return field(default=default, metadata={"read": functools.partial(_flag, default=default)})


def texts() -> Any:
    """A list of strings, as a tuple (``()`` when absent)."""
    return field(default=(), metadata={"read": _texts})


def mapping() -> Any:
    """A JSON object, read-only (empty when absent)."""
    return field(default_factory=_empty, metadata={"read": _mapping})


def value(*, secret: bool = False) -> Any:
    """A field whose JSON type the SDKs do not say: kept as the API sends it (``None`` when absent)."""
    return field(default=None, repr=not secret, compare=False, metadata={"read": _as_sent})


def one(kind: Callable[[], type[Record]]) -> Any:
    """An embedded record of ``kind()`` (a callable, so a kind declared later can be named), or ``None``."""
    return field(default=None, repr=False, metadata={"read": functools.partial(_one, kind=kind)})


def many(kind: Callable[[], type[Record]]) -> Any:
    """A list of embedded records of ``kind()``, as a tuple; ``None`` when the answer did not include it."""
    return field(default=None, repr=False, metadata={"read": functools.partial(_many, kind=kind)})


# Readers: (JSON object, field name) -> the field's value; RecordError for a type the API never sends.


def _seconds(data: Mapping[str, Any], name: str) -> float | None:
    found = _number(data, name, "a number of seconds")
    return None if found is None else float(found)


def _checked(data: Mapping[str, Any], name: str, is_valid: Callable[[Any], bool], what: str, missing: Any) -> Any:
    """``data[name]``; ``missing`` when it is absent or null; RecordError saying it is not ``what``
    when ``is_valid`` refuses it. Every reader below is this with its own test and default."""
    found = data.get(name)
    if found is None:
        return missing
    if not is_valid(found):
        raise RecordError(f"{name!r} is not {what}")
    return found


def _is_number(found: Any) -> bool:
    return isinstance(found, (int, float)) and not isinstance(found, bool)


def _is_text(found: Any) -> bool:
    return isinstance(found, str)


def _is_flag(found: Any) -> bool:
    return isinstance(found, bool)


def _is_object(found: Any) -> bool:
    return isinstance(found, dict)


def _is_texts(found: Any) -> bool:
    return isinstance(found, list) and all(isinstance(item, str) for item in found)


def _number(data: Mapping[str, Any], name: str, what: str = "a number") -> float | None:
    found: float | None = _checked(data, name, _is_number, what, None)
    return found


def _text(data: Mapping[str, Any], name: str) -> str | None:
    found: str | None = _checked(data, name, _is_text, "a string", None)
    return found


def _required_text(data: Mapping[str, Any], name: str) -> str:
    found = _text(data, name)
    if not found:
        raise RecordError(f"{name!r} is empty")
    return found


def _flag(data: Mapping[str, Any], name: str, *, default: bool | None) -> bool | None:
    found: bool | None = _checked(data, name, _is_flag, "true or false", default)
    return found


def _mapping(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    found: dict[str, Any] | None = _checked(data, name, _is_object, "an object", None)
    return _EMPTY if found is None else MappingProxyType(found)


def _texts(data: Mapping[str, Any], name: str) -> tuple[str, ...]:
    found: list[str] | None = _checked(data, name, _is_texts, "a list of strings", None)
    return () if found is None else tuple(found)


def _as_sent(data: Mapping[str, Any], name: str) -> Any:
    return data.get(name)


def _one(data: Mapping[str, Any], name: str, *, kind: Callable[[], type[Record]]) -> Record | None:
    found = data.get(name)
    return None if found is None else kind().from_json(found)


def _many(data: Mapping[str, Any], name: str, *, kind: Callable[[], type[Record]]) -> tuple[Record, ...] | None:
    found = data.get(name)
    if found is None:
        return None
    if not isinstance(found, list):
        raise RecordError(f"{name!r} is not a list")
    record_type = kind()
    return tuple(record_type.from_json(item) for item in found)
