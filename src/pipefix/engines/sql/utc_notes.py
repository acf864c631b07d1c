"""Statements of the UTC notes (engines/utc_notes.py): the offsets other than UTC the records
just judged to load were sent with, per timestamp column, and a note appended to a contract
version."""

from __future__ import annotations

from collections.abc import Iterable

from pipefix.engines.sql.dialects import Dialect

# A time of day followed by an offset other than +00:00, somewhere in a record: the one test
# every loaded record gets (a producer sending UTC times costs no more).
_NOT_UTC = r"[+-]([0-9][1-9]|[1-9][0-9]|00:?([0-9][1-9]|[1-9][0-9]))"
MAYBE = r"[0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?" + _NOT_UTC
# The offset ending a time; +00:00 (and Z) are UTC already.
OFFSET = r"[0-9]:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?([+-][0-9]{2}(?::?[0-9]{2})?)$"
UTC = r"[+-]00(:?00)?"


def offsets_sql(d: Dialect, texts: Iterable[int], checked: str) -> str:
    """Per timestamp text `s_<i>` of the checked records, the distinct offsets other than UTC of
    the records to load (DuckDB's regexp functions: the judge's scratch DuckDB runs it)."""
    maybe, ending, utc = d.string(MAYBE), d.string(OFFSET), d.string(UTC)
    found = []
    for i in texts:
        offset = f"regexp_extract(s_{int(i)}, {ending}, 1)"
        not_utc = f"NOT regexp_full_match({offset}, {utc})"
        found.append(
            f"list(DISTINCT {offset}) FILTER (WHERE regexp_matches(s_{int(i)}, {maybe}) AND {offset} <> '' "
            f"AND {not_utc})"
        )
    return f"SELECT {', '.join(found)} FROM {d.table(checked)} WHERE reason = ''"


def append_note_sql(d: Dialect, schema: str) -> str:
    """Parameters: the text appended, the table, the contract version."""
    return f"UPDATE {d.table(schema, 'contracts')} SET note = note || ? WHERE table_name = ? AND version = ?"
