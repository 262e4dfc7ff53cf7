"""Tests of bot/cli/: the feedwatch command."""
