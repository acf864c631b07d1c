"""pipefix.config is a package of one module per concern behind the one name callers use:
`from pipefix.config import X` reaches every public name, no module grows past ~400 lines, none
imports from the layers that read the config, and a config still loads end to end through them."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

import pipefix.config as config
from pipefix.config import ConfigError, load_config

# The layers that use the config: a config module importing one of them at load time would run
# upward. (schema.py asks planners/models.py about a `model:` only inside its validator, lazily.)
UPWARD = (
    "pipefix.engines",
    "pipefix.tools",
    "pipefix.planners",
    "pipefix.agent",
    "pipefix.cli",
    "pipefix.report",
    "pipefix.api",
    "pipefix.project",
)
# What callers import from pipefix.config today (src/, tests/), which must keep working.
CALLERS_NAMES = {
    "CONFIG_FILE",
    "ConfigError",
    "LoadedConfig",
    "PipefixConfig",
    "WarehouseTarget",
    "load_config",
    "parse_duration",
    "redact_url",
}


def modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"{config.__name__}.{info.name}")
        for info in pkgutil.iter_modules(config.__path__)
    ]


def public_names(module: ModuleType) -> set[str]:
    tree = ast.parse(Path(str(module.__file__)).read_text())
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    names |= {
        t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
    }
    return {n for n in names if not n.startswith("_")}


def test_the_package_has_the_modules_of_its_concerns() -> None:
    assert sorted(m.__name__.rpartition(".")[2] for m in modules()) == [
        "csv_config",
        "load",
        "loaded",
        "messages",
        "reader",
        "schema",
    ]


def test_every_public_name_of_every_config_module_is_reexported_once() -> None:
    found = [name for module in modules() for name in public_names(module)]
    assert len(found) == len(set(found)) == 27  # no name defined in two modules
    assert sorted(config.__all__) == sorted([*found, "ConfigError"])
    assert set(config.__all__) >= CALLERS_NAMES
    for module in modules():
        for name in public_names(module):
            assert getattr(config, name) is getattr(module, name), f"config.{name}"


def test_config_modules_are_small_documented_and_import_nothing_upward() -> None:
    for module in modules():
        path = Path(str(module.__file__))
        text = path.read_text()
        tree = ast.parse(text)
        assert len(text.splitlines()) <= 400, path.name
        assert ast.get_docstring(tree), f"{path.name} says its one concern"
        imported = [n.module or "" for n in tree.body if isinstance(n, ast.ImportFrom)]
        imported += [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in imported if m.startswith(UPWARD)], path.name


def test_the_old_modules_are_gone() -> None:
    src = Path(config.__file__).parent.parent
    assert not (src / "config.py").exists()
    assert not (src / "config_csv.py").exists()


def test_a_config_loads_through_reader_schema_and_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPEFIX_TEST_SEP", ";")
    (tmp_path / "pipefix.yaml").write_text(
        "warehouse: postgresql://app:s3cret@db:5432/wh\n"
        "tables:\n"
        "  orders:\n"
        "    key: id\n"
        "    csv: {delimiter: '${PIPEFIX_TEST_SEP}'}\n"
        "    columns:\n"
        "      id: {type: bigint, nullable: false}\n"
        "      height: {type: double, source: 'Height(Inches)'}\n"
    )
    loaded = load_config(tmp_path / "pipefix.yaml")
    assert loaded.redacted_warehouse() == "postgresql://app:***@db:5432/wh"
    assert loaded.csv_options()["orders"].delimiter == ";"
    assert [c.name for c in loaded.contracts()["orders"].columns] == ["id", "height"]
    assert loaded.adapters()["orders"].transforms[0].source == "Height(Inches)"
    assert loaded.where(("tables", "orders", "columns", "height", "type")) == (
        f"{tmp_path / 'pipefix.yaml'}:8: tables.orders.columns.height.type"
    )


def test_a_misspelt_key_is_reported_at_its_line_with_the_keys_its_model_allows(tmp_path: Path) -> None:
    path = tmp_path / "pipefix.yaml"
    path.write_text(
        "warehouse: duckdb:///w.duckdb\n"
        "tables:\n"
        "  orders:\n"
        "    columns: {id: {type: bigint}}\n"
        "goal:\n"
        "  helth: 0.9\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == (
        f"{path}:6: goal: unknown key 'helth' (did you mean 'health'? allowed: health, error_rate)"
    )
