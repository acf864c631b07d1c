"""The pipeline's configuration file, `pipefix.yaml`.

One module per concern:

- schema.py: the pydantic models of every section (project, tables, columns, policies, budget,
  goal, landing); csv_config.py: a table's `csv:` setting.
- reader.py: the line-tracking YAML reader (`${NAME}` substitution, file:line errors for bad input).
- messages.py: each validation problem worded as `file:line: key.path: message`.
- loaded.py: the validated config beside its file (contracts, adapters, warehouse target).
- load.py: `load_config`, the three put together.

No traceback reaches the user for bad input: every problem raises ConfigError.
"""

from __future__ import annotations

from pipefix.config.csv_config import CsvConfig
from pipefix.config.load import load_config
from pipefix.config.loaded import LoadedConfig, WarehouseTarget, redact_url
from pipefix.config.messages import Loc
from pipefix.config.schema import (
    CONFIG_FILE,
    DUCKDB_PREFIX,
    DURATION_UNITS,
    MAX_NAME_LENGTH,
    POSTGRES_PREFIXES,
    RESERVED_PREFIXES,
    SPARK_PREFIXES,
    TIMESTAMPS,
    TYPE_CHOICES,
    BudgetConfig,
    ColumnConfig,
    ColumnName,
    GoalConfig,
    LandingConfig,
    PipefixConfig,
    Policies,
    PolicyMode,
    TableConfig,
    TableName,
    parse_duration,
    settle_seconds,
)
from pipefix.errors import ConfigError

__all__ = [
    "CONFIG_FILE",
    "DUCKDB_PREFIX",
    "DURATION_UNITS",
    "MAX_NAME_LENGTH",
    "POSTGRES_PREFIXES",
    "RESERVED_PREFIXES",
    "SPARK_PREFIXES",
    "TIMESTAMPS",
    "TYPE_CHOICES",
    "BudgetConfig",
    "ColumnConfig",
    "ColumnName",
    "ConfigError",
    "CsvConfig",
    "GoalConfig",
    "LandingConfig",
    "LoadedConfig",
    "Loc",
    "PipefixConfig",
    "Policies",
    "PolicyMode",
    "TableConfig",
    "TableName",
    "WarehouseTarget",
    "load_config",
    "parse_duration",
    "redact_url",
    "settle_seconds",
]
