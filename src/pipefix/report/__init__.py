"""What a run tells people: the JSON summary and the console report."""
