"""`init_project`: a new pipeline folder with a commented `pipefix.yaml` and one example batch per table."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipefix.config import CONFIG_FILE, ConfigError

CONFIG_TEMPLATE = """\
# pipefix.yaml: the pipeline pipefix keeps healthy. Every setting is explained below.
# `${NAME}` anywhere in a value is replaced by the environment variable NAME.

# warehouse: where loaded rows live.
#   duckdb:///warehouse.duckdb          a DuckDB file, relative to this file's folder
#   duckdb:////var/data/pipe.duckdb     an absolute path (four slashes)
#   postgresql://loader:${PGPASSWORD}@localhost:5432/analytics
warehouse: duckdb:///warehouse.duckdb

# landing: the folder (relative to this file) where producers drop batch files;
# landing/<table>/ holds that table's batches as *.jsonl, *.csv or *.parquet files.
# A file is read once complete: unchanged for 5 seconds, or at once if the producer writes it
# as *.tmp, *.part, .* or _* (never read) and renames it when done. The long form:
#   landing: {path: landing, settle: 5s, require_success_marker: false}
#     settle                  read a file once unchanged this long (0s: at once)
#     require_success_marker  read a folder's files only once a _SUCCESS file is in it
landing: landing

# tables: one data contract per table.
#   key        optional: a column whose values must be unique
#   columns    the table's columns, in order: name: {type, nullable, min, max, values}
#     type       bigint, integer, double, decimal(p,s), varchar, boolean, timestamp, date or json
#                (quote decimals inside {...}: "decimal(12,2)", since a comma separates settings)
#     nullable   may the value be missing? (default: true)
#     min, max   optional bounds for numeric columns
#     values     optional: the only values a varchar column may hold
#     source     optional: the record field to read, when its name cannot be a column's
#                (a CSV header like "Height(Inches)"); `pipefix init --from SAMPLES` writes these
#   freshness  optional: the newest row must be younger than this (90s, 30m, 24h, 7d),
#              judged on the table's first timestamp column
# Rows that break the contract are held in quarantine with the reason, never dropped.
# Names use letters, digits and _; names starting with pipefix or _pipefix are reserved.
tables:
  orders:
    key: order_id
    columns:
      order_id:    {type: bigint, nullable: false}
      customer_id: {type: bigint}
      price_usd:   {type: "decimal(12,2)", min: 0}
      status:      {type: varchar, values: [new, paid, shipped]}
      created_at:  {type: timestamp}
    freshness: 24h
  customers:
    key: customer_id
    columns:
      customer_id: {type: bigint, nullable: false}
      email:       {type: varchar, nullable: false}
      country:     {type: varchar}
      signup_at:   {type: timestamp}

# policies: what pipefix may do on its own when a producer changes a table's schema.
#   auto      apply the fix, then report it
#   approve   propose the fix and wait for approval
#   block     change nothing; the affected rows stay in quarantine
policies:
  add_column: auto       # a new field appears in the batches
  remove_column: auto    # an expected field stops arriving
  rename_column: auto    # a field arrives under a new name
  type_change: auto      # a field's type changes (e.g. epoch milliseconds instead of a timestamp)

# budget: max_fixes is the most fixes pipefix may apply in one run (0 = monitor only).
budget: {max_fixes: 15}

# goal: the targets pipefix works towards, both between 0 and 1.
#   health       share of contract checks that must pass
#   error_rate   largest share of received rows that may be quarantined
goal: {health: 0.95, error_rate: 0.02}

# model (optional): who plans the fixes. Unset or offline: the deterministic rules.
#   PROVIDER:NAME (anthropic:claude-sonnet-4-5, openai:gpt-4o, ollama:llama3.1) or file:PATH
#   (scripted answers, relative to this file); `pipefix run --model` wins over this line.
#   An API key in the environment never picks a model by itself.
# model: openai:gpt-4o
"""

_EXAMPLE_BATCH = "example-0001.jsonl"
_EXAMPLE_AGE = 60  # seconds: longer than the default quiet time (landing.settle: 5s)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def example_rows(now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Conforming example rows per table, timestamped shortly before `now` so they start out fresh."""
    now = now.replace(microsecond=0)
    customers = [
        (1001, "maria.gonzalez@example.com", "ES", 412),
        (1002, "liam.oconnor@example.org", "IE", 230),
        (1003, "yuki.tanaka@example.net", "JP", 95),
        (1004, "amara.okafor@example.com", "NG", 41),
        (1005, "lucas.martin@example.org", None, 3),
    ]
    orders = [
        (50001, 1001, 24.99, "shipped", 310),
        (50002, 1003, 129.0, "shipped", 245),
        (50003, 1002, 8.5, "paid", 180),
        (50004, 1004, 59.95, "paid", 96),
        (50005, 1001, 310.4, "new", 42),
        (50006, 1005, 17.25, "new", 7),
    ]
    return {
        "orders": [
            {
                "order_id": order_id,
                "customer_id": customer_id,
                "price_usd": price,
                "status": status,
                "created_at": _iso(now - timedelta(minutes=minutes_ago)),
            }
            for order_id, customer_id, price, status, minutes_ago in orders
        ],
        "customers": [
            {
                "customer_id": customer_id,
                "email": email,
                "country": country,
                "signup_at": _iso(now - timedelta(days=days_ago, hours=3)),
            }
            for customer_id, email, country, days_ago in customers
        ],
    }


def init_project(directory: Path, *, now: datetime | None = None) -> list[Path]:
    """Write `pipefix.yaml` and one example JSONL batch per table under `directory` (created if needed).

    Refuses, before writing anything, if the config or an example batch already exists.
    Returns the files written: the config first, then the batches.
    """
    config_path = directory / CONFIG_FILE
    batches = example_rows(now or datetime.now(UTC))
    batch_paths = {table: directory / "landing" / table / _EXAMPLE_BATCH for table in batches}
    if config_path.exists():
        raise ConfigError(
            f"{config_path}: already exists; pipefix init does not overwrite it "
            "(edit it, or initialise another folder)"
        )
    for path in batch_paths.values():
        if path.exists():
            raise ConfigError(f"{path}: already exists; pipefix init does not overwrite batch files")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with config_path.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(CONFIG_TEMPLATE)
        written = [config_path]
        for table, rows in batches.items():
            path = batch_paths[table]
            path.parent.mkdir(parents=True, exist_ok=True)
            lines = "".join(json.dumps(row) + "\n" for row in rows)
            path.write_text(lines, encoding="utf-8", newline="\n")
            # Complete as written: dated before the quiet time a landed file waits (landing.settle),
            # so that the first `pipefix run` reads the examples at once.
            os.utime(path, (time.time() - _EXAMPLE_AGE, time.time() - _EXAMPLE_AGE))
            written.append(path)
    except FileExistsError as exc:
        raise ConfigError(f"{exc.filename or directory}: already exists and is in the way") from None
    except OSError as exc:
        raise ConfigError(f"{directory}: cannot create the project: {exc.strerror or exc}") from None
    return written
