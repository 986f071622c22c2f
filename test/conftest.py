"""Shared test fixtures: where the real VCC2016 subset lives, and small WORLD settings."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def vcc2016_root() -> Path:
    """VCC2016 corpus: $VCC2016, else the shared/ folder beside the repository."""
    env = os.environ.get("VCC2016")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "vcc2016"


needs_vcc2016 = pytest.mark.skipif(
    not (vcc2016_root() / "vcc2016_training").is_dir(),
    reason="VCC2016 corpus not found (set VCC2016=/path/to/extracted/corpus)",
)
