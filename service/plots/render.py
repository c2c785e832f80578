"""Pure plot renderers: plain arrays/dicts in, SVG or PNG bytes out. No database access.

matplotlib is imported and the Agg backend selected inside the functions (never at import
time), and every figure is built with the object API (``Figure`` + ``FigureCanvasAgg``) so
rendering is thread-safe under a threaded WSGI server and never touches pyplot's global state.
"""

from __future__ import annotations

import io
import math
from typing import Any, Iterable, Mapping, Sequence

KB_EV = 8.617333262e-5  # eV/K
FORMATS = ("svg", "png")

#: colours for grouped series (Okabe-Ito, colour-blind safe)
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "h")


class PlotError(ValueError):
    """The data cannot be plotted (e.g. no positive conductivities)."""


def _check_format(fmt: str) -> str:
    fmt = (fmt or "svg").lower()
    if fmt not in FORMATS:
        raise PlotError(f"format must be one of {FORMATS}, got {fmt!r}")
    return fmt


def _figure(width: float = 6.4, height: float = 4.6):
    """A new Figure on an Agg canvas (no pyplot)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _style(ax) -> None:
    ax.grid(True, which="major", color="#d9d9d9", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(direction="in", which="both", top=False, right=True)
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)


def _save(fig, fmt: str, title: str | None = None) -> bytes:
    buf = io.BytesIO()
    meta = {"Title": title} if title else None
    if fmt == "svg":
        # plain text in the SVG so that labels are searchable/accessible
        import matplotlib

        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "ionbase"}):
            fig.savefig(buf, format="svg", metadata={**(meta or {}), "Date": None})
    else:
        fig.savefig(buf, format="png", dpi=150, metadata=meta)
    return buf.getvalue()


def _fmt_pm(value: float, err: float | None, unit: str, digits: int = 3) -> str:
    """'0.452 ± 0.012 eV' with a sensible number of decimals."""
    if err is None or not math.isfinite(err) or err <= 0:
        return f"{value:.{digits}g} {unit}".strip()
    decimals = max(0, -int(math.floor(math.log10(err))) + 1)
    decimals = min(decimals, 6)
    return f"{value:.{decimals}f} ± {err:.{decimals}f} {unit}".strip()


def _finite_pairs(xs: Iterable, ys: Iterable) -> list[tuple[float, float]]:
    out = []
    for x, y in zip(xs, ys):
        try:
            fx, fy = float(x), float(y)
        except (TypeError, ValueError):
            continue
        if math.isfinite(fx) and math.isfinite(fy):
            out.append((fx, fy))
    return out


# ----------------------------------------------------------------------------- Arrhenius


def arrhenius_svg(
    points: Sequence[tuple[float, float]],
    fit: Mapping[str, Any] | None = None,
    *,
    title: str | None = None,
    fmt: str = "svg",
) -> bytes:
    """log10(σ) vs 1000/T with a °C top axis, and the fitted line when ``fit`` is given.

    ``points``: (T in K, σ in S/cm); non-positive σ or T are dropped.
    ``fit``: ``{"Ea_eV", "Ea_stderr_eV"?, "prefactor" (S/cm, or S K/cm for form "sigmaT"),
    "form"? ("sigma"|"sigmaT"), "T_min_K"?, "T_max_K"?, "r2"?, "label"?}``; may also hold
    ``"segments": [{...same keys...}, ...]`` for a fit with a slope break.
    """
    fmt = _check_format(fmt)
    pts = [(t, s) for t, s in _finite_pairs((p[0] for p in points), (p[1] for p in points)) if t > 0 and s > 0]
    if not pts:
        raise PlotError("no points with T > 0 K and σ > 0 to plot")
    import numpy as np

    T = np.array([p[0] for p in pts])
    S = np.array([p[1] for p in pts])
    x = 1000.0 / T
    fig = _figure()
    ax = fig.add_subplot()
    _style(ax)
    ax.plot(x, np.log10(S), linestyle="none", marker="o", markersize=6, color=PALETTE[0],
            markeredgecolor="white", markeredgewidth=0.6, label="data", zorder=3)

    for i, seg in enumerate(_fit_segments(fit)):
        _plot_segment(ax, seg, fit, i, T)

    ax.set_xlabel("1000 / T (K⁻¹)")
    ax.set_ylabel("log₁₀(σ / S cm⁻¹)")
    pad = 0.04 * (x.max() - x.min() or 1.0)
    ax.set_xlim(x.min() - pad, x.max() + pad)
    ax.legend(loc="upper right", frameon=True, framealpha=0.9, fontsize=9)

    _celsius_top_axis(ax, x.min() - pad, x.max() + pad)
    if title:
        ax.set_title(title, fontsize=11)
    return _save(fig, fmt, title or "Arrhenius plot")


def _fit_segments(fit: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The fit's segments (a slope-break fit), or the fit itself as one segment when it has Eₐ and a prefactor."""
    if not fit:
        return []
    segments = list(fit.get("segments") or [])
    if not segments and fit.get("Ea_eV") is not None and fit.get("prefactor"):
        segments = [fit]
    return segments


def _segment_label(seg: Mapping[str, Any], ea: float) -> str:
    """'fit: Eₐ = 0.45 ± 0.01 eV (R² = 0.9990)', or with the segment's own label instead of 'fit'."""
    label = f"fit: Eₐ = {_fmt_pm(ea, seg.get('Ea_stderr_eV'), 'eV')}"
    if seg.get("label"):
        label = f"{seg['label']}: " + label[5:]
    if seg.get("r2") is not None:
        label += f" (R² = {float(seg['r2']):.4f})"
    return label


def _plot_segment(ax, seg: Mapping[str, Any], fit: Mapping[str, Any], i: int, T) -> None:
    """Draw one fitted Arrhenius line over its temperature range (the data's range when it has none)."""
    import numpy as np

    ea, pref = seg.get("Ea_eV"), seg.get("prefactor")
    if ea is None or not pref or pref <= 0:
        return
    form = seg.get("form") or fit.get("form") or "sigma"
    t_lo = float(seg.get("T_min_K") or T.min())
    t_hi = float(seg.get("T_max_K") or T.max())
    tt = np.linspace(t_lo, t_hi, 100)
    ss = pref * np.exp(-float(ea) / (KB_EV * tt))
    if form == "sigmaT":
        ss = ss / tt
    ax.plot(1000.0 / tt, np.log10(ss), color=PALETTE[1 + i % 3], linewidth=1.6, zorder=2,
            label=_segment_label(seg, float(ea)))


def _celsius_top_axis(ax, x_lo: float, x_hi: float) -> None:
    """Top axis: the same 1000/T positions labelled in °C."""
    import numpy as np

    top = ax.secondary_xaxis("top", functions=(lambda v: 1000.0 / np.maximum(v, 1e-9) - 273.15,
                                               lambda c: 1000.0 / np.maximum(c + 273.15, 1e-9)))
    top.set_xlabel("T (°C)")
    top.tick_params(direction="in")
    _set_celsius_ticks(top, x_lo, x_hi)


def _set_celsius_ticks(axis, x_lo: float, x_hi: float) -> None:
    """Round °C ticks that fall inside the 1000/T range."""
    c_hi = 1000.0 / x_lo - 273.15
    c_lo = 1000.0 / x_hi - 273.15
    span = c_hi - c_lo
    step = next((s for s in (5, 10, 20, 25, 50, 100, 200) if span / s <= 7), 500)
    start = math.ceil(c_lo / step) * step
    ticks = []
    c = start
    while c <= c_hi + 1e-9:
        ticks.append(c)
        c += step
    if ticks:
        axis.set_ticks(ticks)
        axis.set_xticklabels([f"{t:g}" for t in ticks])


# ----------------------------------------------------------------------------- Nyquist


def nyquist_svg(
    z_real: Sequence[float],
    z_imag: Sequence[float],
    fit_z_real: Sequence[float] | None = None,
    fit_z_imag: Sequence[float] | None = None,
    circuit: str | None = None,
    *,
    title: str | None = None,
    fmt: str = "svg",
) -> bytes:
    """−Z'' vs Z' with equal aspect; the fitted curve (and circuit in the legend) when given.

    Impedances in ohm, Z = Z' + jZ'' (capacitive arcs have Z'' < 0 and plot upwards).
    """
    fmt = _check_format(fmt)
    pts = _finite_pairs(z_real, z_imag)
    if not pts:
        raise PlotError("no finite impedance points to plot")
    import numpy as np

    zr = np.array([p[0] for p in pts])
    zi = np.array([p[1] for p in pts])
    scale, unit = _ohm_scale(max(np.abs(zr).max(), np.abs(zi).max()))
    fig = _figure(5.6, 5.2)
    ax = fig.add_subplot()
    _style(ax)
    ax.plot(zr / scale, -zi / scale, linestyle="none", marker="o", markersize=4.5, markerfacecolor="none",
            markeredgecolor=PALETTE[0], markeredgewidth=1.0, label="data", zorder=3)
    fit_pts_ok = False
    if fit_z_real is not None and fit_z_imag is not None:
        fit_pts = _finite_pairs(fit_z_real, fit_z_imag)
        if fit_pts:
            fit_pts_ok = True
            fr = np.array([p[0] for p in fit_pts])
            fi = np.array([p[1] for p in fit_pts])
            ax.plot(fr / scale, -fi / scale, color=PALETTE[1], linewidth=1.6, zorder=2,
                    label=f"fit: {circuit}" if circuit else "fit")
    ax.set_xlabel(f"Z' ({unit})")
    ax.set_ylabel(f"−Z'' ({unit})")
    # equal scales on both axes, both starting at (or below) zero: semicircles look round
    xs_all = np.concatenate([zr / scale] + ([fr / scale] if fit_pts_ok else []))
    ys_all = np.concatenate([-zi / scale] + ([-fi / scale] if fit_pts_ok else []))
    x0, y0 = min(0.0, float(xs_all.min())), min(0.0, float(ys_all.min()))
    span = 1.05 * max(float(xs_all.max()) - x0, float(ys_all.max()) - y0, 1e-12)
    ax.set_xlim(x0, x0 + span)
    ax.set_ylim(y0, y0 + span)
    ax.set_aspect("equal", adjustable="box")
    ax.axhline(0, color="#999999", linewidth=0.6)
    ax.legend(loc="upper left", frameon=True, framealpha=0.9, fontsize=9)
    if title:
        ax.set_title(title, fontsize=11)
    return _save(fig, fmt, title or "Nyquist plot")


def _ohm_scale(max_abs: float) -> tuple[float, str]:
    for factor, unit in ((1e9, "GΩ"), (1e6, "MΩ"), (1e3, "kΩ")):
        if max_abs >= 2 * factor:
            return factor, unit
    return 1.0, "Ω"


# ----------------------------------------------------------------------------- property vs parameter


def property_vs_parameter_svg(
    groups: Mapping[str, Sequence[tuple[float, float] | tuple[float, float, float | None]]],
    *,
    x_label: str = "parameter",
    y_label: str = "value",
    log_y: bool | None = None,
    title: str | None = None,
    fmt: str = "svg",
) -> bytes:
    """Property values (y) vs a parameter (x), one marker/line style per group label.

    ``groups``: label -> [(x, y) or (x, y, y_uncertainty), ...]. ``log_y`` defaults to True when
    all y are positive and span more than two decades. Labels should carry units,
    e.g. ``x_label="milling time (h)"``, ``y_label="σ (S/cm)"``.
    """
    fmt = _check_format(fmt)
    import numpy as np

    clean = _clean_groups(groups)
    if not clean:
        raise PlotError("no finite (parameter, value) pairs to plot")
    ys = np.array([r[1] for rows in clean.values() for r in rows])
    log_y = _use_log_y(ys, log_y)
    fig = _figure()
    ax = fig.add_subplot()
    _style(ax)
    for i, (label, rows) in enumerate(sorted(clean.items())):
        _plot_group(ax, label, rows, i)
    if log_y:
        _log_decades(ax)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    if len(clean) > 1 or next(iter(clean)) != "":
        ax.legend(fontsize=9, frameon=True, framealpha=0.9,
                  loc="best", ncols=1 if len(clean) <= 6 else 2)
    if title:
        ax.set_title(title, fontsize=11)
    return _save(fig, fmt, title or "property vs parameter")


def _clean_row(p: Sequence) -> tuple[float, float, float | None] | None:
    """(x, y, uncertainty or None) as floats, or None when x or y is missing or not finite."""
    try:
        xv, yv = float(p[0]), float(p[1])
    except (TypeError, ValueError, IndexError):
        return None
    if not (math.isfinite(xv) and math.isfinite(yv)):
        return None
    err = p[2] if len(p) > 2 else None
    return (xv, yv, float(err) if err is not None and math.isfinite(float(err)) else None)


def _clean_groups(groups: Mapping[str, Sequence[Sequence]]) -> dict[str, list[tuple[float, float, float | None]]]:
    """label -> its finite rows sorted by x; groups with no finite row are left out."""
    clean: dict[str, list[tuple[float, float, float | None]]] = {}
    for label, pts in groups.items():
        rows = [r for r in (_clean_row(p) for p in pts) if r is not None]
        if rows:
            clean[str(label)] = sorted(rows)
    return clean


def _use_log_y(ys, log_y: bool | None) -> bool:
    """The requested scale, or log when all y > 0 span more than two decades; never log with y <= 0."""
    if log_y is None:
        log_y = bool((ys > 0).all() and ys.max() / ys.min() > 100)
    if log_y and not (ys > 0).all():
        log_y = False
    return log_y


def _plot_group(ax, label: str, rows: list[tuple[float, float, float | None]], i: int) -> None:
    """One group's points (with error bars when any uncertainty is known), joined when there are several."""
    xs = [r[0] for r in rows]
    yv = [r[1] for r in rows]
    errs = [r[2] if r[2] is not None else 0.0 for r in rows]
    color, marker = PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)]
    ax.errorbar(xs, yv, yerr=errs if any(errs) else None, color=color, marker=marker, markersize=6,
                linewidth=1.0, linestyle="-" if len(rows) > 1 else "none", capsize=2.5,
                markeredgecolor="white", markeredgewidth=0.6, label=label)


def _log_decades(ax) -> None:
    """Log y axis with one plain-text label per decade."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=12))
    ax.yaxis.set_major_formatter(FuncFormatter(_decade_label))


_SUPERSCRIPT = str.maketrans("0123456789-−", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁻")


def _decade_label(value: float, _pos=None) -> str:
    """Plain-text tick label 10⁻⁴ (searchable in the SVG, unlike mathtext)."""
    if value <= 0:
        return ""
    exp = math.log10(value)
    if abs(exp - round(exp)) > 1e-6:
        return ""
    return "10" + str(int(round(exp))).translate(_SUPERSCRIPT)


def render_png(func, *args, **kwargs) -> bytes:
    """Convenience: call one of the renderers with ``fmt="png"``."""
    return func(*args, fmt="png", **kwargs)
