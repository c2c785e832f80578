"""Which property value goes into which cell of the ML export, and what stands beside it.

Pure functions over property documents (dicts as read from the store), no database access.

* **Rows** are per (sample, measurement temperature). A value of a *temperature-bound* property
  (``registry.PropertyType.temperature_bound``) goes only on the row of its own temperature
  (rounded to 0.01 °C); without a stated temperature it goes on the sample's row with an empty
  temperature, never onto rows of other temperatures. A value of a temperature-independent property
  (activation energy, lattice parameters, ...) goes on every row of its sample.
* **Companions**: every value column ``<name>_<unit>`` has ``<name>_<unit>_uncertainty``,
  ``<name>_qualifier`` (``=``, ``~``, ``<``, ``>``, ``range``), ``<name>_origin`` (reported,
  measured, derived), ``<name>_source`` (DOI or notebook and the place in it, or the job that
  derived the value and its inputs) and ``<name>_flags`` (quality flags of a derived value, e.g.
  ``poor_fit``, ``;``-separated; empty when there are none) beside it.
* **Conflicts**: when several values compete for one cell, the one with provenance closest to a
  measurement wins (see :func:`priority`); the cell is counted as a conflict in the export summary.
* **Carriers**: the Arrhenius-fit columns (:data:`FIT_PROPERTIES`: activation energy, prefactors)
  hold ionic transport only: a value fills them only when it states the ionic carrier
  (``schemas.carriers.describes``: a stated value's ``carrier`` condition, a derived one's fitted
  series). An electronic or total fit, or a value whose carrier is unknown, neither fills nor
  competes for them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

from ionbase.schemas import carriers, registry
from ionbase.schemas.priority import ORIGIN_RANK, QUALIFIER_RANK, priority  # noqa: F401  (cells.priority: the export's order)
from ionbase.schemas.priority import finite as _finite
from ionbase.service.export import features as F

#: stored qualifier -> export symbol (a value without qualifier is exact: "=")
QUALIFIER_SYMBOLS: dict[str | None, str] = {
    None: "=", "exact": "=", "approximate": "~", "upper_bound": "<", "lower_bound": ">", "range": "range",
}
_SOURCE_PLACES = ("table", "figure", "section", "page", "file", "line")
#: results of an Arrhenius fit: each describes the carrier of the fitted conductivity series
FIT_PROPERTIES = frozenset(registry.ARRHENIUS_FIT_PROPERTIES)


@lru_cache(maxsize=1024)
def value_columns(name: str) -> tuple[tuple[str, str], ...]:
    """(column, type) of a property's value and its companions, in export order (cached: once per cell)."""
    col = F.property_column(name)
    return (
        (col, "float"), (f"{col}_uncertainty", "float"), (f"{name}_qualifier", "string"),
        (f"{name}_origin", "string"), (f"{name}_source", "string"), (f"{name}_flags", "string"),
    )


def exportable(doc: dict) -> bool:
    """A value that may fill a cell: finite and not stale (stale derived values are never exported)."""
    return not doc.get("stale") and _finite(doc.get("value"))


def ionic_or_not_a_fit(doc: dict) -> bool:
    """Whether a value may fill its target cell: any property but the Arrhenius-fit ones, and those
    only when they state ionic transport (``schemas.carriers.describes``: an electronic activation
    energy is not the ionic one, and one whose carrier is unknown is never taken for it)."""
    return not carriers.is_fit(doc) or carriers.describes(doc, "ionic")


def source_text(doc: dict) -> str | None:
    """Where a value comes from, in one string.

    Reported/measured: ``10.1039/d5mh01361e; figure 5a; section 3.4`` (DOI or notebook, then the
    place). Derived: ``derived by arrhenius 1.2 from prop-a prop-b`` (job, version, input ids).
    """
    if doc.get("origin") == "derived":
        prov = doc.get("provenance") or {}
        if prov.get("job"):
            text = f"derived by {prov['job']}"
            if prov.get("job_version"):
                text += f" {prov['job_version']}"
            inputs = [str(i) for i in prov.get("inputs") or []]
            return text + (f" from {' '.join(inputs)}" if inputs else "")
    src = doc.get("source")
    if not src:
        return None
    parts = []
    if src.get("doi"):
        parts.append(str(src["doi"]))
    elif src.get("notebook"):
        parts.append(f"notebook {src['notebook']}")
    parts += [f"{k} {src[k]}" for k in _SOURCE_PLACES if src.get(k) not in (None, "")]
    return "; ".join(parts) or None


def cell_values(name: str, doc: dict) -> dict[str, Any]:
    """The value and its companions for one property document, keyed by export column."""
    (col, _), (unc, _), (qual, _), (orig, _), (src, _), (flags, _) = value_columns(name)
    u = doc.get("uncertainty")
    return {
        flags: ";".join(sorted(doc["flags"])) if doc.get("flags") else None,
        col: float(doc["value"]),
        unc: float(u) if _finite(u) else None,
        qual: QUALIFIER_SYMBOLS.get(doc.get("qualifier"), str(doc.get("qualifier"))),
        orig: doc.get("origin"),
        src: source_text(doc),
    }


def temperature_key(doc: dict) -> float | None:
    t = doc.get("temperature_c")
    return round(float(t), 2) if _finite(t) else None


def is_target(name: Any) -> bool:
    """A property exported as a target column (structure features and lattice shape are not)."""
    return (isinstance(name, str) and name in registry.PROPERTIES and name not in F.STRUCTURE_FEATURES
            and name not in F.EXCLUDED_PROPERTIES)


@dataclass
class SampleCells:
    """The chosen value per cell of one sample, and how many values competed for each cell."""

    fixed: dict[str, dict] = field(default_factory=dict)  # property -> doc, on every row
    by_t: dict[float | None, dict[str, dict]] = field(default_factory=dict)  # temperature -> property -> doc
    fixed_counts: Counter = field(default_factory=Counter)
    t_counts: Counter = field(default_factory=Counter)  # (temperature, property) -> candidates

    def temperatures(self) -> list[float | None]:
        """The row temperatures of the sample, ascending, the empty temperature last."""
        keys = list(self.by_t) or ([None] if self.fixed else [])
        return sorted(keys, key=lambda v: (v is None, v if v is not None else 0.0))

    def conflicts(self, n_rows: int | None = None) -> Counter:
        """Cells of the output (rows x value columns) where more than one value competed
        (``n_rows``: the sample's row count, when the caller has it)."""
        out: Counter = Counter()
        if n_rows is None:
            n_rows = len(self.temperatures())
        for name, n in self.fixed_counts.items():
            if n > 1:
                out[F.property_column(name)] += n_rows
        for (_t, name), n in self.t_counts.items():
            if n > 1:
                out[F.property_column(name)] += 1
        return out


@lru_cache(maxsize=1024)
def _target_kind(name: str) -> int:
    """0: not a target column, 1: temperature-independent target, 2: temperature-bound (cached per name)."""
    if not is_target(name):
        return 0
    return 2 if registry.PROPERTIES[name].temperature_bound else 1


def assign(docs: Iterable[dict], targets: set[str] | None = None) -> SampleCells:
    """Place one sample's target values into cells (temperature-bound values on their own row)."""
    cells = SampleCells()
    for doc in docs:
        name = doc.get("name")
        kind = _target_kind(name) if isinstance(name, str) else 0
        if not kind or (targets is not None and name not in targets) or not exportable(doc):
            continue
        if not ionic_or_not_a_fit(doc):  # an electronic, total or unknown-carrier fit is not the ionic one
            continue
        if kind == 2:
            t = temperature_key(doc)
            slot = cells.by_t.setdefault(t, {})
            cells.t_counts[(t, name)] += 1
        else:
            slot = cells.fixed
            cells.fixed_counts[name] += 1
        if name not in slot or priority(doc) < priority(slot[name]):
            slot[name] = doc
    return cells


def best_per_name(docs: Iterable[dict]) -> tuple[dict[str, dict], Counter]:
    """Best exportable document per property name and how many competed (structure features)."""
    best: dict[str, dict] = {}
    counts: Counter = Counter()
    for doc in docs:
        name = doc.get("name")
        if not exportable(doc):
            continue
        counts[name] += 1
        if name not in best or priority(doc) < priority(best[name]):
            best[name] = doc
    return best, counts
