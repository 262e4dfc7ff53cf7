"""The use cases: poll feeds, deliver digests, alert on spikes. They depend on the storage
methods they use, never on a concrete store or on Telegram."""
