"""Princeton Applied Research VersaStudio ``.par`` files (XML-like sections)."""

from __future__ import annotations

import re
from typing import Iterator

import numpy as np

from ._base import TextInstrumentFile
from ._common import map_columns, split_sweeps, to_float
from .errors import ParseError
from .models import ImpedanceSpectrum
from .registry import Head, register

_OPEN = re.compile(r"^\s*<Segment(\d+)>\s*$")


@register
class VersaStudioPar(TextInstrumentFile):
    """VersaStudio ``.par``: each ``<SegmentN>`` holds ``key=value`` lines, a
    ``Definition=`` line naming the columns, then comma-separated rows until ``</SegmentN>``.
    Segments with ``Frequency(Hz)``, ``Z Real``, ``Z Imag`` columns are impedance spectra
    (Z Imag is Im(Z), kept as is)."""

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
                seg = {"n": m.group(1), "names": None, "mapping": None, "rows": [],
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
        if seg["mapping"] is None or not seg["rows"]:
            return []
        data = np.array(seg["rows"], dtype=float)
        out = []
        for a, b in split_sweeps(data[:, 0]):
            meta = dict(metadata)
            meta.update({f"segment.{k}": v for k, v in seg["meta"].items()})
            meta["segment"] = int(seg["n"])
            out.append(ImpedanceSpectrum(
                frequency_hz=data[a:b, 0], z_real_ohm=data[a:b, 1], z_imag_ohm=data[a:b, 2],
                loop=start_loop + len(out), metadata=meta, source_file=filename,
                first_line=seg["lines"][a]))
        return out


def _segment_line(seg: dict, s: str, lineno: int, filename: str) -> None:
    """One line inside ``<SegmentN>``: ``key=value``, the ``Definition=`` line, or a row."""
    if seg["names"] is None:
        if s.startswith("Definition="):
            seg["names"] = [n.strip() for n in s[len("Definition="):].split(",")]
            seg["mapping"] = map_columns(seg["names"])
            seg["line"] = lineno
        elif "=" in s:
            k, _, v = s.partition("=")
            seg["meta"][k.strip()] = v.strip()
        return
    if seg["mapping"] is None or not s:
        return
    fields = s.split(",")
    names, m = seg["names"], seg["mapping"]
    idx = [m["freq"][0], m["real"][0], m["imag"][0]]
    if len(fields) < max(idx) + 1:
        raise ParseError(f"expected {len(names)} comma-separated fields, got "
                         f"{len(fields)} (truncated row?)", file=filename,
                         line=lineno, field=names[len(fields)])
    row = [to_float(fields[j], file=filename, line=lineno, field=names[j]) for j in idx]
    if m["imag"][1]:
        row[2] = -row[2]
    seg["rows"].append(row)
    seg["lines"].append(lineno)
