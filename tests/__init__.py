"""Tests of feedwatch."""
