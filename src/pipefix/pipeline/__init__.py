"""Contracts, drift diff, batches and quarantine policy. Pure: no database, no files."""
