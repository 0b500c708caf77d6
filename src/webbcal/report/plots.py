"""Quick-look PNGs: images with astronomical stretches, DQ maps, ramps, report figures.

Images (rate, cal, DQ map, mosaic with its catalog) are block-averaged to at most
1024 pixels a side, stretched with numpy on a subsample of the pixels, and written as
8-bit palette PNGs with Pillow: no colour bar or axes (the limits and the legend go
into the caption the function returns). Plots with axes (ramps, residuals, flux
ratios, number counts) are drawn with Pillow too (:mod:`webbcal.report._canvas`):
matplotlib would cost ~1 s to import and ~0.2 s per figure, most of the report's
budget. Every function writes one PNG at ``path`` (atomically) and returns a
:class:`Picture`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Picture", "image_png", "dq_png", "mosaic_png", "ramps_png", "scatter_png",
           "histogram_png", "stretch_limits", "stretch_to_uint8", "DQ_LAYERS"]

#: DQ bits shown in the DQ map, in drawing order (later wins), with colours.
DQ_LAYERS = (("DO_NOT_USE", 1, "#7f7f7f"), ("REFERENCE_PIXEL", 2**31, "#bcbd22"),
             ("HOT/WARM", 2**11 | 2**12, "#ff7f0e"), ("DEAD/LOW_QE", 2**10 | 2**13, "#1f77b4"),
             ("JUMP_DET", 4, "#d62728"), ("SATURATED", 2, "#9467bd"))

#: Pixels sampled to set a stretch's limits.
STRETCH_SAMPLES = 200_000


@dataclass(frozen=True)
class Picture:
    """A PNG written by this module and the caption that explains it (plain text)."""

    path: Path
    caption: str


def _save_indexed(index: np.ndarray, palette: np.ndarray, path: str | os.PathLike,
                  caption: str, draw=None) -> Picture:
    """Write ``index`` (ny, nx) uint8, row 0 = bottom, as a palette PNG."""
    from PIL import Image

    from webbcal.datamodels import atomic_write

    img = Image.fromarray(np.ascontiguousarray(index[::-1]), mode="P")
    img.putpalette(np.asarray(palette, np.uint8).ravel().tolist())
    if draw is not None:
        draw(img)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        img.save(tmp, format="PNG", compress_level=1)
    return Picture(path, caption)


def _sample(data: np.ndarray) -> np.ndarray:
    flat = np.asarray(data).ravel()
    step = max(1, flat.size // STRETCH_SAMPLES)
    sample = flat[::step]
    return sample[np.isfinite(sample)]


def _zscale(values: np.ndarray, contrast: float = 0.25, nsigma: float = 2.5,
            max_iter: int = 5) -> tuple[float, float]:
    """IRAF zscale limits of a 1-D sample: a line fitted to the sorted values (with
    sigma rejection) gives the median and slope; limits = median ± slope/contrast."""
    v = np.sort(values[:: max(1, values.size // 1000)])
    n = v.size
    if n < 2:
        return (float(v[0]), float(v[0])) if n else (0.0, 1.0)
    x = np.arange(n, dtype=float) - n // 2
    keep = np.ones(n, bool)
    slope = 0.0
    for _ in range(max_iter):
        if keep.sum() < max(5, n // 2):
            break
        slope, icpt = np.polyfit(x[keep], v[keep], 1)
        resid = v - (icpt + slope * x)
        sigma = np.std(resid[keep])
        new = np.abs(resid) <= nsigma * sigma
        if np.array_equal(new, keep):
            break
        keep = new
    med = float(np.median(v))
    lo = max(float(v[0]), med - slope / contrast * (n // 2))
    hi = min(float(v[-1]), med + slope / contrast * (n - n // 2 - 1))
    return (lo, hi) if hi > lo else (float(v[0]), float(v[-1]))


def stretch_limits(data: np.ndarray, stretch: str = "zscale") -> tuple[float, float]:
    """Display limits of ``data`` from a regular subsample of its finite pixels:
    ``zscale`` (IRAF zscale) or ``asinh`` (0.15 and 99.85 percentiles)."""
    sample = _sample(data)
    if sample.size == 0:
        return 0.0, 1.0
    if stretch == "zscale":
        return _zscale(sample)
    if stretch == "asinh":
        lo, hi = np.percentile(sample, [0.15, 99.85])
        return float(lo), float(hi) if hi > lo else float(lo) + 1.0
    raise ValueError(f"stretch: expected 'zscale' or 'asinh', found {stretch!r}")


def stretch_to_uint8(data: np.ndarray, lo: float, hi: float, stretch: str = "zscale",
                     *, levels: int = 256) -> np.ndarray:
    """Map ``data`` to 0..levels-1 (uint8): linear (zscale) or asinh (a = 0.02) between
    ``lo`` and ``hi``; NaN → 0."""
    x = (np.asarray(data, np.float32) - np.float32(lo)) / np.float32(max(hi - lo, 1e-30))
    np.clip(x, 0.0, 1.0, out=x)
    if stretch == "asinh":
        a = np.float32(0.02)
        x = np.arcsinh(x / a) / np.arcsinh(np.float32(1.0) / a)
    x = np.nan_to_num(x * np.float32(levels - 1) + np.float32(0.5), nan=0.0)
    return x.astype(np.uint8)


def _grey_palette(levels: int = 256) -> np.ndarray:
    g = np.linspace(0, 255, levels).round().astype(np.uint8)
    pal = np.zeros((256, 3), np.uint8)
    pal[:levels] = g[:, None]
    return pal


def image_png(data: np.ndarray, path: str | os.PathLike, *, title: str = "",
              stretch: str = "zscale", unit: str = "", max_pixels: int = 1024) -> Picture:
    """An image (ny, nx) block-averaged to at most ``max_pixels`` a side, grey scale
    with ``stretch`` (``zscale`` or ``asinh``); the caption gives the limits."""
    img = _shrink(np.asarray(data, np.float32), max_pixels)
    lo, hi = stretch_limits(img, stretch)
    caption = (f"{title} ({stretch}: {lo:.4g} to {hi:.4g} {unit}; "
               f"{data.shape[1]}×{data.shape[0]} px shown at {img.shape[1]}×{img.shape[0]})")
    return _save_indexed(stretch_to_uint8(img, lo, hi, stretch), _grey_palette(), path,
                         caption.strip())


def dq_layers(dq: np.ndarray) -> np.ndarray:
    """Index (ny, nx) uint8 of the last :data:`DQ_LAYERS` entry set in each pixel (0 none)."""
    dq = np.asarray(dq).astype(np.uint32, copy=False)
    layer = np.zeros(dq.shape, np.uint8)
    for k, (_, bits, _) in enumerate(DQ_LAYERS, 1):
        layer[(dq & np.uint32(bits)) != 0] = k
    return layer


def dq_layer_counts(dq: np.ndarray) -> np.ndarray:
    """Pixels per :data:`DQ_LAYERS` entry as :func:`dq_layers` assigns them (len(DQ_LAYERS),),
    counted from the distinct non-zero values only."""
    dq = np.asarray(dq).astype(np.uint32, copy=False)
    values, counts = np.unique(dq[dq != 0], return_counts=True)
    return np.bincount(dq_layers(values), weights=counts,
                       minlength=len(DQ_LAYERS) + 1)[1:].astype(np.int64)


def dq_png(dq: np.ndarray, path: str | os.PathLike, *, title: str = "",
           max_pixels: int = 1024) -> Picture:
    """The DQ map: one colour per flag family (JUMP_DET, SATURATED, bad pixels …).

    Shrunk by OR-ing the flags of each block (the layer drawn is the last one set
    anywhere in the block, so isolated jumps stay visible); the caption lists colours
    and full-resolution pixel counts."""
    dq = np.asarray(dq).astype(np.uint32, copy=False)
    counts = dq_layer_counts(dq)
    f = int(np.ceil(max(dq.shape) / max_pixels))
    layer = dq_layers(_block_or(dq, f) if f > 1 else dq)
    pal = np.zeros((256, 3), np.uint8)
    for k, (_, _, colour) in enumerate(DQ_LAYERS, 1):
        pal[k] = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    legend = ", ".join(f"{n} {c} ({m})" for (n, _, c), m in zip(DQ_LAYERS, counts) if m)
    return _save_indexed(layer, pal, path, f"{title or 'DQ map'}: {legend or 'no flags'}")


def mosaic_png(data: np.ndarray, path: str | os.PathLike, *, x: np.ndarray | None = None,
               y: np.ndarray | None = None, title: str = "", stretch: str = "asinh",
               max_pixels: int = 1024, radius: float = 4.0) -> Picture:
    """The mosaic (asinh stretch, grey) with the catalog's source positions (0-based
    pixels of ``data``) circled in cyan."""
    data = np.asarray(data, np.float32)
    factor = max(1, int(np.ceil(max(data.shape) / max_pixels)))
    img = _shrink(data, max_pixels)
    lo, hi = stretch_limits(img, stretch)
    index = stretch_to_uint8(img, lo, hi, stretch, levels=255)
    pal = _grey_palette(255)
    pal[255] = (0, 229, 255)
    n = 0 if x is None else len(x)

    def draw(im):
        if not n:
            return
        from PIL import ImageDraw

        d = ImageDraw.Draw(im)
        xs = (np.asarray(x, float) + 0.5) / factor - 0.5
        ys = im.height - 1 - ((np.asarray(y, float) + 0.5) / factor - 0.5)
        for u, v in zip(xs, ys):
            if np.isfinite(u) and np.isfinite(v):
                d.ellipse((u - radius, v - radius, u + radius, v + radius), outline=255)

    caption = (f"{title} ({stretch}: {lo:.4g} to {hi:.4g}; {n} catalog sources circled; "
               f"{data.shape[1]}×{data.shape[0]} px shown at {img.shape[1]}×{img.shape[0]})")
    return _save_indexed(index, pal, path, caption, draw)


def _save_canvas(panels, path: str | os.PathLike, caption: str, **kw) -> Picture:
    from webbcal.datamodels import atomic_write
    from webbcal.report._canvas import render

    img = render(panels, **kw)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        img.save(tmp, format="PNG", compress_level=1)
    return Picture(path, caption)


def ramps_png(examples: Sequence[Mapping], path: str | os.PathLike, *, title: str = "") -> Picture:
    """Example ramps with their fits, one panel each.

    Each example is a mapping with ``label``, ``t`` (ngroups,) s, ``counts``
    (ngroups,) DN, ``slope`` DN/s, ``intercept`` DN, and optional ``flagged``
    (ngroups,) bool (groups drawn hollow red: saturated or at a jump) and ``segments``
    (list of ``(t_start, t_end, intercept)``: the fit drawn per ramp segment).
    """
    from webbcal.report._canvas import Panel

    panels = []
    for ex in examples:
        t, c = np.asarray(ex["t"], float), np.asarray(ex["counts"], float)
        bad = np.asarray(ex.get("flagged", np.zeros(t.size, bool)), bool)
        p = Panel(title=ex["label"], xlabel="time [s]", ylabel="DN")
        segments = ex.get("segments") or [(0.0, t.max() * 1.05 if t.size else 1.0,
                                          ex["intercept"])]
        for k, (t0, t1, b) in enumerate(segments):
            tt = np.array([t0, t1])
            p.line(tt, b + ex["slope"] * tt, colour="b",
                   label=f"fit {ex['slope']:.3g} DN/s" if k == 0 else None)
        p.points(t[~bad], c[~bad], colour="k", size=3, label="groups")
        if bad.any():
            p.points(t[bad], c[bad], colour="r", size=4, label="flagged", hollow=True)
        panels.append(p)
    return _save_canvas(panels or [Panel(title="no example")], path, title,
                        width=380, height=300, suptitle=title)


def scatter_png(x: np.ndarray, y: np.ndarray, path: str | os.PathLike, *, xlabel: str,
                ylabel: str, title: str = "", hline: float | None = None,
                equal: bool = False, logy: bool = False,
                classes: Sequence[tuple[str, np.ndarray, str]] = ()) -> Picture:
    """A scatter plot (residuals, flux ratios) with an optional reference line.

    ``classes``: ``(label, mask (n,) bool, colour)`` drawn in order over the points
    (which are grey when classes are given, black otherwise), with a legend.
    """
    from webbcal.report._canvas import Panel

    x, y = np.asarray(x, float), np.asarray(y, float)
    p = Panel(title=title, xlabel=xlabel, ylabel=ylabel, logy=logy, equal=equal)
    if hline is not None:
        p.hline(hline)
    if equal:
        p.vline(0.0)
    p.points(x, y, colour="grey" if classes else "k", size=2,
             label=f"all ({x.size})" if classes else None)
    for label, mask, colour in classes:
        mask = np.asarray(mask, bool)
        if mask.size == x.size and mask.any():
            p.points(x[mask], y[mask], colour=colour, size=3, label=f"{label} ({mask.sum()})")
    return _save_canvas([p], path, title)


def histogram_png(samples: Mapping[str, np.ndarray], path: str | os.PathLike, *,
                  bins: np.ndarray, xlabel: str, title: str = "", logy: bool = True) -> Picture:
    """Step histograms of several samples on common bins (number counts)."""
    from webbcal.report._canvas import Panel

    p = Panel(title=title, xlabel=xlabel, ylabel="N per bin", logy=logy)
    for (label, values), colour in zip(samples.items(), ("b", "o", "g", "r")):
        v = np.asarray(values, float)
        counts, edges = np.histogram(v[np.isfinite(v)], bins=bins)
        p.steps(edges, np.where(counts > 0, counts, 0.5) if logy else counts, colour=colour,
                label=f"{label} ({v.size})")
    return _save_canvas([p], path, title)


def _shrink(img: np.ndarray, max_pixels: int) -> np.ndarray:
    """Block-average ``img`` (ny, nx) by an integer factor so that it fits in
    ``max_pixels``, ignoring NaN (an all-NaN block stays NaN); float32."""
    img = np.asarray(img, np.float32)
    f = int(np.ceil(max(img.shape) / max_pixels))
    if f <= 1:
        return img
    ny, nx = (img.shape[0] // f) * f, (img.shape[1] // f) * f
    img = img[:ny, :nx]
    good = np.isfinite(img)
    everywhere = bool(good.all())
    clean = img if everywhere else np.where(good, img, np.float32(0))
    total = np.zeros((ny // f, nx // f), np.float32)
    n = None if everywhere else np.zeros((ny // f, nx // f), np.float32)
    for i in range(f):  # f*f strided slices: faster than a reduce over a 4-D reshape
        for j in range(f):
            total += clean[i::f, j::f]
            if n is not None:
                n += good[i::f, j::f]
    if n is None:
        return total / np.float32(f * f)
    with np.errstate(divide="ignore", invalid="ignore"):
        return total / n  # 0/0 = NaN for all-NaN blocks


def _block_or(dq: np.ndarray, f: int) -> np.ndarray:
    """Bitwise OR of the DQ values in f×f blocks (ny//f, nx//f)."""
    ny, nx = (dq.shape[0] // f) * f, (dq.shape[1] // f) * f
    dq = dq[:ny, :nx]
    out = np.zeros((ny // f, nx // f), np.uint32)
    for i in range(f):
        for j in range(f):
            out |= dq[i::f, j::f]
    return out
