"""plan_edit(): an edit of pipefix.yaml, judged against what the yaml said before and applied to
the active contract (which may hold pipefix's own repairs). Pure."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipefix.pipeline.contract_edits import EditPlan, plan_edit, same_contract
from pipefix.pipeline.contracts import ColumnSpec, Contract, is_lossless_widening
from pipefix.tools.contract_edit import plan_contract_edit
from tests.conftest import orders_contract
from tests.tiers import examples

YAML = orders_contract()  # order_id bigint key, price_usd decimal(12,2) min 0, status [new, paid], ...


def edited(**columns: ColumnSpec | None) -> Contract:
    """The yaml's contract with columns replaced (a ColumnSpec), removed (None) or added."""
    kept = [columns.get(c.name, c) for c in YAML.columns if columns.get(c.name, c) is not None]
    added = [spec for name, spec in columns.items() if spec is not None and YAML.column(name) is None]
    return replace(YAML, columns=tuple(c for c in (*kept, *added) if c is not None))


def column(name: str) -> ColumnSpec:
    spec = YAML.column(name)
    assert spec is not None
    return spec


def plan(after: Contract, active: Contract = YAML, has_rows: bool = True) -> EditPlan:
    return plan_edit(YAML, after, active, 2, has_rows)


def test_an_allowed_value_added_widens_the_active_contract() -> None:
    result = plan(edited(status=replace(column("status"), values=("new", "paid", "refunded"))))
    assert [e.change for e in result.edits] == ["status also allows 'refunded'"]
    assert result.target is not None
    assert result.target.version == 2
    assert result.target.column("status") == replace(column("status"), values=("new", "paid", "refunded"))
    assert result.edits[0].loc == ("tables", "orders", "columns", "status", "values")


def test_widenings_apply_and_need_only_the_ddl_they_change() -> None:
    after = edited(
        price_usd=ColumnSpec("price_usd", "decimal(14,2)", nullable=True, min=None),
        status=replace(column("status"), values=None),
        coupon=ColumnSpec("coupon", "varchar"),
    )
    result = plan(after)
    assert not result.refused
    assert [e.change for e in result.edits] == [
        "widen price_usd decimal(12,2) -> decimal(14,2)",
        "price_usd becomes optional",
        "price_usd min 0 -> none",
        "status allows any value",
        "add column coupon varchar",
    ]
    assert result.target is not None
    migration = plan_contract_edit(YAML, result.target, ())
    assert migration.statements == (
        'ALTER TABLE "orders" ALTER COLUMN "price_usd" TYPE DECIMAL(14,2)',
        'ALTER TABLE "orders" ADD COLUMN "coupon" VARCHAR',
    )
    assert migration.inverse == (
        'ALTER TABLE "orders" DROP COLUMN "coupon"',
        'ALTER TABLE "orders" ALTER COLUMN "price_usd" TYPE DECIMAL(12,2)',
    )


@pytest.mark.parametrize(
    ("after", "loc", "why"),
    [
        (
            edited(status=replace(column("status"), values=("new",))),
            ("status", "values"),
            "removing 'paid' would narrow the contract (rows already loaded may hold it)",
        ),
        (edited(price_usd=None), ("price_usd",), "removing column price_usd would drop it"),
        (
            edited(price_usd=replace(column("price_usd"), type="decimal(10,2)")),
            ("price_usd", "type"),
            "changing price_usd from decimal(12,2) to decimal(10,2) is no lossless widening",
        ),
        (
            edited(price_usd=replace(column("price_usd"), min=1)),
            ("price_usd", "min"),
            "raising the minimum of price_usd (1) would narrow the contract",
        ),
        (
            edited(price_usd=replace(column("price_usd"), max=100)),
            ("price_usd", "max"),
            "adding a maximum of price_usd (100) would narrow the contract",
        ),
        (
            edited(coupon=ColumnSpec("coupon", "varchar", nullable=False)),
            ("coupon", "nullable"),
            "a new column must be optional",
        ),
        (
            edited(order_id=replace(column("order_id"), type="integer")),
            ("order_id", "type"),
            "changing order_id from bigint to integer is no lossless widening",
        ),
    ],
)
def test_a_narrowing_edit_is_refused_with_its_key_and_why(
    after: Contract, loc: tuple[str, ...], why: str
) -> None:
    result = plan(after)
    assert result.target is None
    [refused] = result.refused
    assert refused.loc == ("tables", "orders", "columns", *loc)
    assert refused.refused.startswith(why)


def test_a_required_column_may_be_added_to_a_table_without_rows() -> None:
    result = plan(edited(coupon=ColumnSpec("coupon", "varchar", nullable=False)), has_rows=False)
    assert not result.refused
    assert result.target is not None
    assert result.target.column("coupon") == ColumnSpec("coupon", "varchar", False)


def test_one_refusal_holds_back_the_whole_edit_of_the_table() -> None:
    after = edited(status=replace(column("status"), values=("new", "refunded")))
    result = plan(after)
    assert result.target is None
    assert [e.change for e in result.accepted] == ["status also allows 'refunded'"]
    assert [e.change for e in result.refused] == ["status no longer allows 'paid'"]


def test_key_and_required_changes() -> None:
    assert plan(replace(YAML, key="status")).refused[0].loc == ("tables", "orders", "key")
    dropped = plan(replace(YAML, key=None))
    assert dropped.target is not None
    assert dropped.target.key is None
    required = plan(edited(order_id=replace(column("order_id"), nullable=True)))
    assert required.target is not None
    assert required.target.column("order_id").nullable  # type: ignore[union-attr]
    back = plan_edit(edited(status=replace(column("status"), nullable=True)), YAML, YAML, 2, has_rows=True)
    assert back.refused[0].refused.startswith("making status required would narrow the contract")


# --- the agent's repairs are no edit of the user's ------------------------------------------------

REPAIRED = replace(
    YAML,
    version=3,
    columns=(
        *(replace(c, nullable=True) if c.name == "price_usd" else c for c in YAML.columns),
        ColumnSpec("coupon", "varchar"),
    ),
)


def test_a_yaml_catching_up_with_a_repair_changes_nothing() -> None:
    after = edited(
        price_usd=replace(column("price_usd"), nullable=True), coupon=ColumnSpec("coupon", "varchar")
    )
    result = plan(after, active=REPAIRED)
    assert result.target is None
    assert not result.refused
    assert [e.change for e in result.edits] == [
        "price_usd becomes optional (the active contract has it already)"
    ]


def test_an_edit_after_a_repair_keeps_the_repair() -> None:
    result = plan(edited(status=replace(column("status"), values=("new", "paid", "x"))), active=REPAIRED)
    assert result.target is not None
    assert result.target.column("coupon") == ColumnSpec("coupon", "varchar")
    assert result.target.column("price_usd").nullable  # type: ignore[union-attr]
    assert result.target.column_names == REPAIRED.column_names


def test_a_yaml_narrower_than_a_repaired_column_is_refused() -> None:
    after = edited(coupon=ColumnSpec("coupon", "varchar", values=("WINTER",)))
    [refused] = plan(after, active=REPAIRED).refused
    assert refused.refused.startswith("restricting coupon to 'WINTER' would narrow the contract")


def test_a_widening_the_repair_already_went_past_is_refused_when_it_cannot_hold_it() -> None:
    active = replace(YAML, columns=(ColumnSpec("n", "double"),))
    before = replace(YAML, columns=(ColumnSpec("n", "integer"),))
    result = plan_edit(before, replace(before, columns=(ColumnSpec("n", "bigint"),)), active, 2, True)
    assert result.refused[0].refused.startswith("the active contract has n as double")


def test_lossless_widenings() -> None:
    assert is_lossless_widening("integer", "bigint")
    assert is_lossless_widening("decimal(12,2)", "decimal(14,3)")
    assert is_lossless_widening("bigint", "decimal(21,2)")
    assert not is_lossless_widening("decimal(12,2)", "decimal(12,3)")  # a digit before the point lost
    assert not is_lossless_widening("bigint", "double")
    assert not is_lossless_widening("varchar", "json")


SPECS = st.builds(
    ColumnSpec,
    name=st.sampled_from(["a", "b", "c"]),
    type=st.sampled_from(["integer", "bigint", "double", "varchar", "decimal(12,2)"]),
    nullable=st.booleans(),
    min=st.none() | st.integers(-5, 5).map(float),
    max=st.none() | st.integers(6, 9).map(float),
)


@settings(max_examples=examples(300))
@given(
    columns=st.lists(SPECS, max_size=3, unique_by=lambda c: c.name),
    edit=st.lists(SPECS, max_size=3, unique_by=lambda c: c.name),
)
def test_an_accepted_edit_never_narrows_a_column(columns: list[ColumnSpec], edit: list[ColumnSpec]) -> None:
    before = Contract("t", 1, tuple(columns))
    after = Contract("t", 1, tuple(edit))
    result = plan_edit(before, after, before, 2, has_rows=True)
    assert plan_edit(before, before, before, 2, True).edits == ()
    assert same_contract(before, replace(before, version=9))
    if result.target is None:
        return
    for old in before.columns:
        new = result.target.column(old.name)
        assert new is not None
        assert new.type == old.type or is_lossless_widening(old.type, new.type)
        assert new.nullable or not old.nullable
        assert old.min is None or (new.min is None or new.min <= old.min)
        assert old.max is None or (new.max is None or new.max >= old.max)
