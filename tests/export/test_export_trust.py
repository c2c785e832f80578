"""Issue 9, point 6: the ML export must not mislead.

Each test reads the real CSV, Parquet and JSONL files written by ``ionbase export`` (or the API)
from records imported by the real importer into the embedded store, with the analysis jobs run.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

DATA = Path(__file__).resolve().parents[1] / "data" / "export"
FORMATS = ("csv", "parquet", "jsonl")


@pytest.fixture()
def trust(store, settings):
    from ionbase.ingest.importer import Importer, ImportOptions
    from ionbase.jobs.runner import run_jobs

    Importer(store, ImportOptions(progress=False)).run([DATA / "trust.yaml"])
    run_jobs(store, settings, progress=False)
    return store


def _read(fmt: str, path: Path) -> tuple[list[str], list[dict]]:
    """Columns and rows of an export file; CSV cells stay text ('' is an empty cell)."""
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            return list(reader.fieldnames or []), list(reader)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return table.column_names, table.to_pylist()
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return (list(rows[0]) if rows else []), rows


def cli_export(settings, tmp_path, args=()) -> dict[str, tuple[list[str], list[dict], str]]:
    """``ionbase export`` to a file in each format: fmt -> (columns, rows, stderr)."""
    from ionbase.service.commands.export_cmds import export

    env = {"IONBASE_MONGODB_URI": settings.mongodb_uri, "IONBASE_DB_NAME": settings.db_name}
    out = {}
    for fmt in FORMATS:
        path = tmp_path / f"x.{fmt}"
        res = CliRunner().invoke(export, [*args, "--format", fmt, "-o", str(path)], env=env)
        assert res.exit_code == 0, res.output
        cols, rows = _read(fmt, path)
        out[fmt] = (cols, rows, res.stderr)
    return out


def empty(fmt: str, v) -> bool:
    """Unknown is an empty CSV cell, a Parquet null, a JSON null (never 0, never 'nan')."""
    return v == "" if fmt == "csv" else v is None


def num(v):
    return float(v) if isinstance(v, str) else v


def rows_of(rows, label):
    return [r for r in rows if r["sample_label"] == label]


def at(rows, label, t):
    (row,) = [r for r in rows_of(rows, label) if num(r["temperature_C"]) == t]
    return row


def test_temperature_bound_value_only_on_its_temperature_row(trust, settings, tmp_path):
    """cycle_life measured at 25 °C stays on the 25 °C row; Ea and lattice_a are on every row."""
    for fmt, (_cols, rows, _err) in cli_export(settings, tmp_path).items():
        a_rows = rows_of(rows, "T-A")
        assert sorted(num(r["temperature_C"]) for r in a_rows) == [25.0, 50.0, 75.0, 100.0], fmt
        for r in a_rows:
            t = num(r["temperature_C"])
            if t == 25.0:
                assert num(r["cycle_life"]) == 90.0, fmt
            else:
                assert empty(fmt, r["cycle_life"]) and empty(fmt, r["cycle_life_qualifier"]), (fmt, t)
            assert num(r["activation_energy_eV"]) == 0.41, (fmt, t)
            assert num(r["lattice_a_angstrom"]) == 9.5, (fmt, t)
    from ionbase.schemas import registry

    assert registry.PROPERTIES["cycle_life"].temperature_bound
    assert not registry.PROPERTIES["lattice_a"].temperature_bound


def test_lower_bound_keeps_its_qualifier(trust, settings, tmp_path):
    """'>90' is exported as 90 with qualifier '>' beside it, not as a plain 90."""
    for fmt, (cols, rows, _err) in cli_export(settings, tmp_path).items():
        r = at(rows, "T-A", 25.0)
        assert num(r["cycle_life"]) == 90.0 and r["cycle_life_qualifier"] == ">", fmt
        assert r["ionic_conductivity_qualifier"] == "=", fmt
        assert cols.index("cycle_life_qualifier") == cols.index("cycle_life") + 2


def test_unknown_synthesis_is_empty_not_zero(trust, settings, tmp_path):
    """A milling step without a duration: milling_time_h empty (was 0). No recorded steps: every
    synthesis column empty (was milled=false, milling_time_h=0)."""
    from ionbase.service.export import features as F

    for fmt, (_cols, rows, _err) in cli_export(settings, tmp_path).items():
        a = at(rows, "T-A", 25.0)
        assert empty(fmt, a["milling_time_h"]), (fmt, a["milling_time_h"])
        assert num(a["max_rpm"]) == 400.0 and num(a["max_anneal_C"]) == 200.0 and num(a["anneal_time_h"]) == 2.0
        assert a["milled"] in (True, "true") and a["annealed"] in (True, "true")
        b = at(rows, "T-B", 25.0)
        for col in F.SYNTHESIS_COLUMNS.values():
            assert empty(fmt, b[col]), (fmt, col, b[col])


def test_route_summary_unknown_parameters_are_none():
    """The stored route summary (queries and export read it) keeps unknown as None, not 0 or partial."""
    from ionbase.schemas.build import build_steps, summarize_route

    steps = build_steps([{"type": "ball_milling", "rpm": 400}, {"type": "ball_milling", "duration": "2 h", "rpm": 600}], "steps")
    s = summarize_route(steps)
    assert s["milled"] is True and "milling_time_h" not in s and s["max_rpm"] == 600.0
    steps = build_steps([{"type": "annealing", "temperature": "200 °C", "duration": "1 h"},
                         {"type": "annealing", "duration": "1 h"}], "steps")
    s = summarize_route(steps)
    assert "max_anneal_c" not in s and "anneal_ceiling_c" not in s and s["anneal_time_h"] == 2.0
    s = summarize_route(build_steps([{"type": "ball_milling", "duration": "90 min", "rpm": 500}], "steps"))
    assert s["milling_time_h"] == 1.5 and s["max_rpm"] == 500.0 and s["anneal_time_h"] == 0.0


def test_conflicts_resolved_by_rule_and_counted(trust, settings, tmp_path):
    """Two values for the 50 °C cell: the one with an uncertainty wins; a reported Ea beats the
    Arrhenius job's; both conflicts are counted in the summary (per column, in output cells)."""
    outputs = cli_export(settings, tmp_path)
    for fmt, (_cols, rows, err) in outputs.items():
        r50 = at(rows, "T-A", 50.0)
        assert num(r50["ionic_conductivity_S_per_cm"]) == pytest.approx(4.2e-5, rel=1e-12), fmt
        assert num(r50["ionic_conductivity_S_per_cm_uncertainty"]) == pytest.approx(3e-6, rel=1e-12)
        assert r50["ionic_conductivity_source"] == "10.9999/ionbase.export.trust; table 2"
        for r in rows_of(rows, "T-A"):
            assert num(r["activation_energy_eV"]) == 0.41 and r["activation_energy_origin"] == "reported"
            assert num(r["activation_energy_eV_uncertainty"]) == 0.02
            assert r["activation_energy_source"] == "10.9999/ionbase.export.trust; section 3.2"
        # 1 cell at 50 °C; Ea competes on each of T-A's 4 rows
        assert "conflicts (cells with competing values, resolved by the documented rule): " \
               "activation_energy_eV=4, ionic_conductivity_S_per_cm=1" in err, err
    # the derived value is there: it wins when it is the only one selected
    derived = trust.db.properties.find_one({"name": "activation_energy", "origin": "derived"})
    assert derived is not None
    _cols, rows, err = cli_export(settings, tmp_path, ["--filter", 'origin="derived"'])["csv"]
    assert rows and all(r["activation_energy_origin"] == "derived" for r in rows)
    assert rows[0]["activation_energy_source"].startswith("derived by arrhenius ")
    assert all(i in rows[0]["activation_energy_source"] for i in derived["provenance"]["inputs"])
    assert "conflicts (cells with competing values, resolved by the documented rule): none" in err


def test_summary_counts_the_filtered_result(trust, settings, tmp_path, app_client_for):
    """A filter answered with $regex: samples, rows and columns of the selection, not the store."""
    flt = 'sample_label STARTS WITH "T-B"'
    for fmt, (cols, rows, err) in cli_export(settings, tmp_path, ["--filter", flt]).items():
        assert len(rows) == 1 and rows[0]["sample_label"] == "T-B"
        assert "cycle_life" not in cols and "activation_energy_eV" not in cols
        assert f"1 rows x {len(cols)} columns (1 samples)" in err, (fmt, err)
    client = app_client_for(trust)
    r = client.get("/api/v1/export", query_string={"filter": flt, "format": "csv"})
    assert r.status_code == 200
    header = next(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert r.headers["X-Ionbase-Samples"] == "1" and r.headers["X-Ionbase-Rows"] == "1"
    assert r.headers["X-Ionbase-Columns"] == str(len(header))
    assert json.loads(r.headers["X-Ionbase-Conflicts"]) == {}
    r = client.get("/api/v1/export", query_string={"format": "jsonl"})
    assert json.loads(r.headers["X-Ionbase-Conflicts"]) == {"activation_energy_eV": 4, "ionic_conductivity_S_per_cm": 1}
    assert r.headers["X-Ionbase-Samples"] == "2" and r.headers["X-Ionbase-Rows"] == "5"
    assert len(r.get_data(as_text=True).splitlines()) == 5


def test_every_value_has_uncertainty_qualifier_origin_source_and_flags(trust, settings, tmp_path):
    from ionbase.service.export import cells as C

    cols, rows, _err = cli_export(settings, tmp_path)["parquet"]
    for name in ("ionic_conductivity", "cycle_life", "activation_energy", "conductivity_prefactor", "lattice_a", "cell_volume"):
        block = [c for c, _ in C.value_columns(name)]
        i = cols.index(block[0])
        assert cols[i:i + 6] == block, name
    r = at(rows, "T-A", 75.0)
    assert r["lattice_a_angstrom_uncertainty"] == pytest.approx(0.1) and r["lattice_a_origin"] == "reported"
    assert r["cell_volume_origin"] == "derived" and r["cell_volume_source"].startswith("derived by crystallography")
    assert r["ionic_conductivity_source"] == "10.9999/ionbase.export.trust; figure 3a"
    assert r["ionic_conductivity_S_per_cm_uncertainty"] is None  # none stated: empty, not 0


def test_formula_as_the_source_wrote_it(trust, settings, tmp_path):
    for fmt, (_cols, rows, _err) in cli_export(settings, tmp_path).items():
        a = at(rows, "T-A", 25.0)
        assert a["formula"] == "Na2B12H12" and a["reduced_formula"] == "Na(BH)6", fmt
        assert num(a["frac_Na"]) == pytest.approx(2 / 26)


def test_seed_paper_values_come_out_exactly(seeded_store, app_client_for):
    """The founding papers through the API, in each format."""
    import pyarrow.parquet as pq

    client = app_client_for(seeded_store)
    flt = 'name="cycle_life" OR formula="NaCB11H12" OR sample_label="Mg3AsN-BM400-3h-MOFsSE-stack"'
    for fmt in FORMATS:
        r = client.get("/api/v1/export", query_string={"filter": flt, "format": fmt})
        assert r.status_code == 200, r.get_data(as_text=True)
        if fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
        elif fmt == "parquet":
            rows = pq.read_table(io.BytesIO(r.data)).to_pylist()
        else:
            rows = [json.loads(x) for x in r.get_data(as_text=True).splitlines()]
        assert int(r.headers["X-Ionbase-Rows"]) == len(rows)
        assert int(r.headers["X-Ionbase-Samples"]) == len({x["sample_id"] for x in rows})
        # Li anode (J. Mater. Chem. A 2025): 200 and 360 cycles at 20 °C, exact
        li = at(rows, "Li-rp130um", 20.0)
        assert num(li["cycle_life"]) == 200.0 and li["cycle_life_qualifier"] == "=" and li["cycle_life_origin"] == "reported"
        assert "10.1039/d4ta06366j; table S1; figure 4b" in li["cycle_life_source"]
        assert num(at(rows, "Li-rp130um-Zn300nm-Li100nm-N2", 20.0)["cycle_life"]) == 360.0
        # Mg3AsN stack: ">90 cycles" at 25 °C, only on the 25 °C row
        stack = rows_of(rows, "Mg3AsN-BM400-3h-MOFsSE-stack")
        r25 = at(rows, "Mg3AsN-BM400-3h-MOFsSE-stack", 25.0)
        assert num(r25["cycle_life"]) == 90.0 and r25["cycle_life_qualifier"] == ">"
        assert num(at(rows, "Mg3AsN-BM400-3h-MOFsSE-stack", 40.0)["ionic_conductivity_S_per_cm"]) == 9.4e-05
        assert all(empty(fmt, x["cycle_life"]) for x in stack if num(x["temperature_C"]) != 25.0)
        assert num(at(rows, "Mg3AsN-BM400-3h-polymer-membrane", 60.0)["cycle_life"]) == 200.0
        # NaCB11H12 (Small Methods 2024): 4 mS/cm and 9.78e-9 S/cm at RT (25 °C), formula as written
        bm45 = at(rows, "NaCB11H12-BM-45min", 25.0)
        assert num(bm45["ionic_conductivity_S_per_cm"]) == 0.004 and num(bm45["milling_time_h"]) == 0.75
        bm6 = at(rows, "NaCB11H12-BM-6h", 25.0)
        assert num(bm6["ionic_conductivity_S_per_cm"]) == 9.78e-09
        assert len(rows_of(rows, "NaCB11H12-BM-6h")) == 1
        assert bm6["formula"] == "NaCB11H12" and bm6["reduced_formula"] == "NaB11H12C"


def test_docs_list_the_registry_temperature_independent_properties():
    import re

    from ionbase.schemas import registry

    text = (Path(__file__).resolve().parents[2] / "docs" / "export.md").read_text(encoding="utf-8")
    block = re.search(r"temperature-independent: begin -->(.*?)<!-- temperature-independent: end", text, re.S).group(1)
    listed = {w.strip() for w in block.replace("\n", " ").split(",") if w.strip()}
    assert listed == set(registry.TEMPERATURE_INDEPENDENT)
    assert all(not registry.PROPERTIES[n].temperature_bound for n in listed)


def test_rows_come_from_one_pass_and_the_spool_is_removed(trust):
    """The summary counts exactly the streamed rows, also when the store changes after planning."""
    from ionbase.service.export import build_rows, plan_export

    plan = plan_export(trust, {})
    spool = plan.spool
    assert not spool.closed
    trust.db.properties.delete_many({"sample_label": "T-B"})  # after planning: not seen by this export
    rows = list(build_rows(trust, {}, plan))
    assert len(rows) == plan.n_rows == 5 and {r["sample_label"] for r in rows} == {"T-A", "T-B"}
    assert len({r["sample_id"] for r in rows}) == len(plan.samples) == 2
    plan.close()
    assert spool.closed
    with pytest.raises(ValueError, match="closed"):
        list(build_rows(trust, {}, plan))
    plan = plan_export(trust, {})
    spool = plan.spool
    assert plan.n_rows == 4
    del plan  # collected: the spool goes with it
    assert spool.closed


def test_flagged_values_carry_their_flags_and_lose_conflicts():
    """A poor fit is exported with its flags beside it, and a sound value beats it for the cell."""
    from ionbase.service.export.cells import cell_values, priority

    poor = {"_id": "a", "name": "activation_energy", "value": 0.047, "origin": "derived", "flags": ["poor_fit"]}
    sound = {"_id": "b", "name": "activation_energy", "value": 0.33, "origin": "derived"}
    cells = cell_values("activation_energy", poor)
    assert cells["activation_energy_flags"] == "poor_fit" and cells["activation_energy_qualifier"] == "="
    assert cell_values("activation_energy", sound)["activation_energy_flags"] is None
    assert sorted([poor, sound], key=priority)[0] is sound
