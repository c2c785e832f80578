"""Ionbase: a materials database and data service for solid-state battery research."""

__version__ = "0.1.0"
