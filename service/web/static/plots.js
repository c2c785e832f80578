/* Ionbase plots: drawn with plotly.js (served from the installed plotly package) from API JSON.
   Every axis carries a label with its unit. No inline scripts: the page's CSP allows only 'self'. */
"use strict";
(function () {
  var KB_EV = 8.617333262e-5; // Boltzmann constant in eV/K
  var CONFIG = {responsive: true, displaylogo: false};
  var LEGEND = {orientation: "h", x: 0, y: 1.02, yanchor: "bottom"};  // above the plot: never over an axis title
  function axis(title, extra) { var a = {title: {text: title}, automargin: true}; for (var k in extra) a[k] = extra[k]; return a; }

  function nyquist(el, d) {
    var traces = [{x: d.z_real, y: d.z_imag.map(function (v) { return v === null ? null : -v; }), mode: "markers",
      name: "measured", text: d.frequency.map(function (f) { return "f = " + f.toPrecision(4) + " Hz"; }),
      marker: {size: 6, color: "#1f5fa8"}}];
    if (d.fit_real) traces.push({x: d.fit_real, y: d.fit_imag.map(function (v) { return -v; }), mode: "lines",
      name: "fit " + (d.circuit || ""), line: {color: "#c0392b"}});
    Plotly.newPlot(el, traces, {margin: {t: 50}, xaxis: axis("Z′ (Ω)"), yaxis: axis("−Z″ (Ω)", {scaleanchor: "x"}),
      legend: LEGEND}, CONFIG);
    return traces;
  }

  function bode(el, d) {
    var mag = d.z_real.map(function (r, i) { return Math.hypot(r, d.z_imag[i]); });
    var phase = d.z_real.map(function (r, i) { return Math.atan2(-d.z_imag[i], r) * 180 / Math.PI; });
    Plotly.newPlot(el, [
      {x: d.frequency, y: mag, mode: "markers", name: "|Z|", marker: {size: 5}},
      {x: d.frequency, y: phase, mode: "markers", name: "−phase", yaxis: "y2", marker: {size: 5, symbol: "diamond"}}
    ], {margin: {t: 50}, xaxis: axis("frequency (Hz)", {type: "log"}), yaxis: axis("|Z| (Ω)", {type: "log"}),
        yaxis2: axis("−phase (°)", {overlaying: "y", side: "right"}), legend: LEGEND}, CONFIG);
  }

  /* The high-frequency arc: points above the median frequency, where the electrode spike is absent. */
  function arcRange(d) {
    var f = d.frequency.slice().sort(function (a, b) { return a - b; }), med = f[Math.floor(f.length / 2)];
    var xs = [], ys = [];
    d.frequency.forEach(function (fr, i) { if (fr >= med) { xs.push(d.z_real[i]); ys.push(-d.z_imag[i]); } });
    var xmax = Math.max.apply(null, xs), xmin = Math.min(0, Math.min.apply(null, xs));
    var ymax = Math.max.apply(null, ys.concat([0]));
    var pad = 0.05 * (xmax - xmin);
    return {x: [xmin - pad, xmax + pad], y: [Math.min(0, Math.min.apply(null, ys)) - pad, Math.max(ymax, (xmax - xmin) / 2) + pad]};
  }

  function impedancePage() {
    var node = document.getElementById("eis-data");
    if (!node) return;
    var d = JSON.parse(node.textContent), el = document.getElementById("nyquist");
    nyquist(el, d);
    bode(document.getElementById("bode"), d);
    document.getElementById("zoom-arc").addEventListener("click", function () {
      var r = arcRange(d);
      Plotly.relayout(el, {"xaxis.range": r.x, "yaxis.range": r.y, "yaxis.scaleanchor": null});
    });
    document.getElementById("zoom-all").addEventListener("click", function () {
      Plotly.relayout(el, {"xaxis.autorange": true, "yaxis.autorange": true});
    });
  }

  /* The stored fit sigma = A exp(-Ea / kB T) (the job fits the "sigma" form), drawn over the range it
     was fitted on. A break fit stores one Ea per segment with its prefactor in the provenance. */
  function fitLine(fit, xs) {
    var ea = fit.properties.activation_energy, a = fit.properties.conductivity_prefactor;
    if (!ea || ea.unit !== "eV") return null;
    var params = (ea.provenance || {}).parameters || {}, c = ea.conditions || {};
    var A = a && a.unit === "S/cm" ? a.value : params.prefactor_S_per_cm;
    if (params.form !== "sigma" || !(A > 0)) return null;
    var lo = c.temperature_range_high_k ? 1000 / c.temperature_range_high_k : Math.min.apply(null, xs);
    var hi = c.temperature_range_low_k ? 1000 / c.temperature_range_low_k : Math.max.apply(null, xs);
    var x = [], y = [];
    for (var i = 0; i <= 40; i++) {
      var inv = lo + (hi - lo) * i / 40, T = 1000 / inv;
      x.push(inv); y.push(Math.log10(A) - ea.value / (KB_EV * T) / Math.LN10);
    }
    var u = ea.uncertainty !== null && ea.uncertainty !== undefined ? " ± " + ea.uncertainty.toPrecision(2) : "";
    return {x: x, y: y, mode: "lines", name: (fit.carrier ? fit.carrier + " " : "") + "fit" + (fit.segment ? " (" + fit.segment + ")" : "") + ": Ea = " +
            ea.value.toPrecision(3) + u + " eV" + ((fit.flags || []).length ? " [" + fit.flags.join(", ") + "]" : "")};
  }

  /* A bound is drawn as a triangle pointing where the value lies; hover text says "< value". */
  var BOUND = {upper_bound: {name: "upper bound", symbol: "triangle-down-open", sign: "< "},
               lower_bound: {name: "lower bound", symbol: "triangle-up-open", sign: "> "}};
  function pointTrace(sel, name, symbol) {
    return {x: sel.map(function (q) { return q.inverse_temperature; }), y: sel.map(function (q) { return q.log10_value; }),
      mode: "markers", name: name, marker: {size: 8, symbol: symbol},
      text: sel.map(function (q) {
        var sign = BOUND[q.qualifier] ? BOUND[q.qualifier].sign : (q.qualifier === "approximate" ? "≈ " : "");
        return (q.temperature_c === null ? "?" : q.temperature_c.toFixed(1)) + " °C: " + sign + q.value.toPrecision(3) + " S/cm" +
          (q.method ? " (" + q.method + ")" : "");
      })};
  }

  function arrheniusPage() {
    var el = document.getElementById("arrhenius");
    if (!el) return;
    var props = el.dataset.properties.split(",").filter(Boolean), traces = [], notes = [];
    Promise.all(props.map(function (p) {
      return fetch("/api/v1/samples/" + encodeURIComponent(el.dataset.sample) + "/arrhenius?property=" + encodeURIComponent(p))
        .then(function (r) { if (!r.ok) throw new Error("arrhenius " + p + ": HTTP " + r.status); return r.json(); });
    })).then(function (results) {
      results.forEach(function (res) {
        var pts = res.points.filter(function (q) { return q.log10_value !== null && q.inverse_temperature !== null; });
        if (!pts.length) return;
        var xs = pts.map(function (q) { return q.inverse_temperature; });
        /* one trace per kind: derived points never pass as measured, bounds never as values */
        ["reported", "measured", "derived"].forEach(function (origin) {
          var sel = pts.filter(function (q) { return q.origin === origin && !BOUND[q.qualifier]; });
          if (sel.length) traces.push(pointTrace(sel, res.property + " (" + origin + ")", origin === "derived" ? "diamond-open" : "circle"));
        });
        Object.keys(BOUND).forEach(function (b) {
          var sel = pts.filter(function (q) { return q.qualifier === b; });
          if (sel.length) traces.push(pointTrace(sel, res.property + " (" + BOUND[b].name + ", not a value)", BOUND[b].symbol));
        });
        if (res.n_stale) notes.push(res.n_stale + " stale derived " + res.property + " value(s) not shown: their inputs changed; run the analysis again");
        res.fits.forEach(function (f) { var t = fitLine(f, xs); if (t) traces.push(t); else notes.push("a stored fit without an activation energy in eV and a prefactor in S/cm (sigma form) is not drawn"); });
      });
      Plotly.newPlot(el, traces, {margin: {t: 50}, showlegend: true, xaxis: axis("1000/T (1/K)"), yaxis: axis("log10 σ (σ in S/cm)"),
        legend: LEGEND}, CONFIG);
      document.getElementById("arrhenius-fits").textContent = notes.join("; ");
    }).catch(function (e) { el.textContent = "Plot unavailable: " + e.message; });
  }

  function cyclingPage() {
    var node = document.getElementById("cycling-data");
    if (!node) return;
    var d = JSON.parse(node.textContent), u = d.capacity_unit ? " (" + d.capacity_unit + ")" : "";
    Plotly.newPlot(document.getElementById("cycling"), [
      {x: d.cycle, y: d.charge, mode: "lines+markers", name: "charge capacity"},
      {x: d.cycle, y: d.discharge, mode: "lines+markers", name: "discharge capacity"},
      {x: d.cycle, y: d.efficiency, mode: "lines+markers", name: "coulombic efficiency", yaxis: "y2", marker: {symbol: "diamond"}}
    ], {margin: {t: 50}, xaxis: axis("cycle", {dtick: d.cycle.length <= 20 ? 1 : null}), yaxis: axis("capacity" + u),
        yaxis2: axis("coulombic efficiency (%)", {overlaying: "y", side: "right"}), legend: LEGEND}, CONFIG);
  }

  impedancePage();
  arrheniusPage();
  cyclingPage();
})();

/* Trends: one trace per group and kind of value (measured/reported, derived, upper/lower bound); a point
   click opens its sample; the table below lists every point with what it is. */
(function () {
  var el = document.getElementById("trend");
  if (!el) return;
  var SIGN = {upper_bound: "< ", lower_bound: "> ", approximate: "≈ "};
  var TREND_KINDS = [{kind: "value", label: "", symbol: "circle"}, {kind: "derived", label: "derived", symbol: "diamond-open"},
                     {kind: "upper_bound", label: "upper bound, not a value", symbol: "triangle-down-open"},
                     {kind: "lower_bound", label: "lower bound, not a value", symbol: "triangle-up-open"}];
  function trendKind(p) {
    if (p.qualifier === "upper_bound" || p.qualifier === "lower_bound") return p.qualifier;
    return p.origin === "derived" ? "derived" : "value";
  }
  function trendNote(p) {
    var parts = [p.origin || "?"];
    if (p.qualifier && p.qualifier !== "exact") parts.push(p.qualifier.replace("_", " "));
    if (p.method) parts.push(p.method);
    if ((p.flags || []).length) parts.push("[" + p.flags.join(", ") + "]");
    return parts.join(", ");
  }
  fetch(el.dataset.api).then(function (r) {
    return r.json().then(function (body) { if (!r.ok) throw new Error(body.message || ("HTTP " + r.status)); return body; });
  }).then(function (t) {
    var traces = [], tbody = document.querySelector("#trend-table tbody"), stale = document.getElementById("trend-stale");
    if (stale) stale.textContent = t.n_stale + " stale value" + (t.n_stale === 1 ? "" : "s") + " left out (recomputed by ionbase analyze).";
    t.groups.forEach(function (g) {
      var name = g.formula || g.key || "unknown";
      TREND_KINDS.forEach(function (k) {  /* bounds and derived values get their own marker: never plotted as measurements */
        var sel = g.points.filter(function (p) { return trendKind(p) === k.kind; });
        if (!sel.length) return;
        traces.push({x: sel.map(function (p) { return p.x; }), y: sel.map(function (p) { return p.value; }),
          customdata: sel.map(function (p) { return p.sample_id; }), text: sel.map(function (p) { return p.sample + ": " + trendNote(p); }),
          mode: "markers", name: name + (k.label ? " (" + k.label + ")" : ""), legendgroup: name, marker: {size: 9, symbol: k.symbol}});
      });
      g.points.forEach(function (p) {
        var tr = document.createElement("tr"), a = document.createElement("a");
        a.href = "/samples/" + encodeURIComponent(p.sample_id); a.textContent = p.sample;
        [g.formula || g.key || "", a, String(p.x), (SIGN[p.qualifier] || "") + p.value.toPrecision(4), trendNote(p)].forEach(function (v) {
          var td = document.createElement("td"); if (typeof v === "string") td.textContent = v; else td.appendChild(v); tr.appendChild(td);
        });
        tbody.appendChild(tr);
      });
    });
    if (!traces.length) { el.textContent = "No values match."; return; }
    Plotly.newPlot(el, traces, {margin: {t: 50}, hovermode: "closest",
      xaxis: {title: {text: el.dataset.xLabel}, automargin: true},
      yaxis: {title: {text: el.dataset.yLabel}, automargin: true, type: el.dataset.logY === "true" ? "log" : "linear", exponentformat: "power"},
      legend: {title: {text: t.group_by}}}, {responsive: true, displaylogo: false});
    el.on("plotly_click", function (ev) { var id = ev.points[0].customdata; if (id) window.location = "/samples/" + encodeURIComponent(id); });
  }).catch(function (e) { el.textContent = "Plot unavailable: " + e.message; });
})();
