"""A complete offline world: uncal files, a CRDS cache, associations and truth.

Presets (see :data:`PRESETS`):

* ``tiny`` — NRCA1/F200W + NRCALONG/F444W, 2 dithers, a 256×256 window at the
  full-frame corner (SUBSTRT1 = SUBSTRT2 = 1, so it holds the reference-pixel corner),
  SUBARRAY='SUB256' (not in the official subarray table: a test-sized stand-in), one
  output (NOUTPUTS=1, TFRAME from ``frame_time(256, 256, 1)``), MEDIUM8 × 6 groups.
* ``ceers-mini`` — full frame, NRCA1/F200W + NRCALONG/F444W, 3 dithers, MEDIUM8, 9 groups.
* ``ceers-pointing`` — full frame, 3 dithers × 10 detectors (SW in F200W, LW in F444W).

The headers carry the commanded pointing; the rendering uses the true one, offset by
a per-dither pointing error (recorded in ``truth/pointing_errors.ecsv``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Preset", "PRESETS", "World", "simulate_world"]

PROGRAM = "01345"
DATE_OBS, TIME_OBS, MJD_OBS = "2022-12-21", "12:00:00.000", 59934.5
RA0, DEC0, PA_V3 = 214.86, 52.88, 130.0


@dataclass(frozen=True)
class Preset:
    """A world's recipe.

    ``detectors``: (detector, filter) pairs; ``window``: None for full frame, else
    (size, SUBARRAY name); ``dither_arcsec``: dither offsets (RA-ish, Dec-ish) in arcsec;
    ``density``: galaxies per arcmin²; ``pointing_error_arcsec``: rms per axis and dither;
    ``deposit_cosmic_rays``: False makes the CR-free twin of the same world (the hits
    are drawn and listed in the truth as usual, but deposit no charge; every other
    random number is unchanged).
    """

    name: str
    detectors: tuple
    dither_arcsec: tuple
    readpatt: str = "MEDIUM8"
    ngroups: int = 9
    window: tuple | None = None
    density: float = 250.0
    star_density: float = 25.0
    pointing_error_arcsec: float = 0.15
    cr_rate: float = 5.0
    snowball_rate: float = 7e-4
    deposit_cosmic_rays: bool = True


_SW = ("NRCA1", "NRCA2", "NRCA3", "NRCA4", "NRCB1", "NRCB2", "NRCB3", "NRCB4")
PRESETS = {
    "tiny": Preset("tiny", (("NRCA1", "F200W"), ("NRCALONG", "F444W")),
                   ((0.0, 0.0), (0.55, 0.35)), ngroups=6, window=(256, "SUB256"),
                   density=2500.0, star_density=800.0, snowball_rate=0.01),
    "ceers-mini": Preset("ceers-mini", (("NRCA1", "F200W"), ("NRCALONG", "F444W")),
                         ((0.0, 0.0), (2.9, 1.6), (5.8, 3.3))),
    "ceers-pointing": Preset("ceers-pointing",
                             tuple((d, "F200W") for d in _SW)
                             + (("NRCALONG", "F444W"), ("NRCBLONG", "F444W")),
                             ((0.0, 0.0), (2.9, 1.6), (5.8, 3.3))),
}


@dataclass(frozen=True)
class World:
    """What :func:`simulate_world` wrote (paths) and the world's key facts.

    ``uncal_files``: one per exposure; ``crds_path``/``context``: set CRDS_PATH and
    CRDS_CONTEXT to these; ``associations``: one level-3 ``*_asn.json`` per filter;
    ``truth_dir``: truth files; ``reference_catalog``: Gaia-like ECSV.
    """

    preset: str
    out_dir: Path
    uncal_files: list
    crds_path: Path
    context: str
    associations: list
    truth_dir: Path
    reference_catalog: Path
    seed: int = 0
    exposures: list = field(default_factory=list)


def _pointing(ra, dec, pa, v2, v3, yang=0.0, parity=-1):
    from webbcal.datamodels import Pointing

    return Pointing(ra_ref=float(ra), dec_ref=float(dec), roll_ref=float(pa), v2_ref=float(v2),
                    v3_ref=float(v3), v3i_yang=float(yang), vparity=int(parity))


def _detector_pointing(det, boresight):
    """Header pointing of one detector's aperture from a boresight attitude."""
    from webbcal.instrument import siaf_aperture, v2v3_to_sky

    ap = siaf_aperture(det)
    ra, dec = v2v3_to_sky(ap.v2_ref, ap.v3_ref, boresight)
    ra2, dec2 = v2v3_to_sky(ap.v2_ref, ap.v3_ref + 1.0, boresight)
    dra = (float(ra2) - float(ra)) * math.cos(math.radians(float(dec)))
    roll = math.degrees(math.atan2(dra, float(dec2) - float(dec))) % 360.0
    return _pointing(ra, dec, roll, ap.v2_ref, ap.v3_ref, ap.v3_idl_yang, ap.vidl_parity)


def _progress(progress, msg, done, total):
    if progress is not None:
        progress(msg, done, total)


def simulate_world(preset, out_dir, *, seed=0, progress=None, pointing_error_arcsec=None,
                   cr_rate=None, deposit_cosmic_rays=None) -> World:
    """Write a complete simulated world into ``out_dir``.

    Parameters
    ----------
    preset : str or Preset
        'tiny', 'ceers-mini', 'ceers-pointing' or a :class:`Preset`.
    out_dir : path
    seed : int
        Everything (scene, detectors, noise, pointing errors) follows from it.
    progress : callable(message: str, done: int, total: int) or None
    pointing_error_arcsec, cr_rate : float or None
        Override the preset's pointing-error rms (per axis, per dither) / CR rate
        (hits cm⁻² s⁻¹).
    deposit_cosmic_rays : bool or None
        False: the CR-free twin of the world the same arguments make otherwise
        (identical noise, snowballs, scene; ``truth/<exposure>_cosmic_rays.fits`` lists
        the hits that were left out, with ``DEPOSIT = F`` in its header).

    Returns
    -------
    World
    """
    import dataclasses

    from webbcal.simulate import _world_io as io

    p = PRESETS[preset] if isinstance(preset, str) else preset
    if pointing_error_arcsec is not None:
        p = dataclasses.replace(p, pointing_error_arcsec=float(pointing_error_arcsec))
    if cr_rate is not None:
        p = dataclasses.replace(p, cr_rate=float(cr_rate))
    if deposit_cosmic_rays is not None:
        p = dataclasses.replace(p, deposit_cosmic_rays=bool(deposit_cosmic_rays))
    out = Path(out_dir)
    truth = out / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 7])
    t0 = time.perf_counter()

    from webbcal.instrument import siaf_aperture

    dets = [d for d, _ in p.detectors]
    v2b = float(np.mean([siaf_aperture(d).v2_ref for d in dets]))
    v3b = float(np.mean([siaf_aperture(d).v3_ref for d in dets]))
    errs = rng.normal(0.0, p.pointing_error_arcsec, (len(p.dither_arcsec), 2))
    cosd = math.cos(math.radians(DEC0))
    nominal, true = [], []
    for (dx, dy), (ex, ey) in zip(p.dither_arcsec, errs):
        ra, dec = RA0 + dx / 3600 / cosd, DEC0 + dy / 3600
        nominal.append(_pointing(ra, dec, PA_V3, v2b, v3b))
        true.append(_pointing(ra + ex / 3600 / cosd, dec + ey / 3600, PA_V3, v2b, v3b))

    filters = sorted({f for _, f in p.detectors})
    scene = io.scene_for(p, filters, nominal[0], rng)
    refs, sims = io.build_references(p, filters, seed, out, progress)
    # Written here, not on the writer thread: the reference objects share their arrays
    # with ``sims`` and FITS writing byteswaps arrays in place while it writes them, so
    # the exposures must not read them meanwhile.
    cache = io.write_cache(out / "crds_cache", refs)
    # exposure files are written on one thread while the next exposure is computed (the
    # ramp kernel and numpy release the GIL; so does most of the writing); nothing
    # else reads the arrays being written
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="webbcal-sim-writer") as writer:
        exposures = []
        total = len(p.dither_arcsec) * len(p.detectors)
        n = 0
        for di in range(len(p.dither_arcsec)):
            for det, filt in p.detectors:
                n += 1
                _progress(progress, f"exposure {det} {filt} dither {di + 1}", n, total)
                exp = io.simulate_exposure(p, det, filt, di, sims[det], scene,
                                           header_pointing=_detector_pointing(det, nominal[di]),
                                           true_pointing=_detector_pointing(det, true[di]),
                                           out=out, seed=seed, writer=writer)
                exposures.append(exp)
                # at most one exposure waits for the writer (memory: ~80 MB each)
                if len(exposures) >= 2:
                    exposures[-2].pop("written").result()
        asns = io.write_associations(out, p, exposures, filters)
        refcat = io.write_truth_tables(out, truth, p, scene, exposures, errs, rng, sims)
        for e in exposures:
            if "written" in e:
                e.pop("written").result()
    _progress(progress, f"done in {time.perf_counter() - t0:.1f} s", total, total)
    return World(preset=p.name, out_dir=out, uncal_files=[e["uncal"] for e in exposures],
                 crds_path=cache.root, context=cache.context, associations=asns,
                 truth_dir=truth, reference_catalog=refcat, seed=seed,
                 exposures=[{k: v for k, v in e.items() if k not in ("ramp_truth",)}
                            for e in exposures])
