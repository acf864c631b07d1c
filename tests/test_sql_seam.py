"""The SQL seam (issue 20): statements are built in the dialect layer, `engines/sql/`, and
nowhere else.

A module outside it holding SQL text is listed in NOT_YET_MOVED with the number of SQL strings it
holds. The list only shrinks: a module may not gain SQL, a module not listed may not start
holding any, and a module that holds fewer than its number must have its number lowered (so the
ratchet tightens as statements move). The list is empty now: no SQL text is assembled outside
the seam, and a module that starts to hold some fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "pipefix"
SEAM = SOURCE / "engines" / "sql"

# A statement's opening words, as pipefix writes them (upper case), anywhere in a string: a
# string holding one is SQL text, whether a whole statement or a piece of one (DESCRIBE and
# TRUNCATE only opening it: a message may name them). Then the pieces a statement is built
# from elsewhere: a predicate or an expression handed to a builder is SQL text too.
SQL = re.compile(
    r"\b(SELECT|INSERT INTO|CREATE (OR REPLACE )?(TEMP |TEMPORARY )?(TABLE|VIEW|SCHEMA|INDEX|UNIQUE INDEX)"
    r"|ALTER TABLE|DROP (TABLE|VIEW|SCHEMA|INDEX)|UPDATE \S+ SET|DELETE FROM|COPY \S+ (FROM|TO)"
    r"|^\s*(DESCRIBE|TRUNCATE))\b"
    r"|\b(CASE WHEN|IS (NOT )?NULL|(TRY_)?CAST\(|regexp_\w+\(|count\((\*|DISTINCT\b))"
    r"|\w+ (=|<>) ''"
)

# Module (under src/pipefix) -> SQL strings it still holds. Lower a number when statements move
# into engines/sql/; remove the line at zero. Never raise one.
NOT_YET_MOVED: dict[str, int] = {}


def _docstrings(tree: ast.Module) -> set[int]:
    owners = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, owners) and node.body and isinstance(node.body[0], ast.Expr):
            found.add(id(node.body[0].value))
    return found


def sql_strings(path: Path) -> int:
    """String literals and f-strings in `path` holding SQL text (docstrings aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # an f-string's literal parts count with it
            skipped |= {id(part) for part in node.values}
    count = 0
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(str(p.value) if isinstance(p, ast.Constant) else " {} " for p in node.values)
        else:
            continue
        count += bool(SQL.search(text))
    return count


def _outside_the_seam() -> dict[str, int]:
    held = {}
    for path in sorted(SOURCE.rglob("*.py")):
        if SEAM in path.parents:
            continue
        count = sql_strings(path)
        if count:
            held[path.relative_to(SOURCE).as_posix()] = count
    return held


def test_no_module_outside_the_seam_gains_sql_text() -> None:
    grown = {
        module: (count, NOT_YET_MOVED.get(module, 0))
        for module, count in _outside_the_seam().items()
        if count > NOT_YET_MOVED.get(module, 0)
    }
    assert grown == {}, "SQL text built outside engines/sql/ (module: (now, allowed)): move it into the seam"


def test_the_list_of_modules_still_holding_sql_only_shrinks() -> None:
    held = _outside_the_seam()
    stale = {m: (held.get(m, 0), allowed) for m, allowed in NOT_YET_MOVED.items() if held.get(m, 0) < allowed}
    assert stale == {}, "statements moved: lower these numbers in NOT_YET_MOVED (module: (now, listed))"


def test_the_scan_finds_sql_and_only_sql(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        '"""SELECT in a docstring is prose."""\n'
        "TABLE = 'orders'\n"
        "def f(t):\n"
        '    return f"SELECT count(*) FROM {t}"\n'
        "STATEMENT = 'INSERT INTO pipefix.batches VALUES (?)'\n"
        "MESSAGE = 'refused: no DROP, TRUNCATE or DELETE of user data'\n"
        "ACCEPTED = \"reason = ''\"\n"
        "METRIC = 'count(DISTINCT user_id)'\n"
        "NOTE = 'a count of rows, cast to text, is null when none'\n",
        encoding="utf-8",
    )
    assert sql_strings(module) == 4
