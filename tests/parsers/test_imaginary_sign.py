"""An unsigned Z'' column that holds -Z'' (positive values, as many instruments export) is refused,
never read as an inductive spectrum with every arc mirrored (seen in review of issue 9)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ionbase.ingest.parsers import ParseError, read_spectra

REAL = Path(__file__).resolve().parents[1] / "data" / "eis" / "impedance_py" / "exampleData.csv"


def _original() -> np.ndarray:
    return np.loadtxt(REAL, delimiter=",")


def _write(path: Path, header: str, rows: np.ndarray) -> Path:
    path.write_text(header + "\n" + "\n".join(",".join(repr(float(v)) for v in r) for r in rows) + "\n")
    return path


def test_positive_unsigned_imaginary_column_is_refused(tmp_path):
    data = _original()
    flipped = data.copy()
    flipped[:, 2] = -flipped[:, 2]  # the column now holds -Z'' (mostly positive)
    with pytest.raises(ParseError, match=r"name it '-Zim'"):
        read_spectra(_write(tmp_path / "pos.csv", "freq,Zre,Zim", flipped))
    (spec,) = read_spectra(_write(tmp_path / "neg.csv", "freq,Zre,-Zim", flipped))
    np.testing.assert_allclose(spec.z_imag_ohm, data[:, 2], rtol=1e-12)


def test_the_stored_convention_still_reads(tmp_path):
    data = _original()
    (spec,) = read_spectra(_write(tmp_path / "ok.csv", "freq,Zre,Zim", data))
    np.testing.assert_allclose(spec.z_imag_ohm, data[:, 2], rtol=1e-12)
