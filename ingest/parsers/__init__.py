"""Instrument-file parsers for Ionbase: pure file I/O, no database imports.

Public entry points::

    detect_format(path) -> str
    read_spectra(path, *, max_bytes=200 MB) -> list[ImpedanceSpectrum]
    read_cycling(path, *, max_bytes=200 MB, sheet=None) -> CyclingData
    read_cif(path, *, max_bytes=200 MB, occupancy_tolerance=1.0) -> list[CifPhase]
    parse_file(path, *, max_bytes=200 MB) -> ParsedFile(format, kind, records)

Every format is also a class with ``from_file(path)`` and ``from_str(text, filename=...)``
(binary formats: ``from_bytes(data, filename=...)``), see ``FORMAT_CLASSES``.  All problems
raise :class:`ParseError` (a ValueError) naming file, line and field.

Sign convention: ``z_imag_ohm`` is Im(Z) of Z = Z' + jZ'' (negative for capacitive arcs);
columns holding -Im(Z) (BioLogic ``-Im(Z)/Ohm``, ``-Z''`` headers) are negated on read.
Generic tables (CSV and XLSX exports) are read through the header spellings of
:mod:`.columns` (frequency, Z'/Z'' or |Z|/phase, units in the header).
"""

from __future__ import annotations

import os

from ._common import DEFAULT_MAX_BYTES
from .biologic import BioLogicMpr, BioLogicMpt
from .cif import CifFile
from .cycling import CyclingCsv, CyclingXlsx
from .delimited import CHInstrumentsTxt, DelimitedSpectra, ParstatTxt
from .detect import FORMATS, detect_format
from .errors import ParseError
from .gamry import GamryDTA
from .models import CifPhase, CyclingData, ImpedanceSpectrum, ParsedFile
from .spreadsheet import ImpedanceXlsx
from .versastudio import VersaStudioPar
from .zplot import ZPlotFile, ZViewCsv

__all__ = [
    "ParseError", "ImpedanceSpectrum", "CyclingData", "CifPhase", "ParsedFile",
    "detect_format", "read_spectra", "read_cycling", "read_cif", "parse_file",
    "FORMATS", "FORMAT_CLASSES", "DEFAULT_MAX_BYTES",
    "BioLogicMpt", "BioLogicMpr", "GamryDTA", "ZPlotFile", "ZViewCsv", "VersaStudioPar",
    "DelimitedSpectra", "ParstatTxt", "CHInstrumentsTxt", "CyclingCsv", "CyclingXlsx", "CifFile",
    "ImpedanceXlsx",
]

FORMAT_CLASSES = {
    "biologic_mpt": BioLogicMpt,
    "biologic_mpr": BioLogicMpr,
    "gamry_dta": GamryDTA,
    "zplot": ZPlotFile,
    "zview_csv": ZViewCsv,
    "versastudio_par": VersaStudioPar,
    "parstat": ParstatTxt,
    "chi": CHInstrumentsTxt,
    "csv": DelimitedSpectra,
    "cycling_csv": CyclingCsv,
    "xlsx": CyclingXlsx,
    "impedance_xlsx": ImpedanceXlsx,
    "cif": CifFile,
}
_IMPEDANCE = {"gamry_dta", "zplot", "zview_csv", "versastudio_par", "parstat", "chi", "csv",
              "impedance_xlsx"}
_CYCLING = {"cycling_csv", "xlsx"}
_BIOLOGIC = {"biologic_mpt", "biologic_mpr"}


def _load(path, max_bytes, **kw):
    fmt = detect_format(path)
    return fmt, FORMAT_CLASSES[fmt].from_file(path, max_bytes=max_bytes, **kw)


def _kind(fmt: str, obj) -> str:
    if fmt in _BIOLOGIC:
        return obj.kind
    if fmt in _IMPEDANCE:
        return "impedance"
    if fmt in _CYCLING:
        return "cycling"
    return "structure"


def read_spectra(path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES
                 ) -> list[ImpedanceSpectrum]:
    """All impedance spectra (loops / sweeps) in ``path``, format detected from content."""
    fmt, obj = _load(path, max_bytes)
    kind = _kind(fmt, obj)
    if kind != "impedance":
        raise ParseError(f"expected an impedance file, found {fmt} ({kind} data)",
                         file=os.fspath(path))
    return obj.spectra


def read_cycling(path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES,
                 sheet: str | None = None) -> CyclingData:
    """Per-cycle capacities from a BioLogic GCPL .mpt/.mpr, a cycling CSV or an XLSX.

    For a workbook with cycling tables on several sheets pass ``sheet=`` (or use
    :func:`parse_file`, which returns all of them).
    """
    fmt, obj = _load(path, max_bytes)
    kind = _kind(fmt, obj)
    if kind != "cycling":
        raise ParseError(f"expected a cycling file, found {fmt} ({kind} data)",
                         file=os.fspath(path))
    if fmt in _BIOLOGIC:
        return obj.cycling
    tables = obj.tables
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
    if fmt != "cif":
        raise ParseError(f"expected a CIF (data_ block with _cell_length_a), found {fmt}",
                         file=os.fspath(path))
    return CifFile.from_file(path, max_bytes=max_bytes,
                             occupancy_tolerance=occupancy_tolerance).phases


def parse_file(path: str | os.PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES
               ) -> ParsedFile:
    """Detect the format and read everything: spectra, cycling tables or CIF phases."""
    fmt, obj = _load(path, max_bytes)
    kind = _kind(fmt, obj)
    if kind == "impedance":
        records = list(obj.spectra)
    elif kind == "cycling":
        records = [obj.cycling] if fmt in _BIOLOGIC else list(obj.tables)
    else:
        records = list(obj.phases)
    return ParsedFile(format=fmt, kind=kind, records=records, source_file=os.fspath(path))
