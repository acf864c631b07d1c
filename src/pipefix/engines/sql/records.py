"""Reading raw JSON records in DuckDB SQL: whether a record is an object, its fields' JSON
types and texts, JSON pointers, and a record's own tokens (for a number a double may rewrite).
Pure: builds SQL, runs none; engines/sql/verdicts.py and profile.py build on it."""

from __future__ import annotations

import json

from pipefix.engines.sql.dialects import DUCKDB

_d = DUCKDB  # the judge's SQL: DuckDB's, whatever the warehouse

# DuckDB evaluates both sides of AND, and json_type() raises on malformed JSON: only a CASE
# guards it. Every test of "is this record a JSON object" goes through this expression. Valid
# JSON opening with "{" is an object: the second parse (json_type) is only for the rare record
# opening otherwise (white space first, an array, a number ...).
IS_OBJECT = (
    "(CASE WHEN stage_error IS NOT NULL THEN false WHEN left(raw, 1) = '{' THEN json_valid(raw) "
    "WHEN json_valid(raw) THEN json_type(raw) = 'OBJECT' ELSE false END)"
)

NUMERIC_JSON = "('BIGINT', 'UBIGINT', 'DOUBLE')"
INTEGER_JSON = "('BIGINT', 'UBIGINT')"

# Whitespace as Python's str.isspace() sees it (what the CSV and fallback JSONL readers strip):
# a line of nothing else is blank, not a record, whichever reader reads it.
BLANK_LINE = _d.string(r"[\t\n\x0b\x0c\r\x1c-\x1f\x{85}\pZ]*")

# JSON numbers reach SQL through a double: `raw ->> path` gives the double's shortest text, so
# 0.3000000000000000000001 comes out as 0.3. That text is exact for a number of at most 15
# digits without an exponent; a record with any other number (or what looks like one) has its
# decimal fields read from its own text instead, split into JSON tokens.
MAYBE_INEXACT = _d.string(r"[0-9](\.?[0-9]){15}|[0-9][eE]")
TOKENS = _d.string(r'"([^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')
NUMBER = _d.string(r"-?([0-9]+)(\.([0-9]+))?([eE]([-+]?[0-9]+))?")
PLAIN_DATE = _d.string(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def json_type_of(value: str, text: str) -> str:
    """json_type() of a JSON `value` given `text`, the value as json_extract() wrote it: read
    from its first character, which names every type but a number's; only a number (short text)
    is parsed again. Parsing every field of every record again cost most of the judge
    (tests/engines/test_duckdb_sql.py holds this to json_type())."""
    return (
        f"CASE left({text}, 1) WHEN '\"' THEN 'VARCHAR' WHEN 'n' THEN 'NULL' WHEN 't' THEN 'BOOLEAN' "
        f"WHEN 'f' THEN 'BOOLEAN' WHEN '{{' THEN 'OBJECT' WHEN '[' THEN 'ARRAY' ELSE json_type({value}) END"
    )


def json_text_of(value: str, text: str) -> str:
    """`value ->> '$'` (a JSON value's text: a string unescaped, NULL for null) given `text`, the
    value as written: only a string is parsed again."""
    return f"CASE left({text}, 1) WHEN '\"' THEN {value} ->> '$' WHEN 'n' THEN NULL ELSE {text} END"


def json_path(field: str) -> str:
    """The field as a JSON Pointer: unlike a `$."..."` path it holds any key ("", a backslash ...)."""
    return _d.string("/" + field.replace("~", "~0").replace("/", "~1"))


def pointer_sql(key: str) -> str:
    """json_path() of a key held in SQL (e.g. each key of json_keys())."""
    return f"'/' || replace(replace({key}, '~', '~0'), '/', '~1')"


def top_level_token(field: str, tokens: str) -> str:
    """The token of the value of top-level `field`, given the record's JSON tokens: the first
    string equal to the field (however escaped), directly inside the record, followed by ':'.
    The first, as `raw ->> path` reads a repeated key."""
    return value_token(_d.string(json.dumps(field, ensure_ascii=False)), _d.string(field), tokens, PLAIN)


# A record without a backslash writes every key one way only (no escaped spelling of it).
PLAIN = "NOT contains(raw, '\\')"


def value_token(written: str, key: str, tokens: str, plain: str) -> str:
    """top_level_token() of a key given as SQL: `key` its value, `written` the JSON string a
    producer writes for it without escapes (an escaped one is decoded and compared). `plain`:
    SQL true when the record has no escapes, so that the first token spelled `written`, when it
    is a key directly inside the record, is the one (found without a scan of every token)."""

    def depth(j: str) -> str:
        return (
            f"len(list_filter({tokens}[1:{j} - 1], lambda t: t IN ('{{', '['))) "
            f"- len(list_filter({tokens}[1:{j} - 1], lambda t: t IN ('}}', ']')))"
        )

    is_key = (
        f"CASE WHEN {tokens}[j] = {written} THEN true "
        f"WHEN starts_with({tokens}[j], '\"') AND contains({tokens}[j], '\\') "
        f"THEN ({tokens}[j] ->> '$') = {key} ELSE false END"
    )
    found = (
        f"list_filter(range(1, len({tokens}) - 1), lambda j: CASE WHEN {tokens}[j + 1] = ':' "
        f"AND ({is_key}) THEN {depth('j')} = 1 ELSE false END)[1]"
    )
    first = f"list_position({tokens}, {written})"
    return (
        f"CASE WHEN {plain} AND coalesce({tokens}[{first} + 1] = ':' AND {depth(first)} = 1, false) "
        f"THEN {tokens}[{first} + 2] ELSE {tokens}[{found} + 2] END"
    )
