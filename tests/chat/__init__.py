"""Tests of bot/chat/: the bot in Telegram, against the fake Bot API."""
