"""Edits of a table's contract in pipefix.yaml: what changed, and whether it may be applied. Pure.

The yaml is compared with the contract it produced when pipefix last applied it — not with the
active contract, which also holds pipefix's own repairs (columns added, columns made optional,
values allowed, types widened): those are no edit of the user's, and a yaml that does not
mention them leaves them in place. A yaml that catches up with a repair (adds the column the
agent added) changes nothing.

An edit may only widen what the table accepts, since rows already loaded or held under the
contract must still conform to it: a new column (optional, unless the table holds no row yet), a
type widened losslessly, a required column made optional, values allowed, bounds widened or
removed, the key or freshness dropped or changed. Anything that would narrow or drop — a column
removed, a type narrowed, a column made required, values or bounds tightened, a key added — is
refused with the reason, and the table's whole edit waits until it is undone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pipefix.pipeline.contracts import ColumnSpec, Contract, is_lossless_widening

Loc = tuple[str, ...]

WIDENINGS = "integer -> bigint or double, bigint -> decimal(38,0), decimals to more digits"


@dataclass(frozen=True)
class Edit:
    loc: Loc  # the key in pipefix.yaml, e.g. ("tables", "orders", "columns", "status", "values")
    change: str  # what it does to the active contract, e.g. "status also allows 'refunded'"
    refused: str = ""  # why it is not applied; "" when it is

    @property
    def changes_nothing(self) -> bool:
        return self.change.endswith(ALREADY)


ALREADY = "(the active contract has it already)"


@dataclass(frozen=True)
class EditPlan:
    table: str
    edits: tuple[Edit, ...]
    target: Contract | None  # the active contract with the edits applied; None: it stays as it is

    @property
    def refused(self) -> tuple[Edit, ...]:
        return tuple(e for e in self.edits if e.refused)

    @property
    def accepted(self) -> tuple[Edit, ...]:
        return tuple(e for e in self.edits if not e.refused)


def same_contract(a: Contract, b: Contract) -> bool:
    """Equal but for the version number and the order of columns."""
    return replace(a, version=0, columns=tuple(sorted(a.columns, key=lambda c: c.name))) == replace(
        b, version=0, columns=tuple(sorted(b.columns, key=lambda c: c.name))
    )


def plan_edit(before: Contract, after: Contract, active: Contract, version: int, has_rows: bool) -> EditPlan:
    """The edit from `before` (what the yaml said when last applied) to `after` (what it says now),
    applied to `active` as contract `version`. `has_rows`: the table holds loaded rows."""
    table = after.table
    columns = {c.name: c for c in active.columns}
    edits: list[Edit] = []
    for gone in before.columns:
        if after.column(gone.name) is None:
            edits.append(
                Edit(
                    ("tables", table, "columns", gone.name),
                    f"drop column {gone.name}",
                    f"removing column {gone.name} would drop it and the values loaded in it; pipefix "
                    "never drops a column (keep it, with `nullable: true` if it may be missing)",
                )
            )
    for new in after.columns:
        old = before.column(new.name)
        current = columns.get(new.name)
        if old == new:
            continue
        if current is None:
            edit = _added(table, new, has_rows)
            edits.append(edit)
            if not edit.refused:
                columns[new.name] = new
            continue
        # A column the yaml did not have but the active contract does (added by a repair): the
        # yaml catching up is compared with what the table has.
        found, columns[new.name] = _column(table, old or current, new, current)
        edits += found
    edits += _table_settings(before, after, active)
    target = replace(
        active,
        version=version,
        columns=tuple(columns.values()),
        key=after.key if after.key != before.key and after.key is None else active.key,
        freshness_column=after.freshness_column,
        freshness_seconds=after.freshness_seconds,
    )
    if _freshness(before) == _freshness(after):
        target = replace(
            target, freshness_column=active.freshness_column, freshness_seconds=active.freshness_seconds
        )
    refused = any(e.refused for e in edits)
    if refused or same_contract(target, active):
        return EditPlan(table, tuple(edits), None)
    return EditPlan(table, tuple(edits), target)


def _freshness(contract: Contract) -> tuple[str | None, int | None]:
    return contract.freshness_column, contract.freshness_seconds


def _added(table: str, new: ColumnSpec, has_rows: bool) -> Edit:
    loc = ("tables", table, "columns", new.name)
    if not new.nullable and has_rows:
        return Edit(
            (*loc, "nullable"),
            f"add required column {new.name} {new.type}",
            f"a new column must be optional: the rows already loaded have no {new.name} "
            "(leave out `nullable: false`)",
        )
    return Edit(loc, f"add column {new.name} {new.type}")


def _column(
    table: str, old: ColumnSpec, new: ColumnSpec, current: ColumnSpec
) -> tuple[list[Edit], ColumnSpec]:
    """One column's edits from `old` to `new`, applied to the active `current`."""
    loc = ("tables", table, "columns", new.name)
    name = new.name
    edits: list[Edit] = []
    spec = current
    if new.type != old.type:
        edit, spec = _type(loc, name, old.type, new.type, spec)
        edits.append(edit)
    if new.nullable != old.nullable:
        if not new.nullable:
            why = f"making {name} required would narrow the contract (rows already loaded may lack it)"
            edits.append(Edit((*loc, "nullable"), f"{name} becomes required", why))
        elif spec.nullable:
            edits.append(Edit((*loc, "nullable"), f"{name} becomes optional {ALREADY}"))
        else:
            spec = replace(spec, nullable=True)
            edits.append(Edit((*loc, "nullable"), f"{name} becomes optional"))
    if set(new.values or ()) != set(old.values or ()) or (new.values is None) != (old.values is None):
        found, spec = _values((*loc, "values"), name, old.values, new.values, spec)
        edits += found
    for bound in ("min", "max"):
        if getattr(new, bound) != getattr(old, bound):
            edit, spec = _bound((*loc, bound), name, bound, getattr(old, bound), getattr(new, bound), spec)
            edits.append(edit)
    return edits, spec


def _type(loc: Loc, name: str, old: str, new: str, spec: ColumnSpec) -> tuple[Edit, ColumnSpec]:
    where = (*loc, "type")
    change = f"widen {name} {spec.type} -> {new}"
    if not is_lossless_widening(old, new):
        why = (
            f"changing {name} from {old} to {new} is no lossless widening (values already loaded "
            f"may not fit); pipefix widens {WIDENINGS}"
        )
        return Edit(where, f"retype {name} {old} -> {new}", why), spec
    if spec.type == new or is_lossless_widening(new, spec.type):
        return Edit(where, f"{name} {new} {ALREADY}"), spec
    if is_lossless_widening(spec.type, new):
        return Edit(where, change), replace(spec, type=new)
    why = (
        f"the active contract has {name} as {spec.type} (a repair of pipefix's), which {new} cannot "
        "hold without loss"
    )
    return Edit(where, change, why), spec


def _values(
    loc: Loc, name: str, old: tuple[str, ...] | None, new: tuple[str, ...] | None, spec: ColumnSpec
) -> tuple[list[Edit], ColumnSpec]:
    if new is None:
        if spec.values is None:
            return [Edit(loc, f"{name} allows any value {ALREADY}")], spec
        return [Edit(loc, f"{name} allows any value")], replace(spec, values=None)
    if old is None:
        why = (
            f"restricting {name} to {', '.join(map(repr, new))} would narrow the contract "
            "(rows already loaded may hold other values)"
        )
        return [Edit(loc, f"{name} allows only {', '.join(map(repr, new))}", why)], spec
    edits = [
        Edit(
            loc,
            f"{name} no longer allows {value!r}",
            f"removing {value!r} would narrow the contract (rows already loaded may hold it)",
        )
        for value in old
        if value not in new
    ]
    added = [value for value in new if value not in old]
    if not added:
        return edits, spec
    shown = ", ".join(map(repr, added))
    if spec.values is None or all(value in spec.values for value in added):
        return [*edits, Edit(loc, f"{name} also allows {shown} {ALREADY}")], spec
    widened = (*spec.values, *(value for value in added if value not in spec.values))
    return [*edits, Edit(loc, f"{name} also allows {shown}")], replace(spec, values=widened)


def _bound(
    loc: Loc, name: str, bound: str, old: float | None, new: float | None, spec: ColumnSpec
) -> tuple[Edit, ColumnSpec]:
    lower = bound == "min"
    if new is not None and (old is None or (new > old if lower else new < old)):
        what = "adding a" if old is None else ("raising the" if lower else "lowering the")
        word = "minimum" if lower else "maximum"
        why = (
            f"{what} {word} of {name} ({new:g}) would narrow the contract (rows already loaded may be "
            f"{'below' if lower else 'above'} it)"
        )
        return Edit(loc, f"{name} {bound} {new:g}", why), spec
    current: float | None = getattr(spec, bound)
    widest = None if new is None or current is None else (min if lower else max)(new, current)
    shown = "none" if widest is None else f"{widest:g}"
    if widest == current:
        return Edit(loc, f"{name} {bound} {shown} {ALREADY}"), spec
    widened = replace(spec, min=widest) if lower else replace(spec, max=widest)
    return Edit(loc, f"{name} {bound} {'none' if current is None else f'{current:g}'} -> {shown}"), widened


def _table_settings(before: Contract, after: Contract, active: Contract) -> list[Edit]:
    table = after.table
    edits: list[Edit] = []
    if after.key != before.key:
        loc = ("tables", table, "key")
        if after.key is None:
            change = f"{before.key} no longer a key (its values may repeat)"
            edits.append(Edit(loc, change if active.key is not None else f"{change} {ALREADY}"))
        else:
            why = (
                f"{'a new' if before.key is None else 'another'} key ({after.key}) would narrow the "
                "contract (rows already loaded may repeat it)"
            )
            edits.append(Edit(loc, f"key {after.key}", why))
    if _freshness(after) != _freshness(before):
        seconds = after.freshness_seconds
        shown = f"{seconds}s on {after.freshness_column}" if seconds is not None else "none"
        edits.append(Edit(("tables", table, "freshness"), f"freshness {shown}"))
    return edits
