"""The install is the tested one: uv.lock was made from pyproject.toml's requirements, what is
installed is what the lock pins, and the libraries whose internals feedwatch builds on are at
versions that this was checked against."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from bot import __version__
from bot.sources.feedparser_tuning import CHECKED_VERSIONS

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
LOCK: dict[str, Any] = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))

Key = tuple[str, frozenset[str], SpecifierSet, str]


def _declared(texts: list[str]) -> set[Key]:
    keys = set()
    for text in texts:
        req = Requirement(text)
        marker = str(req.marker) if req.marker else ""
        keys.add((canonicalize_name(req.name), frozenset(req.extras), req.specifier, marker))
    return keys


def _locked(entries: list[dict[str, Any]]) -> set[Key]:
    return {
        (
            canonicalize_name(entry["name"]),
            frozenset(entry.get("extras", ())),
            SpecifierSet(entry.get("specifier", "")),
            entry.get("marker", ""),
        )
        for entry in entries
    }


def _project_in_lock() -> dict[str, Any]:
    [project] = [p for p in LOCK["package"] if p["name"] == PYPROJECT["project"]["name"]]
    return project


def _declared_range(name: str) -> SpecifierSet:
    [req] = [
        Requirement(text)
        for text in PYPROJECT["project"]["dependencies"]
        if canonicalize_name(Requirement(text).name) == name
    ]
    return req.specifier


def test_the_lock_was_made_from_the_requirements_pyproject_declares() -> None:
    metadata = _project_in_lock()["metadata"]
    stale = "uv.lock was made from other requirements than pyproject.toml's: run `make lock`"
    assert _declared(PYPROJECT["project"]["dependencies"]) == _locked(metadata["requires-dist"]), (
        stale
    )
    groups = PYPROJECT.get("dependency-groups", {})
    assert set(groups) == set(metadata.get("requires-dev", {})), stale
    for group, texts in groups.items():
        assert _declared(texts) == _locked(metadata["requires-dev"][group]), f"{stale} ({group})"


def test_the_version_has_one_source() -> None:
    assert __version__ == PYPROJECT["project"]["version"] == _project_in_lock()["version"]


def test_every_installed_package_the_lock_pins_is_at_the_pinned_version() -> None:
    wrong, checked = [], 0
    for package in LOCK["package"]:
        if "editable" in package["source"] or "virtual" in package["source"]:
            continue
        forks = package.get("resolution-markers")
        if forks and not any(Marker(fork).evaluate() for fork in forks):
            continue  # this version is pinned for other Python versions
        try:
            installed = version(package["name"])
        except PackageNotFoundError:
            continue  # pinned for another platform or Python version
        checked += 1
        if Version(installed) != Version(package["version"]):
            wrong.append(f"{package['name']} {installed} (uv.lock: {package['version']})")
    assert not wrong, "installed outside the lock; run `make sync`: " + ", ".join(wrong)
    runtime = [entry["name"] for entry in _project_in_lock()["dependencies"]]
    assert checked >= len(runtime)


@pytest.mark.parametrize(
    ("name", "checked", "why"),
    [
        (
            "feedparser",
            CHECKED_VERSIONS,
            "bot/sources/feedparser_tuning.py patches feedparser's internals (its XML reader list and its "
            "windows-1252 table), and tests/sources/test_feedparser_tuning.py compared the results with "
            "feedparser as shipped on these versions only",
        ),
        (
            "python-telegram-bot",
            ">=22.2,<23",
            "bot/app.py sets PTB_TIMEDELTA=true, and 22.1's getUpdates raises TypeError with it",
        ),
        (
            "httpcore",
            ">=1.0.5,<2",
            "bot/sources/address_guard.py subclasses httpcore's network backend",
        ),
    ],
)
def test_libraries_feedwatch_builds_on_are_at_checked_versions(
    name: str, checked: str, why: str
) -> None:
    installed = Version(version(name))
    assert installed in SpecifierSet(checked), (
        f"{name} {installed} is installed, but {why}: check them on {installed}, then widen "
        f"the range ({checked}) here and in pyproject.toml"
    )
    assert _declared_range(name) == SpecifierSet(checked), (
        f"pyproject.toml allows {name}{_declared_range(name)}, but feedwatch was checked with "
        f"{name}{checked}"
    )
