"""Checkpoint serialization that gives back exactly what went in.

LangGraph's default serializer turns tuples into lists, so the domain's frozen dataclasses
come back unhashable and unequal to themselves. Here pipefix's own types go through pydantic
(the same codecs as the warehouse's audit records), tuples stay tuples, and anything else
(LangGraph's internals) is left to LangGraph's serializer. Only `pipefix.*` classes are rebuilt
from a checkpoint, through validation, never by calling arbitrary constructors."""

from __future__ import annotations

import base64
import dataclasses
import enum
import importlib
import json
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from pipefix.domain.serde import from_plain, to_plain
from pipefix.errors import PipefixError

TYPE_NAME = "pipefix-json"


class CheckpointError(PipefixError, ValueError):
    """A checkpoint this version of pipefix cannot read."""


class StateSerializer:
    def __init__(self) -> None:
        self._langgraph = JsonPlusSerializer()

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return TYPE_NAME, json.dumps(self._encode(obj)).encode()

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        type_name, payload = data
        if type_name != TYPE_NAME:
            return self._langgraph.loads_typed(data)
        return self._decode(json.loads(payload))

    def _encode(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, bool | int | float | str):
            return obj
        if isinstance(obj, list):
            return [self._encode(item) for item in obj]
        if isinstance(obj, tuple) and type(obj) is tuple:
            return {"$tuple": [self._encode(item) for item in obj]}
        if isinstance(obj, dict) and all(isinstance(key, str) for key in obj):
            return {"$dict": {key: self._encode(value) for key, value in obj.items()}}
        if _is_pipefix_type(type(obj)):
            kind = type(obj)
            return {"$pipefix": f"{kind.__module__}:{kind.__qualname__}", "value": to_plain(obj)}
        type_name, payload = self._langgraph.dumps_typed(obj)
        return {"$langgraph": type_name, "bytes": base64.b64encode(payload).decode("ascii")}

    def _decode(self, data: Any) -> Any:
        if isinstance(data, list):
            return [self._decode(item) for item in data]
        if not isinstance(data, dict):
            return data
        if "$tuple" in data:
            return tuple(self._decode(item) for item in data["$tuple"])
        if "$dict" in data:
            return {key: self._decode(value) for key, value in data["$dict"].items()}
        if "$pipefix" in data:
            return from_plain(_pipefix_type(data["$pipefix"]), data["value"])
        if "$langgraph" in data:
            return self._langgraph.loads_typed((data["$langgraph"], base64.b64decode(data["bytes"])))
        raise CheckpointError(f"unknown checkpoint value {sorted(data)}")


def _is_pipefix_type(kind: type) -> bool:
    return kind.__module__.startswith("pipefix.") and (
        dataclasses.is_dataclass(kind) or issubclass(kind, enum.Enum)
    )


def _pipefix_type(name: str) -> type:
    module_name, _, qualname = name.partition(":")
    if not module_name.startswith("pipefix.") or "." in qualname:
        raise CheckpointError(f"a checkpoint names {name!r}, not a pipefix type")
    try:
        kind = getattr(importlib.import_module(module_name), qualname)
    except (ImportError, AttributeError) as error:
        raise CheckpointError(f"a checkpoint names {name!r}, unknown to this pipefix") from error
    if not isinstance(kind, type) or not _is_pipefix_type(kind):
        raise CheckpointError(f"a checkpoint names {name!r}, not a pipefix type")
    return kind
