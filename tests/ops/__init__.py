"""Tests of bot/ops/: settings, logs, metrics, health, replicas."""
