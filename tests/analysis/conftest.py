import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EIS_FIXTURES = ROOT / "tests" / "data" / "eis" / "impedance_py"


def synth_spectrum(circuit="R0-p(R1,CPE1)-CPE2", params=(10, 1e5, 1e-10, 0.9, 1e-6, 0.85), noise=0.01, seed=0,
                   f=None):
    """Synthetic spectrum with Gaussian noise of `noise`*|Z| on real and imaginary parts."""
    from ionbase.analysis.circuits import compile_circuit

    f = np.logspace(6, -1, 71) if f is None else f
    z = compile_circuit(circuit).impedance(np.array(params, dtype=float), f)
    rng = np.random.default_rng(seed)
    m = np.abs(z)
    return f, z.real + noise * m * rng.standard_normal(len(f)), z.imag + noise * m * rng.standard_normal(len(f))


@pytest.fixture
def synth():
    return synth_spectrum


@pytest.fixture
def example_csv():
    p = EIS_FIXTURES / "exampleData.csv"
    if not p.exists():
        pytest.skip(f"fixture {p} missing")
    return p
