"""Fixtures for the instrument tests."""

from dataclasses import dataclass

import numpy as np
import pytest


@dataclass(frozen=True)
class StandInPointing:
    """Duck-typed pointing (the attributes of webbcal.datamodels.Pointing we use)."""

    ra_ref: float
    dec_ref: float
    roll_ref: float
    v2_ref: float
    v3_ref: float
    va_scale: float = 1.0


@pytest.fixture(scope="session")
def flight_nrcb5(realdata):
    """The flight NRCB5 gwcs, its wcsinfo and its velocity-aberration scale."""
    asdf = pytest.importorskip("asdf")
    with asdf.open(realdata / "wcs" / "nrcb5-wcs.asdf", lazy_load=False) as af:
        wcs = af.tree["wcs"]
        info = dict(af.tree["wcsinfo"])
    dva = wcs.get_transform("v2v3", "v2v3vacorr")
    va_scale = float(dva["dva_scale_v2"].factor.value)
    pointing = StandInPointing(info["ra_ref"], info["dec_ref"], info["roll_ref"],
                               info["v2_ref"], info["v3_ref"], va_scale)
    return wcs, info, pointing


@pytest.fixture(scope="session")
def pysiaf_nircam():
    pysiaf = pytest.importorskip("pysiaf")
    return pysiaf.Siaf("NIRCam")


def grid(n=33, lo=0.0, hi=2047.0):
    """(x, y) float64 arrays covering the detector, shape (n, n)."""
    ys, xs = np.meshgrid(np.linspace(lo, hi, n), np.linspace(lo, hi, n), indexing="ij")
    return xs, ys
