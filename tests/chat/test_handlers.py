"""How handlers are put together: each group registers its own, every command once, behind the one
preamble (`bot.chat.group`); the menu is read from the marks on the handlers."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
)

from bot.chat.base import Request, button, command, commands_of
from bot.chat.commands import COMMANDS, GROUPS, ChatCommands
from bot.chat.group import CommandGroup

CHAT = Path(__file__).resolve().parents[2] / "bot" / "chat"


class _Nothing:
    """Stands in for what a group is given but never uses while it is installed."""

    default_interval = None


def installed() -> Application[Any, Any, Any, Any, Any, Any]:
    application = Application.builder().token("123:abc").build()
    nothing: Any = _Nothing()
    ChatCommands(nothing, nothing, nothing, clock=nothing).install(application)
    return application


def test_every_command_has_one_handler_and_no_handler_lacks_a_command() -> None:
    handlers = installed().handlers[0]
    commands = [
        name for h in handlers if isinstance(h, CommandHandler) for name in sorted(h.commands)
    ]
    assert sorted(commands) == sorted(name for name, _, _ in COMMANDS)
    assert len(commands) == len(set(commands)) == 27


def test_files_come_as_captions_too_and_buttons_and_membership_have_their_handlers() -> None:
    handlers = installed().handlers[0]
    captions = [h for h in handlers if isinstance(h, MessageHandler)]
    # /import and /importopml with a file, a private chat's text tried as /test, and the last:
    # commands no handler took.
    assert len(captions) == 4
    patterns = sorted(
        h.pattern.pattern  # type: ignore[union-attr]
        for h in handlers
        if isinstance(h, CallbackQueryHandler)
    )
    assert patterns == ["^(rmyes|keep):", "^(rm|unsub):", "^also:", "^held:"]
    assert sum(isinstance(h, ChatMemberHandler) for h in handlers) == 1
    assert isinstance(handlers[-1], MessageHandler)  # unknown commands, after every other


def test_the_menu_lists_the_groups_in_order_and_each_groups_handlers_as_written() -> None:
    names = [name for name, _, _ in COMMANDS]
    assert names[:3] == ["start", "help", "subscribe"]
    assert names[-1] == "channel"
    assert names == [mark.name for group in GROUPS for mark in group.commands()]


def test_marks_stack_and_keep_the_order_they_are_written_in() -> None:
    class Probe(CommandGroup):
        @command("one", "/one", "first", acts="read")
        @command("two", "/two", "second", acts="change", files=True)
        async def both(self, ask: Request) -> None:
            raise AssertionError("not called")

        @button(r"^x:")
        async def pressed(self, ask: Request) -> None:
            raise AssertionError("not called")

        @command("three", "/three", "third", acts="self")
        async def third(self, ask: Request) -> None:
            raise AssertionError("not called")

    found = [(mark.name, mark.acts, mark.files, method) for mark, method in commands_of(Probe)]
    assert found == [
        ("one", "read", False, "both"),
        ("two", "change", True, "both"),
        ("three", "self", False, "third"),
    ]


def test_no_handler_runs_the_preamble_itself() -> None:
    """Who may act on which chat is decided once, in `CommandGroup`'s preamble: a handler module
    that asked `Access` itself could forget the admin check, or check twice."""
    asking = []
    for path in sorted(CHAT.glob("*.py")):
        if path.name in {"access.py", "group.py"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"target", "is_admin", "_target"}
            ):
                asking.append(f"{path.name}:{node.lineno}")
    assert asking == []
