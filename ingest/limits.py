"""Limits applied while reading lab files, so a hostile file is refused early with one clear line.

Each limit is far above what a real lab file holds and far below what would exhaust memory or end in a
store error (a document above 16 MB, a RecursionError): a text line of 1 MiB, a string value of
1 MiB, nesting 32 levels deep, a YAML expanding (through aliases) to a million values, no control
characters in text (a binary or corrupted file). See docs/import-format.md, "Limits".
"""

from __future__ import annotations

import re
from typing import Any

#: longest line of a text file (CSV row, YAML/JSON line, instrument data line), in characters
MAX_LINE_CHARS = 1024 * 1024
#: longest string value (a note, a cell)
MAX_STRING_CHARS = 1024 * 1024
#: deepest nesting of mappings and lists in a record
MAX_DEPTH = 32
#: most values a YAML document may expand to through its aliases
MAX_YAML_NODES = 1_000_000

#: control characters that never occur in a text lab file (tab, newlines and carriage returns do)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_message(char: str) -> str:
    return f"control character 0x{ord(char):02x} in a text file (binary or corrupted data)"


def text_problem(text: str) -> tuple[int, str] | None:
    """(1-based line, message) of the first control character or over-long line of ``text``."""
    m = CONTROL.search(text)
    if m:
        return text.count("\n", 0, m.start()) + 1, control_message(m.group())
    start = 0
    lineno = 1
    while True:
        end = text.find("\n", start)
        stop = len(text) if end < 0 else end
        if stop - start > MAX_LINE_CHARS:
            return lineno, f"line of {stop - start} characters, above the limit of {MAX_LINE_CHARS}"
        if end < 0:
            return None
        start, lineno = end + 1, lineno + 1


def line_problem(line: str) -> str | None:
    """Message for one line read from a file (control character or too long), or None."""
    if len(line) > MAX_LINE_CHARS:
        return f"line longer than the limit of {MAX_LINE_CHARS} characters"
    m = CONTROL.search(line)
    return control_message(m.group()) if m else None


#: a UTF-16 surrogate code point: YAML and JSON escapes (\\ud800) can make a Python string hold one
#: alone, which no UTF-8 encoder (the store, hashing, exports) accepts
_SURROGATE = re.compile("[\ud800-\udfff]")


def value_problem(value: Any, path: str = "", depth: int = 0) -> tuple[str, str] | None:
    """(field path, message) of the first value nested too deeply, a string too long or not valid
    Unicode, or None."""
    if depth > MAX_DEPTH:
        return path, f"nested more than {MAX_DEPTH} levels deep"
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            return path, f"a text of {len(value)} characters, above the limit of {MAX_STRING_CHARS}"
        if _SURROGATE.search(value):
            return path, "a text that is not valid Unicode (a lone surrogate such as \\ud800, from an escape)"
        return None
    if isinstance(value, dict):
        bad_key = next((k for k in value if isinstance(k, str) and _SURROGATE.search(k)), None)
        if bad_key is not None:
            return path, "a key that is not valid Unicode (a lone surrogate such as \\ud800, from an escape)"
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for sub, v in items:
        found = value_problem(v, sub, depth + 1)
        if found:
            return found
    return None


def yaml_expanded_size(root: Any) -> int:
    """How many values a composed YAML node graph becomes once its aliases are expanded (memoised,
    so a billion-laughs graph is measured without being built); capped just above MAX_YAML_NODES."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()  # nodes whose children are being measured: meeting one again is a cycle
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if not done and children:
            if id(node) in open_:
                return MAX_YAML_NODES + 1  # a recursive alias expands without end
            open_.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        open_.discard(id(node))
        sizes[id(node)] = min(1 + sum(sizes.get(id(c), 1) for c in children), MAX_YAML_NODES + 1)
    return sizes[id(root)]


def _children(node: Any) -> list:
    value = getattr(node, "value", None)
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        out.extend(item if isinstance(item, tuple) else (item,))
    return out
