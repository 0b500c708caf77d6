"""The i2d's ``ASDF`` extension written without asdf, gwcs or astropy.modeling.

A mosaic's gwcs is always the same small TAN pipeline (``grid_gwcs`` in
:mod:`webbcal.steps.image3.resample`): shift by -CRPIX, the CD matrix, gnomonic
projection, rotation to the celestial sphere about CRVAL. Importing asdf and loading
its extensions (asdf-astropy, gwcs, ...) to serialize it costs 1.5–3.5 s of CPU per
process, so :func:`tan_gwcs_asdf` emits the ASDF file from a template instead: the
YAML tree, the two binary blocks (the CD matrix and a zero translation, float64
little-endian with their MD5 checksums) and the block index — byte for byte what
asdf 6.0 with asdf-astropy 0.11 and gwcs 1.0 writes for that gwcs (tags and versions
taken from its output; a test compares the bytes). :func:`asdf_extension_bytes` wraps
any ASDF file into the one-row ``ASDF`` BINTABLE extension (column ``ASDF_METADATA``)
that stdatamodels reads.

:class:`TanGwcs` is what resample attaches as ``MosaicModel.wcs``: it knows its ASDF
bytes, and builds the real gwcs (by reading those bytes back with asdf) only when
some code asks for a gwcs attribute.
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np

__all__ = ["tan_gwcs_asdf", "asdf_extension_bytes", "TanGwcs", "patch_v23tosky",
           "TEMPLATE_VERSIONS"]

#: the packages whose output the template reproduces byte for byte; other versions
#: read it (its tags are those of these schema versions), they may write other bytes
TEMPLATE_VERSIONS = {"asdf": "6.0.0", "asdf-astropy": "0.11.0", "gwcs": "1.0.3",
                     "asdf-standard": "1.5.0", "asdf-transform-schemas": "0.6.0",
                     "asdf-wcs-schemas": "0.5.0", "asdf-coordinates-schemas": "0.5.1"}

_HEAD = """\
#ASDF 1.0.0
#ASDF_STANDARD 1.6.0
%YAML 1.1
%TAG ! tag:stsci.edu:asdf/
--- !core/asdf-1.1.0
asdf_library: !core/software-1.0.0 {author: The ASDF Developers, homepage: 'http://github.com/asdf-format/asdf',
  name: asdf, version: 6.0.0}
history:
  extensions:
  - !core/extension_metadata-1.0.0
    extension_class: asdf.extension._manifest.ManifestExtension
    extension_uri: asdf://asdf-format.org/core/extensions/core-1.6.0
    manifest_software: !core/software-1.0.0 {name: asdf_standard, version: 1.5.0}
    software: !core/software-1.0.0 {name: asdf, version: 6.0.0}
  - !core/extension_metadata-1.0.0
    extension_class: asdf.extension._manifest.ManifestExtension
    extension_uri: asdf://asdf-format.org/astronomy/coordinates/extensions/coordinates-1.0.0
    manifest_software: !core/software-1.0.0 {name: asdf_coordinates_schemas, version: 0.5.1}
    software: !core/software-1.0.0 {name: asdf-astropy, version: 0.11.0}
  - !core/extension_metadata-1.0.0
    extension_class: asdf.extension._manifest.ManifestExtension
    extension_uri: asdf://asdf-format.org/transform/extensions/transform-1.7.0
    manifest_software: !core/software-1.0.0 {name: asdf_transform_schemas, version: 0.6.0}
    software: !core/software-1.0.0 {name: asdf-astropy, version: 0.11.0}
  - !core/extension_metadata-1.0.0
    extension_class: asdf.extension._manifest.ManifestExtension
    extension_uri: asdf://asdf-format.org/astronomy/gwcs/extensions/gwcs-1.4.0
    manifest_software: !core/software-1.0.0 {name: asdf_wcs_schemas, version: 0.5.0}
    software: !core/software-1.0.0 {name: gwcs, version: 1.0.3}
  - !core/extension_metadata-1.0.0
    extension_class: asdf.extension._manifest.ManifestExtension
    extension_uri: asdf://astropy.org/astropy/extensions/units-1.3.0
    software: !core/software-1.0.0 {name: asdf-astropy, version: 0.11.0}
"""

_TREE = """\
meta:
  wcs: !<tag:stsci.edu:gwcs/wcs-1.4.0>
    name: ''
    pixel_shape: [{nx}, {ny}]
    steps:
    - !<tag:stsci.edu:gwcs/step-1.3.0>
      frame: !<tag:stsci.edu:gwcs/frame2d-1.2.0>
        axes_names: [x, y]
        axes_order: [0, 1]
        axis_physical_types: ['custom:x', 'custom:y']
        name: detector
        unit: [!unit/unit-1.0.0 pixel, !unit/unit-1.0.0 pixel]
      transform: !transform/compose-1.4.0
        bounding_box: !transform/property/bounding_box-1.2.0
          ignore: []
          intervals:
            x0: [{bx0}, {bx1}]
            x1: [{by0}, {by1}]
          order: F
        forward:
        - !transform/compose-1.4.0
          forward:
          - !transform/compose-1.4.0
            forward:
            - !transform/concatenate-1.4.0
              forward:
              - !transform/shift-1.4.0
                inputs: [x]
                offset: {sx}
                outputs: [y]
              - !transform/shift-1.4.0
                inputs: [x]
                offset: {sy}
                outputs: [y]
              inputs: [x0, x1]
              outputs: [y0, y1]
            - !transform/affine-1.5.0
              inputs: [x, y]
              matrix: !core/ndarray-1.1.0
                source: 0
                datatype: float64
                byteorder: little
                shape: [2, 2]
              outputs: [x, y]
              translation: !core/ndarray-1.1.0
                source: 1
                datatype: float64
                byteorder: little
                shape: [2]
            inputs: [x0, x1]
            outputs: [x, y]
          - !transform/gnomonic-1.4.0
            direction: pix2sky
            inputs: [x, y]
            outputs: [phi, theta]
          inputs: [x0, x1]
          outputs: [phi, theta]
        - !transform/rotate3d-1.5.0
          direction: native2celestial
          inputs: [phi_N, theta_N]
          outputs: [alpha_C, delta_C]
          phi: {phi}
          psi: {psi}
          theta: {theta}
        inputs: [x0, x1]
        outputs: [alpha_C, delta_C]
    - !<tag:stsci.edu:gwcs/step-1.3.0>
      frame: !<tag:stsci.edu:gwcs/celestial_frame-1.2.0>
        axes_names: [lon, lat]
        axes_order: [0, 1]
        axis_physical_types: [pos.eq.ra, pos.eq.dec]
        name: world
        reference_frame: !<tag:astropy.org:astropy/coordinates/frames/icrs-1.1.0>
          frame_attributes: {{}}
        unit: [!unit/unit-1.0.0 deg, !unit/unit-1.0.0 deg]
      transform: null
...
"""

_BLOCK_MAGIC = b"\xd3BLK"
_FITS_BLOCK = 2880


def yaml_float(value: float) -> str:
    """A float as PyYAML's ``represent_float`` (asdf's dumper) writes it."""
    value = float(value)
    if value != value:
        return ".nan"
    if value == float("inf"):
        return ".inf"
    if value == -float("inf"):
        return "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


def _via_radians(deg: float) -> float:
    """``deg`` as astropy's rotation models return it: they store angle parameters in
    radians and convert back on read, which can change the last bit."""
    return float(np.rad2deg(np.deg2rad(np.float64(deg))))


def _block(data: bytes) -> bytes:
    """One uncompressed ASDF binary block: magic, 48-byte header, data."""
    n = len(data)
    header = struct.pack(">IIQQQ16s", 0, 0, n, n, n, hashlib.md5(data).digest())
    return _BLOCK_MAGIC + struct.pack(">H", len(header)) + header + data


def tan_gwcs_asdf(crval, crpix, cd, shape) -> bytes:
    """The ASDF file (bytes) holding ``{"meta": {"wcs": grid_gwcs(grid)}}``.

    Parameters
    ----------
    crval : (float, float)
        RA, Dec of the tangent point [deg].
    crpix : (float, float)
        0-based pixel (x, y) of the tangent point.
    cd : array_like (2, 2) float64
        CD matrix [deg/pixel] (pixel offsets → ξ, η).
    shape : (int, int)
        (ny, nx) of the mosaic.

    Returns
    -------
    bytes
        A complete ASDF 1.6 file, equal to what asdf writes for the same gwcs.
    """
    ny, nx = (int(v) for v in shape)
    cd = np.ascontiguousarray(np.asarray(cd, np.float64).reshape(2, 2), "<f8")
    tree = _TREE.format(
        nx=nx, ny=ny, bx0=yaml_float(-0.5), bx1=yaml_float(nx - 0.5),
        by0=yaml_float(-0.5), by1=yaml_float(ny - 0.5),
        sx=yaml_float(-float(crpix[0])), sy=yaml_float(-float(crpix[1])),
        phi=yaml_float(_via_radians(crval[0])), theta=yaml_float(_via_radians(crval[1])),
        psi=yaml_float(_via_radians(180.0)))
    text = (_HEAD + tree).encode("utf-8")
    blocks = [_block(cd.tobytes()), _block(np.zeros(2, "<f8").tobytes())]
    offsets, pos = [], len(text)
    for b in blocks:
        offsets.append(pos)
        pos += len(b)
    index = ("#ASDF BLOCK INDEX\n%YAML 1.1\n---\n"
             + "".join(f"- {o}\n" for o in offsets) + "...\n").encode("ascii")
    return text + b"".join(blocks) + index


def _card(key: str, value: str, comment: str = "") -> str:
    """One 80-character FITS card (``value`` already formatted)."""
    card = f"{key:<8}= {value:<20}"  # fixed format: values end at column 30
    if comment:
        card += f" / {comment}"
    return f"{card:<80}"[:80]


def asdf_extension_bytes(asdf_file: bytes) -> bytes:
    """The FITS ``ASDF`` extension (header + padded data) holding ``asdf_file``.

    A one-row BINTABLE with one column ``ASDF_METADATA`` of ``len(asdf_file)`` bytes
    (``TFORM1 = '<n>B'``), as stdatamodels writes it; the header cards are those
    astropy writes for that table.
    """
    n = len(asdf_file)
    cards = [
        _card("XTENSION", "'BINTABLE'", "binary table extension"),
        _card("BITPIX", f"{8:>20}", "array data type"),
        _card("NAXIS", f"{2:>20}", "number of array dimensions"),
        _card("NAXIS1", f"{n:>20}", "length of dimension 1"),
        _card("NAXIS2", f"{1:>20}", "length of dimension 2"),
        _card("PCOUNT", f"{0:>20}", "number of group parameters"),
        _card("GCOUNT", f"{1:>20}", "number of groups"),
        _card("TFIELDS", f"{1:>20}", "number of table fields"),
        _card("TTYPE1", "'ASDF_METADATA'"),
        _card("TFORM1", "'" + f"{n}B".ljust(8) + "'"),
        _card("EXTNAME", "'ASDF    '", "extension name"),
        f"{'END':<80}",
    ]
    header = "".join(cards).encode("ascii")
    header += b" " * ((-len(header)) % _FITS_BLOCK)
    return header + asdf_file + b"\0" * ((-n) % _FITS_BLOCK)


class TanGwcs:
    """A mosaic's TAN gwcs, serialized without asdf and built as a gwcs only on use.

    ``asdf_bytes()`` gives the ASDF file written as the i2d's ``meta.wcs``; any other
    attribute (``forward_transform``, ``invert``, ``bounding_box``, ...) and calls are
    forwarded to the real ``gwcs.WCS``, read back from those bytes on first use (so it
    is exactly what the file holds).

    Parameters
    ----------
    crval, crpix, cd, shape
        As for :func:`tan_gwcs_asdf`.
    """

    def __init__(self, crval, crpix, cd, shape):
        self.crval = (float(crval[0]), float(crval[1]))
        self.crpix = (float(crpix[0]), float(crpix[1]))
        self.cd = np.array(cd, np.float64).reshape(2, 2)
        self.shape = (int(shape[0]), int(shape[1]))
        self._gwcs = None

    def asdf_bytes(self) -> bytes:
        """The ASDF file ``{"meta": {"wcs": <this gwcs>}}``."""
        return tan_gwcs_asdf(self.crval, self.crpix, self.cd, self.shape)

    @property
    def gwcs(self):
        """The ``gwcs.WCS`` (imports asdf and gwcs on first use)."""
        if self._gwcs is None:
            import io

            import asdf

            with asdf.open(io.BytesIO(self.asdf_bytes()), lazy_load=False,
                           memmap=False) as af:
                self._gwcs = af.tree["meta"]["wcs"]
        return self._gwcs

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_gwcs", "crval", "crpix", "cd", "shape"):
            raise AttributeError(name)
        return getattr(self.gwcs, name)

    def __call__(self, *args, **kwargs):
        return self.gwcs(*args, **kwargs)

    def __repr__(self) -> str:
        return (f"TanGwcs(crval={self.crval}, crpix={self.crpix}, shape={self.shape}, "
                f"cd={self.cd.tolist()})")


# ---------------------------------------------------------------- aligned cal gwcs
_V23_HEAD = """\
        name: v2v3vacorr
        unit: [!unit/unit-1.0.0 arcsec, !unit/unit-1.0.0 arcsec]
      transform: !transform/compose-1.4.0
        forward:
        - !transform/compose-1.4.0
          forward:
          - !transform/compose-1.4.0
            forward:
            - !transform/concatenate-1.4.0
              forward:
              - !transform/scale-1.4.0
                factor: 0.0002777777777777778
                inputs: [x]
                outputs: [y]
              - !transform/scale-1.4.0
                factor: 0.0002777777777777778
                inputs: [x]
                outputs: [y]
              inputs: [x0, x1]
              outputs: [y0, y1]
            - !<tag:stsci.edu:gwcs/spherical_cartesian-1.3.0>
              inputs: [lon, lat]
              outputs: [x, y, z]
              transform_type: spherical_to_cartesian
              wrap_lon_at: 180
            inputs: [x0, x1]
            outputs: [x, y, z]
          - !transform/rotate_sequence_3d-1.2.0
            angles: """
_V23_TAIL = """
            axes_order: zyxyz
            inputs: [x, y, z]
            outputs: [x, y, z]
            rotation_type: cartesian
          inputs: [x0, x1]
          outputs: [x, y, z]
        - !<tag:stsci.edu:gwcs/spherical_cartesian-1.3.0>
          inputs: [x, y, z]
          outputs: [lon, lat]
          transform_type: cartesian_to_spherical
          wrap_lon_at: 360
        inputs: [x0, x1]
        name: v23tosky
        outputs: [lon, lat]
    - !<tag:stsci.edu:gwcs/step-1.3.0>
      frame: !<tag:stsci.edu:gwcs/celestial_frame-1.2.0>
"""
_INDEX = b"#ASDF BLOCK INDEX\n"


def flow_floats(values, column: int, indent: int, width: int = 80) -> str:
    """A YAML flow sequence of floats as PyYAML's emitter writes it when ``[`` falls at
    0-based ``column``: a line break (to ``indent`` spaces) before an item once the
    line is longer than ``width``."""
    out, col = "[", column + 1
    for i, v in enumerate(values):
        text = yaml_float(v)
        if i:
            out += ","
            col += 1
        if col > width:
            out += "\n" + " " * indent
            col = indent
        elif i:
            out += " "
            col += 1
        out += text
        col += len(text)
    return out + "]"


def v23tosky_angles(pointing) -> list[float]:
    """The five ``RotationSequence3D`` angles [deg] of the V2/V3 → sky transform of a
    pointing (``webbcal.algorithms.image2.wcs.v2v3_to_world_model``), as the model
    stores them."""
    angles = [pointing.v2_ref / 3600.0, -pointing.v3_ref / 3600.0, pointing.roll_ref,
              pointing.dec_ref, -pointing.ra_ref]
    return [_via_radians(a) for a in angles]


def patch_v23tosky(asdf_file: bytes, pointing) -> bytes | None:
    """``asdf_file`` (a cal product's gwcs as our image2 writes it) with its
    ``v2v3vacorr → world`` rotation rebuilt for ``pointing``, or None.

    Equivalent to reading the gwcs, ``set_transform("v2v3vacorr", "world",
    v2v3_to_world_model(...))`` and writing it with asdf (a test compares them), but
    only the five angles of the one ``rotate_sequence_3d`` are rewritten in the YAML
    text and the block index moved by the change in length. None when the text is
    not exactly that layout (e.g. another writer's gwcs): then use asdf.
    """
    end = asdf_file.find(b"\n...\n")
    if not asdf_file.startswith(b"#ASDF 1.0.0\n") or end < 0:
        return None
    tree = asdf_file[:end + 5].decode("utf-8", errors="strict")
    start = tree.find(_V23_HEAD)
    if start < 0 or tree.find(_V23_HEAD, start + 1) >= 0:
        return None
    a0 = start + len(_V23_HEAD)
    a1 = tree.find(_V23_TAIL, a0)
    if a1 < 0 or not tree[a0:a1].startswith("[") or not tree[a0:a1].endswith("]"):
        return None
    old = tree[a0 + 1:a1 - 1].replace("\n", " ").split(",")
    if len(old) != 5:
        return None
    column = len("            angles: ")
    new = flow_floats(v23tosky_angles(pointing), column, column - len("angles: ") + 2)
    text = (tree[:a0] + new + tree[a1:]).encode("utf-8")
    delta = len(text) - (end + 5)
    rest = asdf_file[end + 5:]
    i = rest.rfind(_INDEX)
    if i < 0:
        if b"\xd3BLK" in rest and delta:
            return None  # blocks without an index: positions unknown, let asdf write
        return text + rest
    lines = rest[i + len(_INDEX):].split(b"\n")
    out = []
    for line in lines:
        if line.startswith(b"- "):
            try:
                line = b"- %d" % (int(line[2:]) + delta)
            except ValueError:
                return None
        out.append(line)
    return text + rest[:i] + _INDEX + b"\n".join(out)
