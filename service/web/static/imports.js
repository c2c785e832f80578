/* The import page: dry run, commit and rollback through /api/v1/imports with the writer key typed in. */
"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  function cell(tr, v) { var td = document.createElement("td"); if (v instanceof Node) td.appendChild(v); else td.textContent = v === null || v === undefined ? "" : String(v); tr.appendChild(td); }
  function headers() { return {"Authorization": "Bearer " + $("api-key").value.trim()}; }

  function send(dryRun) {
    var fd = new FormData();
    Array.prototype.forEach.call($("files").files, function (f) { fd.append("files", f, f.name); });
    if (!$("files").files.length) { status("Choose at least one file."); return Promise.resolve(); }
    status(dryRun ? "Checking…" : "Importing…");
    return fetch("/api/v1/imports" + (dryRun ? "?dry_run=true" : ""), {method: "POST", body: fd, headers: headers()})
      .then(function (r) { return r.json().then(function (b) { return {code: r.status, body: b}; }); })
      .then(function (res) { show(res, dryRun); });
  }

  function status(text) { $("report-status").textContent = text; }

  function show(res, dryRun) {
    var issues = $("issues"), counts = $("counts");
    issues.tBodies[0].textContent = ""; counts.tBodies[0].textContent = "";
    issues.hidden = true; counts.hidden = true;
    if (res.code === 422) {
      (res.body.errors && res.body.errors.issues || []).forEach(function (i) {
        var tr = document.createElement("tr"); [i.file, i.row, i.column || i.field, i.message].forEach(function (v) { cell(tr, v); });
        issues.tBodies[0].appendChild(tr);
      });
      issues.hidden = false; $("commit").disabled = true;
      status(res.body.message); return;
    }
    if (res.code >= 400) { $("commit").disabled = true; status("Refused (HTTP " + res.code + "): " + res.body.message); return; }
    Object.keys(res.body.counts || {}).forEach(function (k) {
      var c = res.body.counts[k]; if (typeof c !== "object") return;
      var tr = document.createElement("tr"); [k, c.new, c.changed, c.unchanged].forEach(function (v) { cell(tr, v); });
      counts.tBodies[0].appendChild(tr);
    });
    counts.hidden = false;
    $("commit").disabled = !dryRun;
    status(dryRun ? "Dry run passed: nothing was written. Import to commit." : "Committed as batch " + res.body.batch_id + ".");
    if (!dryRun) loadBatches();
  }

  function rollback(id) {
    status("Rolling back " + id + "…");
    fetch("/api/v1/imports/" + encodeURIComponent(id) + "/rollback", {method: "POST", headers: headers()})
      .then(function (r) { return r.json().then(function (b) { return {code: r.status, body: b}; }); })
      .then(function (res) {
        status(res.code === 200 ? "Batch " + id + " rolled back: " + res.body.deleted + " deleted, " + res.body.restored + " restored."
                                : "Rollback refused (HTTP " + res.code + "): " + res.body.message);
        loadBatches();
      });
  }

  function loadBatches() {
    return fetch("/api/v1/imports?page_limit=100").then(function (r) { return r.json(); }).then(function (page) {
      var tbody = $("batches").tBodies[0]; tbody.textContent = "";
      page.data.slice().reverse().forEach(function (b) {
        var tr = document.createElement("tr"), total = (b.counts || {}).total || {};
        [b.id, b.status, (b.finished_at || "").replace("T", " ").replace("Z", ""), b.user,
         (b.files || []).map(function (f) { return f.name; }).join(", "), (total.new || 0) + " / " + (total.changed || 0)]
          .forEach(function (v) { cell(tr, v); });
        if (b.status === "committed") {
          var btn = document.createElement("button"); btn.type = "button"; btn.textContent = "Roll back";
          btn.setAttribute("aria-label", "Roll back batch " + b.id);
          btn.addEventListener("click", function () { rollback(b.id); }); cell(tr, btn);
        } else cell(tr, "");
        tbody.appendChild(tr);
      });
    });
  }

  $("dry-run").addEventListener("click", function () { send(true); });
  $("commit").addEventListener("click", function () { send(false); });
  $("files").addEventListener("change", function () { $("commit").disabled = true; });
  loadBatches();
})();
