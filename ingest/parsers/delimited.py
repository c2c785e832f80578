"""Generic delimited impedance tables (CSV / TSV / semicolon / whitespace), with or without a
header, plus the instrument exports that are such tables: Parstat, CH Instruments, PowerSuite.
"""

from __future__ import annotations

import csv
import itertools
import re
from typing import Callable, Iterator

import numpy as np

from ._base import TextInstrumentFile
from ._common import is_number, split_sweeps
from .columns import ColumnPlan, resolve_columns
from .errors import ParseError
from .models import ImpedanceSpectrum
from .numbers import DecimalMark
from .registry import Head, register

SEPARATORS = ("\t", ";", ",", None)  # None = runs of whitespace
_SEP_NAMES = {"\t": "tab", ";": "semicolon", ",": "comma", None: "whitespace"}
_SNIFF_LINES = 400


def splitter(sep: str | None, strict: bool = False) -> Callable[[str], list[str]]:
    """A function splitting one line into stripped fields at ``sep`` (None: runs of whitespace).

    Double quotes are read as in CSV (``1,"150,2"`` is two fields); ``strict`` raises
    :class:`csv.Error` for unbalanced quotes (data rows), else they are read leniently (sniffing).
    A trailing separator adds no field.
    """
    if sep is None:
        return lambda s: s.split()

    def split(s: str) -> list[str]:
        if '"' in s:
            raw = next(csv.reader([s], delimiter=sep, skipinitialspace=True, strict=strict))
        else:
            raw = s.split(sep)
        fields = [f.strip().strip('"').strip() for f in raw]
        while len(fields) > 1 and fields[-1] == "":  # trailing separator
            fields.pop()
        return fields
    return split


def split_row(split: Callable[[str], list[str]], line: str, file: str, lineno: int
              ) -> list[str]:
    """The fields of a data row; ParseError naming the line for unbalanced quotes."""
    try:
        return split(line)
    except csv.Error as exc:
        raise ParseError(f"expected fields with balanced double quotes ('\"150,2\"'), "
                         f"got {line.strip()[:80]!r} ({exc})", file=file, line=lineno) from None


def _numeric_count(fields: list[str]) -> int:
    """How many fields look like numbers (a comma inside a field may be a decimal comma: after
    splitting, a comma-separated file has one only in a quoted field)."""
    return sum(1 for f in fields if is_number(f, True))


def _data_like(fields: list[str]) -> bool:
    k = _numeric_count(fields)
    return len(fields) >= 3 and k >= 2 and k >= len(fields) - 1


def sniff_separator(sample: list[str]) -> str | None | bool:
    """The separator that makes the most sample lines look like rows of numbers (False: none)."""
    best, best_score = False, 0
    for sep in SEPARATORS:
        split = splitter(sep)
        score = sum(1 for line in sample if _data_like(split(line)))
        if score > best_score:
            best, best_score = sep, score
    return best


@register
class DelimitedSpectra(TextInstrumentFile):
    """Frequency, Z', Z'' table.

    * separator sniffed: tab, semicolon, comma or whitespace; decimal comma accepted unless the
      separator is a comma;
    * header optional, recognised through ``columns.SPELLINGS`` (freq (kHz), Z', Zre, Re(Z),
      real, Z'', -Z'', -Im(Z), imag, |Z| with phase, units such as kOhm or rad); a leading minus
      means the column holds the negated quantity; an ambiguous or unrecognised header line
      right above the data is an error; without a header the first three columns are f, Z', Z'';
    * free-text lines before the table (instrument preambles) are kept in
      ``metadata["preamble"]``; once the table starts every non-empty line must be a row.
    """

    format = "csv"
    kinds = ("impedance",)
    suffixes = (".csv", ".tsv", ".txt")
    priority = 100
    description = "a delimited table of numbers"
    skip_zero_frequency = False

    @classmethod
    def sniff(cls, head: Head) -> bool:
        """At least 80 % of the lines from the first row of >= 3 numbers on are such rows."""
        sample = head.nonempty[:_SNIFF_LINES]
        if head.truncated and sample:
            sample = sample[:-1]  # last line may be cut by the sniff window
        sep = sniff_separator(sample) if sample else False
        if sep is False:
            return False
        split = splitter(sep)
        flags = [len(f := split(l)) >= 3 and _data_like(f) for l in sample]
        if True not in flags:
            return False
        rest = flags[flags.index(True):]
        return sum(rest) >= 0.8 * len(rest)

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
        metadata: dict = {"separator": _SEP_NAMES[sep], "preamble": []}
        all_lines = itertools.chain(head, lines)
        plan, header_line, first_data = _find_header(all_lines, split, sep, metadata,
                                                     filename)
        metadata["header_line"] = header_line
        metadata["columns"] = _columns_metadata(plan)
        if not metadata["preamble"]:
            del metadata["preamble"]
        raw, linenos = _read_rows(itertools.chain([first_data], all_lines), sep, plan,
                                  filename)
        freq, zr, zi = plan.convert(*raw, file=filename, lines=linenos)
        if cls.skip_zero_frequency:
            keep = freq != 0
            metadata["skipped_zero_frequency_rows"] = int(np.count_nonzero(~keep))
            freq, zr, zi, linenos = freq[keep], zr[keep], zi[keep], linenos[keep]
        if not len(freq):
            raise ParseError("expected impedance rows with a non-zero frequency, found none",
                             file=filename, line=header_line,
                             field=_field_name(plan, plan.index["frequency"]))
        return cls(spectra_from_arrays(freq, zr, zi, linenos, metadata, filename),
                   metadata, filename)


def spectra_from_arrays(freq, zr, zi, linenos, metadata: dict, filename: str
                        ) -> list[ImpedanceSpectrum]:
    """One ImpedanceSpectrum per frequency sweep of the point series."""
    spectra = []
    for a, b in split_sweeps(freq):
        spectra.append(ImpedanceSpectrum(
            frequency_hz=freq[a:b], z_real_ohm=zr[a:b], z_imag_ohm=zi[a:b],
            loop=len(spectra), metadata=dict(metadata), source_file=filename,
            first_line=int(linenos[a])))
    return spectra


def _looks_like_header(fields: list[str], line: str) -> bool:
    return (len(fields) >= 2 and _numeric_count(fields) == 0
            and "=" not in line and ":" not in line)


def _find_header(all_lines, split, sep, metadata: dict, filename: str):
    """(ColumnPlan, header line or None, first data (lineno, line)) of a delimited table.

    The first line naming frequency and impedance columns is the header; lines before the
    data are kept as preamble. A header-like line that names some but not all columns, or
    that sits right above the data with as many fields as the rows but names none, is an
    error listing the columns seen and the accepted spellings (never a guess).
    """
    plan = header_line = partial = None
    last = None  # (lineno, fields, line) of the non-empty line right above the data
    for lineno, line in all_lines:
        if not line.strip():
            last = None
            continue
        fields = split(line)
        if _data_like(fields):
            break
        last = (lineno, fields, line)
        if plan is None:
            forms = [fields] + ([re.split(r"\s{2,}", line.strip())] if sep is None else [])
            for cand in forms:
                try:
                    found = resolve_columns(cand, file=filename, line=lineno, required=False)
                except ParseError as exc:
                    if partial is None and _looks_like_header(cand, line):
                        partial = exc
                    continue
                if found is not None:
                    plan, header_line = found, lineno
                    break
            if header_line == lineno:
                continue
        metadata["preamble"].append(line)
        mm = re.match(r"^\s*([^=:]+?)\s*[=:]\s*(.*?)\s*$", line)
        if mm:
            metadata.setdefault(mm.group(1), mm.group(2))
    else:
        raise ParseError("expected data rows (frequency, Z', Z''), found none "
                         "(truncated file?)", file=filename, line=header_line)
    first_data = (lineno, line)
    if plan is None:
        if partial is not None:
            raise partial
        if last is not None and len(last[1]) == len(fields) and \
                _looks_like_header(last[1], last[2]):
            resolve_columns(last[1], file=filename, line=last[0], required=True)  # raises
        _refuse_unread_header(last, sep, filename)
        plan = ColumnPlan("cartesian", {"frequency": 0, "z_real": 1, "z_imag": 2},
                          {"frequency": 1.0, "z_real": 1.0, "z_imag": 1.0}, [])
    return plan, header_line, first_data


def _refuse_unread_header(last, sep, filename: str) -> None:
    """A text line right above headerless data is a header this table's separator does not split
    (``Freq (kHz);Zre (kOhm)`` over comma-separated rows): its units would be lost and the columns
    taken as Hz and ohm, so it is refused. Preamble lines (``key = value``, ``key: value``) and
    lines with numbers are not headers."""
    if last is None or _numeric_count(last[1]) or "=" in last[2] or ":" in last[2]:
        return
    raise ParseError(f"the line right above the data, {last[2].strip()[:80]!r}, is not a header of "
                     f"this table's {_SEP_NAMES[sep]}-separated columns: write the header with the "
                     "data's separator (frequency, Z', Z'' with their units), or leave no text line "
                     "right above a table without header (its columns are then read as frequency in Hz, "
                     "Z' and Z'' in ohm)", file=filename, line=last[0])


def _field_name(plan: ColumnPlan, i: int) -> str:
    return plan.names[i] if i < len(plan.names) else f"column {i + 1}"


def _columns_metadata(plan: ColumnPlan) -> dict:
    """Which column each array came from, its unit factor and sign (kept with the spectrum)."""
    out = {key: _field_name(plan, plan.index[key]) for key in plan.used}
    out["form"] = plan.form
    out["factors"] = {key: plan.factor[key] for key in plan.used}
    if plan.form == "cartesian":
        out["z_imag_negated"] = plan.factor["z_imag"] < 0
    return out


def _read_rows(rows, sep, plan: ColumnPlan, filename: str):
    """Raw values of the three used columns ([f, a, b] lists) and their line numbers.

    Every row is split first (quotes respected) and the file's decimal mark is decided from all
    the values read (:mod:`.numbers`) before any is converted."""
    split = splitter(sep, strict=True)
    idx = [plan.index[k] for k in plan.used]
    need = max(idx) + 1
    names = [_field_name(plan, i) for i in idx]
    tokens: list[list[str]] = []
    linenos = []
    for lineno, line in rows:
        if not line.strip():
            continue
        fields = split_row(split, line, filename, lineno)
        if len(fields) < need:
            raise ParseError(f"expected at least {need} {_SEP_NAMES[sep]}-separated fields, "
                             f"got {len(fields)} (truncated row?)", file=filename,
                             line=lineno, field=_field_name(plan, len(fields)))
        tokens.append([fields[i] for i in idx])
        linenos.append(lineno)
    mark = DecimalMark()
    for lineno, row in zip(linenos, tokens):
        for tok, name in zip(row, names):
            mark.observe(tok, file=filename, line=lineno, field=name)
    values = [[mark.to_float(tok, file=filename, line=lineno, field=name)
               for tok, name in zip(row, names)] for lineno, row in zip(linenos, tokens)]
    cols = [list(c) for c in zip(*values)] if values else [[], [], []]
    return cols, np.array(linenos, dtype=int)


@register
class ParstatTxt(DelimitedSpectra):
    """Parstat (VersaSTAT/PMC) text export: tab separated, header with ``Frequency (Hz)``,
    ``Zre (ohms)``, ``Zim (ohms)`` (Im(Z) as is).  Rows with frequency 0 are the DC part of the
    experiment (no impedance) and are skipped; their count is in
    ``metadata["skipped_zero_frequency_rows"]``."""

    format = "parstat"
    suffixes = (".txt",)
    priority = 350
    description = "Parstat"
    skip_zero_frequency = True

    @classmethod
    def sniff(cls, head: Head) -> bool:
        return bool(re.search(r"Frequency \(Hz\)", head.first)
                    and re.search(r"Zre \(ohms\)", head.first))


@register
class CHInstrumentsTxt(DelimitedSpectra):
    """CH Instruments "A.C. Impedance" text export: preamble, ``Freq/Hz, Z'/ohm, Z"/ohm, ...``
    (Z" is Im(Z), kept as is)."""

    format = "chi"
    suffixes = (".txt",)
    priority = 450
    description = "CH Instruments"

    @classmethod
    def sniff(cls, head: Head) -> bool:
        return head.text is not None and "A.C. Impedance" in head.text[:2000] and \
            head.search(r"Instrument Model:\s*CHI")
