"""The one registry of Ionbase's controlled vocabularies.

Every quantity Ionbase stores has exactly one canonical unit, declared here. Adding a new
property, condition or synthesis-step parameter means adding one entry below; validation, the
API field mapper, exports and the docs all read from this module.

This module depends on nothing else of Ionbase's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class Quantity:
    """A kind of quantity: its canonical unit (pint syntax) and a human label."""

    unit: str
    label: str
    #: short unit string used in column headers and API output
    symbol: str = ""

    @property
    def display_unit(self) -> str:
        return self.symbol or self.unit


# Canonical units, one per kind of quantity. Keys are used throughout the code.
QUANTITIES: dict[str, Quantity] = {
    "conductivity": Quantity("S/cm", "conductivity", "S/cm"),
    "conductivity_temperature": Quantity("S*K/cm", "conductivity x temperature", "S K/cm"),
    "temperature": Quantity("K", "temperature", "K"),
    "duration": Quantity("h", "duration", "h"),
    "short_duration": Quantity("min", "duration", "min"),
    "rotation_speed": Quantity("rpm", "rotation speed", "rpm"),
    "frequency": Quantity("Hz", "frequency", "Hz"),
    "pressure": Quantity("MPa", "pressure", "MPa"),
    "gas_pressure": Quantity("Pa", "gas pressure", "Pa"),
    "energy": Quantity("eV", "energy", "eV"),
    "lattice_length": Quantity("angstrom", "lattice length", "Å"),
    "angle": Quantity("degree", "angle", "deg"),
    "cell_volume": Quantity("angstrom**3", "cell volume", "Å^3"),
    "density": Quantity("g/cm**3", "density", "g/cm^3"),
    "nano_length": Quantity("nm", "length (nm)", "nm"),
    "micro_length": Quantity("um", "length (µm)", "µm"),
    "milli_length": Quantity("mm", "length (mm)", "mm"),
    "length": Quantity("cm", "length (cm)", "cm"),
    "area": Quantity("cm**2", "area", "cm^2"),
    "volume": Quantity("mL", "volume", "mL"),
    "specific_area": Quantity("m**2/g", "specific surface area", "m^2/g"),
    "specific_volume": Quantity("cm**3/g", "specific pore volume", "cm^3/g"),
    "resistance": Quantity("ohm", "resistance", "Ω"),
    "area_resistance": Quantity("ohm*cm**2", "area-specific resistance", "Ω cm^2"),
    "current": Quantity("A", "current", "A"),
    "current_density": Quantity("mA/cm**2", "current density", "mA/cm^2"),
    "voltage": Quantity("V", "voltage", "V"),
    "specific_capacity": Quantity("mA*h/g", "specific capacity", "mAh/g"),
    "areal_capacity": Quantity("mA*h/cm**2", "areal capacity", "mAh/cm^2"),
    "capacity": Quantity("mA*h", "capacity", "mAh"),
    "c_rate": Quantity("1/h", "C-rate", "C"),
    "deposition_rate": Quantity("nm/s", "deposition rate", "nm/s"),
    "ramp_rate": Quantity("K/min", "heating rate", "K/min"),
    "mass": Quantity("g", "mass", "g"),
    "force": Quantity("kN", "force", "kN"),
    "wavelength": Quantity("angstrom", "wavelength", "Å"),
    "energy_density": Quantity("W*h/kg", "specific energy", "Wh/kg"),
    "capacitance": Quantity("F", "capacitance", "F"),
    "percent": Quantity("percent", "percent", "%"),
    "dimensionless": Quantity("dimensionless", "dimensionless", ""),
    "count": Quantity("dimensionless", "count", ""),
}



@dataclass(frozen=True)
class ValidRange:
    """The physically valid interval of a quantity, in its canonical unit; an open end excludes its bound.

    A value outside it is refused wherever it enters (parse_value, instrument arrays, job outputs before
    they are written): 1e308, -1 eV or -5 K are typos or corrupted files, never data. A real value outside
    a range means the range is too narrow: widen it here (docs/valid-ranges.md).
    """

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, x: float) -> bool:
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return above and below

    def __str__(self) -> str:
        return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"


def _open_low(low: float, high: float) -> ValidRange:
    return ValidRange(low, high, low_open=True)


#: quantity kind -> valid range in its canonical unit (QUANTITIES); every kind has one
VALID_RANGES: dict[str, ValidRange] = {
    "conductivity": _open_low(0, 1e3),
    "conductivity_temperature": _open_low(0, 1e10),
    "temperature": _open_low(0, 5000),
    "duration": ValidRange(0, 1e6),
    "short_duration": ValidRange(0, 1e6),
    "rotation_speed": ValidRange(0, 1e5),
    "frequency": _open_low(0, 1e12),
    "pressure": ValidRange(0, 1e5),
    "gas_pressure": ValidRange(0, 1e9),
    "energy": _open_low(0, 100),
    "lattice_length": _open_low(0, 1000),
    "angle": ValidRange(0, 180, low_open=True, high_open=True),
    "cell_volume": _open_low(0, 1e9),
    "density": _open_low(0, 30),
    "nano_length": _open_low(0, 1e9),
    "micro_length": _open_low(0, 1e7),
    "milli_length": _open_low(0, 1e5),
    "length": _open_low(0, 1e4),
    "area": _open_low(0, 1e6),
    "volume": _open_low(0, 1e7),
    "specific_area": ValidRange(0, 1e4),
    "specific_volume": ValidRange(0, 100),
    "resistance": ValidRange(0, 1e15),
    "area_resistance": ValidRange(0, 1e15),
    "current": ValidRange(-1e6, 1e6),
    "current_density": ValidRange(-1e6, 1e6),
    "voltage": ValidRange(-1e4, 1e4),
    "specific_capacity": ValidRange(0, 1e5),
    "areal_capacity": ValidRange(0, 1e4),
    "capacity": ValidRange(0, 1e9),
    "c_rate": _open_low(0, 1e4),
    "deposition_rate": _open_low(0, 1e6),
    "ramp_rate": ValidRange(0, 1e6),
    "mass": _open_low(0, 1e6),
    "force": ValidRange(0, 1e5),
    "wavelength": _open_low(0, 1e6),
    "energy_density": ValidRange(0, 1e5),
    "capacitance": ValidRange(0, 1e6),
    "percent": ValidRange(0, 1e4),
    "dimensionless": ValidRange(0, 1e9),
    "count": ValidRange(0, 1e9),
}

#: property name -> a narrower (or, for a signed quantity, different) range than its quantity kind's
PROPERTY_RANGES: dict[str, ValidRange] = {
    "activation_energy": _open_low(0, 5),
    "electronic_conductivity": _open_low(0, 1e7),  # metals (anodes, current collectors): Li 1.1e5, Cu 6e5 S/cm
    "total_conductivity": _open_low(0, 1e7),
    "conductivity_prefactor": _open_low(0, 1e15),  # sigma0 of sigma = sigma0 exp(-Ea/kT): 1e2-1e7 S/cm is common
    "band_gap": ValidRange(0, 20),
    "ionic_transport_number": ValidRange(0, 1),
    "electronic_transport_number": ValidRange(0, 1),
    "cation_transference_number": ValidRange(0, 1),
    "phase_fraction": ValidRange(0, 100),
    "amorphous_fraction": ValidRange(0, 100),
    "pellet_relative_density": ValidRange(0, 120),
    "coulombic_efficiency": ValidRange(0, 200),
    "initial_coulombic_efficiency": ValidRange(0, 200),
    "mean_coulombic_efficiency": ValidRange(0, 200),
    "cycle_life_increase": ValidRange(-100, 1e6),
}

#: ranges of numbers that are not registry quantities (site occupancies, fractional coordinates)
OCCUPANCY_RANGE = _open_low(0, 1)


def valid_range(kind: str, prop: str | None = None) -> ValidRange:
    """The valid range of quantity ``kind`` (of property ``prop`` when it has its own)."""
    if prop is not None and prop in PROPERTY_RANGES:
        return PROPERTY_RANGES[prop]
    return VALID_RANGES[kind]


@dataclass(frozen=True)
class PropertyType:
    """A scalar property in the controlled vocabulary."""

    name: str
    quantity: str
    description: str
    category: str
    #: condition names that must be given for the value to mean anything
    required_conditions: tuple[str, ...] = ()

    @property
    def unit(self) -> str:
        return QUANTITIES[self.quantity].unit

    @property
    def temperature_bound(self) -> bool:
        """Whether a value means something only at its measurement temperature (ML export rows)."""
        return self.name not in TEMPERATURE_INDEPENDENT


def _props(category: str, *rows: tuple) -> dict[str, PropertyType]:
    out = {}
    for row in rows:
        name, quantity, description = row[:3]
        required = row[3] if len(row) > 3 else ()
        out[name] = PropertyType(name, quantity, description, category, tuple(required))
    return out


PROPERTIES: dict[str, PropertyType] = {
    **_props(
        "transport",
        ("ionic_conductivity", "conductivity", "Ionic conductivity", ("temperature",)),
        ("electronic_conductivity", "conductivity", "Electronic conductivity", ("temperature",)),
        ("total_conductivity", "conductivity", "Total (ionic + electronic) conductivity", ("temperature",)),
        ("bulk_conductivity", "conductivity", "Bulk (grain) ionic conductivity", ("temperature",)),
        ("grain_boundary_conductivity", "conductivity", "Grain-boundary ionic conductivity", ("temperature",)),
        ("activation_energy", "energy", "Arrhenius activation energy of conduction"),
        ("conductivity_prefactor", "conductivity", "Arrhenius prefactor sigma0 (sigma form)"),
        ("conductivity_prefactor_sigmaT", "conductivity_temperature", "Arrhenius prefactor A (sigma*T form)"),
        ("ionic_transport_number", "dimensionless", "Total ionic transport number t_ion = (I0 - Iss)/I0"),
        ("electronic_transport_number", "dimensionless", "Electronic transport number t_e = 1 - t_ion"),
        ("cation_transference_number", "dimensionless", "Cation transference number (e.g. Bruce-Vincent)"),
        ("bulk_resistance", "resistance", "Bulk resistance from impedance", ("temperature",)),
        ("grain_boundary_resistance", "resistance", "Grain-boundary resistance from impedance", ("temperature",)),
        ("total_resistance", "resistance", "Total resistance of a cell or pellet", ("temperature",)),
        ("layer_resistance", "resistance", "Resistance of an interlayer (e.g. electron-blocking layer)"),
        ("interphase_resistance", "resistance", "Interphase / charge-transfer resistance"),
        ("area_specific_resistance", "area_resistance", "Area-specific resistance"),
        ("bulk_capacitance", "capacitance", "Effective capacitance of the bulk arc"),
    ),
    **_props(
        "electrochemistry",
        ("oxidative_onset_potential", "voltage", "Oxidative stability onset vs the reference"),
        ("reductive_onset_potential", "voltage", "Reductive stability onset vs the reference"),
        ("critical_current_density", "current_density", "Critical current density (short circuit onset)"),
        ("nucleation_overvoltage", "voltage", "Nucleation overvoltage of metal plating"),
        ("plating_overpotential", "voltage", "Steady plating/stripping overpotential"),
        ("cycle_life", "count", "Cycles of a symmetric cell before failure"),
        ("cycling_duration", "duration", "Duration of stable symmetric-cell cycling"),
        ("initial_discharge_capacity", "specific_capacity", "First-cycle discharge capacity"),
        ("theoretical_specific_capacity", "specific_capacity", "Theoretical specific capacity of an electrode material"),
        ("initial_charge_capacity", "specific_capacity", "First-cycle charge capacity"),
        ("discharge_capacity", "specific_capacity", "Discharge capacity", ("cycle_number",)),
        ("charge_capacity", "specific_capacity", "Charge capacity", ("cycle_number",)),
        ("areal_discharge_capacity", "areal_capacity", "Areal discharge capacity"),
        ("capacity_retention", "percent", "Capacity retention relative to a reference cycle", ("cycle_number",)),
        ("coulombic_efficiency", "percent", "Coulombic efficiency"),
        ("initial_coulombic_efficiency", "percent", "First-cycle coulombic efficiency"),
        ("mean_coulombic_efficiency", "percent", "Mean coulombic efficiency over a window"),
        ("cycles_to_80_soh", "count", "Cycles until capacity falls below 80 % state of health"),
        ("cycle_life_increase", "percent", "Relative cycle-life gain over a reference electrode (see conditions.reference_sample)"),
        ("specific_energy", "energy_density", "Specific energy"),
    ),
    **_props(
        "structure",
        ("lattice_a", "lattice_length", "Lattice parameter a"),
        ("lattice_b", "lattice_length", "Lattice parameter b"),
        ("lattice_c", "lattice_length", "Lattice parameter c"),
        ("lattice_alpha", "angle", "Lattice angle alpha"),
        ("lattice_beta", "angle", "Lattice angle beta"),
        ("lattice_gamma", "angle", "Lattice angle gamma"),
        ("cell_volume", "cell_volume", "Unit-cell volume"),
        ("density", "density", "Crystallographic (X-ray) density"),
        ("pellet_relative_density", "percent", "Relative density of a pressed pellet"),
        ("crystallite_size", "nano_length", "Crystallite size (Scherrer / Rietveld)"),
        ("microstrain", "percent", "Microstrain"),
        ("coherence_length", "nano_length", "Structural coherence length (PDF sphere diameter)"),
        ("phase_fraction", "percent", "Weight fraction of a crystalline phase"),
        ("amorphous_fraction", "percent", "Amorphous / disordered fraction"),
        ("layer_thickness", "nano_length", "Thickness of a coating or interlayer"),
        ("particle_size", "nano_length", "Primary particle size"),
        ("bet_surface_area", "specific_area", "BET specific surface area"),
        ("pore_volume", "specific_volume", "Specific pore volume"),
        ("pore_diameter", "nano_length", "Mean pore diameter"),
        ("band_gap", "energy", "Electronic band gap"),
        ("phase_transition_temperature", "temperature", "Phase (e.g. order-disorder) transition temperature"),
    ),
}

#: Properties whose value is not tied to a measurement temperature: the ML export puts them on every
#: row of their sample. Every other property is temperature-bound (a new one is, until listed here).
TEMPERATURE_INDEPENDENT: frozenset[str] = frozenset((
    "activation_energy", "conductivity_prefactor", "conductivity_prefactor_sigmaT", "theoretical_specific_capacity",
    "lattice_a", "lattice_b", "lattice_c", "lattice_alpha", "lattice_beta", "lattice_gamma", "cell_volume", "density",
    "pellet_relative_density", "crystallite_size", "microstrain", "coherence_length", "phase_fraction",
    "amorphous_fraction", "layer_thickness", "particle_size", "bet_surface_area", "pore_volume", "pore_diameter",
    "band_gap", "phase_transition_temperature",
))

#: Properties whose values are conductivities; used for unit display and queries.
CONDUCTIVITY_PROPERTIES = tuple(n for n, p in PROPERTIES.items() if p.quantity == "conductivity")


#: charge carriers of a conductivity (and of the Arrhenius fit of one)
CARRIERS: tuple[str, ...] = ("ionic", "electronic", "total")

#: results of an Arrhenius fit: each describes the carrier of the fitted conductivity (a stated value
#: says it with the ``carrier`` condition, a derived one in ``provenance.parameters.carrier``)
ARRHENIUS_FIT_PROPERTIES: tuple[str, ...] = ("activation_energy", "conductivity_prefactor", "conductivity_prefactor_sigmaT")


@dataclass(frozen=True)
class ConditionType:
    name: str
    quantity: str | None  # None for a free-text condition
    description: str
    #: the only values a text condition may take (None: free text)
    choices: tuple[str, ...] | None = None
    #: the only properties that may state it (None: any)
    properties: tuple[str, ...] | None = None
    #: part of a stated property's identity (its id). False for a condition that qualifies the same
    #: number rather than naming another measurement: stating it later updates the stored value
    identity: bool = True


CONDITIONS: dict[str, ConditionType] = {
    c.name: c
    for c in (
        ConditionType("temperature", "temperature", "Measurement temperature"),
        ConditionType("current_density", "current_density", "Applied current density"),
        ConditionType("areal_capacity", "areal_capacity", "Areal capacity per half cycle"),
        ConditionType("c_rate", "c_rate", "C-rate"),
        ConditionType("cycle_number", "count", "Cycle the value refers to"),
        ConditionType("reference_cycle", "count", "Reference cycle for retention"),
        ConditionType("cycle_range_low", "count", "First cycle of a window (e.g. mean coulombic efficiency)"),
        ConditionType("cycle_range_high", "count", "Last cycle of a window"),
        ConditionType("reference", None, "Potential reference (e.g. 'Na+/Na')"),
        ConditionType("voltage", "voltage", "Applied voltage"),
        ConditionType("current", "current", "Applied current when no area is given"),
        ConditionType("voltage_window_low", "voltage", "Lower cut-off voltage"),
        ConditionType("voltage_window_high", "voltage", "Upper cut-off voltage"),
        ConditionType("stack_pressure", "pressure", "Stack pressure during the measurement"),
        ConditionType("temperature_range_low", "temperature", "Lowest temperature of a fit range"),
        ConditionType("temperature_range_high", "temperature", "Highest temperature of a fit range"),
        ConditionType("scan_rate", None, "Scan rate (free text, e.g. '0.1 mV/s')"),
        ConditionType("method", None, "Measurement method (EIS, DC polarization, ...)"),
        ConditionType("cell", None, "Cell configuration (e.g. 'Na|SE|Na', 'SS|SE|SS')"),
        ConditionType("electrode", None, "Electrode or counter electrode"),
        ConditionType("atmosphere", None, "Atmosphere during the measurement"),
        ConditionType("phase", None, "Phase or regime the value refers to"),
        ConditionType("reference_sample", None, "Label of the reference sample a relative value compares against"),
        ConditionType("carrier", None, "Charge carrier an activation energy or prefactor describes (ionic, electronic "
                      "or total); unstated: unknown, never taken for ionic", choices=CARRIERS,
                      properties=ARRHENIUS_FIT_PROPERTIES, identity=False),
    )
}


@dataclass(frozen=True)
class StepParam:
    name: str
    quantity: str | None  # None: free text; "count": integer; "bool": boolean
    description: str = ""


@dataclass(frozen=True)
class StepType:
    name: str
    description: str
    params: Mapping[str, StepParam] = field(default_factory=dict)


def _step(name: str, description: str, *params: tuple) -> StepType:
    return StepType(name, description, {p[0]: StepParam(*p) for p in params})


_COMMON = (
    ("atmosphere", None, "Atmosphere or gas (Ar, N2, vacuum, air)"),
    ("equipment", None, "Instrument / device used"),
)

STEP_TYPES: dict[str, StepType] = {
    s.name: s
    for s in (
        _step(
            "ball_milling", "Mechanical milling",
            ("mill", None, "Mill model (e.g. Fritsch P7, Spex 8000M)"),
            ("mill_type", None, "planetary, shaker, ..."),
            ("jar_material", None), ("ball_material", None),
            ("jar_volume", "volume"), ("ball_diameter", "milli_length"), ("ball_count", "count"),
            ("ball_to_powder_ratio", "dimensionless", "Mass ratio balls:powder"),
            ("rpm", "rotation_speed"), ("frequency", "frequency"),
            ("duration", "duration", "Total (active) milling time"),
            ("on_time", "short_duration", "Milling interval"),
            ("off_time", "short_duration", "Rest interval"),
            ("cycles", "count", "Number of milling intervals"),
            ("batch_mass", "mass"),
            *_COMMON,
        ),
        _step(
            "annealing", "Heat treatment",
            ("temperature", "temperature"), ("duration", "duration"),
            ("ramp_rate", "ramp_rate"), ("cooling", None), ("container", None), *_COMMON,
        ),
        _step(
            "sintering", "Sintering",
            ("temperature", "temperature"), ("duration", "duration"), ("ramp_rate", "ramp_rate"),
            ("container", None), *_COMMON,
        ),
        _step(
            "cold_pressing", "Uniaxial pressing at room temperature",
            ("pressure", "pressure"), ("force", "force", "Load when only a force is stated (e.g. 5 t)"),
            ("duration", "duration"), ("die_diameter", "milli_length"),
            ("thickness", "micro_length", "Pellet thickness after pressing"), *_COMMON,
        ),
        _step(
            "hot_pressing", "Pressing at elevated temperature",
            ("pressure", "pressure"), ("force", "force", "Load when only a force is stated (e.g. 7 t)"),
            ("temperature", "temperature"), ("duration", "duration"),
            ("preheat_duration", "short_duration", "Hold at temperature before pressing"),
            ("die_diameter", "milli_length"), *_COMMON,
        ),
        _step(
            "roll_pressing", "Roll pressing (e.g. Li foil)",
            ("thickness", "micro_length", "Foil thickness after rolling"),
            ("passes", "count"), *_COMMON,
        ),
        _step(
            "pvd", "Physical vapour deposition of a coating",
            ("material", None, "Deposited material"), ("method", None, "sputtering, thermal evaporation, ..."),
            ("thickness", "nano_length", "Nominal deposited thickness"),
            ("rate", "deposition_rate"), ("pressure", "gas_pressure"), ("duration", "duration"),
            ("substrate_temperature", "temperature"), *_COMMON,
        ),
        _step(
            "gas_treatment", "Reaction with a gas (e.g. nitridation in N2)",
            ("gas", None), ("pressure", "gas_pressure"), ("duration", "duration"),
            ("temperature", "temperature"), *_COMMON,
        ),
        _step(
            "mixing", "Mixing / compositing of components",
            ("method", None), ("components", None, "What was mixed, in words"),
            ("fraction", "percent", "Fraction of the added component"),
            ("fraction_basis", None, "vol, wt or mol"), ("duration", "duration"), *_COMMON,
        ),
        _step(
            "drying", "Drying",
            ("temperature", "temperature"), ("duration", "duration"),
            ("pressure", "gas_pressure"), *_COMMON,
        ),
        _step(
            "casting", "Casting / polymerisation / coating from solution or monomer",
            ("method", None), ("material", None), ("thickness", "micro_length"),
            ("temperature", "temperature"), ("duration", "duration"), *_COMMON,
        ),
        _step(
            "purchase", "Material as received from a supplier",
            ("supplier", None), ("purity", "percent"), ("product", None),
            ("thickness", "micro_length", "Thickness of a foil as received"),
        ),
        _step(
            "synthesis", "Solid-state or solution synthesis of a precursor",
            ("method", None), ("temperature", "temperature"), ("duration", "duration"), *_COMMON,
        ),
        _step("generic", "Any other processing step (describe it in `description`)"),
    )
}

FAMILIES: tuple[str, ...] = (
    "antiperovskite",
    "halide",
    "closo-borate",
    "nanocomposite",
    "metal anode",
    "oxide",
    "sulfide",
    "polymer",
    "polymer composite",
    "metal-organic framework",
    "cathode",
    "scaffold",
    "other",
)

STRUCTURE_METHODS: tuple[str, ...] = (
    "xrd_rietveld", "xrd_lebail", "xrd_pawley", "pdf", "neutron_rietveld", "single_crystal", "xrd",
    "electron_diffraction", "dft",
)

MEASUREMENT_KINDS: tuple[str, ...] = (
    "impedance_spectrum",
    "conductivity_series",
    "dc_polarization",
    "iv_steady_state",
    "voltammetry",
    "galvanostatic_cycling",
    "critical_current_density",
    "spectroscopy",
)

ORIGINS: tuple[str, ...] = ("reported", "measured", "derived")

QUALIFIERS: tuple[str, ...] = ("exact", "approximate", "upper_bound", "lower_bound", "range")

#: why a derived value should not be trusted as is (Property.flags; stored, never hidden):
#: poor_fit       - the fit behind it explains the data badly (Arrhenius: R² < 0.9; impedance: residual
#:                  over 3 %, Lin-KK failure, or a parameter deciding R_total on a fit bound)
#: few_points     - the fit rests on the minimum number of points (Arrhenius: 3 temperatures)
#: flagged_inputs - some of the values it was computed from are themselves flagged (listed in
#:                  provenance.parameters.flagged_inputs)
#: approximate_inputs - some of the values it was computed from are approximate or range midpoints
#:                  (listed in provenance.parameters.approximate_inputs); the value is approximate too
#: inconsistent_duplicates - a point stated twice (two source locations) with values that disagree
#:                  (beyond twice their combined uncertainty, or 10 %): the fit used one of them
#:                  (provenance.parameters.duplicates, inconsistent_duplicates)
QUALITY_FLAGS: tuple[str, ...] = ("poor_fit", "few_points", "flagged_inputs", "approximate_inputs", "inconsistent_duplicates")
