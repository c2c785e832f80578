"""Scribner ZPlot / ZView files: ``.z`` (ZPLOT2 ASCII) and ZView-style CSV (``Z60W``)."""

from __future__ import annotations

import re
from typing import Iterator

from ._base import TextInstrumentFile
from ._common import split_sweeps, to_float
from .columns import ColumnPlan, resolve_columns
from .errors import ParseError
from .models import ImpedanceSpectrum
from .registry import Head, register

#: a .z file recognised only by 'End Comments' ranks below ZView CSV (priority 680)
END_COMMENTS_SCORE = 650

#: ZPlot's documented column order (Freq, Ampl, Bias, Time, Z'(a), Z''(b), GD, Err, Range; Hz and
#: ohm), used only for a ``.z`` file without a column-name line before 'End Comments'
FIXED_POSITIONS = ColumnPlan("cartesian", {"frequency": 0, "z_real": 4, "z_imag": 5},
                             {"frequency": 1.0, "z_real": 1.0, "z_imag": 1.0}, [])


def _rows_to_spectra(cols: list[list[float]], linenos: list[int], plan: ColumnPlan,
                     metadata: dict, filename: str) -> list[ImpedanceSpectrum]:
    """Spectra (one per frequency sweep) from the raw values of the three used columns,
    converted to Hz and ohm with the header's units."""
    freq, zr, zi = plan.to_canonical(*cols, file=filename, lines=linenos)
    out = []
    for a, b in split_sweeps(freq):
        meta = dict(metadata)
        meta["columns"] = plan.columns_metadata()
        out.append(ImpedanceSpectrum(frequency_hz=freq[a:b], z_real_ohm=zr[a:b],
                                     z_imag_ohm=zi[a:b], loop=len(out), metadata=meta,
                                     source_file=filename, first_line=linenos[a]))
    return out


def _read_rows(lines, split, plan: ColumnPlan, filename: str
               ) -> tuple[list[list[float]], list[int]]:
    """Raw values ([f, a, b] lists, as written) of the plan's three columns, and line numbers."""
    idx = [plan.index[k] for k in plan.used]
    need = max(idx) + 1
    cols: list[list[float]] = [[], [], []]
    linenos: list[int] = []
    for lineno, line in lines:
        if not line.strip():
            continue
        fields = split(line)
        if len(fields) < need:
            raise ParseError(f"expected at least {need} fields, got {len(fields)} "
                             "(truncated row?)", file=filename, line=lineno,
                             field=plan.column_name(len(fields)))
        for col, i in zip(cols, idx):
            col.append(to_float(fields[i], file=filename, line=lineno,
                                field=plan.column_name(i)))
        linenos.append(lineno)
    return cols, linenos


def _zplot_plan(header: tuple[int, str] | None, filename: str) -> ColumnPlan:
    """The columns of a ``.z`` file from the line before 'End Comments'.

    A line that is not a ``key: value`` header entry is the column-name line (tab separated, or
    space separated without a tab) and must name frequency, Z' and Z'' (units converted); only
    without such a line are the documented fixed positions used.
    """
    if header is None or ":" in header[1]:
        return FIXED_POSITIONS
    text = header[1].strip()
    names = [n.strip() for n in (text.split("\t") if "\t" in text else text.split())]
    return resolve_columns(names, file=filename, line=header[0], required=True)


@register
class ZPlotFile(TextInstrumentFile):
    """ZPlot / ZView ``.z``: ``key: value`` header, column names, ``End Comments``, data.

    Z''(b) in these files is Im(Z) (negative for capacitive arcs) and is kept as is; a column
    named with a leading minus (``-Z''``) is negated. Header units (``Freq(kHz)``,
    ``Z'(kOhm)``) are converted to Hz and ohm; a file without a column-name line is read in
    ZPlot's documented column order (Freq, Ampl, Bias, Time, Z'(a), Z''(b), ...).
    """

    format = "zplot"
    kinds = ("impedance",)
    suffixes = (".z",)
    priority = 700
    description = "ZPlot/ZView"

    @classmethod
    def sniff(cls, head: Head) -> bool | float:
        """First line names ZPlot/ZView (unquoted); or, ranking below ZView CSV, a header
        ending in 'End Comments' that names ZPlot/ZView anywhere."""
        if re.search(r"zplot|zview", head.first, re.I) and not head.first.startswith('"'):
            return True
        if head.text is not None and "End Comments" in head.text and \
                head.search(r"zplot|zview", re.I):
            return END_COMMENTS_SCORE
        return False

    def __init__(self, spectra, metadata, filename):
        self.spectra = spectra
        self.metadata = metadata
        self.filename = filename

    @classmethod
    def _parse(cls, lines: Iterator[tuple[int, str]], filename: str) -> "ZPlotFile":
        metadata: dict = {}
        prev: tuple[int, str] | None = None
        end_line = None
        first = True
        for lineno, line in lines:
            if first:
                first = False
                if not re.search(r"zplot|zview", line, re.IGNORECASE):
                    raise ParseError("expected a ZPlot/ZView header (e.g. 'ZPLOT2 ASCII')",
                                     file=filename, line=lineno)
                metadata["file_type"] = line.strip()
                continue
            if line.strip() == "End Comments":
                end_line = lineno
                break
            if ":" in line:
                k, _, v = line.partition(":")
                metadata.setdefault(k.strip(), v.strip())
            if line.strip():
                prev = (lineno, line)
        if end_line is None:
            raise ParseError("expected an 'End Comments' line before the data (truncated "
                             "file?)", file=filename, field="End Comments")
        plan = _zplot_plan(prev, filename)
        split = (lambda s: re.split(r"\t|,\s*", s.strip()))
        cols, linenos = _read_rows(lines, split, plan, filename)
        if not linenos:
            raise ParseError("expected data rows after 'End Comments', found none "
                             "(truncated file?)", file=filename, line=end_line)
        expected = metadata.get("Data Points")
        if expected and expected.isdigit() and int(expected) != len(linenos):
            # Real files do this (the impedance.py ZPlot example declares 56, holds 21):
            # keep what is there and say so.
            metadata["warnings"] = [f"header 'Data Points' says {expected}, file holds "
                                    f"{len(linenos)} rows"]
        return cls(_rows_to_spectra(cols, linenos, plan, metadata, filename), metadata, filename)


@register
class ZViewCsv(TextInstrumentFile):
    """ZView-style CSV (e.g. Autolab export, ``"Z60W Data File"``): quoted header block,
    a point-count line, a quoted column-name line, comma separated rows.

    The columns are found by name in any order (``Z'(a)``, ``Zreal_ohm``, ``-Z''``, ...), header
    units converted to Hz and ohm; a column-name line that names no frequency, Z' or Z'' is
    refused, listing the columns it holds."""

    format = "zview_csv"
    kinds = ("impedance",)
    suffixes = (".csv", ".txt")
    priority = 680

    @classmethod
    def sniff(cls, head: Head) -> bool:
        return re.search(r"Z60W|ZView|ZPlot", head.first, re.I) is not None

    def __init__(self, spectra, metadata, filename):
        self.spectra = spectra
        self.metadata = metadata
        self.filename = filename

    @classmethod
    def _parse(cls, lines: Iterator[tuple[int, str]], filename: str) -> "ZViewCsv":
        metadata: dict = {}
        header_line = None
        prev = None
        names: list[str] = []
        first = True
        for lineno, line in lines:
            text = line.strip().strip('"').strip()
            if first:
                first = False
                if not re.search(r"Z60W|ZView|ZPlot", text, re.IGNORECASE):
                    raise ParseError("expected a ZView CSV header (e.g. '\"Z60W Data File\"')",
                                     file=filename, line=lineno)
                metadata["file_type"] = text
                continue
            if re.match(r"(?i)^freq", text):
                header_line = lineno
                names = re.split(r"\s{2,}|\t|,", text)
                break
            prev = text
        if header_line is None:
            raise ParseError("expected a column-name line starting with 'Freq'", file=filename,
                             field="Freq")
        expected = int(prev) if prev and prev.isdigit() else None
        # the column-name line is always there: it must be understood, never replaced by
        # fixed positions (a reordered export would be read from the wrong columns)
        plan = resolve_columns(names, file=filename, line=header_line, required=True)
        cols, linenos = _read_rows(lines, lambda s: s.split(","), plan, filename)
        if not linenos:
            raise ParseError("expected data rows after the column names, found none "
                             "(truncated file?)", file=filename, line=header_line)
        if expected is not None and expected != len(linenos):
            metadata["warnings"] = [f"header declares {expected} points, file holds "
                                    f"{len(linenos)} rows"]
        metadata["n_points_declared"] = expected
        return cls(_rows_to_spectra(cols, linenos, plan, metadata, filename), metadata, filename)
