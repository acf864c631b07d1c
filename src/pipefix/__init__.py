"""pipefix: keeps a data pipeline healthy through upstream schema drift without losing a row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Pipeline", "__version__"]

if TYPE_CHECKING:
    from pipefix.api import Pipeline


def __getattr__(name: str) -> Any:
    # Imported lazily so that `pipefix --help` does not pay for the whole package.
    if name == "Pipeline":
        from pipefix.api import Pipeline

        return Pipeline
    raise AttributeError(name)
