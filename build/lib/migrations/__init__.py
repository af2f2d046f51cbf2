"""Alembic migrations (run with `gridline db upgrade`)."""
