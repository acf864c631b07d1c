"""Statements sent to the Spark engine as text (DuckDB's dialect, parsed by its router:
engines/spark_router.py), written again as Spark SQL: the only SQL text the router needs, so
it is built here with the rest of the seam. sqlglot renders each parsed statement in Spark's
dialect; an INSERT is pointed at the table's active physical version (a view takes no rows)."""

from __future__ import annotations

from sqlglot import exp


def spark_sql(tree: exp.Expr) -> str:
    return tree.sql(dialect="spark")


def insert_into_version(tree: exp.Insert, physical: str) -> str:
    """The INSERT with its target table replaced by `physical` (unqualified)."""
    pointed = tree.copy()
    target = pointed.find(exp.Table)
    if target is not None:
        target.set("this", exp.to_identifier(physical))
        target.set("db", None)
    return spark_sql(pointed)
