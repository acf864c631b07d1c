"""What a run tells people: the JSON summary, the console report and the HTML report."""
