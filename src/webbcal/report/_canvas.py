"""A small plotting canvas on Pillow: axes with nice ticks, points, lines, steps, legend.

The report's plots (example ramps, astrometric residuals, flux ratios, number counts)
are simple; drawing them with Pillow takes ~10 ms each, where a matplotlib figure takes
~0.2 s plus ~1 s to import matplotlib — most of the report's time budget. Coordinates
are data units; ``log`` axes take positive values only (others are dropped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Panel", "nice_ticks", "log_ticks", "render"]

COLOURS = {"k": (0, 0, 0), "grey": (170, 170, 170), "r": (214, 39, 40),
           "b": (31, 119, 180), "o": (255, 127, 14), "g": (44, 160, 44)}


def _rgb(c) -> tuple[int, int, int]:
    if isinstance(c, str) and c.startswith("#"):
        return tuple(int(c[i:i + 2], 16) for i in (1, 3, 5))
    return COLOURS.get(c, (0, 0, 0)) if isinstance(c, str) else tuple(c)


def nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """About ``n`` round tick values (1, 2, 2.5, 5 × 10^k steps) inside [lo, hi]."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return np.array([lo]) if np.isfinite(lo) else np.zeros(0)
    raw = (hi - lo) / max(n, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(start, hi + step * 1e-6, step)
    return np.round(np.round(ticks / step) * step, 12)


def log_ticks(lo: float, hi: float) -> np.ndarray:
    """Ticks of a log axis over [lo, hi] > 0: decades, plus 2 and 5 when few decades."""
    if not (lo > 0 and hi > lo):
        return np.zeros(0)
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    mults = (1,) if k1 - k0 > 3 else (1, 2, 5)
    t = np.array([m * 10.0 ** k for k in range(k0, k1 + 1) for m in mults])
    return t[(t >= lo * (1 - 1e-9)) & (t <= hi * (1 + 1e-9))]


def tick_labels(ticks: np.ndarray) -> list[str]:
    """Short labels that tell all ticks apart: fixed-point (fewest decimals) between
    1e-3 and 1e5, else ``%g``."""
    ticks = np.asarray(ticks, float)
    big = np.abs(ticks[ticks != 0])
    fixed = big.size == 0 or (big.max() < 1e5 and big.min() >= 1e-3)
    labels: list[str] = []
    for digits in range(0, 8):
        fmt = f"{{:.{digits}f}}" if fixed else f"{{:.{digits + 1}g}}"
        labels = [fmt.format(v) for v in ticks]
        if len(set(labels)) == len(labels):
            break
    return labels


@dataclass
class Panel:
    """One set of axes and what to draw in it.

    Items are added with :meth:`points`, :meth:`line`, :meth:`steps`, :meth:`hline`,
    :meth:`vline`; ``logy`` makes the y axis logarithmic; ``equal`` gives both axes the
    same data scale.
    """

    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    logy: bool = False
    equal: bool = False
    items: list = field(default_factory=list)

    def points(self, x, y, colour="k", size=2, label=None, hollow=False):
        self.items.append(("points", np.asarray(x, float), np.asarray(y, float), colour, size,
                           label, hollow))

    def line(self, x, y, colour="b", width=2, label=None):
        self.items.append(("line", np.asarray(x, float), np.asarray(y, float), colour, width,
                           label, False))

    def steps(self, edges, counts, colour="k", label=None):
        """A step histogram: ``counts`` (n,) over bin ``edges`` (n+1,)."""
        e, c = np.asarray(edges, float), np.asarray(counts, float)
        x = np.repeat(e, 2)[1:-1]
        y = np.repeat(c, 2)
        self.items.append(("line", x, y, colour, 2, label, False))

    def hline(self, y, colour="r"):
        self.items.append(("hline", None, np.asarray([y], float), colour, 1, None, False))

    def vline(self, x, colour="r"):
        self.items.append(("vline", np.asarray([x], float), None, colour, 1, None, False))

    def _limits(self):
        xs, ys = [], []
        for kind, x, y, *_ in self.items:
            if x is not None and kind != "vline":
                xs.append(x)
            if y is not None and kind != "hline":
                ys.append(y)
        x = np.concatenate(xs) if xs else np.zeros(0)
        y = np.concatenate(ys) if ys else np.zeros(0)
        x = x[np.isfinite(x)]
        y = y[np.isfinite(y) & ((y > 0) if self.logy else True)]
        return _span(x, False), _span(y, self.logy)


def _span(v: np.ndarray, log: bool) -> tuple[float, float]:
    if v.size == 0:
        return (0.1, 10.0) if log else (0.0, 1.0)
    lo, hi = float(v.min()), float(v.max())
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    pad = (hi - lo) * 0.05 or (abs(lo) * 0.1 or 1.0)
    lo, hi = lo - pad, hi + pad
    return (10 ** lo, 10 ** hi) if log else (lo, hi)


def render(panels: list[Panel], *, width: int = 420, height: int = 340,
           suptitle: str = "", font_size: int = 12):
    """Draw ``panels`` side by side; returns a Pillow RGB image."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=font_size)
    top = font_size + 8 if suptitle else 0
    img = Image.new("RGB", (width * len(panels), height + top), "white")
    d = ImageDraw.Draw(img)
    if suptitle:
        d.text((img.width // 2, 3), suptitle, fill=(0, 0, 0), font=font, anchor="ma")
    for k, p in enumerate(panels):
        _draw_panel(img, d, p, k * width, top, width, height, font)
    return img


def _draw_panel(img, d, p: Panel, x0: int, y0: int, w: int, h: int, font) -> None:
    fs = font.size
    entries = [(it[5], _rgb(it[3]), it[0]) for it in p.items if it[5]]
    rows: list[list] = [[]]  # legend rows above the axes, filled left to right
    room, used = w - 4 * fs - 20, 0
    for e in entries:
        need = font.getbbox(e[0])[2] + 26
        if rows[-1] and used + need > room:
            rows.append([])
            used = 0
        rows[-1].append(e)
        used += need
    left, right, bottom = x0 + 4 * fs + 10, x0 + w - 10, y0 + h - 2 * fs - 12
    upper = y0 + fs + 10 + (len(rows) * (fs + 4) if entries else 0)
    (xlo, xhi), (ylo, yhi) = p._limits()
    if p.equal:  # same data scale on both axes: widen the narrower range
        sx, sy = (xhi - xlo) / (right - left), (yhi - ylo) / (bottom - upper)
        s = max(sx, sy)
        cx, cy = (xlo + xhi) / 2, (ylo + yhi) / 2
        xlo, xhi = cx - s * (right - left) / 2, cx + s * (right - left) / 2
        ylo, yhi = cy - s * (bottom - upper) / 2, cy + s * (bottom - upper) / 2
    fy = (lambda v: np.log10(v)) if p.logy else (lambda v: v)
    ly0, ly1 = fy(ylo), fy(yhi)

    def px(x):
        return left + (np.asarray(x, float) - xlo) / (xhi - xlo) * (right - left)

    def py(y):
        y = np.asarray(y, float)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = fy(np.where(y > 0, y, np.nan)) if p.logy else y
        return bottom - (v - ly0) / (ly1 - ly0) * (bottom - upper)

    d.text(((left + right) // 2, y0 + 2), p.title, fill=(0, 0, 0), font=font, anchor="ma")
    xt = nice_ticks(xlo, xhi)
    for t, lab in zip(xt, tick_labels(xt)):
        u = float(px(t))
        d.line([(u, bottom), (u, bottom + 4)], fill=(0, 0, 0))
        d.text((u, bottom + 6), lab, fill=(0, 0, 0), font=font, anchor="ma")
    yt = log_ticks(ylo, yhi) if p.logy else nice_ticks(ylo, yhi)
    for t, lab in zip(yt, tick_labels(yt)):
        v = float(py(t))
        d.line([(left - 4, v), (left, v)], fill=(0, 0, 0))
        d.text((left - 6, v), lab, fill=(0, 0, 0), font=font, anchor="rm")
    d.text(((left + right) // 2, y0 + h - 2), p.xlabel, fill=(0, 0, 0), font=font, anchor="md")
    if p.ylabel:  # vertical, centred on the axis
        from PIL import Image, ImageDraw

        box = font.getbbox(p.ylabel)
        label = Image.new("RGB", (box[2] + 2, fs + 4), "white")
        ImageDraw.Draw(label).text((1, 1), p.ylabel, fill=(0, 0, 0), font=font)
        label = label.rotate(90, expand=True)
        img.paste(label, (x0 + 1, int((upper + bottom) / 2 - label.height / 2)))
    for kind, x, y, colour, size, label, hollow in p.items:
        rgb = _rgb(colour)
        if kind == "hline":
            v = float(py(y[0]))
            if upper <= v <= bottom:
                d.line([(left, v), (right, v)], fill=rgb, width=size)
            continue
        if kind == "vline":
            u = float(px(x[0]))
            if left <= u <= right:
                d.line([(u, upper), (u, bottom)], fill=rgb, width=size)
            continue
        u, v = px(x), py(y)
        ok = np.isfinite(u) & np.isfinite(v) & (u >= left) & (u <= right) & (v >= upper) \
            & (v <= bottom)
        if kind == "points":
            r = size
            for a, b in zip(u[ok], v[ok]):
                box = (a - r, b - r, a + r, b + r)
                d.ellipse(box, outline=rgb) if hollow else d.ellipse(box, fill=rgb)
        else:
            pts = [(float(a), float(b)) for a, b in zip(np.clip(u, left, right),
                                                        np.clip(v, upper, bottom))
                   if np.isfinite(a) and np.isfinite(b)]
            if len(pts) > 1:
                d.line(pts, fill=rgb, width=size)
    d.rectangle((left, upper, right, bottom), outline=(0, 0, 0))
    for i, row in enumerate(rows if entries else []):
        yy, x = y0 + fs + 8 + i * (fs + 4), left
        for label, rgb, kind in row:
            if kind == "points":
                d.ellipse((x, yy + fs // 2 - 2, x + 6, yy + fs // 2 + 4), fill=rgb)
            else:
                d.line([(x - 4, yy + fs // 2 + 1), (x + 8, yy + fs // 2 + 1)], fill=rgb, width=2)
            d.text((x + 12, yy), label, fill=rgb, font=font)
            x += font.getbbox(label)[2] + 26
