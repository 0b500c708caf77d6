"""source_catalog: exposures per mosaic pixel from the bit-packed context planes."""

from types import SimpleNamespace

import numpy as np

from webbcal.steps.image3.source_catalog import _coverage


def test_coverage_counts_context_bits_over_all_planes():
    con = np.zeros((2, 3, 4), np.int32)
    con[0, 1, 2] = 0b1011      # exposures 0, 1, 3
    con[1, 1, 2] = 1           # exposure 32
    con[0, 0, 0] = -1          # all 32 of the first plane (sign bit included)
    n = _coverage(SimpleNamespace(con=con, data=np.zeros((3, 4))), 40)
    assert n[1, 2] == 4 and n[0, 0] == 32 and n.sum() == 36


def test_coverage_without_context_plane_is_the_member_count():
    n = _coverage(SimpleNamespace(con=None, data=np.zeros((3, 4))), 5)
    assert np.all(n == 5)
