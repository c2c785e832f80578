"""BioLogic EC-Lab files: ``.mpt`` text exports (EIS and GCPL cycling) and ``.mpr`` binaries."""

from __future__ import annotations

import io
import re
from typing import Iterator

import numpy as np

from ._base import BinaryInstrumentFile, TextInstrumentFile
from ._common import impedance_columns, split_sweeps, to_float
from .errors import ParseError
from .models import CyclingData, ImpedanceSpectrum
from .numbers import DecimalMark
from .registry import Head, register

MPT_MAGIC = "EC-Lab ASCII FILE"
MPR_MAGIC = b"BIO-LOGIC MODULAR FILE"
_NB_HEADER = re.compile(r"^\s*Nb header lines\s*:\s*(\d+)\s*$", re.IGNORECASE)
_NB_HEADER_START = re.compile(r"^\s*Nb header lines\s*:")
#: an EC-Lab export without its header block is recognised from its column names only, so it
#: ranks below the formats with a distinctive header (CH Instruments) and above Parstat
HEADERLESS_SCORE = 400

LOOP_COLUMNS = ("z cycle", "loop", "cycle number")
CYCLING_MARKERS = ("Q charge/mA.h", "Q discharge/mA.h", "ox/red", "Ewe/V", "half cycle")
_CYCLING_READ = ("cycle number", "time/s", "Ewe/V", "I/mA", "<I>/mA", "control/mA", "ox/red")
_Q_CHARGE = re.compile(r"^Q charge/([^/]+)$", re.IGNORECASE)
_Q_DISCHARGE = re.compile(r"^Q discharge/([^/]+)$", re.IGNORECASE)


def _is_cycling(names: list[str]) -> bool:
    return "cycle number" in names and any(m in names for m in CYCLING_MARKERS)


def _header_metadata(lines: list[str]) -> dict:
    meta: dict[str, str] = {}
    for line in lines:
        if " : " in line:
            key, _, value = line.partition(" : ")
            key = key.strip()
            if key and key not in meta:
                meta[key] = value.strip()
        elif line.strip() and not line.startswith("\t") and re.match(r"^\S.*\s{2,}\S", line):
            key, value = re.split(r"\s{2,}", line.strip(), maxsplit=1)
            meta.setdefault(key, value.strip())
    return meta


# --------------------------------------------------------------------------- shared builders

def _spectra_from_columns(cols: dict[str, np.ndarray], names: list[str], *, filename: str,
                          metadata: dict, lines: np.ndarray | None, header_line: int | None,
                          loop_starts: np.ndarray | None = None) -> list[ImpedanceSpectrum]:
    """Spectra from the columns named in the header (units such as ``freq/kHz`` or
    ``Re(Z)/kOhm`` converted to Hz and ohm; ``-Im(Z)`` negated back)."""
    plan = impedance_columns(names, file=filename, line=header_line)
    if plan is None:
        raise ParseError("expected impedance columns (freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm), found "
                         + ", ".join(names), file=filename, line=header_line, field="freq/Hz")
    raw = [cols[names[plan.index[k]]] for k in plan.used]
    freq, zr, zi = plan.to_canonical(*raw, file=filename, lines=lines)
    loop_name = next((c for c in LOOP_COLUMNS if c in cols), None)
    if loop_starts is not None and len(loop_starts) > 1:
        groups = np.searchsorted(np.asarray(loop_starts), np.arange(len(freq)), side="right")
    elif loop_name is not None:
        groups = cols[loop_name]
    else:
        groups = None
    out = []
    for k, (a, b) in enumerate(split_sweeps(freq, groups)):
        meta = dict(metadata)
        meta["columns"] = plan.columns_metadata()
        if loop_name is not None:
            meta["cycle_number"] = int(round(float(cols[loop_name][a])))
        temp = None
        for tname in ("Temperature/°C", "T/°C", "Temperature/C"):
            if tname in cols:
                temp = float(np.mean(cols[tname][a:b])) + 273.15
                # the loop's own readings: ingest compares a record's stated temperature with them
                meta["temperature_column"] = tname
                meta["temperature_range_k"] = [float(np.min(cols[tname][a:b])) + 273.15,
                                               float(np.max(cols[tname][a:b])) + 273.15]
        out.append(ImpedanceSpectrum(
            frequency_hz=freq[a:b], z_real_ohm=zr[a:b], z_imag_ohm=zi[a:b], loop=k,
            temperature_k=temp, metadata=meta, source_file=filename,
            first_line=None if lines is None else int(lines[a])))
    return out


def _cycling_from_columns(cols: dict[str, np.ndarray], names: list[str], *, filename: str,
                          metadata: dict, header_line: int | None) -> CyclingData:
    if "cycle number" not in cols:
        raise ParseError("expected a 'cycle number' column for cycling data", file=filename,
                         line=header_line, field="cycle number")
    cycle = np.rint(cols["cycle number"]).astype(int)
    qc_name = next((n for n in names if _Q_CHARGE.match(n)), None)
    qd_name = next((n for n in names if _Q_DISCHARGE.match(n)), None)
    time = cols.get("time/s")
    volt = cols.get("Ewe/V")
    i_name = next((n for n in ("I/mA", "<I>/mA", "control/mA") if n in cols), None)
    current = cols[i_name] / 1000.0 if i_name else None
    order = list(dict.fromkeys(cycle.tolist()))
    if qc_name and qd_name:
        unit = _Q_CHARGE.match(qc_name).group(1)
        unit_d = _Q_DISCHARGE.match(qd_name).group(1)
        if unit != unit_d:
            raise ParseError(f"expected charge and discharge capacity in the same unit, got "
                             f"{unit!r} and {unit_d!r}", file=filename, line=header_line,
                             field=qd_name)
        qc, qd = cols[qc_name], cols[qd_name]
        charge = np.array([np.max(qc[cycle == c]) for c in order])
        discharge = np.array([np.max(qd[cycle == c]) for c in order])
        how = f"max of '{qc_name}' / '{qd_name}' per cycle"
    elif time is not None and current is not None:
        unit = "mA.h"
        dt = np.diff(time, prepend=time[0])
        # interval (t[i-1], t[i]) counts with I[i] only inside one half cycle (same sign of I)
        same = np.sign(current) == np.sign(np.roll(current, 1))
        same[0] = False
        q = np.where(same, current * 1000.0 * dt / 3600.0, 0.0)  # mA.h per point
        charge = np.array([q[(cycle == c) & (q > 0)].sum() for c in order])
        discharge = np.array([-q[(cycle == c) & (q < 0)].sum() for c in order])
        how = (f"integrated '{i_name}' over 'time/s' per cycle (positive current = charge; "
               "intervals where the current changes sign are not counted)")
    else:
        raise ParseError("expected 'Q charge/...' and 'Q discharge/...' columns, or 'time/s' "
                         "and 'I/mA' to integrate", file=filename, line=header_line,
                         field="Q charge/mA.h")
    with np.errstate(divide="ignore", invalid="ignore"):
        ce = np.where(charge > 0, discharge / charge * 100.0, np.nan)
    meta = dict(metadata)
    meta["capacity_source"] = how
    meta["coulombic_efficiency_source"] = "computed as discharge / charge * 100"
    return CyclingData(cycle=np.array(order, dtype=int), charge_capacity=charge,
                       discharge_capacity=discharge, coulombic_efficiency=ce,
                       capacity_unit=unit, metadata=meta, source_file=filename,
                       time_s=time, voltage_v=volt, current_a=current)


# --------------------------------------------------------------------------- .mpt

@register
class BioLogicMpt(TextInstrumentFile):
    """EC-Lab ASCII export (``.mpt``): tab separated, Latin-1, decimal point or comma.

    ``kind`` is "impedance" (freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm columns) or "cycling"
    (GCPL: cycle number, Q charge/..., Q discharge/..., Ewe/V, ...).
    """

    format = "biologic_mpt"
    kinds = ("impedance", "cycling")
    suffixes = (".mpt", ".txt")
    priority = 900
    description = "BioLogic .mpt/.mpr"
    encoding = "latin-1"

    def __init__(self, kind: str, columns: dict[str, np.ndarray], names: list[str],
                 metadata: dict, lines: np.ndarray, header_line: int, filename: str):
        self.kind = kind
        self.columns = columns
        self.names = names
        self.metadata = metadata
        self.lines = lines
        self.header_line = header_line
        self.filename = filename

    @property
    def spectra(self) -> list[ImpedanceSpectrum]:
        if self.kind != "impedance":
            raise ParseError("expected impedance columns (freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm), "
                             f"found a {self.kind} file", file=self.filename,
                             line=self.header_line, field="freq/Hz")
        return _spectra_from_columns(self.columns, self.names, filename=self.filename,
                                     metadata=self.metadata, lines=self.lines,
                                     header_line=self.header_line)

    @property
    def cycling(self) -> CyclingData:
        if self.kind != "cycling":
            raise ParseError("expected cycling columns (cycle number, Q charge/..., "
                             f"Q discharge/..., Ewe/V), found a {self.kind} file",
                             file=self.filename, line=self.header_line, field="cycle number")
        return _cycling_from_columns(self.columns, self.names, filename=self.filename,
                                     metadata=self.metadata, header_line=self.header_line)

    @classmethod
    def sniff(cls, head: Head) -> bool | float:
        """Magic line or 'Nb header lines'; a weaker score for a headerless EC-Lab export."""
        if head.first == MPT_MAGIC or any(_NB_HEADER_START.match(l) for l in head.lines[:3]):
            return True
        cols = head.first.split("\t")
        if ("freq/Hz" in cols and "Re(Z)/Ohm" in cols) or (
                "cycle number" in cols and ("Ewe/V" in cols or "ox/red" in cols)):
            return HEADERLESS_SCORE
        return False

    @classmethod
    def _parse(cls, lines: Iterator[tuple[int, str]], filename: str) -> "BioLogicMpt":
        header_text, header_line, col_line = _read_header(lines, filename)
        names = col_line.split("\t")
        while names and not names[-1].strip():
            names.pop()
        names = [n.strip() for n in names]
        metadata = _header_metadata(header_text)
        if header_text:
            metadata["technique"] = next((t.strip() for t in header_text if t.strip()
                                          and " : " not in t and not t.startswith("\t")), "")
        kind, wanted = _wanted_columns(names, filename, header_line)
        cols, linenos = _read_values(lines, names, wanted, filename, header_line)
        return cls(kind, cols, names, metadata, linenos, header_line, filename)


def _read_header(lines: Iterator[tuple[int, str]], filename: str
                 ) -> tuple[list[str], int, str]:
    """(header lines before the column names, line number and text of the column names)."""
    first = next(lines, None)
    if first is None:
        raise ParseError("file is empty, expected an EC-Lab ASCII file", file=filename)
    if first[1].strip() != MPT_MAGIC:  # export without the header block
        header_line, col_line = first
        if "\t" not in col_line:
            raise ParseError(f"expected '{MPT_MAGIC}' or tab-separated EC-Lab column names",
                             file=filename, line=1)
        return [], header_line, col_line
    second = next(lines, None)
    m = _NB_HEADER.match(second[1]) if second else None
    if not m:
        raise ParseError("expected 'Nb header lines : N' after 'EC-Lab ASCII FILE'",
                         file=filename, line=2, field="Nb header lines")
    n_header = int(m.group(1))
    if n_header < 3:
        raise ParseError(f"expected at least 3 header lines, got {n_header}",
                         file=filename, line=2, field="Nb header lines")
    header_text: list[str] = []
    lineno = second[0]
    while lineno < n_header:
        nxt = next(lines, None)
        if nxt is None:
            raise ParseError(f"file ends at line {lineno}, inside the {n_header}-line "
                             "header (truncated file?)", file=filename, line=lineno)
        lineno, line = nxt
        header_text.append(line)
    col_line = header_text.pop() if header_text else ""
    return header_text, lineno, col_line


def _wanted_columns(names: list[str], filename: str, header_line: int
                    ) -> tuple[str, list[str]]:
    """The file's kind and the columns to read for it; ParseError naming a missing column."""
    plan = impedance_columns(names, file=filename, line=header_line)
    if plan is not None:
        wanted = [names[plan.index[k]] for k in plan.used]
        wanted += [c for c in LOOP_COLUMNS + ("Temperature/°C",) if c in names]
        return "impedance", wanted
    if _is_cycling(names):
        return "cycling", [n for n in names if n in _CYCLING_READ
                           or _Q_CHARGE.match(n) or _Q_DISCHARGE.match(n)]
    missing = next(n for n in ("freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm") if n not in names)
    raise ParseError(f"expected impedance columns (freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm) or "
                     f"GCPL cycling columns (cycle number, Q charge/mA.h, ...); "
                     f"column {missing!r} is missing", file=filename,
                     line=header_line, field=missing)


def _read_values(lines: Iterator[tuple[int, str]], names: list[str], wanted: list[str],
                 filename: str, header_line: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The wanted columns as float arrays, and the line number of every row."""
    idx = [names.index(w) for w in wanted]
    need = max(idx) + 1
    values: list[list[float]] = [[] for _ in wanted]
    linenos: list[int] = []
    mark = DecimalMark()  # the file's decimal mark, learnt from its numbers
    for lineno, line in lines:
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < need:
            raise ParseError(f"expected {len(names)} tab-separated fields, got "
                             f"{len(fields)} (truncated row?)", file=filename,
                             line=lineno, field=names[len(fields)] if len(fields) < len(names)
                             else None)
        for k, (j, w) in enumerate(zip(idx, wanted)):
            values[k].append(to_float(fields[j], decimal_comma=mark, file=filename,
                                      line=lineno, field=w))
        linenos.append(lineno)
    if not linenos:
        raise ParseError(f"expected data rows after the column names on line "
                         f"{header_line}, found none (truncated file?)", file=filename,
                         line=header_line)
    return {w: np.array(v, dtype=float) for w, v in zip(wanted, values)}, np.array(linenos)


# --------------------------------------------------------------------------- .mpr

_GALVANI_HINT = ("reading BioLogic .mpr binaries needs the optional GPL package 'galvani': "
                 "install the optional extra ionbase[biologic] (pip install galvani), "
                 "or export the file as .mpt text from EC-Lab")


@register
class BioLogicMpr(BinaryInstrumentFile):
    """EC-Lab binary (``.mpr``) read with the optional ``galvani`` package (GPL)."""

    format = "biologic_mpr"
    kinds = ("impedance", "cycling")
    suffixes = (".mpr",)
    priority = 1000
    expected = "a BioLogic .mpr binary"

    def __init__(self, kind: str, columns: dict[str, np.ndarray], names: list[str],
                 metadata: dict, loop_index, filename: str):
        self.kind = kind
        self.columns = columns
        self.names = names
        self.metadata = metadata
        self.loop_index = loop_index
        self.filename = filename

    @classmethod
    def sniff(cls, head: Head) -> bool:
        return head.data.startswith(MPR_MAGIC)

    @classmethod
    def _parse_bytes(cls, data: bytes, filename: str) -> "BioLogicMpr":
        if not data.startswith(MPR_MAGIC):
            raise ParseError(f"expected a BioLogic binary starting with "
                             f"{MPR_MAGIC.decode()!r}", file=filename)
        try:
            from galvani.BioLogic import MPRfile
        except ImportError:
            raise ParseError(_GALVANI_HINT, file=filename) from None
        try:
            mpr = MPRfile(io.BytesIO(data))
        except Exception as exc:  # galvani raises ValueError/NotImplementedError/struct.error
            raise ParseError(f"could not decode the BioLogic binary: {exc}",
                             file=filename) from None
        names = list(mpr.data.dtype.names)
        cols = {n: np.asarray(mpr.data[n], dtype=float) for n in names}
        meta = {"version": getattr(mpr, "version", None)}
        for attr in ("startdate", "enddate", "timestamp"):
            val = getattr(mpr, attr, None)
            if val is not None:
                meta[attr] = val.isoformat()
        if impedance_columns(names, file=filename, line=None) is not None:
            kind = "impedance"
        elif _is_cycling(names):
            kind = "cycling"
        else:
            raise ParseError("expected impedance columns (freq/Hz, Re(Z)/Ohm, -Im(Z)/Ohm) or "
                             "GCPL cycling columns in the binary; found "
                             + ", ".join(names), file=filename, field="freq/Hz")
        return cls(kind, cols, names, meta, getattr(mpr, "loop_index", None), filename)

    @property
    def spectra(self) -> list[ImpedanceSpectrum]:
        if self.kind != "impedance":
            raise ParseError(f"expected impedance data, found a {self.kind} file",
                             file=self.filename, field="freq/Hz")
        return _spectra_from_columns(self.columns, self.names, filename=self.filename,
                                     metadata=self.metadata, lines=None, header_line=None,
                                     loop_starts=self.loop_index)

    @property
    def cycling(self) -> CyclingData:
        if self.kind != "cycling":
            raise ParseError(f"expected cycling data, found a {self.kind} file",
                             file=self.filename, field="cycle number")
        return _cycling_from_columns(self.columns, self.names, filename=self.filename,
                                     metadata=self.metadata, header_line=None)
