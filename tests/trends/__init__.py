"""Tests of bot/trends/: stories, stats, spikes."""
