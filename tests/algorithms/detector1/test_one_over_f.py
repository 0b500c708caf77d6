"""one_over_f: injected row stripes removed from the group differences; sources and
the sky level kept."""

import numpy as np

from webbcal.algorithms.detector1.one_over_f import remove_row_stripes
from webbcal.datamodels.dqflags import DQ

BAD = int(DQ.DO_NOT_USE | DQ.REFERENCE_PIXEL)


def test_removes_row_stripes_and_keeps_sources():
    rng = np.random.default_rng(5)
    ng, ny, nx = 5, 128, 96
    edges = (0, 24, 48, 72, 96)
    rate = np.full((ny, nx), 20.0)                      # sky, DN per group
    yy, xx = np.mgrid[:ny, :nx]
    for cy, cx in [(30, 20), (80, 60), (100, 85)]:      # three bright sources
        rate += 3000.0 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 2.0**2))
    t = np.arange(ng)[:, None, None]
    clean = rate * t + rng.normal(0, 2.0, (ng, ny, nx))
    stripes = np.zeros((ng, ny, nx))
    for g in range(1, ng):
        for a0, a1 in zip(edges[:-1], edges[1:]):
            stripes[g:, :, a0:a1] += rng.normal(0, 8.0, (ny, 1))   # a new stripe per group
    data = (clean + stripes)[None].astype(np.float32)
    pdq = np.zeros((ny, nx), np.uint32)
    res = remove_row_stripes(data, pdq, edges, bad_bits=BAD, min_pixels=8)
    slope = (data[0, -1] - data[0, 0]) / (ng - 1)
    true_slope = (clean[-1] - clean[0]) / (ng - 1)
    before = (clean[-1] - clean[0] + stripes[-1]) / (ng - 1)
    seg = slice(0, 24)
    rows_before = np.std(np.median((before - true_slope)[:, seg], axis=1))
    rows_after = np.std(np.median((slope - true_slope)[:, seg], axis=1))
    assert rows_before > 3.0 and rows_after < 0.2 * rows_before
    # the sky level and the source peaks survive (within the noise of a row median)
    assert abs(np.median(slope) - 20.0) < 0.3
    for cy, cx in [(30, 20), (80, 60), (100, 85)]:
        assert abs(slope[cy, cx] - true_slope[cy, cx]) < 1.0
    assert 0.0 < res.masked_fraction < 0.1
    assert res.offsets.shape == (1, ng, ny, 4) and not res.offsets[0, 0].any()
