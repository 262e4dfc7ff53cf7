"""The house's layers hold: import-linter's contracts (pyproject's [tool.importlinter]) pass on the
code, and they do catch a pure module doing I/O or a use case reaching for the concrete store."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PURE = ("core", "trends", "render")
# import-linter sees an outside module by its top name only (`urllib`, whose `parse` pure code
# uses), so the network parts of the standard library are looked for here by their whole name.
NETWORK_MODULES = {"urllib.request", "http.client", "http.server", "socket", "ssl"}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(  # noqa: S603 - our own tool, fixed arguments
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_code_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("core/schedule.py", "import socket", "do no I/O"),
        ("trends/stories.py", "import sqlalchemy", "do no I/O"),
        ("render/digest.py", "from bot.storage import repository", "Layers"),
        ("services/poll.py", "from bot.storage.repository import Repository", "Protocols"),
        ("sources/fetch.py", "from bot.services import poll", "Layers"),
        ("core/domain.py", "from bot.ops import config", "Layers"),
    ],
)
def test_a_contract_catches_an_import_against_it(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    shutil.copytree(ROOT / "bot", tmp_path / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "bot" / module
    source = target.read_text(encoding="utf-8")
    head, _, rest = source.partition("from __future__ import annotations\n")
    target.write_text(f"{head}from __future__ import annotations\n{line}\n{rest}", encoding="utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contract in broken
    assert f"bot.{module.removesuffix('.py').replace('/', '.')}" in broken


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


@pytest.mark.parametrize("package", PURE)
def test_a_pure_package_names_no_network_module(package: str) -> None:
    found = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / "bot" / package).rglob("*.py")
        for name in _imported(path) & NETWORK_MODULES
    }
    assert not found


def test_the_network_check_sees_a_network_module(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from urllib import parse, request\nimport http.client\n", encoding="utf-8")
    assert _imported(module) & NETWORK_MODULES == {"urllib.request", "http.client"}
