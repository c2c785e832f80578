"""The API while an import that changes samples, measurements (with their array chunks) and
properties is paused inside its commit (store/shadows.py): every answer shows the whole batch or
none of it, with natural ids, no bookkeeping fields, nothing twice and nothing missing, and nobody
waits."""

from __future__ import annotations

import json
import threading

import pytest
import yaml

from ionbase.ingest.importer import Importer, ImportOptions

SAMPLES = ("S1", "S2")
N_PROPS = 12


def _write(path, version: int):
    """Notes, an impedance spectrum and conductivities that all differ between versions."""
    doc = {
        "source": {"doi": "10.1/live-commit"},
        "materials": [{"key": "LPS", "formula": "Li3PS4", "family": "sulfide"}],
        "samples": [{"label": s, "material": "LPS", "notes": f"version {version}",
                     "steps": [{"type": "ball_milling", "rpm": 500, "duration": "10 h"}]} for s in SAMPLES],
        "measurements": [{"sample": s, "kind": "impedance_spectrum", "label": "EIS-25C",
                          "cell": {"thickness": "1 mm", "area": "1 cm^2"},
                          "frequency": [10.0 ** (6 - k / 2) for k in range(10)],
                          "z_real": [100.0 * version + k for k in range(10)],
                          "z_imag": [-10.0 * version - k for k in range(10)]} for s in SAMPLES],
        "properties": [{"sample": s, "name": "ionic_conductivity", "value": f"{version * (1 + t) * 1e-5:.6g} S/cm",
                        "conditions": {"temperature": f"{t} °C"}} for s in SAMPLES for t in range(1, N_PROPS + 1)],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _all_pages(client, **params) -> list[dict]:
    """Every property the query matches, following the cursor pages."""
    out, cursor = [], None
    for _ in range(50):
        q = {"page_limit": 5, **params, **({"page_cursor": cursor} if cursor else {})}
        res = client.get("/api/v1/properties", query_string=q)
        assert res.status_code == 200, res.get_data(as_text=True)
        body = res.get_json()
        out.extend(body["data"])
        cursor = body["meta"]["next_cursor"]
        if not cursor:
            return out
    raise AssertionError("pages never ended")


def _snapshot(client, store) -> dict:
    """What a reader sees, each piece asserted free of shadows and of bookkeeping fields."""
    by_value = _all_pages(client, sort="value")
    by_id = _all_pages(client, sort="id")
    versions = set()
    for listing in (by_value, by_id):
        ids = [p["id"] for p in listing]
        assert len(ids) == len(set(ids)) == len(SAMPLES) * N_PROPS, "a property missing or twice"
    for p in by_id:
        versions.add(round(p["value"] / (1e-5 * (1 + p["conditions"]["temperature_c"])), 6))
    one = client.get(f"/api/v1/properties/{by_id[0]['id']}").get_json()
    versions.add(round(one["value"] / (1e-5 * (1 + one["conditions"]["temperature_c"])), 6))
    sample_ids = sorted({p["sample"] for p in by_id})
    bodies = [json.dumps(one)]
    for sid in sample_ids:
        res = client.get(f"/api/v1/samples/{sid}")
        assert res.status_code == 200
        smp = res.get_json()
        bodies.append(json.dumps(smp))
        assert smp["id"] == sid and len(smp["properties"]) == N_PROPS and len(smp["measurements"]) == 1
        versions.add(int(smp["notes"].split()[-1]))
        mid = smp["measurements"][0]["id"]
        data = client.get(f"/api/v1/measurements/{mid}/data").get_json()
        bodies.append(json.dumps(data))
        assert data["n_points"] == 10, "array chunks of both versions read together"
        versions.add(int(data["arrays"]["z_real"][0] // 100))
        assert store.measurement_arrays.arrays(mid, ["z_real"]).arrays["z_real"] == data["arrays"]["z_real"]
    trend = client.get("/api/v1/trends/synthesis", query_string={"property": "ionic_conductivity",
                                                                  "parameter": "milling_time_h", "temperature_c": 1})
    assert trend.status_code == 200, trend.get_data(as_text=True)
    assert sum(len(g["points"]) for g in trend.get_json()["groups"]) == len(SAMPLES)
    bodies.append(trend.get_data(as_text=True))
    # id filters (regex on ids): a suffix finds its document, the shadows' separator finds nothing
    tail = by_id[0]["id"][-7:]
    assert [p["id"] for p in _all_pages(client, filter=f'id ENDS WITH "{tail}"')] == [by_id[0]["id"]]
    assert _all_pages(client, filter='id CONTAINS "imp-"') == []
    # an id range whose bound is a prefix of ids (review finding)
    assert len(_all_pages(client, filter='id > "prop-"')) == len(by_id)
    assert [p["id"] for p in _all_pages(client, filter=f'id <= "{by_id[0]["id"]}"')] == [by_id[0]["id"]]
    assert len(_all_pages(client, filter=f'id > "{by_id[0]["id"][:-1]}"')) == len(by_id)
    assert len(_all_pages(client, filter='id STARTS WITH "prop-"')) == len(by_id)
    for body in bodies + [json.dumps(by_id), json.dumps(by_value)]:
        assert "shadow_batch" not in body and "superseded_by" not in body and "\\u0001" not in body
    assert len(versions) == 1, f"a mix of versions {versions}"
    return {"version": versions.pop(), "ids": [p["id"] for p in by_id]}


@pytest.mark.parametrize("stage", ["staged", "committing", "settled:properties", "switched", "dropped:properties"])
def test_api_answers_whole_versions_inside_a_paused_commit(rw_app, store, tmp_path, stage):
    path = _write(tmp_path / "lab.yaml", 1)
    Importer(store, ImportOptions()).run([path])
    client = rw_app.test_client()
    before = _snapshot(client, store)
    assert before["version"] == 1
    _write(path, 2)
    reached, release, seen = threading.Event(), threading.Event(), []

    def on_stage(name: str) -> None:
        seen.append(name)
        if name == stage and seen.count(name) == 1:
            reached.set()
            release.wait(60)

    worker = threading.Thread(target=lambda: Importer(store, ImportOptions(on_stage=on_stage)).run([path]), daemon=True)
    worker.start()
    try:
        assert reached.wait(120), f"the import never reached {stage}: {seen}"
        during = _snapshot(client, store)  # answers at once: nothing waits for the commit
    finally:
        release.set()
        worker.join(120)
    after = _snapshot(client, store)
    assert during["version"] == (1 if stage == "staged" else 2)
    assert after["version"] == 2 and after["ids"] == during["ids"] == before["ids"]
    for coll in ("samples", "measurements", "measurement_arrays", "properties"):
        assert store.db[coll].count_documents({"shadow_batch": {"$exists": True}}) == 0
        assert store.db[coll].count_documents({"superseded_by": {"$exists": True}}) == 0


def test_a_natural_key_index_of_an_older_version_is_dropped_when_it_refuses_shadows(rw_app, store, tmp_path):
    """An older Ionbase process opening the same store recreates the unique (source_key, label) index,
    which refuses the shadow of a changed sample: the import drops it and goes on (review finding)."""
    path = _write(tmp_path / "lab.yaml", 1)
    Importer(store, ImportOptions()).run([path])
    store.db.samples.create_index([("source_key", 1), ("label", 1)], unique=True)
    Importer(store, ImportOptions()).run([_write(path, 2)])
    assert _snapshot(rw_app.test_client(), store)["version"] == 2
    keys = [[k for k, _ in info["key"]] for info in store.db.samples.index_information().values() if info.get("unique")]
    assert keys == [["source_key", "label", "shadow_batch"]]
