"""Level-3 associations (``*_asn.json``) in the official layout.

An association names output products and, for each, its member exposures::

    {"asn_type": "image3", "asn_rule": "...", "asn_id": "a3001", "asn_pool": "...",
     "program": "01345", "target": "1", "version_id": "...", "code_version": "...",
     "degraded_status": "...", "constraints": "...",
     "products": [{"name": "jw01345-a3001_t001_nircam_clear-f200w",
                   "members": [{"expname": "jw..._cal.fits", "exptype": "science",
                                "exposerr": null, "asn_candidate": "..."}]}]}

Member names are relative to the folder of the association file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from webbcal.datamodels._errors import FormatError, atomic_write

__all__ = ["Association", "read_association"]

_REQUIRED = ("asn_type", "asn_id", "products")
_OPTIONAL = {"asn_rule": "", "asn_pool": "", "program": "", "target": "", "version_id": ""}


@dataclass(eq=False)
class Association:
    """An association: header keys plus ``products`` (list of dicts with ``name`` and
    ``members``, each member a dict with at least ``expname`` and ``exptype``).

    ``extra`` keeps the other top-level keys (``constraints``, ``degraded_status``,
    ``code_version`` …) so they survive a read/write round trip; ``path`` is the file
    it was read from (member paths resolve against its folder).
    """

    asn_type: str
    asn_id: str
    products: list[dict[str, Any]]
    asn_rule: str = ""
    asn_pool: str = ""
    program: str = ""
    target: str = ""
    version_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    # --------------------------------------------------------------- building
    @classmethod
    def from_members(cls, product_name: str, cal_paths, *, asn_id: str = "a3001",
                     asn_type: str = "image3", asn_rule: str = "candidate_Asn_Lv3Image",
                     asn_pool: str = "webbcal_pool", program: str = "", target: str = "1",
                     relative_to: str | os.PathLike | None = None) -> "Association":
        """An image3 association with one product whose members are ``cal_paths``
        (all ``exptype`` 'science'). Member names are written relative to
        ``relative_to`` (the folder the association will be saved in) when given,
        else as given."""
        members = []
        for p in cal_paths:
            p = Path(p)
            if relative_to is not None:
                p = Path(os.path.relpath(p.resolve(), Path(relative_to).resolve()))
            members.append({"expname": str(p), "exptype": "science", "exposerr": None,
                            "asn_candidate": f"[('{asn_id}', 'observation')]"})
        version = datetime.now(timezone.utc).strftime("%Y%m%dt%H%M%S")
        return cls(asn_type=asn_type, asn_id=asn_id, asn_rule=asn_rule, asn_pool=asn_pool,
                   program=program, target=target, version_id=version,
                   products=[{"name": product_name, "members": members}],
                   extra={"code_version": "webbcal",
                          "degraded_status": "No known degraded exposures in association."})

    # ---------------------------------------------------------------- queries
    def product_name(self, product_index: int = 0) -> str:
        """Name of one output product."""
        return str(self.products[product_index]["name"])

    def members(self, product_index: int = 0, exptype: str | None = None) -> list[dict]:
        """Member dicts of one product, optionally only those of one ``exptype``."""
        members = self.products[product_index]["members"]
        if exptype is None:
            return list(members)
        return [m for m in members if str(m.get("exptype", "")).lower() == exptype.lower()]

    def science_members(self, product_index: int = 0) -> list[Path]:
        """Paths of the science members, resolved relative to the association file."""
        base = self.path.parent if self.path is not None else Path(".")
        return [base / m["expname"] for m in self.members(product_index, "science")]

    # -------------------------------------------------------------------- I/O
    def to_dict(self) -> dict[str, Any]:
        out = {"asn_type": self.asn_type, "asn_rule": self.asn_rule, "version_id":
               self.version_id, "asn_pool": self.asn_pool, "asn_id": self.asn_id,
               "program": self.program, "target": self.target}
        out.update(self.extra)
        out["products"] = self.products
        return out

    def write(self, path: str | os.PathLike) -> None:
        """Write the association as JSON, atomically."""
        text = json.dumps(self.to_dict(), indent=4)
        with atomic_write(path) as tmp:
            Path(tmp).write_text(text + "\n")
        self.path = Path(path)

    @classmethod
    def from_dict(cls, d: Any, *, path=None) -> "Association":
        """Validate and build from a parsed JSON object (FormatError if malformed)."""
        if not isinstance(d, dict):
            raise FormatError(path, "JSON top level", "an object", type(d).__name__)
        for key in _REQUIRED:
            if key not in d:
                raise FormatError(path, f"key {key!r}", "present", f"keys {sorted(d)}")
        products = d["products"]
        if not isinstance(products, list) or not products:
            raise FormatError(path, "key 'products'", "a non-empty list", repr(products)[:80])
        for i, product in enumerate(products):
            if not isinstance(product, dict) or "name" not in product \
                    or not isinstance(product.get("members"), list):
                raise FormatError(path, f"products[{i}]", "an object with 'name' and a "
                                  "'members' list", repr(product)[:80])
            for j, member in enumerate(product["members"]):
                if not isinstance(member, dict) or "expname" not in member \
                        or "exptype" not in member:
                    raise FormatError(path, f"products[{i}].members[{j}]",
                                      "an object with 'expname' and 'exptype'",
                                      repr(member)[:80])
        known = {**_OPTIONAL}
        for key in _OPTIONAL:
            if key in d:
                known[key] = "" if d[key] is None else str(d[key])
        extra = {k: v for k, v in d.items() if k not in _REQUIRED and k not in _OPTIONAL}
        return cls(asn_type=str(d["asn_type"]), asn_id=str(d["asn_id"]), products=products,
                   extra=extra, path=None if path is None else Path(path), **known)


def read_association(path: str | os.PathLike) -> Association:
    """Read an association JSON file (FormatError for bad JSON or missing keys)."""
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except FileNotFoundError:
        raise FormatError(path, "file", "an existing association file", "no such file") \
            from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(path, "JSON", "valid JSON", str(exc)) from None
    return Association.from_dict(d, path=path)
