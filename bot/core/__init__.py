"""The pure core: the types every stage passes on, the one exception tree, matching,
scheduling rules and limits. Nothing here does I/O; time comes in as `now`."""
