"""The header spellings of impedance tables, in one place, and their resolution into columns.

``SPELLINGS`` lists, for each quantity a spectrum table can hold (frequency, Z', Z'', |Z|,
phase), the header names labs and instruments write, compared case- and space-insensitively.
A unit may follow in the header (``freq (kHz)``, ``Z'/kOhm``, ``Z' [Ω]``, ``phase (rad)``) and
is converted with pint; without one the canonical unit (Hz, ohm, degree) is taken. A leading
minus (``-Z''``, ``-Im(Z)``, ``-phase``, ``-Z'``) means the column holds the negated quantity.

Stored convention (``ImpedanceSpectrum``): Z = Z' + jZ'', ``z_imag_ohm`` = Im(Z), negative for a
capacitive arc; from |Z| and phase φ = arg(Z): Z' = |Z| cos φ, Z'' = |Z| sin φ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .errors import ParseError


@dataclass(frozen=True)
class Quantity:
    """One column quantity: what it is called in messages, its canonical unit and spellings."""

    label: str
    unit: str  # canonical pint unit of the stored array
    names: tuple[str, ...]
    negatable: bool


SPELLINGS: dict[str, Quantity] = {
    "frequency": Quantity("frequency", "Hz", (
        "f", "freq", "freq.", "frequency", "frequencies", "frequenz", "fréquence", "frequence"),
        negatable=False),
    "z_real": Quantity("Z' (real part)", "ohm", (
        "z'", "z'(a)", "zre", "zreal", "z_re", "z_real", "z.real", "z'real", "zre'", "zr", "z_r",
        "re(z)", "rez", "re_z", "real(z)", "realz", "real", "real part", "realpart",
        "real impedance", "impedance real", "re z", "z real", "zreal'"), negatable=True),
    "z_imag": Quantity("Z'' (imaginary part)", "ohm", (
        "z''", "z''(b)", "zim", "zimag", "zimg", "z_im", "z_imag", "z.imag", "z'imag", "zi", "z_i",
        "im(z)", "imz", "im_z", "imag(z)", "imagz", "imag", "imaginary", "imaginary part",
        "imaginarypart", "imag part", "imaginary impedance", "impedance imaginary", "z imaginary",
        "zimaginary", "im z", "z imag"), negatable=True),
    "z_mod": Quantity("|Z| (modulus)", "ohm", (
        "|z|", "zmod", "z_mod", "mod(z)", "modz", "abs(z)", "absz", "zabs", "|impedance|",
        "impedance modulus", "modulus", "magnitude", "zmag", "z_mag"), negatable=False),
    "phase": Quantity("phase", "degree", (
        "phase", "phase(z)", "phasez", "phase angle", "phaseangle", "phi", "φ", "ϕ", "theta", "θ",
        "zphz", "zphase", "z_phase", "phz", "arg(z)", "argz"), negatable=True),
}


def normalize_name(text: str) -> str:
    """Lower case, unified primes and minus signs, no spaces or underscores: the lookup form."""
    name = str(text).strip()
    for old, new in (("\u2212", "-"), ("\u2013", "-"), ("\u2033", "''"), ("\u2032", "'"),
                     ("\u2019", "'"), ("\u00b4", "'"), ("`", "'"), ('"', "''")):
        name = name.replace(old, new)
    return re.sub(r"[\s_]+", "", name.lower())


_LOOKUP: dict[str, str] = {normalize_name(s): key for key, q in SPELLINGS.items() for s in q.names}


def accepted_spellings() -> str:
    """The accepted header names, one quantity per clause (for error messages)."""
    parts = [f"{q.label}: " + ", ".join(q.names) + f" [default unit {q.unit}]"
             for q in SPELLINGS.values()]
    return ("; ".join(parts) + ". A unit may follow in (), [] or after '/'; a leading '-' marks a "
            "negated column (Z', Z'', phase). Needed: frequency with Z' and Z'', or with |Z| and phase")


@dataclass(frozen=True)
class HeaderMatch:
    """A header cell read as a quantity: which, negated or not, and the unit written (or None)."""

    quantity: str
    negated: bool
    unit: str | None
    header: str


_SUFFIX_UNIT = re.compile(r"^(?P<name>.*?)\s*[\(\[](?P<unit>[^()\[\]]*)[\)\]]\s*$")


#: ``Zreal_ohm``, ``freq_kHz``: a unit after the last underscore (read only if it is a unit of
#: the quantity, so ``freq_set`` names no frequency)
_UNDERSCORE_UNIT = re.compile(r"^(?P<name>.+?)_(?P<unit>[A-Za-zΩµμ\u2126]+)$")


def _name_unit_forms(header: str):
    """(name, unit, checked) readings of a header cell, the unit-free reading first.

    ``checked`` marks a reading that counts only when its unit converts to the quantity's unit.
    """
    yield header, None, False
    m = _SUFFIX_UNIT.match(header)
    if m and m["name"]:
        yield m["name"], m["unit"].strip(), False
    if "/" in header:
        name, unit = header.rsplit("/", 1)
        if name.strip():
            yield name, unit.strip(), False
    m = _UNDERSCORE_UNIT.match(header)
    if m:
        yield m["name"], m["unit"], True


def match_header(header) -> HeaderMatch | None:
    """The quantity a header cell names, or None if it is not one of ``SPELLINGS``."""
    text = "" if header is None else str(header).strip().strip('"').strip()
    for name, unit, checked in _name_unit_forms(text):
        n = normalize_name(name)
        negated = n.startswith("-")
        if negated:
            n = n[1:]
        key = _LOOKUP.get(n)
        if key is None or (negated and not SPELLINGS[key].negatable):
            continue
        match = HeaderMatch(key, negated, unit or None, text)
        if checked and not _is_unit_of(match):
            continue
        return match
    return None


def _is_unit_of(match: HeaderMatch) -> bool:
    """True when the header's unit converts to the canonical unit of its quantity."""
    try:
        unit_factor(match, file=None, line=None)
    except ParseError:
        return False
    return True


# --------------------------------------------------------------------------- units

_UNIT_FIXES = [
    (re.compile(r"(?i)(ohms?|Ω|\u2126)"), "ohm"),
    (re.compile(r"(?i)hz"), "Hz"),
    (re.compile(r"^K(?=(Hz|ohm)$)"), "k"),  # "KHz", "KOhm": kilo, not kelvin
    (re.compile(r"(?i)^(°|º|deg\.?|degs|degrees?)$"), "degree"),
    (re.compile(r"(?i)^(rads?|radians?)$"), "radian"),
    (re.compile(r"^[µμ]"), "u"),
]


def canonical_factor(quantity: str, unit: str, header: str, *, file: str | None,
                     line: int | None) -> float:
    """Factor from ``unit`` (as written in a units line or header) to the canonical unit of
    ``quantity`` (a ``SPELLINGS`` key); ParseError naming ``header`` for an unknown unit or one
    of another dimension."""
    return unit_factor(HeaderMatch(quantity, False, unit, header), file=file, line=line)


def unit_factor(match: HeaderMatch, *, file: str | None, line: int | None) -> float:
    """Factor from the header's unit to the quantity's canonical unit (1 without a unit).

    A unit pint does not know, or of another dimension (``Z' (Ohm cm2)``), is a ParseError
    naming the column: a unit is never ignored.
    """
    q = SPELLINGS[match.quantity]
    if not match.unit:
        return 1.0
    text = match.unit.strip()
    if text == "mhz":
        raise ParseError("unit 'mhz' is ambiguous: write mHz (millihertz) or MHz (megahertz)",
                         file=file, line=line, field=match.header)
    for pattern, repl in _UNIT_FIXES:
        text = pattern.sub(repl, text)
    if re.search(r"rad|deg|rev|°|turn", text, re.IGNORECASE) and q.unit == "Hz":
        # pint counts radians as 1, so 'rad/s' would be read as Hz: an angular frequency is 2 pi f
        raise ParseError(f"unit {match.unit!r} is an angular frequency (omega = 2 pi f); give the "
                         "frequency f in Hz", file=file, line=line, field=match.header)
    from ionbase.schemas.units import ureg

    reg = ureg()
    try:
        return float(reg.Quantity(1.0, text).to(q.unit).magnitude)
    except Exception:  # pint raises several types (undefined, dimensionality, syntax)
        raise ParseError(f"unit {match.unit!r} in the header is not a unit of {q.label} "
                         f"(expected e.g. {q.unit})", file=file, line=line,
                         field=match.header) from None


# --------------------------------------------------------------------------- resolution

@dataclass(frozen=True)
class ColumnPlan:
    """Which columns hold frequency and the impedance, and how to convert them."""

    form: str  # "cartesian" (Z', Z'') or "polar" (|Z|, phase)
    index: dict[str, int]  # frequency, z_real/z_imag or z_mod/phase -> column index
    factor: dict[str, float]  # same keys -> factor to canonical unit, sign included
    names: list[str] = field(default_factory=list)
    header_line: int | None = None  # line (or row) of the header, named in sign errors

    @property
    def used(self) -> tuple[str, str, str]:
        return (("frequency", "z_real", "z_imag") if self.form == "cartesian"
                else ("frequency", "z_mod", "phase"))

    def describe(self) -> dict:
        """What was read from where (stored in the spectrum's metadata)."""
        out = {"form": self.form}
        for key in self.used:
            out[key] = self.names[self.index[key]]
            out[f"{key}_factor"] = self.factor[key]
        return out

    def columns_metadata(self) -> dict:
        """Which column each array came from, its unit factor and sign (kept with a spectrum)."""
        out: dict = {key: self.column_name(self.index[key]) for key in self.used}
        out["form"] = self.form
        out["factors"] = {key: self.factor[key] for key in self.used}
        if self.form == "cartesian":
            out["z_imag_negated"] = self.factor["z_imag"] < 0
        return out

    def column_name(self, i: int) -> str:
        """The header of column ``i`` (0-based), or ``column i+1`` without a header."""
        return self.names[i] if i < len(self.names) else f"column {i + 1}"

    def convert(self, f, a, b, *, file: str | None, lines) -> tuple[np.ndarray, ...]:
        """(frequency Hz, Z' ohm, Z'' ohm) from the raw values of the three used columns, with
        the sign checks of a table that documents no sign convention (generic CSV/XLSX)."""
        f, zr, zi = self.to_canonical(f, a, b, file=file, lines=lines)
        if self.factor.get("z_real", 1.0) < 0 and np.count_nonzero(zr < 0) > len(zr) / 2:
            name = self.names[self.index["z_real"]]
            raise ParseError(f"column {name!r} says it holds -Z', but its values are mostly "
                             f"positive, so Z' would be negative at {np.count_nonzero(zr < 0)} "
                             f"of {len(zr)} points (a passive cell has Z' >= 0); name the "
                             "column Z' if it holds Z'", file=file, line=self.header_line,
                             field=name)
        self._check_imaginary_sign(zi, file=file)
        return f, zr, zi

    def to_canonical(self, f, a, b, *, file: str | None, lines) -> tuple[np.ndarray, ...]:
        """(frequency Hz, Z' ohm, Z'' ohm): header units and signs applied, |Z|/phase turned into
        Z', Z''. Used as is by the instrument formats, whose sign convention is documented."""
        k = self.used
        f = np.asarray(f, dtype=float) * self.factor[k[0]]
        a = np.asarray(a, dtype=float) * self.factor[k[1]]
        b = np.asarray(b, dtype=float) * self.factor[k[2]]
        if self.form == "cartesian":
            zr, zi = a, b
        else:
            bad = np.flatnonzero(a < 0)
            if bad.size:
                raise ParseError(f"|Z| must not be negative, got {a[bad[0]]!r}", file=file,
                                 line=None if lines is None else int(lines[bad[0]]),
                                 field=self.names[self.index["z_mod"]])
            phi = np.radians(b)
            zr, zi = a * np.cos(phi), a * np.sin(phi)
        return f, zr, zi

    def _check_imaginary_sign(self, zi: np.ndarray, *, file: str | None) -> None:
        """A Z'' read as positive at 80 % or more of the points is refused, never guessed — a
        capacitive spectrum has Z'' < 0 except at the highest frequencies (inductance), so the
        column's sign is wrong and reading it would mirror every arc: an unsigned Z'' column of
        positive values most likely holds -Z'' (as many instruments export it), a -Z'' column of
        negative values most likely holds Z''.  The error names the header line and column."""
        if self.form != "cartesian" or zi.size < 5:
            return
        positive = int(np.count_nonzero(zi > 0))
        if positive < 0.8 * zi.size:
            return
        name = self.names[self.index["z_imag"]]
        if self.factor.get("z_imag", 1.0) < 0:
            raise ParseError(f"column {name!r} says it holds -Z'', but its values are negative at "
                             f"{positive} of {zi.size} points, so Z'' would be positive there: an "
                             "inductive spectrum (a capacitive cell has Z'' < 0, -Z'' > 0). If the "
                             "column holds Z'', name it without the minus (Z''); if it really holds "
                             "-Z'', it cannot be read as an impedance spectrum of an ion conductor",
                             file=file, line=self.header_line, field=name)
        raise ParseError(f"column {name!r} holds positive values at {positive} of {zi.size} points; as "
                         "Z'' that would be an inductive spectrum (a capacitive cell has Z'' < 0). If the "
                         f"column holds -Z'', name it '-{name}' (or -Z''); if it really holds Z'', it "
                         "cannot be read as an impedance spectrum of an ion conductor", file=file,
                         line=self.header_line, field=name)


def _one_column(key: str, hits: list[tuple[int, HeaderMatch]], seen: str, file, line
                ) -> tuple[int, float]:
    """(index, signed unit factor) of the one column holding ``key``.

    A cell whose bracket is not a unit of the quantity (``Phase(Y)`` beside ``Phase(Z)/deg``)
    does not count; if no cell is left, the first unit error is raised.
    """
    valid, errors = [], []
    for i, m in hits:
        try:
            valid.append((i, m, unit_factor(m, file=file, line=line)))
        except ParseError as exc:
            errors.append(exc)
    if not valid:
        raise errors[0]
    if len(valid) > 1:
        cols = " and ".join(repr(m.header) for _, m, _f in valid)
        raise ParseError(f"ambiguous header: columns {cols} all read as "
                         f"{SPELLINGS[key].label}; columns seen: {seen}. Accepted "
                         f"spellings: {accepted_spellings()}", file=file, line=line,
                         field=valid[1][1].header)
    i, m, f = valid[0]
    return i, f * (-1.0 if m.negated else 1.0)


def resolve_columns(names: list, *, file: str | None, line: int | None,
                    required: bool) -> ColumnPlan | None:
    """The ColumnPlan of a header row.

    Returns None when no cell is recognised and ``required`` is False (a preamble line).
    Raises ParseError naming file, line, the columns seen and the accepted spellings when the
    header is ambiguous (two columns for one quantity) or incomplete.
    """
    names = ["" if n is None else str(n).strip() for n in names]
    found: dict[str, list[tuple[int, HeaderMatch]]] = {}
    for i, name in enumerate(names):
        m = match_header(name)
        if m is not None:
            found.setdefault(m.quantity, []).append((i, m))
    if not found and not required:
        return None
    seen = ", ".join(repr(n) for n in names)
    if {"frequency", "z_real", "z_imag"} <= found.keys():
        form = "cartesian"
    elif {"frequency", "z_mod", "phase"} <= found.keys():
        form = "polar"
    else:
        missing = [SPELLINGS[k].label for k in ("frequency", "z_real", "z_imag") if k not in found]
        raise ParseError(f"header not recognised as an impedance table (no column for "
                         f"{', '.join(missing)}); columns seen: {seen}. Accepted spellings: "
                         f"{accepted_spellings()}", file=file, line=line, field=missing[0])
    used = ("frequency", "z_real", "z_imag") if form == "cartesian" else \
        ("frequency", "z_mod", "phase")
    chosen = {key: _one_column(key, found[key], seen, file, line) for key in used}
    index = {key: chosen[key][0] for key in used}
    factor = {key: chosen[key][1] for key in used}
    return ColumnPlan(form, index, factor, names, header_line=line)
