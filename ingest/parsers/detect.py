"""Format detection from file CONTENT (the extension is only a tie-breaker)."""

from __future__ import annotations

import os
import re

from ._common import SNIFF_BYTES, check_size, read_head, sniff_encoding
from .biologic import MPR_MAGIC, MPT_MAGIC
from .cycling import map_cycling_columns
from .delimited import SEPARATORS, _data_like, sniff_separator, splitter
from .errors import ParseError
from .spreadsheet import workbook_kind

FORMATS = ("biologic_mpt", "biologic_mpr", "gamry_dta", "zplot", "zview_csv",
           "versastudio_par", "parstat", "chi", "csv", "cycling_csv", "xlsx", "impedance_xlsx",
           "cif")


def detect_format_bytes(head: bytes, filename: str = "<bytes>") -> str:
    """Format name for the first bytes of a file (see :func:`detect_format`)."""
    if not head.strip():
        raise ParseError("file is empty, expected instrument data", file=filename)
    if head.startswith(MPR_MAGIC):
        return "biologic_mpr"
    if head.startswith(b"PK\x03\x04"):
        if b"xl/" in head or b"[Content_Types].xml" in head or \
                str(filename).lower().endswith((".xlsx", ".xlsm")):
            return "xlsx"
        raise ParseError("expected an instrument file, found a ZIP archive that is not an "
                         ".xlsx workbook", file=filename)
    enc = sniff_encoding(head)
    if enc == "utf-16":
        text = head.decode("utf-16", errors="replace")
    else:
        if b"\x00" in head:
            raise ParseError("expected a text instrument file or a BioLogic .mpr, found "
                             "unrecognised binary data", file=filename)
        text = head.decode("utf-8" if enc.startswith("utf-8") else "latin-1", errors="replace")
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    nonempty = [l for l in lines if l.strip()]
    first = nonempty[0].strip() if nonempty else ""

    if first == MPT_MAGIC or any(re.match(r"^\s*Nb header lines\s*:", l) for l in lines[:3]):
        return "biologic_mpt"
    if first == "EXPLAIN" or ("ZCURVE\tTABLE" in text and re.search(r"^TAG\t", text, re.M)):
        return "gamry_dta"
    if re.search(r"zplot|zview", first, re.I) and not first.startswith('"'):
        return "zplot"
    if re.search(r"Z60W|ZView|ZPlot", first, re.I):
        return "zview_csv"
    if "End Comments" in text and re.search(r"zplot|zview", text, re.I):
        return "zplot"
    if re.search(r"^<Segment\d+>", text, re.M) or (
            "<Application>" in text and re.search(r"VersaStudio|PowerSTAT", text)):
        return "versastudio_par"
    if re.search(r"^\s*data_\S", text, re.M) and re.search(r"^\s*_cell_length_a\b", text, re.M):
        return "cif"
    if "A.C. Impedance" in text[:2000] and re.search(r"Instrument Model:\s*CHI", text):
        return "chi"
    head_cols = first.split("\t")
    if ("freq/Hz" in head_cols and "Re(Z)/Ohm" in head_cols) or (
            "cycle number" in head_cols and ("Ewe/V" in head_cols or "ox/red" in head_cols)):
        return "biologic_mpt"  # EC-Lab export without the header block
    if re.search(r"Frequency \(Hz\)", first) and re.search(r"Zre \(ohms\)", first):
        return "parstat"
    for line in nonempty[:30]:
        for sep in SEPARATORS:
            if map_cycling_columns(splitter(sep)(line)):
                return "cycling_csv"
    sample = nonempty[:400]
    if len(head) >= SNIFF_BYTES and sample:
        sample = sample[:-1]  # last line may be cut by the sniff window
    sep = sniff_separator(sample) if sample else False
    if sep is not False:
        split = splitter(sep)
        flags = [len(f := split(l)) >= 3 and _data_like(f, sep != ",") for l in sample]
        first = flags.index(True) if True in flags else None
        if first is not None and sum(flags[first:]) >= 0.8 * len(flags[first:]):
            return "csv"
    raise ParseError("unrecognised format: expected a BioLogic .mpt/.mpr, Gamry .DTA, "
                     "ZPlot/ZView, VersaStudio, Parstat, CH Instruments, CIF, XLSX or a "
                     "delimited table of numbers", file=filename, line=1)


def detect_format(path: str | os.PathLike) -> str:
    """Sniff the first KB of ``path`` and return its format name (one of ``FORMATS``).

    A workbook is opened to tell an impedance export from a cycling table (first sheet with a
    recognised header).

    Raises ParseError for missing, empty or unrecognised files.
    """
    check_size(path, None)
    fmt = detect_format_bytes(read_head(path), os.fspath(path))
    if fmt == "xlsx":
        with open(path, "rb") as fh:
            if workbook_kind(fh.read(), os.fspath(path)) == "impedance":
                return "impedance_xlsx"
    return fmt
