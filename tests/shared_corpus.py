"""Where the shared corpora of third-party documents are (`../shared/corpus/`, or under
FEEDWATCH_SHARED_DIR), and the rule for a missing one: its tests skip with a one-line reason, so a
clone with nothing beside it passes; where the corpus is present they run, under CI=true too."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

_OVERRIDE = os.environ.get("FEEDWATCH_SHARED_DIR")
# shared/ sits beside the repository: tests/ -> repo root -> its parent.
SHARED = Path(_OVERRIDE) if _OVERRIDE else Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus"


def require_corpus(sub: str) -> Path:
    """The corpus folder `sub`, or skip saying where it was looked for. A folder named by
    FEEDWATCH_SHARED_DIR that is not there is a mistake, not an absence: the test fails."""
    folder = CORPUS / sub
    if not folder.is_dir():
        if _OVERRIDE:
            pytest.fail(f"FEEDWATCH_SHARED_DIR is set, but {folder} does not exist")
        pytest.skip(f"no shared corpus at {folder} (it sits beside the repository when present)")
    return folder


def corpus_documents(sub: str) -> list[Path]:
    """The documents of corpus folder `sub` (its *.md notes are not documents), sorted; none when
    the folder is absent."""
    folder = CORPUS / sub
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".md")


def corpus_params(sub: str) -> list[Any]:
    """One pytest param per document of corpus folder `sub`, named by its path there; when the
    folder is absent, one param (with no path) whose test skips or fails by `require_corpus`."""
    files = corpus_documents(sub)
    if not files:
        return [pytest.param(sub, None, id=f"{sub}-missing")]
    return [
        pytest.param(sub, path, id=f"{sub}/{path.relative_to(CORPUS / sub).as_posix()}")
        for path in files
    ]
