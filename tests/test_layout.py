"""The pure core stays pure: matching, digest rendering, scheduling and parsing import no I/O library."""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE = [
    "bot.core.matching",
    "bot.render.digest",
    "bot.core.schedule",
    "bot.sources.parsing",
    "bot.core.domain",
    "bot.render.texts",
    "bot.trends.stats",
    "bot.trends.spikes",
]
ADAPTER_LIBRARIES = [
    "httpx",
    "sqlmodel",
    "sqlalchemy",
    "telegram",
    "apscheduler",
    "matplotlib",
    "bot.ops.config",
]


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_imports_no_adapter_library(module: str) -> None:
    # A fresh interpreter: this test process has imported everything already.
    probe = (
        f"import sys, {module}; "
        f"print(','.join(m for m in {ADAPTER_LIBRARIES!r} if m in sys.modules))"
    )
    loaded = subprocess.run(  # noqa: S603 - our own interpreter, a fixed probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
