"""Everything the bot says, as text: digests, notices, alerts, links and the translations.
Pure but for charts, which draw with matplotlib."""
