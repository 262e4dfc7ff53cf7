"""Use cases that join the pure core to the adapters: polling feeds, delivering digests."""
