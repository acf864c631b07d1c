"""Errors a tool reports without stopping the agent: recorded in the step, then re-planned."""


class FixRejected(RuntimeError):
    """A fix could not be applied safely (post-check failed, shadow trial failed, lossy change).

    Raised inside the fix's transaction, so nothing of it stays applied.
    """
