"""File references in records (``file:``, ``cif:``) are confined to the record file's folder.

Issue 14, point 1: an absolute path, ``..``, a symlink out of the folder, a device, a FIFO or a
directory is refused quickly, naming the record and field, with nothing written; a refusal for a
path outside the folder reads the same whether that path exists or not.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions

REPO = Path(__file__).resolve().parents[2]
SPECTRUM = REPO / "tests" / "data" / "eis" / "impedance_py" / "exampleData.csv"
CIF = REPO / "tests" / "data" / "instrument" / "Mg3AsN_partial.cif"
COLLECTIONS = ("samples", "materials", "measurements", "measurement_arrays", "structures", "properties", "import_batches")


def _manifest(folder: Path, ref: str, kind: str = "measurement") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rec = (f"measurements:\n  - {{sample: P1, kind: impedance_spectrum, label: m1, file: '{ref}'}}\n" if kind == "measurement"
           else f"structures:\n  - {{sample: P1, method: xrd_rietveld, cif: '{ref}'}}\n")
    path = folder / "lab.yaml"
    path.write_text("source: {notebook: NB-SEC}\nsamples:\n  - {label: P1, material: Na3InCl6}\n" + rec)
    return path


def _refused(store, manifest: Path, max_file_bytes: int = 200 * 1024 * 1024) -> str:
    t0 = time.monotonic()
    with pytest.raises(ImportFailed) as err:
        Importer(store, ImportOptions(max_file_bytes=max_file_bytes)).run([manifest])
    assert time.monotonic() - t0 < 10, "a hostile reference must be refused quickly"
    for name in COLLECTIONS:
        assert store.db[name].count_documents({}) == 0, f"{name} written"
    assert len(err.value.issues) == 1, err.value.issues
    return str(err.value)


@pytest.fixture()
def outside(tmp_path) -> Path:
    """A real instrument file outside the upload folder (the server file an attacker wants)."""
    (tmp_path / "server").mkdir()
    shutil.copy(SPECTRUM, tmp_path / "server" / "secret.csv")
    shutil.copy(CIF, tmp_path / "server" / "secret.cif")
    return tmp_path / "server"


@pytest.mark.parametrize("kind,field", [("measurement", "file"), ("structure", "cif")])
def test_absolute_path_refused_without_revealing_existence(store, tmp_path, outside, kind, field):
    target = outside / ("secret.csv" if kind == "measurement" else "secret.cif")
    msg_exists = _refused(store, _manifest(tmp_path / "up1", str(target), kind))
    msg_missing = _refused(store, _manifest(tmp_path / "up2", str(outside / "nothing-here.csv"), kind))
    assert f".{field}" in msg_exists and "lab.yaml" in msg_exists and "not a file inside the folder" in msg_exists
    assert msg_exists.replace(str(target), "X") == msg_missing.replace(str(outside / "nothing-here.csv"), "X")
    msg_dir = _refused(store, _manifest(tmp_path / "up3", "/etc", kind))
    assert "not a file inside the folder" in msg_dir and "directory" not in msg_dir.lower()


def test_dotdot_out_of_the_folder_refused(store, tmp_path, outside):
    msg = _refused(store, _manifest(tmp_path / "up", "../server/secret.csv"))
    assert "measurements[0].file" in msg or ".file" in msg
    assert "not a file inside the folder" in msg
    # the same file reached by a path that leaves and re-enters is fine only if it ends inside
    assert "secret" not in msg.split("'")[0]


def test_symlink_out_of_the_folder_refused(store, tmp_path, outside):
    up = tmp_path / "up"
    up.mkdir()
    os.symlink(outside / "secret.csv", up / "link.csv")
    msg = _refused(store, _manifest(up, "link.csv"))
    assert "not a file inside the folder" in msg
    os.symlink("/dev/zero", up / "zero.csv")
    msg = _refused(store, _manifest(up, "zero.csv"))
    assert "not a file inside the folder" in msg


def test_device_refused_quickly(store, tmp_path):
    msg = _refused(store, _manifest(tmp_path / "up", "/dev/zero"))
    assert "not a file inside the folder" in msg
    msg = _refused(store, _manifest(tmp_path / "up", "../../../../../../../../dev/urandom"))
    assert "not a file inside the folder" in msg


def test_fifo_and_directory_inside_the_folder_refused(store, tmp_path):
    up = tmp_path / "up"
    up.mkdir()
    os.mkfifo(up / "pipe.csv")
    msg = _refused(store, _manifest(up, "pipe.csv"))  # would block forever if opened
    assert "not a regular file" in msg and ".file" in msg
    (up / "spectra").mkdir()
    msg = _refused(store, _manifest(up, "spectra"))
    assert "not a regular file" in msg


def test_size_checked_before_reading(store, tmp_path):
    up = tmp_path / "up"
    up.mkdir()
    shutil.copy(SPECTRUM, up / "big.csv")
    size = (up / "big.csv").stat().st_size
    msg = _refused(store, _manifest(up, "big.csv"), max_file_bytes=size - 1)
    assert f"{size} bytes, above the limit of {size - 1}" in msg and "IONBASE_MAX_FILE_BYTES" in msg


def test_record_file_named_directly_must_be_regular(store, tmp_path):
    os.mkfifo(tmp_path / "records.yaml")
    with pytest.raises(ImportFailed) as err:
        Importer(store, ImportOptions()).run([tmp_path / "records.yaml"])
    assert "not a regular file" in str(err.value)


def test_files_in_the_folder_and_below_still_import(store, tmp_path):
    up = tmp_path / "up"
    (up / "spectra").mkdir(parents=True)
    shutil.copy(SPECTRUM, up / "spectra" / "s.csv")
    os.symlink(up / "spectra" / "s.csv", up / "alias.csv")  # a symlink that stays inside is fine
    (up / "lab.yaml").write_text(
        "source: {notebook: NB-SEC}\nsamples:\n  - {label: P1, material: Na3InCl6}\n"
        "measurements:\n  - {sample: P1, kind: impedance_spectrum, label: a, file: spectra/s.csv}\n"
        "  - {sample: P1, kind: impedance_spectrum, label: b, file: ./spectra/../alias.csv}\n")
    report = Importer(store, ImportOptions()).run([up])
    assert not report.errors
    names = sorted(m["file"]["name"] for m in store.db.measurements.find({}))
    assert names == ["alias.csv", "s.csv"]


def test_api_upload_cannot_reach_server_files(store, settings, app_client_for, outside):
    from ionbase.service.keys import create_key, server_secret

    client = app_client_for(store)
    writer_token = create_key(store, "w", "writer", server_secret(settings))[1]
    body = {"source": {"notebook": "NB-API"}, "samples": [{"label": "Q1", "material": "Na3InCl6"}],
            "measurements": [{"sample": "Q1", "kind": "impedance_spectrum", "label": "x", "file": str(outside / "secret.csv")}]}
    r = client.post("/api/v1/imports", json=body, headers={"Authorization": f"Bearer {writer_token}"})
    assert r.status_code == 422, r.get_json()
    text = str(r.get_json())
    assert "not a file inside the folder" in text and "secret" in text  # names the reference as written, nothing more
    for name in COLLECTIONS:
        assert store.db[name].count_documents({}) == 0, f"{name} written"
