"""Fixtures of the pipeline tests: the toy pipeline module and a simulated `tiny` world."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # tests run with --import-mode=importlib
    sys.path.insert(0, str(HERE))

from _world import tiny_world_or_skip  # noqa: E402


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """The simulator's `tiny` preset, written once per session (skips if unavailable)."""
    return tiny_world_or_skip(tmp_path_factory)


@pytest.fixture(scope="session")
def tiny_rate(tiny_world, tmp_path_factory):
    """detector1 run once per session on the first `tiny` exposure: (pipeline, result)."""
    from webbcal.pipelines.detector1 import Detector1Pipeline

    out = tmp_path_factory.mktemp("tiny_rate")
    pipe = Detector1Pipeline(output_dir=out)
    with tiny_world.crds_env():
        result = pipe.run(tiny_world.uncal_files[0])
    return pipe, result
