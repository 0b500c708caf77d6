"""Shared test fixtures."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata() -> Path:
    """Folder of real JWST material (flight headers, SIAF, WCS, CRDS rules)."""
    if not REALDATA.is_dir():
        pytest.skip(f"real-data folder not found at {REALDATA}")
    return REALDATA
