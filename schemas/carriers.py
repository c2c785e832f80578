"""The one carrier rule: which charge carrier an Arrhenius-fit value (activation energy, prefactors)
describes, and whether it may be presented as that carrier's.

Every reader of these values (export columns, OPTIMADE, the sample Arrhenius view, the plots) calls
:func:`describes`; none restates the rule.

* A stated value (origin ``reported`` or ``measured``) describes the carrier of its ``carrier``
  condition (``registry.CONDITIONS["carrier"]``), as the lab or the paper stated it.
* A derived value describes the carrier of the conductivity series the Arrhenius job fitted, which
  the job records in ``provenance.parameters.carrier``.
* Nothing stated or recorded: the carrier is unknown (None), and the value is never presented as
  ionic (or any other carrier's); readers that show it say that its carrier is unknown.
"""

from __future__ import annotations

from ionbase.schemas import registry


def carrier(doc: dict) -> str | None:
    """The carrier (ionic, electronic, total) an Arrhenius-fit value states, None when unknown."""
    if doc.get("origin") == "derived":
        params = (doc.get("provenance") or {}).get("parameters") or {}
        value = params.get("carrier") if isinstance(params, dict) else None
    else:
        value = (doc.get("conditions") or {}).get("carrier")
    return value if value in registry.CARRIERS else None


def describes(doc: dict, wanted: str | None) -> bool:
    """Whether an Arrhenius-fit value may be presented as the ``wanted`` carrier's: only when it states
    that carrier (an unknown carrier is nobody's; ``wanted`` None, a property without carrier: never)."""
    return wanted in registry.CARRIERS and carrier(doc) == wanted


def is_fit(doc: dict) -> bool:
    """Whether the value is a result of an Arrhenius fit (it describes a carrier)."""
    return doc.get("name") in registry.ARRHENIUS_FIT_PROPERTIES
