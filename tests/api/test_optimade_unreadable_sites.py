"""A structure whose sites cannot be expanded (here: Fd-3m without its origin choice) does not take
the OPTIMADE listing down: its entry keeps the cell, leaves the positions null and says why."""

from __future__ import annotations

from pathlib import Path

from ionbase.ingest.importer import Importer, ImportOptions

DATA = Path(__file__).resolve().parents[1] / "data" / "api" / "spinel_plain_fd3m.yaml"


def test_unexpandable_sites_leave_the_listing_answering(store, app_client_for):
    Importer(store, ImportOptions()).run([DATA])
    client = app_client_for(store)
    r = client.get("/optimade/v1/structures")
    assert r.status_code == 200, r.get_json()  # was 500 for the whole listing
    (entry,) = r.get_json()["data"]
    a = entry["attributes"]
    assert a["lattice_vectors"][0][0] == 8.24 and a["cartesian_site_positions"] is None and a["nsites"] is None
    assert "origin choice" in a["_ionbase_sites_error"] and "Fd-3m:2" in a["_ionbase_sites_error"]
    props = client.get("/optimade/v1/info/structures").get_json()["data"]["properties"]
    assert "_ionbase_sites_error" in props
