"""Generic delimited impedance tables (CSV / TSV / semicolon / whitespace), with or without a
header, plus the instrument exports that are such tables: Parstat, CH Instruments, PowerSuite.
"""

from __future__ import annotations

import itertools
import re
from typing import Callable, Iterator

import numpy as np

from ._base import TextInstrumentFile
from ._common import classify_column, is_number, map_columns, split_sweeps, to_float
from .errors import ParseError
from .models import ImpedanceSpectrum

SEPARATORS = ("\t", ";", ",", None)  # None = runs of whitespace
_SEP_NAMES = {"\t": "tab", ";": "semicolon", ",": "comma", None: "whitespace"}
_SNIFF_LINES = 400


def splitter(sep: str | None) -> Callable[[str], list[str]]:
    if sep is None:
        return lambda s: s.split()

    def split(s: str) -> list[str]:
        fields = [f.strip().strip('"').strip() for f in s.split(sep)]
        while len(fields) > 1 and fields[-1] == "":  # trailing separator
            fields.pop()
        return fields
    return split


def _numeric_count(fields: list[str], decimal_comma: bool) -> int:
    return sum(1 for f in fields if is_number(f, decimal_comma))


def _data_like(fields: list[str], decimal_comma: bool) -> bool:
    k = _numeric_count(fields, decimal_comma)
    return len(fields) >= 3 and k >= 2 and k >= len(fields) - 1


def sniff_separator(sample: list[str]) -> str | None | bool:
    """The separator that makes the most sample lines look like rows of numbers (False: none)."""
    best, best_score = False, 0
    for sep in SEPARATORS:
        split = splitter(sep)
        score = sum(1 for line in sample if _data_like(split(line), sep != ","))
        if score > best_score:
            best, best_score = sep, score
    return best


class DelimitedSpectra(TextInstrumentFile):
    """Frequency, Z', Z'' table.

    * separator sniffed: tab, semicolon, comma or whitespace; decimal comma accepted unless the
      separator is a comma;
    * header optional, recognised case-insensitively (freq, frequency, f (Hz), Z', Zre, Re(Z),
      Z'', Zim, -Im(Z), -Z'' ...); a leading minus on the imaginary column means -Im(Z) is
      stored and it is negated; without a header the first three columns are f, Z', Z'';
    * free-text lines before the table (instrument preambles) are kept in
      ``metadata["preamble"]``; once the table starts every non-empty line must be a row.
    """

    format = "csv"
    skip_zero_frequency = False

    def __init__(self, spectra, metadata, filename):
        self.spectra = spectra
        self.metadata = metadata
        self.filename = filename

    @classmethod
    def _parse(cls, lines: Iterator[tuple[int, str]], filename: str):
        head = list(itertools.islice(lines, _SNIFF_LINES))
        if not any(l.strip() for _, l in head):
            raise ParseError("file is empty, expected a table of frequency, Z', Z''",
                             file=filename)
        sep = sniff_separator([l for _, l in head if l.strip()])
        if sep is False:
            raise ParseError("expected rows of at least three numbers (frequency, Z', Z''), "
                             "found none in the first lines", file=filename, line=1)
        split = splitter(sep)
        dec_comma = sep != ","
        metadata: dict = {"separator": _SEP_NAMES[sep], "preamble": []}
        names: list[str] = []
        mapping = None
        header_line = None
        all_lines = itertools.chain(head, lines)
        first_data = None
        for lineno, line in all_lines:
            if not line.strip():
                continue
            fields = split(line)
            if _data_like(fields, dec_comma):
                first_data = (lineno, line)
                break
            cand = fields
            m = map_columns(cand)
            if m is None and sep is None:
                cand = re.split(r"\s{2,}", line.strip())
                m = map_columns(cand)
            if m is not None and mapping is None:
                names, mapping, header_line = cand, m, lineno
                continue
            if mapping is None and len(cand) >= 2:
                kinds = {classify_column(c)[0] for c in cand} - {None}
                if len(kinds) >= 2 or (kinds and len(cand) >= 3 and
                                       _numeric_count(cand, dec_comma) == 0 and
                                       "=" not in line and ":" not in line):
                    missing = next(k for k in ("freq", "real", "imag") if k not in kinds)
                    label = {"freq": "frequency", "real": "Z' (real part)",
                             "imag": "Z'' (imaginary part)"}[missing]
                    raise ParseError(f"expected a {label} column in the header, found "
                                     f"{', '.join(cand)}", file=filename, line=lineno,
                                     field=label)
            metadata["preamble"].append(line)
            mm = re.match(r"^\s*([^=:]+?)\s*[=:]\s*(.*?)\s*$", line)
            if mm:
                metadata.setdefault(mm.group(1), mm.group(2))
        if first_data is None:
            raise ParseError("expected data rows (frequency, Z', Z''), found none "
                             "(truncated file?)", file=filename, line=header_line)
        if mapping is None:
            mapping = {"freq": (0, False), "real": (1, False), "imag": (2, False)}
            names = []
        metadata["header_line"] = header_line
        metadata["columns"] = {
            "frequency": names[mapping["freq"][0]] if names else "column 1",
            "z_real": names[mapping["real"][0]] if names else "column 2",
            "z_imag": names[mapping["imag"][0]] if names else "column 3",
            "z_imag_negated": bool(mapping["imag"][1])}
        if not metadata["preamble"]:
            del metadata["preamble"]
        fi, ri, ii = mapping["freq"][0], mapping["real"][0], mapping["imag"][0]
        neg = mapping["imag"][1]
        need = max(fi, ri, ii) + 1

        def fname(i):
            return names[i] if i < len(names) else f"column {i + 1}"

        freq, zr, zi, linenos = [], [], [], []
        skipped = 0
        for lineno, line in itertools.chain([first_data], all_lines):
            if not line.strip():
                continue
            fields = split(line)
            if len(fields) < need:
                raise ParseError(f"expected at least {need} {_SEP_NAMES[sep]}-separated fields, "
                                 f"got {len(fields)} (truncated row?)", file=filename,
                                 line=lineno, field=fname(len(fields)))
            f = to_float(fields[fi], decimal_comma=dec_comma, file=filename, line=lineno,
                         field=fname(fi))
            r = to_float(fields[ri], decimal_comma=dec_comma, file=filename, line=lineno,
                         field=fname(ri))
            i = to_float(fields[ii], decimal_comma=dec_comma, file=filename, line=lineno,
                         field=fname(ii))
            if cls.skip_zero_frequency and f == 0:
                skipped += 1
                continue
            freq.append(f)
            zr.append(r)
            zi.append(-i if neg else i)
            linenos.append(lineno)
        if cls.skip_zero_frequency:
            metadata["skipped_zero_frequency_rows"] = skipped
        if not freq:
            raise ParseError("expected impedance rows with a non-zero frequency, found none",
                             file=filename, line=header_line, field=fname(fi))
        freq_a = np.array(freq)
        spectra = []
        for a, b in split_sweeps(freq_a):
            spectra.append(ImpedanceSpectrum(
                frequency_hz=freq_a[a:b], z_real_ohm=zr[a:b], z_imag_ohm=zi[a:b],
                loop=len(spectra), metadata=dict(metadata), source_file=filename,
                first_line=linenos[a]))
        return cls(spectra, metadata, filename)


class ParstatTxt(DelimitedSpectra):
    """Parstat (VersaSTAT/PMC) text export: tab separated, header with ``Frequency (Hz)``,
    ``Zre (ohms)``, ``Zim (ohms)`` (Im(Z) as is).  Rows with frequency 0 are the DC part of the
    experiment (no impedance) and are skipped; their count is in
    ``metadata["skipped_zero_frequency_rows"]``."""

    format = "parstat"
    skip_zero_frequency = True


class CHInstrumentsTxt(DelimitedSpectra):
    """CH Instruments "A.C. Impedance" text export: preamble, ``Freq/Hz, Z'/ohm, Z"/ohm, ...``
    (Z" is Im(Z), kept as is)."""

    format = "chi"
