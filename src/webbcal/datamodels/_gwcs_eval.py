"""A cal file's gwcs evaluated straight from its ASDF bytes (no asdf, gwcs, modeling).

Stage 3 needs the gwcs of each exposure only to evaluate detector pixel → (RA, Dec)
at a grid of sky nodes (:func:`webbcal.algorithms.image3.pixmap.sky_nodes`). Reading
it with ``asdf.open`` first imports asdf, gwcs and astropy.modeling and loads every
asdf extension: 2.2 s of CPU in the first file of a process, 0.04–0.12 s in the next
ones, against 4–14 ms to evaluate the nodes. Here we must be faster than the
well-kept library, so this module reads the ASDF file itself — the YAML tree with
PyYAML (its C loader when built; tags kept on the nodes) and the binary blocks per
the ASDF block format (:mod:`webbcal.datamodels._asdf_tree`) — and composes a vectorized numpy evaluator of the forward
transform from the first frame to the last (:class:`GwcsEval`).

Supported transform tags (those of NIRCam level-2 and mosaic gwcs; semantics those
of astropy.modeling and asdf-astropy, including their operation order where it
matters for rounding): compose, concatenate, remap_axes, fix_inputs (integer or
named keys), add/subtract/multiply/divide/power, identity, constant, shift, scale,
multiplyscale, polynomial (1-D and 2-D with domain/window),
affine, rotate2d, rotate3d (native2celestial, celestial2native, Euler axes),
rotate_sequence_3d (cartesian and spherical), gnomonic (pix2sky) and gwcs
spherical_cartesian. Anything else — another tag, a quantity parameter, a
compressed block, an array stored elsewhere (``source: "fits:SCI,1"``), a step
without a transform — raises :class:`Unsupported`, and callers fall back to asdf +
gwcs. A file that is not ASDF (no ``#ASDF`` header, broken YAML, truncated block)
raises :class:`~webbcal.datamodels.FormatError` naming the file.

Accuracy (tests/datamodels/test_gwcs_eval.py, 4000 random pixels against gwcs 1.0 /
astropy 8 / asdf-astropy 0.11): bit-identical (difference 0.0) for the real NRCB1,
NRCB5 (with its v2v3corr step: affine, divide, constant, identity, remap_axes with
n_inputs) gwcs, for our image2's cal gwcs and for a test gwcs with every other
supported tag (arrays in blocks and inline) — the same numpy operations in the same
order as astropy.modeling; the mosaic TAN gwcs to 8e-14 deg (astropy projects with
wcslib's C code, we with numpy).

Speed (2026-11-24, shared 2-core machine, load 3.9–4.2): the sky nodes of the three
full-frame ceers-mini cal files (``ExposureLibrary.nodes``, fresh process) take
0.09–0.15 s CPU instead of 1.7–1.9 s with asdf + gwcs (~10–25 ms per file: YAML
parse ~10 ms, blocks, compile, 1–5 ms to evaluate the node grid). In
``benchmarks/compare_official_image3.py --reuse-official`` tweakreg (where the nodes
are first needed) went from 2.6–7.1 s to 1.2–2.7 s wall (load 2–5), the whole run
from 9.6–11.2 s to 6.8–8.8 s CPU; i2d, segm, crf (planes and aligned ASDF bytes) and
catalog are bit-identical before/after. The image3 run then imports neither gwcs
nor astropy.modeling; asdf's base package is still imported (~0.1 s) by
``import astropy.table`` in source_catalog (astropy loads asdf-astropy's I/O plugin).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import reduce
from typing import Callable

import numpy as np

from webbcal.datamodels._asdf_tree import Tagged, read_asdf_tree
from webbcal.datamodels._errors import FormatError

__all__ = ["Unsupported", "GwcsEval", "wcs_from_asdf"]

_TAG = re.compile(r"^(?:tag:stsci\.edu:asdf/(transform|core)/|tag:stsci\.edu:(gwcs)/"
                  r"|asdf://asdf-format\.org/(transform)/tags/)([a-z0-9_]+)-[0-9.]+$")
#: keys of a transform node that do not change its forward evaluation
_COMMON = {"name", "inputs", "outputs", "inverse", "bounding_box", "fixed", "bounds",
           "input_units_equivalencies"}


class Unsupported(Exception):
    """The tree holds something this evaluator does not handle (asdf + gwcs can)."""


def wcs_from_asdf(raw: bytes, path=None, keys=("meta", "wcs")) -> GwcsEval | None:
    """The gwcs at ``keys`` of an ASDF file as a :class:`GwcsEval`; None if absent.

    Raises
    ------
    Unsupported
        A transform or array this module does not evaluate (use asdf + gwcs).
    FormatError
        ``raw`` is not an ASDF file.
    """
    tree, blocks = read_asdf_tree(raw, path)
    node = tree
    for key in keys:
        node = node.value if isinstance(node, Tagged) else node
        node = node.get(key) if isinstance(node, dict) else None
    if node is None:
        return None
    if not isinstance(node, Tagged) or _kind(node.tag) != ("gwcs", "wcs"):
        raise Unsupported(f"meta.wcs is {getattr(node, 'tag', type(node).__name__)}")
    ctx = _Context(blocks, path)
    frames, fns = [], []
    steps = node.value.get("steps")
    if not isinstance(steps, list) or len(steps) < 2:
        raise Unsupported("gwcs without at least two steps")
    for k, step in enumerate(steps):
        if not isinstance(step, Tagged) or _kind(step.tag) != ("gwcs", "step"):
            raise Unsupported(f"gwcs step {k} tagged {getattr(step, 'tag', None)}")
        frame = step.value.get("frame")
        name = frame.value.get("name") if isinstance(frame, Tagged) else frame
        frames.append(str(name))
        if k < len(steps) - 1:
            if step.value.get("transform") is None:
                raise Unsupported(f"gwcs step {k} ({name}) has no transform")
            fns.append(ctx.compile(step.value["transform"]))
    for a, b in zip(fns, fns[1:]):
        if a.n_out != b.n_in:
            raise Unsupported("gwcs steps do not chain")
    if fns[0].n_in != 2 or fns[-1].n_out != 2:
        raise Unsupported("gwcs is not 2 → 2")
    return GwcsEval(tuple(frames), tuple(fns))


@dataclass(frozen=True)
class _Fn:
    """A compiled transform: ``fn(list of n_in arrays) -> list of n_out arrays``."""

    n_in: int
    n_out: int
    fn: Callable


@dataclass(frozen=True)
class GwcsEval:
    """The forward transform of a gwcs read by :func:`wcs_from_asdf`.

    Attributes
    ----------
    available_frames : tuple of str
        Frame names, first (``detector``) to last (``world``).
    steps : tuple
        Compiled transform of each frame to the next.
    """

    available_frames: tuple
    steps: tuple

    def forward_transform(self, x, y):
        """(lon, lat) of the last frame at pixels ``x``, ``y`` (0-based, any shape,
        broadcast together): float64 arrays of the broadcast shape, degrees for a
        celestial frame. Like gwcs ``forward_transform``: no bounding box applied."""
        x, y = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(y, np.float64))
        values = [x.ravel().copy(), y.ravel().copy()]  # 1-D inside (0-d in: 0-d out)
        for step in self.steps:
            values = step.fn(values)
        return tuple(np.reshape(v, x.shape) for v in values)

    __call__ = forward_transform


def _kind(tag: str):
    m = _TAG.match(tag or "")
    if not m:
        return None
    return (m.group(1) or m.group(2) or m.group(3)), m.group(4)


def _deg2rad(v):
    return np.deg2rad(np.float64(v))


class _Context:
    """Compiles transform nodes, resolving arrays against the file's blocks."""

    def __init__(self, blocks, path):
        self.blocks, self.path = blocks, path

    def number(self, node, key, default=None) -> float:
        v = node.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise Unsupported(f"parameter {key} = {type(v).__name__} {v!r}")
        return float(v)

    def array(self, v) -> np.ndarray:
        if isinstance(v, Tagged):
            if _kind(v.tag) != ("core", "ndarray"):
                raise Unsupported(f"array tagged {v.tag}")
            v = self.ndarray(v.value)
        try:
            a = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise Unsupported(f"array {v!r}") from None
        return a

    def ndarray(self, node: dict) -> np.ndarray:
        if set(node) - {"source", "data", "datatype", "byteorder", "shape", "offset"}:
            raise Unsupported(f"ndarray keys {sorted(node)}")
        order = {"little": "<", "big": ">"}.get(node.get("byteorder", "little"))
        dtype = node.get("datatype")
        if order is None or not isinstance(dtype, str) or not re.fullmatch(
                r"(float|int|uint)(8|16|32|64)", dtype):
            raise Unsupported(f"ndarray datatype {dtype!r} byteorder {node.get('byteorder')}")
        dtype = np.dtype(order + {"f": "f", "i": "i", "u": "u"}[dtype[0]]
                         + str(int(re.sub(r"\D", "", dtype)) // 8))
        if "data" in node:
            return np.asarray(node["data"], dtype)
        src, shape = node.get("source"), node.get("shape")
        if not isinstance(src, int) or not isinstance(shape, list) \
                or not all(isinstance(n, int) for n in shape):
            raise Unsupported(f"ndarray source {src!r} shape {shape!r}")
        if not 0 <= src < len(self.blocks):
            raise FormatError(self.path, f"ASDF ndarray source {src}", "an existing block",
                              f"{len(self.blocks)} blocks")
        comp, data = self.blocks[src]
        if comp.strip(b"\0 "):
            raise Unsupported(f"compressed block ({comp!r})")
        count, offset = math.prod(shape), int(node.get("offset", 0))
        if offset + count * dtype.itemsize > len(data):
            raise FormatError(self.path, f"ASDF block {src}", f"{count} {dtype} values",
                              f"{len(data)} bytes")
        return np.frombuffer(data, dtype, count, offset).reshape(shape)

    def compile(self, node) -> _Fn:
        if not isinstance(node, Tagged) or not isinstance(node.value, dict):
            raise Unsupported(f"transform {node!r:.80}")
        kind = _kind(node.tag)
        if kind is None or kind[0] not in ("transform", "gwcs"):
            raise Unsupported(f"tag {node.tag}")
        build = _BUILDERS.get(kind[1])
        if build is None:
            raise Unsupported(f"transform tag {node.tag}")
        params, known = node.value, _KEYS.get(kind[1], set())
        odd = set(params) - _COMMON - known
        if odd:
            raise Unsupported(f"{kind[1]} with keys {sorted(odd)}")
        fn = build(self, params)
        names = params.get("inputs")
        if isinstance(names, list) and len(names) != fn.n_in:
            raise Unsupported(f"{kind[1]}: {len(names)} named inputs, {fn.n_in} expected")
        return fn


# ---------------------------------------------------------------- the transforms
def _compound(ctx, p, op):
    parts = p.get("forward")
    if not isinstance(parts, list) or len(parts) != 2:
        raise Unsupported(f"{op} without two forward models")
    a = ctx.compile(parts[0])
    if op == "fix_inputs":
        return _fix_inputs(a, parts[0], parts[1])
    b = ctx.compile(parts[1])
    if op == "compose":
        if a.n_out != b.n_in:
            raise Unsupported(f"compose of {a.n_out} outputs into {b.n_in} inputs")
        return _Fn(a.n_in, b.n_out, lambda v: b.fn(a.fn(v)))
    if op == "concatenate":
        return _Fn(a.n_in + b.n_in, a.n_out + b.n_out,
                   lambda v: a.fn(v[:a.n_in]) + b.fn(v[a.n_in:]))
    if (a.n_in, a.n_out) != (b.n_in, b.n_out):
        raise Unsupported(f"{op} of models with different inputs/outputs")
    f = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply,
         "divide": np.true_divide, "power": np.power}[op]
    return _Fn(a.n_in, a.n_out, lambda v: [f(x, y) for x, y in zip(a.fn(v), b.fn(v))])


def _fix_inputs(a, left, fixed):
    if not isinstance(fixed, dict) or set(fixed) != {"keys", "values"}:
        raise Unsupported("fix_inputs without keys/values")
    names = left.value.get("inputs") if isinstance(left, Tagged) else None
    where = {}
    for key, value in zip(fixed["keys"], fixed["values"]):
        if isinstance(key, str) and isinstance(names, list) and key in names:
            key = names.index(key)
        if not isinstance(key, int) or not 0 <= key < a.n_in \
                or not isinstance(value, (int, float)):
            raise Unsupported(f"fix_inputs key {key!r} value {value!r}")
        where[key] = float(value)
    free = [k for k in range(a.n_in) if k not in where]

    def fn(v):
        full, it = [], iter(v)
        for k in range(a.n_in):
            full.append(np.full(v[0].shape, where[k]) if k in where else next(it))
        return a.fn(full)
    return _Fn(len(free), a.n_out, fn)


def _polynomial(ctx, p):
    c = ctx.array(p.get("coefficients"))
    dom, win = p.get("domain"), p.get("window")

    def mapped(x, k):
        if dom is None:
            return x
        d = np.array(dom[k] if c.ndim == 2 else dom, np.float64)
        w = np.array(win[k] if c.ndim == 2 else win, np.float64) if win is not None \
            else np.array([-1.0, 1.0])
        scl = (w[1] - w[0]) / (d[1] - d[0])
        off = (w[0] * d[1] - w[1] * d[0]) / (d[1] - d[0])
        return off + scl * x

    if c.ndim == 1:
        def poly1(v):
            x, r = mapped(v[0], 0), c[-1] * np.ones_like(v[0])
            for ck in c[-2::-1]:
                r = ck + r * x
            return [r]
        return _Fn(1, 1, poly1)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise Unsupported(f"polynomial coefficients of shape {c.shape}")
    deg = c.shape[0] - 1
    # astropy Polynomial2D.multivariate_horner on the inverse-lexical coefficients
    terms = [(j, i) for i in range(deg + 1) for j in range(deg + 1) if i + j <= deg][::-1]
    coeffs = [c[i, j] for i, j in terms]
    ystep = [terms[n + 1][1] != terms[n][1] for n in range(len(terms) - 1)]

    def poly2(v):
        x, y = mapped(v[0], 0), mapped(v[1], 1)
        r0, r1, r2 = coeffs[0], 0.0, 0.0
        for n, jump in enumerate(ystep):
            if jump:
                r2, r1 = y * (r0 + r1 + r2), 0.0
            else:
                r1 = x * (r0 + r1)
            r0 = coeffs[n + 1]
        out = r0 + r1 + r2
        return [out if np.shape(out) == x.shape else np.full(x.shape, out)]
    return _Fn(2, 1, poly2)


def _matrix(m, cols):
    """``m`` applied to the stacked columns (astropy's ``np.dot`` on raveled inputs)."""
    shape = cols[0].shape
    out = np.dot(m, np.array([c.ravel() for c in cols]))
    return [row.reshape(shape) for row in out]


def _affine(ctx, p):
    m, t = ctx.array(p.get("matrix")), ctx.array(p.get("translation", [0.0, 0.0]))
    if m.shape != (2, 2) or t.size != 2:
        raise Unsupported(f"affine matrix {m.shape} translation {t.shape}")
    aug = np.eye(3)
    aug[:2, :2], aug[:2, 2] = m, t.ravel()
    return _Fn(2, 2, lambda v: _matrix(aug, [v[0], v[1], np.ones(v[0].shape)])[:2])


def _rotation(angle: float, axis: str) -> np.ndarray:
    """astropy ``rotation_matrix(angle [rad], axis)``."""
    i = "xyz".index(axis)
    a1, a2 = (i + 1) % 3, (i + 2) % 3
    s, c = np.sin(angle), np.cos(angle)
    r = np.zeros((3, 3))
    r[i, i], r[a1, a1], r[a1, a2], r[a2, a1], r[a2, a2] = 1.0, c, s, -s, c
    return r


def _sequence(angles_rad, axes: str) -> np.ndarray:
    if len(angles_rad) != len(axes) or set(axes) - set("xyz"):
        raise Unsupported(f"rotation angles {len(angles_rad)} axes {axes!r}")
    return reduce(np.matmul, [_rotation(a, ax) for a, ax in zip(angles_rad, axes)][::-1])


def _s2c(lon, lat):
    lon, lat = np.deg2rad(lon), np.deg2rad(lat)
    cs = np.cos(lat)
    return [cs * np.cos(lon), cs * np.sin(lon), np.sin(lat)]


def _c2s(x, y, z, wrap360: bool):
    h = np.hypot(x, y)
    lat = np.rad2deg(np.arctan2(z, h))
    lon = np.rad2deg(np.arctan2(y, x))
    lon[h == 0] *= 0
    if wrap360:
        np.mod(lon, 360.0, where=np.isfinite(lon), out=lon)
    return [lon, lat]


def _euler(m, alpha, delta, wrap_negative: bool):
    """astropy ``_EulerRotation.evaluate`` (+ ``_SkyRotation``'s wrap of alpha < 0)."""
    xyz = _s2c(alpha, delta)
    a, b = _c2s(*_matrix(m, xyz), wrap360=False)
    if wrap_negative:
        a[a < 0] += 360
    return [a, b]


def _rotate3d(ctx, p):
    phi, theta, psi = (_deg2rad(ctx.number(p, k)) for k in ("phi", "theta", "psi"))
    d = p.get("direction", "native2celestial")
    if d == "native2celestial":
        m = _sequence([psi - np.pi / 2, -(np.pi / 2 - theta), -(np.pi / 2 + phi)], "zxz")
    elif d == "celestial2native":
        m = _sequence([np.pi / 2 + phi, np.pi / 2 - theta, -(psi - np.pi / 2)], "zxz")
    elif isinstance(d, str) and len(d) == 3:
        return _Fn(2, 2, lambda v, m=_sequence([phi, theta, psi], d):
                   _euler(m, v[0], v[1], False))
    else:
        raise Unsupported(f"rotate3d direction {d!r}")
    return _Fn(2, 2, lambda v: _euler(m, v[0], v[1], True))


def _rotate_sequence(ctx, p):
    angles = p.get("angles")
    if not isinstance(angles, list) or not all(isinstance(a, (int, float)) for a in angles):
        raise Unsupported(f"rotate_sequence_3d angles {angles!r}")
    m = _sequence([_deg2rad(a) for a in angles], str(p.get("axes_order")))
    kind = p.get("rotation_type", "cartesian")
    if kind == "cartesian":
        return _Fn(3, 3, lambda v: _matrix(m, v))
    if kind == "spherical":
        return _Fn(2, 2, lambda v: _c2s(*_matrix(m, _s2c(v[0], v[1])), wrap360=False))
    raise Unsupported(f"rotate_sequence_3d rotation_type {kind!r}")


def _spherical_cartesian(ctx, p):
    kind, wrap = p.get("transform_type"), p.get("wrap_lon_at", 360)
    if wrap not in (180, 360):
        raise Unsupported(f"spherical_cartesian wrap_lon_at {wrap!r}")
    if kind == "spherical_to_cartesian":
        return _Fn(2, 3, lambda v: _s2c(v[0], v[1]))
    if kind == "cartesian_to_spherical":
        return _Fn(3, 2, lambda v: _c2s(v[0], v[1], v[2], wrap360=wrap != 180))
    raise Unsupported(f"spherical_cartesian transform_type {kind!r}")


def _gnomonic(ctx, p):
    """wcslib ``tanx2s``: (x, y) [deg] on the projection plane → native (phi, theta)."""
    if p.get("direction", "pix2sky") != "pix2sky":
        raise Unsupported(f"gnomonic direction {p.get('direction')!r}")
    r0 = 180.0 / math.pi

    def tan(v):
        x, y = v
        r = np.sqrt(x * x + y * y)
        with np.errstate(invalid="ignore", divide="ignore"):
            phi = np.where(r == 0, 0.0, _atan2d(x, -y))
            theta = _atan2d(np.full(r.shape, r0), r)
        return [phi, theta]
    return _Fn(2, 2, tan)


def _atan2d(y, x):
    """wcslib ``atan2d`` (exact at the axes)."""
    out = np.arctan2(y, x) * (180.0 / math.pi)
    out = np.where(x == 0, np.where(y > 0, 90.0, np.where(y < 0, -90.0, out)), out)
    return np.where(y == 0, np.where(x >= 0, 0.0, np.where(x < 0, 180.0, out)), out)


def _remap(ctx, p):
    mapping = p.get("mapping")
    if not isinstance(mapping, list) or not mapping \
            or not all(isinstance(k, int) and k >= 0 for k in mapping):
        raise Unsupported(f"remap_axes mapping {mapping!r}")
    n_in = p.get("n_inputs", max(mapping) + 1)
    if not isinstance(n_in, int) or n_in <= max(mapping):
        raise Unsupported(f"remap_axes n_inputs {n_in!r}")
    return _Fn(n_in, len(mapping), lambda v: [v[k] for k in mapping])


def _constant(ctx, p):
    value, dims = ctx.number(p, "value"), p.get("dimensions", 1)
    if dims not in (1, 2):
        raise Unsupported(f"constant dimensions {dims!r}")
    return _Fn(dims, 1, lambda v: [np.full(v[0].shape, value)])


def _identity(ctx, p):
    n = p.get("n_dims", 1)
    if not isinstance(n, int) or n < 1:
        raise Unsupported(f"identity n_dims {n!r}")
    return _Fn(n, n, lambda v: list(v))


def _rotate2d(ctx, p):
    a = float(_deg2rad(ctx.number(p, "angle")))
    m = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return _Fn(2, 2, lambda v: _matrix(m, v))


def _shift(ctx, p):
    off = ctx.number(p, "offset")
    return _Fn(1, 1, lambda v: [v[0] + off])


def _scale(key):
    def build(ctx, p):
        f = ctx.number(p, key)
        return _Fn(1, 1, lambda v: [f * v[0]])
    return build


_BUILDERS = {
    **{op: (lambda ctx, p, op=op: _compound(ctx, p, op))
       for op in ("compose", "concatenate", "add", "subtract", "multiply", "divide",
                  "power", "fix_inputs")},
    "shift": _shift, "scale": _scale("factor"), "multiplyscale": _scale("factor"),
    "polynomial": _polynomial, "affine": _affine, "rotate2d": _rotate2d,
    "rotate3d": _rotate3d, "rotate_sequence_3d": _rotate_sequence,
    "spherical_cartesian": _spherical_cartesian, "gnomonic": _gnomonic,
    "remap_axes": _remap, "constant": _constant, "identity": _identity,
}
_KEYS = {
    **{op: {"forward"} for op in ("compose", "concatenate", "add", "subtract",
                                  "multiply", "divide", "power", "fix_inputs")},
    "shift": {"offset"}, "scale": {"factor"}, "multiplyscale": {"factor"},
    "polynomial": {"coefficients", "domain", "window"},
    "affine": {"matrix", "translation"}, "rotate2d": {"angle"},
    "rotate3d": {"phi", "theta", "psi", "direction"},
    "rotate_sequence_3d": {"angles", "axes_order", "rotation_type"},
    "spherical_cartesian": {"transform_type", "wrap_lon_at"}, "gnomonic": {"direction"},
    "remap_axes": {"mapping", "n_inputs"}, "constant": {"value", "dimensions"},
    "identity": {"n_dims"},
}
