"""The simulated detector: per-pixel truth and the reference files that describe it.

:func:`make_detector` draws one detector's pixel properties (superbias, gain, read
noise, dark current, nonlinearity, saturation, bad pixels, QE) on an array window of the
full frame; :func:`make_references` turns them into reference objects in the official
CRDS layouts (``webbcal.references``), so the files describe exactly what was simulated.

Conventions (documented for the pipeline stages that use the files):

* FLAT = QE × relative pixel area (sky-flat convention: a uniform sky is flat in the cal
  image; point-source flux = Σ cal × PIXAR_SR × AREA).
* LINEARITY: corrected = Σ c_k raw^k with c0 = 0, c1 = 1; the simulator applies its inverse.
* SATURATION: raw DN, bias included; the signal plateaus ``SAT_MARGIN_DN`` above it.
* READNOISE: CDS noise of single frames (DN); a group of ``nframes`` frames has
  ``readnoise / sqrt(2 nframes)``.
* DARK: one plane per frame (NFRAMES=1) when small; for full-frame worlds the planes are
  group averages for the exposures' readout (NFRAMES/GROUPGAP keywords set to match, as
  stcal's dark step accepts) to keep the files small.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from webbcal.datamodels.dqflags import DQ
from webbcal.simulate.ramps import reference_pixel_mask

__all__ = ["SimDetector", "make_detector", "make_references", "SAT_MARGIN_DN",
           "large_scale_field"]

SAT_MARGIN_DN = 100.0
FULL = 2048


@dataclass(frozen=True)
class SimDetector:
    """Per-pixel truth of one detector window; all arrays (ny, nx) unless noted.

    Attributes
    ----------
    name : str
    substrt : (int, int)
        1-based full-frame start (SUBSTRT1, SUBSTRT2) of the window.
    gain : float32, e-/DN
    readnoise : float32, CDS DN
    superbias : float32, DN
    dark_e_s : float32, e-/s
    linearity : (4, ny, nx) float32
    saturation : float32, raw DN (bias included)
    qe : dict filter -> float32 (pixel-to-pixel × large-scale QE, 0 for dead pixels)
    area : float32, pixel area / nominal
    mask : uint32, official DQ bits
    """

    name: str
    substrt: tuple
    gain: np.ndarray
    readnoise: np.ndarray
    superbias: np.ndarray
    dark_e_s: np.ndarray
    linearity: np.ndarray
    saturation: np.ndarray
    qe: dict
    area: np.ndarray
    mask: np.ndarray

    @property
    def shape(self):
        return self.gain.shape


def _rng(seed: int, *keys) -> np.random.Generator:
    words = [int(seed)] + [zlib.crc32(str(k).encode()) for k in keys]
    return np.random.default_rng(words)


def large_scale_field(shape, substrt, rng, *, amplitude, ncoarse=9) -> np.ndarray:
    """Smooth random field (mean 0, rms ≈ amplitude) over the full frame, cut to a window.

    A ``ncoarse``² Gaussian grid spanning the full 2048² frame, bicubically interpolated
    at the window's pixels.  Returns (ny, nx) float32.
    """
    from scipy.interpolate import RectBivariateSpline

    coarse = rng.normal(0.0, amplitude, (ncoarse, ncoarse))
    nodes = np.linspace(0, FULL - 1, ncoarse)
    spline = RectBivariateSpline(nodes, nodes, coarse, kx=3, ky=3)
    yy = np.arange(shape[0]) + substrt[1] - 1
    xx = np.arange(shape[1]) + substrt[0] - 1
    return spline(yy, xx).astype(np.float32)


def _area_map(name, shape, substrt) -> np.ndarray:
    """Pixel area relative to the nominal pixel (SIAF distortion Jacobian), (ny, nx)."""
    from scipy.interpolate import RectBivariateSpline

    from webbcal.instrument import DETECTORS, siaf_aperture

    ap = siaf_aperture(name)
    nodes = np.linspace(0, FULL - 1, 17)
    gx, gy = np.meshgrid(nodes, nodes)
    h = 0.5
    v2a, v3a = ap.sci_to_v2v3(gx + h, gy)
    v2b, v3b = ap.sci_to_v2v3(gx - h, gy)
    v2c, v3c = ap.sci_to_v2v3(gx, gy + h)
    v2d, v3d = ap.sci_to_v2v3(gx, gy - h)
    jac = np.abs((v2a - v2b) * (v3c - v3d) - (v3a - v3b) * (v2c - v2d)) / (2 * h) ** 2
    rel = jac / DETECTORS[name].pixel_scale_arcsec ** 2
    spline = RectBivariateSpline(nodes, nodes, rel, kx=3, ky=3)
    yy = np.arange(shape[0]) + substrt[1] - 1
    xx = np.arange(shape[1]) + substrt[0] - 1
    return spline(yy, xx).astype(np.float32)


def make_detector(name, *, filters, seed=0, substrt=(1, 1), shape=(FULL, FULL),
                  bad_fraction=1.0) -> SimDetector:
    """Draw one detector's pixel properties on a window of the full frame.

    Parameters
    ----------
    name : str
        'NRCA1' … 'NRCBLONG'.
    filters : iterable of str
        Filters for which a QE (flat) map is drawn.
    seed : int
        World seed; the detector's fields depend on (seed, name) only.
    substrt, shape
        Window: 1-based full-frame start (x, y) and (ny, nx).
    bad_fraction : float
        Scale of the bad-pixel fractions (hot 0.1 %, warm 0.5 %, dead 0.05 %, low-QE 0.1 %).
    """
    from webbcal.instrument import DETECTORS

    det = DETECTORS[name]
    rng = _rng(seed, "detector", name, substrt)
    ny, nx = shape
    ref = reference_pixel_mask(shape, substrt)
    gain = (det.gain_e_per_dn * (1 + large_scale_field(shape, substrt, rng, amplitude=0.02))
            * (1 + 0.005 * rng.standard_normal(shape, dtype=np.float32))).astype(np.float32)
    readnoise = (det.readnoise_dn * np.exp(0.08 * rng.standard_normal(shape, dtype=np.float32))).astype(np.float32)
    xf = np.arange(nx) + substrt[0] - 1
    amp_level = rng.normal(0, 300.0, 4)[np.clip(xf // 512, 0, 3)]
    col = rng.normal(0, 40.0, FULL)[xf]
    superbias = (12000.0 + amp_level[None, :] + col[None, :]
                 + 15.0 * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)
    dark = (det.dark_e_per_s * np.exp(0.3 * rng.standard_normal(shape, dtype=np.float32))).astype(np.float32)
    mask = np.zeros(shape, np.uint32)
    # Official NIRCam masks flag the border REFERENCE_PIXEL only: refpix leaves out
    # DO_NOT_USE pixels, so flagging them here would switch the correction off.
    mask[ref] = np.uint32(DQ.REFERENCE_PIXEL)
    light = ~ref

    def pick(frac):
        sel = (rng.random(shape, dtype=np.float32) < frac * bad_fraction) & light & (mask == 0)
        return sel

    hot = pick(1e-3)
    dark[hot] = rng.uniform(1.0, 50.0, hot.sum())
    mask[hot] |= np.uint32(DQ.HOT | DQ.DO_NOT_USE)
    warm = pick(5e-3)
    dark[warm] = rng.uniform(0.1, 1.0, warm.sum())
    mask[warm] |= np.uint32(DQ.WARM)
    dead = pick(5e-4)
    mask[dead] |= np.uint32(DQ.DEAD | DQ.DO_NOT_USE)
    lowqe = pick(1e-3)
    mask[lowqe] |= np.uint32(DQ.LOW_QE)
    dark[ref] = 0.0

    lin = np.zeros((4, ny, nx), np.float32)
    lin[1] = 1.0
    lin[2] = 1.0e-6 * (1 + 0.1 * rng.standard_normal(shape, dtype=np.float32))
    lin[3] = 3.0e-12 * (1 + 0.1 * rng.standard_normal(shape, dtype=np.float32))
    fullwell_dn = 40000.0 * (1 + 0.03 * rng.standard_normal(shape, dtype=np.float32))
    saturation = (superbias + fullwell_dn).astype(np.float32)
    capped = pick(1e-4)  # full well beyond the A/D range: saturate at 65535
    saturation[capped] = 65535.0

    pix = 1 + 0.02 * rng.standard_normal(shape, dtype=np.float32)
    lowqe_val = rng.uniform(0.3, 0.6, lowqe.sum())
    qe = {}
    for f in sorted(set(filters)):
        frng = _rng(seed, "qe", name, f)
        q = (pix * (1 + large_scale_field(shape, substrt, frng, amplitude=0.03))).astype(np.float32)
        q[lowqe] *= lowqe_val
        q[dead] = 0.0
        q[ref] = 0.0
        qe[f] = q
    area = _area_map(name, shape, substrt)
    return SimDetector(name=name, substrt=tuple(substrt), gain=gain, readnoise=readnoise,
                       superbias=superbias, dark_e_s=dark, linearity=lin,
                       saturation=saturation, qe=qe, area=area, mask=mask)


def dark_planes(det: SimDetector, *, tframe, nframes, groupgap, ngroups, per_frame):
    """Noiseless dark reference planes (linear DN), float32.

    ``per_frame``: one plane per frame read up to the last group (NFRAMES=1);
    else one plane per group, the average of its frames.
    """
    rate_dn = det.dark_e_s / det.gain
    if per_frame:
        n = ngroups * (nframes + groupgap) - groupgap
        t = (np.arange(n) + 1.0) * tframe
    else:
        t = (np.arange(ngroups) * (nframes + groupgap) + (nframes + 1) / 2.0) * tframe
    return t.astype(np.float32)[:, None, None] * rate_dn.astype(np.float32)[None]


def make_references(det: SimDetector, *, filters, subarray, readout, photmjsr,
                    pixar_sr, pixar_a2, per_frame_dark=True):
    """The reference objects describing ``det``.

    Parameters
    ----------
    filters : iterable of str
    subarray : str
        SUBARRAY written in the files' headers.
    readout : dict
        ``tframe, nframes, groupgap, ngroups`` of the exposures (for the dark).
    photmjsr : dict filter -> float
        MJy/sr per DN/s.
    pixar_sr, pixar_a2 : float
        Nominal pixel area.

    Returns
    -------
    dict reftype -> object, or for ``flat``/``area`` a dict filter -> object.
    """
    from webbcal.instrument import DETECTORS, distortion_model
    from webbcal.references import (AreaRef, DarkRef, DistortionRef, FlatRef, GainRef,
                                    LinearityRef, MaskRef, PhotomRef, ReadnoiseRef,
                                    SaturationRef, SuperbiasRef, reference_header)
    from webbcal.references._models import PHOTOM_DTYPE

    info = DETECTORS[det.name]
    ny, nx = det.shape
    win = dict(SUBARRAY=subarray, SUBSTRT1=det.substrt[0], SUBSTRT2=det.substrt[1],
               SUBSIZE1=nx, SUBSIZE2=ny)

    def hdr(**kw):
        return reference_header(detector=det.name, EXP_TYPE="NRC_IMAGE",
                                P_EXP_TY="NRC_IMAGE|NRC_TSIMAGE|NRC_FLAT|NRC_LED|",
                                **win, **kw)

    # The simulated superbias and saturation have no flagged pixels: their optional
    # ERR/DQ extensions (all zero) are left out, 48 MB less per full-frame detector to
    # write and read (stdatamodels fills in zero defaults). The arrays are shared with
    # ``det`` (not copied): neither side modifies them.
    refs = {
        "mask": MaskRef(dq=det.mask, header=hdr()),
        "gain": GainRef(data=det.gain, header=hdr()),
        "readnoise": ReadnoiseRef(data=det.readnoise, header=hdr()),
        "superbias": SuperbiasRef(data=det.superbias, header=hdr()),
        # linearity keeps its DQ: stdatamodels' default for a missing one is 3-D
        "linearity": LinearityRef(coeffs=det.linearity, dq=np.zeros(det.shape, np.uint32),
                                  header=hdr()),
        "saturation": SaturationRef(data=det.saturation, header=hdr()),
    }
    planes = dark_planes(det, per_frame=per_frame_dark, **readout)
    refs["dark"] = DarkRef(data=planes, err=None,
                           dq=(det.mask & np.uint32(DQ.HOT | DQ.WARM)).astype(np.uint32),
                           header=hdr(NINTS=1))
    refs["distortion"] = DistortionRef(
        model=distortion_model(det.name),
        meta={"instrument": {"name": "NIRCAM", "detector": det.name,
                             "channel": info.channel, "module": info.module},
              "exposure": {"type": "NRC_IMAGE", "p_exptype": "NRC_IMAGE|NRC_TSIMAGE|"}})
    table = np.zeros(len(photmjsr), PHOTOM_DTYPE)
    for i, (f, v) in enumerate(sorted(photmjsr.items())):
        table[i] = (f, "CLEAR", v, 0.01 * v)
    refs["photom"] = PhotomRef(table=table, pixar_sr=pixar_sr, pixar_a2=pixar_a2, header=hdr())
    flats, areas = {}, {}
    for f in sorted(set(filters)):
        flat = det.qe[f] * det.area
        fdq = np.zeros(det.shape, np.uint32)
        bad = flat <= 0
        flat = np.where(bad, np.float32(np.nan), flat).astype(np.float32)
        fdq[bad] = np.uint32(DQ.NO_FLAT_FIELD | DQ.DO_NOT_USE)
        flats[f] = FlatRef(data=flat, err=np.full(det.shape, 0.002, np.float32), dq=fdq,
                           header=hdr(FILTER=f, PUPIL="CLEAR"))
        areas[f] = AreaRef(data=det.area, pixar_sr=pixar_sr, pixar_a2=pixar_a2,
                           header=hdr(FILTER=f, PUPIL="CLEAR"))
    refs["flat"] = flats
    refs["area"] = areas
    return refs
