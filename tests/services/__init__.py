"""Tests of bot/services/: poll, deliver, alerts."""
