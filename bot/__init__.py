"""feedwatch: watch public news feeds for names and deliver digests of the mentions to Telegram chats."""

__version__ = "0.1.0.dev0"
