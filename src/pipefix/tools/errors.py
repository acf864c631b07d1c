"""Errors a tool reports without stopping the agent: recorded in the step, then re-planned.

Every one is a RecoverableError (pipefix/errors.py); `registry.execute` catches exactly those."""

from pipefix.errors import FixRejected as FixRejected
from pipefix.errors import NotFoundError as NotFoundError
from pipefix.errors import RecoverableError as RecoverableError
