"""Where the shared feed corpora are (`../shared/corpus/`, or under FEEDWATCH_SHARED_DIR), and the
rule for a missing one: skipped on a developer's machine, a failure under CI=true."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _shared_dir() -> Path:
    override = os.environ.get("FEEDWATCH_SHARED_DIR")
    # shared/ sits beside the repository: tests/ -> repo root -> its parent.
    return Path(override) if override else Path(__file__).resolve().parents[1].parent / "shared"


CORPUS = _shared_dir() / "corpus"


def require_corpus(sub: str) -> Path:
    """The corpus folder `sub`, or skip (fail under CI) saying where it was looked for."""
    folder = CORPUS / sub
    if not folder.is_dir():
        message = (
            f"the shared feed corpus is missing: {folder} does not exist "
            "(set FEEDWATCH_SHARED_DIR to the folder that holds corpus/)"
        )
        if IN_CI:
            pytest.fail(message + "; under CI=true the corpus tests must run")
        pytest.skip(message)
    return folder
