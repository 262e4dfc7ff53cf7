"""Running the bot: settings, logs, metrics, health, replicas and outage reports."""
