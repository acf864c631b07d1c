"""Loading `pipefix.yaml`: read it (reader.py), validate it (schema.py), word each problem (messages.py)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from pipefix.config.loaded import LoadedConfig
from pipefix.config.messages import _describe
from pipefix.config.reader import _parse, _read_text
from pipefix.config.schema import PipefixConfig
from pipefix.errors import ConfigError


def load_config(path: Path) -> LoadedConfig:
    """Read and validate a config file. Every problem, including bad YAML, raises ConfigError."""
    source = str(path)
    text = _read_text(path, source)
    data, lines = _parse(text, source)
    try:
        config = PipefixConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, lines, source, PipefixConfig)) from None
    return LoadedConfig(config, path.resolve(), lines, source)
