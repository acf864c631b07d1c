"""What a tool needs to act on a pipeline: typed dependencies, passed in, never global."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pipefix.engines.base import Engine
from pipefix.engines.derived import DerivedMetric
from pipefix.pipeline.csv_dialect import CsvOptions
from pipefix.pipeline.landing import LandingRules


@dataclass
class PipelineContext:
    engine: Engine
    source_tables: tuple[str, ...]
    clock: Callable[[int], datetime]
    step_seconds: int
    derived: dict[str, tuple[DerivedMetric, ...]] = field(default_factory=dict)
    max_rejected_rate: float = 0.02
    min_volume_ratio: float = 0.5
    hash_cache: dict[tuple[str, int, int], str] = field(default_factory=dict)
    # When a landed file is complete enough to read; pipefix.yaml's `landing:` says (5 s quiet by
    # default), code that builds a context chooses (reading at once, by default).
    landing_rules: LandingRules = field(default_factory=LandingRules)
    # A table's `csv:` setting in pipefix.yaml: what fixes its CSV dialect instead of sniffing.
    csv_options: dict[str, CsvOptions] = field(default_factory=dict)

    @property
    def tables(self) -> tuple[str, ...]:
        return (*self.source_tables, *self.derived)
