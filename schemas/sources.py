"""Source identity: a notebook reference names the source; a page inside it is a location.

``# notebook: LAB-NB-12 p. 34`` means the source LAB-NB-12 at page 34, like ``doi`` + ``table``
for a paper. Sample ids derive from the source identity, so samples written on page 34 are found
again from a file written on page 35 of the same notebook.
"""

from __future__ import annotations

import re

#: "<notebook id>[,;] p. 34" / "page 34" / "pp. 34-35" / "pg 7a": the trailing page reference.
_PAGE_SUFFIX = re.compile(
    r"^(?P<notebook>.+?)(?:\s*[,;]\s*|\s+)(?:p|pp|pg|page|pages|S|Seite)\.?\s*"
    r"(?P<page>\d+[a-z]?(?:\s*[-\u2013]\s*\d+[a-z]?)?)\s*$",
    re.IGNORECASE,
)


def split_notebook(reference: str) -> tuple[str, str | None]:
    """(notebook id, page or None) of a notebook reference such as ``"LAB-NB-12 p. 34"``."""
    text = str(reference).strip()
    m = _PAGE_SUFFIX.match(text)
    if not m:
        return text, None
    page = re.sub(r"\s*[-\u2013]\s*", "-", m["page"])
    return m["notebook"].strip(), page


class SourceConflict(ValueError):
    """The page in a notebook reference contradicts an explicit ``page`` of the same source."""


def separate_page(source: dict) -> dict:
    """A copy of ``source`` with a page written inside ``notebook`` moved to ``page``.

    An explicit ``page`` equal to the embedded one is fine; a different one is a conflict.
    """
    if not source.get("notebook"):
        return dict(source)
    notebook, page = split_notebook(source["notebook"])
    out = dict(source, notebook=notebook)
    if page is not None:
        given = out.get("page")
        if given is not None and str(given).strip() != page:
            raise SourceConflict(f"notebook reference {source['notebook']!r} names page {page}, "
                                 f"but page is given as {given!r}")
        out["page"] = page
    return out
