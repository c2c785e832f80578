"""The import builds and validates each document once (the second pass writes what the first built,
ingest/spill.py), and a natural key of a large collection defined twice, differently, is still
found (ingest/keyindex.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ionbase.ingest import validation
from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.schemas import build as B

REPO = Path(__file__).resolve().parents[2]
HEADER = "# doi: 10.1000/example-lab-2026\nsample,T (°C),sigma (mS/cm),carrier,method\n"


def _folder(tmp_path: Path, rows: list[str], more: list[str] | None = None) -> Path:
    shutil.copy(REPO / "templates" / "samples.csv", tmp_path / "samples.csv")
    (tmp_path / "conductivity.csv").write_text(HEADER + "".join(r + "\n" for r in rows))
    if more is not None:
        (tmp_path / "more_conductivity.csv").write_text(HEADER + "".join(r + "\n" for r in more))
    return tmp_path


def test_each_document_built_and_validated_once(store, tmp_path, monkeypatch):
    rows = [f"NIZC-0.5-BM,{20 + i},{0.03 + i * 1e-3:.4f},ionic,EIS" for i in range(30)]
    folder = _folder(tmp_path, rows)
    built, checked = [], []
    build, check = B.build_property, validation.validate_document
    monkeypatch.setattr(B, "build_property", lambda *a, **k: built.append(1) or build(*a, **k))
    monkeypatch.setattr(validation, "validate_document", lambda coll, doc: checked.append(coll) or check(coll, doc))
    report = Importer(store, ImportOptions()).run([folder])
    assert report.counts["properties"]["new"] == len(rows) == len(built)
    assert checked.count("properties") == len(rows)
    written = {p["temperature_c"]: p["value"] for p in store.db.properties.find({"sample_label": "NIZC-0.5-BM"})}
    assert written == {float(20 + i): pytest.approx((0.03 + i * 1e-3) * 1e-3) for i in range(30)}


def test_property_defined_twice_differently_refused(store, tmp_path):
    folder = _folder(tmp_path, ["NIZC-0.5-BM,25,0.031,ionic,EIS", "NIZC-0.5-BM,40,0.072,ionic,EIS"],
                     more=["NIZC-0.5-BM,40,0.072,ionic,EIS", "NIZC-0.5-BM,25,0.5,ionic,EIS"])
    with pytest.raises(ImportFailed) as err:
        Importer(store, ImportOptions()).run([folder])
    (issue,) = [i for i in err.value.issues if "duplicate natural key" in i.message]
    assert issue.file == "more_conductivity.csv" and issue.row == 4
    assert "is also defined, differently, in conductivity.csv row 3" in issue.message
    assert store.db.properties.count_documents({}) == 0
    # the same value given twice is one document, not an error
    (folder / "more_conductivity.csv").write_text(HEADER + "NIZC-0.5-BM,40,0.072,ionic,EIS\n")
    report = Importer(store, ImportOptions()).run([folder])
    assert report.counts["properties"]["new"] == 2
