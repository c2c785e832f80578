"""One installed import package: `ionbase`, with the repository's folders as its subpackages (issue 12)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("analysis", "ingest", "jobs", "schemas", "service", "store")


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_package_folder_is_listed():
    """A new subpackage folder must be added to pyproject's package list, or the wheel would miss it."""
    on_disk = {"ionbase"}
    for top in FOLDERS:
        for d, _, files in os.walk(REPO / top):
            if "__init__.py" in files:
                on_disk.add("ionbase." + str(Path(d).relative_to(REPO)).replace(os.sep, "."))
    assert set(_pyproject()["tool"]["setuptools"]["packages"]) == on_disk


def test_wheel_installs_exactly_one_top_level_package(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("ionbase-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
        assert zf.read(top_level).decode().split() == ["ionbase"]
        tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"ionbase"}
    for folder in FOLDERS:
        assert f"ionbase/{folder}/__init__.py" in names
    assert "ionbase/ingest/parsers/__init__.py" in names and "ionbase/service/export/table.py" in names
    # the web pages' templates and static files are package data (pyproject [tool.setuptools.package-data])
    assert {"ionbase/service/web/templates/sample.html", "ionbase/service/web/static/plots.js"} <= set(names)
