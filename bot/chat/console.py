"""The terminal as a digest sink: with no Telegram token, digests are printed as plain text."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.core.domain import Chat, DigestMessage
from bot.render.digest import Format


class ConsoleSink:
    format: Format = "text"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    async def send(self, chat: Chat, message: DigestMessage) -> int | None:
        self.stream.write(message.text + "\n\n")
        self.stream.flush()
        return None
