"""The Telegram side: command handlers and the sender that posts digests (python-telegram-bot).

Named `chat`, not `telegram`, so that it never shadows python-telegram-bot's own package.
"""
