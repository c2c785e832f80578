"""A table's sample records and steps rows are kept on disk (ingest/recordshelf.py): the documents and
errors of the first pass are the ones built when they were held in memory, and the memory the
loading takes does not grow with the samples."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from pathlib import Path

from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.ingest.loaders import load_lab_file
from ionbase.ingest.planning import ImportReport, merge_fragments
from ionbase.schemas.validate import stored_fields

REPO = Path(__file__).resolve().parents[2]
FORMULAS = ("Na3InCl6", "Li3YCl6", "Li6PS5Cl")

#: (documents, their digest, errors, their digest) of the first pass, computed with the records
#: held in memory (before ingest/recordshelf.py, commit 62af724); a change here is a change of the
#: documents an import writes, or of its errors. One deliberate change since: "generated" was
#: 4c587d4b52c23659 until 2026-12-02, when a steps row whose order cell cannot be read (P00005's
#: anneal, "first") kept its sample's ball milling as a route that read "never annealed"; now the
#: sample's steps from that table are all left out, as for any bad steps row (tabular._check_steps).
#: Then 795f07059800f84e until 2026-12-02 15:40, when the two samples with a refused steps row (P00005,
#: P00008) gained ``route_unknown`` (and so a new content hash), inherited by children; a document
#: diff of the two versions showed those two lines and nothing else. Then b40ad68cd379f836 until
#: 2026-12-02 17:10, when those two samples' summary became {} (an unknown route claims not even
#: "0 steps"; the same diff: those two documents, summary and content hash, nothing else). Then
#: 2322f271116b23ae until 2026-12-03, when those two samples gained ``steps_refused`` (their own steps
#: were refused: their route stays unknown when a parent's is derived again, ingest/cascade.py; the
#: same diff: those two documents, the new field and content hash, nothing else). seed_data was
#: 441256ee50a2244f and templates cc3aa0c74d516973 / errors 8a9c8d64189d364f until 2026-12-03 04:45,
#: when (a document diff of every collection against aa5df80): 11 seed and 1 template activation
#: energies gained ``conditions.carrier: ionic``; 18 seed uncertainties of ranges written as text
#: ("200-400 µm" thicknesses, one duration, one property) became half-width/sqrt 3 (100 -> 57.735 µm);
#: the templates' 10 errors are the same duplicate keys with a sentence on what names a property added
EXPECTED = {
    "seed_data": (419, "b2965e1d43cce350", 0, "4f53cda18c2baa0c"),
    "templates": (17, "a897419cb7366f0a", 10, "07f65d4012ffd7fa"),
    "generated": (713, "bdab7571a9947cb8", 4, "833bb57d68be0d6c"),
}


def write_tables(folder: Path, n: int, errors: bool = True, prefix: str = "P") -> None:
    """A samples table and a steps table (in another file) of ``n`` samples, children naming parents,
    steps out of order; with ``errors``, a bad step, steps for an unknown sample and a duplicate label."""
    samples = ["# notebook: SHELF-LAB", "label,formula,parent,notes"]
    steps = ["# notebook: SHELF-LAB", "sample,step,type,rpm,duration (h),temperature (°C),atmosphere"]
    for i in range(n):
        parent = f"{prefix}{i - 1:05d}" if i % 7 == 3 else ""
        samples.append(f"{prefix}{i:05d},{FORMULAS[i % 3]},{parent},note {i % 11}")
        if i % 3 == 0:
            steps.append(f"{prefix}{i:05d},2,annealing,,{1 + i % 5},{200 + 10 * (i % 9)},Ar")
        if i % 5 != 4:
            steps.append(f"{prefix}{i:05d},1,ball_milling,{300 + 100 * (i % 3)},{1 + i % 4},,Ar")
    if errors:
        samples.append("P00003,Na3InCl6,,duplicate")
        steps += ["P00005,first,annealing,,2,300,Ar", "NOPE,1,annealing,,2,300,Ar", "P00008,3,flying,,2,300,Ar"]
    (folder / "samples.csv").write_text("\n".join(samples) + "\n")
    (folder / "steps.csv").write_text("\n".join(steps) + "\n")


class _Capture:
    """A spill that keeps only a digest of the documents, in order."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.n = 0

    def add(self, coll: str, doc: dict) -> None:
        self.hash.update(json.dumps([coll, stored_fields(doc)], default=str).encode())
        self.n += 1

    def tick(self, n: int = 1) -> None:
        pass


def first_pass_digest(store, paths: list[Path]) -> tuple[int, str, int, str]:
    cap = _Capture()
    report, _files, _meta, _rejected, plan = Importer(store, ImportOptions(skip_invalid=True))._plan(paths, cap)
    for coll in ("materials", "routes"):
        for doc in plan.docs[coll].values():
            cap.add(coll, doc)
    errors = json.dumps([i.to_dict() for i in report.errors], default=str).encode()
    return cap.n, cap.hash.hexdigest()[:16], len(report.errors), hashlib.sha256(errors).hexdigest()[:16]


def test_documents_and_errors_as_when_held_in_memory(store, tmp_path):
    write_tables(tmp_path, 600)
    got = {"seed_data": first_pass_digest(store, [REPO / "seed_data"]),
           "templates": first_pass_digest(store, [REPO / "templates"]),
           "generated": first_pass_digest(store, sorted(tmp_path.iterdir()))}
    assert got == EXPECTED


def _loading_peak(folder: Path) -> int:
    """Peak of Python allocations while the tables are read and their steps merged."""
    tracemalloc.start()
    files = []
    try:
        files = [load_lab_file(p, 10**9) for p in sorted(folder.iterdir())]
        merge_fragments(files, ImportReport(None, "planned", False))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        for f in files:
            f.close_shelf()


def test_loading_sample_tables_does_not_grow_with_the_samples(tmp_path):
    small, large = tmp_path / "small", tmp_path / "large"
    small.mkdir()
    large.mkdir()
    # labels longer than the cells interned (ingest/tabular.py): the interpreter's table of
    # interned strings, resized now and then, would blur the figure
    prefix = "SHELF-SAMPLE-" + "x" * 30 + "-"
    write_tables(small, 1500, errors=False, prefix=prefix)  # above the shelf's chunk of rows read at a time
    write_tables(large, 6000, errors=False, prefix=prefix)
    _loading_peak(large)  # first: imports, and the interpreter's tables (interned strings) grown once
    # the smaller of two measurements: the interpreter's table of interned strings (cells are interned,
    # ingest/tabular.py) fills with the dead entries of earlier imports and is rebuilt, 3-4 MB at once,
    # whenever it runs out of room, which depends on what ran before in the process (a per-sample
    # cost shows in both measurements; a rebuild in one)
    growth = min((_loading_peak(large) - _loading_peak(small)) / 4500 for _ in range(2))
    print(f"{growth:.0f} bytes per sample")
    # held in memory, the records and steps took about 1,500 bytes of Python objects per sample
    assert growth < 300, f"loading a samples and a steps table takes {growth:.0f} more bytes per sample"


def test_shelves_of_many_files_share_one_database_and_keep_their_rows_apart(tmp_path):
    """Every file's table gets a shelf; open together (as in an import of many files) they share one
    temporary database, whose connection costs about 120 KiB (1,000 one-sample files took 218 MiB
    with one each: review finding). Measured as RSS in a fresh process (tracemalloc does not see
    SQLite's memory). Each shelf still sees only its own records and steps."""
    import subprocess
    import sys

    from ionbase.ingest.loaders import RawRecord
    from ionbase.ingest.recordshelf import _LOCAL, RecordShelf

    code = (
        "from ionbase.ingest.recordshelf import RecordShelf\n"
        "from ionbase.ingest.loaders import RawRecord\n"
        "rss = lambda: int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])\n"
        "base = rss(); shelves = []\n"
        "for i in range(1500):\n"
        "    s = RecordShelf(); s.add(RawRecord('sample', {'label': f'M{i}'}, 2, 'r'))\n"
        "    s.add_step(f'M{i}', 1, {'type': 'annealing'}, 3); shelves.append(s)\n"
        "print((rss() - base) // 1024)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) < 40, f"1,500 open shelves grew RSS by {out.stdout.strip()} MiB"

    before = getattr(_LOCAL, "shared", None)  # None unless a shelf of this thread is open elsewhere
    a, b = RecordShelf(), RecordShelf()
    a.add(RawRecord("sample", {"label": "A1"}, 2, "r"))
    b.add(RawRecord("sample", {"label": "B1"}, 2, "r"))
    a.add_step("X", 2, {"type": "annealing"}, 5)
    b.add_step("X", 1, {"type": "ball_milling"}, 7)
    assert [r.data for _, r in a.records("sample")] == [{"label": "A1"}]
    assert a.first_left() == ("X", 5) and b.first_left() == ("X", 7)
    assert b.take_steps("X")[0] == [{"type": "ball_milling"}] and not b.has_steps() and a.has_steps()
    a.close()
    assert [r.data for _, r in b.records("sample")] == [{"label": "B1"}], "closing one shelf keeps the other's rows"
    assert _LOCAL.shared is not None
    b.close()
    if before is None:
        assert getattr(_LOCAL, "shared", None) is None, "the last shelf to close closes the shared database"
