"""Which of several competing values of one quantity is taken: one order for every reader.

The export (one value per cell, docs/export.md *Conflicts*), OPTIMADE (the sample's best value) and
the Arrhenius job (one value per point of a pooled series stated twice) all sort by :func:`priority`.
"""

from __future__ import annotations

import math
from typing import Any

#: a point value beats an approximate one, which beats a range midpoint or a bound
QUALIFIER_RANK: dict[str | None, int] = {
    None: 0, "exact": 0, "approximate": 1, "range": 2, "upper_bound": 3, "lower_bound": 3,
}
#: values stated by those who measured (paper text or their measurement record) before our derivations
ORIGIN_RANK: dict[str, int] = {"reported": 0, "measured": 0, "derived": 1}


def finite(x: Any) -> bool:
    """A real number (not a bool), neither NaN nor infinite."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def priority(doc: dict) -> tuple:
    """Sort key of competing values, best first.

    1. a point value before an approximate one, before a range midpoint or a bound
       (a bound is not the value a model should learn);
    2. a value without quality flags before a flagged one (poor fit, few points, flagged inputs);
    3. reported or measured before derived: the value stated by those who made the measurement
       carries their judgement (which arc, which geometry); ours is a reconstruction;
    4. a value with an uncertainty before one without (it says more);
    5. the smallest document id (deterministic, stable across runs).
    """
    return (
        QUALIFIER_RANK.get(doc.get("qualifier"), 3),
        bool(doc.get("flags")),
        ORIGIN_RANK.get(doc.get("origin"), 2),
        not finite(doc.get("uncertainty")),
        str(doc.get("_id")),
    )
