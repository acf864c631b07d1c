"""The CSV sniffing rules (pipeline/csv_dialect.py): one stated rule per setting, and numbers
under a decimal comma converted exactly or held as ambiguous, never guessed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipefix.pipeline.csv_dialect import (
    Ambiguous,
    CsvDialect,
    CsvOptions,
    decimal_comma_number,
    sniff,
)

EUROPEAN = "\ufeffid;active;status;amount\r\n401;true;open;401,50\r\n402;false;open;-0,05\r\n"


def test_a_european_spreadsheet_export_is_sniffed_whole() -> None:
    dialect = sniff(EUROPEAN)
    assert dialect == CsvDialect(delimiter=";", quote='"', decimal=",", header=True, bom=True)
    assert dialect.as_dict()["sniffed"] == ["delimiter", "quote", "decimal", "header"]
    assert not dialect.plain


@pytest.mark.parametrize(
    ("head", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2;3\n", ";"),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('name,note\n"x","a;b;c"\n"y","d;e;f"\n', ","),  # `;` inside quotes splits nothing
        ("a,b\n1,2\n3\n", ","),  # no delimiter is consistent: the header's decides
        ("single\nvalue\n", ","),  # nothing splits the header: the comma
        ("a;b\n1;2\n4;5;6", ";"),  # the head's last line may be cut: not sampled
    ],
)
def test_the_delimiter_splits_every_line_alike(head: str, delimiter: str) -> None:
    assert sniff(head).delimiter == delimiter


def test_ties_go_to_the_most_fields_then_the_listed_order() -> None:
    assert sniff("1|a,b|c\n2|d,e|f\n", CsvOptions(header=False)).delimiter == "|"  # 3 fields, not 2
    assert sniff("1|a,b\n2|c,d\n", CsvOptions(header=False)).delimiter == ","  # 2 and 2: `,` first


def test_a_first_line_with_a_number_or_boolean_is_no_header() -> None:
    assert sniff("id,name\n1,a\n").header
    assert not sniff("1,a\n2,b\n").header
    assert not sniff("true;x\nfalse;y\n").header
    assert not sniff("1,5;x\n2,5;y\n").header


def test_a_first_line_naming_a_field_the_table_reads_is_a_header() -> None:
    """Years as column names (a pivoted export) are a header when a name is one the table reads;
    a data line shares no name with the table."""
    assert sniff("id,2023,2024\nx,1,2\n", names=frozenset({"id"})).header
    assert not sniff("id,2023,2024\nx,1,2\n").header
    assert not sniff("401;true;open;401,50\n", names=frozenset({"order_id", "status"})).header


def test_single_quotes_only_when_no_double_quote_is_used() -> None:
    assert sniff("a,b\n'x,y',1\n").quote == "'"
    assert sniff('a,b\n"it\'s",1\n').quote == '"'


def test_the_decimal_comma_needs_another_delimiter() -> None:
    assert sniff("a;b\n1;2,5\n").decimal == ","
    assert sniff("a;b\n1;2.5\n").decimal == "."
    assert sniff('a,b\n1,"2,5"\n').decimal == "."  # with a `,` delimiter, `2,5` is configured or text


def test_configured_settings_win_and_are_recorded_as_such() -> None:
    dialect = sniff("a,b\n1,2\n", CsvOptions(delimiter="|", decimal=",", header=False))
    assert (dialect.delimiter, dialect.decimal, dialect.header) == ("|", ",", False)
    assert dialect.as_dict()["configured"] == ["decimal", "delimiter", "header"]
    assert dialect.as_dict()["sniffed"] == ["quote"]
    assert "delimiter '|' (configured)" in dialect.describe()


def test_a_dialect_round_trips_through_its_json() -> None:
    dialect = sniff(EUROPEAN, CsvOptions(quote='"'))
    assert CsvDialect.from_dict(dialect.as_dict()) == dialect


@pytest.mark.parametrize(
    ("text", "number"),
    [("401,50", "401.50"), ("-0,05", "-0.05"), (" 7 ", "7"), ("12", "12"), ("1e5", "1e5"), ("abc", None)],
)
def test_numbers_under_a_decimal_comma_are_exact(text: str, number: str | None) -> None:
    assert decimal_comma_number(text, "amount") == number


@pytest.mark.parametrize("text", ["1.234", "1.234,50", "0.5", "1.234.567"])
def test_a_dot_under_a_decimal_comma_is_ambiguous_never_guessed(text: str) -> None:
    read = decimal_comma_number(text, "amount")
    assert isinstance(read, Ambiguous)
    assert read.reason.startswith(f"amount: {text!r} is ambiguous under the decimal comma")


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False))
def test_any_decimal_written_with_a_comma_reads_back_exactly(value: object) -> None:
    text = f"{value:f}".replace(".", ",")
    assert decimal_comma_number(text, "x") == f"{value:f}"
