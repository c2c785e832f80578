from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# CI clones the repo with shared/ beside it.
FIXTURES = (Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures").resolve()
EIS = FIXTURES / "eis" / "impedance_py"
DATA = REPO / "tests" / "data" / "instrument"
