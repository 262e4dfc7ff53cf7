"""Tests of bot/render/: what the bot says."""
