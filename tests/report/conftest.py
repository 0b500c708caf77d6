"""Fixtures of the report tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # tests run with --import-mode=importlib
    sys.path.insert(0, str(HERE))

from _products import tiny_products as _tiny_products  # noqa: E402


@pytest.fixture(scope="session")
def tiny_products(tmp_path_factory):
    """``(root, made_by)`` of a `tiny` world with rate products (see ``_products.py``)."""
    return _tiny_products(tmp_path_factory)
