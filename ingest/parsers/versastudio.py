"""Princeton Applied Research VersaStudio ``.par`` files (XML-like sections)."""

from __future__ import annotations

import re
from typing import Iterator

import numpy as np

from ._base import TextInstrumentFile
from ._common import impedance_columns, split_sweeps, to_float
from .errors import ParseError
from .models import ImpedanceSpectrum
from .registry import Head, register

_OPEN = re.compile(r"^\s*<Segment(\d+)>\s*$")


@register
class VersaStudioPar(TextInstrumentFile):
    """VersaStudio ``.par``: each ``<SegmentN>`` holds ``key=value`` lines, a
    ``Definition=`` line naming the columns, then comma-separated rows until ``</SegmentN>``.
    Segments with ``Frequency(Hz)``, ``Z Real``, ``Z Imag`` columns are impedance spectra
    (Z Imag is Im(Z), kept as is); a unit in a column name (``Frequency(kHz)``, ``Z Real(kOhm)``)
    is converted to Hz / ohm, one of another dimension refused."""

    format = "versastudio_par"
    kinds = ("impedance",)
    suffixes = (".par",)
    priority = 600
    description = "VersaStudio"

    @classmethod
    def sniff(cls, head: Head) -> bool:
        return head.search(r"^<Segment\d+>") or (
            head.text is not None and "<Application>" in head.text
            and head.search(r"VersaStudio|PowerSTAT"))

    def __init__(self, spectra, metadata, filename):
        self.spectra = spectra
        self.metadata = metadata
        self.filename = filename

    @classmethod
    def _parse(cls, lines: Iterator[tuple[int, str]], filename: str):
        metadata: dict = {}
        section = None
        seg = None
        spectra: list[ImpedanceSpectrum] = []
        last = 0
        for lineno, line in lines:
            last = lineno
            s = line.strip()
            if seg is not None:
                if s == f"</Segment{seg['n']}>":
                    spectra.extend(cls._finish(seg, metadata, filename, len(spectra)))
                    seg = None
                else:
                    _segment_line(seg, s, lineno, filename)
                continue
            m = _OPEN.match(line)
            if m:
                seg = {"n": m.group(1), "names": None, "plan": None, "rows": [],
                       "lines": [], "meta": {}, "line": lineno}
                continue
            if re.match(r"^<(\w+)>$", s):
                section = s[1:-1]
            elif re.match(r"^</(\w+)>$", s):
                section = None
            elif section and "=" in s and section in ("Application", "Instrument",
                                                      "Experiment", "Action1"):
                k, _, v = s.partition("=")
                metadata.setdefault(f"{section}.{k.strip()}", v.strip())
        if seg is not None:
            raise ParseError(f"file ends inside <Segment{seg['n']}> (truncated file?)",
                             file=filename, line=last, field=f"Segment{seg['n']}")
        if not spectra:
            raise ParseError("expected a <SegmentN> with Frequency(Hz), Z Real and Z Imag "
                             "columns, found none", file=filename, field="Definition")
        return cls(spectra, metadata, filename)

    @staticmethod
    def _finish(seg, metadata, filename, start_loop):
        plan = seg["plan"]
        if plan is None or not seg["rows"]:
            return []
        data = np.array(seg["rows"], dtype=float)
        freq, zr, zi = plan.to_canonical(data[:, 0], data[:, 1], data[:, 2], file=filename,
                                         lines=seg["lines"])
        out = []
        for a, b in split_sweeps(freq):
            meta = dict(metadata)
            meta.update({f"segment.{k}": v for k, v in seg["meta"].items()})
            meta["segment"] = int(seg["n"])
            meta["columns"] = plan.columns_metadata()
            out.append(ImpedanceSpectrum(
                frequency_hz=freq[a:b], z_real_ohm=zr[a:b], z_imag_ohm=zi[a:b],
                loop=start_loop + len(out), metadata=meta, source_file=filename,
                first_line=seg["lines"][a]))
        return out


def _segment_line(seg: dict, s: str, lineno: int, filename: str) -> None:
    """One line inside ``<SegmentN>``: ``key=value``, the ``Definition=`` line, or a row."""
    if seg["names"] is None:
        if s.startswith("Definition="):
            seg["names"] = [n.strip() for n in s[len("Definition="):].split(",")]
            seg["plan"] = impedance_columns(seg["names"], file=filename, line=lineno)
            seg["line"] = lineno
        elif "=" in s:
            k, _, v = s.partition("=")
            seg["meta"][k.strip()] = v.strip()
        return
    plan = seg["plan"]
    if plan is None or not s:
        return
    fields = s.split(",")
    names = seg["names"]
    idx = [plan.index[k] for k in plan.used]
    if len(fields) < max(idx) + 1:
        raise ParseError(f"expected {len(names)} comma-separated fields, got "
                         f"{len(fields)} (truncated row?)", file=filename,
                         line=lineno, field=names[len(fields)])
    seg["rows"].append([to_float(fields[j], file=filename, line=lineno, field=names[j])
                        for j in idx])
    seg["lines"].append(lineno)
