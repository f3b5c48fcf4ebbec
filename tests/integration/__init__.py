"""Tests on real databases (SQLite and PostgreSQL), processes, the CLI and files."""
