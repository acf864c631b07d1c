"""The demo's contracts (schema v1.0) and the logical clock every timestamp is read against."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipefix.pipeline.contracts import ColumnSpec, Contract

START = datetime(2026, 11, 1, tzinfo=UTC)
STEP_SECONDS = 60
FRESHNESS_SECONDS = 150


def logical_now(step: int) -> datetime:
    return START + timedelta(seconds=step * STEP_SECONDS)


SOURCE_TABLES = ("users", "orders", "products", "events", "sessions", "payments", "inventory")
DERIVED_TABLE = "analytics"
ALL_TABLES = (*SOURCE_TABLES, DERIVED_TABLE)

ORDER_STATUSES = ("new", "paid", "shipped", "cancelled")
EVENT_TYPES = ("page_view", "click", "search", "add_to_cart", "purchase")
MONEY = "decimal(12,2)"


def _c(name: str, type_: str, nullable: bool = True, **rules: object) -> ColumnSpec:
    return ColumnSpec(name, type_, nullable, **rules)  # type: ignore[arg-type]


def v1_contracts() -> dict[str, Contract]:
    fresh: dict[str, Any] = {"freshness_seconds": FRESHNESS_SECONDS}
    contracts = [
        Contract(
            "users",
            1,
            (
                _c("user_id", "bigint", False),
                _c("email", "varchar", False),
                _c("country", "varchar"),
                _c("plan", "varchar", values=("free", "pro", "team")),
                _c("signup_at", "timestamp", False),
            ),
            key="user_id",
            freshness_column="signup_at",
            **fresh,
        ),
        Contract(
            "orders",
            1,
            (
                _c("order_id", "bigint", False),
                _c("user_id", "bigint", False),
                _c("product_id", "bigint", False),
                _c("quantity", "integer", False, min=1, max=100),
                _c("price_usd", MONEY, False, min=0),
                _c("status", "varchar", False, values=ORDER_STATUSES),
                _c("created_at", "timestamp", False),
            ),
            key="order_id",
            freshness_column="created_at",
            **fresh,
        ),
        Contract(
            "products",
            1,
            (
                _c("product_id", "bigint", False),
                _c("sku", "varchar", False),
                _c("name", "varchar", False),
                _c("category", "varchar"),
                _c("unit_price", MONEY, False, min=0),
                _c("updated_at", "timestamp", False),
            ),
            key="product_id",
            freshness_column="updated_at",
            **fresh,
        ),
        Contract(
            "events",
            1,
            (
                _c("event_id", "bigint", False),
                _c("user_id", "bigint", False),
                _c("session_id", "varchar", False),
                _c("event_type", "varchar", False, values=EVENT_TYPES),
                _c("page", "varchar"),
                _c("timestamp", "timestamp", False),
            ),
            key="event_id",
            freshness_column="timestamp",
            **fresh,
        ),
        Contract(
            "sessions",
            1,
            (
                _c("session_id", "varchar", False),
                _c("user_id", "bigint", False),
                _c("device", "varchar", values=("web", "ios", "android")),
                _c("duration_s", "integer", min=0),
                _c("started_at", "timestamp", False),
            ),
            key="session_id",
            freshness_column="started_at",
            **fresh,
        ),
        Contract(
            "payments",
            1,
            (
                _c("payment_id", "bigint", False),
                _c("order_id", "bigint", False),
                _c("amount", MONEY, False, min=0),
                _c("method", "varchar", values=("card", "paypal", "bank")),
                _c("paid_at", "timestamp", False),
            ),
            key="payment_id",
            freshness_column="paid_at",
            **fresh,
        ),
        Contract(
            "inventory",
            1,
            (
                _c("snapshot_id", "bigint", False),
                _c("sku", "varchar", False),
                _c("warehouse", "varchar", False),
                _c("on_hand", "integer", False, min=0),
                _c("counted_at", "timestamp", False),
            ),
            key="snapshot_id",
            freshness_column="counted_at",
            **fresh,
        ),
        Contract(
            "analytics",
            1,
            (
                _c("step", "bigint", False),
                _c("metric", "varchar", False),
                _c("value", "double", False, min=0),
                _c("computed_at", "timestamp", False),
            ),
            freshness_column="computed_at",
            **fresh,
        ),
    ]
    return {c.table: c for c in contracts}
