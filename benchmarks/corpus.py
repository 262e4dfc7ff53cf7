"""The feed documents a benchmark reads: `--corpus DIR`, else corpus/bench in the shared folder
beside the repository (or under FEEDWATCH_SHARED_DIR). A missing or empty corpus stops the run with
one line that says where it looked."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def default_corpus() -> Path:
    shared = os.environ.get("FEEDWATCH_SHARED_DIR")
    return (Path(shared) if shared else REPO.parent / "shared") / "corpus" / "bench"


def bench_documents(given: Path | None) -> tuple[Path, list[Path]]:
    """The corpus folder and its documents (its *.md notes are not documents), sorted."""
    corpus = given or default_corpus()
    if not corpus.is_dir():
        raise SystemExit(
            f"no feed corpus at {corpus}: pass --corpus DIR, or set FEEDWATCH_SHARED_DIR to the "
            "folder that holds corpus/bench"
        )
    files = sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix != ".md")
    if not files:
        raise SystemExit(f"no feed documents in {corpus}")
    return corpus, files
