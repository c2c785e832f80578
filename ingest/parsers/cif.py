"""CIF crystal structures via pymatgen, keeping the refinement's cell, partial occupancies
and the standard uncertainties of the cell parameters."""

from __future__ import annotations

import io
import os
import re
import warnings
from decimal import Decimal

import numpy as np

from ._base import TextInstrumentFile
from ._common import DEFAULT_MAX_BYTES, check_size, check_text_size, decode_bytes
from .errors import ParseError
from .models import CifPhase
from .registry import Head, register

_SU = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?:\((\d+)\))?\s*$")
_LATTICE_TAGS = {"a": "_cell_length_a", "b": "_cell_length_b", "c": "_cell_length_c",
                 "alpha": "_cell_angle_alpha", "beta": "_cell_angle_beta",
                 "gamma": "_cell_angle_gamma"}
_SG_SYMBOL_TAGS = ("_space_group_name_H-M_alt", "_symmetry_space_group_name_H-M",
                   "_space_group_name_H-M", "_space_group.name_H-M_alt")
_SG_NUMBER_TAGS = ("_space_group_IT_number", "_symmetry_Int_Tables_number",
                   "_space_group.IT_number")


def parse_su(text: str, *, file: str | None = None, field: str | None = None
             ) -> tuple[float, float | None]:
    """``'4.2307(3)'`` -> ``(4.2307, 0.0003)``; ``'90'`` -> ``(90.0, None)``."""
    m = _SU.match(str(text))
    if not m:
        raise ParseError(f"expected a number with optional standard uncertainty like "
                         f"'4.2307(3)', got {text!r}", file=file, field=field)
    num, su = m.group(1), m.group(2)
    value = float(num)
    if su is None:
        return value, None
    mant = num.lower().split("e")[0]
    decimals = len(mant.split(".", 1)[1]) if "." in mant else 0
    exp = int(num.lower().split("e")[1]) if "e" in num.lower() else 0
    return value, float(Decimal(su).scaleb(exp - decimals))


def _first(data: dict, tags) -> str | None:
    for t in tags:
        v = data.get(t)
        if v not in (None, "?", "."):
            return v if isinstance(v, str) else v[0]
    return None


def _block_texts(text: str) -> dict[str, str]:
    """Raw text of each ``data_`` block, by block name."""
    starts = [(m.start(), m.group(1)) for m in
              re.finditer(r"^[ \t]*data_(\S*)", text, re.MULTILINE | re.IGNORECASE)]
    out = {}
    for k, (pos, name) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(text)
        out[name] = text[pos:end]
    return out


def _line_of(text: str, tag: str) -> int | None:
    m = re.search(r"^[ \t]*" + re.escape(tag) + r"\b", text, re.MULTILINE | re.IGNORECASE)
    return text.count("\n", 0, m.start()) + 1 if m else None


@register
class CifFile(TextInstrumentFile):
    """A CIF file: one :class:`CifPhase` per data block that has a unit cell.

    Read whole (pymatgen's parser needs the text), not line by line like other text formats."""

    format = "cif"
    kinds = ("structure",)
    suffixes = (".cif",)
    priority = 500
    description = "CIF"

    @classmethod
    def sniff(cls, head: Head) -> bool:
        return head.search(r"^\s*data_\S") and head.search(r"^\s*_cell_length_a\b")

    def __init__(self, phases: list[CifPhase], filename: str):
        self.phases = phases
        self.filename = filename

    @classmethod
    def from_file(cls, path, *, max_bytes: int | None = DEFAULT_MAX_BYTES,
                  occupancy_tolerance: float = 1.0) -> "CifFile":
        size = check_size(path, max_bytes)
        if size == 0:
            raise ParseError("file is empty, expected a CIF", file=str(path))
        with open(path, "rb") as fh:
            text = decode_bytes(fh.read())
        return cls.from_str(text, filename=os.fspath(path), max_bytes=max_bytes,
                            occupancy_tolerance=occupancy_tolerance)

    @classmethod
    def from_str(cls, text: str, filename: str = "<string>", *,
                 max_bytes: int | None = DEFAULT_MAX_BYTES,
                 occupancy_tolerance: float = 1.0) -> "CifFile":
        from pymatgen.io.cif import CifBlock, CifParser

        check_text_size(text, filename, max_bytes)
        text = text.lstrip("\ufeff")
        if not text.strip():
            raise ParseError("file is empty, expected a CIF", file=filename)
        blocks = _block_texts(text)
        if not blocks:
            raise ParseError("expected a CIF with a 'data_' block", file=filename, line=1,
                             field="data_")
        phases = []
        for name, btext in blocks.items():
            offset = text.count("\n", 0, text.find(btext)) if btext else 0
            try:
                block = CifBlock.from_str(btext)
            except Exception as exc:
                raise ParseError(f"could not read CIF block data_{name}: {exc}",
                                 file=filename, line=offset + 1) from None
            data = block.data
            if "_cell_length_a" not in data:
                continue
            phases.append(cls._phase(name, btext, block, filename, offset,
                                     occupancy_tolerance, CifParser))
        if not phases:
            raise ParseError("expected a data block with a unit cell (_cell_length_a), "
                             "found none", file=filename, field="_cell_length_a")
        return cls(phases, filename)

    @staticmethod
    def _phase(name, btext, block, filename, offset, occ_tol, CifParser) -> CifPhase:
        data = block.data
        def where(tag):
            ln = _line_of(btext, tag)
            return None if ln is None else ln + offset

        lattice = {}
        for key, tag in _LATTICE_TAGS.items():
            raw = data.get(tag)
            if raw is None:
                raise ParseError(f"expected the cell parameter {tag}", file=filename,
                                 line=offset + 1, field=tag)
            try:
                value, su = parse_su(raw, file=filename, field=tag)
            except ParseError as exc:
                raise ParseError(exc.message, file=filename, line=where(tag), field=tag) from None
            lattice[key] = {"value": value, "uncertainty": su}

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                parser = CifParser(io.StringIO(btext), occupancy_tolerance=occ_tol)
                structures = parser.parse_structures(primitive=False, symmetrized=False,
                                                     on_error="raise")
        except Exception as exc:
            raise ParseError(f"pymatgen could not build a structure from data_{name}: {exc}",
                             file=filename, line=offset + 1) from None
        if not structures:
            msgs = "; ".join(str(w.message) for w in caught)[:500]
            raise ParseError(f"pymatgen could not build a structure from data_{name}"
                             + (f": {msgs}" if msgs else ""), file=filename, line=offset + 1)
        structure = structures[0]

        symbol = _first(data, _SG_SYMBOL_TAGS)
        symbol = re.sub(r"\s+", " ", symbol.strip().strip("'\"")) if symbol else None
        number = CifFile._number(data, symbol, filename, where)
        volume = CifFile._volume(data, filename, where)
        z_raw = data.get("_cell_formula_units_Z")
        z = int(z_raw) if z_raw not in (None, "?", ".") and str(z_raw).isdigit() else None
        formula = data.get("_chemical_formula_sum")
        formula = (re.sub(r"\s+", "", formula.strip("'\"")) if formula not in (None, "?", ".")
                   else structure.composition.formula.replace(" ", ""))

        sites = CifFile._sites(block, parser, filename, btext, offset)
        return CifPhase(formula=formula, space_group_symbol=symbol, space_group_number=number,
                        lattice=lattice, volume=volume, z=z, sites=sites, cif_text=btext,
                        structure_dict=structure.as_dict(), block_name=name,
                        source_file=filename)

    @staticmethod
    def _number(data: dict, symbol: str | None, filename: str, where) -> int | None:
        """The space-group number as written, else the one the symbol names without ambiguity
        (``schemas.crystal.resolve_space_group_symbol``), else None."""
        from ionbase.schemas.crystal import CrystalError, resolve_space_group_symbol

        raw = _first(data, _SG_NUMBER_TAGS)
        if raw is not None:
            try:
                return int(raw)
            except ValueError:
                raise ParseError(f"expected an integer space-group number, got {raw!r}", file=filename,
                                 line=where("_space_group_IT_number"), field="_space_group_IT_number") from None
        if not symbol:
            return None
        try:
            resolved = resolve_space_group_symbol(symbol)
        except CrystalError:
            return None  # ambiguous without a number: stored as written, the crystallography job names it
        from pymatgen.symmetry.groups import SpaceGroup

        return SpaceGroup(resolved).int_number if resolved else None

    @staticmethod
    def _volume(data: dict, filename: str, where) -> dict[str, float | None] | None:
        """``_cell_volume`` as written, with its standard uncertainty (``354.53(4)`` -> value 354.53,
        uncertainty 0.04); None when the file reports none (a volume is then derived, not reported)."""
        raw = data.get("_cell_volume")
        if raw in (None, "?", "."):
            return None
        try:
            value, su = parse_su(raw, file=filename, field="_cell_volume")
        except ParseError as exc:
            raise ParseError(exc.message, file=filename, line=where("_cell_volume"), field="_cell_volume") from None
        return {"value": value, "uncertainty": su}

    @staticmethod
    def _sites(block, parser, filename, btext, offset) -> list[dict]:
        data = block.data
        labels = data.get("_atom_site_label")
        if labels is None:
            raise ParseError("expected an _atom_site_ loop", file=filename, line=offset + 1,
                             field="_atom_site_label")
        if isinstance(labels, str):
            labels = [labels]
        n = len(labels)

        def col(tag):
            v = data.get(tag)
            if v is None:
                return [None] * n
            return [v] if isinstance(v, str) else list(v)

        def num(v, tag, required=False):
            if v in (None, "?", "."):
                if required:
                    raise ParseError("expected a number", file=filename,
                                     line=offset + (_line_of(btext, tag) or 1), field=tag)
                return None
            try:
                return parse_su(v, field=tag)[0]
            except ParseError as exc:
                raise ParseError(exc.message, file=filename,
                                 line=offset + (_line_of(btext, tag) or 1), field=tag) from None

        try:
            symops = parser.get_symops(block)
        except Exception:
            symops = []
        types = col("_atom_site_type_symbol")
        sites = []
        for k, (label, typ, x, y, zc, occ, wy, mult, biso, uiso) in enumerate(zip(
                labels, types, col("_atom_site_fract_x"), col("_atom_site_fract_y"),
                col("_atom_site_fract_z"), col("_atom_site_occupancy"),
                col("_atom_site_Wyckoff_symbol"), col("_atom_site_symmetry_multiplicity"),
                col("_atom_site_B_iso_or_equiv"), col("_atom_site_U_iso_or_equiv"))):
            m = re.match(r"([A-Z][a-z]?)", (typ or label or "").strip())
            element = m.group(1) if m else (typ or label)
            fx = num(x, "_atom_site_fract_x", True)
            fy = num(y, "_atom_site_fract_y", True)
            fz = num(zc, "_atom_site_fract_z", True)
            occupancy = num(occ, "_atom_site_occupancy")
            multiplicity = int(mult) if mult not in (None, "?", ".") else None
            if multiplicity is None and symops:
                pts = []
                for op in symops:
                    p = np.mod(op.operate([fx, fy, fz]), 1.0)
                    if not any(np.allclose(np.minimum(abs(p - q), 1 - abs(p - q)), 0, atol=1e-3)
                               for q in pts):
                        pts.append(p)
                multiplicity = len(pts)
            sites.append({
                "label": label, "wyckoff": None if wy in (None, "?", ".") else wy,
                "multiplicity": multiplicity, "x": fx, "y": fy, "z": fz,
                "b_iso": num(biso, "_atom_site_B_iso_or_equiv"),
                "u_iso": num(uiso, "_atom_site_U_iso_or_equiv"),
                "species": [{"element": element,
                             "occupancy": 1.0 if occupancy is None else occupancy}],
            })
        return sites
