"""source_catalog's on-disk cache of aperture corrections: same set back, recomputed
when the entry is unreadable, a new entry for a new key."""

import numpy as np

from webbcal.algorithms.image3.apcorr import aperture_set
from webbcal.steps.image3.source_catalog import cached_aperture_set


def _counting(calls):
    def compute():
        calls.append(1)
        return aperture_set(0.066, input_scale=0.031, output_scale=0.031, ee=(30, 50, 70, 90))
    return compute


def _same(a, b):
    assert a.ee == b.ee and a.radii == b.radii and a.corrections == b.corrections
    assert a.fraction_sigma == b.fraction_sigma and a.exposure_sigma == b.exposure_sigma
    assert (a.sigma == b.sigma) or (np.isnan(a.sigma) and np.isnan(b.sigma))
    assert (a.phase_fractions is None) == (b.phase_fractions is None)
    if a.phase_fractions is not None:
        assert np.array_equal(a.phase_fractions, b.phase_fractions)


def test_second_call_reads_the_cache_and_returns_the_same_set(tmp_path):
    calls = []
    key = {"filter": "F200W", "input_scale": 0.031, "output_scale": 0.031, "ee": [30, 50, 70, 90]}
    first = cached_aperture_set(key, _counting(calls), cache_dir=tmp_path)
    second = cached_aperture_set(key, _counting(calls), cache_dir=tmp_path)
    assert len(calls) == 1
    _same(first, second)
    assert np.allclose(second.corrections_at([10.3], [20.8]), first.corrections_at([10.3], [20.8]))
    assert len(list(tmp_path.glob("apcorr-*.npz"))) == 1


def test_unreadable_entry_is_recomputed_and_a_new_key_gets_its_own(tmp_path):
    calls = []
    key = {"filter": "F200W", "pixfrac": 1.0}
    cached_aperture_set(key, _counting(calls), cache_dir=tmp_path)
    (entry,) = tmp_path.glob("apcorr-*.npz")
    entry.write_bytes(b"not an npz")
    again = cached_aperture_set(key, _counting(calls), cache_dir=tmp_path)
    assert len(calls) == 2 and len(again.radii) == 4
    cached_aperture_set({"filter": "F200W", "pixfrac": 0.8}, _counting(calls), cache_dir=tmp_path)
    assert len(calls) == 3 and len(list(tmp_path.glob("apcorr-*.npz"))) == 2
