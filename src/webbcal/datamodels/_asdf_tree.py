"""An ASDF file's YAML tree and binary blocks, read without the asdf package.

Used by :mod:`webbcal.datamodels._gwcs_eval` (a cal file's gwcs evaluated without
asdf/gwcs; see there for why). Tags are kept on the nodes (:class:`Tagged`); blocks are
returned raw, per the ASDF block format (``\\xd3BLK`` magic, big-endian header).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

from webbcal.datamodels._errors import FormatError

__all__ = ["Tagged", "read_asdf_tree"]

_MAGIC = b"\xd3BLK"


@dataclass(frozen=True)
class Tagged:
    """A YAML node with an explicit tag: ``value`` is its dict, list or string."""

    tag: str
    value: object


@lru_cache(maxsize=1)
def _loader():
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        pass

    def tagged(loader, suffix, node):
        if isinstance(node, yaml.MappingNode):
            value = loader.construct_mapping(node, deep=True)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_scalar(node)
        return Tagged(node.tag, value)

    Loader.add_multi_constructor("", tagged)
    return Loader, yaml.YAMLError


def read_asdf_tree(raw: bytes, path=None):
    """(tree, blocks) of an ASDF file: the YAML tree (tagged nodes as :class:`Tagged`)
    and the binary blocks as ``(compression, bytes)``.

    Raises
    ------
    FormatError
        ``raw`` is not an ASDF file (header, YAML or block layout).
    """
    where = "extension ASDF" if path is not None and str(path).endswith(".fits") else "ASDF"
    if not raw.startswith(b"#ASDF "):
        raise FormatError(path, where, "an ASDF file starting with '#ASDF '",
                          repr(bytes(raw[:16])))
    end = raw.find(b"\n...\n")
    if end < 0 and raw.find(_MAGIC) < 0:
        end = len(raw) - 5
    if end < 0:
        raise FormatError(path, where, "a YAML tree ending with '...'", "none")
    loader, error = _loader()
    try:
        tree = __import__("yaml").load(raw[:end + 5], Loader=loader)
    except (error, UnicodeDecodeError) as exc:
        raise FormatError(path, where, "a valid YAML tree",
                          f"{type(exc).__name__}: {exc}") from None
    blocks, pos = [], raw.find(_MAGIC, end)
    while pos >= 0 and raw[pos:pos + 4] == _MAGIC:
        try:
            hsize, = struct.unpack(">H", raw[pos + 4:pos + 6])
            flags, comp, alloc, used = struct.unpack(">I4sQQ", raw[pos + 6:pos + 30])
        except struct.error:
            raise FormatError(path, f"{where} block {len(blocks)}", "a 48-byte header",
                              "truncated file") from None
        start = pos + 6 + hsize
        if flags & 1:  # streamed: to the end of the file
            used = alloc = len(raw) - start
        if hsize < 48 or start + used > len(raw):
            raise FormatError(path, f"{where} block {len(blocks)}",
                              f"{used} bytes of data", f"{len(raw) - start} (truncated)")
        blocks.append((comp, raw[start:start + used]))
        pos = start + alloc
    return tree, blocks
