"""DuckDB SQL for applying a contract to raw JSON records. Pure: builds SQL, runs none.

One relation of raw records `(batch_id, line_no, raw)` goes in; every record comes out either
typed and conforming, or with the reasons it does not conform. Batch loads and quarantine
replays share this SQL, so a record is judged the same way whichever path it takes.
"""

from __future__ import annotations

from pipefix.engines.base import literal, quote
from pipefix.engines.types import physical_type
from pipefix.pipeline.contracts import (
    Adapter,
    ColumnSpec,
    Contract,
    TransformKind,
    decimal_scale,
)

# DuckDB evaluates both sides of AND, and json_type() raises on malformed JSON: only a CASE
# guards it. Every test of "is this record a JSON object" goes through this expression.
IS_OBJECT = (
    "(CASE WHEN stage_error IS NOT NULL THEN false "
    "WHEN json_valid(raw) THEN json_type(raw) = 'OBJECT' ELSE false END)"
)

LINEAGE_COLUMNS = ("_pipefix_batch", "_pipefix_line", "_pipefix_loaded_step")

_NUMERIC_JSON = "('BIGINT', 'UBIGINT', 'DOUBLE')"
_INTEGER_JSON = "('BIGINT', 'UBIGINT')"


def create_table_sql(contract: Contract, dialect: str = "duckdb") -> str:
    columns = [f"{quote(c.name)} {physical_type(c.type, dialect)}" for c in contract.columns] + [
        "_pipefix_batch VARCHAR",
        "_pipefix_line BIGINT",
        "_pipefix_loaded_step BIGINT",
    ]
    return f"CREATE TABLE IF NOT EXISTS {quote(contract.table)} ({', '.join(columns)})"


def json_path(field: str) -> str:
    return literal('$."' + field.replace('"', '\\"') + '"')


def _typed_value(logical: str, path: str, jt: str, text: str, kind: TransformKind | None) -> str:
    """The typed value of one field, or NULL when its JSON value does not fit the type."""
    if kind is TransformKind.EPOCH_MS_TO_TIMESTAMP:
        return (
            f"CASE WHEN {jt} IN {_INTEGER_JSON} THEN epoch_ms(TRY_CAST({text} AS BIGINT)) "
            f"WHEN {jt} = 'VARCHAR' THEN TRY_CAST({text} AS TIMESTAMPTZ)::TIMESTAMP END"
        )
    physical = physical_type(logical)
    if logical in ("bigint", "integer"):
        return f"CASE WHEN {jt} IN {_INTEGER_JSON} THEN TRY_CAST({text} AS {physical}) END"
    if logical == "double" or logical.startswith("decimal"):
        return f"CASE WHEN {jt} IN {_NUMERIC_JSON} THEN TRY_CAST({text} AS {physical}) END"
    if logical == "varchar":
        return f"CASE WHEN {jt} = 'VARCHAR' THEN {text} END"
    if logical == "boolean":
        return f"CASE WHEN {jt} = 'BOOLEAN' THEN TRY_CAST({text} AS BOOLEAN) END"
    if logical == "timestamp":
        # Through TIMESTAMPTZ so that an offset is applied, not silently dropped.
        return f"CASE WHEN {jt} = 'VARCHAR' THEN TRY_CAST({text} AS TIMESTAMPTZ)::TIMESTAMP END"
    if logical == "date":
        return f"CASE WHEN {jt} = 'VARCHAR' THEN TRY_CAST({text} AS DATE) END"
    return f"CASE WHEN {jt} <> 'NULL' THEN json_extract(raw, {path}) END"


def _reasons(column: ColumnSpec, jt: str, text: str, value: str) -> tuple[list[str], list[str]]:
    """(schema reasons, value reasons): a record of the wrong shape vs a bad value in it."""
    name = column.name
    present = f"({jt} IS NOT NULL AND {jt} <> 'NULL')"
    schema = []
    if not column.nullable:
        schema.append(f"CASE WHEN NOT {present} THEN {literal(name + ': missing')} END")
    schema.append(
        f"CASE WHEN {present} AND {value} IS NULL THEN "
        f"{literal(name + ': expected ' + column.type + ', got ')} || {jt} "
        f"|| ' ' || left({text}, 40) END"
    )
    values = []
    if decimal_scale(column.type) is not None:
        # Decimals must hold the sent number exactly: 19.999 into DECIMAL(12,2) is refused.
        values.append(
            f"CASE WHEN {value} IS NOT NULL AND TRY_CAST({text} AS DECIMAL(38,12)) "
            f"<> {value}::DECIMAL(38,12) THEN {literal(name + ': value not exact at this scale')} END"
        )
    if column.min is not None:
        message = literal(f"{name}: below minimum {column.min:g}")
        values.append(f"CASE WHEN {value} < {column.min!r} THEN {message} END")
    if column.max is not None:
        message = literal(f"{name}: above maximum {column.max:g}")
        values.append(f"CASE WHEN {value} > {column.max!r} THEN {message} END")
    if column.values is not None:
        allowed = ", ".join(literal(v) for v in column.values)
        values.append(
            f"CASE WHEN {value} IS NOT NULL AND NOT list_contains([{allowed}], {value}::VARCHAR) "
            f"THEN {literal(name + ': value not allowed: ')} || {value}::VARCHAR END"
        )
    return schema, values


def checked_records_sql(
    contract: Contract, adapter: Adapter | None, source: str, existing_keys: str | None = None
) -> str:
    """SELECT over `source` giving each record's typed values (`v_<i>`), its `reason` ('' = ok)
    and the `kind` of problem: malformed, schema (wrong shape) or value (bad content).

    Each field is pulled out of the JSON once (`t_<i>` its JSON type, `s_<i>` its text), then
    typed and judged from those.
    """
    known = {c.name for c in contract.columns}
    if adapter is not None:
        known |= adapter.consumed_fields
    known_list = ", ".join(literal(k) for k in sorted(known))
    unexpected = f"list_filter(json_keys(raw), lambda k: NOT list_contains([{known_list}], k))"
    extracted = []
    values = []
    schema_reasons = [
        f"CASE WHEN len({unexpected}) > 0 THEN 'unexpected column(s): ' || "
        f"array_to_string(list_sort({unexpected}), ', ') END"
    ]
    value_reasons = []
    for i, column in enumerate(contract.columns):
        transform = adapter.transform_for(column.name) if adapter else None
        path = json_path(transform.source if transform else column.name)
        extracted.append(f"json_type(raw, {path}) AS t_{i}, raw ->> {path} AS s_{i}")
        typed = _typed_value(column.type, path, f"t_{i}", f"s_{i}", transform.kind if transform else None)
        values.append(f"{typed} AS v_{i}")
        schema, bad_values = _reasons(column, f"t_{i}", f"s_{i}", f"v_{i}")
        schema_reasons += schema
        value_reasons += bad_values
    objects = f"SELECT * FROM {source} WHERE {IS_OBJECT}"
    fields = f"SELECT batch_id, line_no, raw, {', '.join(extracted)} FROM ({objects})"
    typed_rows = f"SELECT *, {', '.join(values)} FROM ({fields})"
    schema_sql = f"concat_ws('; ', {', '.join(schema_reasons)})"
    value_sql = f"concat_ws('; ', {', '.join(value_reasons)})" if value_reasons else "''"
    judged = f"SELECT *, {schema_sql} AS schema_reason, {value_sql} AS value_reason FROM ({typed_rows})"
    if contract.key is not None:
        judged = _with_duplicate_keys(contract, judged, existing_keys)
    classified = (
        "SELECT batch_id, line_no, raw, "
        + ", ".join(f"v_{i}" for i in range(len(contract.columns)))
        + ", CASE WHEN schema_reason <> '' THEN 'schema' WHEN value_reason <> '' THEN 'value' "
        "ELSE '' END AS kind, concat_ws('; ', nullif(schema_reason, ''), nullif(value_reason, '')) "
        f"AS reason FROM ({judged})"
    )
    nulls = ", ".join("NULL" for _ in contract.columns)
    malformed = (
        f"SELECT batch_id, line_no, raw, {nulls}, 'malformed' AS kind, "
        "CASE WHEN stage_error IS NOT NULL THEN stage_error "
        "WHEN NOT json_valid(raw) THEN 'malformed JSON record' "
        "ELSE 'record is not a JSON object' END AS reason "
        f"FROM {source} WHERE NOT {IS_OBJECT}"
    )
    return f"{classified} UNION ALL {malformed}"


def _with_duplicate_keys(contract: Contract, judged: str, existing_keys: str | None) -> str:
    """Add 'duplicate key' to the value reasons of an otherwise good record whose key is already
    in the table or on an earlier good record. Records rejected for other reasons never count:
    they are not loaded, so they cannot make a later record a duplicate."""
    assert contract.key is not None
    key = f"v_{contract.column_names.index(contract.key)}"
    good = "(schema_reason = '' AND value_reason = '')"
    existing = existing_keys or f"SELECT {quote(contract.key)} AS k FROM {quote(contract.table)}"
    duplicate = (
        f"CASE WHEN {good} AND {key} IS NOT NULL AND (row_number() OVER (PARTITION BY {key}, {good} "
        f"ORDER BY batch_id, line_no) > 1 OR CAST({key} AS VARCHAR) IN "
        f"(SELECT CAST(k AS VARCHAR) FROM ({existing}) WHERE k IS NOT NULL)) "
        f"THEN {literal(contract.key + ': duplicate key')} ELSE value_reason END"
    )
    return f"SELECT * REPLACE ({duplicate} AS value_reason) FROM ({judged})"


def insert_conforming_sql(contract: Contract, checked: str, step: int) -> str:
    columns = ", ".join([quote(c) for c in contract.column_names] + list(LINEAGE_COLUMNS))
    values = ", ".join([f"v_{i}" for i in range(len(contract.columns))])
    table = quote(contract.table)
    return (
        f"INSERT INTO {table} ({columns}) SELECT {values}, batch_id, line_no, {int(step)} "
        f"FROM {checked} AS c WHERE reason = '' AND NOT EXISTS (SELECT 1 FROM {table} AS t "
        "WHERE t._pipefix_batch = c.batch_id AND t._pipefix_line = c.line_no)"
    )


def observed_fields_sql(source: str) -> str:
    """Per record field: JSON types, rows carrying it, numeric range, and a few sample values."""
    path = "'$.\"' || replace(k, '\"', '\\\"') || '\"'"
    return (
        f"SELECT k, list_sort(list(DISTINCT json_type(raw, {path}))) AS types, count(*) AS rows, "
        f"min(TRY_CAST(raw ->> ({path}) AS DOUBLE)), max(TRY_CAST(raw ->> ({path}) AS DOUBLE)), "
        f"coalesce(max(CASE WHEN json_type(raw, {path}) = 'DOUBLE' "
        f"THEN length(split_part(raw ->> ({path}), '.', 2)) END), 0), "
        f"list(left(raw ->> ({path}), 60) ORDER BY batch_id, line_no)[1:3] AS samples "
        f"FROM {source}, unnest(json_keys(raw)) AS u(k) "
        f"WHERE {IS_OBJECT} GROUP BY k ORDER BY k"
    )
