"""Pure domain model: goals, signals, constraints, actions and audit records. No I/O."""
