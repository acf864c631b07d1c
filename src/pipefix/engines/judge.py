"""Where batch records are read and judged against a contract: always DuckDB.

For a DuckDB warehouse the judge is the warehouse itself, so verdicts move by INSERT ... SELECT.
For any other warehouse it is a private in-memory DuckDB: the keys and lineage a verdict depends
on are fetched from the warehouse first, and the verdicts are copied back (COPY) afterwards.
"""

from __future__ import annotations

import json
import tempfile
import weakref
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pipefix.engines import chunks, compressed, readers, store
from pipefix.engines.base import ArrowCopier, CsvCopier, Engine, EngineError, scalar
from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.sql import staging as sql
from pipefix.engines.sql import verdicts
from pipefix.engines.sql.dialects import DUCKDB, Dialect, dialect_named
from pipefix.engines.sql.migration import LINEAGE_COLUMNS
from pipefix.engines.sql.staging import (
    CHECKED,
    KEYS,
    NO_LINEAGE,
    PRIOR,
    STAGE,
    VERDICTS,
)
from pipefix.pipeline.contracts import Adapter, Contract
from pipefix.pipeline.csv_dialect import CsvDialect

CSV_SAFE = frozenset(
    {"BIGINT", "INTEGER", "SMALLINT", "TINYINT", "DOUBLE", "FLOAT", "VARCHAR", "BOOLEAN", "DATE", "TIMESTAMP"}
)


class Judge:
    def __init__(self, warehouse: Engine) -> None:
        self.warehouse = warehouse
        self.duck = warehouse if isinstance(warehouse, DuckDBEngine) else DuckDBEngine(":memory:")
        self.received = 0  # records staged from the open file
        self._rest: Generator[int] | None = None
        self._line_offset = 0
        self._whole = False
        self._prior_lineage = False

    @property
    def shares_warehouse(self) -> bool:
        return self.duck is self.warehouse

    @property
    def _state(self) -> Dialect:
        """The dialect of statements on pipefix's state (the quarantine) in the warehouse."""
        return dialect_named(self.warehouse.capabilities.state_dialect)

    # --- staging: every source becomes (batch_id, line_no, raw, stage_error) ----------------
    #
    # A file is staged a chunk at a time (engines/chunks.py): open_file() stages its first chunk,
    # next_chunk() each following one in its place, so a batch of any size is judged and written
    # in bounded memory. `received` counts the records staged from the file so far.

    def stage_file(
        self,
        path: Path,
        batch_id: str,
        contract: Contract | None,
        line_offset: int = 0,
        dialect: CsvDialect | None = None,
    ) -> int:
        """Stage a whole batch file's records at once (as one chunk); `line_offset` is added to
        each line number. A CSV file is read in `dialect` (sniffed if None)."""
        self.open_file(path, batch_id, contract, line_offset, dialect, whole=True)
        self.close_file()  # staged whole: its temporary files go now
        return self.received

    def open_file(
        self,
        path: Path,
        batch_id: str,
        contract: Contract | None,
        line_offset: int = 0,
        dialect: CsvDialect | None = None,
        whole: bool = False,
    ) -> int:
        """Stage the first chunk of a batch file (all of it with `whole`); next_chunk() stages
        the others. `line_offset` is added to each line number (the new lines of a grown file,
        read apart, keep the numbers they have in the file). Returns the records staged."""
        self.close_file()
        self.received = 0
        self._line_offset = line_offset
        self._whole = whole
        self._prior_lineage = False
        self._stage_file(path, batch_id, contract, dialect)
        return self.received

    def next_chunk(self) -> bool:
        """Stage the next chunk of the open file in place of the last; False when none is left."""
        chunks, self._rest = self._rest, None
        staged = None if chunks is None else next(chunks, None)
        if staged is None:
            self._prior_lineage = False
            return False
        self._rest = chunks
        self.received += staged
        return True

    def close_file(self) -> None:
        """Forget the rest of the open file (its temporary files go)."""
        chunks, self._rest = self._rest, None
        self._prior_lineage = False
        if chunks is not None:
            chunks.close()

    def take_staged(self, line_no: int) -> tuple[str, str | None] | None:
        """Take one staged record out of the batch: (raw, error), or None if no record has that line."""
        rows = self.duck.query(sql.staged_record(), (line_no,))
        if not rows:
            return None
        self.duck.execute(sql.stage_without_line(), (line_no,))
        self.received -= 1
        return str(rows[0][0]), rows[0][1]

    def hold_staged(self, line_no: int, reason: str) -> None:
        """Make one staged record unreadable with `reason`: it is held, whatever it holds."""
        self.duck.execute(sql.stage_holding_line(), (line_no, reason))

    def _stage_file(
        self, path: Path, batch_id: str, contract: Contract | None, dialect: CsvDialect | None
    ) -> int:
        """Stage the file's first chunk and keep the others for next_chunk()."""
        chunks = self._chunks(path, batch_id, contract, dialect)
        try:
            staged = next(chunks, None)
            if staged is None:  # no byte: no record
                staged = self._stage_rows([])
        except (EngineError, UnicodeError, OSError, compressed.UnreadableFile) as error:
            # Unreadable as a whole (not Parquet, not UTF-8, not gzip ...): one held record.
            kind = readers.batch_kind(path)
            shown = "batch" if kind is None else " ".join(filter(None, (kind.compression, kind.format)))
            reason = f"unreadable {shown} file {path.name}: {str(error).splitlines()[0][:200]}"
            self.received = self._stage_rows([(batch_id, 0, "", reason)])
            return self.received
        self._rest = chunks
        self.received = staged
        return staged

    def _chunks(
        self, path: Path, batch_id: str, contract: Contract | None, dialect: CsvDialect | None
    ) -> Generator[int]:
        """Stage the file chunk by chunk, yielding each chunk's record count: the first chunk
        is read (and a compressed file decompressed) before the first yield."""
        kind = readers.batch_kind(path)
        compression = compressed.compression_of(path, kind.compression if kind else None)
        if compression is None:
            yield from self._plain_chunks(path, kind, batch_id, contract, dialect)
            return
        with compressed.decompressed(path, compression) as plain:
            yield from self._plain_chunks(plain, kind, batch_id, contract, dialect)

    def _plain_chunks(
        self,
        path: Path,
        kind: readers.BatchFormat | None,
        batch_id: str,
        contract: Contract | None,
        dialect: CsvDialect | None,
    ) -> Generator[int]:
        """Stage a file that is not compressed (the named format, its content decides the rest)."""
        fmt = kind.format if kind else "jsonl"
        offset = self._line_offset
        if fmt == "csv":
            # Fields the active adapter reads under other names are typed as their columns.
            adapter = store.active_adapter(self.warehouse, contract.table) if contract else None
            records = readers.read_csv(path, contract, adapter, dialect)
            rows = ((batch_id, r.line_no + offset, r.raw, r.error) for r in records)
            size = None if self._whole else chunks.chunk_rows()
            for part in iter_chunks_lazy(rows, size):
                yield self._stage_rows(part)
            return
        if fmt == "parquet":
            self.duck.execute(sql.stage_parquet(), (batch_id, str(path)))
            yield int(scalar(self.duck, sql.count(STAGE)))
            return
        layout = readers.json_layout(path) if fmt == "json" else "lines"
        if layout != "lines":
            yield self.duck.stage_json_document(path, batch_id, STAGE, layout)
            return
        if self._whole or path.stat().st_size <= chunks.chunk_bytes():
            yield self._stage_lines(path, 1, batch_id, None)
            return
        # Each chunk is copied to a file of its own, which DuckDB reads as text in one scan (a
        # chunk passed as a parameter costs it several times more).
        with tempfile.TemporaryDirectory(prefix="pipefix-chunk-") as folder:
            spool = Path(folder) / "chunk.jsonl"
            for chunk in chunks.line_chunks(path):
                spool.write_bytes(chunk.data)
                yield self._stage_lines(spool, chunk.first_line, batch_id, chunk.data)

    def _stage_lines(self, path: Path, first_line: int, batch_id: str, data: bytes | None) -> int:
        """Stage whole lines of a JSONL file (`path` holds them, or `data` when given),
        numbered from `first_line` in the file."""
        try:
            first = first_line + self._line_offset
            self.duck.stage_lines(path, first, batch_id, STAGE, starts_file=first_line == 1)
        except EngineError:
            # Not readable as UTF-8 text as a whole: judge it line by line instead.
            data = path.read_bytes() if data is None else data
            records = readers.jsonl_chunk_records(data, first_line)
            offset = self._line_offset
            return self._stage_rows((batch_id, r.line_no + offset, r.raw, r.error) for r in records)
        self._drop_blank_lines()
        return int(scalar(self.duck, sql.count(STAGE)))

    def _drop_blank_lines(self) -> None:
        """DuckDB's trim() keeps tabs, form feeds, U+2028 ...: a line of only those is blank to
        the CSV and fallback JSONL readers, so it is no record here either."""
        if scalar(self.duck, sql.count(STAGE, sql.BLANK_LINE)):
            self.duck.execute(sql.stage_without_blank_lines(sql.BLANK_LINE))

    def stage_records(self, rows: Iterable[tuple[str, int, str, str | None]]) -> int:
        """Stage Python records (batch_id, line_no, raw, error), none of a file."""
        self.close_file()
        return self._stage_rows(rows)

    def _stage_rows(self, rows: Iterable[tuple[str, int, str, str | None]]) -> int:
        """Stage Python records through a temp JSONL file, which DuckDB reads in one scan
        (row-by-row inserts would cost far more)."""
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            spool = Path(handle.name)
        try:
            self.duck.execute(sql.create_stage())
            self.duck.execute(sql.stage_spooled_rows(), (str(spool),))
        finally:
            spool.unlink(missing_ok=True)
        return int(scalar(self.duck, sql.count(STAGE)))

    def stage_open_quarantine(self, table: str, kinds: Sequence[str] = ("schema", "value")) -> int:
        self.close_file()
        query = sql.open_quarantine(self._state, len(kinds))
        if self.shares_warehouse:
            self.duck.execute(sql.stage_query(query), (table, *kinds))
            return int(scalar(self.duck, sql.count(STAGE)))
        rows = self.warehouse.query(query, (table, *kinds))
        return self._stage_rows((batch, int(line), raw, None) for batch, line, raw in rows)

    # --- judging -----------------------------------------------------------------------------

    def check(self, contract: Contract, adapter: Adapter | None) -> None:
        """Judge the staged records into CHECKED (typed values, reason, kind)."""
        keys, lineage = self._context(contract)
        self.duck.execute(
            sql.judge_into_checked(verdicts.checked_records_sql(contract, adapter, STAGE, keys))
        )
        self._lineage = lineage

    def _context(self, contract: Contract) -> tuple[str, str]:
        """SQL relations of the keys and lineage already in the table: `(k)` and `(b, l)`."""
        if self.shares_warehouse:
            # probed at insert (the table may not exist before it)
            return sql.table_keys(contract.table, contract.key), ""
        self.duck.execute(sql.create_keys())
        batches = [r[0] for r in self.duck.query(sql.staged_batches())]
        # A file's rows already written by a load that did not commit are fetched with its first
        # chunk (kept in PRIOR for the others); later chunks only probe their keys, which finds
        # the rows the chunks before them wrote too (a key seen again is a duplicate).
        probed = [] if self._prior_lineage else batches
        candidates: list[str] = []
        if contract.key is not None:
            candidates = [r[0] for r in self.duck.query(sql.staged_keys(contract.key))]
        if batches and (probed or candidates):
            rows = self.warehouse.existing_rows(contract.table, contract.key, candidates, probed)
            self.duck.copy_rows(f"temp.{KEYS}", ("k", "b", "l"), rows)
        lineage = sql.fetched_lineage()
        if self._rest is not None or self._prior_lineage:  # a file read in chunks
            if not self._prior_lineage:
                self.duck.execute(sql.keep_prior(lineage))
                self._prior_lineage = True
            lineage = sql.fetched_lineage(PRIOR)
        return sql.fetched_keys(), lineage

    def _shared_lineage(self, table: str) -> str:
        """The rows of the table holding a staged record's lineage (a resent file's, a load cut
        short): only the staged batches' rows within the staged lines, probed with one count that
        the table's zone maps answer; none (no scan of the table at insert) when it finds none."""
        row = self.duck.query(sql.staged_span())[0]
        if not row[0]:
            return NO_LINEAGE
        where = sql.lineage_within(table, row[0], int(row[1]), int(row[2]))
        if not scalar(self.duck, sql.count(DUCKDB.ident(table), where)):
            return NO_LINEAGE
        return sql.table_lineage(table, where)

    def keep_rejected(self, first: bool) -> None:
        """Add the last chunk's records held for their shape or values to REJECTED (a new one
        for the `first` chunk of a file): the drift profile reads them, and only them."""
        if first:
            self.duck.execute(sql.create_rejected())
        self.duck.execute(sql.keep_rejected())

    def verdict_figures(self, contract: Contract, adapter: Adapter | None) -> VerdictFigures:
        """What the last chunk's verdicts show: one scan (verdicts.verdict_figures_sql)."""
        row = self.duck.query(verdicts.verdict_figures_sql(contract, adapter, CHECKED))[0]
        fields = verdicts.field_columns(contract, adapter)
        seen = {
            name: (int(row[3 + 2 * n] or 0), verdicts.json_types_of(row[4 + 2 * n]))
            for n, name in enumerate(fields)
        }
        return VerdictFigures(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), seen)

    def count(self, where: str) -> int:
        return int(scalar(self.duck, sql.count(CHECKED, where)))

    # --- writing verdicts to the warehouse ------------------------------------------------------

    def insert_conforming(self, contract: Contract, step: int) -> int:
        lineage = self._lineage or self._shared_lineage(contract.table)
        columns = [*contract.column_names, *LINEAGE_COLUMNS]
        select = sql.conforming_rows(len(contract.columns), step, lineage)
        if self.shares_warehouse:
            self.duck.execute(sql.insert_rows(contract.table, columns, select))
            return self.count(sql.ACCEPTED)
        bulk = self.warehouse.capabilities.bulk_rows
        if bulk == "arrow":  # Spark: Arrow record batches, never a Python tuple per row
            arrow = cast(ArrowCopier, self.warehouse)
            arrow.copy_record_batches(contract.table, columns, self.duck.record_batches(select))
        elif bulk == "csv" and self._csv_safe(select):  # PostgreSQL: a CSV DuckDB writes
            with tempfile.TemporaryDirectory(prefix="pipefix-copy-") as folder:
                spool = Path(folder) / "rows.csv"
                self.duck.execute(sql.copy_to_csv(select, str(spool)))
                cast(CsvCopier, self.warehouse).copy_csv(contract.table, columns, spool)
        else:
            self.warehouse.copy_rows(contract.table, columns, self.duck.query(select))
        return self.count(sql.ACCEPTED)  # as above: rows already present count as loaded

    def _csv_safe(self, select: str) -> bool:
        """Whether every column of `select` reads back from DuckDB's CSV text as the same value
        in PostgreSQL (numbers, text, booleans, dates, naive timestamps); else rows are sent."""
        types = [str(row[1]) for row in self.duck.query(sql.describe(select))]
        return all(t in CSV_SAFE or t.startswith("DECIMAL") for t in types)

    def quarantine_rejected(self, table: str, contract_version: int, step: int) -> int:
        params = (table, contract_version, step)
        if self.shares_warehouse:
            self.duck.execute(sql.quarantine_held(), params)
            return self.count(sql.HELD)
        rows = self.duck.query(sql.held_records(), params)
        return self.warehouse.copy_rows(sql.quarantine_name(), QUARANTINE_COLUMNS, rows)

    def mark_replayed(self, table: str, step: int, version: int) -> None:
        """Close the quarantine records now loaded; refresh the reasons of those still held."""
        d = self._state
        if self.shares_warehouse:
            source = CHECKED
        else:
            source = d.temp_table(VERDICTS)
            self.warehouse.execute(sql.drop_verdicts(d))
            self.warehouse.execute(sql.create_verdicts(d))
            rows = self.duck.query(sql.verdict_rows())
            copied = f"{self.warehouse.capabilities.temp_schema}.{VERDICTS}"
            self.warehouse.copy_rows(copied, ("batch_id", "line_no", "reason", "kind"), rows)
        self.warehouse.execute(sql.mark_replayed(d, source), (step, version, table))
        self.warehouse.execute(sql.refresh_held_reasons(d, source), (table,))


@dataclass(frozen=True)
class VerdictFigures:
    """Counts of a chunk's verdicts, summed over a file's chunks with `+`."""

    wrong_shape: int = 0  # records held for their shape (kind schema)
    bad_values: int = 0  # records held for their values
    objects: int = 0  # valid JSON objects
    fields: Mapping[str, tuple[int, frozenset[str]]] = field(default_factory=dict)
    # field read -> (records carrying it, its JSON types)

    def __add__(self, other: VerdictFigures) -> VerdictFigures:
        fields = dict(self.fields)
        for name, (rows, types) in other.fields.items():
            before = fields.get(name, (0, frozenset()))
            fields[name] = (before[0] + rows, before[1] | types)
        return VerdictFigures(
            self.wrong_shape + other.wrong_shape,
            self.bad_values + other.bad_values,
            self.objects + other.objects,
            fields,
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


def iter_chunks_lazy(
    rows: Iterable[tuple[str, int, str, str | None]], size: int | None
) -> Iterator[list[Any]]:
    """Rows in lists of `size` (all in one list when None); none for no row."""
    part: list[Any] = []
    for row in rows:
        part.append(row)
        if size is not None and len(part) >= size:
            yield part
            part = []
    if part:
        yield part
