"""distortion_model: the SIAF polynomials as an astropy model, asdf round trip."""

import numpy as np
import pytest

from webbcal.instrument import distortion_model, siaf_aperture

from .conftest import grid


@pytest.mark.parametrize("det", ["NRCA1", "NRCA3", "NRCALONG", "NRCBLONG"])
def test_model_equals_siaf_transform_and_has_inverse(det):
    model = distortion_model(det)
    ap = siaf_aperture(det)
    x, y = grid(21, 0, 2047)
    v2, v3 = model(x, y)
    e2, e3 = ap.sci_to_v2v3(x, y)
    assert np.abs(v2 - e2).max() < 1e-9 and np.abs(v3 - e3).max() < 1e-9
    xb, yb = model.inverse(v2, v3)      # refit polynomial, no Newton refinement
    assert max(np.abs(xb - x).max(), np.abs(yb - y).max()) < 3e-3


def test_siaf_inverse_option_uses_idl2sci_verbatim():
    # NRCA3's SIAF Idl2Sci is off by ~0.13 px in x; the refit is not
    x, y = grid(11, 0, 2047)
    siaf = distortion_model("NRCA3", inverse="siaf")
    xb, _ = siaf.inverse(*siaf(x, y))
    assert 0.05 < np.abs(xb - x).max() < 0.2
    ap = siaf_aperture("NRCA3")
    x0, _ = ap.v2v3_to_sci(*ap.sci_to_v2v3(x, y), n_iter=0)
    assert np.allclose(xb, x0, atol=1e-9)


def test_model_has_the_crds_reference_layout():
    from astropy.modeling.models import Polynomial2D, Shift

    ap = siaf_aperture("NRCB5")
    model = distortion_model("NRCB5")
    parts = [model[i] for i in range(model.n_submodels)]
    assert [type(p).__name__ for p in parts[:4]] == ["Shift"] * 4
    assert parts[0].offset.value == 1.0 and parts[2].offset.value == -ap.x_sci_ref
    polys = [p for p in parts if isinstance(p, Polynomial2D)]
    assert [p.degree for p in polys] == [5, 5, 1, 1]
    assert polys[0].c1_0.value == pytest.approx(ap.sci2idl_x[1, 0])
    assert isinstance(parts[-1], Shift) and parts[-1].offset.value == ap.v3_ref
    assert model.inputs == ("x", "y") and model.outputs == ("v2", "v3")


def test_asdf_round_trip(tmp_path):
    asdf = pytest.importorskip("asdf")
    model = distortion_model("NRCA1")
    path = tmp_path / "distortion.asdf"
    asdf.AsdfFile({"model": model}).write_to(path)
    x, y = grid(9, 0, 2047)
    with asdf.open(path) as af:
        back = af.tree["model"]
        assert np.array_equal(np.array(back(x, y)), np.array(model(x, y)))
        v2, v3 = model(x, y)
        assert np.array_equal(np.array(back.inverse(v2, v3)), np.array(model.inverse(v2, v3)))
