"""DuckDB SQL of the lossless conversions an adapter applies (pipeline/conversions.py). Pure.

Each expression gives the converted value when the text sent converts exactly, else NULL (and
the judge holds the record with its reason). Exactness is proved on the text itself: a number
is read digit by digit (never through a double), a timestamp's text is parsed and written back
under the same pattern and must come out as sent. The judge runs in DuckDB for every warehouse,
so the conversions are the same whatever the warehouse.
"""

from __future__ import annotations

from pipefix.engines.sql.dialects import DUCKDB
from pipefix.engines.types import physical_type
from pipefix.pipeline.contracts import ColumnTransform, TransformKind, decimal_scale
from pipefix.pipeline.conversions import EPOCH_KINDS, EPOCH_UNITS, has_zone, unpadded
from pipefix.pipeline.vocabulary import WHITESPACE, fold

_d = DUCKDB  # the judge's SQL: DuckDB's, whatever the warehouse

_NUMBER = _d.string(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
# An epoch number as written: digits, and a fraction maybe; no sign, no exponent.
_EPOCH = _d.string(r"([0-9]+)(\.([0-9]+))?")
# A zone at the end of a timestamp's text: a numeric offset, or a name for UTC.
_ZONE = _d.string(r"^(.*) ([+-][0-9]{4}|GMT|UTC|UT|Z)$")
_UNIT_OF_KIND = {kind: unit for unit, kind in EPOCH_KINDS.items()}


def converted(
    transform: ColumnTransform, logical: str, jt: str, text: str, exact_at_scale: str | None = None
) -> str:
    """The value converted from `text` (the field's text as sent; `jt` its JSON type), or NULL.
    `exact_at_scale`: for a decimal column, whether the text has no digit past its scale."""
    kind = transform.kind
    if kind is TransformKind.FROM_TEXT:
        return _from_text(logical, jt, text, exact_at_scale)
    if kind in _UNIT_OF_KIND:
        return _from_epoch(_UNIT_OF_KIND[kind], jt, text) if logical == "timestamp" else "NULL"
    if kind is TransformKind.VALUE_MAP:
        return mapped(transform, logical, jt, text)
    if kind is TransformKind.STRPTIME and transform.format and logical in ("timestamp", "date"):
        value = _from_format(transform.format, jt, text)
        return f"({value})::DATE" if logical == "date" else value
    return "NULL"


def mapped(transform: ColumnTransform, logical: str, jt: str, text: str) -> str:
    """The stored value of a text sent in another vocabulary (pipeline/vocabulary.py): a CASE over
    the text with case and surrounding whitespace ignored, each word a literal; NULL for a text
    the mapping does not name (the judge holds it, naming the mapping). Strings, and whole numbers
    for a boolean's 1/0."""
    if logical not in ("boolean", "varchar") or not transform.mapping:
        return "NULL"
    words = dict.fromkeys(fold(sent) for sent, _ in transform.mapping)
    stored = {fold(sent): value for sent, value in transform.mapping}
    whens = " ".join(f"WHEN {_d.string(word)} THEN {_d.string(stored[word])}" for word in words)
    value = f"CASE lower(trim({text}, {_d.string(WHITESPACE)})) {whens} END"
    if logical == "boolean":
        return f"CASE WHEN {jt} IN ('VARCHAR', 'BIGINT', 'UBIGINT') THEN ({value})::BOOLEAN END"
    return f"CASE WHEN {jt} = 'VARCHAR' THEN {value} END"


def _from_text(logical: str, jt: str, text: str, exact_at_scale: str | None) -> str:
    string = f"{jt} = 'VARCHAR'"
    physical = physical_type(logical)
    if logical in ("bigint", "integer"):
        # Written back, the integer must be the text sent: "007", "+5", "5.0", "1_000" are not.
        cast = f"TRY_CAST({text} AS {physical})"
        return f"CASE WHEN {string} AND {cast}::VARCHAR = {text} THEN {cast} END"
    if decimal_scale(logical) is not None and exact_at_scale is not None:
        return f"CASE WHEN {string} AND {exact_at_scale} THEN TRY_CAST({text} AS {physical}) END"
    if logical == "double":
        # As exact as a JSON number sent to a double column: the double nearest to it.
        number = f"regexp_full_match({text}, {_NUMBER})"
        return f"CASE WHEN {string} AND {number} THEN TRY_CAST({text} AS DOUBLE) END"
    if logical == "boolean":
        return f"CASE WHEN {string} AND {text} IN ('true', 'false') THEN {text} = 'true' END"
    return "NULL"


def _from_epoch(unit: str, jt: str, text: str) -> str:
    """Epoch `unit`s as a timestamp, computed on the number's digits: the whole part must be in
    the unit's range, and the fraction must end within the microsecond."""
    low, high, digits, micros = EPOCH_UNITS[unit]
    whole = f"TRY_CAST(regexp_extract({text}, {_EPOCH}, 1) AS BIGINT)"
    fraction = f"rtrim(regexp_extract({text}, {_EPOCH}, 3), '0')"
    value = f"{whole} * {micros}"
    if digits:
        value += f" + TRY_CAST(rpad({fraction}, {digits}, '0') AS BIGINT)"
    return (
        f"CASE WHEN {jt} IN ('BIGINT', 'UBIGINT', 'DOUBLE') AND regexp_full_match({text}, {_EPOCH}) "
        f"AND {whole} BETWEEN {low} AND {high} AND length({fraction}) <= {digits} "
        f"THEN make_timestamp({value}) END"
    )


def _rewritten(parsed: str, pattern: str, text: str) -> str:
    """Whether `parsed`, written back under `pattern` (zero-padded or not), is `text` again."""
    return (
        f"(strftime({parsed}, {_d.string(pattern)}) = {text} "
        f"OR strftime({parsed}, {_d.string(unpadded(pattern))}) = {text})"
    )


def _from_format(pattern: str, jt: str, text: str) -> str:
    """A timestamp written in `pattern`. Without a zone it is stored as written; with one (a
    numeric offset, or GMT/UTC/UT/Z) it is stored in UTC, as an ISO 8601 offset is."""
    if not has_zone(pattern):
        parsed = f"try_strptime({text}, {_d.string(pattern)})"
        return f"CASE WHEN {jt} = 'VARCHAR' AND {_rewritten(parsed, pattern, text)} THEN {parsed} END"
    local_pattern = pattern.removesuffix(" %z")
    local = f"regexp_extract({text}, {_ZONE}, 1)"
    zone = f"regexp_extract({text}, {_ZONE}, 2)"
    hours = f"TRY_CAST(substr({zone}, 2, 2) AS INTEGER)"
    minutes = f"TRY_CAST(substr({zone}, 4, 2) AS INTEGER)"
    offset = (
        f"CASE WHEN {zone} IN ('GMT', 'UTC', 'UT', 'Z') THEN 0 WHEN {hours} < 24 AND {minutes} < 60 "
        f"THEN (CASE WHEN starts_with({zone}, '-') THEN -1 ELSE 1 END) * ({hours} * 60 + {minutes}) END"
    )
    parsed = f"try_strptime({local}, {_d.string(local_pattern)})"
    return (
        f"CASE WHEN {jt} = 'VARCHAR' AND regexp_full_match({text}, {_ZONE}) "
        f"AND {_rewritten(parsed, local_pattern, local)} AND ({offset}) IS NOT NULL "
        f"THEN {parsed} - to_minutes({offset}) END"
    )
