"""JSON round-trips for the domain's dataclasses, through pydantic (no hand-written codecs)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import TypeAdapter

T = TypeVar("T")


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(kind: Any) -> TypeAdapter[Any]:
    if kind not in _ADAPTERS:
        _ADAPTERS[kind] = TypeAdapter(kind)
    return _ADAPTERS[kind]


def to_json(value: object) -> str:
    data = _adapter(type(value)).dump_python(value, mode="json")
    return json.dumps(data, sort_keys=True)


def dump_as(kind: Any, value: object) -> str:
    """JSON for a value of a generic type (e.g. `tuple[Constraint, ...]`)."""
    return json.dumps(_adapter(kind).dump_python(value, mode="json"), sort_keys=True)


def load_as(kind: Any, text: str) -> Any:
    return _adapter(kind).validate_json(text)


def to_plain(value: object) -> Any:
    return _adapter(type(value)).dump_python(value, mode="json")


def from_json(kind: type[T], text: str) -> T:
    result: T = _adapter(kind).validate_json(text)
    return result


def from_plain(kind: type[T], data: object) -> T:
    result: T = _adapter(kind).validate_python(data)
    return result
