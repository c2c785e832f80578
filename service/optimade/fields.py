"""Ionbase's provider fields (prefix ``_ionbase_``) of OPTIMADE structures: name, type, unit, description.

The one list: the mapper fills them, ``info/structures`` describes them, the filter accepts them.
"""

from __future__ import annotations

PREFIX = "_ionbase_"
PROVIDER = {
    "prefix": "ionbase",
    "name": "Ionbase",
    "description": "Solid-state ionic conductors with their synthesis routes, refinements and transport properties",
    "homepage": None,
}

#: name (without prefix) -> (OPTIMADE type, unit or None, sortable, description)
PROVIDER_FIELDS: dict[str, tuple[str, str | None, bool, str]] = {
    "structure_result_id": ("string", None, True, "Id of the Ionbase structure result (GET /api/v1/structures/{id}; ?format=cif for CIF)"),
    "phase_index": ("integer", None, True, "Index of the phase in the structure result (0-based)"),
    "phase_name": ("string", None, True, "Phase name as reported"),
    "method": ("string", None, True, "Structure method: xrd, xrd_rietveld, pdf, ..."),
    "sample_id": ("string", None, True, "Ionbase sample id"),
    "sample_label": ("string", None, True, "Sample label as in the source"),
    "milling_time_h": ("float", "h", True, "Total ball-milling time of the sample's synthesis (0 when not milled)"),
    "max_anneal_c": ("float", "°C", True, "Highest annealing/sintering temperature of the synthesis (absent when not annealed)"),
    "anneal_time_h": ("float", "h", True, "Total annealing/sintering time (0 when not annealed)"),
    "milled": ("boolean", None, False, "Ball-milled at some step"),
    "annealed": ("boolean", None, False, "Annealed or sintered at some step"),
    "hot_pressed": ("boolean", None, False, "Hot-pressed at some step"),
    "synthesis_step_types": ("list", None, False, "Synthesis step types in order"),
    "rwp": ("float", "%", True, "Weighted-profile R factor of the refinement (Rwp)"),
    "chi2": ("float", None, True, "Goodness of fit chi-squared of the refinement"),
    "crystallite_size_nm": ("float", "nm", True, "Crystallite size of the phase"),
    "microstrain_percent": ("float", "%", True, "Microstrain of the phase"),
    "coherence_length_nm": ("float", "nm", True, "Coherence length of the phase (PDF)"),
    "ionic_conductivity_25c": ("float", "S/cm", True, "The sample's ionic conductivity at 25 °C, where known as a "
                               "value: a bound or range is left out (several values: the export's conflict rule, "
                               "docs/export.md)"),
    "ionic_conductivity_25c_qualifier": ("string", None, True, "exact, or approximate (a stated ~ value, an Arrhenius "
                                         "extrapolation to 25 °C)"),
    "ionic_conductivity_25c_property": ("string", None, False, "Id of the property the conductivity at 25 °C comes from"),
    "activation_energy": ("float", "eV", True, "The sample's activation energy of ionic transport, where known as a "
                          "value (fits of electronic or total conductivity, and values whose carrier is unknown, are left "
                          "out; export conflict rule)"),
    "activation_energy_qualifier": ("string", None, True, "exact or approximate"),
    "activation_energy_property": ("string", None, False, "Id of the property the activation energy comes from"),
    "doi": ("string", None, True, "DOI of the source of the structure result"),
    "sites_error": ("string", None, False, "Why the sites are not given although the record has positions (e.g. a "
                    "space group with two origin choices and none stated): the cell is, the positions are null"),
}


def provider_name(name: str) -> str:
    return PREFIX + name
