"""Fixtures of the image2 step tests (built by ``_image2_data.py``)."""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "_image2_data", Path(__file__).with_name("_image2_data.py"))
data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(data)


@pytest.fixture(scope="session")
def i2data():
    """The ``_image2_data`` helper module."""
    return data


@pytest.fixture(scope="session")
def distortion_ref():
    return data.make_distortion("NRCBLONG")
