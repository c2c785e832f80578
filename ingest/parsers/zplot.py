"""Scribner ZPlot / ZView files: ``.z`` (ZPLOT2 ASCII) and ZView-style CSV (``Z60W``)."""

from __future__ import annotations

import re
from typing import Iterator

import numpy as np

from ._base import TextInstrumentFile
from ._common import map_columns, split_sweeps, to_float
from .errors import ParseError
from .models import ImpedanceSpectrum
from .registry import Head, register

#: a .z file recognised only by 'End Comments' ranks below ZView CSV (priority 680)
END_COMMENTS_SCORE = 650

# ZView's fixed column order: Freq, Ampl, Bias, Time, Z'(a), Z''(b), GD, Err, Range
_FALLBACK = {"freq": (0, False), "real": (4, False), "imag": (5, False)}


def _rows_to_spectra(rows, linenos, names, mapping, metadata, filename):
    data = np.array(rows, dtype=float)
    out = []
    for a, b in split_sweeps(data[:, 0]):
        meta = dict(metadata)
        meta["columns"] = {"frequency": names[mapping["freq"][0]] if names else "column 1",
                           "z_real": names[mapping["real"][0]] if names else "column 5",
                           "z_imag": names[mapping["imag"][0]] if names else "column 6",
                           "z_imag_negated": bool(mapping["imag"][1])}
        out.append(ImpedanceSpectrum(frequency_hz=data[a:b, 0], z_real_ohm=data[a:b, 1],
                                     z_imag_ohm=data[a:b, 2], loop=len(out), metadata=meta,
                                     source_file=filename, first_line=linenos[a]))
    return out


def _read_rows(lines, split, names, mapping, filename, decimal_comma):
    fi, ri, ii = mapping["freq"][0], mapping["real"][0], mapping["imag"][0]
    neg = mapping["imag"][1]
    need = max(fi, ri, ii) + 1
    rows, linenos = [], []
    for lineno, line in lines:
        if not line.strip():
            continue
        fields = split(line)
        if len(fields) < need:
            raise ParseError(f"expected at least {need} fields, got {len(fields)} "
                             "(truncated row?)", file=filename, line=lineno,
                             field=_name(names, len(fields)))
        f = to_float(fields[fi], decimal_comma=decimal_comma, file=filename, line=lineno,
                     field=_name(names, fi))
        zr = to_float(fields[ri], decimal_comma=decimal_comma, file=filename, line=lineno,
                      field=_name(names, ri))
        zi = to_float(fields[ii], decimal_comma=decimal_comma, file=filename, line=lineno,
                      field=_name(names, ii))
        rows.append((f, zr, -zi if neg else zi))
        linenos.append(lineno)
    return rows, linenos


def _name(names, i):
    if names and i < len(names):
        return names[i]
    return f"column {i + 1}"


@register
class ZPlotFile(TextInstrumentFile):
    """ZPlot / ZView ``.z``: ``key: value`` header, column names, ``End Comments``, data.

    Z''(b) in these files is Im(Z) (negative for capacitive arcs) and is kept as is; a column
    named with a leading minus (``-Z''``) is negated.
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
        metadata: dict[str, str] = {}
        prev = ""
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
                prev = line
        if end_line is None:
            raise ParseError("expected an 'End Comments' line before the data (truncated "
                             "file?)", file=filename, field="End Comments")
        names = [n.strip() for n in prev.split("\t")] if "\t" in prev else []
        mapping = map_columns(names) if names else None
        if mapping is None:
            names, mapping = [], dict(_FALLBACK)
        split = (lambda s: re.split(r"\t|,\s*", s.strip()))
        rows, linenos = _read_rows(lines, split, names, mapping, filename, decimal_comma=False)
        if not rows:
            raise ParseError("expected data rows after 'End Comments', found none "
                             "(truncated file?)", file=filename, line=end_line)
        expected = metadata.get("Data Points")
        if expected and expected.isdigit() and int(expected) != len(rows):
            # Real files do this (the impedance.py ZPlot example declares 56, holds 21):
            # keep what is there and say so.
            metadata["warnings"] = [f"header 'Data Points' says {expected}, file holds "
                                    f"{len(rows)} rows"]
        return cls(_rows_to_spectra(rows, linenos, names, mapping, metadata, filename),
                   metadata, filename)


@register
class ZViewCsv(TextInstrumentFile):
    """ZView-style CSV (e.g. Autolab export, ``"Z60W Data File"``): quoted header block,
    a point-count line, a quoted column-name line, comma separated rows."""

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
        mapping = map_columns(names) or dict(_FALLBACK)
        rows, linenos = _read_rows(lines, lambda s: s.split(","), names, mapping, filename,
                                   decimal_comma=False)
        if not rows:
            raise ParseError("expected data rows after the column names, found none "
                             "(truncated file?)", file=filename, line=header_line)
        if expected is not None and expected != len(rows):
            metadata["warnings"] = [f"header declares {expected} points, file holds "
                                    f"{len(rows)} rows"]
        metadata["n_points_declared"] = expected
        return cls(_rows_to_spectra(rows, linenos, names, mapping, metadata, filename),
                   metadata, filename)
