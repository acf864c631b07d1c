"""DuckDB SQL for applying a contract to raw JSON records. Pure: builds SQL, runs none.

One relation of raw records `(batch_id, line_no, raw)` goes in; every record comes out either
typed and conforming, or with the reasons it does not conform. Batch loads and quarantine
replays share this SQL, so a record is judged the same way whichever path it takes.
"""

from __future__ import annotations

from pipefix.engines.sql.conversions import converted
from pipefix.engines.sql.dialects import DUCKDB
from pipefix.engines.sql.migration import LINEAGE_COLUMNS
from pipefix.engines.sql.records import (
    INTEGER_JSON,
    IS_OBJECT,
    MAYBE_INEXACT,
    NUMBER,
    NUMERIC_JSON,
    PLAIN_DATE,
    TOKENS,
    json_path,
    json_text_of,
    json_type_of,
    top_level_token,
)
from pipefix.engines.types import physical_type
from pipefix.pipeline.contracts import (
    Adapter,
    ColumnSpec,
    ColumnTransform,
    Contract,
    TransformKind,
    decimal_scale,
)
from pipefix.pipeline.conversions import variants

_d = DUCKDB  # the judge's SQL: DuckDB's, whatever the warehouse


def _fits_scale(number: str, scale: int) -> str:
    """Whether a JSON number's text has no non-zero digit past `scale` decimal places, read on
    the text itself (digits and exponent), never through a double or a rounding cast."""
    digits = f"(regexp_extract({number}, {NUMBER}, 1) || regexp_extract({number}, {NUMBER}, 3))"
    places = f"length(regexp_extract({number}, {NUMBER}, 3))"
    exponent = f"TRY_CAST(coalesce(nullif(regexp_extract({number}, {NUMBER}, 5), ''), '0') AS BIGINT)"
    significant = f"rtrim({digits}, '0')"
    return (
        f"coalesce(regexp_full_match({number}, {NUMBER}) AND ({significant} = '' OR "
        f"{exponent} - {places} + length({digits}) - length({significant}) >= {-scale}), false)"
    )


def _typed_value(
    logical: str,
    path: str,
    jt: str,
    text: str,
    transform: ColumnTransform | None = None,
    exact_at_scale: str | None = None,
) -> str:
    """The typed value of one field, or NULL when its JSON value does not fit the type.
    An adapter's conversion reads the values sent in the new form; the column's own still load."""
    if transform is not None and transform.kind is not TransformKind.RENAME:
        own = _typed_value(logical, path, jt, text)
        return f"coalesce({converted(transform, logical, jt, text, exact_at_scale)}, {own})"
    physical = physical_type(logical)
    if logical in ("bigint", "integer"):
        return f"CASE WHEN {jt} IN {INTEGER_JSON} THEN TRY_CAST({text} AS {physical}) END"
    if logical == "double" or logical.startswith("decimal"):
        # A decimal's `text` is the number as sent (`e_<i>`), so the cast only checks its range.
        return f"CASE WHEN {jt} IN {NUMERIC_JSON} THEN TRY_CAST({text} AS {physical}) END"
    if logical == "varchar":
        return f"CASE WHEN {jt} = 'VARCHAR' THEN {text} END"
    if logical == "boolean":
        return f"CASE WHEN {jt} = 'BOOLEAN' THEN TRY_CAST({text} AS BOOLEAN) END"
    if logical == "timestamp":
        # Through TIMESTAMPTZ so that an offset is applied, not silently dropped.
        return f"CASE WHEN {jt} = 'VARCHAR' THEN TRY_CAST({text} AS TIMESTAMPTZ)::TIMESTAMP END"
    if logical == "timestamptz":
        # The instant sent; a text without an offset is a UTC time (the session's time zone).
        return f"CASE WHEN {jt} = 'VARCHAR' THEN TRY_CAST({text} AS TIMESTAMPTZ) END"
    if logical == "date":
        # A plain date only: a cast would drop a time of day or an offset without a word.
        return (
            f"CASE WHEN {jt} = 'VARCHAR' AND regexp_full_match({text}, {PLAIN_DATE}) "
            f"THEN TRY_CAST({text} AS DATE) END"
        )
    return f"CASE WHEN {jt} <> 'NULL' THEN json_extract(raw, {path}) END"


def _reasons(
    column: ColumnSpec,
    jt: str,
    text: str,
    value: str,
    exact: str,
    conversion: str | None = None,
    variant: bool = False,
    mapping: str | None = None,
) -> tuple[list[str], list[str]]:
    """(schema reasons, value reasons): a record of the wrong shape vs a bad value in it.
    `exact` is the field's number as sent (decimals only; `text` otherwise); `mapping` the value
    map a boolean's text is read through, named when a text is not in it."""
    name = column.name
    present = f"({jt} IS NOT NULL AND {jt} <> 'NULL')"
    schema = []
    if not column.nullable:
        schema.append(f"CASE WHEN NOT {present} THEN {_d.string(name + ': missing')} END")
    got = f"{jt} || ' ' || left({text}, 40)"
    # With a variant, a value the column cannot keep is kept as sent there: no reason to hold it.
    if mapping is not None and not variant:
        sent = f"CASE WHEN {jt} = 'VARCHAR' THEN to_json(left({text}, 40))::VARCHAR ELSE left({text}, 40) END"
        message = f"{_d.string(name + ': ')} || {sent} || {_d.string(' is not in the mapping ' + mapping)}"
        schema.append(f"CASE WHEN {present} AND {value} IS NULL THEN {message} END")
    elif conversion is not None and not variant:
        message = (
            f"{_d.string(name + ': ')} || {got} || {_d.string(f' does not convert exactly ({conversion})')}"
        )
        schema.append(f"CASE WHEN {present} AND {value} IS NULL THEN {message} END")
    elif not variant:
        schema.append(
            f"CASE WHEN {present} AND {value} IS NULL THEN "
            f"{_d.string(name + ': expected ' + column.type + ', got ')} || {got} END"
        )
    values = []
    scale = decimal_scale(column.type)
    if scale is not None:
        # Decimals must hold the sent number exactly: 19.999 into DECIMAL(12,2) is refused. A
        # wider decimal (as many digits before the point, up to 38 in all) holding it is a
        # change of shape the column can widen to; one that no decimal holds is a bad value.
        room = 38 - (scale[0] - scale[1])
        wider = _fits_scale(exact, room)
        message = f"{name}: more digits after the point than {column.type} holds"
        schema.append(
            f"CASE WHEN {value} IS NOT NULL AND NOT {_fits_scale(exact, scale[1])} AND {wider} "
            f"THEN {_d.string(message)} END"
        )
        values.append(
            f"CASE WHEN {value} IS NOT NULL AND NOT {wider} "
            f"THEN {_d.string(name + ': value not exact at this scale')} END"
        )
    if column.type == "double":
        # 1e309 is read as infinity: a number no double holds, not a value to load.
        values.append(
            f"CASE WHEN NOT isfinite({value}) THEN {_d.string(name + ': number out of range for double')} END"
        )
    if column.min is not None:
        message = _d.string(f"{name}: below minimum {column.min:g}")
        values.append(f"CASE WHEN {value} < {_d.number(column.min)} THEN {message} END")
    if column.max is not None:
        message = _d.string(f"{name}: above maximum {column.max:g}")
        values.append(f"CASE WHEN {value} > {_d.number(column.max)} THEN {message} END")
    if column.values is not None:
        allowed = ", ".join(_d.string(v) for v in column.values)
        values.append(
            f"CASE WHEN {value} IS NOT NULL AND NOT list_contains([{allowed}], {value}::VARCHAR) "
            f"THEN {_d.string(name + ': value not allowed: ')} || {value}::VARCHAR END"
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
    kept_in = variants(contract)  # {column: its variant}, filled from the column, not a field
    known = {c.name for c in contract.columns if c.name not in kept_in.values()}
    if adapter is not None:
        known |= adapter.consumed_fields
    known_list = ", ".join(_d.string(k) for k in sorted(known))
    unexpected = f"list_filter(json_keys(raw), lambda k: NOT list_contains([{known_list}], k))"
    # Names shown as sent, quoted when they are not plain words (an empty key, a comma ...).
    shown = (
        f"list_transform(list_sort({unexpected}), lambda k: CASE WHEN regexp_full_match(k, "
        "'[A-Za-z0-9_]+') THEN k ELSE to_json(k)::VARCHAR END)"
    )
    extracted = []
    written = []
    paths: list[str] = []
    exact = {}
    values = []
    schema_reasons = [
        f"CASE WHEN len({unexpected}) > 0 THEN 'unexpected column(s): ' || array_to_string({shown}, ', ') END"
    ]
    value_reasons = []
    index = {c.name: i for i, c in enumerate(contract.columns)}
    variant_values = []
    for i, column in enumerate(contract.columns):
        if column.name in kept_in.values():
            continue  # a variant: filled below from its column
        transform = adapter.transform_for(column.name) if adapter else None
        field = transform.source if transform else column.name
        path = json_path(field)
        paths.append(path)
        value = f"j[{len(paths)}]"  # the field's JSON, read with all the others in one parse
        written.append(f"{value}::VARCHAR AS x_{i}")
        written_text = f"x_{i}"
        extracted.append(
            f"{json_type_of(value, written_text)} AS t_{i}, {json_text_of(value, written_text)} AS s_{i}"
        )
        text = f"s_{i}"
        scale = decimal_scale(column.type)
        conversion = transform is not None and transform.kind is not TransformKind.RENAME
        # The number's text as sent: decimals, epoch numbers, and what a variant keeps.
        if scale is not None or column.name in kept_in or (conversion and column.type == "timestamp"):
            exact[i] = (
                f"CASE WHEN t_{i} = 'DOUBLE' AND tokens IS NOT NULL "
                f"THEN {top_level_token(field, 'tokens')} ELSE s_{i} END AS e_{i}"
            )
            text = f"e_{i}"
        at_scale = _fits_scale(text, scale[1]) if scale is not None else None
        typed = _typed_value(column.type, path, f"t_{i}", text, transform, at_scale)
        if column.name in kept_in:
            typed = _kept(column.type, typed, at_scale)
            sent = (
                f"CASE WHEN t_{i} = 'VARCHAR' THEN s_{i} WHEN t_{i} IN ('OBJECT', 'ARRAY') "
                f"THEN json_extract(raw, {path})::VARCHAR ELSE {text} END"
            )
            variant_values.append(
                f"CASE WHEN t_{i} IS NOT NULL AND t_{i} <> 'NULL' AND v_{i} IS NULL THEN {sent} END "
                f"AS v_{index[kept_in[column.name]]}"
            )
        values.append(f"{typed} AS v_{i}")
        described = f"{transform.kind} to {column.type}" if transform is not None and conversion else None
        mapping = None
        if transform is not None and transform.kind is TransformKind.VALUE_MAP:
            # An enum's text outside the mapping is judged as any text (allowed or not); a
            # boolean's cannot be typed: held, naming the mapping.
            described = None
            mapping = transform.mapping_text() if column.type == "boolean" else None
        schema, bad_values = _reasons(
            column, f"t_{i}", f"s_{i}", f"v_{i}", text, described, column.name in kept_in, mapping
        )
        schema_reasons += schema
        if transform is not None and transform.source != column.name:
            # A record still sending the column under its old name would otherwise load a NULL
            # (the value is read from the new name only): held with the reason, never lost.
            held = f"{column.name}: sent under its old name after the rename to {transform.source}"
            schema_reasons.append(
                f"CASE WHEN json_type(raw, {json_path(column.name)}) IS NOT NULL THEN {_d.string(held)} END"
            )
        value_reasons += bad_values
    objects = f"SELECT * FROM {source} WHERE {IS_OBJECT}"
    if paths:
        objects = (
            f"SELECT *, {', '.join(written)} FROM (SELECT *, json_extract(raw, [{', '.join(paths)}]) "
            f"AS j FROM ({objects}))"
        )
    fields = f"SELECT batch_id, line_no, raw, {', '.join(extracted)} FROM ({objects})"
    if exact:
        doubles = " OR ".join(f"t_{i} = 'DOUBLE'" for i in exact)
        # A variant keeps a number's text as sent, even when its double's text holds the value.
        kept = "".join(f" OR t_{index[c]} = 'DOUBLE'" for c in kept_in)
        tokenized = (
            f"SELECT *, CASE WHEN (({doubles}) AND regexp_matches(raw, {MAYBE_INEXACT})){kept} "
            f"THEN regexp_extract_all(raw, {TOKENS}) END AS tokens FROM ({fields})"
        )
        fields = f"SELECT * EXCLUDE (tokens), {', '.join(exact.values())} FROM ({tokenized})"
    typed_rows = f"SELECT *, {', '.join(values)} FROM ({fields})"
    if variant_values:
        typed_rows = f"SELECT *, {', '.join(variant_values)} FROM ({typed_rows})"
    schema_sql = f"concat_ws('; ', {', '.join(schema_reasons)})"
    value_sql = f"concat_ws('; ', {', '.join(value_reasons)})" if value_reasons else "''"
    judged = f"SELECT *, {schema_sql} AS schema_reason, {value_sql} AS value_reason FROM ({typed_rows})"
    if contract.key is not None:
        judged = _with_duplicate_keys(contract, judged, existing_keys)
    types = "".join(f", t_{i}" for i in field_columns(contract, adapter).values())
    texts = "".join(f", s_{i}" for i in timestamp_texts(contract, adapter).values())
    # A loaded record's text is not kept: its values are (a held record's text is its evidence).
    classified = (
        "SELECT batch_id, line_no, CASE WHEN schema_reason <> '' OR value_reason <> '' THEN raw END "
        "AS raw, "
        + ", ".join(f"v_{i}" for i in range(len(contract.columns)))
        + types
        + texts
        + ", CASE WHEN schema_reason <> '' THEN 'schema' WHEN value_reason <> '' THEN 'value' "
        "ELSE '' END AS kind, concat_ws('; ', nullif(schema_reason, ''), nullif(value_reason, '')) "
        f"AS reason FROM ({judged})"
    )
    nulls = ", ".join("NULL" for _ in contract.columns) + ", NULL" * (
        len(field_columns(contract, adapter)) + len(timestamp_texts(contract, adapter))
    )
    malformed = (
        f"SELECT batch_id, line_no, raw, {nulls}, 'malformed' AS kind, "
        "CASE WHEN stage_error IS NOT NULL THEN stage_error "
        "WHEN NOT json_valid(raw) THEN 'malformed JSON record' "
        "ELSE 'record is not a JSON object' END AS reason "
        f"FROM {source} WHERE NOT {IS_OBJECT}"
    )
    return f"{classified} UNION ALL {malformed}"


def field_columns(contract: Contract, adapter: Adapter | None) -> dict[str, int]:
    """Field read -> the index `i` of the column it fills, for the fields checked_records_sql()
    reads (a variant is filled from its column, not a field): CHECKED has their JSON type `t_<i>`."""
    kept_in = variants(contract)
    fields = {}
    for i, column in enumerate(contract.columns):
        if column.name in kept_in.values():
            continue
        transform = adapter.transform_for(column.name) if adapter else None
        fields[transform.source if transform else column.name] = i
    return fields


def timestamp_texts(contract: Contract, adapter: Adapter | None) -> dict[str, int]:
    """Timestamp column -> the index `i` of its text `s_<i>` as sent, which CHECKED keeps for the
    columns read as sent or renamed (engines/utc_notes.py reads the offsets they came with)."""
    kept_in = variants(contract)
    texts = {}
    for i, column in enumerate(contract.columns):
        transform = adapter.transform_for(column.name) if adapter else None
        if column.type != "timestamp" or column.name in kept_in.values():
            continue
        if transform is None or transform.kind is TransformKind.RENAME:
            texts[column.name] = i
    return texts


def verdict_figures_sql(contract: Contract, adapter: Adapter | None, checked: str) -> str:
    """One scan of the verdicts of a chunk: records held for their shape and for their values,
    valid JSON objects, and per field read (field_columns() order) the records carrying it and
    its JSON types. Summed over chunks, they are what drift.diff needs of the records that
    conformed (the held ones are profiled in full)."""
    # A field's JSON types as the bits of JSON_TYPES (bit_or): a distinct list per field cost a
    # small batch more than judging it.
    fields = "".join(
        f", count(t_{i}), bit_or(CASE t_{i} "
        + " ".join(f"WHEN '{name}' THEN {1 << bit}" for bit, name in enumerate(JSON_TYPES))
        + " END)"
        for i in field_columns(contract, adapter).values()
    )
    return (
        "SELECT count(*) FILTER (WHERE kind = 'schema'), count(*) FILTER (WHERE kind = 'value'), "
        f"count(*) FILTER (WHERE kind <> 'malformed'){fields} FROM {checked}"
    )


JSON_TYPES = ("NULL", "BOOLEAN", "BIGINT", "UBIGINT", "DOUBLE", "VARCHAR", "ARRAY", "OBJECT")


def json_types_of(bits: int | None) -> frozenset[str]:
    """The JSON types a verdict_figures_sql() field bit set names."""
    return frozenset(name for bit, name in enumerate(JSON_TYPES) if (bits or 0) >> bit & 1)


def _kept(logical: str, typed: str, at_scale: str | None) -> str:
    """A column with a variant keeps only the values it holds exactly (its variant the others):
    a decimal with no digit past its scale, a finite double."""
    if at_scale is not None:
        return f"CASE WHEN {at_scale} THEN {typed} END"
    if logical == "double":
        return f"CASE WHEN isfinite({typed}) THEN {typed} END"
    return typed


def _with_duplicate_keys(contract: Contract, judged: str, existing_keys: str | None) -> str:
    """Add 'duplicate key' to the value reasons of an otherwise good record whose key is already
    in the table or on an earlier good record. Records rejected for other reasons never count:
    they are not loaded, so they cannot make a later record a duplicate."""
    assert contract.key is not None
    index = contract.column_names.index(contract.key)
    key = f"v_{index}"
    good = "(schema_reason = '' AND value_reason = '')"
    existing = existing_keys or f"SELECT {_d.ident(contract.key)} AS k FROM {_d.ident(contract.table)}"
    # Compared as values of the key's type, not as text: -0.0 and 0.0 are one double key, and
    # keys fetched from another warehouse come as that warehouse's text.
    typed = physical_type(contract.columns[index].type)
    # The judged records are materialized once; the window that finds a key's later records runs
    # over the good records' keys and lineage alone (sorting every column with it cost more
    # than the rest of the judge), and only the keys seen twice are ranked.
    repeated = (
        f"SELECT batch_id, line_no FROM (SELECT batch_id, line_no, row_number() OVER (PARTITION BY "
        f"{key} ORDER BY batch_id, line_no) AS n FROM _judged WHERE {good} AND {key} IN (SELECT {key} "
        f"FROM _judged WHERE {good} AND {key} IS NOT NULL GROUP BY {key} HAVING count(*) > 1)) WHERE n > 1"
    )
    # The keys already in the table are found by joining the records' own keys to the table's:
    # the join builds on the smaller side and pushes the keys' range into the table's scan, so a
    # batch read in many chunks never hashes the whole (growing) table once per chunk.
    taken = (
        f"SELECT DISTINCT c.k FROM (SELECT DISTINCT {key} AS k FROM _judged WHERE {good} AND {key} "
        f"IS NOT NULL) AS c JOIN (SELECT TRY_CAST(k AS {typed}) AS k FROM ({existing}) "
        "WHERE k IS NOT NULL) AS e ON e.k = c.k"
    )
    duplicate = (
        f"CASE WHEN {good} AND {key} IS NOT NULL AND (EXISTS (SELECT 1 FROM _repeated AS r "
        f"WHERE r.batch_id = j.batch_id AND r.line_no = j.line_no) OR {key} IN "
        f"(SELECT k FROM _taken)) THEN {_d.string(contract.key + ': duplicate key')} ELSE value_reason END"
    )
    return (
        f"WITH _judged AS MATERIALIZED ({judged}), _repeated AS ({repeated}), _taken AS ({taken}) "
        f"SELECT * REPLACE ({duplicate} AS value_reason) FROM _judged AS j"
    )


def insert_conforming_sql(contract: Contract, checked: str, step: int) -> str:
    columns = ", ".join([_d.ident(c) for c in contract.column_names] + list(LINEAGE_COLUMNS))
    values = ", ".join([f"v_{i}" for i in range(len(contract.columns))])
    table = _d.ident(contract.table)
    return (
        f"INSERT INTO {table} ({columns}) SELECT {values}, batch_id, line_no, {int(step)} "
        f"FROM {checked} AS c WHERE reason = '' AND NOT EXISTS (SELECT 1 FROM {table} AS t "
        "WHERE t._pipefix_batch = c.batch_id AND t._pipefix_line = c.line_no)"
    )
