"""The simulated `tiny` world, written once per test session and shared by test folders."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

_CACHE: dict[str, Any] = {}


@dataclass(frozen=True)
class TinyWorld:
    """Paths of a simulated world plus a context manager setting the CRDS environment."""

    world: Any
    root: Path

    @property
    def uncal_files(self) -> list[Path]:
        return [Path(p) for p in self.world.uncal_files]

    @property
    def truth_dir(self) -> Path:
        return Path(self.world.truth_dir)

    @contextlib.contextmanager
    def crds_env(self):
        """Point CRDS at the world's cache (``CRDS_PATH``, ``CRDS_CONTEXT``) temporarily."""
        new = {"CRDS_PATH": str(self.world.crds_path)}
        if getattr(self.world, "context", None):
            new["CRDS_CONTEXT"] = str(self.world.context)
        old = {k: os.environ.get(k) for k in new}
        os.environ.update(new)
        try:
            yield
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def tiny_world_or_skip(tmp_path_factory) -> TinyWorld:
    """Simulate `tiny` once (per session); skip when the simulator or steps are missing."""
    if "tiny" in _CACHE:
        return _CACHE["tiny"]
    try:
        from webbcal.simulate import simulate_world
    except ImportError as exc:
        pytest.skip(f"simulator not available yet: {exc}")
    try:
        import webbcal.pipelines.detector1  # noqa: F401 - all nine steps importable?
    except ImportError as exc:
        pytest.skip(f"detector1 steps not all available yet: {exc}")
    root = tmp_path_factory.mktemp("tiny_world")
    world = TinyWorld(simulate_world("tiny", root, seed=0), root)
    _CACHE["tiny"] = world
    return world
