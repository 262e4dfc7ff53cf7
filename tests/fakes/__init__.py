"""Test doubles for the services feedwatch talks to."""
