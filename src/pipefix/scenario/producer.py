"""A deterministic, seeded upstream producer writing one JSONL batch per source table per step.

Until the drift step it sends schema v1.0; from then on schema v2.0, without warning:
orders drop `price_usd` for `price` + `currency_code`; events gain `event_metadata` and send
`timestamp` as epoch milliseconds instead of an ISO-8601 string.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from pipefix.scenario.tables import EVENT_TYPES, ORDER_STATUSES, SOURCE_TABLES, logical_now

# Rows per step for each source table (each varies by a few percent from step to step).
VOLUMES = {
    "users": 300,
    "orders": 1200,
    "products": 200,
    "events": 3000,
    "sessions": 600,
    "payments": 1000,
    "inventory": 240,
}
# Share of rows a real producer gets wrong regardless of schema (negative amount, unknown status):
# the quarantine's day job, kept well under the 2 % error-rate goal.
BAD_VALUE_RATE = 0.002
_OFFSETS = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)))


@dataclass(frozen=True)
class Producer:
    landing: Path
    seed: int = 7
    drift_step: int = 8

    def schema_version(self, step: int) -> str:
        return "2.0" if step >= self.drift_step else "1.0"

    def write_step(self, step: int) -> list[tuple[str, Path]]:
        """Write this step's batch files; returns (table, path) in a fixed order."""
        written = []
        for table in SOURCE_TABLES:
            folder = self.landing / table
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"batch-{step:04d}.jsonl"
            rng = random.Random(f"{self.seed}:{table}:{step}")
            # json.dumps' own separators are (", ", ": "): given explicitly, each call built a new
            # encoder (a third of the producer's time).
            lines = map(json.dumps, self._rows(table, step, rng))
            # Written under a name no reader takes, then renamed: the file appears complete.
            partial = path.with_name(path.name + ".tmp")
            partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
            partial.replace(path)
            written.append((table, path))
        return written

    def _rows(self, table: str, step: int, rng: random.Random) -> Iterator[dict[str, object]]:
        count = round(VOLUMES[table] * rng.uniform(0.97, 1.03))
        v2 = step >= self.drift_step
        now = logical_now(step)
        for i in range(count):
            row_id = step * 100_000 + i
            at = now - timedelta(seconds=rng.uniform(0, 55))
            bad = rng.random() < BAD_VALUE_RATE
            yield ROW_MAKERS[table](row_id, at, rng, bad, v2)


def _iso(at: datetime, rng: random.Random) -> str:
    return at.astimezone(rng.choice(_OFFSETS)).isoformat(timespec="milliseconds")


def _money(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


def _user(i: int, at: datetime, rng: random.Random, bad: bool, v2: bool) -> dict[str, object]:
    plan = "enterprise" if bad else rng.choice(("free", "free", "pro", "team"))
    return {
        "user_id": i,
        "email": f"user{i}@example.com",
        "country": rng.choice(("DE", "US", "FR", "BR", "JP", "IN")),
        "plan": plan,
        "signup_at": _iso(at, rng),
    }


def _order(i: int, at: datetime, rng: random.Random, bad: bool, v2: bool) -> dict[str, object]:
    row: dict[str, object] = {
        "order_id": i,
        "user_id": rng.randrange(1, 50_000),
        "product_id": rng.randrange(1, 5_000),
        "quantity": rng.randint(1, 5),
    }
    amount = -_money(rng, 1, 50) if bad else _money(rng, 3, 400)
    if v2:
        row["price"] = amount
        row["currency_code"] = rng.choice(("USD", "USD", "EUR", "GBP"))
    else:
        row["price_usd"] = amount
    row["status"] = rng.choice(ORDER_STATUSES)
    row["created_at"] = _iso(at, rng)
    return row


def _product(i: int, at: datetime, rng: random.Random, bad: bool, v2: bool) -> dict[str, object]:
    return {
        "product_id": i,
        "sku": f"SKU-{i:08d}",
        "name": f"Product {i}",
        "category": rng.choice(("books", "games", "garden", "kitchen", None)),
        "unit_price": -1.0 if bad else _money(rng, 1, 900),
        "updated_at": _iso(at, rng),
    }


def _event(i: int, at: datetime, rng: random.Random, bad: bool, v2: bool) -> dict[str, object]:
    row: dict[str, object] = {
        "event_id": i,
        "user_id": rng.randrange(1, 50_000),
        "session_id": f"s-{rng.randrange(1, 200_000):06d}",
        "event_type": "teleport" if bad else rng.choice(EVENT_TYPES),
        "page": rng.choice(("/", "/cart", "/search", "/product", None)),
    }
    if v2:
        row["timestamp"] = int(at.timestamp() * 1000)
        row["event_metadata"] = {
            "browser": rng.choice(("firefox", "chrome", "safari")),
            "ab_bucket": rng.choice(("a", "b")),
        }
    else:
        row["timestamp"] = _iso(at, rng)
    return row


def _session(i: int, at: datetime, rng: random.Random, bad: bool, v2: bool) -> dict[str, object]:
    return {
        "session_id": f"s-{i:09d}",
        "user_id": rng.randrange(1, 50_000),
        "device": rng.choice(("web", "ios", "android")),
        "duration_s": -5 if bad else rng.randint(1, 3600),
        "started_at": _iso(at, rng),
    }


def _payment(i: int, at: datetime, rng: random.Random, bad: bool, v2: bool) -> dict[str, object]:
    return {
        "payment_id": i,
        "order_id": rng.randrange(100_000, 5_000_000),
        "amount": -_money(rng, 1, 50) if bad else _money(rng, 3, 1200),
        "method": rng.choice(("card", "card", "paypal", "bank")),
        "paid_at": _iso(at, rng),
    }


def _inventory(i: int, at: datetime, rng: random.Random, bad: bool, v2: bool) -> dict[str, object]:
    return {
        "snapshot_id": i,
        "sku": f"SKU-{rng.randrange(1, 5_000):08d}",
        "warehouse": rng.choice(("BER", "NYC", "SAO")),
        "on_hand": -1 if bad else rng.randint(0, 500),
        "counted_at": _iso(at, rng),
    }


ROW_MAKERS = {
    "users": _user,
    "orders": _order,
    "products": _product,
    "events": _event,
    "sessions": _session,
    "payments": _payment,
    "inventory": _inventory,
}
