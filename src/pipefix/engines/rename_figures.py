"""The figures a rename is judged on (pipeline/renames.py weighs them), measured where the values
are: the old column's history in its table, the new field among the held records (as staged by
replays.profile_open_quarantine), and the keys of the other tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipefix.engines import quarantine
from pipefix.engines.base import Engine
from pipefix.engines.dialect_of import dialect_of
from pipefix.engines.judge import judge_for
from pipefix.engines.sql import rename_figures as sql
from pipefix.pipeline.contracts import Contract, type_family
from pipefix.pipeline.renames import ValueProfile, common_shapes

SAMPLE = 1000  # distinct values compared (overlap, keys, lengths and shapes)
NOVELTY_STEPS = 5  # the last load steps whose share of never-seen values is averaged
KEY_SHARE = 0.95  # share of a column's values found in another table's key: a reference


def history(engine: Engine, table: str, column: str, numeric: bool) -> tuple[ValueProfile, list[str]]:
    """The old column as its table holds it: counts, range, shapes, novelty; and a sample of its
    distinct values as text."""
    d = dialect_of(engine)
    profiled = engine.query(sql.column_profile(d, table, column, numeric))[0]
    sample = [str(r[0]) for r in engine.query(sql.column_sample(d, table, column, SAMPLE))]
    return _profile(profiled, sample, _novelty(engine, table, column)), sample


def _profile(figures: tuple[Any, ...], sample: list[str], novelty: float | None = None) -> ValueProfile:
    """(values, distinct, low, high, shortest, longest) as measured, with the sample's shapes."""
    values, distinct, low, high, shortest, longest = figures
    return ValueProfile(
        int(values),
        int(distinct),
        None if low is None else float(low),
        None if high is None else float(high),
        None if shortest is None else int(shortest),
        None if longest is None else int(longest),
        common_shapes(sample),
        novelty,
    )


def _novelty(engine: Engine, table: str, column: str) -> float | None:
    """The mean share of each load step's distinct values that no earlier step held, over the
    last NOVELTY_STEPS steps after the first (None: fewer than two steps hold values)."""
    rows = engine.query(sql.column_novelty(dialect_of(engine), table, column))
    shares = [int(fresh) / int(seen) for _, seen, fresh in rows[1:] if int(seen)][-NOVELTY_STEPS:]
    return round(sum(shares) / len(shares), 3) if shares else None


def held(engine: Engine, field: str) -> tuple[ValueProfile, list[str]]:
    """The field among the staged held records: counts, numeric range, shapes; and a sample of
    its distinct values as sent."""
    duck = judge_for(engine).duck
    profiled = duck.query(sql.field_profile(field))[0]
    sample = [str(r[0]) for r in duck.query(sql.field_sample(field, SAMPLE))]
    return _profile(profiled, sample), sample


def carried_by_every_record(engine: Engine, table: str, old: str, new: str) -> bool:
    """The swap: every staged held record of the batches that send `new` carries it, and no row
    of those batches loaded into the table holds a value for `old`."""
    duck = judge_for(engine).duck
    rows = duck.query(sql.carrying_per_batch(), (new,))
    batches = [str(batch) for batch, carrying, _ in rows if int(carrying)]
    if not batches or any(int(carrying) not in (0, int(total)) for _, carrying, total in rows):
        return False
    loaded = engine.query(sql.values_loaded(dialect_of(engine), table, old, len(batches)), batches)
    return int(loaded[0][0]) == 0


def referenced_key(
    engine: Engine,
    contracts: Mapping[str, Contract],
    table: str,
    family: str,
    old_sample: Sequence[str],
    new_sample: Sequence[str],
) -> tuple[str | None, float]:
    """The key of another table that (nearly) every old value is found in, and the share of the
    new values found there too: ("customers.customer_id", 0.97), or (None, 0.0)."""
    found: tuple[str | None, float] = (None, 0.0)
    if not old_sample or not new_sample or family not in ("numeric", "text"):
        return found
    numeric = family == "numeric"
    for other, contract in sorted(contracts.items()):
        spec = contract.column(contract.key) if contract.key else None
        if other == table or spec is None or type_family(spec.type) != family:
            continue
        held_old = quarantine.distinct_matches(engine, other, spec.name, old_sample, numeric)
        if held_old < KEY_SHARE * len(set(old_sample)):
            continue
        held_new = quarantine.distinct_matches(engine, other, spec.name, new_sample, numeric)
        share = held_new / len(set(new_sample))
        if share > found[1]:
            found = (f"{other}.{spec.name}", round(share, 3))
    return found


def sent_as_value(engine: Engine, words: Sequence[str], fields: Sequence[str]) -> str | None:
    """A word that left a field's name and is now sent as a value of another new field:
    "usd is now a value of currency_code", or None."""
    if not words:
        return None
    for field in fields:
        values = {v.lower() for v in held(engine, field)[1]}
        for word in words:
            if word in values:
                return f"{word!r} left the name and is now sent as a value of {field}"
    return None
