"""Contracts: the store's repositories on both backends (SQLite and PostgreSQL)."""
