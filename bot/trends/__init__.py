"""Decisions over many items: which are one story, hits counted per day, when a list spikes.
Pure: `now` comes in as an argument."""
