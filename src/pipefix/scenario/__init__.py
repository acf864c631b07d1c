"""The reference "Data Pipeline Fixer" demo: 8 tables and a producer that drifts to v2.0."""
