"""What a start loads (issue 19). `feedwatch poll --once` on an unchanged feed and the terminal
digest need neither python-telegram-bot nor matplotlib (nor numpy under it): they load when a token
is set or a chart is drawn. What such a poll never uses loads where it is used: the scheduler at
`start()`, feedparser and lxml at the first parse, the dictionaries at the first match, babel when
a digest is written, listparser for OPML. And the command line spares the process its last garbage
collections. benchmarks/startup.py times the whole process (1.66 s before the first of these, 0.72 s
after it on one machine; 0.85 s and 0.61 s before and after the rest on another)."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

HEAVY = ("telegram", "matplotlib", "numpy")
LAZY = (
    "apscheduler",
    "babel",
    "feedparser",
    "listparser",
    "lxml",
    "multiprocessing.pool",  # apscheduler's thread pool executor brings it
    "pymorphy3",
    "bot.services.feed_check",
    "bot.sources.opml",
    "bot.sources.telegram_page",
    "bot.sources.xml_feed",
    "xml.sax.expatreader",
)


def loaded_after(code: str, names: tuple[str, ...]) -> set[str]:
    """Which of `names` (a module or a package with any of its modules) a fresh interpreter has
    loaded after running `code`."""
    probe = f"import sys\n{code}\nprint(sorted(sys.modules))"
    ran = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    modules = ast.literal_eval(ran.stdout.splitlines()[-1])
    return {
        name
        for name in names
        if any(module == name or module.startswith(f"{name}.") for module in modules)
    }


def test_the_app_and_the_command_line_load_what_they_use_when_they_use_it() -> None:
    assert loaded_after("import bot.cli, bot.app", (*HEAVY, *LAZY)) == set()


def test_a_chart_loads_matplotlib_and_a_token_loads_telegram() -> None:
    assert loaded_after("import bot.render.charts as c; c.font_file()", HEAVY) == {
        "matplotlib",
        "numpy",
    }
    assert "telegram" in loaded_after(
        "from bot.app import build_application\n"
        "from bot.ops.config import Settings, TelegramSettings\n"
        "build_application(Settings(telegram=TelegramSettings(token='1:x')))",
        HEAVY,
    )


@pytest.mark.parametrize(
    ("code", "loaded"),
    [
        (
            "from bot.sources.parsing import parse_feed\n"
            "parse_feed(b'<rss version=\"2.0\"><channel><title>t</title></channel></rss>', source='x')",
            {"feedparser", "lxml", "bot.sources.telegram_page", "bot.sources.xml_feed"},
        ),
        (
            "from bot.core.matching.morphology import default_morphology\ndefault_morphology()",
            {"pymorphy3"},
        ),
    ],
)
def test_what_is_deferred_still_loads_when_it_is_used(code: str, loaded: set[str]) -> None:
    assert loaded_after(code, LAZY) == loaded


def test_the_command_line_freezes_the_objects_before_the_last_collections() -> None:
    # An exit handler registered before main() runs after main()'s own: by then the objects are
    # frozen, and the collections at exit pass them over.
    probe = (
        "import atexit, gc, bot.cli\n"
        "atexit.register(lambda: print(gc.get_freeze_count() > 0))\n"
        "bot.cli.main(['--version'])"
    )
    ran = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0
    assert ran.stdout.splitlines()[-1] == "True"
