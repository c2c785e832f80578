"""The search page's form -> one OPTIMADE filter string for the property query (pure functions).

The quick filters only write filter text: the page then runs the same query as
``GET /api/v1/properties?filter=...``, and the text is shown so a person can read and edit it.
"""

from __future__ import annotations

import re

from ionbase.errors import InvalidRequest, UnknownParameter

#: form fields the search page accepts; anything else is refused (400), never ignored
FORM_FIELDS = ("filter", "family", "elements", "property", "temperature_c", "milled", "max_anneal_c",
               "hot_pressed", "sort", "page_cursor", "page_limit")
ELEMENT = re.compile(r"^[A-Z][a-z]?$")

EXAMPLES: tuple[tuple[str, str], ...] = (
    ("Na conductors above 1e-4 S/cm at 25 °C",
     'property="ionic_conductivity" AND temperature_c=25 AND value>=1e-4 AND elements HAS "Na"'),
    ("Milled at least 4 h, never annealed above 300 °C",
     'property="ionic_conductivity" AND milling_time_h>=4 AND max_anneal_c<=300'),
    ("Closo-borates, every property", 'family="closo-borate"'),
    ("Activation energies", 'property="activation_energy"'),
)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(form: dict, name: str) -> float | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidRequest(f"{name}: {raw!r} is not a number", {name: [raw]}) from None


def _elements(raw: str) -> list[str]:
    out = [e.strip() for e in re.split(r"[,\s]+", raw) if e.strip()]
    bad = [e for e in out if not ELEMENT.match(e)]
    if bad:
        raise InvalidRequest(f"elements: {', '.join(bad)} is not an element symbol (write e.g. Na, Li)",
                             {"elements": bad})
    return out


def check_fields(form: dict) -> None:
    """Refuse any field the page does not know (a typo must not silently widen the search)."""
    unknown = sorted(set(form) - set(FORM_FIELDS))
    if unknown:
        raise UnknownParameter(f"unknown search parameter(s): {', '.join(unknown)}", {k: ["unknown parameter"] for k in unknown})


def compose_filter(form: dict) -> str:
    """The free filter text AND every quick filter, as one OPTIMADE filter ('' when nothing is set)."""
    parts: list[str] = []
    for field in ("property", "family"):
        if (form.get(field) or "").strip():
            parts.append(f"{'property' if field == 'property' else 'family'}={_quote(form[field].strip())}")
    if (form.get("elements") or "").strip():
        els = _elements(form["elements"])
        parts.append("elements HAS ALL " + ",".join(_quote(e) for e in els))
    t = _number(form, "temperature_c")
    if t is not None:
        parts.append(f"temperature_c={t:g}")
    ceiling = _number(form, "max_anneal_c")
    if ceiling is not None:
        parts.append(f"max_anneal_c<={ceiling:g}")
    for flag in ("milled", "hot_pressed"):
        if form.get(flag):
            parts.append(f'{flag}="true"')
    text = (form.get("filter") or "").strip()
    if text:
        parts.insert(0, f"({text})" if parts else text)
    return " AND ".join(parts)
