"""pipefix's DuckDB connections get a bounded buffer pool (engines/duckdb_settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipefix.engines.duckdb import DuckDBEngine
from pipefix.engines.duckdb_settings import ENV
from pipefix.errors import ConfigError, EngineError


def _limit(engine: DuckDBEngine) -> str:
    return str(engine.query("SELECT current_setting('memory_limit')")[0][0])


def test_a_warehouse_gets_the_default_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    engine = DuckDBEngine(tmp_path / "w.duckdb")
    try:
        assert _limit(engine) == "244.1 MiB"  # 256 MB
    finally:
        engine.close()


def test_the_environment_sets_the_limit_of_every_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "1GB")
    for engine in (DuckDBEngine(tmp_path / "w.duckdb"), DuckDBEngine(":memory:")):
        try:
            assert _limit(engine) == "953.6 MiB"
        finally:
            engine.close()


def test_default_leaves_duckdbs_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "default")
    engine = DuckDBEngine(":memory:")
    try:
        assert _limit(engine).endswith("GiB")
    finally:
        engine.close()


def test_a_limit_that_is_no_size_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "lots")
    with pytest.raises(ConfigError, match=f"{ENV}='lots' is not a size"):
        DuckDBEngine(tmp_path / "w.duckdb")
    assert not (tmp_path / "w.duckdb").exists()


def test_running_out_names_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "8MB")
    engine = DuckDBEngine(":memory:")
    try:
        with pytest.raises(EngineError, match=f"limit is 8MB: raise it with {ENV}=1GB"):
            engine.query("SELECT list(range) FROM range(10000000)")
    finally:
        engine.close()
