"""The agent's actions. Each change is planned by a pure `plan_*` (what to run and its inverse),
then executed in one transaction together with its audit record."""
