"""Every array a parser returns is checked against the valid ranges (schemas/ranges.py) before use:
a frequency of -1 Hz or 1e308, a NaN or an infinity, or a spectrum with no points is a ParseError
naming the file, the data line (when the format has lines) and the column, never a stored number."""

from __future__ import annotations

import numpy as np

from ionbase.schemas.ranges import array_problem

from .errors import ParseError
from .models import CyclingData, ImpedanceSpectrum

_SPECTRUM_ARRAYS = (("frequency_hz", "frequency"), ("z_real_ohm", "z_real"), ("z_imag_ohm", "z_imag"))


def check_spectrum(spec: ImpedanceSpectrum) -> ImpedanceSpectrum:
    """The spectrum itself when every point is finite and in range; else ParseError."""
    if len(spec) == 0:
        raise ParseError("spectrum has no data points", file=spec.source_file or None,
                         line=spec.first_line, field="frequency")
    for attr, name in _SPECTRUM_ARRAYS:
        problem = array_problem(name, getattr(spec, attr))
        if problem:
            line = spec.first_line + problem[0] if spec.first_line is not None else None
            raise ParseError(problem[1] + (f" (spectrum {spec.loop})" if spec.loop else ""),
                             file=spec.source_file or None, line=line, field=name)
    return spec


def check_cycling(data: CyclingData) -> CyclingData:
    """Cycling capacities finite and not negative (NaN means 'not given' there), cycles counted from 0."""
    if len(data.cycle) == 0:
        raise ParseError("cycling table has no cycles", file=data.source_file or None, field="cycle")
    for name in ("charge_capacity", "discharge_capacity", "coulombic_efficiency"):
        arr = getattr(data, name)
        bad = np.isinf(arr) | (arr < 0) | (np.abs(np.nan_to_num(arr)) > 1e9)
        if bad.any():
            i = int(np.argmax(bad))
            raise ParseError(f"{name} value {arr[i]!r} of cycle {data.cycle[i]} is negative, infinite or "
                             "beyond 1e9", file=data.source_file or None, field=name)
    if (data.cycle < 0).any():
        raise ParseError("cycle numbers must not be negative", file=data.source_file or None, field="cycle")
    for name, rng_name in (("time_s", "time"), ("voltage_v", "voltage"), ("current_a", "current")):
        arr = getattr(data, name)
        problem = array_problem(rng_name, arr) if arr is not None and len(arr) else None
        if problem:
            raise ParseError(problem[1], file=data.source_file or None, field=name)
    return data
