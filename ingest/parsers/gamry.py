"""Gamry Framework ``.DTA`` files: the ZCURVE table(s) inside a longer tagged file."""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ._base import TextInstrumentFile
from ._common import split_sweeps, to_float
from .errors import ParseError
from .models import ImpedanceSpectrum

REQUIRED = ("Freq", "Zreal", "Zimag")


class GamryDTA(TextInstrumentFile):
    """Gamry ``.DTA``: ``ZCURVE<TAB>TABLE[<TAB>n]``, a column-name line, a units line, rows.

    Gamry stores Im(Z) as is (``Zimag``), so no sign change.  Every ZCURVE table becomes one
    spectrum (further split if the frequency sweep restarts inside a table).
    """

    format = "gamry_dta"
    encoding = "latin-1"

    def __init__(self, spectra: list[ImpedanceSpectrum], metadata: dict, filename: str):
        self.spectra = spectra
        self.metadata = metadata
        self.filename = filename

    @classmethod
    def _parse(cls, lines: Iterator[tuple[int, str]], filename: str) -> "GamryDTA":
        first = next(lines, None)
        if first is None or first[1].strip() != "EXPLAIN":
            raise ParseError("expected a Gamry file starting with 'EXPLAIN'", file=filename,
                             line=1)
        metadata: dict[str, str] = {}
        tables: list[dict] = []
        current: dict | None = None
        last_line = 1
        for lineno, line in lines:
            last_line = lineno
            fields = line.split("\t")
            if current is not None:
                if current["names"] is None:
                    current["names"] = [f.strip() for f in fields]
                    current["names_line"] = lineno
                    for req in REQUIRED:
                        if req not in current["names"]:
                            raise ParseError(f"expected a {req!r} column in the ZCURVE table",
                                             file=filename, line=lineno, field=req)
                    continue
                if current["units"] is None:
                    current["units"] = [f.strip() for f in fields]
                    continue
                if line.startswith("\t") or (line.strip() == "" and False):
                    names = current["names"]
                    idx = [names.index(r) for r in REQUIRED]
                    if len(fields) < len(names):
                        raise ParseError(f"expected {len(names)} tab-separated fields, got "
                                         f"{len(fields)} (truncated row?)", file=filename,
                                         line=lineno, field=names[len(fields)])
                    row = [to_float(fields[j], decimal_comma=True, file=filename, line=lineno,
                                    field=r) for j, r in zip(idx, REQUIRED)]
                    current["rows"].append(row)
                    current["lines"].append(lineno)
                    continue
                tables.append(current)
                current = None
            if not line.strip():
                continue
            tag = fields[0].strip()
            if tag == "ZCURVE" and len(fields) > 1 and fields[1].strip() == "TABLE":
                expected = None
                if len(fields) > 2 and fields[2].strip().isdigit():
                    expected = int(fields[2].strip())
                current = {"names": None, "units": None, "rows": [], "lines": [],
                           "expected": expected, "line": lineno}
            elif tag and len(fields) >= 3 and not line.startswith("\t"):
                metadata.setdefault(tag, fields[2].strip())
        if current is not None:
            tables.append(current)
        if not tables:
            raise ParseError("expected a 'ZCURVE<TAB>TABLE' section (impedance data), found "
                             "none", file=filename, line=last_line, field="ZCURVE")
        spectra: list[ImpedanceSpectrum] = []
        for t in tables:
            if t["names"] is None or t["units"] is None:
                raise ParseError("file ends inside the ZCURVE table header (truncated file?)",
                                 file=filename, line=last_line, field="ZCURVE")
            if not t["rows"]:
                raise ParseError("expected data rows in the ZCURVE table, found none "
                                 "(truncated file?)", file=filename, line=last_line,
                                 field="ZCURVE")
            if t["expected"] is not None and len(t["rows"]) != t["expected"]:
                raise ParseError(f"expected {t['expected']} rows in the ZCURVE table, got "
                                 f"{len(t['rows'])} (truncated file?)", file=filename,
                                 line=t["lines"][-1], field="ZCURVE")
            data = np.array(t["rows"], dtype=float)
            units = dict(zip(t["names"], t["units"]))
            for a, b in split_sweeps(data[:, 0]):
                meta = dict(metadata)
                meta["units"] = {r: units.get(r, "") for r in REQUIRED}
                meta["table_line"] = t["line"]
                spectra.append(ImpedanceSpectrum(
                    frequency_hz=data[a:b, 0], z_real_ohm=data[a:b, 1], z_imag_ohm=data[a:b, 2],
                    loop=len(spectra), temperature_k=None, metadata=meta, source_file=filename,
                    first_line=t["lines"][a]))
        return cls(spectra, metadata, filename)
