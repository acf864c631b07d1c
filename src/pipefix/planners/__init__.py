"""Who decides: the offline rules (default) or an LLM, both returning the same typed shapes."""
