"""The lineage database: SQLAlchemy 2.0 models (``models``) and the queries the CLI and loop need
(``store``). Only the evolution driver writes; Ray workers return values and never touch it."""
