"""The image and the compose file, read as Docker would read them, since these machines run no
Docker engine: the image installs from the lock, dependencies before code, runs as a non-root user
with a health check; compose runs one image and publishes the webhook port."""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from bot.ops.config import MetricsSettings, TelegramSettings

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Instruction:
    stage: int
    keyword: str
    args: str


def dockerfile() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    instructions, stage = [], -1
    for line in joined.splitlines():
        if not line.strip():
            continue
        keyword, _, args = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        instructions.append(Instruction(stage, keyword.upper(), args.strip()))
    return instructions


def index(instructions: list[Instruction], keyword: str, pattern: str) -> int:
    found = [
        i
        for i, ins in enumerate(instructions)
        if ins.keyword == keyword and re.search(pattern, ins.args)
    ]
    assert found, f"no {keyword} matching {pattern!r} in the Dockerfile"
    return found[0]


def test_the_image_is_built_in_stages_and_installs_exactly_the_lock() -> None:
    steps = dockerfile()
    stages = [s for s in steps if s.keyword == "FROM"]
    assert len(stages) >= 2
    runs = [s.args for s in steps if s.keyword == "RUN"]
    installs = [r for r in runs if re.search(r"\b(pip|uv)\b.*\b(install|sync)\b", r)]
    # uv comes from requirements-uv.txt, checked by hash; everything else from uv.lock.
    assert any("--require-hashes" in r and "requirements-uv.txt" in r for r in installs)
    syncs = [r for r in installs if "uv sync" in r]
    assert syncs
    assert all("--locked" in r and "--no-dev" in r for r in syncs), syncs
    assert not [r for r in installs if r not in syncs and "requirements-uv.txt" not in r]
    # The runtime stage installs nothing: it copies the finished environment.
    last = len(stages) - 1
    assert not [s for s in steps if s.stage == last and s.keyword == "RUN" and s.args in installs]
    assert index(steps, "COPY", r"--from=\w+ /app/.venv")


def test_dependencies_are_installed_before_the_code_is_copied() -> None:
    steps = dockerfile()
    lock = index(steps, "COPY", r"pyproject\.toml uv\.lock")
    dependencies = index(steps, "RUN", r"uv sync .*--no-install-project")
    code = index(steps, "COPY", r"^bot ")
    project = index(steps, "RUN", r"uv sync (?!.*--no-install-project)")
    assert lock < dependencies < code < project
    assert "--no-editable" in steps[project].args  # the runtime stage has no /app/bot


def test_the_image_runs_as_a_user_and_checks_its_health_where_metrics_listen() -> None:
    steps = dockerfile()
    last = max(s.stage for s in steps)
    [user] = [s.args for s in steps if s.keyword == "USER" and s.stage == last]
    assert user not in ("root", "0")
    [health] = [s.args for s in steps if s.keyword == "HEALTHCHECK"]
    assert f"http://{MetricsSettings().listen}/healthz" in health
    env = " ".join(s.args for s in steps if s.keyword == "ENV" and s.stage == last)
    # `feedwatch run` and `feedwatch demo` find /app/config through FEEDWATCH_CONFIG.
    assert "FEEDWATCH_CONFIG=/app/config/feedwatch.toml" in env
    assert index(steps, "COPY", r"^config /app/config$")
    [entrypoint] = [s.args for s in steps if s.keyword == "ENTRYPOINT"]
    assert entrypoint == '["feedwatch"]'


def test_the_image_python_is_one_the_project_supports() -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    for stage in (s.args for s in dockerfile() if s.keyword == "FROM"):
        found = re.match(r"python:(\d+\.\d+)", stage)
        assert found, stage
        assert Version(found[1]) in SpecifierSet(requires), stage


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_bot_and_replicas_run_one_image() -> None:
    services = compose()["services"]
    bot, replica = services["bot"], services["replica"]
    assert bot["image"] == replica["image"]
    assert bot["build"] == replica["build"] == "."
    assert replica["profiles"] == ["replicas"]


def test_webhook_mode_publishes_the_port_the_bot_listens_on() -> None:
    bot = compose()["services"]["bot"]
    port = TelegramSettings().webhook_listen.rpartition(":")[2]
    published = [str(p).rsplit(":", 1)[1] for p in bot["ports"]]
    assert port in published
    assert "FEEDWATCH_TELEGRAM_WEBHOOK_URL" in bot["environment"]


@pytest.mark.parametrize("ignored", [".venv", ".tools", ".git", "*.db"])
def test_local_state_stays_out_of_the_build_context(ignored: str) -> None:
    patterns = (ROOT / ".dockerignore").read_text().split()
    assert ignored in patterns


def test_make_installs_from_the_lock_with_the_pinned_uv() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    commands = [shlex.split(line.strip()) for line in makefile.splitlines() if "$(UV) sync" in line]
    assert commands
    assert all("--frozen" in c or "--locked" in c for c in commands), commands
    pinned = (ROOT / "requirements-uv.txt").read_text().split()
    assert pinned[0].startswith("uv==")
    assert pinned[2].startswith("--hash=sha256:")
