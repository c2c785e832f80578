"""Ionbase: a materials database and data service for solid-state battery research."""

from importlib import metadata as _metadata

#: the installed distribution's version (pyproject.toml is the one place it is written)
__version__ = _metadata.version("ionbase")
