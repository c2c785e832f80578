"""GET /api/v1/export and ``ionbase export`` on the embedded store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "export"


@pytest.fixture()
def loaded(store):
    from ionbase.ingest.importer import Importer, ImportOptions

    Importer(store, ImportOptions(progress=False)).run([DATA / "two_samples.yaml"])
    return store


@pytest.fixture()
def client(loaded, app_client_for):
    """The real application (create_app): its error handlers and auth are part of the test."""
    return app_client_for(loaded)


def test_api_csv_default_streamed(client):
    r = client.get("/api/v1/export")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.is_streamed
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert len(rows) == 5 and "ionic_conductivity_S_per_cm" in rows[0]


def test_api_optimade_filter(client):
    r = client.get('/api/v1/export?filter=elements HAS "Zr"&format=jsonl')
    assert r.status_code == 200 and r.mimetype == "application/x-ndjson"
    rows = [json.loads(x) for x in r.get_data(as_text=True).splitlines()]
    assert {x["sample_label"] for x in rows} == {"NIZC-BM"} and len(rows) == 2


def test_api_parquet(client):
    import pyarrow.parquet as pq

    r = client.get('/api/v1/export?format=parquet&filter=family="halide"')
    assert r.status_code == 200 and r.mimetype == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(r.data))
    assert table.num_rows == 5 and "frac_Na" in table.column_names


def test_api_bad_arguments(client):
    assert client.get("/api/v1/export?format=xlsx").status_code == 422
    assert client.get("/api/v1/export?filter=family=").status_code == 400


def test_cli_export(loaded, settings, tmp_path):
    from click.testing import CliRunner

    from ionbase.service.commands.export_cmds import export

    env = {"IONBASE_MONGODB_URI": settings.mongodb_uri, "IONBASE_DB_NAME": settings.db_name}
    runner = CliRunner()
    res = runner.invoke(export, ["--filter", 'family="halide"', "--format", "csv"], env=env)
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(rows) == 5
    out = tmp_path / "x.parquet"
    res = runner.invoke(export, ["--format", "parquet", "-o", str(out)], env=env)
    assert res.exit_code == 0, res.output
    import pyarrow.parquet as pq

    assert pq.read_table(out).num_rows == 5
    res = runner.invoke(export, ["--format", "parquet"], env=env)
    assert res.exit_code == 2 and "needs -o" in res.output
    res = runner.invoke(export, ["--mongo-filter", '{"sample_label": "NIC-BM"}', "--format", "jsonl"], env=env)
    assert res.exit_code == 0 and len(res.stdout.splitlines()) == 3
