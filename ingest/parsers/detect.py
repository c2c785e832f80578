"""Format detection from file CONTENT, driven by the registered parser classes.

The order and the rules are the classes' own ``priority`` and ``sniff`` (see
:mod:`.registry`); the file name is only consulted by a sniffer that asks for it (an
``.xlsx`` ZIP without the usual entries in its first bytes).
"""

from __future__ import annotations

import os

from . import registry
from ._common import check_size, read_head


def detect_format_bytes(head: bytes, filename: str = "<bytes>") -> str:
    """Format name for the first bytes of a file (see :func:`detect_format`)."""
    return registry.detect_bytes(head, filename)


def detect_format(path: str | os.PathLike) -> str:
    """Sniff the first 64 KB of ``path`` and return its registered format name.

    The detected class may then look at the whole file (:meth:`InstrumentFile.refine`): a
    workbook is opened to tell an impedance export from a cycling table.

    Raises ParseError for missing, empty or unrecognised files.
    """
    check_size(path, None)
    fmt = detect_format_bytes(read_head(path), os.fspath(path))
    return registry.get(fmt).refine(path)
