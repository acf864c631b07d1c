"""pipefix: keeps a data pipeline healthy through upstream schema drift without losing a row."""

__version__ = "0.1.0"
