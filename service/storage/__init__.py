"""Durable state: decisions, thresholds, audit trail, model versions, PLC acknowledgements.

SQLAlchemy Core over SQLite (WAL) by default, PostgreSQL by URL."""
