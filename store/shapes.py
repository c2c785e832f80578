"""Query shapes that every backend answers fast and alike.

The embedded nx-27017 server translates flat conjunctions of field conditions to SQL, but evaluates
``$and`` / ``$or`` documents in Python over every row: at 100,000 property documents a flat query
takes milliseconds and the same query wrapped in ``$and`` or ``$or`` takes seconds (measured by
``bench/bench_api.py``). So Ionbase

* flattens ``$and`` into one document (merging operators on the same field), and
* answers a query with ``$or`` as a union of flat branches (its disjunctive normal form), each run
  with the same sort and limit, merged in sort order and de-duplicated by ``_id``.

Both are pure rewrites with the same matches on any MongoDB; conformance tests check them against
mongomock.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any, Iterable, Iterator

#: beyond this many branches the union costs more than one slow query
MAX_BRANCHES = 16


def _merge_into(target: dict, key: str, cond: Any) -> bool:
    """Merge one field condition into ``target``; False when it cannot be merged safely."""
    if key not in target:
        target[key] = cond
        return True
    old = target[key]
    if _is_ops(old) and _is_ops(cond) and not set(old) & set(cond):
        target[key] = {**old, **cond}
        return True
    return old == cond


def _is_ops(cond: Any) -> bool:
    return isinstance(cond, dict) and bool(cond) and all(k.startswith("$") for k in cond)


def simplify(query: dict | None) -> dict:
    """Flatten nested ``$and`` into one document where no field conditions clash."""
    if not query:
        return {}
    flat: dict = {}
    rest: list[dict] = []
    ors: list[dict] = []

    def absorb(q: dict) -> None:
        for key, cond in q.items():
            if key == "$and":
                for part in cond:
                    absorb(simplify(part))
            elif key == "$or":
                ors.append({"$or": [simplify(b) for b in cond]})
            elif not _merge_into(flat, key, cond):
                rest.append({key: cond})

    absorb(query)
    extra = rest + ors
    if not extra:
        return flat
    if len(ors) == 1 and not rest and "$or" not in flat:
        flat["$or"] = ors[0]["$or"]
        return flat
    return {"$and": ([flat] if flat else []) + extra}


def branches(query: dict | None, limit: int = MAX_BRANCHES) -> list[dict] | None:
    """The disjunctive normal form of ``query`` as flat documents, or None when it is too large."""
    q = simplify(query)
    conj: list[dict] = []
    alternatives: list[list[dict]] = []
    parts = q["$and"] if set(q) == {"$and"} else [q]
    for part in parts:
        base = {k: v for k, v in part.items() if k != "$or"}
        if base:
            conj.append(base)
        if "$or" in part:
            alts: list[dict] = []
            for b in part["$or"]:
                sub = branches(b, limit)
                if sub is None:
                    return None
                alts.extend(sub)
            alternatives.append(alts)
    total = 1
    for alts in alternatives:
        total *= len(alts)
        if total > limit:
            return None
    out = []
    for combo in itertools.product(*alternatives) if alternatives else [()]:
        merged: dict = {}
        ok = True
        for piece in (*conj, *combo):
            for key, cond in piece.items():
                if not _merge_into(merged, key, cond):
                    ok = False
        if ok:
            out.append(merged)
        else:  # a clash inside one branch: keep it correct, let the server evaluate it
            out.append({"$and": [*conj, *combo]})
    return out


def _type_rank(value: Any) -> int:
    """MongoDB's sort order of BSON types for the values Ionbase stores."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 5
    if isinstance(value, (int, float)):
        return 1
    if isinstance(value, str):
        return 2
    if isinstance(value, dict):
        return 3
    if isinstance(value, list):
        return 4
    return 6


class _Key:
    """Sort key of one document for a sort spec, in MongoDB order (missing/null first ascending)."""

    __slots__ = ("parts",)

    def __init__(self, doc: dict, sort: list[tuple[str, int]]):
        self.parts = []
        for path, direction in sort:
            v = get_path(doc, path)
            self.parts.append((direction, _type_rank(v), v))

    def __lt__(self, other: "_Key") -> bool:
        for (d, ra, a), (_, rb, b) in zip(self.parts, other.parts):
            if ra != rb:
                return (ra < rb) if d > 0 else (ra > rb)
            if ra == 0 or a == b:
                continue
            try:
                return (a < b) if d > 0 else (a > b)
            except TypeError:
                return (str(a) < str(b)) if d > 0 else (str(a) > str(b))
        return False


def get_path(doc: dict, path: str) -> Any:
    """The value at a dotted path of a document, or None when any part is missing."""
    cur: Any = doc
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def find_union(collection, query: dict, sort: list[tuple[str, int]], limit: int,
               projection: dict | None = None) -> list[dict]:
    """``find(query).sort(sort).limit(limit)`` answered as a union of flat branches.

    Each branch runs with the same sort and limit; results are merged in sort order and
    de-duplicated by ``_id``. ``sort`` must end with ``_id`` so the order is total.
    """
    parts = branches(query)
    if parts is None or len(parts) == 1:
        q = parts[0] if parts else simplify(query)
        return list(collection.find(q, projection).sort(sort).limit(limit))
    need_proj = projection
    if projection is not None:
        need_proj = dict(projection)
        for path, _ in sort:
            need_proj.setdefault(path.split(".")[0], 1)
    runs: list[Iterable[dict]] = [collection.find(b, need_proj).sort(sort).limit(limit) for b in parts]
    out: list[dict] = []
    seen: set = set()
    for item in heapq.merge(*(_keyed(r, sort, i) for i, r in enumerate(runs))):
        d = item[-1]
        if d["_id"] in seen:
            continue
        seen.add(d["_id"])
        out.append(d)
        if len(out) >= limit:
            break
    return out


def _keyed(docs: Iterable[dict], sort, branch: int) -> Iterator[tuple[_Key, int, int, dict]]:
    """(sort key, branch, position, doc): equal keys (one document in two branches) never compare docs."""
    for n, d in enumerate(docs):
        yield _Key(d, sort), branch, n, d


def count_union(collection, query: dict) -> int:
    """count_documents through flat branches where they cannot overlap; else one count."""
    parts = branches(query)
    if parts is None or len(parts) == 1:
        return collection.count_documents(parts[0] if parts else simplify(query))
    ids: set = set()
    for b in parts:
        ids.update(d["_id"] for d in collection.find(b, {"_id": 1}))
    return len(ids)
