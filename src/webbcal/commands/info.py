"""Describe a JWST product file: product type, instrument set-up, readout, the shape of
every extension, step statuses (S_* keywords) and reference files (R_* keywords).

example:
  webbcal info jw01345001001_02201_00001_nrca1_rate.fits
"""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE", help="a JWST FITS product or *_asn.json")


def main(args) -> int:
    from webbcal.datamodels import FormatError

    path = args.file
    if str(path).lower().endswith(".json"):
        _print_association(path)
        return 0
    from webbcal.datamodels._fits import FitsFile
    from webbcal.datamodels.readers import product_type

    with FitsFile(path) as ff:
        primary = ff.header("PRIMARY")
        if str(primary.get("TELESCOP", "")).strip().upper() != "JWST" or "SCI" not in ff:
            raise FormatError(path, "PRIMARY header TELESCOP / extension SCI",
                              "a JWST product (TELESCOP='JWST' and a SCI extension)",
                              f"TELESCOP={primary.get('TELESCOP')!r}, extensions {ff.names}")
        kind = product_type(path, primary, ff.names, len(ff.shape("SCI")))
        lines = [f"{path}", f"  product     {kind} (DATAMODL {primary.get('DATAMODL', '?')})"]
        lines += _setup_lines(primary)
        lines.append("  extensions")
        for i, hdu in enumerate(ff.hdul):
            lines.append("    " + _describe_hdu(i, hdu, ff))
        lines += _keyword_block(primary, "S_", "steps")
        lines += _keyword_block(primary, "R_", "reference files")
    print("\n".join(lines), file=sys.stdout)
    return 0


def _get(h, key, default="-"):
    value = h.get(key, default)
    return default if value is None or str(value).strip() == "" else str(value).strip()


def _setup_lines(h) -> list[str]:
    return [
        f"  instrument  {_get(h, 'INSTRUME')} {_get(h, 'DETECTOR')}"
        f"  (module {_get(h, 'MODULE')}, channel {_get(h, 'CHANNEL')})",
        f"  optics      filter {_get(h, 'FILTER')}, pupil {_get(h, 'PUPIL')}"
        f"  exp_type {_get(h, 'EXP_TYPE')}",
        f"  readout     {_get(h, 'READPATT')}: ngroups {_get(h, 'NGROUPS')}, nints "
        f"{_get(h, 'NINTS')}, nframes {_get(h, 'NFRAMES')}, groupgap {_get(h, 'GROUPGAP')}, "
        f"tgroup {_get(h, 'TGROUP')} s",
        f"  subarray    {_get(h, 'SUBARRAY')} start ({_get(h, 'SUBSTRT1')}, "
        f"{_get(h, 'SUBSTRT2')}) size ({_get(h, 'SUBSIZE1')}, {_get(h, 'SUBSIZE2')})",
        f"  observed    {_get(h, 'DATE-OBS')} {_get(h, 'TIME-OBS')}"
        f"  target {_get(h, 'TARGNAME')}",
    ]


def _describe_hdu(i, hdu, ff) -> str:
    name = hdu.name or "PRIMARY"
    if hdu.header.get("XTENSION", "").strip() == "BINTABLE":
        cols = hdu.columns.names
        rows = hdu.header.get("NAXIS2", 0)
        shown = ", ".join(cols[:6]) + (", ..." if len(cols) > 6 else "")
        return f"{i:2d} {name:12s} table {rows} rows: {shown}"
    if int(hdu.header.get("NAXIS", 0)) == 0:
        return f"{i:2d} {name:12s} (no data)"
    shape = ff.shape(name) if name != "PRIMARY" else ()
    bitpix = int(hdu.header["BITPIX"])
    dtype = {8: "uint8", 16: "int16", 32: "int32", 64: "int64", -32: "float32",
             -64: "float64"}.get(bitpix, f"BITPIX {bitpix}")
    if bitpix in (16, 32, 64) and hdu.header.get("BZERO", 0) == 2 ** (bitpix - 1):
        dtype = "u" + dtype
    unit = hdu.header.get("BUNIT", "")
    return f"{i:2d} {name:12s} {str(shape):28s} {dtype}" + (f"  [{unit}]" if unit else "")


def _keyword_block(h, prefix, title) -> list[str]:
    items = [(k, h[k]) for k in h if k.startswith(prefix) and k != "DATAMODL"]
    if not items:
        return [f"  {title}: none recorded"]
    return [f"  {title}"] + [f"    {k:10s} {v}" for k, v in items]


def _print_association(path) -> None:
    from webbcal.datamodels import read_association

    asn = read_association(path)
    print(f"{path}\n  product     association ({asn.asn_type}, {asn.asn_id})")
    for i, product in enumerate(asn.products):
        members = asn.members(i)
        print(f"  {product['name']}: {len(members)} members "
              f"({len(asn.members(i, 'science'))} science)")

