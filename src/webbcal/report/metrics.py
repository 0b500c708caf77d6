"""Figures of merit of products against truth: pure functions, arrays in, dataclasses out.

Used by ``webbcal validate`` (the metrics table) and by the HTML report. Nothing here
opens a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["ZStats", "z_statistics", "JumpCompleteness", "jump_completeness",
           "detectable_cr_mask", "ExamplePixels", "pick_example_pixels", "group_times",
           "CatalogMatch", "match_catalogs", "parse_step_timings", "abmag_from_ujy"]

JUMP_DET = 4
SATURATED = 2
DO_NOT_USE = 1


@dataclass(frozen=True)
class ZStats:
    """``z = (measured - truth) / err`` over the compared pixels.

    ``n`` pixels compared; ``median``, ``std`` (plain) and ``robust_std`` (1.4826 ×
    MAD) of z; ``frac_outside_5`` the fraction with ``|z| > 5``.
    """

    n: int
    median: float
    std: float
    robust_std: float
    frac_outside_5: float


def z_statistics(data: np.ndarray, err: np.ndarray, dq: np.ndarray,
                 truth: np.ndarray) -> ZStats:
    """z statistics of pixels with DQ == 0, finite data and ERR > 0.

    Parameters
    ----------
    data, err : ndarray (ny, nx) float
        Measured values and 1-sigma errors (same units as ``truth``).
    dq : ndarray (ny, nx) uint32
    truth : ndarray (ny, nx) float
    """
    data, err, truth = np.asarray(data), np.asarray(err), np.asarray(truth)
    if not data.shape == err.shape == truth.shape == np.shape(dq):
        raise ValueError(f"shapes differ: data {data.shape}, err {err.shape}, dq "
                         f"{np.shape(dq)}, truth {truth.shape}")
    # z of every pixel in float32 (7 significant digits are plenty for a median of
    # ~1); a NaN/inf in data, truth or err makes z non-finite, err <= 0 is excluded
    with np.errstate(divide="ignore", invalid="ignore"):
        zall = np.subtract(data, truth, dtype=np.float32)
        zall /= np.asarray(err, np.float32)
    good = (np.asarray(dq) == 0) & np.isfinite(zall) & (err > 0) & np.isfinite(err)
    z = zall[good]
    if z.size == 0:
        nan = float("nan")
        return ZStats(0, nan, nan, nan, nan)
    std = float(np.std(z))  # float32 with numpy's pairwise sums: ~1e-6 relative
    frac = float(np.count_nonzero(np.abs(z) > 5) / z.size)
    med = float(np.median(z, overwrite_input=True))  # z is ours: reordering is fine
    dev = np.abs(np.subtract(z, np.float32(med), out=z), out=z)
    return ZStats(int(z.size), med, std, float(1.4826 * np.median(dev, overwrite_input=True)),
                  frac)


@dataclass(frozen=True)
class JumpCompleteness:
    """Injected cosmic rays vs JUMP_DET in a rate product's DQ.

    ``n_injected`` detectable hits (see :func:`detectable_cr_mask`); ``n_found`` of
    them whose pixel carries JUMP_DET; ``completeness`` = found / injected;
    ``n_bright``/``completeness_bright`` the same for hits of at least
    ``bright_electrons``; ``flagged_per_hit`` all JUMP_DET pixels per injected hit
    (>1 means neighbours flagged too or false detections).
    """

    n_injected: int
    n_found: int
    completeness: float
    n_bright: int
    completeness_bright: float
    flagged_per_hit: float


def detectable_cr_mask(frame: np.ndarray, x: np.ndarray, y: np.ndarray, *, nframes: int,
                       groupgap: int, ngroups: int, shape: tuple[int, int],
                       border: int = 0) -> np.ndarray:
    """Which hits a ramp can show as a jump: after the first group, before the last
    group's end, not on the ``border`` reference-pixel rows/columns, inside ``shape``.

    ``frame`` is the 0-based frame index of each hit within its integration.
    """
    frame = np.asarray(frame)
    x, y = np.asarray(x, int), np.asarray(y, int)
    period = nframes + groupgap
    last = ngroups * period - groupgap
    ny, nx = shape
    return ((frame >= nframes) & (frame < last) & (x >= border) & (y >= border)
            & (x < nx - border) & (y < ny - border))


def jump_completeness(dq: np.ndarray, x: np.ndarray, y: np.ndarray,
                      electrons: np.ndarray, *, bright_electrons: float = 1000.0,
                      exclude: int = DO_NOT_USE | SATURATED) -> JumpCompleteness:
    """Fraction of injected hits at ``(x, y)`` whose pixel has JUMP_DET in ``dq``.

    Hits on pixels carrying any ``exclude`` bit (unusable or saturated: no jump
    search there) are left out. ``x, y`` should already be the detectable hits.
    """
    dq = np.asarray(dq).astype(np.uint32, copy=False)
    x, y = np.asarray(x, int), np.asarray(y, int)
    electrons = np.asarray(electrons, float)
    pix = dq[y, x]
    use = (pix & np.uint32(exclude)) == 0
    hit = (pix & np.uint32(JUMP_DET)) != 0
    # one pixel hit twice counts once
    keys = y * dq.shape[1] + x
    _, first = np.unique(keys, return_index=True)
    once = np.zeros(keys.size, bool)
    once[first] = True
    use &= once
    n = int(use.sum())
    found = int((use & hit).sum())
    bright = use & (electrons >= bright_electrons)
    nb = int(bright.sum())
    n_flag = int(np.count_nonzero(dq & np.uint32(JUMP_DET)))
    return JumpCompleteness(n, found, found / n if n else float("nan"), nb,
                            float((bright & hit).sum() / nb) if nb else float("nan"),
                            n_flag / n if n else float("nan"))


@dataclass(frozen=True)
class ExamplePixels:
    """``(y, x)`` of the example ramps, or None where the image has no such pixel."""

    bright: tuple[int, int] | None
    cosmic_ray: tuple[int, int] | None
    saturated: tuple[int, int] | None

    def items(self) -> list[tuple[str, tuple[int, int]]]:
        names = (("bright pixel", self.bright), ("cosmic-ray hit", self.cosmic_ray),
                 ("saturating star", self.saturated))
        return [(n, p) for n, p in names if p is not None]


def pick_example_pixels(rate: np.ndarray, dq: np.ndarray, *, truth: np.ndarray | None = None,
                        cr_xy: tuple[np.ndarray, np.ndarray] | None = None,
                        cr_electrons: np.ndarray | None = None,
                        which: tuple[str, ...] = ("bright", "cosmic_ray", "saturated")
                        ) -> ExamplePixels:
    """Choose a bright unflagged pixel, a cosmic-ray hit and a saturated star pixel.

    bright: the highest (true, else measured) rate among pixels with DQ == 0;
    cosmic_ray: the strongest injected hit (``cr_xy``/``cr_electrons``) whose pixel
    has JUMP_DET and is not saturated, else the JUMP_DET pixel of highest rate;
    saturated: the SATURATED pixel of highest true rate (else highest measured rate).
    Only the picks named in ``which`` are searched (the others are None).
    """
    dq = np.asarray(dq).astype(np.uint32, copy=False)
    level = None

    def best(mask):
        nonlocal level
        if not mask.any():
            return None
        if level is None:
            level = np.asarray(truth if truth is not None else rate, np.float32)
            level = np.where(np.isnan(level), np.float32(-np.inf), level)
        flat = np.where(mask, level, -np.inf)
        y, x = np.unravel_index(int(np.argmax(flat)), flat.shape)
        return int(y), int(x)

    bright = best(dq == 0) if "bright" in which else None
    sat = best((dq & np.uint32(SATURATED)) != 0) if "saturated" in which else None
    cr = None
    if "cosmic_ray" in which and cr_xy is not None and len(cr_xy[0]):
        x, y = np.asarray(cr_xy[0], int), np.asarray(cr_xy[1], int)
        pix = dq[y, x]
        ok = ((pix & np.uint32(JUMP_DET)) != 0) & ((pix & np.uint32(SATURATED)) == 0)
        if ok.any():
            e = np.asarray(cr_electrons if cr_electrons is not None else np.ones(x.size), float)
            k = int(np.argmax(np.where(ok, e, -np.inf)))
            cr = (int(y[k]), int(x[k]))
    if "cosmic_ray" in which and cr is None:
        cr = best(((dq & np.uint32(JUMP_DET)) != 0) & ((dq & np.uint32(SATURATED)) == 0))
    return ExamplePixels(bright, cr, sat)


def group_times(*, ngroups: int, nframes: int, groupgap: int, tframe: float) -> np.ndarray:
    """Mid-time of each group's frames from the start of the integration (s), (ngroups,)."""
    g = np.arange(ngroups)
    return (g * (nframes + groupgap) + (nframes + 1) / 2.0) * tframe


@dataclass(frozen=True)
class CatalogMatch:
    """Nearest-neighbour match of measured sources to true ones.

    ``index_measured``, ``index_truth`` (m,) int: matched pairs; ``dra_mas``,
    ``ddec_mas`` (m,) float: measured - truth offsets in milliarcseconds (RA scaled
    by cos Dec); ``separation_mas`` (m,).
    """

    index_measured: np.ndarray
    index_truth: np.ndarray
    dra_mas: np.ndarray
    ddec_mas: np.ndarray
    separation_mas: np.ndarray

    @property
    def n(self) -> int:
        return int(self.index_measured.size)


def match_catalogs(ra: np.ndarray, dec: np.ndarray, ra_true: np.ndarray, dec_true: np.ndarray,
                   *, radius_arcsec: float = 0.2) -> CatalogMatch:
    """Match each measured source to its nearest true source within ``radius_arcsec``.

    Flat-sky approximation about the mean position (fine over a NIRCam field). A
    true source claimed by several measured ones keeps only the closest.
    """
    from scipy.spatial import cKDTree

    ra, dec = np.asarray(ra, float), np.asarray(dec, float)
    ra_true, dec_true = np.asarray(ra_true, float), np.asarray(dec_true, float)
    empty = np.zeros(0)
    if ra.size == 0 or ra_true.size == 0:
        return CatalogMatch(empty.astype(int), empty.astype(int), empty, empty, empty)
    dec0 = np.deg2rad(np.mean(dec_true))
    ra0 = np.mean(ra_true)
    to_xy = lambda r, d: np.column_stack(  # noqa: E731
        [(((r - ra0 + 180) % 360) - 180) * np.cos(dec0) * 3.6e6, (d - np.mean(dec_true)) * 3.6e6])
    a, b = to_xy(ra, dec), to_xy(ra_true, dec_true)
    dist, idx = cKDTree(b).query(a, distance_upper_bound=radius_arcsec * 1e3)
    ok = np.isfinite(dist)
    im, it, dist = np.nonzero(ok)[0], idx[ok], dist[ok]
    order = np.argsort(dist)
    _, keep = np.unique(it[order], return_index=True)
    sel = np.sort(order[keep])
    im, it = im[sel], it[sel]
    d = a[im] - b[it]
    return CatalogMatch(im, it, d[:, 0], d[:, 1], np.hypot(d[:, 0], d[:, 1]))


def abmag_from_ujy(flux_ujy: np.ndarray) -> np.ndarray:
    """AB magnitude of a flux density in µJy (NaN for flux <= 0)."""
    f = np.asarray(flux_ujy, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(f > 0, 23.9 - 2.5 * np.log10(np.where(f > 0, f, 1.0)), np.nan)


_ENTRY = re.compile(r"webbcal (\w+) [\w.+-]+: ")
_PAIR = re.compile(r"(\w+)=([0-9.]+)s")


def parse_step_timings(history: list[str]) -> dict[str, dict[str, float]]:
    """Per-step seconds from the HISTORY cards webbcal pipelines write.

    A pipeline records ``webbcal <PipelineClass> <version>: step=0.123s, …`` (split
    over several 72-character cards when long). Returns ``{PipelineClass: {step: s}}``.
    """
    text = "".join(str(h) for h in history)
    out: dict[str, dict[str, float]] = {}
    starts = list(_ENTRY.finditer(text))
    for k, m in enumerate(starts):
        end = starts[k + 1].start() if k + 1 < len(starts) else len(text)
        if m.group(1).endswith("Pipeline"):  # steps write "webbcal <step> COMPLETE: …"
            out[m.group(1)] = {s: float(v) for s, v in _PAIR.findall(text[m.end():end])}
    return out
