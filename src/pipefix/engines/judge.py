"""Where batch records are read and judged against a contract: always DuckDB.

For a DuckDB warehouse the judge is the warehouse itself, so verdicts move by INSERT ... SELECT.
For any other warehouse it is a private in-memory DuckDB: the keys and lineage a verdict depends
on are fetched from the warehouse first, and the verdicts are copied back (COPY) afterwards.
"""

from __future__ import annotations

import json
import tempfile
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pipefix.engines import compressed, duckdb_sql, readers, store
from pipefix.engines.base import Engine, EngineError, quote, scalar
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.pipeline.contracts import Adapter, Contract
from pipefix.pipeline.csv_dialect import CsvDialect

STAGE = "_pipefix_stage"
CHECKED = "_pipefix_checked"
KEYS = "_pipefix_keys"
STAGE_COLUMNS = "batch_id VARCHAR, line_no BIGINT, raw VARCHAR, stage_error VARCHAR"


class Judge:
    def __init__(self, warehouse: Engine) -> None:
        self.warehouse = warehouse
        self.duck = warehouse if isinstance(warehouse, DuckDBEngine) else DuckDBEngine(":memory:")

    @property
    def shares_warehouse(self) -> bool:
        return self.duck is self.warehouse

    # --- staging: every source becomes (batch_id, line_no, raw, stage_error) ----------------

    def stage_file(
        self,
        path: Path,
        batch_id: str,
        contract: Contract | None,
        line_offset: int = 0,
        dialect: CsvDialect | None = None,
    ) -> int:
        """Stage a batch file's records; `line_offset` is added to each line number (the new
        lines of a grown file, read apart, keep the numbers they have in the file). A CSV file is
        read in `dialect` (sniffed if None)."""
        staged = self._stage_file(path, batch_id, contract, dialect)
        if line_offset:  # line 0 stands for a file unreadable as a whole
            shifted = f"CASE WHEN line_no > 0 THEN line_no + {int(line_offset)} ELSE line_no END"
            self._restage(f"SELECT batch_id, {shifted} AS line_no, raw, stage_error FROM {STAGE}")
        return staged

    def take_staged(self, line_no: int) -> tuple[str, str | None] | None:
        """Take one staged record out of the batch: (raw, error), or None if no record has that line."""
        rows = self.duck.query(f"SELECT raw, stage_error FROM {STAGE} WHERE line_no = ?", (line_no,))
        if not rows:
            return None
        self._restage(f"SELECT * FROM {STAGE} WHERE line_no <> ?", (line_no,))
        return str(rows[0][0]), rows[0][1]

    def hold_staged(self, line_no: int, reason: str) -> None:
        """Make one staged record unreadable with `reason`: it is held, whatever it holds."""
        error = "CASE WHEN line_no = ? THEN ? ELSE stage_error END"
        self._restage(
            f"SELECT batch_id, line_no, raw, {error} AS stage_error FROM {STAGE}", (line_no, reason)
        )

    def _restage(self, select: str, params: tuple[object, ...] = ()) -> None:
        # Rebuilt, not updated: the engine lets no UPDATE or DELETE touch a table it cannot prove
        # is scratch, and a staged batch is scratch.
        self.duck.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} AS {select}", params)

    def _stage_file(
        self, path: Path, batch_id: str, contract: Contract | None, dialect: CsvDialect | None
    ) -> int:
        kind = readers.batch_kind(path)
        try:
            compression = compressed.compression_of(path, kind.compression if kind else None)
            if compression is None:
                return self._stage_plain(path, kind, batch_id, contract, dialect)
            with compressed.decompressed(path, compression) as plain:
                return self._stage_plain(plain, kind, batch_id, contract, dialect)
        except (EngineError, UnicodeError, OSError, compressed.UnreadableFile) as error:
            # Unreadable as a whole (not Parquet, not UTF-8, not gzip ...): one held record.
            shown = "batch" if kind is None else " ".join(filter(None, (kind.compression, kind.format)))
            reason = f"unreadable {shown} file {path.name}: {str(error).splitlines()[0][:200]}"
            return self.stage_records([(batch_id, 0, "", reason)])

    def _stage_plain(
        self,
        path: Path,
        kind: readers.BatchFormat | None,
        batch_id: str,
        contract: Contract | None,
        dialect: CsvDialect | None,
    ) -> int:
        """Stage a file that is not compressed (the named format, its content decides the rest)."""
        fmt = kind.format if kind else "jsonl"
        if fmt == "csv":
            # Fields the active adapter reads under other names are typed as their columns.
            adapter = store.active_adapter(self.warehouse, contract.table) if contract else None
            records = readers.read_csv(path, contract, adapter, dialect)
            return self.stage_records((batch_id, r.line_no, r.raw, r.error) for r in records)
        if fmt == "parquet":
            self.duck.execute(
                f"CREATE OR REPLACE TEMP TABLE {STAGE} AS SELECT ? AS batch_id, "
                "(row_number() OVER ())::BIGINT AS line_no, to_json(t)::VARCHAR AS raw, "
                "NULL::VARCHAR AS stage_error FROM read_parquet(?) AS t",
                (batch_id, str(path)),
            )
            return int(scalar(self.duck, f"SELECT count(*) FROM {STAGE}"))
        layout = readers.json_layout(path) if fmt == "json" else "lines"
        if layout != "lines":
            return self.duck.stage_json_document(path, batch_id, STAGE, layout)
        try:
            self.duck.stage_jsonl(path, batch_id, STAGE)
            self._drop_blank_lines()
        except EngineError:
            # Not readable as UTF-8 text as a whole: judge it line by line instead.
            records = readers.read_jsonl_lines(path)
            return self.stage_records((batch_id, r.line_no, r.raw, r.error) for r in records)
        return int(scalar(self.duck, f"SELECT count(*) FROM {STAGE}"))

    def _drop_blank_lines(self) -> None:
        """DuckDB's trim() keeps tabs, form feeds, U+2028 ...: a line of only those is blank to
        the CSV and fallback JSONL readers, so it is no record here either."""
        blank = f"regexp_full_match(raw, {duckdb_sql.BLANK_LINE})"
        if scalar(self.duck, f"SELECT count(*) FROM {STAGE} WHERE {blank}"):
            self.duck.execute(
                f"CREATE OR REPLACE TEMP TABLE {STAGE} AS SELECT * FROM {STAGE} WHERE NOT {blank}"
            )

    def stage_records(self, rows: Iterable[tuple[str, int, str, str | None]]) -> int:
        """Stage Python records (batch_id, line_no, raw, error) through a temp JSONL file, which
        DuckDB reads in one scan (row-by-row inserts would cost far more)."""
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            spool = Path(handle.name)
        try:
            self.duck.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} ({STAGE_COLUMNS})")
            self.duck.execute(
                f"INSERT INTO {STAGE} SELECT j->>'$[0]', (j->>'$[1]')::BIGINT, j->>'$[2]', j->>'$[3]' "
                "FROM (SELECT unnest(string_split(rtrim(content, chr(10)), chr(10)))::JSON AS j "
                "FROM read_text(?) WHERE content <> '')",
                (str(spool),),
            )
        finally:
            spool.unlink(missing_ok=True)
        return int(scalar(self.duck, f"SELECT count(*) FROM {STAGE}"))

    def stage_open_quarantine(self, table: str, kinds: Sequence[str] = ("schema", "value")) -> int:
        marks = ", ".join("?" for _ in kinds)
        query = (
            f"SELECT batch_id, line_no, raw FROM {store.SCHEMA}.quarantine WHERE table_name = ? "
            f"AND replayed_step IS NULL AND kind IN ({marks}) ORDER BY batch_id, line_no"
        )
        if self.shares_warehouse:
            self.duck.execute(
                f"CREATE OR REPLACE TEMP TABLE {STAGE} AS SELECT batch_id, line_no, raw, "
                f"NULL::VARCHAR AS stage_error FROM ({query})",
                (table, *kinds),
            )
            return int(scalar(self.duck, f"SELECT count(*) FROM {STAGE}"))
        rows = self.warehouse.query(query, (table, *kinds))
        return self.stage_records((batch, int(line), raw, None) for batch, line, raw in rows)

    # --- judging -----------------------------------------------------------------------------

    def check(self, contract: Contract, adapter: Adapter | None) -> None:
        """Judge the staged records into CHECKED (typed values, reason, kind)."""
        keys, lineage = self._context(contract)
        self.duck.execute(
            f"CREATE OR REPLACE TEMP TABLE {CHECKED} AS "
            + duckdb_sql.checked_records_sql(contract, adapter, STAGE, keys)
        )
        self._lineage = lineage

    def _context(self, contract: Contract) -> tuple[str, str]:
        """SQL relations of the keys and lineage already in the table: `(k)` and `(b, l)`."""
        table = quote(contract.table)
        key = quote(contract.key) if contract.key else None
        if self.shares_warehouse:
            keys = f"SELECT {key} AS k FROM {table}" if key else "SELECT NULL AS k WHERE false"
            return keys, f"SELECT _pipefix_batch AS b, _pipefix_line AS l FROM {table}"
        self.duck.execute(f"CREATE OR REPLACE TEMP TABLE {KEYS} (k VARCHAR, b VARCHAR, l BIGINT)")
        batches = [r[0] for r in self.duck.query(f"SELECT DISTINCT batch_id FROM {STAGE}")]
        candidates: list[str] = []
        if contract.key is not None:
            path = duckdb_sql.json_path(contract.key)
            candidates = [
                r[0]
                for r in self.duck.query(
                    f"SELECT DISTINCT raw ->> {path} FROM {STAGE} WHERE {duckdb_sql.IS_OBJECT} "
                    f"AND raw ->> {path} IS NOT NULL"
                )
            ]
        if batches:
            rows = self.warehouse.existing_rows(contract.table, contract.key, candidates, batches)
            self.duck.copy_rows(f"temp.{KEYS}", ("k", "b", "l"), rows)
        # A record already written by a load that did not commit (Spark writes no transaction)
        # is not a duplicate of itself.
        return (
            f"SELECT k FROM {KEYS} AS x WHERE k IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {STAGE} AS s WHERE s.batch_id = x.b AND s.line_no = x.l)",
            f"SELECT b, l FROM {KEYS}",
        )

    def count(self, where: str) -> int:
        return int(scalar(self.duck, f"SELECT count(*) FROM {CHECKED} WHERE {where}"))

    # --- writing verdicts to the warehouse ------------------------------------------------------

    def insert_conforming(self, contract: Contract, step: int) -> int:
        new = (
            f"reason = '' AND NOT EXISTS (SELECT 1 FROM ({self._lineage}) AS x "
            "WHERE x.b = c.batch_id AND x.l = c.line_no)"
        )
        columns = [*contract.column_names, *duckdb_sql.LINEAGE_COLUMNS]
        values = ", ".join(f"v_{i}" for i in range(len(contract.columns)))
        if self.shares_warehouse:
            self.duck.execute(
                f"INSERT INTO {quote(contract.table)} ({', '.join(quote(c) for c in columns)}) "
                f"SELECT {values}, batch_id, line_no, {int(step)} FROM {CHECKED} AS c WHERE {new}"
            )
            return self.count("reason = ''")
        select = f"SELECT {values}, batch_id, line_no, {int(step)} FROM {CHECKED} AS c WHERE {new}"
        copy_arrow = getattr(self.warehouse, "copy_record_batches", None)
        if copy_arrow is not None:  # Spark: Arrow record batches, never a Python tuple per row
            copy_arrow(contract.table, columns, self.duck.record_batches(select))
        else:
            self.warehouse.copy_rows(contract.table, columns, self.duck.query(select))
        return self.count("reason = ''")  # as above: rows already present count as loaded

    def quarantine_rejected(self, table: str, contract_version: int, step: int) -> int:
        select = (
            f"SELECT ? AS table_name, batch_id, line_no, raw, reason, kind, ? AS contract_version, "
            f"? AS quarantined_step, NULL::BIGINT AS replayed_step, NULL::INTEGER AS replayed_version "
            f"FROM {CHECKED} WHERE reason <> '' ORDER BY batch_id, line_no"
        )
        params = (table, contract_version, step)
        if self.shares_warehouse:
            self.duck.execute(f"INSERT INTO {store.SCHEMA}.quarantine {select}", params)
            return self.count("reason <> ''")
        rows = self.duck.query(select, params)
        return self.warehouse.copy_rows(f"{store.SCHEMA}.quarantine", QUARANTINE_COLUMNS, rows)

    def mark_replayed(self, table: str, step: int, version: int) -> None:
        """Close the quarantine records now loaded; refresh the reasons of those still held."""
        quarantine = f"{store.SCHEMA}.quarantine"
        if self.shares_warehouse:
            source = CHECKED
        else:
            source = f"{self.warehouse.capabilities.temp_schema}._pipefix_verdicts"
            self.warehouse.execute(f"DROP TABLE IF EXISTS {source}")
            self.warehouse.execute(
                "CREATE TEMP TABLE _pipefix_verdicts "
                "(batch_id VARCHAR, line_no BIGINT, reason VARCHAR, kind VARCHAR)"
            )
            rows = self.duck.query(f"SELECT batch_id, line_no, reason, kind FROM {CHECKED}")
            self.warehouse.copy_rows(source, ("batch_id", "line_no", "reason", "kind"), rows)
        self.warehouse.execute(
            f"UPDATE {quarantine} AS q SET replayed_step = ?, replayed_version = ? FROM {source} AS c "
            "WHERE q.table_name = ? AND q.replayed_step IS NULL AND q.batch_id = c.batch_id "
            "AND q.line_no = c.line_no AND c.reason = ''",
            (step, version, table),
        )
        self.warehouse.execute(
            f"UPDATE {quarantine} AS q SET reason = c.reason, kind = c.kind FROM {source} AS c "
            "WHERE q.table_name = ? AND q.replayed_step IS NULL AND q.batch_id = c.batch_id "
            "AND q.line_no = c.line_no AND c.reason <> ''",
            (table,),
        )


QUARANTINE_COLUMNS = (
    "table_name",
    "batch_id",
    "line_no",
    "raw",
    "reason",
    "kind",
    "contract_version",
    "quarantined_step",
    "replayed_step",
    "replayed_version",
)

_JUDGES: weakref.WeakKeyDictionary[Any, Judge] = weakref.WeakKeyDictionary()


def judge_for(warehouse: Engine) -> Judge:
    if warehouse not in _JUDGES:
        _JUDGES[warehouse] = Judge(warehouse)
    return _JUDGES[warehouse]


def interrupt(warehouse: Engine) -> None:
    """Stop the judge of `warehouse` too, when it is a DuckDB of its own (the warehouse is not
    DuckDB): a large batch spends most of its load there. Safe from a signal handler."""
    judge = _JUDGES.get(warehouse)
    if judge is not None and not judge.shares_warehouse:
        judge.duck.interrupt()
