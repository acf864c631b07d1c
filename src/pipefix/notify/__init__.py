"""Alerts to the people who own the pipeline: rendering and delivery (webhook, Slack, email)."""
