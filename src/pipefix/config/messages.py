"""How a problem in `pipefix.yaml` is worded: `file:line: key.path: message`.

A key path (`Loc`) printed as `tables.orders.columns[0]`, the line of its deepest part still in the
file, a YAML value shown as a person wrote it, and pydantic's validation errors turned into one
message per problem, sorted by line, with a close match offered for a misspelt key.
"""

from __future__ import annotations

import difflib
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Loc = tuple[str | int, ...]


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int:
    """The line of the deepest node of `loc` present in the file."""
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return 1


def _describe(exc: ValidationError, lines: dict[Loc, int], source: str, root: type[BaseModel]) -> str:
    """One `file:line: key.path: message` per problem; `root`: the model validated, whose keys are offered."""
    found: list[tuple[int, str]] = []
    for error in exc.errors(include_url=False):
        loc: Loc = tuple(part for part in error["loc"] if part != "[key]")
        shown = loc[:-1] if error["type"] in ("missing", "extra_forbidden") and loc else loc
        line = _line_of(loc, lines)
        message = _message(error, loc, root)
        text = f"{source}:{line}: {_dotted(shown)}: {message}" if shown else f"{source}:{line}: {message}"
        if text not in (t for _, t in found):
            found.append((line, text))
    found.sort(key=lambda item: item[0])
    return "\n".join(text for _, text in found)


def _message(error: ErrorDetails, loc: Loc, root: type[BaseModel]) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    given = error.get("input")
    name = loc[-1] if loc else ""
    if kind == "missing":
        return f"missing required key {name!r}"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1], root)
        if not allowed:
            return f"unknown key {name!r}"
        close = difflib.get_close_matches(str(name), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key {name!r} ({hint}allowed: {', '.join(allowed)})"
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "string_type":
        return f"expected text, got {_show(given)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping of `key: value` settings, got {_show(given)}"
    if kind in ("list_type", "tuple_type"):
        return f"expected a list, got {_show(given)}"
    if kind.startswith("bool_"):
        return f"expected true or false, got {_show(given)}"
    if kind.startswith("int_"):
        return f"expected a whole number, got {_show(given)}"
    if kind.startswith("float_") or kind == "finite_number":
        return f"expected a finite number, got {_show(given)}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected', 'one of the allowed values')}, got {_show(given)}"
    if kind == "too_short":
        return "must not be empty"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, got {_show(given)}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}, got {_show(given)}"
    msg = str(error["msg"])
    return msg[:1].lower() + msg[1:]


def _show(value: object) -> str:
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (YAML reads yes/no/on/off as true/false; quote a value meant as text)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    if isinstance(value, int | float):
        return f"the number {value!r}"
    return f"a {type(value).__name__} value"


def _allowed_keys(loc: Loc, root: type[BaseModel]) -> list[str]:
    """The keys the model at `loc` accepts, by following field annotations from `root` (PipefixConfig)."""
    current: Any = root
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return []
        if get_origin(current) in (Union, types.UnionType):
            current = next((a for a in get_args(current) if a is not type(None)), None)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []
