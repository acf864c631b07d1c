"""The judge's scratch tables and the statements that fill, read and empty them.

The judge is always DuckDB (engines/judge.py): a batch's records are staged into STAGE
`(batch_id, line_no, raw, stage_error)`, judged into CHECKED (engines/sql/verdicts.py), and the
verdicts written from there: conforming rows into the table, the others into the quarantine.
Only `mark_replayed*` run on the warehouse, in its dialect.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipefix.engines.sql import records
from pipefix.engines.sql.dialects import DUCKDB, Dialect
from pipefix.engines.sql.dialects.base import placeholders
from pipefix.engines.sql.records import IS_OBJECT, json_path

STAGE = "_pipefix_stage"
CHECKED = "_pipefix_checked"
KEYS = "_pipefix_keys"  # keys and lineage fetched from a warehouse that is not the judge
PRIOR = "_pipefix_prior"  # lineage of a file's rows already in the warehouse when its load began
REJECTED = "_pipefix_rejected"  # a file's records held for their shape or values, all chunks
VERDICTS = "_pipefix_verdicts"  # the verdicts copied to a warehouse that is not the judge
STAGE_COLUMNS = "batch_id VARCHAR, line_no BIGINT, raw VARCHAR, stage_error VARCHAR"
NO_LINEAGE = "SELECT NULL::VARCHAR AS b, NULL::BIGINT AS l WHERE false"
NO_KEYS = "SELECT NULL AS k WHERE false"
QUARANTINE = ("pipefix", "quarantine")

_d = DUCKDB


def scratch_table_as(name: str, select: str) -> str:
    """A scratch table (`name`, given as written: quoted or not) rebuilt from `select`."""
    return f"CREATE OR REPLACE TEMP TABLE {name} AS {select}"


# The opening of scratch_table_as for pipefix's own scratch tables: the engines' guard
# (engines/safety.py) lets these large statements past without parsing them, a temp table
# holding no user data.
SCRATCH_REBUILD = re.compile(
    r"^\s*CREATE\s+OR\s+REPLACE\s+TEMP\s+TABLE\s+\"?_pipefix_\w+\"?\s+AS\s+SELECT\s", re.I
)


def count(table: str, where: str = "") -> str:
    return f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")


# A judged record (CHECKED) that loads, and one that is held: its reason is empty or not.
ACCEPTED = "reason = ''"
HELD = "reason <> ''"
# A staged line holding only white space DuckDB's trim() keeps (tabs, form feeds, U+2028 ...).
BLANK_LINE = f"regexp_full_match(raw, {records.BLANK_LINE})"


def accepted_with_value(columns: Sequence[int]) -> str:
    """An accepted record holding a value in one of these columns (by index: v_<i>)."""
    return f"{ACCEPTED} AND ({' OR '.join(f'v_{i} IS NOT NULL' for i in columns)})"


def restage(select: str) -> str:
    """STAGE rebuilt from `select` over it: rebuilt, not updated, as the engine lets no UPDATE
    or DELETE touch a table it cannot prove is scratch."""
    return scratch_table_as(STAGE, select)


def staged_record() -> str:
    return f"SELECT raw, stage_error FROM {STAGE} WHERE line_no = ?"


def stage_without_line() -> str:
    return restage(f"SELECT * FROM {STAGE} WHERE line_no <> ?")


def stage_holding_line() -> str:
    """STAGE with one record (line_no ?) made unreadable with a reason (?)."""
    error = "CASE WHEN line_no = ? THEN ? ELSE stage_error END"
    return restage(f"SELECT batch_id, line_no, raw, {error} AS stage_error FROM {STAGE}")


def stage_parquet() -> str:
    """A Parquet file's rows (path ?) as records of a batch (?), numbered in file order."""
    return restage(
        "SELECT ? AS batch_id, (row_number() OVER ())::BIGINT AS line_no, to_json(t)::VARCHAR AS raw, "
        "NULL::VARCHAR AS stage_error FROM read_parquet(?) AS t"
    )


def stage_without_blank_lines(blank: str) -> str:
    return restage(f"SELECT * FROM {STAGE} WHERE NOT {blank}")


def create_stage() -> str:
    return f"CREATE OR REPLACE TEMP TABLE {STAGE} ({STAGE_COLUMNS})"


def stage_spooled_rows() -> str:
    """Records spooled as JSON arrays `[batch_id, line_no, raw, error]`, one per line (path ?)."""
    return (
        f"INSERT INTO {STAGE} SELECT j->>'$[0]', (j->>'$[1]')::BIGINT, j->>'$[2]', j->>'$[3]' "
        "FROM (SELECT unnest(string_split(rtrim(content, chr(10)), chr(10)))::JSON AS j "
        "FROM read_text(?) WHERE content <> '')"
    )


def open_quarantine(d: Dialect, kinds: int) -> str:
    """A table's (?) open quarantined records of `kinds` kinds (?, ...), in batch and line order."""
    marks = placeholders(kinds)
    return (
        f"SELECT batch_id, line_no, raw FROM {d.table(*QUARANTINE)} WHERE table_name = ? "
        f"AND replayed_step IS NULL AND kind IN ({marks}) ORDER BY batch_id, line_no"
    )


def stage_query(query: str) -> str:
    return restage(f"SELECT batch_id, line_no, raw, NULL::VARCHAR AS stage_error FROM ({query})")


def judge_into_checked(checked_records: str) -> str:
    return scratch_table_as(CHECKED, checked_records)


# --- what a batch must know of its table ---------------------------------------------------------


def table_keys(table: str, key: str | None) -> str:
    """The keys already in a table the judge shares (DuckDB)."""
    return f"SELECT {_d.ident(key)} AS k FROM {_d.ident(table)}" if key else NO_KEYS


def create_keys() -> str:
    return f"CREATE OR REPLACE TEMP TABLE {KEYS} (k VARCHAR, b VARCHAR, l BIGINT)"


def staged_batches() -> str:
    return f"SELECT DISTINCT batch_id FROM {STAGE}"


def staged_keys(key: str) -> str:
    """The distinct keys the staged records send, as text."""
    path = json_path(key)
    return f"SELECT DISTINCT raw ->> {path} FROM {STAGE} WHERE {IS_OBJECT} AND raw ->> {path} IS NOT NULL"


def fetched_lineage(source: str = KEYS) -> str:
    return f"SELECT b, l FROM {source}"


def keep_prior(lineage: str) -> str:
    return scratch_table_as(PRIOR, lineage)


def fetched_keys() -> str:
    """Keys fetched from the warehouse, but not those of rows a load that did not commit wrote
    for a staged record (Spark writes no transaction): a record is no duplicate of itself."""
    return (
        f"SELECT k FROM {KEYS} AS x WHERE k IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {STAGE} AS s WHERE s.batch_id = x.b AND s.line_no = x.l)"
    )


def staged_span() -> str:
    return f"SELECT list(DISTINCT batch_id), min(line_no), max(line_no) FROM {STAGE}"


def lineage_within(table: str, batches: Sequence[str], first: int, last: int) -> str:
    """The condition on a table's rows of `batches` within lines first..last."""
    listed = ", ".join(_d.string(str(b)) for b in batches)
    return f"_pipefix_batch IN ({listed}) AND _pipefix_line BETWEEN {int(first)} AND {int(last)}"


def table_lineage(table: str, where: str) -> str:
    return f"SELECT _pipefix_batch AS b, _pipefix_line AS l FROM {_d.ident(table)} WHERE {where}"


# --- verdicts --------------------------------------------------------------------------------


def create_rejected() -> str:
    return f"CREATE OR REPLACE TEMP TABLE {REJECTED} ({STAGE_COLUMNS})"


def keep_rejected() -> str:
    return (
        f"INSERT INTO {REJECTED} SELECT batch_id, line_no, raw, NULL FROM {CHECKED} "
        "WHERE kind IN ('schema', 'value')"
    )


def conforming_rows(columns: int, step: int, lineage: str) -> str:
    """The conforming records' values and lineage, but none a row of `lineage` already holds."""
    values = ", ".join(f"v_{i}" for i in range(columns))
    new = (
        f"reason = '' AND NOT EXISTS (SELECT 1 FROM ({lineage}) AS x "
        "WHERE x.b = c.batch_id AND x.l = c.line_no)"
    )
    return f"SELECT {values}, batch_id, line_no, {int(step)} FROM {CHECKED} AS c WHERE {new}"


def insert_rows(table: str, columns: Sequence[str], select: str) -> str:
    return f"INSERT INTO {_d.ident(table)} ({', '.join(_d.ident(c) for c in columns)}) {select}"


def copy_to_csv(select: str, path: str) -> str:
    return f"COPY ({select}) TO {_d.string(path)} (FORMAT csv, HEADER false, FORCE_QUOTE *)"


def describe(select: str) -> str:
    return f"DESCRIBE {select}"


def held_records() -> str:
    """Held records as quarantine rows (params: table, contract version, step)."""
    return (
        "SELECT ? AS table_name, batch_id, line_no, raw, reason, kind, ? AS contract_version, "
        "? AS quarantined_step, NULL::BIGINT AS replayed_step, NULL::INTEGER AS replayed_version "
        f"FROM {CHECKED} WHERE reason <> '' ORDER BY batch_id, line_no"
    )


def quarantine_held() -> str:
    return f"INSERT INTO {_d.table(*QUARANTINE)} {held_records()}"


def quarantine_name() -> str:
    return ".".join(QUARANTINE)


def verdict_rows() -> str:
    return f"SELECT batch_id, line_no, reason, kind FROM {CHECKED}"


def drop_verdicts(d: Dialect) -> str:
    return f"DROP TABLE IF EXISTS {d.temp_table(VERDICTS)}"


def create_verdicts(d: Dialect) -> str:
    columns = "batch_id VARCHAR, line_no BIGINT, reason VARCHAR, kind VARCHAR"
    return f"CREATE TEMP TABLE {d.ident(VERDICTS)} ({columns})"


def mark_replayed(d: Dialect, source: str) -> str:
    """Close the open quarantine records of a table (params: step, version, table) that the
    verdicts in `source` load."""
    return (
        f"UPDATE {d.table(*QUARANTINE)} AS q SET replayed_step = ?, replayed_version = ? FROM {source} AS c "
        "WHERE q.table_name = ? AND q.replayed_step IS NULL AND q.batch_id = c.batch_id "
        "AND q.line_no = c.line_no AND c.reason = ''"
    )


def refresh_held_reasons(d: Dialect, source: str) -> str:
    """The reasons of a table's (?) records still held, as `source` judged them now."""
    return (
        f"UPDATE {d.table(*QUARANTINE)} AS q SET reason = c.reason, kind = c.kind FROM {source} AS c "
        "WHERE q.table_name = ? AND q.replayed_step IS NULL AND q.batch_id = c.batch_id "
        "AND q.line_no = c.line_no AND c.reason <> ''"
    )


def stage_lines(stage: str, starts_file: bool) -> str:
    """Whole lines of a JSONL file (path ?) as raw records of a batch (?), numbered on from a
    line (?); blank lines are no record. `starts_file`: the lines are the first of their file,
    where a UTF-8 byte-order mark is no part of a record.

    Line ends are made LF on the whole text before the split: a function applied to each
    unnested line runs on one thread and cost 4x the split. A line blank but for other white
    space is dropped afterwards (judge._drop_blank_lines); the ascii() test spares trim() on
    every line that opens with a visible character, i.e. nearly all."""
    content = "ltrim(content, chr(65279))" if starts_file else "content"
    return scratch_table_as(
        _d.ident(stage),
        "SELECT ? AS batch_id, (line_no + ?)::BIGINT AS line_no, line AS raw, "
        "NULL::VARCHAR AS stage_error FROM ("
        "SELECT generate_subscripts(lines, 1) AS line_no, unnest(lines) AS line FROM ("
        f"SELECT string_split(replace({content}, chr(13) || chr(10), chr(10)), chr(10)) AS lines "
        "FROM read_text(?))) WHERE line <> '' AND (ascii(line) > 32 OR trim(line) <> '')",
    )


def stage_json_document(stage: str, layout: str) -> str:
    """A JSON document's records (path ?) for a batch (?): each element of an array (`layout`
    "array"), or each object written one after another; its 1-based position is its line_no."""
    fmt = "array" if layout == "array" else "unstructured"
    return scratch_table_as(
        _d.ident(stage),
        "SELECT ? AS batch_id, (row_number() OVER ())::BIGINT AS line_no, json::VARCHAR AS raw, "
        f"NULL::VARCHAR AS stage_error FROM read_json_objects(?, format={_d.string(fmt)})",
    )
