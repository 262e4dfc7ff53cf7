"""Tests of bot/core/: pure core."""
