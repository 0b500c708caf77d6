"""Small products shared by the datamodels tests."""

import numpy as np
import pytest

from webbcal.datamodels import ExposureInfo, Pointing


@pytest.fixture()
def exposure() -> ExposureInfo:
    """A small NIRCam subarray exposure (2 integrations x 3 groups, 16 x 24 pixels)."""
    return ExposureInfo(
        instrument="NIRCAM", detector="NRCB1", module="B", channel="SHORT",
        filter="F200W", pupil="CLEAR", exp_type="NRC_IMAGE", readpatt="MEDIUM8",
        nframes=8, groupgap=2, ngroups=3, nints=2, tframe=0.5, tgroup=5.0,
        subarray="SUB64P", substrt1=101, substrt2=201, subsize1=24, subsize2=16,
        fastaxis=-1, slowaxis=2, noutputs=1, date_obs="2023-01-02", time_obs="03:04:05.600",
        expstart=59946.128, zeroframe=False,
        pointing=Pointing(53.1, -27.8, 12.5, -122.4, -457.7, -0.6, -1, 1.00001),
    )


@pytest.fixture()
def rng():
    return np.random.default_rng(12345)
