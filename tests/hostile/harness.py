"""Run one corpus case through `ionbase import` (in process, click's CliRunner) and check the refusal."""

from __future__ import annotations

import time
from dataclasses import dataclass

from click.testing import CliRunner

from ionbase.ingest.importer import COLLECTIONS

SNAPSHOT_COLLECTIONS = (*COLLECTIONS, "import_batches", "import_staging", "import_history")


def snapshot(store) -> dict[str, list]:
    """Every document of the imported collections (ids and content), to compare before and after."""
    db = store.db
    return {c: sorted((str(d.get("_id")), str(d.get("content_hash", d.get("status")))) for d in db[c].find({}))
            for c in SNAPSHOT_COLLECTIONS}


@dataclass
class Outcome:
    exit_code: int
    output: str
    seconds: float
    exception: BaseException | None


def run_import(store, settings, folder) -> Outcome:
    """``ionbase import FOLDER --quiet --no-analyze`` in process, against ``store``."""
    from ionbase.service.cli import import_files

    t0 = time.monotonic()
    result = CliRunner().invoke(import_files, [str(folder), "--quiet", "--no-analyze"],
                                obj={"settings": settings, "store": store})
    out = result.output + (result.stderr if result.stderr_bytes is not None else "")
    return Outcome(result.exit_code, out, time.monotonic() - t0, result.exception)


def problems(case, outcome: Outcome, before: dict, after: dict) -> list[str]:
    """What is wrong with how a case was refused (empty when it was refused properly)."""
    found = []
    if outcome.exit_code == 0:
        found.append("accepted (exit code 0)")
    if outcome.exception is not None and not isinstance(outcome.exception, SystemExit):
        found.append(f"exception {type(outcome.exception).__name__}: {str(outcome.exception)[:200]}")
    if "Traceback" in outcome.output:
        found.append("traceback in output")
    lines = [ln for ln in outcome.output.splitlines() if ln.startswith("  ")]
    if outcome.exit_code != 0 and not lines:
        found.append(f"no error line: {outcome.output[:300]!r}")
    if lines and not any(case.names_file in ln for ln in lines):
        found.append(f"no error names {case.names_file}: {lines[:3]}")
    if any(len(ln) > 2000 for ln in lines):
        found.append("an error line is longer than 2000 characters")
    if before != after:
        changed = [c for c in before if before[c] != after[c]]
        found.append(f"documents changed in {changed}")
    if outcome.seconds > 30:
        found.append(f"took {outcome.seconds:.1f} s")
    return found
