"""A `tiny` world with rate products, made once per session (shared by report and
command tests). Uses the real detector1 when it is importable, else the stand-in of
``_standin.py`` (the report only reads products; it does not care who made them)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for p in (HERE, HERE.parent / "pipelines"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from _standin import write_standin_rates  # noqa: E402
from _world import _CACHE  # noqa: E402

import pytest  # noqa: E402


def tiny_products(tmp_path_factory):
    """``(root, made_by)``: root holds the world (uncal + truth/) and detector1/ (rates).

    Reuses the session's `tiny` world of ``tests/pipelines/_world.py`` when one exists.
    """
    if "tiny_products" in _CACHE:
        return _CACHE["tiny_products"]
    try:
        from webbcal.simulate import simulate_world
    except ImportError as exc:
        pytest.skip(f"simulator not available: {exc}")
    if "tiny" in _CACHE:
        root, world = Path(_CACHE["tiny"].root), _CACHE["tiny"].world
    else:
        root = tmp_path_factory.mktemp("tiny_products")
        world = simulate_world("tiny", root, seed=0)
    uncal = [Path(p) for p in world.uncal_files]
    try:
        import webbcal.pipelines.detector1  # noqa: F401
        real = True
    except ImportError:
        real = False
    if real:
        from webbcal.parallel import run_many

        import os
        old = {k: os.environ.get(k) for k in ("CRDS_PATH", "CRDS_CONTEXT")}
        os.environ["CRDS_PATH"], os.environ["CRDS_CONTEXT"] = str(world.crds_path), \
            str(world.context)
        try:
            summary = run_many("detector1", uncal,
                               pipeline_kwargs={"output_dir": root / "detector1"})
        finally:
            for k, v in old.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        assert summary.exit_code == 0, summary.lines()
    else:
        write_standin_rates(uncal, Path(world.truth_dir), root / "detector1")
    _CACHE["tiny_products"] = (root, "detector1" if real else "stand-in")
    return _CACHE["tiny_products"]
