"""pipefix's command line: the `pipefix` group (its help, version and exit codes) and the commands
of each module here registered on it. Thin: a command parses options, calls the pipeline or the
scenario, prints. Heavy imports (the agent, the warehouse, the configuration) stay inside the
commands, so that `pipefix --help` starts fast.

  setup.py        init
  demo.py         demo
  run.py          run
  inspection.py   check, report, history (read-only)
  decisions.py    approve, reject
  control.py      quarantine, replay, rollback, adapters
  alerts.py       alerts test
  errors.py       a PipefixError as one line, a bug as one paragraph and the crash log
  options.py      options several commands share; html_report.py: the report a command writes
"""

from __future__ import annotations

import click

from pipefix import __version__
from pipefix.cli import alerts, control, decisions, demo, inspection, run, setup
from pipefix.cli.demo import demo_summary, show_demo
from pipefix.cli.errors import Commands, crash_log_path

__all__ = ["crash_log_path", "demo_summary", "main", "show_demo"]


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipefix")
def main() -> None:
    """pipefix keeps a data pipeline healthy through upstream schema drift without losing a row.

    It loads producer batches under per-table contracts, measures health from the rows, and
    when a producer changes its schema it revises its goal, diagnoses and repairs with safe,
    reversible actions.

    Exit codes: 0 done (and healthy, for `check`); 1 unhealthy, or not done (a demo that cannot
    start, a report not written, an alert not delivered); 2 bad usage, configuration or
    warehouse; 3 a bug in pipefix: one paragraph on stderr, the traceback in pipefix-crash.log in
    the system's temp folder (or $PIPEFIX_CRASH_LOG).
    """


for _command in (
    setup.init,
    demo.demo,
    run.run,
    inspection.check,
    inspection.report_command,
    inspection.history,
    decisions.approve,
    decisions.reject,
    alerts.alerts,
    control.quarantine,
    control.replay,
    control.rollback,
    control.adapters,
):
    main.add_command(_command)
