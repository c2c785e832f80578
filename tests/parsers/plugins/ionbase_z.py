"""A made-up instrument format, "IONBASE-Z v1", written the way a plugin would add one.

Layout (``.ibz``)::

    IONBASE-Z v1
    # temperature_K: 298.15
    f Z
    1000000.0 (100.1-5.2j)
    ...

Each row is a frequency in Hz and the complex impedance in ohm as a Python complex literal;
its imaginary part is Im(Z) (negative for capacitive arcs), stored as is.  The generic table
reader cannot read it (two fields per row), so without the plugin the file is refused.  This module is the whole
format: the tests register :class:`IonbaseZ` (``registry.register``, or the entry-point
group ``ionbase.parsers``) and import a file through ``ionbase import``.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ionbase.ingest.parsers import Head, ImpedanceSpectrum, ParseError, TextInstrumentFile

MAGIC = "IONBASE-Z v1"
COLUMNS = ("f", "Z")


class IonbaseZ(TextInstrumentFile):
    """IONBASE-Z v1: magic line, ``# key: value`` lines, a header ``f Z``, rows ``f Z``."""

    format = "ionbase_z"
    kinds = ("impedance",)
    suffixes = (".ibz",)
    priority = 750
    description = "IONBASE-Z"

    def __init__(self, spectra: list[ImpedanceSpectrum], metadata: dict, filename: str):
        self.spectra = spectra
        self.metadata = metadata
        self.filename = filename

    @classmethod
    def sniff(cls, head: Head) -> bool:
        return head.first == MAGIC

    @classmethod
    def _parse(cls, lines: Iterator[tuple[int, str]], filename: str) -> "IonbaseZ":
        first = next(lines, None)
        if first is None or first[1].strip() != MAGIC:
            raise ParseError(f"expected {MAGIC!r} on the first line", file=filename, line=1)
        metadata: dict[str, str] = {}
        rows, linenos = [], []
        for lineno, line in lines:
            text = line.strip()
            if text.startswith("#"):
                key, _, value = text[1:].partition(":")
                metadata[key.strip()] = value.strip()
            elif text.split() == list(COLUMNS):
                continue
            elif text:
                rows.append(_row(text, filename, lineno))
                linenos.append(lineno)
        if not rows:
            raise ParseError("expected rows of f and complex Z; found none", file=filename)
        data = np.array(rows, dtype=float)
        temp = metadata.get("temperature_K")
        spectrum = ImpedanceSpectrum(
            frequency_hz=data[:, 0], z_real_ohm=data[:, 1], z_imag_ohm=data[:, 2], loop=0,
            temperature_k=float(temp) if temp else None, metadata=metadata,
            source_file=filename, first_line=linenos[0])
        return cls([spectrum], metadata, filename)


def _row(text: str, filename: str, lineno: int) -> list[float]:
    """[f, Re(Z), Im(Z)] of one ``f Z`` row."""
    fields = text.split()
    if len(fields) != 2:
        raise ParseError(f"expected 2 whitespace-separated fields (f, Z), got {len(fields)}",
                         file=filename, line=lineno)
    try:
        freq = float(fields[0])
    except ValueError:
        raise ParseError(f"expected a frequency in Hz, got {fields[0]!r}", file=filename,
                         line=lineno, field="f") from None
    try:
        z = complex(fields[1])
    except ValueError:
        raise ParseError(f"expected a complex impedance such as (100-5j), got {fields[1]!r}",
                         file=filename, line=lineno, field="Z") from None
    return [freq, z.real, z.imag]
