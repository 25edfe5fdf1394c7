"""Shared fixtures: the real data sets in ../shared/data (skipped cleanly when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: real public data sets beside the project root; override with REDDPLUS_SHARED_DATA
SHARED_DATA = Path(os.environ.get("REDDPLUS_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """Path of a file in ../shared/data, skipping the calling test when it is absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data not available: {p}")
    return p


@pytest.fixture
def shared():
    """Callable fixture: ``shared("biomass_nouragues", "NouraguesHD.csv")``."""
    return shared_path
