"""Fixtures of the image3 step tests: a simulated association, run once per session.

Cal-like inputs come from ``_image3_scene`` (see its docstring): the simulator's
``tiny`` world and image2 were not available when these tests were written.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # tests run with --import-mode=importlib
    sys.path.insert(0, str(HERE))

from _image3_scene import make_scene, write_scene  # noqa: E402


@dataclass
class Run:
    scene: object
    library: object
    pipeline: object
    folder: Path
    asn: Path
    cal_paths: list


@pytest.fixture(scope="session")
def scene():
    return make_scene()


@pytest.fixture(scope="session")
def clean_scene():
    """The same scene without cosmic rays."""
    return make_scene(with_cr=False)


def _run(scene, folder, *, catalog=True):
    from webbcal.pipelines.image3 import Image3Pipeline

    paths, asn, ref = write_scene(scene, folder)
    steps = {"tweakreg": {"abs_refcat": str(ref)},
             "source_catalog": {"psf_model": "gaussian"}}  # the scene's PSF is Gaussian
    if not catalog:
        steps["source_catalog"]["skip"] = True
    pipe = Image3Pipeline(steps=steps)
    lib = pipe.run(asn)
    return Run(scene, lib, pipe, folder, asn, paths)


@pytest.fixture(scope="session")
def image3_run(scene, tmp_path_factory):
    """The whole pipeline on the association (absolute catalog given)."""
    return _run(scene, tmp_path_factory.mktemp("image3"))


@pytest.fixture(scope="session")
def clean_run(clean_scene, tmp_path_factory):
    """The pipeline on the CR-free twin of the scene (no catalog)."""
    return _run(clean_scene, tmp_path_factory.mktemp("image3_clean"), catalog=False)
