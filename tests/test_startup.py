"""What a start loads: `feedwatch poll --once` and the terminal digest need neither
python-telegram-bot nor matplotlib (nor numpy under it); those load when a token is set or a
chart is drawn (benchmarks/startup.py times the whole process: 1.66 s before, 0.72 s after)."""

from __future__ import annotations

import ast
import subprocess
import sys

HEAVY = ("telegram", "matplotlib", "numpy")


def loaded_after(code: str) -> list[str]:
    probe = (
        f"import sys\n{code}\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))"
    )
    ran = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return list(ast.literal_eval(ran.stdout))


def test_the_app_and_the_command_line_load_no_telegram_and_no_charts() -> None:
    assert loaded_after("import bot.cli, bot.app") == []


def test_a_chart_loads_matplotlib_and_a_token_loads_telegram() -> None:
    assert loaded_after("import bot.render.charts as c; c.font_file()") == [
        "matplotlib",
        "numpy",
    ]
    assert "telegram" in loaded_after(
        "from bot.app import build_application\n"
        "from bot.ops.config import Settings, TelegramSettings\n"
        "build_application(Settings(telegram=TelegramSettings(token='1:x')))"
    )
