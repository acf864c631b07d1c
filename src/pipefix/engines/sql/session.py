"""A warehouse session as the engines set it up and end their transactions: naive timestamps
mean UTC on every engine, a read-only session where a command only reads."""

from __future__ import annotations

UTC_SESSION = "SET TimeZone = 'UTC'"  # an offset is applied when cast, never silently dropped
READ_ONLY_SESSION = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"  # PostgreSQL

BEGIN = "BEGIN TRANSACTION"
COMMIT = "COMMIT"
ROLLBACK = "ROLLBACK"
