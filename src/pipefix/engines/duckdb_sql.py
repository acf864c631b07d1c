"""DuckDB SQL for applying a contract to raw JSON records. Pure: builds SQL, runs none.

One relation of raw records `(batch_id, line_no, raw)` goes in; every record comes out either
typed and conforming, or with the reasons it does not conform. Batch loads and quarantine
replays share this SQL, so a record is judged the same way whichever path it takes.
"""

from __future__ import annotations

from pipefix.engines.base import literal, quote
from pipefix.pipeline.contracts import (
    Adapter,
    ColumnSpec,
    Contract,
    TransformKind,
    decimal_scale,
)

LINEAGE_COLUMNS = ("_pipefix_batch", "_pipefix_line", "_pipefix_loaded_step")

_NUMERIC_JSON = "('BIGINT', 'UBIGINT', 'DOUBLE')"
_INTEGER_JSON = "('BIGINT', 'UBIGINT')"


def physical_type(logical: str) -> str:
    scale = decimal_scale(logical)
    if scale is not None:
        return f"DECIMAL({scale[0]},{scale[1]})"
    return {
        "bigint": "BIGINT",
        "integer": "INTEGER",
        "double": "DOUBLE",
        "varchar": "VARCHAR",
        "boolean": "BOOLEAN",
        "timestamp": "TIMESTAMP",
        "date": "DATE",
        "json": "JSON",
    }[logical]


def create_table_sql(contract: Contract) -> str:
    columns = [
        f"{quote(c.name)} {physical_type(c.type)}" for c in contract.columns
    ] + ["_pipefix_batch VARCHAR", "_pipefix_line BIGINT", "_pipefix_loaded_step BIGINT"]
    return f"CREATE TABLE IF NOT EXISTS {quote(contract.table)} ({', '.join(columns)})"


def _path(field: str) -> str:
    return literal('$."' + field.replace('"', '\\"') + '"')


def _typed_value(column: ColumnSpec, source: str, transform_kind: TransformKind | None) -> str:
    path = _path(source)
    json_type = f"json_type(raw, {path})"
    text = f"(raw ->> {path})"
    logical = column.type
    if transform_kind is TransformKind.EPOCH_MS_TO_TIMESTAMP:
        return (
            f"CASE WHEN {json_type} IN {_INTEGER_JSON} THEN epoch_ms(TRY_CAST({text} AS BIGINT)) "
            f"WHEN {json_type} = 'VARCHAR' THEN TRY_CAST({text} AS TIMESTAMPTZ)::TIMESTAMP END"
        )
    if logical in ("bigint", "integer"):
        return f"CASE WHEN {json_type} IN {_INTEGER_JSON} THEN TRY_CAST({text} AS {physical_type(logical)}) END"
    if logical == "double" or logical.startswith("decimal"):
        return f"CASE WHEN {json_type} IN {_NUMERIC_JSON} THEN TRY_CAST({text} AS {physical_type(logical)}) END"
    if logical == "varchar":
        return f"CASE WHEN {json_type} = 'VARCHAR' THEN {text} END"
    if logical == "boolean":
        return f"CASE WHEN {json_type} = 'BOOLEAN' THEN TRY_CAST({text} AS BOOLEAN) END"
    if logical == "timestamp":
        # Through TIMESTAMPTZ so that an offset is applied, not silently dropped.
        return f"CASE WHEN {json_type} = 'VARCHAR' THEN TRY_CAST({text} AS TIMESTAMPTZ)::TIMESTAMP END"
    if logical == "date":
        return f"CASE WHEN {json_type} = 'VARCHAR' THEN TRY_CAST({text} AS DATE) END"
    return f"CASE WHEN {json_type} NOT IN ('NULL') THEN json_extract(raw, {path}) END"


def _exactness_check(column: ColumnSpec, source: str, value: str) -> str | None:
    """Decimals must hold the sent number exactly: 19.999 into DECIMAL(12,2) is refused."""
    scale = decimal_scale(column.type)
    if scale is None:
        return None
    text = f"(raw ->> {_path(source)})"
    return f"{value} IS NOT NULL AND TRY_CAST({text} AS DECIMAL(38,12)) <> {value}::DECIMAL(38,12)"


def _reasons(column: ColumnSpec, source: str, value: str) -> tuple[list[str], list[str]]:
    """(schema reasons, value reasons): a record of the wrong shape vs a bad value in it."""
    name = column.name
    path = _path(source)
    present = f"(json_type(raw, {path}) IS NOT NULL AND json_type(raw, {path}) <> 'NULL')"
    schema = []
    if not column.nullable:
        schema.append(f"CASE WHEN NOT {present} THEN {literal(name + ': missing')} END")
    schema.append(
        f"CASE WHEN {present} AND {value} IS NULL THEN "
        f"{literal(name + ': expected ' + column.type + ', got ')} || json_type(raw, {path}) "
        f"|| ' ' || left(raw ->> {path}, 40) END"
    )
    values = []
    exact = _exactness_check(column, source, value)
    if exact:
        values.append(f"CASE WHEN {exact} THEN {literal(name + ': value not exact at this scale')} END")
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


def checked_records_sql(contract: Contract, adapter: Adapter | None, source: str) -> str:
    """SELECT over `source` giving each record's typed values (`v_<i>`), its `reason` ('' = ok)
    and the `kind` of problem: malformed, schema (wrong shape) or value (bad content)."""
    known = {c.name for c in contract.columns}
    if adapter is not None:
        known |= adapter.consumed_fields
    known_list = ", ".join(literal(k) for k in sorted(known))
    unexpected = f"list_filter(json_keys(raw), k -> NOT list_contains([{known_list}], k))"
    is_object = "(json_valid(raw) AND json_type(raw) = 'OBJECT')"
    values = []
    schema_reasons = [
        f"CASE WHEN len({unexpected}) > 0 THEN 'unexpected column(s): ' || "
        f"array_to_string(list_sort({unexpected}), ', ') END"
    ]
    value_reasons = []
    for index, column in enumerate(contract.columns):
        transform = adapter.transform_for(column.name) if adapter else None
        field = transform.source if transform else column.name
        value = _typed_value(column, field, transform.kind if transform else None)
        values.append(f"CASE WHEN {is_object} THEN {value} END AS v_{index}")
        schema, bad_values = _reasons(column, field, f"v_{index}")
        schema_reasons += schema
        value_reasons += bad_values
    if contract.key is not None:
        key = f"v_{contract.column_names.index(contract.key)}"
        existing = (
            f"SELECT {quote(contract.key)} FROM {quote(contract.table)} "
            f"WHERE {quote(contract.key)} IS NOT NULL"
        )
        value_reasons.append(
            f"CASE WHEN {key} IS NOT NULL AND (row_number() OVER (PARTITION BY {key} "
            f"ORDER BY batch_id, line_no) > 1 OR {key} IN ({existing})) "
            f"THEN {literal(contract.key + ': duplicate key')} END"
        )
    typed = f"SELECT batch_id, line_no, raw, {', '.join(values)} FROM {source}"
    schema_sql = f"concat_ws('; ', {', '.join(schema_reasons)})"
    value_sql = f"concat_ws('; ', {', '.join(value_reasons)})" if value_reasons else "''"
    return (
        "SELECT *, CASE WHEN kind = 'malformed' THEN malformed_reason "
        "ELSE concat_ws('; ', nullif(schema_reason, ''), nullif(value_reason, '')) END AS reason "
        "FROM (SELECT *, CASE WHEN NOT is_object THEN 'malformed' WHEN schema_reason <> '' "
        "THEN 'schema' WHEN value_reason <> '' THEN 'value' ELSE '' END AS kind FROM ("
        f"SELECT *, {is_object} AS is_object, "
        "CASE WHEN NOT json_valid(raw) THEN 'malformed JSON record' "
        "ELSE 'record is not a JSON object' END AS malformed_reason, "
        f"CASE WHEN {is_object} THEN {schema_sql} ELSE '' END AS schema_reason, "
        f"CASE WHEN {is_object} THEN {value_sql} ELSE '' END AS value_reason "
        f"FROM ({typed}) AS typed) AS judged) AS classified"
    )


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
        f"list(left(raw ->> ({path}), 60) ORDER BY batch_id, line_no)[1:3] AS samples "
        f"FROM {source}, unnest(json_keys(raw)) AS u(k) "
        "WHERE json_valid(raw) AND json_type(raw) = 'OBJECT' GROUP BY k ORDER BY k"
    )
