"""Data classes returned by the parsers (pure data, no database types)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _float_array(values) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class ImpedanceSpectrum:
    """One impedance spectrum (one sweep / loop).

    ``z_imag_ohm`` is Im(Z) of Z = Z' + jZ'' (negative for capacitive arcs); files that store
    -Im(Z) are negated on read.  ``loop`` is the 0-based position of the spectrum in its file;
    the instrument's own loop/cycle number, when the file has one, is in
    ``metadata["cycle_number"]``.  ``first_line`` is the 1-based line of the spectrum's first
    data row (None for binary files).  ``temperature_k`` is the mean of the spectrum's rows in the
    file's temperature column (None when the file has none); that column's name and the loop's
    lowest and highest reading (K) are in ``metadata["temperature_column"]`` and
    ``metadata["temperature_range_k"]``.
    """

    frequency_hz: np.ndarray
    z_real_ohm: np.ndarray
    z_imag_ohm: np.ndarray
    loop: int | None = None
    temperature_k: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    source_file: str = ""
    first_line: int | None = None

    def __post_init__(self):
        for name in ("frequency_hz", "z_real_ohm", "z_imag_ohm"):
            object.__setattr__(self, name, _float_array(getattr(self, name)))
        n = len(self.frequency_hz)
        if len(self.z_real_ohm) != n or len(self.z_imag_ohm) != n:
            raise ValueError("frequency_hz, z_real_ohm and z_imag_ohm must have the same length")

    def __len__(self) -> int:
        return len(self.frequency_hz)

    @property
    def z(self) -> np.ndarray:
        """Complex impedance Z' + jZ''."""
        return self.z_real_ohm + 1j * self.z_imag_ohm


@dataclass(frozen=True)
class CyclingData:
    """Per-cycle capacities of a galvanostatic cycling run.

    ``coulombic_efficiency`` is in percent (discharge / charge * 100 when the file has none;
    NaN where the charge capacity is zero).  ``capacity_unit`` is as written in the file
    (e.g. "mA.h", "mAh/g").  ``time_s`` / ``voltage_v`` / ``current_a`` are the raw point
    series when the file has them (e.g. for symmetric-cell overpotential), otherwise None.
    """

    cycle: np.ndarray
    charge_capacity: np.ndarray
    discharge_capacity: np.ndarray
    coulombic_efficiency: np.ndarray
    capacity_unit: str
    metadata: dict[str, Any] = field(default_factory=dict)
    source_file: str = ""
    time_s: np.ndarray | None = None
    voltage_v: np.ndarray | None = None
    current_a: np.ndarray | None = None

    def __post_init__(self):
        cyc = np.asarray(self.cycle, dtype=int)
        cyc.setflags(write=False)
        object.__setattr__(self, "cycle", cyc)
        for name in ("charge_capacity", "discharge_capacity", "coulombic_efficiency"):
            object.__setattr__(self, name, _float_array(getattr(self, name)))
            if len(getattr(self, name)) != len(cyc):
                raise ValueError(f"{name} must have one value per cycle")
        for name in ("time_s", "voltage_v", "current_a"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, _float_array(getattr(self, name)))


@dataclass(frozen=True)
class CifPhase:
    """One crystal structure (one CIF data block), refinement cell kept as written.

    ``lattice`` maps a, b, c, alpha, beta, gamma to ``{"value": float, "uncertainty": float|None}``
    (standard uncertainties from the CIF's parentheses); ``volume`` is ``_cell_volume`` in the same
    form, None when the file reports no volume (never one derived from the cell).  ``sites`` is the asymmetric unit as
    listed in ``_atom_site_*`` (one entry per CIF row; partially occupied / mixed sites are not
    merged).
    """

    formula: str
    space_group_symbol: str | None
    space_group_number: int | None
    lattice: dict[str, dict[str, float | None]]
    volume: dict[str, float | None] | None
    z: int | None
    sites: list[dict[str, Any]]
    cif_text: str
    structure_dict: dict[str, Any]
    block_name: str = ""
    source_file: str = ""


@dataclass(frozen=True)
class ParsedFile:
    """Result of :func:`ingest.parsers.parse_file`."""

    format: str
    kind: str  # "impedance" | "cycling" | "structure"
    records: list
    source_file: str = ""
