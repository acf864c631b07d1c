"""`pipefix init --from DIR`: a commented `pipefix.yaml` inferred from sample batches.

Samples are found as the landing folder holds batches — `DIR/<table>/*.jsonl|*.ndjson|*.csv|
*.parquet` — or as files directly in DIR, one table per file named after it (`DIR/orders.csv`
is table `orders`). Each table's contract is guessed from its records (pipeline/infer.py), the
file is written, read back through the config loader and tried on the samples with the loader
itself (engines/samples.py): whatever that trial holds is loosened and tried again, so the
written contract loads its own samples. What could not be loaded whatever the contract (a line
that is no JSON object) is reported.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pipefix.config import CONFIG_FILE, ConfigError, LoadedConfig, load_config
from pipefix.engines import readers, samples
from pipefix.pipeline import infer
from pipefix.pipeline.field_profiles import profile_fields

DEFAULT_WAREHOUSE = "duckdb:///warehouse.duckdb"
_TRIALS = 3  # guess, then loosen at most twice: each round only loosens


@dataclass(frozen=True)
class InferredTable:
    folder: str  # where its samples were found (a folder, or a file's stem)
    read: samples.SampleRead
    guess: infer.TableGuess
    trial: samples.TrialLoad | None = None


@dataclass(frozen=True)
class Inferred:
    tables: tuple[InferredTable, ...]
    skipped: tuple[str, ...]  # folders with no record to infer from, and why
    text: str  # the config, as written

    @property
    def warnings(self) -> list[str]:
        found = list(self.skipped)
        for table in self.tables:
            bad = table.read.unreadable
            if bad:
                first = bad[0]
                found.append(
                    f"{table.guess.table}: {len(bad)} record(s) are no JSON object and would be held "
                    f"whatever the contract (first: {first.file} line {first.line}: {first.reason})"
                )
            if table.trial is not None and table.trial.held:
                reasons = "; ".join(f"{n} × {r}" for r, n in table.trial.held.items())
                found.append(f"{table.guess.table}: the samples would still be held: {reasons}")
        return found


def _is_batch(path: Path) -> bool:
    return path.is_file() and readers.batch_format(path) is not None and not path.name.startswith(".")


def find_samples(folder: Path) -> dict[str, list[Path]]:
    """Sample files per table: DIR/<table>/ folders of batch files, and batch files directly in
    DIR (one table each, named after the file). Hidden files are skipped."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder of sample batches")
    found: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            files = sorted(p for p in entry.iterdir() if _is_batch(p))
            if files:
                found.setdefault(entry.name, []).extend(files)
        elif _is_batch(entry):
            found.setdefault(readers.batch_stem(entry), []).append(entry)
    if not found:
        kinds = ", ".join(sorted(set(readers.FORMATS)))
        raise ConfigError(
            f"{folder}: no sample batches ({kinds}) in it or in folders named after their tables"
        )
    return found


def infer_project(folder: Path, warehouse: str = DEFAULT_WAREHOUSE) -> Inferred:
    """The config inferred from the samples under `folder`, tried on them."""
    found = find_samples(folder)
    names = infer.column_names(list(found))  # table names follow the rules of column names
    tables: list[InferredTable] = []
    skipped: list[str] = []
    for source, files in found.items():
        read = samples.read_samples(names[source], files)
        if not read.samples:
            skipped.append(f"{source}: no JSON record among {read.records} record(s): no table inferred")
            continue
        guess = infer.infer_table(names[source], profile_fields(read.samples, read.declared))
        tables.append(InferredTable(source, read, guess))
    if not tables:
        raise ConfigError(f"{folder}: {'; '.join(skipped)}")
    for attempt in range(_TRIALS):
        loaded = _validated(render(folder, tables, DEFAULT_WAREHOUSE))
        contracts, adapters = loaded.contracts(), loaded.adapters()
        trials = samples.trial_load(
            [(contracts[t.guess.table], adapters.get(t.guess.table), t.read.files) for t in tables]
        )
        tables = [replace(t, trial=trials[t.guess.table]) for t in tables]
        refused = [t for t in tables if t.trial is not None and t.trial.held]
        if not refused or attempt == _TRIALS - 1:
            break
        tables = [replace(t, guess=infer.relax(t.guess, t.trial.held)) if t.trial else t for t in tables]
    text = render(folder, tables, warehouse)
    return Inferred(tuple(tables), tuple(skipped), text)


def _validated(text: str) -> LoadedConfig:
    """The rendered config read back by the config loader: what `pipefix run` will read."""
    with tempfile.TemporaryDirectory(prefix="pipefix-init-") as scratch:
        path = Path(scratch) / CONFIG_FILE
        path.write_text(text, encoding="utf-8")
        return load_config(path)


def init_from_samples(directory: Path, samples_dir: Path, warehouse: str = DEFAULT_WAREHOUSE) -> Inferred:
    """Write `directory/pipefix.yaml` inferred from `samples_dir`, and an empty landing folder per
    table. Refuses, before reading any sample, if the config already exists."""
    config_path = directory / CONFIG_FILE
    if config_path.exists():
        raise ConfigError(
            f"{config_path}: already exists; pipefix init does not overwrite it "
            "(move it away, or initialise another folder)"
        )
    inferred = infer_project(samples_dir, warehouse)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with config_path.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(inferred.text)
        for table in inferred.tables:
            (directory / "landing" / table.guess.table).mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"{config_path}: already exists; pipefix init does not overwrite it") from None
    except OSError as exc:
        raise ConfigError(f"{directory}: cannot create the project: {exc.strerror or exc}") from None
    return inferred


# --- the file ---------------------------------------------------------------------------------

_HEADER = """\
# pipefix.yaml, inferred by `pipefix init --from {samples}` from {records} sample records.
# Review it before the first `pipefix run`: each guess says, after #, what it was based on.
#   type       read from the text sent: integer widths from the values, decimal(p,s) from the
#              digits (never through a double); times sent with an offset are timestamptz
#              (exact instants), those without one timestamp (read as UTC)
#   nullable   false only where every sample filled the field
#   key        a candidate: unique and never null in the samples; a repeated key is held
#   values     only where a few short strings repeat many times; a new one is held
#   source     the record field a column is read from when the field's name cannot be one
#   freshness  suggested, commented out: the samples' age says nothing about how fresh data must be
# Rows that break the contract are held in quarantine with the reason, never dropped; the
# README's "Your own pipeline" explains every setting.
{tried}
warehouse: {warehouse}
landing: landing

tables:
"""

_FOOTER = """
# What pipefix may do on its own when a producer changes a table's schema: auto | approve | block.
policies: {add_column: auto, remove_column: auto, rename_column: auto, type_change: auto}
budget: {max_fixes: 15}
goal: {health: 0.95, error_rate: 0.02}
"""


def _comment(text: str) -> str:
    return " ".join(text.split())


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(text, ensure_ascii=True)


def _settings(column: infer.ColumnGuess) -> str:
    spec = column.spec
    parts = [f"type: {_quoted(spec.type) if ',' in spec.type else spec.type}"]
    if not spec.nullable:
        parts.append("nullable: false")
    if spec.values is not None:
        parts.append(f"values: [{', '.join(_quoted(v) for v in spec.values)}]")
    if column.source is not None:
        parts.append(f"source: {_quoted(column.source)}")
    return "{" + ", ".join(parts) + "}"


def _table_text(samples_dir: Path, table: InferredTable) -> list[str]:
    guess, read = table.guess, table.read
    where = table.folder if len(read.files) > 1 or read.files[0].parent != samples_dir else read.files[0].name
    lines = [
        f"  # {guess.table}: {read.records} records in {len(read.files)} file(s) from {where}; "
        f"its batches go in landing/{guess.table}/"
    ]
    if read.unreadable:
        lines.append(f"  # {len(read.unreadable)} of them are no JSON object: held whatever the contract")
    lines += [f"  # {_comment(note)}" for note in guess.notes]
    if table.trial is not None and table.trial.held:
        held = sum(table.trial.held.values())
        lines.append(f"  # still held in a trial load of the samples: {held} records")
    lines.append(f"  {guess.table}:")
    if guess.key is not None:
        lines.append(f"    key: {guess.key}   # {_comment(guess.key_note)}")
    lines.append("    columns:")
    width = max(len(c.spec.name) for c in guess.columns) + 1
    settings = [_settings(c) for c in guess.columns]
    pad = min(max(len(s) for s in settings), 60)
    for column, text in zip(guess.columns, settings, strict=True):
        name = f"{column.spec.name}:".ljust(width)
        lines.append(f"      {name} {text.ljust(pad)}  # {_comment(column.note)}")
    if guess.freshness is not None:
        lines.append(f"    # freshness: 24h   # {_comment(guess.freshness_note)}; set how fresh it must be")
    return lines


def render(samples_dir: Path, tables: Sequence[InferredTable], warehouse: str) -> str:
    records = sum(t.read.records for t in tables)
    trials = [t.trial for t in tables if t.trial is not None]
    tried = ""
    if trials:
        loaded = sum(t.loaded for t in trials)
        received = sum(t.received for t in trials)
        tried = f"# Tried on the samples with pipefix's loader: {loaded} of {received} records load.\n"
    body = [_HEADER.format(samples=samples_dir, records=records, tried=tried, warehouse=warehouse)]
    for table in tables:
        body.append("\n".join(_table_text(samples_dir, table)) + "\n")
    return "\n".join(body).replace("\n\n\n", "\n\n") + _FOOTER
