"""pipefix's one error tree. Imports nothing from pipefix, so every layer may raise these.

Two kinds, as the agent sees them:

- **RecoverableError**: an action could not be taken safely, and nothing of it stays applied
  (it is raised inside the action's transaction). `tools/registry.py` records it in the step as a
  failed result and the agent re-plans.
- Every other **PipefixError** stops what is running, with a message meant for a person: a bad
  configuration, a warehouse that cannot be opened, a model that cannot be used. The command line
  prints it and exits 2, never with a traceback.

Any exception outside this tree is a bug: it is never caught as a failed fix. The command line
reports it in one paragraph and writes the traceback to a log (cli/errors.py, exit 3).

The classes more specific to one module subclass these where they are defined (`api.py`,
`report/data.py`, `scenario/demo.py`, `planners/`, `agent/checkpoint_serde.py`); the ones below
are also importable from where they were first defined (config.py, engines/base.py,
engines/safety.py, tools/errors.py).
"""

from __future__ import annotations


class PipefixError(Exception):
    """Raised on purpose by pipefix; str() is the whole message for the user."""


class RecoverableError(PipefixError):
    """An action that could not be taken safely: recorded as a failed result, then re-planned."""


class ConfigError(PipefixError):
    """A problem with the configuration. str() is the whole message for the user: file, line, key, fix."""


class EngineError(RecoverableError):
    """A database error, with the statement that caused it."""


class DestructiveStatementError(RecoverableError):
    """Raised instead of running a statement that would destroy user data."""


class FixRejected(RecoverableError):
    """A fix could not be applied safely (post-check failed, shadow trial failed, lossy change).

    Raised inside the fix's transaction, so nothing of it stays applied.
    """


class PipelineBusy(PipefixError):
    """Another process holds the pipeline's run lock (another `pipefix run`, or anything writing
    to the warehouse): one run at a time. str() names the holder and the way to wait."""


class Interrupted(PipefixError):
    """The engine was told to stop (a signal, an orchestrator): the statement running was cancelled
    and rolled back with its transaction, and no statement runs after it. Never a failed fix."""


class NotFoundError(RecoverableError):
    """Something pipefix's state does not hold: a table without a contract, a contract version
    the table never had, a decision that does not exist."""
