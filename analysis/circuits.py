"""Strict parser and vectorised evaluator for equivalent-circuit strings (impedance.py notation).

Grammar (whitespace between tokens is ignored; nothing is ever eval'd):

    circuit  := series
    series   := term ( "-" term )*
    term     := element | "p(" series ( "," series )+ ")"
    element  := TYPE INDEX            e.g. R0, CPE1, Wo2
    TYPE     := R | C | L | W | Wo | Ws | CPE | La | G | Gs | K | Zarc | TLMQ | T
    INDEX    := [0-9]+

Element names must be unique. Parameter names follow impedance.py: one-parameter
elements are named by the element (``R0``), multi-parameter ones get ``_k`` suffixes
(``CPE1_0`` = Q, ``CPE1_1`` = alpha). Element impedances (omega = 2 pi f) are those of
impedance.py 1.7 (``impedance.models.circuits.elements``; Murbach et al., JOSS 5, 2349 (2020)):
R: R; C: 1/(j w C); L: j w L; W: A_w (1-j)/sqrt(w); Wo: Z0 coth(sqrt(j w tau))/sqrt(j w tau);
Ws: Z0 tanh(sqrt(j w tau))/sqrt(j w tau); CPE: 1/(Q (j w)^a); La: (L j w)^a;
G: R/sqrt(1 + j w t); Gs: R/(sqrt(1+j w t) tanh(phi sqrt(1+j w t))); K: R/(1 + j w tau);
Zarc: R/(1 + (j w tau)^g); TLMQ: sqrt(R Zs) coth(sqrt(R/Zs)), Zs = 1/(Q (j w)^g);
T: delegated to impedance.py's ``T``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

from .errors import CircuitSyntaxError

__all__ = ["ELEMENTS", "Element", "Series", "Parallel", "parse_circuit", "CompiledCircuit", "compile_circuit"]

# type -> (parameter units, parameter kinds); kind "pos" = positive (fitted in log space),
# "exp" = exponent bounded in (0, 1] (fitted linearly)
ELEMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "R": (("ohm",), ("pos",)),
    "C": (("F",), ("pos",)),
    "L": (("H",), ("pos",)),
    "W": (("ohm s^-0.5",), ("pos",)),
    "Wo": (("ohm", "s"), ("pos", "pos")),
    "Ws": (("ohm", "s"), ("pos", "pos")),
    "CPE": (("F s^(a-1)", ""), ("pos", "exp")),
    "La": (("H s", ""), ("pos", "exp")),
    "G": (("ohm", "s"), ("pos", "pos")),
    "Gs": (("ohm", "s", ""), ("pos", "pos", "pos")),
    "K": (("ohm", "s"), ("pos", "pos")),
    "Zarc": (("ohm", "s", ""), ("pos", "pos", "exp")),
    "TLMQ": (("ohm", "F s^(a-1)", ""), ("pos", "pos", "exp")),
    "T": (("ohm m^2", "ohm m^2", "", "s"), ("pos", "pos", "pos", "pos")),
}


@dataclass(frozen=True)
class Element:
    name: str  # e.g. "CPE1"
    type: str  # e.g. "CPE"
    position: int

    @property
    def param_names(self) -> tuple[str, ...]:
        k = len(ELEMENTS[self.type][0])
        return (self.name,) if k == 1 else tuple(f"{self.name}_{i}" for i in range(k))


@dataclass(frozen=True)
class Series:
    items: tuple


@dataclass(frozen=True)
class Parallel:
    branches: tuple


Node = Union[Element, Series, Parallel]
_WORD = re.compile(r"([A-Za-z]+)([0-9]*)")


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.names: set[str] = set()

    def fail(self, msg: str, pos: int | None = None) -> None:
        raise CircuitSyntaxError(msg, self.s, self.i if pos is None else pos)

    def ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1

    def peek(self) -> str:
        self.ws()
        return self.s[self.i] if self.i < len(self.s) else ""

    def parse(self) -> Node:
        if not self.s.strip():
            self.fail("empty circuit string", 0)
        node = self.series()
        if self.peek():
            self.fail(f"unexpected character {self.s[self.i]!r}")
        return node

    def series(self) -> Node:
        items = [self.term()]
        while self.peek() == "-":
            self.i += 1
            items.append(self.term())
        return items[0] if len(items) == 1 else Series(tuple(items))

    def term(self) -> Node:
        c = self.peek()
        if c == "p" and self.s.startswith("p(", self.i):
            start = self.i
            self.i += 2
            branches = [self.series()]
            while self.peek() == ",":
                self.i += 1
                branches.append(self.series())
            if self.peek() != ")":
                self.fail("expected ',' or ')' in parallel block" if self.peek() else "unclosed 'p(' block")
            self.i += 1
            if len(branches) < 2:
                self.fail("parallel block p(...) needs at least two branches", start)
            return Parallel(tuple(branches))
        if not c:
            self.fail("unexpected end of circuit string; expected an element or 'p('")
        m = _WORD.match(self.s, self.i)
        if not m:
            self.fail(f"unexpected character {c!r}; expected an element (e.g. R0) or 'p('")
        typ, idx = m.group(1), m.group(2)
        if typ not in ELEMENTS:
            self.fail(f"unknown element type {typ!r} (allowed: {', '.join(ELEMENTS)})")
        if not idx:
            self.fail(f"element {typ!r} needs a numeric index (e.g. {typ}0)", m.end())
        name = typ + idx
        if name in self.names:
            self.fail(f"duplicate element name {name!r}")
        self.names.add(name)
        el = Element(name, typ, self.i)
        self.i = m.end()
        return el


def parse_circuit(circuit: str) -> Node:
    """Parse and validate ``circuit`` against the strict grammar above (raises CircuitSyntaxError)."""
    if not isinstance(circuit, str):
        raise CircuitSyntaxError(f"circuit must be a string, got {type(circuit).__name__}", str(circuit), 0)
    if len(circuit) > 2000:
        raise CircuitSyntaxError("circuit string too long (> 2000 characters)", circuit[:60] + "...", 0)
    return _Parser(circuit).parse()


def _elements(node: Node) -> list[Element]:
    if isinstance(node, Element):
        return [node]
    kids = node.items if isinstance(node, Series) else node.branches
    return [e for k in kids for e in _elements(k)]


def _element_z(typ: str, p: list, w: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Z of one element; ``p`` its parameters, each a number or a (k, 1) column (k parameter rows)."""
    jw = 1j * w
    if typ == "R":
        out = np.empty(np.broadcast_shapes(np.shape(p[0]), w.shape), dtype=complex)
        out[...] = p[0]
        return out
    if typ == "C":
        return 1.0 / (p[0] * jw)
    if typ == "L":
        return p[0] * jw
    if typ == "W":
        return p[0] * (1 - 1j) / np.sqrt(w)
    if typ == "Wo":
        x = np.sqrt(jw * p[1])
        return p[0] / (x * np.tanh(x))
    if typ == "Ws":
        x = np.sqrt(jw * p[1])
        return p[0] * np.tanh(x) / x
    if typ == "CPE":
        return 1.0 / (p[0] * jw ** p[1])
    if typ == "La":
        return (p[0] * jw) ** p[1]
    if typ == "G":
        return p[0] / np.sqrt(1 + jw * p[1])
    if typ == "Gs":
        x = np.sqrt(1 + jw * p[1])
        return p[0] / (x * np.tanh(p[2] * x))
    if typ == "K":
        return p[0] / (1 + jw * p[1])
    if typ == "Zarc":
        return p[0] / (1 + (jw * p[1]) ** p[2])
    if typ == "TLMQ":
        zs = 1.0 / (p[1] * jw ** p[2])
        return np.sqrt(p[0] * zs) / np.tanh(np.sqrt(p[0] / zs))
    if typ == "T":
        from impedance.models.circuits import elements as ie

        if np.ndim(p[0]):  # parameter rows: impedance.py's element takes one vector at a time
            return np.stack([_element_z(typ, [c[i, 0] for c in p], w, f) for i in range(len(p[0]))])

        return np.asarray(ie.T([float(v) for v in p], [float(v) for v in f]), dtype=complex)
    raise KeyError(typ)  # unreachable: types are validated by the parser


@dataclass(frozen=True)
class CompiledCircuit:
    """A validated circuit: parameter names/units/kinds and a vectorised impedance function."""

    text: str
    tree: Node
    elements: tuple
    param_names: tuple
    param_units: tuple
    param_kinds: tuple
    slices: tuple  # per element, slice into the parameter vector

    def impedance(self, params: np.ndarray, frequency_hz: np.ndarray) -> np.ndarray:
        """Complex Z(f) for parameter vector ``params`` (order = param_names); for a 2-D ``params``,
        one row of Z per row of parameters, in one pass (the finite-difference Jacobian of a fit
        evaluates its n perturbed vectors so, impedance.fit_circuit). Row i equals the 1-D result for
        row i: the same operations on the same numbers."""
        f = np.asarray(frequency_hz, dtype=float)
        w = 2 * np.pi * f
        p = np.asarray(params, dtype=float)
        # one value per parameter: numpy scalars for a vector, (k, 1) columns for k rows
        cols = [p[:, i, None] for i in range(p.shape[1])] if p.ndim == 2 else list(p)
        idx = {e.name: sl for e, sl in zip(self.elements, self.slices)}

        def ev(node: Node) -> np.ndarray:
            if isinstance(node, Element):
                return _element_z(node.type, cols[idx[node.name]], w, f)
            if isinstance(node, Series):
                z = ev(node.items[0])
                for k in node.items[1:]:
                    z = z + ev(k)
                return z
            y = 1.0 / ev(node.branches[0])
            for b in node.branches[1:]:
                y = y + 1.0 / ev(b)
            return 1.0 / y

        return ev(self.tree)


def compile_circuit(circuit: str) -> CompiledCircuit:
    """Parse ``circuit`` and prepare parameter metadata (impedance.py parameter order)."""
    tree = parse_circuit(circuit)
    els = _elements(tree)
    names, units, kinds, slices = [], [], [], []
    for e in els:
        u, k = ELEMENTS[e.type]
        slices.append(slice(len(names), len(names) + len(u)))
        names.extend(e.param_names)
        units.extend(u)
        kinds.extend(k)
    return CompiledCircuit(circuit.replace(" ", "").replace("\t", ""), tree, tuple(els), tuple(names),
                           tuple(units), tuple(kinds), tuple(slices))
