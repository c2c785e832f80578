"""Series-layer subtraction for multilayer cells.

For layers in series the resistances add (Kirchhoff), so the electrolyte's ionic
resistance is R_el = R_total - sum_i R_layer,i with
u(R_el)^2 = u(R_total)^2 + sum_i u(R_layer,i)^2 (GUM, uncorrelated inputs).
Used e.g. when electron-blocking interlayers (such as the MOF layers in Ionbase's
Mg3AsN data) are measured separately. Reference: JCGM 100:2008 (GUM) eq. (10);
Irvine, Sinclair & West, Adv. Mater. 2, 132 (1990) (series-element equivalent circuits).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence, Union

from ._common import DictMixin, as_float
from .errors import InvalidInputError, NegativeResultError

__all__ = ["LayerSubtractionResult", "subtract_series_layers"]

LayerSpec = Union[float, tuple]


@dataclass(frozen=True)
class LayerSubtractionResult(DictMixin):
    resistance_ohm: float
    stderr_ohm: float
    total_ohm: float
    layers_ohm: dict
    significant: bool  # resistance_ohm > 2 * stderr_ohm


def subtract_series_layers(
    total_ohm: float,
    layers: "Mapping[str, LayerSpec] | Sequence[LayerSpec]",
    *, total_stderr: float = 0.0,
) -> LayerSubtractionResult:
    """R_el = R_total - sum(R_layer); u^2 = u_total^2 + sum u_layer^2. Refuses R_el < 0.

    layers: {name: R} or {name: (R, u_R)} or a sequence of R / (R, u_R) (ohm).
    """
    total = as_float("total_ohm", total_ohm, positive=True)
    ut = as_float("total_stderr", total_stderr, nonnegative=True)
    items = layers.items() if isinstance(layers, Mapping) else ((f"layer{i}", v) for i, v in enumerate(layers))
    parsed: dict[str, tuple[float, float]] = {}
    for name, spec in items:
        if isinstance(spec, (tuple, list)):
            if len(spec) != 2:
                raise InvalidInputError(f"layer {name!r}: expected (R, u_R), got {spec!r}")
            r, u = spec
        else:
            r, u = spec, 0.0
        parsed[str(name)] = (as_float(f"layer {name!r} R", r, nonnegative=True),
                             as_float(f"layer {name!r} u_R", u, nonnegative=True))
    rest = total - sum(r for r, _ in parsed.values())
    unc = math.sqrt(ut**2 + sum(u**2 for _, u in parsed.values()))
    if rest < 0:
        raise NegativeResultError(
            f"series layers ({sum(r for r, _ in parsed.values()):.6g} ohm) exceed the measured total "
            f"({total:.6g} ohm): electrolyte resistance would be {rest:.6g} +/- {unc:.3g} ohm")
    return LayerSubtractionResult(rest, unc, total, {k: {"value": r, "stderr": u} for k, (r, u) in parsed.items()},
                                  bool(rest > 2 * unc))
