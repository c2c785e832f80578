"""The pages: ``/`` search, ``/samples/<id>``, ``/measurements/<id>``; and the ``/api/v1`` index.

Every page reads through the functions the API endpoints use (``property_page``, ``sample_detail``,
the measurement array loader and the stored circuit fit), so a page and the API never disagree.
Plots are drawn in the browser by plotly.js (served from the installed ``plotly`` package) from
JSON the page embeds or fetches from the API.
"""

from __future__ import annotations

from urllib.parse import urlencode

from marshmallow import ValidationError
from flask import Blueprint, jsonify, render_template, request

from ionbase import __version__
from ionbase.errors import InvalidRequest, UnknownParameter
from ionbase.schemas import registry
from ionbase.service.common import clean, get_or_404, get_store
from ionbase.service.plots.views import _fitted_curve, impedance_arrays
from ionbase.service.properties.schemas import PropertyQueryArgs
from ionbase.service.properties.views import property_page
from ionbase.service.query.fields import FIELDS
from ionbase.service.materials.views import material_detail
from ionbase.service.samples.views import sample_detail
from ionbase.service.web import search_form
from ionbase.service.web.trends import trends_page
from ionbase.service.web.assets import PLOTLY_URL

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/assets/web")

#: result table columns: (label, sort field or None, unit note)
COLUMNS = (
    ("Sample", "sample_label"), ("Formula", "reduced_formula"), ("Family", "family"), ("Property", "property"),
    ("Value", "value"), ("±", None), ("Unit", None), ("T (°C)", "temperature_c"), ("Origin", "origin"), ("Source", "doi"),
)
PAGE_LIMIT = 25


@bp.app_context_processor
def _globals() -> dict:
    return {"version": __version__, "plotly_url": PLOTLY_URL}


@bp.route("/api/v1")
@bp.route("/api/v1/")
def api_index():
    """What the API offers, instead of a 404 at its root."""
    return jsonify({"name": "Ionbase API", "version": __version__,
                    "links": {"docs": "/api/v1/docs", "redoc": "/api/v1/redoc", "openapi": "/api/v1/openapi.json",
                              "health": "/api/v1/health", "properties": "/api/v1/properties",
                              "samples": "/api/v1/samples", "web": "/"}})


def _run_search(form: dict) -> dict:
    """Compose the filter, load the API's own arguments schema and run the property query."""
    search_form.check_fields(form)
    flt = search_form.compose_filter(form)
    raw = {"filter": flt or None, "sort": form.get("sort") or None, "expand": "sample", "include_total": "true",
           "page_limit": form.get("page_limit") or str(PAGE_LIMIT), "page_cursor": form.get("page_cursor") or None}
    try:
        args = PropertyQueryArgs().load({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        raise InvalidRequest("; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.messages.items()),
                             exc.messages) from None
    rows, meta = property_page(args)
    return {"filter": flt, "rows": rows, "meta": meta}


def _link(form: dict, **changes) -> str:
    params = {k: v for k, v in form.items() if v not in (None, "")}
    params.update({k: v for k, v in changes.items()})
    return "/?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})


@bp.route("/")
def search():
    """Search page: the filter box, quick filters and one page of the property query."""
    form = request.args.to_dict()
    result, error = None, None
    try:
        result = _run_search(form)
    except InvalidRequest as exc:  # a bad filter is shown next to the box, not as a JSON error
        error = str(exc)
    sort = form.get("sort") or ""
    headers = []
    for label, field in COLUMNS:
        if field is None:
            headers.append({"label": label})
            continue
        desc = sort == field
        headers.append({"label": label, "href": _link(form, sort=("-" if desc else "") + field, page_cursor=None),
                        "active": sort.lstrip("-") == field, "desc": sort.startswith("-")})
    export = {fmt: "/api/v1/export?" + urlencode({"format": fmt, **({"filter": result["filter"]} if result and result["filter"] else {})})
              for fmt in ("csv", "parquet")}
    nxt = result["meta"].get("next_cursor") if result else None
    return render_template(
        "search.html", form=form, result=result, error=error, headers=headers, export=export,
        next_href=_link(form, page_cursor=nxt) if nxt else None, first_href=_link(form, page_cursor=None),
        examples=search_form.EXAMPLES, fields=[f for f in FIELDS.values()],
        families=sorted(registry.FAMILIES), properties=sorted(registry.PROPERTIES),
    ), (400 if error else 200)


def _param_unit(step_type: str, name: str) -> str:
    st = registry.STEP_TYPES.get(step_type)
    p = st.params.get(name) if st else None
    q = registry.QUANTITIES.get(p.quantity) if p and p.quantity else None
    return q.display_unit if q and q.unit != "dimensionless" else ""


bp.add_url_rule("/trends", "trends", trends_page)


@bp.route("/import")
def import_page():
    """Upload, dry-run report, commit with a writer key, batch list with rollback (all via /api/v1/imports)."""
    if request.args:
        raise UnknownParameter(f"unknown parameter(s): {', '.join(sorted(request.args))}; this page takes none")
    return render_template("imports.html")


@bp.route("/materials/<string:material_id>")
def material_page(material_id: str):
    """Material page: formula, family, series, composition and its samples."""
    return render_template("material.html", mat=material_detail(material_id))


@bp.route("/samples/<string:sample_id>")
def sample_page(sample_id: str):
    """Sample page: lineage, synthesis timeline, structures, measurements, properties, Arrhenius plot."""
    s = sample_detail(sample_id)
    steps = []
    for st in (s.get("route_doc") or {}).get("steps") or []:
        entered = st.get("entered") or {}
        params = [{"name": k, "value": v, "unit": _param_unit(st.get("type"), k), "entered": entered.get(k)}
                  for k, v in (st.get("params") or {}).items()]
        steps.append({**st, "param_rows": params})
    has_arrhenius = any(p.get("name") in registry.CONDUCTIVITY_PROPERTIES and p.get("temperature_k") is not None
                        for p in s["properties"])
    return render_template("sample.html", s=s, steps=steps, has_arrhenius=has_arrhenius,
                           conductivity=sorted({p["name"] for p in s["properties"] if p.get("name") in registry.CONDUCTIVITY_PROPERTIES}))


@bp.route("/measurements/<string:measurement_id>")
def measurement_page(measurement_id: str):
    """Measurement page: metadata, an interactive Nyquist + Bode plot with the stored fit, fit values."""
    store = get_store()
    m = clean(get_or_404("measurements", measurement_id, "measurement"))
    plot = None
    if m.get("kind") == "impedance_spectrum":
        arrays = impedance_arrays(store, measurement_id)
        if arrays["z_real"]:
            fr, fi, circuit = _fitted_curve(store, measurement_id, arrays["frequency"])
            plot = {"frequency": arrays["frequency"], "z_real": arrays["z_real"], "z_imag": arrays["z_imag"],
                    "fit_real": fr, "fit_imag": fi, "circuit": circuit}
    cycling, cycling_note = cycling_series((m.get("payload") or {}).get("cycles"))
    derived = [clean(p) for p in store.properties.find(
        {"origin": "derived", "provenance.parameters.measurement": measurement_id}, sort=[("_id", 1)], limit=200)]
    # the circuit fit behind the derived values: parameters, arc assignments, Lin-KK and quality
    circuit_fit = next(((d.get("provenance") or {}).get("parameters") for d in derived if not d.get("stale")
                        and ((d.get("provenance") or {}).get("parameters") or {}).get("circuit")), None)
    sample = store.samples.find_one({"_id": m.get("sample")}, {"label": 1}) if m.get("sample") else None
    return render_template("measurement.html", m=m, plot=plot, derived=derived, sample=clean(sample) if sample else None,
                           cycling=cycling, cycling_note=cycling_note, circuit_fit=circuit_fit)


def _unit_of(cycles: list[dict], key: str) -> set[str]:
    return {c[key]["unit"] for c in cycles if isinstance(c.get(key), dict) and c[key].get("unit")}


def cycling_series(cycles: list[dict] | None) -> tuple[dict | None, str | None]:
    """Per-cycle capacities and efficiency for the cycling plot; (None, reason) when they cannot be
    drawn on one axis (mixed capacity units are never plotted together). Missing values stay null."""
    if not cycles:
        return None, None
    units = _unit_of(cycles, "charge_capacity") | _unit_of(cycles, "discharge_capacity")
    if len(units) > 1:
        return None, f"capacities in different units ({', '.join(sorted(units))}): not plotted on one axis"

    def values(key: str) -> list:
        return [c[key]["value"] if isinstance(c.get(key), dict) else None for c in cycles]

    return {"cycle": [c.get("cycle") for c in cycles], "charge": values("charge_capacity"),
            "discharge": values("discharge_capacity"), "efficiency": values("coulombic_efficiency"),
            "capacity_unit": next(iter(units), "")}, None


@bp.app_template_filter("sig")
def _sig(v, digits: int = 6) -> str:
    """A number with up to ``digits`` significant digits (6: a refined 4.2307 Å stays 4.2307); '' for unknown (never 0)."""
    if v is None:
        return ""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    return f"{v:.{digits}g}"
