"""The engine's own safety rule: no statement may destroy user data, whoever asks.

This is the second line of defence after the planner's safety constraint: every statement an
engine runs is checked here first, so a bug or a model elsewhere cannot slip a DROP through.
A statement that cannot be verified (unparseable, or parsed only as an opaque command) is refused.

pipefix only appends to user tables. Rows already there are never changed or removed: UPDATE,
MERGE, upserts (`INSERT OR REPLACE`, `ON CONFLICT DO UPDATE`) and `INSERT OVERWRITE` are allowed
only on pipefix's own tables (schema `pipefix`) and temp tables; DELETE only on temp tables;
TRUNCATE nowhere. These are found anywhere in a statement, a data-modifying CTE included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipefix.engines.sql.staging import SCRATCH_REBUILD
from pipefix.errors import DestructiveStatementError as DestructiveStatementError

if TYPE_CHECKING:
    from sqlglot import exp

# sqlglot is imported only when a statement needs parsing: most statements are settled by the
# word check below, and a read-only `pipefix check` should not pay for the parser's import.

# Words without which a statement cannot destroy anything: a plain INSERT or SELECT skips the
# parser. A word inside a literal or an identifier only costs a parse (`updated_at` does not match).
# Comments are checked for too, since `CREATE OR /* */ REPLACE` would otherwise slip past a match.
_WORDS = r"drop|truncate|delete|alter|update|merge|upsert|conflict|overwrite"
_RISKY = re.compile(rf"\b({_WORDS}|replace)\b|--|/\*", re.IGNORECASE)
# pipefix's own temp tables are rebuilt every batch (SCRATCH_REBUILD, beside the builder that
# writes them); parsing those large statements costs more than the load itself.
# ... whose SELECT may call replace() without being parsed, but not hide another statement.
_OTHER_RISKS = re.compile(rf"\b({_WORDS})\b|--|/\*|\b(or\s+replace|replace\s+into)\b", re.IGNORECASE)
_OWN_SCHEMAS = ("pipefix", "temp", "pg_temp")


@dataclass(frozen=True)
class DroppedColumn:
    """An `ALTER TABLE ... DROP COLUMN`: allowed only when the column holds no value. Names as
    the warehouse knows them (unquoted, case folded as the dialect folds it); the engine counts
    the column's values through its dialect (engines/sql/drop_guard.py)."""

    table_path: tuple[str, ...]  # ("users",) or ("main", "users")
    column_name: str

    def __str__(self) -> str:
        return f"column {self.column_name} of {'.'.join(self.table_path)}"


def _needs_parsing(sql: str) -> bool:
    if not _RISKY.search(sql):
        return False
    rebuild = SCRATCH_REBUILD.match(sql)
    if rebuild:
        return _OTHER_RISKS.search(sql, rebuild.end()) is not None
    return True


def _is_temporary(statement: exp.Expr, table: exp.Table | None) -> bool:
    """Only temp tables count as scratch: a name alone proves nothing."""
    from sqlglot import exp

    if table is not None and table.db.lower() in ("temp", "pg_temp"):
        return True
    properties = statement.args.get("properties")
    return properties is not None and any(
        isinstance(p, exp.TemporaryProperty) for p in properties.expressions
    )


def _name(table: exp.Table | None) -> str:
    return table.sql() if table is not None else "?"


def inspect(sql: str, dialect: str) -> list[DroppedColumn]:
    """Raise on any destructive statement; return column drops the engine must verify empty."""
    if not _needs_parsing(sql):
        return []
    import sqlglot
    from sqlglot import exp

    try:
        statements = sqlglot.parse(sql, read=dialect)
    except sqlglot.errors.ParseError as error:
        raise DestructiveStatementError(f"refused: statement could not be verified ({error})") from error
    drops: list[DroppedColumn] = []
    for statement in statements:
        if statement is None:
            continue
        if isinstance(statement, exp.Command) or statement.find(exp.Command) is not None:
            raise DestructiveStatementError(f"refused: statement could not be verified: {sql[:80]}")
        table = statement.this if isinstance(statement.this, exp.Table) else statement.find(exp.Table)
        temporary = _is_temporary(statement, table)
        if isinstance(statement, exp.TruncateTable):
            raise DestructiveStatementError(f"refused: TRUNCATE of {_name(table)}")
        if isinstance(statement, exp.Drop) and not temporary:
            kind = statement.args.get("kind") or "object"
            raise DestructiveStatementError(f"refused: DROP {kind} {_name(table)}")
        if (
            isinstance(statement, exp.Create)
            and statement.args.get("replace")
            and str(statement.args.get("kind", "")).upper() == "TABLE"
            and not temporary
        ):
            raise DestructiveStatementError(
                f"refused: CREATE OR REPLACE of table {_name(table)}, which would discard its rows"
            )
        if isinstance(statement, exp.Alter) and not temporary:
            drops += _alter_drops(statement, table, dialect)
        for change in statement.find_all(exp.Update, exp.Delete, exp.Merge, exp.Insert):
            _refuse_row_changes(change)
    return drops


def _target(change: exp.Expr) -> exp.Table:
    from sqlglot import exp

    target = change.this.this if isinstance(change.this, exp.Schema) else change.this
    if not isinstance(target, exp.Table):
        raise DestructiveStatementError(
            f"refused: {change.key.upper()} on a target that could not be verified"
        )
    return target


def _refuse_row_changes(change: exp.Expr) -> None:
    """Rows already in a user table are never changed or removed, wherever the statement says so
    (a data-modifying CTE included): only pipefix's own tables and temp tables take these."""
    from sqlglot import exp

    if change.this is None and isinstance(change.parent, exp.When):
        return  # a branch of a MERGE (THEN UPDATE / THEN INSERT): the MERGE itself is checked
    target = _target(change)
    own = target.db.lower() in _OWN_SCHEMAS
    scratch = target.db.lower() in ("temp", "pg_temp")
    name = _name(target)
    if isinstance(change, exp.Delete) and not scratch:
        raise DestructiveStatementError(f"refused: DELETE from {name}")
    if isinstance(change, exp.Update) and not own:
        raise DestructiveStatementError(f"refused: UPDATE of {name} (pipefix only appends to user tables)")
    if isinstance(change, exp.Merge):
        if not own:
            raise DestructiveStatementError(
                f"refused: MERGE into {name} (pipefix only appends to user tables)"
            )
        deletes = any(w.text("then").upper() == "DELETE" for w in change.find_all(exp.When))
        if deletes and not scratch:
            raise DestructiveStatementError(f"refused: DELETE from {name} (in a MERGE)")
    if isinstance(change, exp.Insert):
        if change.args.get("overwrite") and not scratch:
            raise DestructiveStatementError(f"refused: INSERT OVERWRITE of {name}")
        conflict = change.args.get("conflict")
        updates = conflict is not None and (
            conflict.args.get("duplicate") or conflict.text("action").upper() != "DO NOTHING"
        )
        replaces = str(change.args.get("alternative") or "").upper() == "REPLACE"
        if (updates or replaces) and not own:
            how = "INSERT OR REPLACE" if replaces else "INSERT ... ON CONFLICT DO UPDATE"
            raise DestructiveStatementError(f"refused: upsert ({how}) into {name}")


def _alter_drops(statement: exp.Alter, table: exp.Table | None, dialect: str) -> list[DroppedColumn]:
    from sqlglot import exp
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    drops = []
    for action in statement.args.get("actions") or []:
        if isinstance(action, exp.AlterRename):
            raise DestructiveStatementError(f"refused: renaming table {_name(table)}")
        if isinstance(action, exp.Drop):
            kind = str(action.args.get("kind") or "").lower()
            columns = action.args.get("tables") or ([action.this] if action.this is not None else [])
            if kind != "column" or table is None:
                what = " ".join([kind, *(c.sql(dialect=dialect) for c in columns)])
                raise DestructiveStatementError(f"refused: dropping {what} of table {_name(table)}")
            if not columns:
                raise DestructiveStatementError(f"refused: unverifiable DROP on {_name(table)}")
            # Names as the warehouse resolves them: unquoted ones folded as the dialect folds them.
            named = normalize_identifiers(table.copy(), dialect=dialect)
            path = tuple(part for part in (named.catalog, named.db, named.name) if part)
            for column in columns:
                drops.append(DroppedColumn(path, normalize_identifiers(column.copy(), dialect=dialect).name))
    return drops


def refuse_if_filled(dropped: DroppedColumn, held: int | None) -> None:
    """The engines' check before a DROP COLUMN runs: only a column holding no value may go."""
    if held is None or held != 0:
        count = "?" if held is None else held
        raise DestructiveStatementError(f"refused: dropping {dropped} would lose {count} values")
