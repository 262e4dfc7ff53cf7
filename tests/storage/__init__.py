"""Tests of bot/storage/: the stores, on SQLite and PostgreSQL."""
