"""Instrument-file parsers for Ionbase: pure file I/O, no database imports.

Public entry points::

    detect_format(path) -> str
    read_spectra(path, *, max_bytes=200 MB) -> list[ImpedanceSpectrum]
    read_cycling(path, *, max_bytes=200 MB, sheet=None) -> CyclingData
    read_cif(path, *, max_bytes=200 MB, occupancy_tolerance=1.0) -> list[CifPhase]
    parse_file(path, *, max_bytes=200 MB) -> ParsedFile(format, kind, records)

Every format is a class with ``from_file(path)`` and ``from_str(text, filename=...)``
(binary formats: ``from_bytes(data, filename=...)``) that declares its format name, kinds,
suffixes, content sniffer and priority; :mod:`.registry` collects them and builds the
detection order, the suffix list and the kind sets (docs/parsers.md: adding a format).  All
problems raise :class:`ParseError` (a ValueError) naming file, line and field.

Sign convention: ``z_imag_ohm`` is Im(Z) of Z = Z' + jZ'' (negative for capacitive arcs);
columns holding -Im(Z) (BioLogic ``-Im(Z)/Ohm``, ``-Z''`` headers) are negated on read.
Generic tables (CSV and XLSX exports) and the instrument formats' column names are read through
the header spellings of :mod:`.columns` (frequency, Z'/Z'' or |Z|/phase, units in the header
converted to Hz and ohm; a Gamry units line likewise).
"""

from __future__ import annotations

import os

from . import registry
from ._base import BinaryInstrumentFile, InstrumentFile, TextInstrumentFile
from ._common import DEFAULT_MAX_BYTES
from .biologic import BioLogicMpr, BioLogicMpt
from .cif import CifFile
from .cycling import CyclingCsv, CyclingXlsx
from .delimited import CHInstrumentsTxt, DelimitedSpectra, ParstatTxt
from .detect import detect_format
from .errors import ParseError
from .gamry import GamryDTA
from .models import CifPhase, CyclingData, ImpedanceSpectrum, ParsedFile
from .registry import Head, register, unregister
from .spreadsheet import ImpedanceXlsx
from .versastudio import VersaStudioPar
from .zplot import ZPlotFile, ZViewCsv

__all__ = [
    "ParseError", "ImpedanceSpectrum", "CyclingData", "CifPhase", "ParsedFile",
    "detect_format", "read_spectra", "read_cycling", "read_cif", "parse_file",
    "registry", "register", "unregister", "Head", "DEFAULT_MAX_BYTES",
    "InstrumentFile", "TextInstrumentFile", "BinaryInstrumentFile",
    "BioLogicMpt", "BioLogicMpr", "GamryDTA", "ZPlotFile", "ZViewCsv", "VersaStudioPar",
    "DelimitedSpectra", "ParstatTxt", "CHInstrumentsTxt", "CyclingCsv", "CyclingXlsx", "CifFile",
    "ImpedanceXlsx",
]


def _load(path, max_bytes, expected_kind: str | None = None, **kw):
    """(format name, parsed object); ParseError when ``expected_kind`` is not what it holds."""
    fmt = detect_format(path)
    obj = registry.get(fmt).from_file(path, max_bytes=max_bytes, **kw)
    if expected_kind is not None and obj.kind != expected_kind:
        raise ParseError(f"expected {_ARTICLE.get(expected_kind, 'a')} {expected_kind} file, "
                         f"found {fmt} ({obj.kind} data)", file=os.fspath(path))
    return fmt, obj


_ARTICLE = {"impedance": "an"}


def read_spectra(path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES
                 ) -> list[ImpedanceSpectrum]:
    """All impedance spectra (loops / sweeps) in ``path``, format detected from content."""
    return _load(path, max_bytes, "impedance")[1].records()


def read_cycling(path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES,
                 sheet: str | None = None) -> CyclingData:
    """Per-cycle capacities from a BioLogic GCPL .mpt/.mpr, a cycling CSV or an XLSX.

    For a workbook with cycling tables on several sheets pass ``sheet=`` (or use
    :func:`parse_file`, which returns all of them).
    """
    tables = _load(path, max_bytes, "cycling")[1].records()
    if sheet is not None:
        match = [t for t in tables if t.metadata.get("sheet") == sheet]
        if not match:
            raise ParseError(f"expected a cycling table on sheet {sheet!r}, found them on "
                             + ", ".join(repr(t.metadata.get("sheet")) for t in tables),
                             file=os.fspath(path), field=sheet)
        return match[0]
    if len(tables) > 1:
        raise ParseError("found cycling tables on several sheets ("
                         + ", ".join(repr(t.metadata.get("sheet")) for t in tables)
                         + "); pass sheet= or use parse_file() to get all",
                         file=os.fspath(path))
    return tables[0]


def read_cif(path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES,
             occupancy_tolerance: float = 1.0) -> list[CifPhase]:
    """One CifPhase per data block with a unit cell."""
    fmt = detect_format(path)
    if fmt != CifFile.format:
        raise ParseError(f"expected a CIF (data_ block with _cell_length_a), found {fmt}",
                         file=os.fspath(path))
    return CifFile.from_file(path, max_bytes=max_bytes,
                             occupancy_tolerance=occupancy_tolerance).phases


def parse_file(path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES
               ) -> ParsedFile:
    """Detect the format and read everything: spectra, cycling tables or CIF phases."""
    fmt, obj = _load(path, max_bytes)
    return ParsedFile(format=fmt, kind=obj.kind, records=obj.records(),
                      source_file=os.fspath(path))
