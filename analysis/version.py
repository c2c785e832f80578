"""Provenance stamps for the job runner. Bump a function's version whenever its numerical
behaviour (equations, defaults, thresholds, seeding) changes."""

CODE_VERSION = "1.0.0"

MODULE_VERSIONS = {
    "conductivity": "1.0.0",
    "arrhenius": "1.1.0",
    "impedance": "1.1.0",
    "eis_resistances": "1.0.0",
    "circuits": "1.0.0",
    "dc": "1.0.0",
    "stacks": "1.0.0",
    "cycling": "1.0.0",
    "crystallography": "1.0.0",
    "trends": "1.0.0",
}

JOB_FUNCTION_VERSIONS = {
    "analysis.conductivity.conductivity": "1.0.0",
    "analysis.conductivity.area_from_diameter": "1.0.0",
    "analysis.arrhenius.fit_arrhenius": "1.0.0",
    "analysis.arrhenius.fit_arrhenius_batch": "1.0.0",
    "analysis.arrhenius.quality_flags": "1.0.0",
    "analysis.impedance.fit_circuit": "1.0.0",
    "analysis.impedance.fit_spectrum": "1.1.0",
    "analysis.eis_resistances.spectrum_resistances": "1.0.0",
    "analysis.impedance.linkk_test": "1.0.0",
    "analysis.dc.electronic_conductivity": "1.0.0",
    "analysis.dc.ion_transport_number": "1.0.0",
    "analysis.dc.bruce_vincent": "1.0.0",
    "analysis.stacks.subtract_series_layers": "1.0.0",
    "analysis.cycling.coulombic_efficiency": "1.0.0",
    "analysis.cycling.capacity_retention": "1.0.0",
    "analysis.cycling.cycles_to_soh": "1.0.0",
    "analysis.cycling.mean_ce": "1.0.0",
    "analysis.cycling.cycles_until_overpotential": "1.0.0",
    "analysis.cycling.overpotential_trend": "1.0.0",
    "analysis.cycling.nucleation_overvoltage": "1.0.0",
    "analysis.crystallography.cell_volume": "1.0.0",
    "analysis.crystallography.density": "1.0.0",
    "analysis.crystallography.vegard_fit": "1.0.0",
    "analysis.trends.linear_trend": "1.0.0",
    "analysis.trends.log_linear_trend": "1.0.0",
}


def version_of(function_path: str) -> str:
    """Version string for 'analysis.module.function' (KeyError if unknown)."""
    return JOB_FUNCTION_VERSIONS[function_path]
