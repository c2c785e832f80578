"""Ionbase analysis: pure numerical science (arrays/numbers in, small frozen dataclasses out).

No database, web or I/O dependencies. Units are Ionbase canonical units (ohm, cm, cm^2,
S/cm, K, eV, F, A, V, angstrom). Invalid input raises analysis.errors.AnalysisError
(a ValueError subclass).
"""
from .arrhenius import ArrheniusResult, BatchArrheniusResult, fit_arrhenius, fit_arrhenius_batch
from .conductivity import ConductivityResult, area_from_diameter, conductivity
from .crystallography import VegardResult, cell_volume, density, vegard_fit
from .cycling import (capacity_retention, coulombic_efficiency, cycles_to_soh, cycles_until_overpotential,
                      mean_ce, nucleation_overvoltage, overpotential_trend)
from .dc import bruce_vincent, electronic_conductivity, ion_transport_number
from .errors import (AnalysisError, CircuitSyntaxError, FitError, InsufficientDataError, InvalidInputError,
                     NegativeResultError)
from .impedance import (STANDARD_CIRCUITS, CircuitFitResult, SpectrumFitResult, assign_capacitance,
                        brug_capacitance, fit_circuit, fit_spectrum, linkk_test)
from .circuits import compile_circuit, parse_circuit
from .stacks import subtract_series_layers
from .trends import TrendResult, linear_trend, log_linear_trend
from .version import JOB_FUNCTION_VERSIONS, package_version, provenance_versions

__all__ = [
    "ArrheniusResult", "BatchArrheniusResult", "fit_arrhenius", "fit_arrhenius_batch",
    "ConductivityResult", "area_from_diameter", "conductivity",
    "VegardResult", "cell_volume", "density", "vegard_fit",
    "capacity_retention", "coulombic_efficiency", "cycles_to_soh", "cycles_until_overpotential", "mean_ce",
    "nucleation_overvoltage", "overpotential_trend",
    "bruce_vincent", "electronic_conductivity", "ion_transport_number",
    "AnalysisError", "CircuitSyntaxError", "FitError", "InsufficientDataError", "InvalidInputError",
    "NegativeResultError",
    "STANDARD_CIRCUITS", "CircuitFitResult", "SpectrumFitResult", "assign_capacitance", "brug_capacitance",
    "fit_circuit", "fit_spectrum", "linkk_test", "compile_circuit", "parse_circuit",
    "subtract_series_layers", "TrendResult", "linear_trend", "log_linear_trend",
    "JOB_FUNCTION_VERSIONS", "package_version", "provenance_versions",
]
