"""Fixtures of the parallel tests: one 2-worker LocalCluster for the whole folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PIPELINE_TESTS = Path(__file__).resolve().parents[1] / "pipelines"
if str(PIPELINE_TESTS) not in sys.path:  # tests run with --import-mode=importlib
    sys.path.insert(0, str(PIPELINE_TESTS))

from _world import tiny_world_or_skip  # noqa: E402


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """The simulator's `tiny` preset (4 exposures), written once per session."""
    return tiny_world_or_skip(tmp_path_factory)


@pytest.fixture(scope="module")
def dask_client():
    """A LocalCluster of 2 single-threaded worker processes, shared by a module."""
    pytest.importorskip("distributed")
    from webbcal.parallel import start_client

    # Worker processes must be able to import this test package: functions defined in
    # tests are pickled by reference as ``tests.parallel.…`` under importlib mode, and
    # spawned workers start with a copy of this process's sys.path.
    repo = str(Path(__file__).resolve().parents[2])
    if repo not in sys.path:
        sys.path.append(repo)

    client = start_client(workers=2, threads_per_process=1)
    yield client
    cluster = client.cluster
    client.close()
    cluster.close()
