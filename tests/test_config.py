"""pipefix.yaml on real files: the example loads, each mistake is reported at its line and key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipefix.config import (
    ConfigError,
    LoadedConfig,
    PipefixConfig,
    WarehouseTarget,
    load_config,
    parse_duration,
    redact_url,
)
from pipefix.pipeline.contracts import ColumnSpec, Contract
from pipefix.pipeline.landing import LandingRules
from tests.tiers import examples

# The example from the interface description; line numbers below refer to it.
EXAMPLE = """\
warehouse: duckdb:///warehouse.duckdb   # path relative to this file
landing: landing
tables:
  orders:
    key: order_id
    columns:
      order_id:   {type: bigint, nullable: false}
      price_usd:  {type: double, min: 0}
      status:     {type: varchar, values: [new, paid, shipped]}
      created_at: {type: timestamp}
    freshness: 24h
policies:
  add_column: auto
  remove_column: auto
  rename_column: auto
  type_change: approve
budget: {max_fixes: 15}
goal: {health: 0.95, error_rate: 0.02}
"""

MINIMAL = """\
warehouse: duckdb:///w.duckdb
tables:
  t:
    columns:
      a: {type: bigint}
"""

TYPES = "(use bigint, integer, double, decimal(p,s), varchar, boolean, timestamp, timestamptz, date, json)"


def write(folder: Path, text: str, name: str = "pipefix.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def edited(old: str, new: str, text: str = EXAMPLE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# ------------------------------------------------------------------------------------ the example


def test_example_loads_into_contracts(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, EXAMPLE))
    assert isinstance(loaded, LoadedConfig)
    assert loaded.path == (tmp_path / "pipefix.yaml").resolve()
    assert loaded.contracts() == {
        "orders": Contract(
            "orders",
            1,
            (
                ColumnSpec("order_id", "bigint", nullable=False),
                ColumnSpec("price_usd", "double", min=0),
                ColumnSpec("status", "varchar", values=("new", "paid", "shipped")),
                ColumnSpec("created_at", "timestamp"),
            ),
            key="order_id",
            freshness_column="created_at",
            freshness_seconds=86400,
        )
    }
    config = loaded.config
    assert config.policies.type_change == "approve"
    assert config.policies.add_column == "auto"
    assert config.budget.max_fixes == 15
    assert (config.goal.health, config.goal.error_rate) == (0.95, 0.02)
    assert loaded.landing_dir() == tmp_path.resolve() / "landing"


def test_defaults_for_optional_sections(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, MINIMAL + "policies:\n"))
    config = loaded.config
    assert (config.landing.path, loaded.landing_rules()) == ("landing", LandingRules(5, False))
    # A new table is a new commitment: approved first (tools/new_tables.py).
    assert config.policies.model_dump() == {"add_table": "approve"} | dict.fromkeys(
        ("add_column", "remove_column", "rename_column", "type_change"), "auto"
    )
    assert config.budget.max_fixes == 15
    assert (config.goal.health, config.goal.error_rate) == (0.95, 0.02)
    contract = loaded.contracts()["t"]
    assert contract.key is None
    assert contract.freshness_column is None
    assert contract.freshness_seconds is None


def test_columns_keep_file_order_and_types_are_normalised(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "      a: {type: bigint}\n",
        "      z: {type: BIGINT}\n"
        '      m: {type: "Decimal(12, 2)", min: -5, max: 5}\n'
        "      a: {type: date}\n"
        "      b: {type: timestamp}\n"
        "      c: {type: timestamp}\n",
    ).replace("  t:\n", "  t:\n    freshness: 90s\n")
    contract = load_config(write(tmp_path, text)).contracts()["t"]
    assert contract.column_names == ("z", "m", "a", "b", "c")
    assert [c.type for c in contract.columns] == ["bigint", "decimal(12,2)", "date", "timestamp", "timestamp"]
    assert (contract.column("m") or ColumnSpec("x", "json")).max == 5
    assert contract.freshness_column == "b"
    assert contract.freshness_seconds == 90


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604800)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "      a: {type: bigint}\n",
        "      a: &id {type: bigint, nullable: false}\n      b: {<<: *id, nullable: true}\n",
    )
    contract = load_config(write(tmp_path, text)).contracts()["t"]
    assert contract.columns == (ColumnSpec("a", "bigint", nullable=False), ColumnSpec("b", "bigint"))


def test_keys_are_read_as_written(tmp_path: Path) -> None:
    """`on`, `yes` or `null` as a column name stays a name (plain YAML would read a boolean or null)."""
    text = MINIMAL.replace(
        "      a: {type: bigint}\n", "      on: {type: bigint}\n      null: {type: json}\n"
    )
    assert load_config(write(tmp_path, text)).contracts()["t"].column_names == ("on", "null")


# ---------------------------------------------------------------------------- validation errors

CASES = [
    pytest.param(
        "price_usd:  {type: double",
        "price_usd:  {type: dble",
        f"8: tables.orders.columns.price_usd.type: unknown type 'dble' {TYPES}",
        id="unknown-type",
    ),
    pytest.param(
        "price_usd:  {type: double",
        'price_usd:  {type: "decimal(40,2)"',
        "8: tables.orders.columns.price_usd.type: invalid type 'decimal(40,2)': "
        "decimal(p,s) needs a precision",
        id="impossible-decimal",
    ),
    pytest.param(
        "price_usd:  {type: double",
        "price_usd:  {type: decimal(12,2)",
        "8: tables.orders.columns.price_usd.type: incomplete type 'decimal(12': inside {...} a comma",
        id="unquoted-decimal-in-flow-mapping",
    ),
    pytest.param(
        "  orders:",
        "  order-s:",
        "4: tables.order-s: invalid table name 'order-s': use letters, digits and underscores",
        id="bad-table-name",
    ),
    pytest.param(
        "  orders:",
        "  " + "o" * 64 + ":",
        f"4: tables.{'o' * 64}: table name 'oooooooooooooooooooooooo...' is longer than 63 characters",
        id="long-table-name",
    ),
    pytest.param(
        "  orders:",
        "  pipefix_runs:",
        "4: tables.pipefix_runs: table name 'pipefix_runs' is reserved",
        id="reserved-table-name",
    ),
    pytest.param(
        "      status:",
        "      _pipefix_batch:",
        "9: tables.orders.columns._pipefix_batch: column name '_pipefix_batch' is reserved",
        id="reserved-column-name",
    ),
    pytest.param(
        "      status:",
        "      2nd_status:",
        "9: tables.orders.columns.2nd_status: invalid column name '2nd_status'",
        id="bad-column-name",
    ),
    pytest.param(
        "      status:",
        "      " + "s" * 64 + ":",
        f"9: tables.orders.columns.{'s' * 64}: column name",
        id="long-column-name",
    ),
    pytest.param(
        "      status:",
        "      Price_USD:",
        "6: tables.orders.columns: columns 'price_usd' and 'Price_USD' differ only in case",
        id="columns-differ-only-in-case",
    ),
    pytest.param(
        "key: order_id",
        "key: id",
        "5: tables.orders.key: key 'id' is not one of the table's columns "
        "(order_id, price_usd, status, created_at)",
        id="key-not-a-column",
    ),
    pytest.param(
        "{type: double, min: 0}",
        "{type: double, min: 10, max: 1}",
        "8: tables.orders.columns.price_usd.max: max (1) is below min (10)",
        id="min-above-max",
    ),
    pytest.param(
        "{type: varchar, values",
        "{type: varchar, min: 1, values",
        "9: tables.orders.columns.status.min: min applies to numeric columns only, not varchar",
        id="min-on-text",
    ),
    pytest.param(
        "created_at: {type: timestamp}",
        "created_at: {type: timestamp, values: [a]}",
        "10: tables.orders.columns.created_at.values: values apply to varchar columns only, not timestamp",
        id="values-on-timestamp",
    ),
    pytest.param(
        "values: [new, paid, shipped]",
        "values: []",
        "9: tables.orders.columns.status.values: must not be empty",
        id="empty-values",
    ),
    pytest.param(
        "values: [new, paid, shipped]",
        "values: [new, yes]",
        "9: tables.orders.columns.status.values[1]: expected text, got true (YAML reads yes/no/on/off",
        id="yaml-boolean-in-values",
    ),
    pytest.param(
        "freshness: 24h",
        "freshness: 24 hours",
        "11: tables.orders.freshness: invalid duration '24 hours': use a positive number and a unit, "
        "like 90s, 30m, 24h or 7d",
        id="bad-freshness",
    ),
    pytest.param(
        "freshness: 24h",
        "freshness: 3600",
        "11: tables.orders.freshness: expected a duration like 90s, 30m, 24h or 7d, got the number 3600",
        id="freshness-without-unit",
    ),
    pytest.param(
        "freshness: 24h",
        "freshness: 0s",
        "11: tables.orders.freshness: invalid duration '0s'",
        id="zero-freshness",
    ),
    pytest.param(
        "created_at: {type: timestamp}",
        "created_at: {type: date}",
        "11: tables.orders.freshness: freshness is measured on a timestamp column, and this table has none",
        id="freshness-without-timestamp",
    ),
    pytest.param(
        "warehouse: duckdb:///warehouse.duckdb",
        "warehouse: sqlite:///warehouse.db",
        "1: warehouse: unsupported warehouse 'sqlite': use duckdb:///<file> or postgresql://",
        id="unsupported-warehouse",
    ),
    pytest.param(
        "warehouse: duckdb:///warehouse.duckdb",
        "warehouse: duckdb:///",
        "1: warehouse: duckdb:/// needs a file",
        id="duckdb-without-file",
    ),
    pytest.param(
        "add_column: auto",
        "add_column: sometimes",
        "13: policies.add_column: expected 'auto', 'approve' or 'block', got 'sometimes'",
        id="bad-policy",
    ),
    pytest.param(
        "type_change: approve",
        "type_change: approve\n  drop_table: auto",
        "17: policies: unknown key 'drop_table' "
        "(did you mean 'add_table'? "
        "allowed: add_column, remove_column, rename_column, type_change, add_table)",
        id="unknown-policy",
    ),
    pytest.param(
        "max_fixes: 15",
        "max_fixes: -1",
        "17: budget.max_fixes: must be at least 0, got the number -1",
        id="negative-budget",
    ),
    pytest.param(
        "max_fixes: 15",
        "max_fixes: lots",
        "17: budget.max_fixes: expected a whole number, got 'lots'",
        id="budget-not-a-number",
    ),
    pytest.param(
        "health: 0.95",
        "health: 1.5",
        "18: goal.health: must be at most 1.0, got the number 1.5",
        id="health-above-one",
    ),
    pytest.param(
        "error_rate: 0.02",
        "error_rate: -0.1",
        "18: goal.error_rate: must be at least 0.0, got the number -0.1",
        id="negative-error-rate",
    ),
    pytest.param(
        "health: 0.95",
        "health: .nan",
        "18: goal.health: expected a finite number, got the number nan",
        id="nan-health",
    ),
    pytest.param(
        "order_id:   {type: bigint, nullable: false}",
        "order_id:   {type: bigint, nulable: false}",
        "7: tables.orders.columns.order_id: unknown key 'nulable' (did you mean 'nullable'? "
        "allowed: type, nullable, min, max, values, source)",
        id="unknown-column-key",
    ),
    pytest.param(
        "order_id:   {type: bigint, nullable: false}",
        "order_id:   {type: bigint, nullable: maybe}",
        "7: tables.orders.columns.order_id.nullable: expected true or false, got 'maybe'",
        id="nullable-not-a-boolean",
    ),
    pytest.param(
        "created_at: {type: timestamp}",
        "created_at: {nullable: true}",
        "10: tables.orders.columns.created_at: missing required key 'type'",
        id="missing-type",
    ),
    pytest.param(
        "    columns:\n",
        "    colums:\n",
        "6: tables.orders: unknown key 'colums' "
        "(did you mean 'columns'? allowed: columns, key, freshness, csv)",
        id="misspelt-columns",
    ),
    pytest.param(
        "landing: landing",
        "landing: landing\nwarehous: x",
        "3: unknown key 'warehous' (did you mean 'warehouse'? allowed: warehouse, landing, tables",
        id="unknown-top-level-key",
    ),
    pytest.param(
        "warehouse: duckdb:///warehouse.duckdb   # path relative to this file\n",
        "",
        "1: missing required key 'warehouse'",
        id="missing-warehouse",
    ),
    pytest.param(
        "budget: {max_fixes: 15}",
        "budget: [15]",
        "17: budget: expected a mapping of `key: value` settings, got a list",
        id="section-not-a-mapping",
    ),
    pytest.param(
        "landing: landing",
        "landing: landing\nwarehouse: duckdb:///other.duckdb",
        "3: warehouse: duplicate key (first written on line 1)",
        id="duplicate-key",
    ),
    pytest.param(
        "landing: landing",
        "landing: {path: landing, settle: 5}",
        "2: landing.settle: expected a duration like 5s, 30s or 2m (0s: read files at once), "
        "got the number 5",
        id="settle-without-unit",
    ),
    pytest.param(
        "landing: landing",
        "landing:\n  path: landing\n  settle: soon",
        "4: landing.settle: invalid duration 'soon': use a number and a unit, like 5s, 30s or 2m",
        id="settle-not-a-duration",
    ),
    pytest.param(
        "landing: landing",
        "landing:\n  path: landing\n  require_succes_marker: true",
        "4: landing: unknown key 'require_succes_marker' (did you mean 'require_success_marker'? "
        "allowed: path, settle, require_success_marker)",
        id="misspelt-landing-key",
    ),
    pytest.param(
        "landing: landing",
        "landing: {path: '  '}",
        "2: landing.path: must name a folder, like landing",
        id="landing-path-blank",
    ),
]


def test_landing_as_a_folder_or_with_its_rules(tmp_path: Path) -> None:
    """`landing: in` is short for `landing: {path: in}`; the quiet time defaults to 5 s, 0s reads
    files at once."""
    short = load_config(write(tmp_path, edited("landing: landing", "landing: in")))
    assert (short.landing_dir(), short.landing_rules()) == (tmp_path.resolve() / "in", LandingRules(5, False))
    text = edited("landing: landing", "landing:\n  path: in\n  settle: 2m\n  require_success_marker: true")
    long = load_config(write(tmp_path, text))
    assert (long.landing_dir(), long.landing_rules()) == (tmp_path.resolve() / "in", LandingRules(120, True))
    at_once = load_config(write(tmp_path, edited("landing: landing", "landing: {settle: 0s}")))
    assert at_once.landing_rules() == LandingRules()
    assert at_once.landing_dir() == tmp_path.resolve() / "landing"


@pytest.mark.parametrize(("old", "new", "expected"), CASES)
def test_validation_errors_name_line_and_key_path(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = write(tmp_path, edited(old, new))
    message = error_of(path)
    assert any(line.startswith(f"{path}:{expected}") for line in message.splitlines()), message
    assert "Traceback" not in message


def test_example_message_format(tmp_path: Path) -> None:
    path = write(tmp_path, edited("{type: double", "{type: dble"))
    assert error_of(path) == (
        f"{path}:8: tables.orders.columns.price_usd.type: unknown type 'dble' (use bigint, integer, "
        "double, decimal(p,s), varchar, boolean, timestamp, timestamptz, date, json)"
    )


def test_every_problem_is_reported_in_line_order(tmp_path: Path) -> None:
    text = edited("health: 0.95", "health: 2")
    text = edited("freshness: 24h", "freshness: soon", text)
    text = edited("{type: double", "{type: dble", text)
    text = edited("add_column: auto", "add_column: yes", text)
    path = write(tmp_path, text)
    lines = error_of(path).splitlines()
    assert [line.split(":")[1] for line in lines] == ["8", "11", "13", "18"]
    assert all(line.startswith(f"{path}:") for line in lines)


def test_empty_tables_and_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "warehouse: duckdb:///w.duckdb\ntables: {}\n")
    assert error_of(path) == f"{path}:2: tables: must not be empty"
    path = write(tmp_path, "warehouse: duckdb:///w.duckdb\ntables:\n  t:\n    columns: {}\n")
    assert error_of(path) == f"{path}:4: tables.t.columns: must not be empty"
    path = write(tmp_path, "warehouse: duckdb:///w.duckdb\ntables:\n  t:\n    key: a\n")
    assert error_of(path) == f"{path}:3: tables.t: missing required key 'columns'"


def test_tables_differing_only_in_case(tmp_path: Path) -> None:
    table = "    columns: {a: {type: bigint}}\n"
    path = write(tmp_path, f"warehouse: duckdb:///w.duckdb\ntables:\n  Orders:\n{table}  orders:\n{table}")
    assert error_of(path) == (
        f"{path}:2: tables: tables 'Orders' and 'orders' differ only in case; "
        "the warehouse cannot tell them apart"
    )


def test_missing_line_falls_back_to_the_deepest_existing_node(tmp_path: Path) -> None:
    text = "warehouse: duckdb:///w.duckdb\ntables:\n  t:\n    columns:\n      a:\n        nullable: false\n"
    path = write(tmp_path, text)
    assert error_of(path) == f"{path}:5: tables.t.columns.a: missing required key 'type'"


def test_merged_keys_report_the_mapping_own_lines(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "      a: {type: bigint}\n",
        "      a: &id {type: bigint}\n      b:\n        <<: *id\n        type: dbl\n",
    )
    path = write(tmp_path, text)
    assert error_of(path).startswith(f"{path}:8: tables.t.columns.b.type: unknown type 'dbl'")


# ----------------------------------------------------------------------------- environment


def test_environment_variables_are_substituted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPEFIX_TEST_PW", "s3cr:t")
    monkeypatch.setenv("PIPEFIX_TEST_HOST", "db.internal")
    monkeypatch.setenv("PIPEFIX_TEST_STATUS", "shipped")
    monkeypatch.setenv("PIPEFIX_TEST_FIXES", "4")
    text = edited(
        "warehouse: duckdb:///warehouse.duckdb",
        "warehouse: postgresql://loader:${PIPEFIX_TEST_PW}@${PIPEFIX_TEST_HOST}:5432/analytics",
    )
    text = edited("shipped]", "'${PIPEFIX_TEST_STATUS}', \"x${PIPEFIX_TEST_STATUS}\"]", text)
    text = edited("budget: {max_fixes: 15}", "budget:\n  max_fixes: ${PIPEFIX_TEST_FIXES}", text)
    loaded = load_config(write(tmp_path, text))
    assert loaded.config.warehouse == "postgresql://loader:s3cr:t@db.internal:5432/analytics"
    assert loaded.contracts()["orders"].columns[2].values == ("new", "paid", "shipped", "xshipped")
    assert loaded.config.budget.max_fixes == 4


def test_unset_environment_variable_names_it_and_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIPEFIX_TEST_UNSET", raising=False)
    path = write(tmp_path, edited("values: [new, paid, shipped]", "values: [new, '${PIPEFIX_TEST_UNSET}']"))
    assert error_of(path) == (
        f"{path}:9: tables.orders.columns.status.values[1]: "
        "environment variable 'PIPEFIX_TEST_UNSET' is not set"
    )


def test_unquoted_variable_in_flow_collection_gets_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, edited("budget: {max_fixes: 15}", "budget: {max_fixes: ${FIXES}}"))
    assert error_of(path) == (
        f"{path}:17:22: invalid YAML: "
        "expected ',' or '}', but got '{' (while parsing a flow mapping); "
        "inside [...] or {...}, put values that use ${NAME} in quotes"
    )


def test_dollar_without_braces_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOME_DIR", raising=False)
    path = write(tmp_path, edited("landing: landing", "landing: $HOME_DIR/in ${not a var}"))
    assert load_config(path).config.landing.path == "$HOME_DIR/in ${not a var}"


# ------------------------------------------------------------------------ unreadable input


def test_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, edited("key: order_id", "key: order_id: x"))
    assert error_of(path) == f"{path}:5:18: invalid YAML: mapping values are not allowed here"


def test_unclosed_flow_sequence(tmp_path: Path) -> None:
    path = write(tmp_path, edited("values: [new, paid, shipped]}", "values: [new, paid, shipped}"))
    assert error_of(path).startswith(f"{path}:9:")
    assert "invalid YAML: " in error_of(path)


def test_tab_indentation(tmp_path: Path) -> None:
    path = write(tmp_path, "warehouse: duckdb:///w.duckdb\ntables:\n\tt: {}\n")
    assert error_of(path) == (
        f"{path}:3:1: invalid YAML: found character '\\t' that cannot start any token "
        "(while scanning for the next token)"
    )


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "pipefix.yaml"
    assert error_of(path).startswith(f"{path}: no such file")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    assert error_of(tmp_path) == f"{tmp_path}: is a folder, not a config file"


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing but a comment\n", "~\n", "---\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert error_of(path) == (
        f"{path}: the file has no settings; it needs at least `warehouse:` and `tables:`"
    )


@pytest.mark.parametrize(
    ("text", "got"), [("- warehouse\n- tables\n", "a list"), ("just some words\n", "a single value")]
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, got: str) -> None:
    path = write(tmp_path, text)
    assert error_of(path) == (
        f"{path}:1: expected settings as `key: value` lines (warehouse, tables, ...), got {got}"
    )


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "pipefix.yaml"
    path.write_bytes(b"warehouse: duckdb:///w.duckdb\nlanding: caf\xe9\n")
    assert error_of(path) == f"{path}:2: not valid UTF-8 text (byte 0xe9)"


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "pipefix.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load_config(path).config.warehouse == "duckdb:///w.duckdb"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: !!python/object:os.system {}\n",
            "1:4: invalid YAML: tag 'tag:yaml.org,2002:python/object:os.system'",
        ),
        ("a: !custom text\n", "1:4: invalid YAML: could not determine a constructor for the tag '!custom'"),
        ("a: &x [*x]\n", "1: a[0]: an alias refers to the value that contains it"),
        ("a: 2026-13-45\n", "1: a: cannot read '2026-13-45': month must be in 1..12"),
        ("? [a, b]\n: c\n", "1: a key must be a plain name, not a list or a mapping"),
        ("a: \x07\n", "1:4: invalid YAML: character #x0007 is not allowed"),
        ("--- a\n--- b\n", "2:1: invalid YAML: but found another document"),
    ],
)
def test_hostile_or_odd_yaml(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    assert error_of(path).startswith(f"{path}:{expected}")


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[level]
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]")
    path = write(tmp_path, "\n".join(lines) + "\n")
    assert error_of(path) == f"{path}:1: too many values (do aliases expand into each other?)"


def test_deep_nesting(tmp_path: Path) -> None:
    path = write(tmp_path, "a: " + "[" * 5000 + "\n")
    assert error_of(path).startswith(f"{path}")


# ---------------------------------------------------------------------------------- warehouse


def test_relative_duckdb_path_resolves_against_the_config_folder(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    text = edited("duckdb:///warehouse.duckdb", "duckdb:///data/warehouse.duckdb")
    loaded = load_config(write(folder, text))
    target = loaded.warehouse()
    assert target == WarehouseTarget(
        "duckdb", "duckdb:///data/warehouse.duckdb", folder.resolve() / "data" / "warehouse.duckdb"
    )
    assert loaded.redacted_warehouse() == "duckdb:///data/warehouse.duckdb"


def test_relative_config_path_still_resolves_absolutely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, EXAMPLE)
    monkeypatch.chdir(tmp_path)
    loaded = load_config(Path("pipefix.yaml"))
    assert loaded.path.is_absolute()
    assert loaded.warehouse().path == tmp_path.resolve() / "warehouse.duckdb"
    assert loaded.landing_dir() == tmp_path.resolve() / "landing"


def test_absolute_duckdb_and_landing_paths(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    text = edited("duckdb:///warehouse.duckdb", f"duckdb:///{elsewhere}/w.duckdb")
    text = edited("landing: landing", f"landing: {elsewhere}/in", text)
    loaded = load_config(write(tmp_path, text))
    assert str(elsewhere).startswith("/")
    assert loaded.warehouse().path == elsewhere / "w.duckdb"
    assert loaded.landing_dir() == elsewhere / "in"


def test_postgres_url_kept_whole_and_redacted(tmp_path: Path) -> None:
    url = "postgresql://loader:hunter2@db.internal:5432/analytics?sslmode=require"
    loaded = load_config(write(tmp_path, edited("duckdb:///warehouse.duckdb", url)))
    assert loaded.warehouse() == WarehouseTarget("postgres", url, None)
    assert loaded.redacted_warehouse() == "postgresql://loader:***@db.internal:5432/analytics?sslmode=require"
    assert "hunter2" not in loaded.warehouse().redacted()


def test_postgres_scheme_alias(tmp_path: Path) -> None:
    url = "postgres://loader@localhost/analytics"
    loaded = load_config(write(tmp_path, edited("duckdb:///warehouse.duckdb", url)))
    assert loaded.warehouse().kind == "postgres"
    assert loaded.redacted_warehouse() == url


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://:pw@h/db", "postgresql://:***@h/db"),
        ("postgresql://u:p@ss/w?rd@h/db", "postgresql://u:***@h/db"),
        (
            "postgresql://h/db?user=u&password=pw&sslmode=disable",
            "postgresql://h/db?user=u&password=***&sslmode=disable",
        ),
        ("duckdb:///w.duckdb", "duckdb:///w.duckdb"),
        ("not a url", "not a url"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


# ------------------------------------------------------------------------------------------ model


def test_no_model_by_default(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, MINIMAL))
    assert loaded.config.model is None
    assert loaded.model_spec() is None


@pytest.mark.parametrize(
    ("written", "spec"),
    [
        ("offline", "offline"),
        ("openai:gpt-4o", "openai:gpt-4o"),
        ("' anthropic:claude-sonnet-4-5 '", "anthropic:claude-sonnet-4-5"),
        ("ollama:llama3.1", "ollama:llama3.1"),
    ],
)
def test_model_names_who_plans(tmp_path: Path, written: str, spec: str) -> None:
    loaded = load_config(write(tmp_path, MINIMAL + f"model: {written}\n"))
    assert loaded.model_spec() == spec


def test_a_model_script_is_relative_to_the_config(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, MINIMAL + "model: file:answers/plan.json\n"))
    assert loaded.model_spec() == f"file:{tmp_path.resolve() / 'answers' / 'plan.json'}"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (
            "gpt-4o",
            "6: model: 'gpt-4o': use PROVIDER:NAME with a provider of anthropic, openai, ollama, "
            "file:PATH or offline",
        ),
        ("mistral:large", "6: model: 'mistral:large': use PROVIDER:NAME"),
        ("'file:'", "6: model: 'file:': use PROVIDER:NAME"),
        ("[openai, gpt-4o]", "6: model: expected text, got a list"),
    ],
)
def test_a_bad_model_is_reported_at_its_line(tmp_path: Path, written: str, expected: str) -> None:
    path = write(tmp_path, MINIMAL + f"model: {written}\n")
    assert error_of(path).startswith(f"{path}:{expected}")


# ------------------------------------------------------------------------------------ fuzzing

KEYS = [
    "warehouse",
    "landing",
    "tables",
    "orders",
    "columns",
    "key",
    "type",
    "nullable",
    "min",
    "max",
    "values",
    "freshness",
    "policies",
    "add_column",
    "budget",
    "max_fixes",
    "goal",
    "health",
    "error_rate",
    "<<",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(
        [
            "bigint",
            "decimal(12,2)",
            "decimal(99,2)",
            "24h",
            "0s",
            "auto",
            "duckdb:///w",
            "postgresql://u:p@h/d",
        ]
    ),
    st.sampled_from(["${PIPEFIX_FUZZ_UNSET}", "${HOME}", "_pipefix_x", "a" * 70, "yes", "2026-13-45"]),
)
STRUCTURES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
YAMLISH = st.lists(
    st.sampled_from([*"ab:- \n\t[]{},#&*!|>'\"%@`?$\\~.0129", "${HOME}", "<<", "tables", "warehouse"]),
    max_size=120,
).map("".join)
FUZZ = settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def loads_or_config_error(path: Path) -> None:
    """Either the file loads (and everything derived from it works) or it is a ConfigError naming it."""
    loaded: LoadedConfig | None = None
    problem = ""
    try:
        loaded = load_config(path)
    except ConfigError as exc:
        problem = str(exc)
    if loaded is None:
        assert problem.startswith(f"{path}:")
    else:
        assert isinstance(loaded.config, PipefixConfig)
        loaded.contracts()
        loaded.warehouse()
        loaded.redacted_warehouse()
        loaded.landing_dir()


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "pipefix.yaml"


@FUZZ
@given(text=st.text(max_size=300))
def test_fuzz_random_text(fuzz_file: Path, text: str) -> None:
    fuzz_file.write_text(text, encoding="utf-8", errors="surrogatepass")
    loads_or_config_error(fuzz_file)


@FUZZ
@given(text=YAMLISH)
def test_fuzz_yaml_punctuation(fuzz_file: Path, text: str) -> None:
    fuzz_file.write_text(text, encoding="utf-8")
    loads_or_config_error(fuzz_file)


@FUZZ
@given(data=st.binary(max_size=200))
def test_fuzz_random_bytes(fuzz_file: Path, data: bytes) -> None:
    fuzz_file.write_bytes(data)
    loads_or_config_error(fuzz_file)


@FUZZ
@given(structure=STRUCTURES)
def test_fuzz_random_structures(fuzz_file: Path, structure: Any) -> None:
    fuzz_file.write_text(yaml.safe_dump(structure), encoding="utf-8")
    loads_or_config_error(fuzz_file)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


EXAMPLE_DATA: dict[str, Any] = yaml.safe_load(EXAMPLE)
EXAMPLE_PATHS = _paths(EXAMPLE_DATA)[1:]


@FUZZ
@given(path=st.sampled_from(EXAMPLE_PATHS), replacement=STRUCTURES, as_key=st.booleans())
def test_fuzz_mutated_example(fuzz_file: Path, path: tuple[Any, ...], replacement: Any, as_key: bool) -> None:
    """The valid example with one value (or key) replaced by something random."""
    data = yaml.safe_load(EXAMPLE)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if as_key and isinstance(parent, dict) and isinstance(replacement, str | int | bool | None):
        parent[replacement] = parent.pop(path[-1])
    else:
        parent[path[-1]] = replacement
    fuzz_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    loads_or_config_error(fuzz_file)
