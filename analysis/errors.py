"""Exceptions raised by :mod:`analysis` for invalid input or failed fits.

Every exception is a :class:`ValueError` subclass so callers that only know
"bad input" can catch ``ValueError``.
"""
from __future__ import annotations


class AnalysisError(ValueError):
    """Base class for all analysis errors."""


class InvalidInputError(AnalysisError):
    """Input arrays/numbers are malformed (wrong shape, NaN, non-positive, ...)."""


class InsufficientDataError(AnalysisError):
    """Too few (distinct) points for the requested analysis."""


class NegativeResultError(AnalysisError):
    """A physically positive quantity came out negative (e.g. R after layer subtraction)."""


class FitError(AnalysisError):
    """A non-linear fit failed to converge or produced non-finite parameters."""


class CircuitSyntaxError(AnalysisError):
    """An equivalent-circuit string does not match the accepted grammar.

    ``position`` is the 0-based character offset of the problem in ``circuit``.
    """

    def __init__(self, message: str, circuit: str, position: int) -> None:
        self.circuit = circuit
        self.position = position
        pointer = " " * position + "^"
        super().__init__(f"{message} at position {position} in circuit string\n  {circuit}\n  {pointer}")
