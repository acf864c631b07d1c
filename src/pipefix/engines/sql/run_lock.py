"""Statements of the PostgreSQL run lock (engines/run_lock.py): a session-level advisory lock
keyed on the pipeline, the holder naming itself, and who holds it (PostgreSQL's catalogs)."""

from __future__ import annotations


def try_lock_sql() -> str:
    """Parameter: the lock's key. True when this session took (or holds) it."""
    return "SELECT pg_try_advisory_lock(?)"


def name_session_sql() -> str:
    """Parameter: this session's application_name (who holds the lock, for others to read)."""
    return "SELECT set_config('application_name', ?, false)"


def holder_sql() -> str:
    """Parameter: the lock's key. The holding session's name, its start and its pid."""
    return (
        "SELECT a.application_name, a.backend_start, l.pid FROM pg_locks AS l "
        "LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND (l.classid::bigint << 32) + l.objid::bigint = ?"
    )


def release_all_sql() -> str:
    """Every advisory lock this session holds let go (before its connection closes: the server
    may end the session only after the next run asked for the lock)."""
    return "SELECT pg_advisory_unlock_all()"
