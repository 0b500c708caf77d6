"""The gwcs evaluated from ASDF bytes without asdf/gwcs (``datamodels._gwcs_eval``)
agrees with gwcs itself; unsupported trees fall back to asdf, malformed ones raise."""

from __future__ import annotations

import importlib.util
import io
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from webbcal.datamodels import FormatError
from webbcal.datamodels._gwcs_eval import GwcsEval, Unsupported, wcs_from_asdf

TOL_DEG = 1e-10


def _random_pixels(n=4000, lo=-0.5, hi=2047.5, seed=3):
    rng = np.random.default_rng(seed)
    return rng.uniform(lo, hi, n), rng.uniform(lo, hi, n)


def _max_diff(a, b) -> float:
    return max(float(np.max(np.abs(np.asarray(u) - np.asarray(v)))) for u, v in zip(a, b))


def _asdf_bytes(wcs, **kw) -> bytes:
    import asdf

    buffer = io.BytesIO()
    asdf.AsdfFile({"meta": {"wcs": wcs}}).write_to(buffer, **kw)
    return buffer.getvalue()


def _two_frame_gwcs(transform):
    from astropy import units as u
    from gwcs import WCS
    from gwcs import coordinate_frames as cf

    det = cf.Frame2D(name="detector", axes_order=(0, 1), unit=(u.pix, u.pix))
    out = cf.Frame2D(name="out", axes_order=(0, 1), unit=(u.deg, u.deg))
    return WCS([(det, transform), (out, None)])


def _cal_like_file(path: Path, asdf_file: bytes, shape=(64, 64)) -> Path:
    from webbcal.datamodels._asdf_text import asdf_extension_bytes

    hdus = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros(shape, np.float32),
                                                          name="SCI")])
    hdus.writeto(path)
    with open(path, "ab") as f:
        f.write(asdf_extension_bytes(asdf_file))
    return path


@pytest.mark.parametrize("name", ["nrcb1-wcs.asdf", "nrcb5-wcs.asdf",
                                  "mosaic_long_i2d_gwcs.asdf"])
def test_real_flight_gwcs_agree_with_gwcs(realdata, name):
    import asdf

    path = realdata / "wcs" / name
    ours = wcs_from_asdf(path.read_bytes(), path, keys=("wcs",))
    x, y = _random_pixels()
    with asdf.open(path) as af:
        ref = af.tree["wcs"]
        assert ours.available_frames == tuple(ref.available_frames)
        diff = _max_diff(ours.forward_transform(x, y), ref.forward_transform(x, y))
    # NIRCam level-2 gwcs: the same numpy operations in the same order, bit for bit;
    # the mosaic's TAN projection is wcslib C code in astropy: ~1e-13 deg
    assert diff == 0.0 if name.startswith("nrc") else diff < TOL_DEG


@pytest.fixture(scope="module")
def cal_path(tmp_path_factory):
    """A cal file written by our Image2Pipeline (SUB160 NRCBLONG, flight pointing)."""
    spec = importlib.util.spec_from_file_location(
        "_image2_data", Path(__file__).parents[1] / "steps" / "image2" / "_image2_data.py")
    data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(data)
    from webbcal.pipelines.image2 import Image2Pipeline

    out = tmp_path_factory.mktemp("gwcs_eval")
    exp = data.make_exposure()
    data.make_rate(exp).write(out / "jw_test_nrcblong_rate.fits")
    pipe = Image2Pipeline(references=data.make_references(exp))
    pipe.run(out / "jw_test_nrcblong_rate.fits")
    return pipe.output_paths[0]


def test_image2_cal_gwcs_agrees_and_library_uses_it(cal_path):
    from webbcal.datamodels import read_image
    from webbcal.steps.image3._library import _read_meta

    _, _, light, shape = _read_meta(cal_path, with_wcs=True)
    full = read_image(cal_path).wcs
    assert isinstance(light, GwcsEval) and shape == (160, 160)
    assert light.available_frames == tuple(full.available_frames)
    x, y = _random_pixels(lo=-20, hi=180)
    assert _max_diff(light.forward_transform(x, y), full.forward_transform(x, y)) == 0.0
    ra, dec = light.forward_transform(80.0, 80.0)  # scalars in, 0-d arrays out
    assert np.shape(ra) == () and abs(float(dec) - (-5.237)) < 0.05


def test_pending_pointing_uses_full_gwcs(cal_path):
    """A member with a tweakreg pointing not yet written reads the full gwcs (to
    rebuild its V2/V3 → sky step); the rebuilt transform moves RA by the change."""
    import dataclasses

    from webbcal.steps.image3._library import ExposureLibrary

    lib = ExposureLibrary.from_paths([cal_path], product_name="p", output_dir=".")
    before = lib._meta(0, with_wcs=True).wcs
    assert isinstance(before, GwcsEval)
    p = lib.exposure(0).pointing
    lib.members[0].wcs_pointing = dataclasses.replace(p, ra_ref=p.ra_ref + 1e-4)
    after = lib._meta(0, with_wcs=True).wcs
    assert not isinstance(after, GwcsEval)
    shift = after.forward_transform(80.0, 80.0)[0] - before.forward_transform(80.0, 80.0)[0]
    assert abs(shift - 1e-4) < 1e-9


def test_reading_nodes_imports_no_asdf_or_gwcs(cal_path):
    code = ("import sys; from webbcal.steps.image3._library import ExposureLibrary as L; "
            f"lib = L.from_paths([{str(cal_path)!r}], product_name='p', output_dir='.'); "
            "n = lib.nodes(0); assert n.ra.size > 10; "
            "print(sorted(m for m in ('asdf', 'gwcs', 'astropy.modeling') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_more_transforms_agree_with_astropy():
    """Tags beyond the NIRCam gwcs: spherical rotation sequence, Euler and sky
    rotations, 2-D rotation, 1-D/2-D polynomials with domain/window, mappings with
    n_inputs, fix_inputs, arithmetic, constant, identity; arrays written inline too."""
    import asdf
    from astropy.modeling import models as m

    p2 = m.Polynomial2D(2, c0_0=0.3, c1_0=0.01, c0_1=-0.02, c2_0=1e-5, c1_1=2e-5,
                        c0_2=-3e-5, x_domain=(0, 200), x_window=(-1, 1),
                        y_domain=(-5, 300), y_window=(0, 2))
    p1 = m.Polynomial1D(3, c0=1.0, c1=-0.5, c2=0.01, c3=1e-4, domain=(0, 100),
                        window=(-1, 1))
    fixed = m.fix_inputs(m.Mapping((0, 2), n_inputs=3) | (m.Shift(1.5) & m.Scale(0.2)),
                         {1: 7.0})
    plane = ((m.Shift(-100) & m.Shift(-90)) | m.Rotation2D(23.0)
             | (m.Scale(1e-3) & m.Scale(1.2e-3))
             | m.SphericalRotationSequence([10.0, -20.0, 35.0], "zyx")
             | m.EulerAngleRotation(12.0, 40.0, -7.0, "zxz")
             | m.RotateCelestial2Native(150.0, 2.0, 180.0)
             | m.RotateNative2Celestial(30.0, -60.0, 170.0))
    extra = ((m.Mapping((0, 1, 0)) | (p2 & (p1 * m.Const1D(2.0))))
             + (m.Identity(2) - fixed))
    extra = (extra / (m.Const1D(4.0) & m.Const1D(-2.0))) ** (m.Const1D(1.0) & m.Const1D(1.0))
    x, y = _random_pixels(lo=0, hi=200, n=3000)
    for transform in (plane, extra):
        for storage in ("internal", "inline"):
            raw = _asdf_bytes(_two_frame_gwcs(transform), all_array_storage=storage)
            with asdf.open(io.BytesIO(raw)) as af:  # angles as written: deg → rad → deg
                ref = af.tree["meta"]["wcs"]
                diff = _max_diff(wcs_from_asdf(raw).forward_transform(x, y),
                                 ref.forward_transform(x, y))
            assert diff == 0.0, (storage, diff)


def test_unsupported_tag_falls_back_to_gwcs(tmp_path, caplog):
    from astropy.modeling import models as m

    from webbcal.steps.image3._library import ExposureLibrary, _read_meta

    transform = (m.Shift(-32) & m.Shift(-32)) | (m.Scale(1e-5) & m.Scale(1e-5)) \
        | m.Pix2Sky_SIN() | m.RotateNative2Celestial(53.1, -27.8, 180.0)
    ref = _two_frame_gwcs(transform)
    raw = _asdf_bytes(ref)
    with pytest.raises(Unsupported, match="slant_orthographic"):
        wcs_from_asdf(raw)
    path = _cal_like_file(tmp_path / "x_cal.fits", raw)
    with caplog.at_level(logging.DEBUG, logger="webbcal.datamodels"):
        wcs = _read_meta(path, with_wcs=True)[2]
    assert not isinstance(wcs, GwcsEval) and "slant_orthographic" in caplog.text
    lib = ExposureLibrary.from_paths([path], product_name="p", output_dir=tmp_path)
    nodes = lib.nodes(0)
    ra, dec = ref.forward_transform(*np.meshgrid(nodes.x, nodes.y))
    assert np.array_equal(nodes.ra, ra) and np.array_equal(nodes.dec, dec)


def test_fallback_gives_the_same_nodes(cal_path, monkeypatch, caplog):
    """The same cal file read the light way and (forced) through asdf + gwcs: the
    sky nodes the image3 steps use are identical."""
    from webbcal.datamodels import _gwcs_eval
    from webbcal.steps.image3._library import ExposureLibrary

    light = ExposureLibrary.from_paths([cal_path], product_name="p", output_dir=".").nodes(0)
    monkeypatch.delitem(_gwcs_eval._BUILDERS, "polynomial")
    with caplog.at_level(logging.DEBUG, logger="webbcal.datamodels"):
        lib = ExposureLibrary.from_paths([cal_path], product_name="p", output_dir=".")
        assert not isinstance(lib._meta(0, with_wcs=True).wcs, GwcsEval)
        full = lib.nodes(0)
    assert "polynomial" in caplog.text
    assert np.array_equal(light.ra, full.ra) and np.array_equal(light.dec, full.dec)


@pytest.mark.parametrize("case", ["not_asdf", "bad_yaml", "truncated_block", "no_block"])
def test_malformed_asdf_raises_format_error_naming_file(tmp_path, cal_path, case):
    from webbcal.steps.image3._library import _read_meta

    with fits.open(cal_path) as hdul:
        raw = np.asarray(hdul["ASDF"].data["ASDF_METADATA"]).tobytes()
    end = raw.find(b"\n...\n") + 5
    bad = {"not_asdf": b"SIMPLE  = T" + raw[11:],
           "bad_yaml": raw[:end].replace(b"steps:", b"steps: [", 1) + raw[end:],
           "truncated_block": raw[:end + 200],
           "no_block": raw[:end]}[case]
    path = _cal_like_file(tmp_path / f"{case}_cal.fits", bad)
    with pytest.raises(FormatError, match=f"{case}_cal.fits.*ASDF"):
        _read_meta(path, with_wcs=True)
