"""Tests of bot/sources/: fetching, parsing, OPML."""
