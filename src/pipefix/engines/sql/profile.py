"""The drift profile in DuckDB SQL: what each field of a set of records holds (JSON types,
numbers' digits as sent, how its strings read, samples). Pure: builds SQL, runs none."""

from __future__ import annotations

from pipefix.engines.sql.dialects import DUCKDB
from pipefix.engines.sql.records import IS_OBJECT, NUMERIC_JSON, PLAIN, TOKENS, pointer_sql, value_token

_d = DUCKDB  # the judge's SQL: DuckDB's, whatever the warehouse

# A JSON number whose double's text may not be the text sent: 16 digits or more, an exponent, or
# a zero ending its fraction (1.50 reads as 1.5). Profiles read such records' own tokens.
_MAYBE_REWRITTEN = _d.string(r"[0-9](\.?[0-9]){15}|[0-9][eE]|\.[0-9]*0([^0-9]|$)")
_NUMBER_PARTS = _d.string(r"-?([0-9]+)(?:\.([0-9]+))?(?:[eE]([-+]?[0-9]+))?")
# ISO-8601 as pipeline/sample_values.py reads it, without and with an offset.
_STAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
_OFFSET = r"(Z|z|[+-][0-9]{2}(:?[0-9]{2})?)"


def observed_fields_sql(source: str) -> str:
    """Per record field: JSON types, rows carrying it, numeric range, digits before and after
    the point (as sent, and the fewest that hold each value), whether a whole number is past a
    64-bit integer, how its strings read (timestamptz, timestamp, text), and a few samples.

    Digits are counted on the number's text as sent, never through a double: a record whose
    text a double may rewrite is split into JSON tokens, and the field's own token is read."""
    path = pointer_sql("k")
    token = value_token("'\"' || k || '\"'", "k", "tokens", "plain")
    objects = (
        f"SELECT batch_id, line_no, raw, {PLAIN} AS plain, CASE WHEN regexp_matches(raw, "
        f"{_MAYBE_REWRITTEN}) THEN regexp_extract_all(raw, {TOKENS}) END AS tokens "
        f"FROM {source} WHERE {IS_OBJECT}"
    )
    fields = (
        f"SELECT batch_id, line_no, k, json_type(raw, {path}) AS t, raw ->> ({path}) AS s, tokens, plain "
        f"FROM ({objects}), unnest(json_keys(raw)) AS u(k)"
    )
    sent = f"CASE WHEN t = 'DOUBLE' AND tokens IS NOT NULL THEN coalesce({token}, s) ELSE s END"
    texts = (
        f"SELECT * EXCLUDE (tokens, plain), CASE WHEN t IN {NUMERIC_JSON} THEN {sent} END AS n "
        f"FROM ({fields})"
    )
    parts = f"SELECT *, regexp_extract(n, {_NUMBER_PARTS}, ['i', 'f', 'x']) AS m FROM ({texts})"
    # A number is its digits (`coef`, no leading zero) times ten to `e`.
    exponent = (
        "coalesce(TRY_CAST(nullif(m.x, '') AS INTEGER), CASE WHEN m.x = '' THEN 0 "
        "WHEN starts_with(m.x, '-') THEN -1000000 ELSE 1000000 END)"
    )
    numbers = f"SELECT *, ltrim(m.i || m.f, '0') AS coef, {exponent} - length(m.f) AS e FROM ({parts})"
    significant = "rtrim(coef, '0')"
    digits = "greatest(0, length(coef) + e)"
    exact = (
        f"CASE WHEN {significant} = '' THEN 0 ELSE greatest(0, length({significant}) - length(coef) - e) END"
    )
    past_bigint = (
        f"m.i <> '' AND ({exact}) = 0 AND ({digits} > 19 OR ({digits} = 19 "
        "AND TRY_CAST(TRY_CAST(n AS DECIMAL(38,0)) AS BIGINT) IS NULL))"
    )
    text_kind = (
        f"CASE WHEN t <> 'VARCHAR' THEN NULL "
        f"WHEN regexp_full_match(s, {_d.string(_STAMP + _OFFSET)}) "
        "AND TRY_CAST(s AS TIMESTAMPTZ) IS NOT NULL "
        f"THEN 'timestamptz' WHEN regexp_full_match(s, {_d.string(_STAMP)}) "
        f"AND TRY_CAST(s AS TIMESTAMP) IS NOT NULL THEN 'timestamp' ELSE 'text' END"
    )
    return (
        f"SELECT k, list_sort(list(DISTINCT t)) AS types, count(*) AS rows, "
        f"min(TRY_CAST(s AS DOUBLE)), max(TRY_CAST(s AS DOUBLE)), "
        f"coalesce(max(CASE WHEN n IS NOT NULL THEN greatest(0, -e) END), 0), "
        f"list(left(s, 60) ORDER BY batch_id, line_no)[1:3] AS samples, "
        f"coalesce(max(CASE WHEN n IS NOT NULL THEN {digits} END), 0), "
        f"coalesce(max(CASE WHEN n IS NOT NULL THEN {exact} END), 0), "
        f"coalesce(bool_or(n IS NOT NULL AND {past_bigint}), false), "
        f"list_sort(list(DISTINCT {text_kind}) FILTER (WHERE t = 'VARCHAR')) "
        f"FROM ({numbers}) GROUP BY k ORDER BY k"
    )
