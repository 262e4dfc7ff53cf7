"""Where people meet the bot: Telegram command handlers, the sender that posts digests, pacing,
and the terminal that stands in for a chat when no token is set (`console`).

Named `chat`, not `telegram`, so that it never shadows python-telegram-bot's own package.
"""
