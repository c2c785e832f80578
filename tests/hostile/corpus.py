"""Generate the hostile-input corpus: every case is a folder that `ionbase import` must refuse.

Generated, not hand-picked: mutations of the seed YAML, the spreadsheet templates (templates/) and the
real instrument files in tests/data/ (truncations and byte flips of every format), plus one case per
class of issue 14 (tracebacks, garbage accepted, silent loss, resources). Mutations are chosen so the
result is invalid by construction (a truncation cuts inside a unit or leaves a short row; a text byte
flip writes a control character; a binary flip lands in a zip member or a file's magic): a mutation
that could still be valid data (a digit flipped into another digit) cannot be refused by anyone and is
not generated.

Usage: ``python tests/hostile/corpus.py OUT_DIR`` writes the folders and prints one line per case.
"""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEED_YAML = REPO / "seed_data" / "nacb11h12_smallmethods_2024.yaml"
ROUNDTRIP = REPO / "tests" / "data" / "lab" / "roundtrip.yaml"
TEMPLATES = REPO / "templates"
XLSX = TEMPLATES / "ionbase-template.xlsx"
EIS = REPO / "tests" / "data" / "eis" / "impedance_py"
INSTRUMENT = REPO / "tests" / "data" / "instrument"
#: real instrument files of every text format Ionbase reads, and the binary one
INSTRUMENT_TEXT = [EIS / n for n in ("exampleData.csv", "exampleDataBioLogic.mpt", "exampleDataGamry.DTA",
                                     "exampleDataZPlot.z", "exampleDataParstat.txt", "exampleDataVersaStudio.par",
                                     "exampleDataCHInstruments.txt", "exampleDataAutolab.txt")]
INSTRUMENT_BINARY = [EIS / "exampleDataBioLogic.mpr"]
CIF = INSTRUMENT / "Na3InCl6_like_P21n.cif"

SOURCE = "source: {notebook: NB-HOSTILE}\n"
SAMPLES = SOURCE + "samples:\n  - {label: H1, material: Na3InCl6}\n"
CSV_HEAD = "# notebook: NB-HOSTILE\n"


@dataclass
class Case:
    """One corpus entry: its folder, the class it stands for and the file its error must name."""

    name: str
    cls: str
    folder: Path
    names_file: str
    heavy: bool = False
    files: list[str] = field(default_factory=list)


class Corpus:
    def __init__(self, root: Path, seed: int = 14):
        self.root = root
        self.rng = random.Random(seed)
        self.cases: list[Case] = []

    def case(self, name: str, cls: str, files: dict[str, bytes | str], names_file: str, heavy: bool = False) -> Case:
        folder = self.root / name
        folder.mkdir(parents=True)
        for fname, data in files.items():
            path = folder / fname
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, str):
                data = data.encode("utf-8")
            path.write_bytes(data)
        c = Case(name, cls, folder, names_file, heavy, sorted(files))
        self.cases.append(c)
        return c


# ------------------------------------------------------------------ mutations

_UNIT_IN_TEXT = re.compile(rb"\d (mS/cm|S/cm|eV|min)\b")


def truncate_in_unit(data: bytes, rng: random.Random) -> bytes:
    """Cut right after the first letter of a unit that follows a number ('0.5 mS/cm' -> '0.5 m'):
    the value that is left is in another unit of another dimension (or no unit), so it must be refused."""
    def in_comment(pos: int) -> bool:
        return b"#" in data[data.rfind(b"\n", 0, pos) + 1:pos]

    spots = [m.start(1) + 1 for m in _UNIT_IN_TEXT.finditer(data) if not in_comment(m.start())]
    cut = rng.choice(spots[len(spots) // 3:])
    return data[:cut]


def truncate_row(data: bytes, rng: random.Random, delimiter: bytes, numeric: bool = True) -> bytes:
    """Cut a delimited text file right after a delimiter of a data row: its last row is short.
    Data rows are the numeric rows of an instrument file, or every row after a table's header."""
    lines = data.split(b"\n")
    rows = [i for i, line in enumerate(lines) if line.count(delimiter) >= 2 and not line.startswith(b"#")
            and (re.match(rb"\s*[-+]?\d", line) or not numeric)]
    rows = rows if numeric else rows[1:]
    i = rng.choice(rows[len(rows) // 2:])
    line = lines[i]
    return b"\n".join(lines[:i] + [line[: line.index(delimiter) + 1]])


def flip_control(data: bytes, rng: random.Random) -> bytes:
    """Overwrite one byte inside a data line with a control character (NUL .. 0x1f, not tab/newline)."""
    pos = rng.randrange(len(data) // 4, len(data) - 2)
    while data[pos:pos + 1] in (b"\n", b"\r"):
        pos += 1
    value = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 20, 26, 27, 31])
    return data[:pos] + bytes([value]) + data[pos + 1:]


def flip_zip(data: bytes, rng: random.Random) -> bytes:
    """Flip one byte inside the compressed data of a zip member (the CRC no longer matches)."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    info = rng.choice([i for i in zf.infolist() if i.filename.startswith("xl/worksheets/") and i.compress_size > 8])
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    pos = start + rng.randrange(2, info.compress_size - 2)
    return data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1:]


def _rezip(data: bytes, edit) -> bytes:
    """The workbook with its members passed through ``edit(name, bytes) -> bytes | None`` (None drops it)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = edit(info.filename, src.read(info.filename))
            if body is not None:
                dst.writestr(info.filename, body)
    return out.getvalue()


def _manifest(instrument_name: str) -> str:
    return SAMPLES + f"measurements:\n  - {{sample: H1, kind: impedance_spectrum, file: {instrument_name}}}\n"


# ------------------------------------------------------------------ generators


def mutations(c: Corpus) -> None:
    """Truncations and byte flips of every format: seed YAML, JSON, JSONL, CSV templates, XLSX, instruments."""
    seed = SEED_YAML.read_bytes()
    for i in range(3):
        c.case(f"trunc-yaml-{i}", "truncation", {"seed.yaml": truncate_in_unit(seed, c.rng)}, "seed.yaml")
        c.case(f"flip-yaml-{i}", "byte flip", {"seed.yaml": flip_control(seed, c.rng)}, "seed.yaml")
    import yaml

    as_json = json.dumps(yaml.safe_load(ROUNDTRIP.read_text()), default=str, indent=1).encode()
    c.case("trunc-json", "truncation", {"rt.json": as_json[: len(as_json) * 2 // 3]}, "rt.json")
    c.case("flip-json", "byte flip", {"rt.json": flip_control(as_json, c.rng)}, "rt.json")
    jsonl = (b'{"source": {"notebook": "NB-H"}}\n' + b'{"record": "sample", "label": "J1", "material": "Na3InCl6"}\n' * 1
             + b'{"record": "property", "sample": "J1", "name": "activation_energy", "value": "0.4 eV"}\n')
    c.case("trunc-jsonl", "truncation", {"rt.jsonl": jsonl[:-20]}, "rt.jsonl")
    c.case("flip-jsonl", "byte flip", {"rt.jsonl": flip_control(jsonl, c.rng)}, "rt.jsonl")
    for name in ("samples", "steps", "conductivity", "properties", "structures", "sites"):
        data = (TEMPLATES / f"{name}.csv").read_bytes()
        extra = {} if name == "samples" else {"samples.csv": (TEMPLATES / "samples.csv").read_bytes()}
        c.case(f"trunc-csv-{name}", "truncation", {**extra, f"{name}.csv": truncate_row(data, c.rng, b",", numeric=False)}, f"{name}.csv")
        c.case(f"flip-csv-{name}", "byte flip", {**extra, f"{name}.csv": flip_control(data, c.rng)}, f"{name}.csv")
    xlsx = XLSX.read_bytes()
    for i, frac in enumerate((0.3, 0.6, 0.9)):
        c.case(f"trunc-xlsx-{i}", "truncation", {"t.xlsx": xlsx[: int(len(xlsx) * frac)]}, "t.xlsx")
        c.case(f"flip-xlsx-{i}", "byte flip", {"t.xlsx": flip_zip(xlsx, c.rng)}, "t.xlsx")
    for path in INSTRUMENT_TEXT:
        data = path.read_bytes()
        delim = b"\t" if data.count(b"\t") > data.count(b",") else b","
        name = path.name
        c.case(f"trunc-{path.suffix[1:]}-{path.stem[11:] or 'csv'}", "truncation",
               {"m.yaml": _manifest(name), name: truncate_row(data, c.rng, delim)}, name)
        c.case(f"flip-{path.suffix[1:]}-{path.stem[11:] or 'csv'}", "byte flip",
               {"m.yaml": _manifest(name), name: flip_control(data, c.rng)}, name)
    for path in INSTRUMENT_BINARY:
        data = path.read_bytes()
        c.case("trunc-mpr", "truncation", {"m.yaml": _manifest(path.name), path.name: data[: len(data) // 2]}, path.name)
        c.case("flip-mpr", "byte flip", {"m.yaml": _manifest(path.name), path.name: bytes([data[0] ^ 0x20]) + data[1:]}, path.name)
    cif = CIF.read_bytes()
    st = SAMPLES + "structures:\n  - {sample: H1, method: xrd_rietveld, cif: s.cif}\n"
    c.case("trunc-cif", "truncation", {"m.yaml": st, "s.cif": cif[: cif.index(b"_cell_length_b")]}, "s.cif")
    c.case("flip-cif", "byte flip", {"m.yaml": st, "s.cif": flip_control(cif, c.rng)}, "s.cif")


def tracebacks(c: Corpus) -> None:
    """Point 4: every input that ended in a traceback."""
    samples = (TEMPLATES / "samples.csv").read_text()
    structures = (TEMPLATES / "structures.csv").read_text()
    sites = (TEMPLATES / "sites.csv").read_text()
    c.case("blank-required-cell", "KeyError", {"samples.csv": samples, "structures.csv": structures,
                                               "sites.csv": sites.replace("NIZC-0.5-BM,main,Na2", ",main,Na2")}, "sites.csv")
    c.case("blank-method", "KeyError", {"samples.csv": samples,
                                        "structures.csv": structures.replace("NIZC-0.5-BM,pdf,", "NIZC-0.5-BM,,")}, "structures.csv")
    c.case("short-row", "KeyError", {"samples.csv": samples, "structures.csv": structures.rstrip("\n").rsplit(",", 12)[0] + "\n"},
           "structures.csv")
    spec = (EIS / "exampleData.csv").read_text().splitlines()
    for bad in ("nan", "inf", "-inf", "1e400"):
        rows = list(spec)
        rows[5] = f"{rows[5].split(',')[0]},{bad},{rows[5].split(',')[2]}"
        c.case(f"instrument-{bad}", "BulkWriteError", {"m.yaml": _manifest("e.csv"), "e.csv": "\n".join(rows) + "\n"}, "e.csv")
    for unc in (".inf", "1e400", ".nan"):
        c.case(f"uncertainty-{unc.strip('.')}", "BulkWriteError", {"p.yaml": SAMPLES + "properties:\n  - {sample: H1, name: activation_energy, "
                                                                     f"value: 0.4, unit: eV, uncertainty: {unc}}}\n"}, "p.yaml")
    c.case("note-50mb", "DocumentTooLarge", {"n.yaml": SAMPLES.replace("Na3InCl6}", "Na3InCl6, notes: '" + "x" * 50_000_000 + "'}")},
           "n.yaml", heavy=True)
    bomb = "a: &a [" + ",".join(["x"] * 10) + "]\n"
    for i in range(1, 9):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 10) + "]\n"
    nested = "description:\n" + "".join("  " + line + "\n" for line in bomb.splitlines())
    c.case("yaml-alias-bomb", "DocumentTooLarge", {"b.yaml": nested + SAMPLES.replace("Na3InCl6}", "Na3InCl6, notes: *i}")}, "b.yaml")
    c.case("yaml-alias-bomb-top", "DocumentTooLarge", {"b.yaml": bomb + SAMPLES}, "b.yaml")
    c.case("xlsx-huge-string", "DocumentTooLarge", {"h.xlsx": _xlsx_with_cell("x" * 3_000_000)}, "h.xlsx")
    c.case("xlsx-huge-part", "DocumentTooLarge", {"h.xlsx": _xlsx_huge_part(300_000_000)}, "h.xlsx", heavy=True)
    deep = 100_000
    c.case("deep-yaml", "RecursionError", {"d.yaml": SAMPLES + "description: " + "[" * deep + "]" * deep + "\n"}, "d.yaml")
    c.case("deep-yaml-block", "RecursionError", {"d.yaml": SAMPLES.replace("Na3InCl6}", "Na3InCl6, notes: " + "{a: " * 2000 + "1" + "}" * 2000 + "}")}, "d.yaml")
    c.case("deep-json", "RecursionError", {"d.json": '{"samples": [{"label": "H1", "material": "Na3InCl6", "notes": ' + "[" * deep + "]" * deep + "}]}"}, "d.json")
    c.case("deep-jsonl", "RecursionError", {"d.jsonl": '{"record": "sample", "label": "H1", "material": "Na3InCl6", "notes": ' + "[" * deep + "]" * deep + "}\n"}, "d.jsonl")
    c.case("deep-json-moderate", "RecursionError", {"d.json": '{"samples": [{"label": "H1", "material": "Na3InCl6", "notes": ' + "[" * 400 + "]" * 400 + "}]}"}, "d.json")
    for fld, val in (("z", ".inf"), ("z", ".nan"), ("z", "1e308"), ("number", ".inf"), ("number", "1e308")):
        phase = "{name: p, lattice: {a: 4 Å}, " + (f"z: {val}" if fld == "z" else f"space_group: {{symbol: Pm-3m, number: {val}}}") + "}"
        c.case(f"int-{fld}-{val.strip('.')}", "OverflowError", {"s.yaml": SAMPLES + f"structures:\n  - {{sample: H1, method: xrd, phases: [{phase}]}}\n"}, "s.yaml")
    c.case("int-multiplicity-inf", "OverflowError", {"samples.csv": samples, "structures.csv": structures,
                                                     "sites.csv": sites.replace(",2b,2,", ",2b,inf,")}, "sites.csv")
    c.case("int-multiplicity-1e308", "OverflowError", {"samples.csv": samples, "structures.csv": structures,
                                                       "sites.csv": sites.replace(",2b,2,", ",2b,1e308,")}, "sites.csv")
    c.case("int-z-nan-csv", "OverflowError", {"samples.csv": samples, "structures.csv": structures.replace(",14,6.402", ",nan,6.402")}, "structures.csv")
    c.case("step-order-abc", "ValueError", {"samples.csv": samples, "steps.csv": (TEMPLATES / "steps.csv").read_text().replace("NIZC-0.5-BM,1,", "NIZC-0.5-BM,abc,")}, "steps.csv")
    c.case("csv-field-200kb", "_csv.Error", {"samples.csv": CSV_HEAD + 'label,formula,notes\nH1,Na3InCl6,"' + "y" * 200_000 + '"\n'}, "samples.csv")
    rows = "".join(f"H1,{300 + i / 10:.1f},{0.01 + i / 1e5:.5f}\n" for i in range(5000))
    late = (CSV_HEAD + "sample,T (K),sigma (mS/cm)\n" + rows).encode() + b"H1,900,0.5\xff\xfe\n"
    c.case("csv-late-undecodable", "UnicodeDecodeError", {"samples.csv": CSV_HEAD + "label,formula\nH1,Na3InCl6\n", "props.csv": late}, "props.csv")
    c.case("xlsx-entity-bomb", "XML", {"x.xlsx": _xlsx_edit_sheet(b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                                                                  + b"".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";" if i > 1 else "&lol;") * 10}">'.encode() for i in range(1, 10))
                                                                  + b"]>", b"&lol9;")}, "x.xlsx")
    c.case("xlsx-xxe", "XML", {"x.xlsx": _xlsx_edit_sheet(b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', b"&xxe;")}, "x.xlsx")
    # a YAML or JSON escape can make a lone UTF-16 surrogate, which no UTF-8 encoder takes (review finding)
    c.case("yaml-lone-surrogate", "UnicodeEncodeError", {"u.yaml": SAMPLES.replace("label: H1", 'label: "H\\uD800"')}, "u.yaml")
    c.case("yaml-lone-surrogate-key", "UnicodeEncodeError",
           {"u.yaml": SAMPLES.replace("label: H1", 'label: H1, "n\\uDC00": 1')}, "u.yaml")
    c.case("json-lone-surrogate", "UnicodeEncodeError",
           {"u.json": '{"source": {"notebook": "NB-HOSTILE"}, "samples": [{"label": "H\\ud800", "material": "Na3InCl6"}]}'}, "u.json")
    c.case("jsonl-lone-surrogate", "UnicodeEncodeError",
           {"u.jsonl": '{"source": {"notebook": "NB-HOSTILE"}}\n{"record": "sample", "label": "H\\udfff", "material": "Na3InCl6"}\n'},
           "u.jsonl")
    c.case("file-is-directory", "IsADirectoryError", {"m.yaml": _manifest("sub"), "sub/keep.txt": "x"}, "m.yaml")
    c.case("file-etc", "IsADirectoryError", {"m.yaml": _manifest("/etc")}, "m.yaml")
    c.case("csv-header-50mb", "resources", {"samples.csv": CSV_HEAD + "label," + "c" * 50_000_000 + "\nH1,x\n"}, "samples.csv", heavy=True)


def garbage(c: Corpus) -> None:
    """Point 5: garbage and silent loss accepted before."""
    prop = SAMPLES + "properties:\n  - {sample: H1, name: %s, value: '%s'%s}\n"
    t25 = ", conditions: {temperature: 25 °C}"
    for name, value, cond in (("ionic_conductivity", "1e308 S/cm", t25), ("activation_energy", "-1 eV", ""),
                              ("ionic_conductivity", "1 mS/cm", ", conditions: {temperature: 1e308 °C}"),
                              ("ionic_conductivity", "1 mS/cm", ", conditions: {temperature: -5 K}"),
                              ("lattice_a", "1e308 Å", ""), ("band_gap", "1e308 eV", "")):
        c.case(f"range-{name}-{value.split()[0]}{cond[-10:-1].replace(' ', '').replace(':', '')}", "range",
               {"p.yaml": prop % (name, value, cond)}, "p.yaml")
    c.case("range-series-x-inf", "range", {"m.yaml": SOURCE + "materials:\n  - {key: M, formula: Na3InCl6, series: {name: s, parameter: x, nominal: .inf}}\n"
                                            "samples:\n  - {label: H1, material: M}\n"}, "m.yaml")
    c.case("range-series-points-inf", "range", {"m.yaml": SAMPLES + "measurements:\n  - {sample: H1, kind: conductivity_series, points: "
                                                "[{temperature: 300 K, conductivity: 1 mS/cm}, {temperature: inf K, conductivity: 2 mS/cm}], carrier: ionic}\n"}, "m.yaml")
    c.case("range-csv-lattice", "range", {"samples.csv": (TEMPLATES / "samples.csv").read_text(),
                                          "structures.csv": (TEMPLATES / "structures.csv").read_text().replace("6.402(2)", "1e308")}, "structures.csv")
    spec = (EIS / "exampleData.csv").read_text().splitlines()
    for label, freq in (("neg", "-1"), ("huge", "1e308"), ("zero", "0")):
        rows = list(spec)
        rows[3] = f"{freq},{rows[3].split(',', 1)[1]}"
        c.case(f"range-frequency-{label}", "range", {"m.yaml": _manifest("e.csv"), "e.csv": "\n".join(rows) + "\n"}, "e.csv")
    mpt = (EIS / "exampleDataBioLogic.mpt").read_text(encoding="latin-1").splitlines()
    header_lines = int(re.search(r"Nb header lines : (\d+)", "\n".join(mpt)).group(1))
    c.case("range-mpt-0-points", "range", {"m.yaml": _manifest("e.mpt"), "e.mpt": "\n".join(mpt[:header_lines]) + "\n"}, "e.mpt")
    c.case("range-csv-0-points", "range", {"m.yaml": _manifest("e.csv"), "e.csv": "frequency (Hz),Z' (ohm),Z'' (ohm)\n"}, "e.csv")
    structures = (TEMPLATES / "structures.csv").read_text()
    c.case("conflicting-structure-rows", "conflict", {"samples.csv": (TEMPLATES / "samples.csv").read_text(),
                                                      "structures.csv": structures + structures.splitlines()[-1].replace("6.402(2)", "6.5(2)") + "\n"}, "structures.csv")
    sites = (TEMPLATES / "sites.csv").read_text()
    c.case("conflicting-site-rows", "conflict", {"samples.csv": (TEMPLATES / "samples.csv").read_text(), "structures.csv": structures,
                                                 "sites.csv": sites + sites.splitlines()[-1].replace(",0.95,", ",0.5,") + "\n"}, "sites.csv")
    c.case("xlsx-stale-dimension", "silent loss", {"x.xlsx": _xlsx_row_beyond_dimension()}, "x.xlsx")
    c.case("xlsx-missing-sheet-part", "silent loss", {"x.xlsx": _rezip(XLSX.read_bytes(), lambda n, b: None if n == "xl/worksheets/sheet6.xml" else b)}, "x.xlsx")
    c.case("xlsx-formula-no-cache", "silent loss", {"x.xlsx": _xlsx_formula_without_value()}, "x.xlsx")


# ------------------------------------------------------------------ workbook helpers


def _xlsx_edit_sheet(prolog: bytes, cell_text: bytes) -> bytes:
    """The template with sheet2 (samples) given ``prolog`` and one inline-string cell holding ``cell_text``."""
    def edit(name, body):
        if name != "xl/worksheets/sheet2.xml":
            return body
        body = body.replace(b"<t>as-milled</t>", b"<t>" + cell_text + b"</t>", 1)
        return prolog + body
    return _rezip(XLSX.read_bytes(), edit)


def _xlsx_with_cell(text: str) -> bytes:
    return _xlsx_edit_sheet(b"", text.encode())


def _xlsx_huge_part(size: int) -> bytes:
    """The template whose samples sheet holds one inline string of ``size`` bytes (about 300 KB zipped)."""
    src = zipfile.ZipFile(io.BytesIO(XLSX.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename != "xl/worksheets/sheet2.xml":
                dst.writestr(info.filename, body)
                continue
            head, tail = body.split(b"<t>as-milled</t>", 1)
            with dst.open(info.filename, "w", force_zip64=True) as fh:
                fh.write(head + b"<t>")
                chunk = b"z" * 1_000_000
                for _ in range(size // len(chunk)):
                    fh.write(chunk)
                fh.write(b"</t>" + tail)
    return out.getvalue()


def _xlsx_row_beyond_dimension() -> bytes:
    """The samples sheet with a third sample row, invalid (no formula), beyond its stale <dimension ref="A1:J3"/>."""
    row = b'<row r="4"><c r="A4" t="inlineStr"><is><t>BEYOND-DIM</t></is></c><c r="B4" t="inlineStr"><is><t>Xx9Qq</t></is></c></row>'
    return _rezip(XLSX.read_bytes(), lambda n, b: b.replace(b"</sheetData>", row + b"</sheetData>") if n == "xl/worksheets/sheet2.xml" else b)


def _xlsx_formula_without_value() -> bytes:
    """The conductivity sheet's first value replaced by a formula with no cached value (never computed)."""
    def edit(name, body):
        if name != "xl/worksheets/sheet4.xml":
            return body
        return re.sub(rb'<c r="C2"([^>]*)>.*?</c>', b'<c r="C2"><f>B2*0.001</f></c>', body, count=1)
    return _rezip(XLSX.read_bytes(), edit)


def generate(root: Path, heavy: bool = True) -> list[Case]:
    """Write the corpus under ``root`` (which must not exist); ``heavy=False`` leaves out the 50-300 MB cases."""
    c = Corpus(root)
    mutations(c)
    tracebacks(c)
    garbage(c)
    if not heavy:
        for case in [x for x in c.cases if x.heavy]:
            shutil.rmtree(case.folder)
        c.cases = [x for x in c.cases if not x.heavy]
    return c.cases


if __name__ == "__main__":
    for case in generate(Path(sys.argv[1])):
        print(f"{case.name:36s} {case.cls:20s} {case.names_file}")
