"""``filter=`` in the OPTIMADE filter grammar -> a MongoDB query over Ionbase's field names.

Parsing uses the ``optimade`` package (``LarkParser`` grammar, ``MongoTransformer``), then a
whitelist pass rebuilds the query: only operators listed in ``ALLOWED_OPERATORS`` survive, every
field is resolved through ``service.query.fields`` (the field set of the collection queried:
``properties`` or ``samples``) and every value is type-checked against it. A
client can therefore never get a Mongo operator of their own choosing to the database.

Semantics beyond plain OPTIMADE (documented in docs/api.md):

* ``max_anneal_c < T`` / ``<= T`` also match samples that were never annealed (the question
  "never annealed above T" includes samples never annealed). Write
  ``max_anneal_c<=300 AND annealed="true"`` to require an anneal.
* Booleans: OPTIMADE has no boolean literal; write ``annealed="true"`` / ``"false"`` (or 1 / 0).
  ``= false`` matches documents where the flag is false or absent (flags default to false).
* ``elements LENGTH n`` compares ``nelements``; ``elements HAS ONLY ...`` is rewritten to "no element
  outside the list" (``$nin`` of the complement), since the embedded store has no ``$not``.
* ``CONTAINS`` / ``STARTS WITH`` / ``ENDS WITH`` match literal text (the pattern is escaped).
* Not supported (400): ``NOT`` applied to ``CONTAINS``/``STARTS``/``ENDS``/``HAS ALL``,
  comparisons between two properties, correlated list queries (``a:b HAS ...``).
* Values are in canonical units (S/cm, °C for ``temperature_c``, h, rpm, eV, ...).
"""

from __future__ import annotations

import functools

from ionbase.store.shapes import simplify

import math
import re
from functools import lru_cache
from typing import Any

from lark import Token, Tree
from lark.exceptions import UnexpectedInput, VisitError

from ionbase.errors import BadFilter
from ionbase.service.query.fields import BOOL, BOOL_WORDS, FIELD_SETS, FIELDS, INT, NUM, STR, STR_LIST, Field

MAX_FILTER_LENGTH = 10_000
MAX_NESTING = 12
MAX_COMPARISONS = 200

ALLOWED_OPERATORS = {"$and", "$or", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$all", "$exists", "$regex"}
_RANGE = {"$gt", "$gte", "$lt", "$lte"}
_INT64 = 2**63 - 1


@lru_cache(maxsize=None)
def _by_path(on: str) -> dict[str, Field]:
    """path -> Field of the field set ``on`` (several API names may share a path and its type)."""
    out: dict[str, Field] = {}
    for f in FIELD_SETS[on].values():
        out.setdefault(f.path, f)
    return out


class FilterError(BadFilter):
    """A filter that cannot be used; ``errors.filter`` says where."""

    def __init__(self, message: str, *, position: int | None = None, line: int | None = None,
                 column: int | None = None, text: str | None = None):
        detail: dict[str, Any] = {"message": message}
        if position is not None:
            detail["position"] = position
        if line is not None:
            detail["line"] = line
        if column is not None:
            detail["column"] = column
        if text is not None and position is not None:
            start = max(0, position - 20)
            detail["context"] = text[start : position + 20]
            detail["pointer"] = " " * (position - start) + "^"
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"invalid filter{where}: {message}", {"filter": detail})


@lru_cache(maxsize=1)
def _parser():
    from optimade.filterparser import LarkParser

    return LarkParser()


@lru_cache(maxsize=1)
def _all_elements() -> tuple[str, ...]:
    from pymatgen.core.periodic_table import Element

    return tuple(e.symbol for e in Element)


def _transformer_class():
    from optimade.filtertransformers.mongo import MongoTransformer

    class IonbaseTransformer(MongoTransformer):
        """MongoTransformer with Ionbase's field names and literal (escaped) string matching."""

        fields: dict[str, Field] = FIELDS

        def property(self, args):  # noqa: A003 - grammar rule name
            name = ".".join(str(a) for a in args)
            f = self.fields.get(name)
            if f is None:  # already rejected by _check_tree; keep a guard
                raise FilterError(f"unknown field {name!r}")
            return f.path

        def fuzzy_string_op_rhs(self, arg):
            pattern = arg[2] if isinstance(arg[1], Token) and arg[1].type == "WITH" else arg[1]
            if not isinstance(pattern, str):
                raise FilterError(f"{arg[0]} needs a string")
            text = re.escape(pattern)
            regex = {"CONTAINS": text, "STARTS": "^" + text, "ENDS": text + "$"}[str(arg[0])]
            return {"$regex": regex}

        def length_op_rhs(self, arg):
            op = "=" if len(arg) == 2 else str(arg[1])
            if op not in self.operator_map:
                raise FilterError(f"LENGTH does not support {op}")
            return {"#length": {self.operator_map[op]: arg[-1]}}

        def postprocess(self, query):
            # only the generic rewrites: no ObjectId/date coercion, HAS ONLY handled by Ionbase
            query = self._apply_unknown_or_null_filter(query)
            return query

    return IonbaseTransformer


@lru_cache(maxsize=None)
def _transformer(on: str):
    t = _transformer_class()()
    t.fields = FIELD_SETS[on]
    return t


def _nesting(text: str) -> int:
    """Deepest parenthesis nesting outside string literals."""
    depth = best = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "(":
            depth += 1
            best = max(best, depth)
        elif ch == ")":
            depth -= 1
    return best


def _check_tree(tree: Tree, text: str, fields: dict[str, Field]) -> None:
    """Unknown fields, property-vs-property comparisons and too many comparisons -> 400 with position."""
    comparisons = 0
    for sub in tree.iter_subtrees():
        if sub.data == "comparison":
            comparisons += 1
        if sub.data == "property":
            toks = [t for t in sub.children if isinstance(t, Token)]
            name = ".".join(str(t) for t in toks)
            if name not in fields:
                tok = toks[0]
                raise FilterError(
                    f"unknown field {name!r}; queryable fields: {', '.join(sorted(fields))}",
                    position=tok.start_pos, line=tok.line, column=tok.column, text=text,
                )
        if sub.data == "value":
            for child in sub.children:
                if isinstance(child, Tree) and child.data == "property":
                    tok = next(t for t in child.children if isinstance(t, Token))
                    raise FilterError(
                        "comparing two fields is not supported; quote string values",
                        position=tok.start_pos, line=tok.line, column=tok.column, text=text,
                    )
        if sub.data in ("set_zip_op_rhs", "property_zip_addon"):
            raise FilterError("correlated list queries are not supported")
    if comparisons > MAX_COMPARISONS:
        raise FilterError(f"too many comparisons ({comparisons} > {MAX_COMPARISONS})")


def warm_up() -> None:
    """Build the filter parser, transformer and element list now: the first filter in a process
    otherwise pays ~0.7 s for them (gunicorn workers call this at boot; bench/bench_api.py)."""
    parse_filter('property="ionic_conductivity" AND elements HAS "Na"')


def parse_filter(text: str | None, on: str = "properties") -> dict:
    """Parse an OPTIMADE filter over the fields of collection ``on`` into a safe MongoDB query.

    ``{}`` for no filter; ``on`` is a key of ``service.query.fields.FIELD_SETS``.

    Results are cached by filter text (OPTIMADE's Earley parser takes ~8 ms, more than the query
    itself on the embedded store); each call returns a fresh copy.
    """
    if text is None or not text.strip():
        return {}
    return _tree_copy(_parse_filter_cached(text, on))


def _tree_copy(node: Any) -> Any:
    """A copy of a parsed query: new dicts and lists, the same (immutable) scalars. A parsed filter
    holds only dicts, lists, strings, numbers, booleans and None, so this equals ``copy.deepcopy``
    at about a fifth of its cost, which was 7 % of a property page's own work (bench/bench_api.py)."""
    if isinstance(node, dict):
        return {k: _tree_copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_tree_copy(v) for v in node]
    return node


@functools.lru_cache(maxsize=1024)
def _parse_filter_cached(text: str, on: str) -> dict:
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError(f"filter longer than {MAX_FILTER_LENGTH} characters")
    if "$" in text:
        raise FilterError("'$' is not allowed in a filter", position=text.index("$"), text=text)
    if _nesting(text) > MAX_NESTING:
        raise FilterError(f"parentheses nested deeper than {MAX_NESTING}")
    try:
        tree = _parser().lark.parse(text)
    except UnexpectedInput as exc:
        pos = getattr(exc, "pos_in_stream", None)
        expected = sorted(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or [])
        msg = "syntax error"
        if expected:
            msg += f"; expected one of {', '.join(expected[:12])}"
        raise FilterError(msg, position=pos, line=getattr(exc, "line", None), column=getattr(exc, "column", None), text=text) from None
    except RecursionError:
        raise FilterError("filter nested too deeply") from None
    _check_tree(tree, text, FIELD_SETS[on])
    try:
        raw = _transformer(on).transform(tree)
    except VisitError as exc:
        orig = exc.orig_exc
        if isinstance(orig, FilterError):
            raise orig from None
        raise FilterError(str(orig)) from None
    except (NotImplementedError, RecursionError) as exc:
        raise FilterError(str(exc) or "unsupported filter") from None
    except Exception as exc:  # optimade raises its own BadRequest for some constructs
        raise FilterError(getattr(exc, "detail", None) or str(exc)) from None
    return rebuild(raw, on)


# ----------------------------------------------------------------------- whitelist rebuild


def rebuild(query: Any, on: str = "properties") -> dict:
    """Rebuild a transformer output from scratch, keeping only whitelisted operators and fields of ``on``."""
    if not isinstance(query, dict):
        raise FilterError("unsupported filter structure")
    out: list[dict] = []
    for key, val in query.items():
        if key in ("$and", "$or"):
            if not isinstance(val, list) or not val:
                raise FilterError("unsupported filter structure")
            out.append({key: [rebuild(v, on) for v in val]})
        elif key.startswith("$") or key.startswith("#"):
            raise FilterError(f"unsupported filter construct ({key.lstrip('$#')})")
        else:
            out.extend(_field_condition(key, val, on))
    if not out:
        raise FilterError("empty filter")
    return simplify(out[0] if len(out) == 1 else {"$and": out})


def _field_condition(path: str, cond: Any, on: str) -> list[dict]:
    """The conditions on one field path: standalone ones, plus one merged operator dict."""
    if path.startswith("elements.") and isinstance(cond, dict) and set(cond) == {"$exists"}:
        raise FilterError("use 'elements LENGTH n' to compare the number of elements")
    f = _by_path(on).get(path)
    if f is None:
        raise FilterError(f"unknown field {path!r}")
    if not isinstance(cond, dict):
        cond = {"$eq": cond}
    out: list[dict] = []
    ops: dict[str, Any] = {}
    for op, val in cond.items():
        standalone = _standalone_condition(f, path, op, val, on)
        if standalone is not None:
            out.append(standalone)
        else:
            ops.update(_operator(f, op, val))
    if ops:
        out.append(_merged_operators(f, path, ops))
    return out


def _standalone_condition(f: Field, path: str, op: str, val: Any, on: str) -> dict | None:
    """A comparison that is a condition of its own (LENGTH, HAS ONLY, IS KNOWN, booleans), else None.

    Refuses NOT and any operator outside the whitelist.
    """
    if op == "#length":
        return _length(f, val, on)
    if op == "#only":
        return _has_only(f, val, on)
    if op == "$not":
        raise FilterError(f"NOT is not supported with this comparison on {f.name!r}")
    if op not in ALLOWED_OPERATORS or op in ("$and", "$or"):
        raise FilterError(f"unsupported comparison ({op.lstrip('$#')}) on {f.name!r}")
    if op == "$ne" and val is None:
        # "is known": the embedded store's $ne null also matches missing fields; documents never
        # store explicit nulls, so $exists is equivalent
        return {path: {"$exists": True}}
    if op == "$eq" and val is None:
        return {path: None}
    if op == "$exists":
        return {path: {"$exists": bool(val)}}
    if f.type == BOOL and op in ("$eq", "$ne"):
        want = _value(f, val, op) == (op == "$eq")
        if want or not f.absent_is_false:
            return {path: {"$eq": want}}  # a route flag is false only where the route is known
        return {path: {"$ne": True}}  # (stale) absent means false: "= false" means "not true"
    return None


def _operator(f: Field, op: str, val: Any) -> dict[str, Any]:
    """One checked ``{operator: value}`` to merge with the field's other operators."""
    if op == "$regex":
        if f.type not in (STR, STR_LIST):
            raise FilterError(f"{f.name!r} is not a text field")
        return {op: str(val)}
    if op in ("$in", "$nin", "$all"):
        if not isinstance(val, list) or not val:
            raise FilterError(f"{op} needs a list")
        return {op: [_value(f, v, op) for v in val]}
    if op == "$eq" and f.type == STR_LIST:
        # equality on an indexed nested array path finds nothing on the embedded store; $in works
        return {"$in": [_value(f, val, op)]}
    return {op: _value(f, val, op)}


def _merged_operators(f: Field, path: str, ops: dict[str, Any]) -> dict:
    """``{path: ops}``, except an upper bound on max_anneal_c, which also matches never-annealed samples."""
    if f.name == "max_anneal_c" and set(ops) <= {"$lt", "$lte"}:
        # "never annealed above T" includes samples never annealed: anneal_ceiling_c is the max
        # anneal temperature, or 25 °C without an anneal (schemas.build.summarize_route)
        return {path.replace("max_anneal_c", "anneal_ceiling_c"): dict(ops)}
    return {path: ops}


def _needs_nelements(what: str, on: str) -> None:
    if "nelements" not in FIELD_SETS[on]:
        raise FilterError(f"{what} is not supported in the {on} filter (use HAS / HAS ALL / HAS ANY)")


def _length(f: Field, cond: Any, on: str) -> dict:
    if f.name != "elements":
        raise FilterError(f"LENGTH is only supported on 'elements' (got {f.name!r})")
    _needs_nelements("elements LENGTH", on)
    if not isinstance(cond, dict) or len(cond) != 1:
        raise FilterError("unsupported LENGTH comparison")
    (op, val), = cond.items()
    if op not in ALLOWED_OPERATORS - {"$and", "$or", "$exists", "$regex", "$in", "$nin", "$all"}:
        raise FilterError("unsupported LENGTH comparison")
    n = _value(FIELD_SETS[on]["nelements"], val, op)
    if op == "$ne":
        return {"$and": [{"nelements": {"$ne": n}}, {"nelements": {"$exists": True}}]}
    return {"nelements": {op: n}}


def _has_only(f: Field, values: Any, on: str) -> dict:
    if f.name != "elements":
        raise FilterError(f"HAS ONLY is only supported on 'elements' (got {f.name!r})")
    _needs_nelements("elements HAS ONLY", on)
    allowed = {_value(f, v, "HAS ONLY") for v in values}
    others = [e for e in _all_elements() if e not in allowed]
    return {"$and": [{"elements": {"$nin": others}}, {"nelements": {"$gte": 1}}]}


def _value(f: Field, val: Any, op: str) -> Any:
    """Check (and for booleans, coerce) one comparison value against the field type."""
    if f.type == BOOL:
        if isinstance(val, bool):
            return val
        key = str(val).strip().lower()
        if key in BOOL_WORDS:
            return BOOL_WORDS[key]
        raise FilterError(f"{f.name!r} is true or false (write {f.name}=\"true\"), got {val!r}")
    if f.type in (NUM, INT):
        if op in ("$regex",):
            raise FilterError(f"{f.name!r} is a number")
        if isinstance(val, bool) or not isinstance(val, (int, float)):
            raise FilterError(f"{f.name!r} is a number, got {val!r}")
        if isinstance(val, float) and not math.isfinite(val):
            raise FilterError(f"{f.name!r}: {val!r} is not a finite number")
        if isinstance(val, int) and abs(val) > _INT64:
            return float(val)
        return val
    if not isinstance(val, str):
        raise FilterError(f"{f.name!r} is text: quote the value (got {val!r})")
    if op in _RANGE and f.type == STR_LIST:
        raise FilterError(f"{f.name!r} is a list: use HAS")
    return val
