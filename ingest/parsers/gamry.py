"""Gamry Framework ``.DTA`` files: the ZCURVE table(s) inside a longer tagged file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from ._base import TextInstrumentFile
from ._common import split_sweeps, to_float
from .columns import canonical_factor
from .errors import ParseError
from .models import ImpedanceSpectrum
from .numbers import DecimalMark
from .registry import Head, register

REQUIRED = ("Freq", "Zreal", "Zimag")
#: the quantity (``columns.SPELLINGS`` key) of each required column, for its unit
QUANTITY = {"Freq": "frequency", "Zreal": "z_real", "Zimag": "z_imag"}


@register
class GamryDTA(TextInstrumentFile):
    """Gamry ``.DTA``: ``ZCURVE<TAB>TABLE[<TAB>n]``, a column-name line, a units line, rows.

    Gamry stores Im(Z) as is (``Zimag``), so no sign change.  The units line must give a unit
    for Freq, Zreal and Zimag (Gamry writes ``Hz`` and ``ohm``); it is converted to Hz / ohm
    with pint, and a missing unit or one of another dimension is refused naming the line and
    column.  Every ZCURVE table becomes one spectrum (further split if the frequency sweep
    restarts inside a table).
    """

    format = "gamry_dta"
    kinds = ("impedance",)
    suffixes = (".dta",)
    priority = 800
    description = "Gamry .DTA"
    encoding = "latin-1"

    def __init__(self, spectra: list[ImpedanceSpectrum], metadata: dict, filename: str):
        self.spectra = spectra
        self.metadata = metadata
        self.filename = filename

    @classmethod
    def sniff(cls, head: Head) -> bool:
        return head.first == "EXPLAIN" or (
            head.text is not None and "ZCURVE\tTABLE" in head.text and head.search(r"^TAG\t"))

    @classmethod
    def _parse(cls, lines: Iterator[tuple[int, str]], filename: str) -> "GamryDTA":
        first = next(lines, None)
        if first is None or first[1].strip() != "EXPLAIN":
            raise ParseError("expected a Gamry file starting with 'EXPLAIN'", file=filename,
                             line=1)
        metadata: dict[str, str] = {}
        tables: list[_Table] = []
        current: _Table | None = None
        last_line = 1
        for lineno, line in lines:
            last_line = lineno
            fields = line.split("\t")
            if current is not None:
                if current.take(lineno, line, fields, filename):
                    continue
                tables.append(current)
                current = None
            if line.strip():
                current = _tag_line(lineno, line, fields, metadata)
        if current is not None:
            tables.append(current)
        if not tables:
            raise ParseError("expected a 'ZCURVE<TAB>TABLE' section (impedance data), found "
                             "none", file=filename, line=last_line, field="ZCURVE")
        spectra: list[ImpedanceSpectrum] = []
        for t in tables:
            t.check(filename, last_line)
            spectra.extend(t.spectra(metadata, filename, len(spectra)))
        return cls(spectra, metadata, filename)


def _tag_line(lineno: int, line: str, fields: list[str], metadata: dict) -> "_Table | None":
    """Start a ZCURVE table, or keep a ``TAG<TAB>type<TAB>value`` line in ``metadata``."""
    tag = fields[0].strip()
    if tag == "ZCURVE" and len(fields) > 1 and fields[1].strip() == "TABLE":
        expected = None
        if len(fields) > 2 and fields[2].strip().isdigit():
            expected = int(fields[2].strip())
        return _Table(line=lineno, expected=expected)
    if tag and len(fields) >= 3 and not line.startswith("\t"):
        metadata.setdefault(tag, fields[2].strip())
    return None


@dataclass
class _Table:
    """One ZCURVE table being read: column names, units line, then tab-indented rows."""

    line: int
    expected: int | None
    names: list[str] | None = None
    units: list[str] | None = None
    factors: list[float] = field(default_factory=list)
    rows: list[list[float]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    mark: DecimalMark = field(default_factory=DecimalMark)  # decimal mark of the table

    def take(self, lineno: int, line: str, fields: list[str], filename: str) -> bool:
        """Consume a line of the table; False when the line ends the table."""
        if self.names is None:
            self.names = [f.strip() for f in fields]
            for req in REQUIRED:
                if req not in self.names:
                    raise ParseError(f"expected a {req!r} column in the ZCURVE table",
                                     file=filename, line=lineno, field=req)
            return True
        if self.units is None:
            self.units = [f.strip() for f in fields]
            self.factors = _unit_factors(self.names, self.units, filename, lineno)
            return True
        if not line.startswith("\t"):
            return False
        if len(fields) < len(self.names):
            raise ParseError(f"expected {len(self.names)} tab-separated fields, got "
                             f"{len(fields)} (truncated row?)", file=filename,
                             line=lineno, field=self.names[len(fields)])
        idx = [self.names.index(r) for r in REQUIRED]
        self.rows.append([to_float(fields[j], decimal_comma=self.mark, file=filename, line=lineno,
                                   field=r) for j, r in zip(idx, REQUIRED)])
        self.lines.append(lineno)
        return True

    def check(self, filename: str, last_line: int) -> None:
        """ParseError for a table cut short (header only, no rows, fewer rows than declared)."""
        if self.names is None or self.units is None:
            raise ParseError("file ends inside the ZCURVE table header (truncated file?)",
                             file=filename, line=last_line, field="ZCURVE")
        if not self.rows:
            raise ParseError("expected data rows in the ZCURVE table, found none "
                             "(truncated file?)", file=filename, line=last_line,
                             field="ZCURVE")
        if self.expected is not None and len(self.rows) != self.expected:
            raise ParseError(f"expected {self.expected} rows in the ZCURVE table, got "
                             f"{len(self.rows)} (truncated file?)", file=filename,
                             line=self.lines[-1], field="ZCURVE")

    def spectra(self, metadata: dict, filename: str, start_loop: int) -> list[ImpedanceSpectrum]:
        data = np.array(self.rows, dtype=float) * np.array(self.factors)
        units = dict(zip(self.names, self.units))
        out = []
        for a, b in split_sweeps(data[:, 0]):
            meta = dict(metadata)
            meta["units"] = {r: units.get(r, "") for r in REQUIRED}
            meta["table_line"] = self.line
            out.append(ImpedanceSpectrum(
                frequency_hz=data[a:b, 0], z_real_ohm=data[a:b, 1], z_imag_ohm=data[a:b, 2],
                loop=start_loop + len(out), temperature_k=None, metadata=meta,
                source_file=filename, first_line=self.lines[a]))
        return out


def _unit_factors(names: list[str], units: list[str], filename: str, lineno: int) -> list[float]:
    """Factors taking Freq, Zreal and Zimag from the units line's units to Hz and ohm.

    ParseError naming the units line and the column for a missing unit, or one that is not a
    frequency / impedance unit (never taken as Hz or ohm unseen)."""
    out = []
    for req in REQUIRED:
        i = names.index(req)
        unit = units[i] if i < len(units) else ""
        if not unit:
            raise ParseError(f"expected a unit for column {req!r} in the units line under the "
                             "ZCURVE column names (Gamry writes Hz / ohm)", file=filename,
                             line=lineno, field=req)
        out.append(canonical_factor(QUANTITY[req], unit, req, file=filename, line=lineno))
    return out
