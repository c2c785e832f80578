"""Click commands for one-off analyses of a researcher's file (registered in service/commands).

    eis fit FILE [--circuit C] [--json] [--thickness-cm L --area-cm2 A]
    arrhenius FILE [--form sigma|sigmaT] [--json]

and the human summary of ``ionbase analyze`` (:func:`echo_run_summary`).
"""
from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import click

__all__ = ["eis", "eis_fit", "arrhenius", "echo_run_summary"]


def echo_run_summary(result: dict, max_errors: int = 50) -> None:
    """Print what an analysis run did, per job: computed, up to date, failed, superseded, flagged."""
    t = result
    click.echo(f"Analysis run {t['run_id']} ({t['executor']}): {t.get('computed', 0)} computed, "
               f"{t.get('skipped', 0)} up to date, {t.get('failed', 0)} failed, {t.get('superseded', 0)} superseded; "
               f"{t.get('written', 0)} properties written, {t.get('flagged', 0)} flagged")
    header = ("job", "items", "computed", "up to date", "failed", "superseded", "flagged")
    click.echo(f"  {header[0]:<16}" + "".join(f"{h:>12}" for h in header[1:]))
    for name, c in (t.get("jobs") or {}).items():
        cells = (c.get("items", 0), c.get("computed", 0), c.get("skipped", 0), c.get("failed", 0),
                 c.get("superseded", 0), c.get("flagged", 0))
        click.echo(f"  {name:<16}" + "".join(f"{v:>12}" for v in cells))
    errors = t.get("errors") or []
    if errors:
        click.echo(f"{t.get('failed', len(errors))} item(s) failed:", err=True)
        for e in errors[:max_errors]:
            click.echo(f"  {e['job']} {e['item']}: {e['error']}", err=True)
        if t.get("failed", 0) > min(len(errors), max_errors):
            click.echo("  ... more in the job_items state (ionbase analyze --json, or GET /api/v1/analysis-runs)", err=True)
    if t.get("flagged"):
        click.echo("Flagged values (poor fit, few points) are stored with their flags; "
                   "exclude them in queries and exports with: NOT flags IS KNOWN")


def _read_spectra(path: str) -> list:
    """Every spectrum in FILE, in any format ingest.parsers recognises from the content."""
    from ionbase.ingest.parsers import read_spectra
    from ionbase.ingest.parsers.errors import ParseError

    try:
        return list(read_spectra(path))
    except ParseError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("eis")
def eis() -> None:
    """Electrochemical impedance spectroscopy analysis."""


@eis.command("fit")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--circuit", default=None, help="Circuit in impedance.py notation, e.g. 'R0-p(R1,CPE1)-CPE2'. "
                                             "Default: choose among the standard circuits by BIC.")
@click.option("--thickness-cm", type=float, default=None,
              help="Pellet thickness (cm): sigma_total = L/(A R_total), and sigma_bulk, sigma_gb where resolved.")
@click.option("--area-cm2", type=float, default=None, help="Electrode area (cm^2).")
@click.option("--thickness-stderr-cm", type=float, default=0.0, show_default=True, help="Standard uncertainty of L (cm).")
@click.option("--area-stderr-cm2", type=float, default=0.0, show_default=True, help="Standard uncertainty of A (cm^2).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eis_fit(file: str, circuit: str | None, thickness_cm: float | None, area_cm2: float | None,
            thickness_stderr_cm: float, area_stderr_cm2: float, as_json: bool) -> None:
    """Fit an equivalent circuit to the spectrum in FILE.

    The resistances and conductivities are those the analysis job stores (both take them from
    analysis.eis_resistances through fit_spectrum): R_total = R0 + bulk and grain-boundary arcs.
    """
    from ionbase.analysis.errors import AnalysisError
    from ionbase.analysis.impedance import fit_spectrum

    spectra = _read_spectra(file)
    if not spectra:
        raise click.ClickException(f"{file}: no impedance spectrum found")
    results = []
    for i, sp in enumerate(spectra):
        try:
            r = fit_spectrum(sp.frequency_hz, sp.z_real_ohm, sp.z_imag_ohm, circuit=circuit,
                             thickness_cm=thickness_cm, area_cm2=area_cm2,
                             thickness_stderr=thickness_stderr_cm, area_stderr=area_stderr_cm2)
        except AnalysisError as exc:
            raise click.ClickException(f"{file}: spectrum {i + 1}: {exc}") from None
        results.append(r.to_dict())
    if as_json:
        click.echo(json.dumps(results[0] if len(results) == 1 else results, indent=2))
        return
    for i, d in enumerate(results):
        if len(results) > 1:
            click.echo(f"== spectrum {i + 1} ==")
        _echo_fit(d)


def _pm(value: float, stderr: float | None, unit: str) -> str:
    return f"{value:.6g} +/- {'n/a' if stderr is None else f'{stderr:.2g}'} {unit}"


def _echo_fit(d: dict) -> None:
    """The text report of one fitted spectrum (the numbers of d["resistances"], as stored by the job)."""
    click.echo(f"circuit: {d['circuit']}   residual (RMS rel.): {d['residual']:.4g}")
    click.echo(f"{'parameter':<10} {'value':>12} {'stderr':>12}  unit")
    for name, p in d["parameters"].items():
        se = "n/a" if p["stderr"] is None else f"{p['stderr']:.4g}"
        click.echo(f"{name:<10} {p['value']:>12.5g} {se:>12}  {p['unit']}")
    for a in d["arcs"]:
        click.echo(f"arc {a['element']}: C = {a['capacitance_F']:.3g} F -> {a['assignment']}")
    kk = d["kk"]
    if kk:
        mu = "n/a" if kk.get("mu") is None else f"{kk['mu']:.3f}"
        click.echo(f"Lin-KK: M={kk['M']} mu={mu} max residual="
                   f"{max(kk['max_residual_real'], kk['max_residual_imag']):.3%} "
                   f"{'PASS' if kk['passed'] else 'FAIL'}")
    res = d["resistances"]
    for label, key in (("R_total", "total"), ("R_bulk", "bulk"), ("R_gb", "grain_boundary")):
        if res[key] is not None:
            v = res[key]
            click.echo(f"{label} = {_pm(v['value_ohm'], v['stderr_ohm'], 'ohm')}   ({' + '.join(v['elements'])})")
    for element, role in res["roles"].items():
        click.echo(f"  {element}: {role}")
    for label, key in (("sigma_total (ionic conductivity) = L/(A R_total)", "sigma_total"),
                       ("sigma_bulk = L/(A R_bulk)", "sigma_bulk"), ("sigma_gb = L/(A R_gb)", "sigma_grain_boundary")):
        if res[key] is not None:
            click.echo(f"{label}: {_pm(res[key]['sigma_S_per_cm'], res[key]['stderr_S_per_cm'], 'S/cm')}")
    for note in res["notes"]:
        click.echo(f"note: {note}")
    q = res["quality"]
    click.echo("fit quality: " + ("POOR FIT - " + "; ".join(q["reasons"]) if q["flagged"] else "ok"))


_HEADER = re.compile(r"^\s*([^()\[\]]+?)\s*[\(\[]\s*(.+?)\s*[\)\]]\s*$")
_T_NAMES = ("t", "temp", "temperature")
_S_NAMES = ("sigma", "σ", "conductivity", "cond", "s")


def _parse_header(path: str, header: list[str]) -> tuple[int, str, int, str]:
    t_col = s_col = None
    for j, cell in enumerate(header):
        m = _HEADER.match(cell)
        if not m:
            continue
        name, unit = m.group(1).strip().lower(), m.group(2)
        if name in _T_NAMES and t_col is None:
            t_col = (j, unit)
        elif name in _S_NAMES and s_col is None:
            s_col = (j, unit)
    if t_col is None or s_col is None:
        raise click.ClickException(
            f"{path}: row 1: header must name a temperature and a conductivity column with units, "
            f"e.g. 'T (°C),sigma (S/cm)'; got {header!r}")
    return t_col[0], t_col[1], s_col[0], s_col[1]


def read_arrhenius_csv(path: str) -> tuple[list[float], list[float]]:
    """Read T and sigma from a CSV whose header carries units; returns (T in K, sigma in S/cm)."""
    import pint

    ureg = pint.UnitRegistry()
    text = Path(path).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(text.splitlines()))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise click.ClickException(f"{path}: no data rows")
    header = rows[0]
    tj, tunit, sj, sunit = _parse_header(path, header)
    for col, unit, target in ((tj, tunit, "kelvin"), (sj, sunit, "S/cm")):
        try:
            ureg.Quantity(1.0, unit).to(target)
        except Exception as exc:
            raise click.ClickException(f"{path}: row 1, column '{header[col]}': unit {unit!r} cannot be "
                                       f"converted to {target} ({exc.__class__.__name__})") from None
    T, S = [], []
    for i, row in enumerate(text.splitlines()[1:], start=2):
        cells = next(csv.reader([row]), [])
        if not any(c.strip() for c in cells):
            continue
        vals = []
        for col, unit, target in ((tj, tunit, "kelvin"), (sj, sunit, "S/cm")):
            if col >= len(cells):
                raise click.ClickException(f"{path}: row {i}, column '{header[col]}': missing value")
            raw = cells[col].strip()
            try:
                v = float(raw)
            except ValueError:
                raise click.ClickException(f"{path}: row {i}, column '{header[col]}': {raw!r} is not a number") from None
            if not math.isfinite(v):
                raise click.ClickException(f"{path}: row {i}, column '{header[col]}': {raw!r} is not finite")
            # offset units (degC) must be built as quantities, never multiplied
            vals.append(float(ureg.Quantity(v, unit).to(target).magnitude))
        if vals[0] <= 0:
            raise click.ClickException(f"{path}: row {i}, column '{header[tj]}': {vals[0]:.6g} K is not above absolute zero")
        if vals[1] <= 0:
            raise click.ClickException(f"{path}: row {i}, column '{header[sj]}': conductivity must be > 0")
        T.append(vals[0])
        S.append(vals[1])
    return T, S


@click.command("arrhenius")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--form", type=click.Choice(["sigma", "sigmaT"]), default="sigma", show_default=True,
              help="sigma = sigma0 exp(-Ea/kT) or sigma*T = A exp(-Ea/kT).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def arrhenius(file: str, form: str, as_json: bool) -> None:
    """Arrhenius fit of a CSV of temperature and conductivity (units in the header)."""
    from ionbase.analysis.arrhenius import fit_arrhenius
    from ionbase.analysis.errors import AnalysisError

    T, S = read_arrhenius_csv(file)
    try:
        r = fit_arrhenius(T, S, form=form)
    except AnalysisError as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    out = {"Ea_eV": r.Ea_eV, "Ea_stderr_eV": r.Ea_stderr_eV, "prefactor": r.prefactor, "r2": r.r2, "n": r.n,
           "sigma_25C_S_per_cm": r.sigma_25C_S_per_cm, "extrapolated": r.extrapolated}
    if r.break_detected:
        out.update({"break_detected": True, "break_T_K": r.break_T_K,
                    "segments": [s.to_dict() for s in r.segments]})
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(f"form: {form}  n = {r.n}  T = {r.T_min_K:.1f}-{r.T_max_K:.1f} K")
    if r.break_detected:
        click.echo(f"slope break detected at ~{r.break_T_K:.1f} K; no single Ea reported")
        for s in r.segments:
            click.echo(f"  {s.T_min_K:.1f}-{s.T_max_K:.1f} K: Ea = {s.Ea_eV:.4f} +/- {s.Ea_stderr_eV:.4f} eV (r2 {s.r2:.4f})")
    else:
        click.echo(f"Ea = {r.Ea_eV:.4f} +/- {r.Ea_stderr_eV:.4f} eV   prefactor = {r.prefactor:.4g} {r.prefactor_unit}"
                   f"   r2 = {r.r2:.5f}")
    click.echo(f"sigma(25 °C) = {r.sigma_25C_S_per_cm:.4g} S/cm{' (extrapolated)' if r.extrapolated else ''}")
