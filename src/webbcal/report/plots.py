"""Quick-look PNGs: images with astronomical stretches, DQ maps, ramps, report figures.

matplotlib (Agg backend) and astropy.visualization are imported inside the functions,
so importing this module is cheap. Every function takes arrays, writes one PNG at
``path`` (atomically) and returns the path.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["image_png", "dq_png", "mosaic_png", "ramps_png", "scatter_png",
           "histogram_png", "stretch_norm"]

#: DQ bits shown in the DQ map, in drawing order (later wins), with colours.
DQ_LAYERS = (("DO_NOT_USE", 1, "#7f7f7f"), ("REFERENCE_PIXEL", 2**31, "#bcbd22"),
             ("HOT/WARM", 2**11 | 2**12, "#ff7f0e"), ("DEAD/LOW_QE", 2**10 | 2**13, "#1f77b4"),
             ("JUMP_DET", 4, "#d62728"), ("SATURATED", 2, "#9467bd"))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike, dpi: int = 90) -> Path:
    from webbcal.datamodels import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight")
    _pyplot().close(fig)
    return path


def stretch_norm(data: np.ndarray, stretch: str = "zscale"):
    """A matplotlib normalisation: ``zscale`` (linear between IRAF zscale limits) or
    ``asinh`` (asinh stretch between the 0.5 and 99.8 percentiles)."""
    from astropy.visualization import (AsinhStretch, ImageNormalize, LinearStretch,
                                       PercentileInterval, ZScaleInterval)

    finite = np.asarray(data)[np.isfinite(data)]
    if finite.size == 0:
        finite = np.zeros(1)
    if stretch == "zscale":
        return ImageNormalize(finite, interval=ZScaleInterval(), stretch=LinearStretch())
    if stretch == "asinh":
        return ImageNormalize(finite, interval=PercentileInterval(99.7),
                              stretch=AsinhStretch(0.02))
    raise ValueError(f"stretch: expected 'zscale' or 'asinh', found {stretch!r}")


def image_png(data: np.ndarray, path: str | os.PathLike, *, title: str = "",
              stretch: str = "zscale", unit: str = "", max_pixels: int = 1024) -> Path:
    """An image (ny, nx) with a colour bar; block-averaged to at most ``max_pixels``."""
    plt = _pyplot()
    img = _shrink(np.asarray(data, np.float32), max_pixels)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    im = ax.imshow(img, origin="lower", cmap="gray", norm=stretch_norm(img, stretch),
                   interpolation="nearest")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=unit)
    ax.set_title(f"{title} ({stretch})" if title else stretch, fontsize=9)
    ax.set_xlabel("x [pix]")
    ax.set_ylabel("y [pix]")
    return _save(fig, path)


def dq_png(dq: np.ndarray, path: str | os.PathLike, *, title: str = "") -> Path:
    """The DQ map: one colour per flag family (JUMP_DET, SATURATED, bad pixels …)."""
    plt = _pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    dq = np.asarray(dq).astype(np.uint32, copy=False)
    layer = np.zeros(dq.shape, np.int16)
    for k, (_, bits, _) in enumerate(DQ_LAYERS, 1):
        layer[(dq & np.uint32(bits)) != 0] = k
    cmap = ListedColormap(["black"] + [c for _, _, c in DQ_LAYERS])
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    ax.imshow(layer, origin="lower", cmap=cmap, vmin=-0.5, vmax=len(DQ_LAYERS) + 0.5,
              interpolation="nearest")
    counts = [int(np.count_nonzero(layer == k)) for k in range(1, len(DQ_LAYERS) + 1)]
    handles = [Patch(color=c, label=f"{n} ({m})") for (n, _, c), m in zip(DQ_LAYERS, counts)
               if m]
    if handles:
        ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.8)
    ax.set_title(title or "DQ map", fontsize=9)
    return _save(fig, path)


def mosaic_png(data: np.ndarray, path: str | os.PathLike, *, x: np.ndarray | None = None,
               y: np.ndarray | None = None, title: str = "", stretch: str = "asinh",
               max_pixels: int = 1400) -> Path:
    """The mosaic with the catalog's source positions (0-based pixels) circled."""
    plt = _pyplot()
    data = np.asarray(data, np.float32)
    factor = max(1, int(np.ceil(max(data.shape) / max_pixels)))
    img = _shrink(data, max_pixels)
    fig, ax = plt.subplots(figsize=(7, 6.2))
    ax.imshow(img, origin="lower", cmap="gray", norm=stretch_norm(img, stretch),
              interpolation="nearest")
    if x is not None and len(x):
        ax.scatter((np.asarray(x) + 0.5) / factor - 0.5, (np.asarray(y) + 0.5) / factor - 0.5,
                   s=28, facecolors="none", edgecolors="#00e5ff", linewidths=0.7,
                   label=f"catalog ({len(x)})")
        ax.legend(fontsize=8, loc="upper right")
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def ramps_png(examples: Sequence[Mapping], path: str | os.PathLike, *, title: str = "") -> Path:
    """Example ramps with their fits.

    Each example is a mapping with ``label``, ``t`` (ngroups,) s, ``counts``
    (ngroups,) DN, ``slope`` DN/s, ``intercept`` DN, and optional ``flagged``
    (ngroups,) bool (groups drawn hollow: saturated or at a jump) and ``segments``
    (list of ``(t_start, t_end, intercept)``: the fit drawn per ramp segment).
    """
    plt = _pyplot()
    n = max(1, len(examples))
    fig, axes = plt.subplots(1, n, figsize=(4.0 * n, 3.4), squeeze=False)
    for ax, ex in zip(axes[0], examples):
        t, c = np.asarray(ex["t"], float), np.asarray(ex["counts"], float)
        bad = np.asarray(ex.get("flagged", np.zeros(t.size, bool)), bool)
        ax.plot(t[~bad], c[~bad], "o", color="k", ms=4, label="groups")
        if bad.any():
            ax.plot(t[bad], c[bad], "o", mfc="none", color="r", ms=5, label="flagged")
        segments = ex.get("segments") or [(0.0, t.max() * 1.05 if t.size else 1.0,
                                          ex["intercept"])]
        for k, (t0, t1, b) in enumerate(segments):
            tt = np.linspace(t0, t1, 20)
            ax.plot(tt, b + ex["slope"] * tt, "-", color="#1f77b4",
                    label=f"fit {ex['slope']:.3g} DN/s" if k == 0 else None)
        ax.set_title(ex["label"], fontsize=9)
        ax.set_xlabel("time [s]")
        ax.set_ylabel("DN")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def scatter_png(x: np.ndarray, y: np.ndarray, path: str | os.PathLike, *, xlabel: str,
                ylabel: str, title: str = "", hline: float | None = None,
                equal: bool = False, logy: bool = False) -> Path:
    """A scatter plot (residuals, flux ratios) with an optional reference line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 4.0))
    ax.plot(x, y, ".", ms=4, color="k", alpha=0.7)
    if hline is not None:
        ax.axhline(hline, color="r", lw=0.8)
    if equal:
        ax.set_aspect("equal", adjustable="datalim")
        ax.axvline(0, color="r", lw=0.8)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def histogram_png(samples: Mapping[str, np.ndarray], path: str | os.PathLike, *,
                  bins: np.ndarray, xlabel: str, title: str = "", logy: bool = True) -> Path:
    """Step histograms of several samples on common bins (number counts)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 4.0))
    for label, values in samples.items():
        v = np.asarray(values, float)
        ax.hist(v[np.isfinite(v)], bins=bins, histtype="step", label=f"{label} ({v.size})")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("N per bin")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def _shrink(img: np.ndarray, max_pixels: int) -> np.ndarray:
    """Block-average ``img`` by an integer factor so that it fits in ``max_pixels``."""
    factor = int(np.ceil(max(img.shape) / max_pixels))
    if factor <= 1:
        return img
    ny, nx = (img.shape[0] // factor) * factor, (img.shape[1] // factor) * factor
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks
        return np.nanmean(img[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor),
                          axis=(1, 3))
