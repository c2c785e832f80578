"""Units at the edge: parse what a user wrote, convert it to the canonical unit, keep the original.

One pint registry for the whole application (created lazily, not at import time). Temperatures are
created as quantities (``Q_(25, "degC")``) and converted, never multiplied, which avoids pint's
offset-unit traps.

Energies per mole (``kJ/mol``, ``J/mol``, ``kcal/mol``) convert to and from energies per particle
(``eV``) through the Avogadro constant (the ``molar`` pint context): 1 eV = 96.485 kJ/mol.

Rounding rule: every converted number (value, uncertainty, range ends) is rounded to
``SIGNIFICANT_DIGITS`` (12) significant digits by :func:`round_sig`. Binary floating point turns
``0.1 mS/cm`` into ``9.999999999999999e-05 S/cm`` and an uncertainty ``(0.6 - 0.5)`` into
``0.09999999999999998``; no lab number carries 12 significant digits, so the rounding removes only
that noise: ``0.1 mS/cm`` is stored as ``1e-04 S/cm`` and the same quantity written in any
compatible unit is stored as the same float. What the user entered is kept verbatim in ``entered``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from ionbase.schemas.registry import QUANTITIES, valid_range


class UnitError(ValueError):
    """A value could not be read or converted; ``field`` names where it came from."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


@lru_cache(maxsize=1)
def ureg():
    """The application's pint UnitRegistry (built once, on first use)."""
    import pint

    reg = pint.UnitRegistry(autoconvert_offset_to_baseunit=False, on_redefinition="ignore")
    # a mill's speed and frequency count revolutions (oscillations): 1 rpm = 1/min = 1/60 Hz. pint's
    # rpm is revolution/minute with revolution = 2π rad, which made "400 min-1" 63.66 rpm. The angles
    # (radian, degree, turn) stay angles; _affine turns an angle per time into a count per time.
    reg.define("revolutions_per_minute = 1 / minute = rpm")
    reg.define("revolutions_per_second = 1 / second = rps")
    reg.define("ton_US = short_ton")  # the explicit name of pint's 'ton' (2000 lb); 'ton' itself is refused
    reg.define("percent_unit = 0.01 = pct")
    reg._build_cache()  # pint caches root units when the registry is made: rpm must be 1/min there too
    molar = pint.Context("molar")
    molar.add_transformation("[energy] / [substance]", "[energy]", lambda r, x: x / r.avogadro_constant)
    molar.add_transformation("[energy]", "[energy] / [substance]", lambda r, x: x * r.avogadro_constant)
    reg.add_context(molar)
    return reg


SIGNIFICANT_DIGITS = 12


def round_sig(x: float | None, digits: int = SIGNIFICANT_DIGITS) -> float | None:
    """Round away binary noise from a unit conversion (the module's rounding rule); None stays None."""
    return None if x is None else float(f"{x:.{digits}g}")


# Spellings users type that pint does not know.
_REPLACEMENTS = [
    ("°C", "degC"), ("° C", "degC"), ("ºC", "degC"), ("℃", "degC"), ("°K", "K"), ("°", "degree"),
    ("Å", "angstrom"), ("Ω", "ohm"), ("µ", "u"), ("μ", "u"), ("⁻¹", "^-1"), ("⁻²", "^-2"), ("²", "^2"),
    ("³", "^3"), ("·", "*"), ("×", "*"), ("−", "-"),
]
#: a compact product unit (mAh, Ah, µAh, Wh, mWh, kWh) as one parenthesised factor: pint reads
#: "mA*h/mA*h" left to right as h^2, so "mAh/mAh" must become "(mA*h)/(mA*h)", which is 1
_COMPACT_PRODUCT = re.compile(r"\b([kmu]?)(A|W)h\b")


def normalize_unit_text(text: str) -> str:
    """Rewrite common lab spellings (°C, Å, µm, mAh/g, mA/cm2, Ohm) into pint syntax."""
    out = text.strip()
    for old, new in _REPLACEMENTS:
        out = out.replace(old, new)
    out = _COMPACT_PRODUCT.sub(r"(\1\2*h)", out)
    # papers' exponents: "S cm-1", "mA cm-2", "kJ mol-1" (a unit followed by -1..-4); "S.cm-1"
    out = re.sub(r"\b([a-zA-Z]+)-([1-4])\b", r"\1^-\2", out)
    out = re.sub(r"(?<=[a-zA-Z)])\.(?=[a-zA-Z(])", "*", out)
    out = re.sub(r"\bOhm\b", "ohm", out)
    out = re.sub(r"\bohms\b", "ohm", out)
    out = re.sub(r"\bsec\b", "s", out)
    out = re.sub(r"\bdeg\s?C\b", "degC", out)
    out = re.sub(r"\bhrs?\b", "h", out)
    out = re.sub(r"\bmins?\b", "min", out)
    out = re.sub(r"\b(vol|wt|mol)\s*%", "percent", out)
    out = out.replace("%", "percent")
    # cm2 -> cm^2 (a unit followed directly by a digit)
    out = re.sub(r"\b([a-zA-Z]+)([23])\b", r"\1^\2", out)
    out = re.sub(r"\bS\b", "siemens", out)
    return out


@lru_cache(maxsize=512)
def parse_unit(text: str):
    """Parse a unit string into a pint Unit, or raise UnitError."""
    if text is None:
        raise UnitError("no unit given")
    norm = normalize_unit_text(str(text))
    if norm in ("", "1", "dimensionless", "-"):
        return ureg().dimensionless
    if not re.fullmatch(r"[A-Za-z0-9_\^\*/\.\(\) \-]+", norm):
        raise UnitError(f"unit {text!r} contains characters that are not part of a unit")
    try:
        unit = ureg().parse_units(norm)
    except Exception as exc:  # pint raises several types
        raise UnitError(f"unknown unit {text!r}") from exc
    _refuse_ambiguous_ton(text, norm)
    return unit


#: pint's names of the US short ton (2000 lb) and its force; written without "short" they are ambiguous
_SHORT_TON_UNITS = frozenset({"ton", "force_ton"})


def _refuse_ambiguous_ton(text: str, norm: str) -> None:
    """Refuse 'ton', 'tons', 'ton_force' (pint: the US short ton, 907.2 kg): a lab's press load in
    "tons" is a metric tonne (1000 kg) in most labs and a short ton on US presses, never guessed."""
    reg = ureg()
    for token in re.findall(r"[A-Za-z_]+", norm):
        names = {name for _prefix, name, _suffix in reg.parse_unit_name(token)}
        if names & _SHORT_TON_UNITS and "short" not in token.lower():
            raise UnitError(f"unit {text!r}: '{token}' is ambiguous (a metric tonne of 1000 kg in most labs, "
                            "a US short ton of 907.2 kg on US presses); write 't' (tonne) or 'ton_US' / "
                            "'short_ton'")


@dataclass(frozen=True)
class Value:
    """A number in a canonical unit, with its uncertainty and what the user wrote."""

    value: float
    unit: str
    uncertainty: float | None = None
    qualifier: str | None = None
    range: tuple[float, float] | None = None
    entered: dict | None = None

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"value": self.value, "unit": self.unit}
        if self.uncertainty is not None:
            out["uncertainty"] = self.uncertainty
        if self.qualifier:
            out["qualifier"] = self.qualifier
        if self.range:
            out["range"] = list(self.range)
        if self.entered:
            out["entered"] = self.entered
        return out


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QTY_RE = re.compile(
    rf"^\s*(?P<qual>~|≈|<=|>=|<|>|≤|≥)?\s*(?P<num>{_NUMBER})\s*"
    rf"(?:\((?P<paren>\d+)\))?\s*"
    rf"(?:(?:±|\+/-|\+-)\s*(?P<pm>{_NUMBER}))?\s*"
    rf"(?P<unit>.*?)\s*$"
)
_RANGE_RE = re.compile(rf"^\s*(?P<lo>{_NUMBER})\s*(?:-|–|to)\s*(?P<hi>{_NUMBER})\s*(?P<unit>.*?)\s*$")
_QUALIFIERS = {"~": "approximate", "≈": "approximate", "<": "upper_bound", "<=": "upper_bound",
               "≤": "upper_bound", ">": "lower_bound", ">=": "lower_bound", "≥": "lower_bound"}


def _paren_uncertainty(number: str, digits: str) -> float:
    """4.2307(3) -> 0.0003; 12.5(12) -> 1.2; 1.23e-4(5) -> 0.05e-4."""
    mantissa, _, exponent = number.lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    unc = int(digits) * 10.0 ** (-decimals)
    if exponent:
        unc *= 10.0 ** int(exponent)
    return unc


def text_unit(text: str) -> str | None:
    """The unit written in a quantity string (``"0.5 mS/cm"`` -> ``"mS/cm"``); None when it has none."""
    m_range = _RANGE_RE.match(text)
    if m_range and not text.lstrip().startswith("-"):
        return m_range["unit"] or None
    m = _QTY_RE.match(text)
    return (m["unit"] or None) if m else None


def join_quantity(raw: Any, beside: dict) -> Any:
    """One quantity from a ``value`` and the ``unit``/``uncertainty``/``range`` given beside it.

    ``raw`` may be a number, a string (``"0.5 mS/cm"``, ``"4.2(3)"``) or a mapping; a unit or an
    uncertainty given both inside ``raw`` and beside it is an error, never a silent choice.
    """
    extra = {k: v for k, v in beside.items() if v is not None}
    if not extra:
        return raw
    if isinstance(raw, dict):
        twice = sorted(set(extra) & set(raw))
        if twice:
            raise UnitError(f"{' and '.join(twice)} given both inside 'value' and beside it")
        return {**raw, **extra}
    if isinstance(raw, str) and set(extra) == {"unit"}:
        if text_unit(raw):
            raise UnitError(f"the unit is given twice: in 'value' ({raw!r}) and in 'unit' ({extra['unit']!r})")
        return f"{raw.strip()} {extra['unit']}"  # e.g. "4.2(3)" or "~0.5" with the unit beside it
    return {"value": raw, **extra} if raw is not None else extra


def quantity_kind_unit(kind: str) -> str:
    """Canonical pint unit string of a registry quantity kind."""
    try:
        return QUANTITIES[kind].unit
    except KeyError:
        raise UnitError(f"unknown quantity kind {kind!r}") from None


def convert(value: float, from_unit: str, to_unit: str, field: str | None = None) -> float:
    """Convert a number between units, rejecting a dimension mismatch with a clear error."""
    try:
        scale, offset = _affine(str(from_unit), str(to_unit), None)
    except UnitError as exc:
        raise UnitError(f"{value:g} {from_unit} is not a valid value here: {exc}", field) from None
    return value * scale + offset


@lru_cache(maxsize=1024)
def _affine(from_unit: str, to_unit: str, field: str | None) -> tuple[float, float]:
    """Every unit conversion Ionbase needs is affine (y = a*x + b); compute a and b once with pint."""
    src = parse_unit(from_unit)
    dst = parse_unit(to_unit)
    if src == dst:
        return 1.0, 0.0
    reg = ureg()
    # energies per mole <-> per particle need the Avogadro constant; nothing else uses a context
    contexts = ("molar",) if {_energy_kind(src), _energy_kind(dst)} == {"molar", "particle"} else ()
    per_turn = _per_turn(src, dst)

    def at(x: float) -> float:
        q = reg.Quantity(x, src)  # an offset unit (degC) is never multiplied, not even by 1
        return float((q if per_turn is None else q * per_turn).to(dst, *contexts).magnitude)

    try:
        y0, y1 = at(0.0), at(1.0)
    except Exception as exc:
        raise UnitError(
            f"cannot express {from_unit} in {to_unit} (dimension {src.dimensionality} "
            f"is not {dst.dimensionality})",
            field,
        ) from exc
    return y1 - y0, y0


def _angle_power(unit) -> float:
    """The power of radian in a unit's root units: 1 for rad/s, deg/s, revolution/min; 0 for Hz, rpm."""
    return dict(ureg().get_root_units(unit)[1]._units).get("radian", 0)


def _per_turn(src, dst):
    """What a rate must be multiplied by when only one side counts an angle: an angle per time
    (rad/s, deg/s, revolution/min) is a count per time (Hz, rpm, 1/min) of one per turn (2π rad),
    so 1 rad/s = 1/(2π) Hz and 1 revolution/min = 1 rpm; pint, whose radian is a plain number, would
    make 1 rad/s = 1 Hz. None for every other conversion (left to pint as it is)."""
    reg = ureg()
    power = _angle_power(dst) - _angle_power(src)
    if not power or src.dimensionality != reg.hertz.dimensionality:
        return None
    return reg.Quantity(1.0, "turn") ** power


def _energy_kind(unit) -> str | None:
    dims = unit.dimensionality
    reg = ureg()
    if dims == reg.joule.dimensionality:
        return "particle"
    if dims == (reg.joule / reg.mole).dimensionality:
        return "molar"
    return None


def convert_difference(delta: float, from_unit: str, to_unit: str, field: str | None = None) -> float:
    """Convert a difference or an uncertainty: only the scale applies, never a unit offset (°C -> K)."""
    try:
        scale, _offset = _affine(str(from_unit), str(to_unit), None)
    except UnitError as exc:
        raise UnitError(f"{delta:g} {from_unit} is not a valid value here: {exc}", field) from None
    return abs(delta * scale)


def _scale_uncertainty(unc: float, num: float, from_unit: str, to_unit: str) -> float:
    """Uncertainties are differences: scale them, dropping any unit offset."""
    return convert_difference(unc, from_unit, to_unit)


class _Read(NamedTuple):
    """A quantity as written, before conversion: number, unit, uncertainty, range, qualifier, entered."""

    num: float
    unit: str
    unc: float | None
    rng: tuple[float, float] | None
    qualifier: str | None
    entered: dict[str, Any]


#: quantities whose bare numbers are refused: their common units have different zeros (K and °C)
UNIT_REQUIRED = frozenset({"temperature"})


def parse_value(raw: Any, kind: str, field: str, default_unit: str | None = None, prop: str | None = None) -> Value:
    """Read a quantity in any accepted form and return it in the canonical unit of ``kind``.

    Accepted: a number (taken in ``default_unit`` or the canonical unit), a string such as
    ``"4.2307(3) Å"``, ``"600 °C"``, ``"0.71 ± 0.02 eV"``, ``"~0.5 eV"``, ``"200-400 µm"``, or a
    mapping ``{value, unit, uncertainty, qualifier, range}``. The value must lie in the valid range of
    ``kind`` (registry.VALID_RANGES), or of property ``prop`` when it has its own (PROPERTY_RANGES).
    """
    canonical = quantity_kind_unit(kind)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise UnitError("a value is required", field)
    if isinstance(raw, bool):
        raise UnitError(f"expected a quantity, got {raw!r}", field)
    # a bare temperature (no unit anywhere) could be °C as well as K: refused, never guessed
    fallback_unit = default_unit or (None if kind in UNIT_REQUIRED else canonical)
    if isinstance(raw, (int, float)):
        read = _Read(_as_float(raw, field), fallback_unit, None, None, None, {"value": raw, "unit": fallback_unit})
    elif isinstance(raw, str):
        read = _read_text(raw, fallback_unit, field)
    elif isinstance(raw, dict):
        read = _read_mapping(raw, fallback_unit, field)
    else:
        raise UnitError(f"expected a quantity, got {type(raw).__name__}", field)
    if read.unit is None:
        raise UnitError(f"a {kind} needs a unit: write {raw!r} as e.g. '25 °C' or '298.15 K' "
                        "(a bare number could be either)", field)
    return _canonical_value(read, kind, canonical, field, prop)


def _read_text(raw: str, fallback_unit: str, field: str) -> _Read:
    """``"4.2(3) Å"``, ``"0.71 ± 0.02 eV"``, ``"~0.5 eV"``, ``"200-400 µm"``."""
    text = raw.strip()
    m_range = _RANGE_RE.match(text)
    if m_range and not text.lstrip().startswith("-"):
        lo, hi = _range_ends(m_range["lo"], m_range["hi"], raw, field)
        # a stated range, nothing known inside it: the standard uncertainty of a rectangular distribution
        # (GUM 4.3.7, half-width / sqrt 3), as every stored uncertainty is a standard one (docs/export.md)
        return _Read((lo + hi) / 2, m_range["unit"] or fallback_unit, (hi - lo) / (2 * math.sqrt(3)), (lo, hi),
                     "range", {"text": raw})
    m = _QTY_RE.match(text)
    if not m:
        raise UnitError(f"expected a number with a unit (e.g. '12 h'), got {raw!r}", field)
    unc = None
    if m["paren"]:
        unc = _paren_uncertainty(m["num"], m["paren"])
    elif m["pm"]:
        unc = abs(float(m["pm"]))
    qualifier = _QUALIFIERS[m["qual"]] if m["qual"] else None
    return _Read(float(m["num"]), m["unit"] or fallback_unit, unc, None, qualifier, {"text": raw})


def _range_ends(lo_text: str, hi_text: str, raw: str, field: str) -> tuple[float, float]:
    """The ends of a range written as text, low first. One end with an exponent and the other without
    ('1-3e-4 S/cm', papers' '1-3 x 10^-4') is refused: the exponent may belong to both ends or to one."""
    if ("e" in lo_text.lower()) != ("e" in hi_text.lower()):
        raise UnitError(f"range {raw!r}: only one end has an exponent; write both ends in full "
                        "(e.g. '1e-4-3e-4 S/cm')", field)
    lo, hi = float(lo_text), float(hi_text)
    if lo > hi:
        raise UnitError(f"range {raw!r}: the low end comes first (e.g. '{hi_text}-{lo_text}')", field)
    return lo, hi


def _read_mapping(raw: dict, fallback_unit: str, field: str) -> _Read:
    """``{value, unit, uncertainty, qualifier, range}`` (notes allowed)."""
    unknown = set(raw) - {"value", "unit", "uncertainty", "qualifier", "range", "note", "notes"}
    if unknown:
        raise UnitError(f"unknown keys {sorted(unknown)} in quantity", field)
    if "value" not in raw and "range" not in raw:
        raise UnitError("a quantity mapping needs 'value'", field)
    for key in ("unit", "qualifier"):
        if raw.get(key) is not None and not (isinstance(raw[key], str) and raw[key].strip()):
            raise UnitError(f"'{key}' must be text, got {raw[key]!r}", field)
    num, text_unit_ = _mapping_value(raw.get("value"), raw.get("unit"), field)
    unit = raw.get("unit") or text_unit_ or fallback_unit
    rng = None
    if raw.get("range") is not None:
        r = raw["range"]
        if not (isinstance(r, (list, tuple)) and len(r) == 2):
            raise UnitError("range must be [low, high]", field)
        rng = (_as_float(r[0], field), _as_float(r[1], field))
        if rng[0] > rng[1]:
            raise UnitError(f"range {list(r)!r}: the low end comes first", field)
    num = num if num is not None else sum(rng) / 2
    unc = _mapping_uncertainty(raw["uncertainty"], unit, field) if raw.get("uncertainty") is not None else None
    entered = {k: raw[k] for k in ("value", "unit", "uncertainty", "range") if k in raw}
    return _Read(num, unit, unc, rng, raw.get("qualifier"), entered)


def _canonical_value(read: _Read, kind: str, canonical: str, field: str, prop: str | None = None) -> Value:
    """Check qualifier and finiteness, convert number, uncertainty and range to the canonical unit."""
    num, unit, unc, rng, qualifier = read.num, read.unit, read.unc, read.rng, read.qualifier
    if qualifier is not None and qualifier not in ("exact", "approximate", "upper_bound", "lower_bound", "range"):
        raise UnitError(f"unknown qualifier {qualifier!r}", field)
    if not math.isfinite(num):
        raise UnitError(f"value {num} is not finite", field)
    if kind == "c_rate" and str(unit).strip() in ("C", "c"):
        unit = "1/h"  # a C-rate of 0.2C means 0.2 per hour, not 0.2 coulomb
    if kind == "force":
        unit = _press_load_unit(unit, field)
    value = _to_canonical(num, unit, kind, field)
    check_range(value, kind, field, prop, entered=f"{num:g} {unit}")
    if unc is not None:
        if not math.isfinite(unc):
            raise UnitError(f"uncertainty {unc} is not finite", field)
        unc = _scale_uncertainty(unc, num, unit, canonical)
    if rng is not None:
        rng = (convert(rng[0], unit, canonical, field), convert(rng[1], unit, canonical, field))
        for end in rng:
            check_range(end, kind, field, prop)
    return Value(round_sig(value), _display(canonical), round_sig(unc), qualifier,
                 (round_sig(rng[0]), round_sig(rng[1])) if rng else None, read.entered)


def _press_load_unit(unit: str, field: str) -> str:
    """A press load written as a mass ("5 t") means that mass's weight (tonne-force); 'ton' is refused
    (parse_unit), naming the field."""
    try:
        mass = parse_unit(unit).dimensionality == ureg().kilogram.dimensionality
    except UnitError as exc:
        raise UnitError(str(exc), field) from None
    return f"({normalize_unit_text(str(unit))})*standard_gravity" if mass else unit


def check_range(value: float, kind: str, field: str | None, prop: str | None = None,
                entered: str | None = None) -> None:
    """Refuse a canonical value outside the valid range of ``kind`` (or of property ``prop``):
    registry.VALID_RANGES, documented in docs/valid-ranges.md; NaN and infinities are never valid."""
    rng = valid_range(kind, prop)
    if not math.isfinite(value) or value not in rng:
        q = QUANTITIES[kind]
        what = prop or q.label
        shown = f"{value:g} {q.display_unit}".strip() + (f" (entered {entered})" if entered else "")
        raise UnitError(f"{shown} is outside the valid range of {what}, {rng} {q.display_unit}".rstrip()
                        + " (schemas/registry.py VALID_RANGES; widen it there if the value is real)", field)


def _to_canonical(num: float, unit: str, kind: str, field: str) -> float:
    """``num unit`` in the canonical unit of ``kind``; a wrong dimension names the quantity expected."""
    try:
        parse_unit(unit)
    except UnitError as exc:
        raise UnitError(str(exc), field) from None
    try:
        return convert(num, unit, QUANTITIES[kind].unit)
    except UnitError:
        q = QUANTITIES[kind]
        raise UnitError(f"{unit!r} is not a unit of {q.label} (canonical unit {q.display_unit}); got {num:g} {unit}",
                        field) from None


def number_and_unit(text: str, field: str | None = None) -> tuple[float, str | None]:
    """``"0.5 mS/cm"`` -> (0.5, "mS/cm"); ``"0.5"`` -> (0.5, None). Anything more (``~``, ``(3)``, ``±``) is an error."""
    m = _QTY_RE.match(text)
    if not m or m["qual"] or m["paren"] or m["pm"]:
        raise UnitError(f"expected a plain '<number> <unit>' here (no uncertainty or qualifier inside), got {text!r}", field)
    return float(m["num"]), m["unit"] or None


def _mapping_value(raw: Any, unit: Any, field: str) -> tuple[float | None, str | None]:
    """The number of a mapping's ``value`` and a unit written in it (``"0.5 mS/cm"``), if any."""
    if raw is None or not isinstance(raw, str):
        return (None if raw is None else _as_float(raw, field)), None
    num, text_unit_ = number_and_unit(raw, field)
    if text_unit_ and unit:
        raise UnitError(f"the unit is given twice: in 'value' ({raw!r}) and in 'unit' ({unit!r})", field)
    return num, text_unit_


def _mapping_uncertainty(raw: Any, unit: str, field: str) -> float:
    """An uncertainty in the value's unit, or with its own (``"20 uS/cm"``, ``{value, unit}``), scaled to it."""
    if isinstance(raw, dict):
        if set(raw) - {"value", "unit"} or "value" not in raw:
            raise UnitError(f"an uncertainty mapping is {{value, unit}}, got {raw!r}", field)
        num, own = _as_float(raw["value"], field), raw.get("unit")
    elif isinstance(raw, str):
        num, own = _mapping_value(raw, None, field)
    else:
        num, own = _as_float(raw, field), None
    if own:
        try:
            return convert_difference(num, own, unit)
        except UnitError:
            raise UnitError(f"uncertainty {raw!r} is not in a unit of the value ({unit})", field) from None
    return abs(num)


def _as_float(x: Any, field: str) -> float:
    if isinstance(x, bool):
        raise UnitError(f"expected a number, got {x!r}", field)
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond any float (10**400)
        raise UnitError(f"expected a number, got {str(x)[:40]!r}", field) from None


def _display(unit: str) -> str:
    """The canonical unit as Ionbase shows it (registry symbol)."""
    for q in QUANTITIES.values():
        if q.unit == unit:
            return q.display_unit or unit
    return unit


def to_celsius(kelvin: float | None) -> float | None:
    if kelvin is None:
        return None
    return round(kelvin - 273.15, 6)
