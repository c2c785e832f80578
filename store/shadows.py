"""Changed documents written beside the old ones, switched by the batch's commit document.

An import that changes a committed document ``X`` (store/batches.py) writes, while it is pending:

* the new version as a **shadow** ``X<SEP><batch>`` (``SEP`` is U+0001, the lowest character: a
  shadow sorts right after ``X`` and before every longer id starting with ``X``) carrying ``shadow_batch: <batch>`` (and the
  pending ``batch_id``, so it is hidden like the batch's new documents);
* ``superseded_by: <batch>`` on ``X`` itself (which stays visible while the batch is pending).

Its commit point, one update of its batch document (``pending`` -> ``committing`` with
``shadows: live``), then switches every shadow on and every superseded version off at once. After it,
``X`` is overwritten with the new version (still hidden: superseded), one more batch-document update
(``shadows: dead``) switches ``X`` on and the shadows off, and the shadows are deleted. So readers
never wait for a commit and never see a mix; at rest no shadow exists and ids are the natural ones.

A :class:`View` is that rule for one set of batch states: the conditions every read adds, the ``_id``
conditions rewritten so a lookup of ``X`` finds its live shadow, and the documents mapped back
(shadow id -> ``X``, bookkeeping fields dropped). Pure functions: no database here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from ionbase.store.shapes import simplify

SEP = "\x01"
SHADOW = "shadow_batch"
SUPERSEDED = "superseded_by"
#: import batches whose records queries must not see
HIDDEN_BATCH_STATES = ("pending", "failed", "rolled_back")
#: ``shadows`` of a committing batch whose switch is done (readers need not wait for it)
SWITCHED = ("live", "dead")
#: appended to an id, sorts after every shadow of it and before every longer id starting with it
_AFTER = SEP + "\x7f"


def shadow_id(doc_id: str, batch_id: str) -> str:
    """The id of ``doc_id``'s new version written by ``batch_id`` before its commit. Natural ids
    (hashes of natural keys, schemas/build_*.py) never contain ``SEP``; one that did could not be told
    from a shadow, so it is refused."""
    if SEP in doc_id:
        raise ValueError(f"document id {doc_id!r} contains {SEP!r}, which marks the ids of shadows (store/shadows.py)")
    return f"{doc_id}{SEP}{batch_id}"


def canonical_id(shadow: str) -> str:
    """The natural id of a shadow."""
    return shadow.rsplit(SEP, 1)[0]


@dataclass(frozen=True)
class View:
    """What readers see, from the batch states (store.Store.batch_view).

    ``hidden``: pending, failed and rolled-back batches (their records are invisible);
    ``live``: committing batches whose shadows are on and superseded versions off;
    ``dead``: committing batches whose shadows are off (being deleted);
    ``marked``: whether any document may carry a shadow field or a superseded mark now.
    """

    hidden: tuple[str, ...] = ()
    live: tuple[str, ...] = ()
    dead: tuple[str, ...] = ()
    marked: bool = False

    def conditions(self, *, including_pending: bool = False) -> dict:
        """The flat conditions a read of a batched collection adds (flat ``$nin``: fast on nx-27017)."""
        out: dict = {}
        if self.hidden and not including_pending:
            out["batch_id"] = {"$nin": list(self.hidden)}
        if self.live:
            out[SUPERSEDED] = {"$nin": list(self.live)}
        # shadows of uncommitted batches are hidden by their batch_id, except from a pending view
        off = [*self.dead, *(self.hidden if including_pending and self.marked else ())]
        if off:
            out[SHADOW] = {"$nin": off}
        return out

    def ids(self, query: dict) -> dict:
        """``query`` with every ``_id`` condition also matching the live shadows of those ids."""
        if not self.live:
            return query
        return _rewrite(query, self.live)

    def document(self, doc: dict) -> dict:
        """One document as readers must see it: without the bookkeeping fields, a live shadow under
        its natural id (found by its id's ``SEP<live batch>`` suffix, so also when a projection or a
        pipeline's ``$project`` left the shadow field out)."""
        doc = unmark(doc)
        if self.live and isinstance(doc.get("_id"), str) and SEP in doc["_id"]:
            base, batch = doc["_id"].rsplit(SEP, 1)
            if batch in self.live:
                doc["_id"] = base
        return doc

    def documents(self, docs: Iterable[dict]) -> Iterator[dict]:
        """``docs`` as readers must see them (:meth:`document`; unchanged when nothing is marked)."""
        if not self.marked:
            yield from docs
            return
        for doc in docs:
            yield self.document(doc)


def batch_view_of(batches: Iterable[dict]) -> View:
    """The view from the batch documents (``_id``, ``status``, ``shadows``) that are not plainly committed."""
    hidden, live, dead, marked = [], [], [], False
    for b in batches:
        status, shadows = b.get("status"), b.get("shadows")
        if status in HIDDEN_BATCH_STATES:
            hidden.append(b["_id"])
            # a pending batch may be writing shadows; a failed one until its discard removed them
            marked = marked or status == "pending" or (status == "failed" and shadows == "staged")
        elif status == "committing" and shadows in SWITCHED:
            (live if shadows == "live" else dead).append(b["_id"])
            marked = True
    return View(tuple(sorted(hidden)), tuple(sorted(live)), tuple(sorted(dead)), marked)


def apply_view(view: View, query: dict | None, *, including_pending: bool = False) -> dict:
    """``query`` (on a batched collection) as sent under ``view``: ids rewritten, conditions added, flat."""
    query = view.ids(query or {})
    conditions = view.conditions(including_pending=including_pending)
    if not conditions:
        return simplify(query)
    # one flat document when possible: the embedded server evaluates $and in Python (store.shapes)
    return simplify({"$and": [query, conditions]}) if query else conditions


def unmark(doc: dict) -> dict:
    """A document without the shadow bookkeeping: a shadow gets its natural id back."""
    if SHADOW in doc:
        del doc[SHADOW]
        if isinstance(doc.get("_id"), str):
            doc["_id"] = canonical_id(doc["_id"])
    doc.pop(SUPERSEDED, None)
    return doc


def _rewrite(query: Any, live: tuple[str, ...]) -> Any:
    if isinstance(query, list):
        return [_rewrite(q, live) for q in query]
    if not isinstance(query, dict):
        return query
    out = {}
    for key, cond in query.items():
        if key in ("$and", "$or", "$nor"):
            out[key] = _rewrite(cond, live)
        elif key == "_id":
            out[key] = _id_condition(cond, live)
        else:
            out[key] = cond
    return out


def _expand(ids: Iterable[Any], live: tuple[str, ...]) -> list:
    """Natural ids with their live shadows; a shadow's own id names no document (natural ids have no ``SEP``)."""
    out = []
    for i in ids:
        if isinstance(i, str):
            if SEP not in i:
                out.append(i)
                out.extend(shadow_id(i, b) for b in live)
        else:
            out.append(i)
    return out


def _literal_regex(pattern: str, live: tuple[str, ...]) -> str | None:
    """An ``_id`` regex of the API's literal forms (``lit``, ``^lit``, ``lit$``, ``^lit$``, ``lit``
    escaped by re.escape: CONTAINS, STARTS, ENDS) that also matches the live shadows of the ids it
    matches and nothing of their ``SEP<batch>`` suffix; None: it matches no natural id (``SEP`` in it).
    Other patterns are returned unchanged (no caller sends them)."""
    start = pattern.startswith("^")
    end = pattern.endswith("$") and (len(pattern) - 1 - len(pattern[:-1].rstrip("\\"))) % 2 == 0  # not an escaped $
    body = pattern[1 if start else 0: len(pattern) - (1 if end else 0)]
    literal = re.sub(r"\\(.)", r"\1", body)
    if re.escape(literal) != body:
        return pattern
    if SEP in literal:
        return None
    suffix = "(?:" + re.escape(SEP) + "(?:" + "|".join(re.escape(b) for b in live) + "))?"
    return ("^" if start else "^[^" + re.escape(SEP) + "]*") + body + (suffix + "$" if end else "")


def _id_condition(cond: Any, live: tuple[str, ...]) -> Any:
    """One ``_id`` condition over natural ids, made to match their live shadows alike."""
    if isinstance(cond, str):
        return {"$in": _expand([cond], live)}
    if not (isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond)):
        return cond  # a compiled pattern or a whole sub-document: as given
    out: dict = {}
    if "$eq" in cond or "$in" in cond:
        vals = [cond["$eq"]] if "$eq" in cond else list(cond["$in"])
        if "$eq" in cond and "$in" in cond:  # both must hold
            vals = [v for v in vals if v in cond["$in"]]
        out["$in"] = _expand(vals, live)
    for op, value in cond.items():
        if op not in ("$eq", "$in"):
            out.update(_id_operator(op, value, live, out))
    return out


def _id_operator(op: str, value: Any, live: tuple[str, ...], out: dict) -> dict:
    """What one ``_id`` operator other than ``$eq``/``$in`` becomes (``out``: the condition so far)."""
    if op in ("$ne", "$nin"):
        return {"$nin": [*out.get("$nin", []), *_expand([value] if op == "$ne" else value, live)]}
    if op in ("$gt", "$lte") and isinstance(value, str):
        return {op: value + _AFTER}  # X's shadows sort after X and before longer ids: they stand for X
    if op == "$regex" and isinstance(value, str):
        regex = _literal_regex(value, live)
        return {"$in": []} if regex is None else {op: regex}
    return {op: value}
