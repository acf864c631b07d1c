"""The SQL seam: every statement pipefix sends is built here, per dialect.

`dialects/` says how each dialect writes a name, a value and a type (a shared core, one small
module per dialect, after sqlglot's model); the other modules of this package build the
statements of one concern each over it. Engines run statements; they do not rewrite them.
"""
