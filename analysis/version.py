"""Provenance stamps for the job runner.

The package version and the versions of the numerical libraries are read from the installed
distributions' metadata (pyproject.toml is the one place the package version is written), so a
stamp can never name a stale hand-kept version. The per-function versions below decide
recomputation (they enter every job's fingerprint): bump a function's version whenever its
numerical behaviour (equations, defaults, thresholds, seeding) changes.
"""
from __future__ import annotations

import functools
from importlib import metadata

#: the distribution whose version is the code version
PACKAGE = "ionbase"
#: libraries whose versions are stamped on every derived value: the numerics (numpy, scipy),
#: circuit fitting (impedance), compositions (pymatgen), error propagation (uncertainties), units (pint)
LIBRARIES = ("numpy", "scipy", "pymatgen", "impedance", "uncertainties", "pint")


@functools.cache
def package_version() -> str:
    """The installed ionbase version (importlib.metadata, read once per process); an uninstalled
    checkout is an error."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError as exc:
        raise RuntimeError(f"the {PACKAGE!r} distribution is not installed (pip install -e .): "
                           "its version cannot be recorded") from exc


def provenance_versions() -> dict[str, str | None]:
    """{distribution: installed version} for ionbase and LIBRARIES; None for a library that is not
    installed (unknown, never guessed). A new dict each call (callers may store or change it)."""
    return dict(_installed_versions())


@functools.cache
def _installed_versions() -> tuple[tuple[str, str | None], ...]:
    """Read once per process: the installed versions cannot change under it."""
    out: list[tuple[str, str | None]] = [(PACKAGE, package_version())]
    for name in LIBRARIES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, None))
    return tuple(out)


JOB_FUNCTION_VERSIONS = {
    "analysis.conductivity.conductivity": "1.0.0",
    "analysis.conductivity.area_from_diameter": "1.0.0",
    "analysis.arrhenius.fit_arrhenius": "1.1.0",
    "analysis.arrhenius.fit_arrhenius_batch": "2.0.0",
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
