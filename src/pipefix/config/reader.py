"""The reader of `pipefix.yaml`: YAML to plain values, with the line of every key and list item.

Each problem with the file itself (unreadable, not UTF-8, bad YAML, a duplicate key, an alias
loop, a custom tag, an unset `${NAME}`) raises ConfigError as `file:line[:column]: message`, never
a traceback. `${NAME}` in any string value is replaced by the environment variable NAME.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from pipefix.config.messages import Loc, _dotted
from pipefix.errors import ConfigError

_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MERGE_TAG = "tag:yaml.org,2002:merge"
_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_MAX_NODES = 100_000  # guards against alias bombs; a real config has a few hundred nodes


def _read_text(path: Path, source: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{source}: no such file (`pipefix init` writes one; or point to yours with --config)"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a folder, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{source}:{line}: not valid UTF-8 text (byte {raw[exc.start]:#04x})") from None


def _parse(text: str, source: str) -> tuple[dict[str, Any], dict[Loc, int]]:
    """The document as plain values, and the line (1-based) of every key and list item by its path."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        root = loader.get_single_node()
        if root is None or (isinstance(root, ScalarNode) and root.tag.endswith(":null")):
            raise ConfigError(
                f"{source}: the file has no settings; it needs at least `warehouse:` and `tables:`"
            )
        line = root.start_mark.line + 1
        if not isinstance(root, MappingNode):
            raise ConfigError(
                f"{source}:{line}: expected settings as `key: value` lines (warehouse, tables, ...), "
                f"got {'a list' if isinstance(root, SequenceNode) else 'a single value'}"
            )
        reader = _Reader(loader, source)
        reader.lines[()] = line
        data = reader.mapping(root, ())
        return data, reader.lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        problem = exc.problem or exc.context or "cannot parse"
        if exc.problem and exc.context:
            problem += f" ({exc.context})"
        lines = text.splitlines()
        written = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
        if "flow" in problem and "${" in written:
            problem += "; inside [...] or {...}, put values that use ${NAME} in quotes"
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        char = exc.character
        code = (
            char if isinstance(char, int) else ord(char) if isinstance(char, str) and len(char) == 1 else None
        )
        problem = f"character #x{code:04x} is not allowed" if code is not None else exc.reason
        raise ConfigError(f"{source}:{line}:{column}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: invalid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


class _Reader:
    """Turns composed YAML nodes into plain values, recording the line of every key and list item."""

    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.lines: dict[Loc, int] = {}
        self._count = 0
        self._open: set[int] = set()

    def fail(self, node: Node, path: Loc, message: str) -> ConfigError:
        where = f"{self.source}:{node.start_mark.line + 1}"
        return ConfigError(f"{where}: {_dotted(path)}: {message}" if path else f"{where}: {message}")

    @contextmanager
    def _visiting(self, node: Node, path: Loc) -> Iterator[None]:
        self._count += 1
        if self._count > _MAX_NODES:
            raise self.fail(node, (), "too many values (do aliases expand into each other?)")
        if not isinstance(node, ScalarNode) and node.tag not in _COLLECTION_TAGS:
            mark = node.start_mark
            where = f"{self.source}:{mark.line + 1}:{mark.column + 1}"
            raise ConfigError(f"{where}: invalid YAML: tag {node.tag!r} is not supported")
        if id(node) in self._open:
            raise self.fail(node, path, "an alias refers to the value that contains it")
        self._open.add(id(node))
        try:
            yield
        finally:
            self._open.discard(id(node))

    def value(self, node: Node, path: Loc) -> Any:
        if isinstance(node, MappingNode):
            return self.mapping(node, path)
        if isinstance(node, SequenceNode):
            with self._visiting(node, path):
                items: list[Any] = []
                for index, item in enumerate(node.value):
                    self.lines[(*path, index)] = item.start_mark.line + 1
                    items.append(self.value(item, (*path, index)))
                return items
        return self.scalar(node, path)

    def mapping(self, node: MappingNode, path: Loc) -> dict[str, Any]:
        with self._visiting(node, path):
            result: dict[str, Any] = {}
            # `<<: *anchor` merges first, so that the mapping's own keys (and their lines) win.
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                    for source in sources:
                        if not isinstance(source, MappingNode):
                            raise self.fail(source, path, "`<<` can only merge mappings")
                        for key, item in self.mapping(source, path).items():
                            result.setdefault(key, item)
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                if not isinstance(key_node, ScalarNode):
                    raise self.fail(key_node, path, "a key must be a plain name, not a list or a mapping")
                key = str(key_node.value)  # the text as written: `on:` or `1:` stay names
                line = key_node.start_mark.line + 1
                if key in first_line:
                    raise self.fail(
                        key_node, (*path, key), f"duplicate key (first written on line {first_line[key]})"
                    )
                first_line[key] = line
                self.lines[(*path, key)] = line
                result[key] = self.value(value_node, (*path, key))
            return result

    def scalar(self, node: Node, path: Loc) -> Any:
        with self._visiting(node, path):
            try:
                value = self.loader.construct_object(node, deep=True)
            except yaml.YAMLError:
                raise
            except Exception as exc:  # e.g. `2026-13-45` matches YAML's date pattern but is no date
                raise self.fail(node, path, f"cannot read {str(node.value)[:40]!r}: {exc}") from None
            if isinstance(value, str) and "${" in value:
                return self._substitute(value, node, path)
            return value

    def _substitute(self, text: str, node: Node, path: Loc) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            found = os.environ.get(name)
            if found is None:
                raise self.fail(node, path, f"environment variable {name!r} is not set")
            return found

        return _ENV_VAR.sub(replace, text)
