"""File references inside records (a measurement's ``file:``, a structure's ``cif:``), confined.

A record may only name a regular file inside the folder of the file that holds the record (the
manifest), or below it: no absolute path, no ``..`` out of it, no symlink pointing elsewhere, no
device, FIFO or directory, and nothing above ``IONBASE_MAX_FILE_BYTES``. The checks run on the
path's metadata only, before anything opens the file, so ``/dev/zero`` or a FIFO never blocks an
import. An error for a reference that leaves the folder says only that: it does not tell whether
the server path exists or what it is.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from ionbase.schemas.build_common import RecordError

#: the one answer for any reference outside the folder (existing or not, whatever it is)
OUTSIDE = "{ref!r} is not a file inside the folder of the record file; name a file in that folder or below it"


def confined_reference(folder: Path, ref: object, fieldname: str, max_bytes: int) -> Path:
    """The path ``ref`` names inside ``folder``, checked; RecordError naming ``fieldname`` otherwise."""
    text = str(ref)
    if not text.strip() or "\x00" in text or len(text) > 1024:
        raise RecordError("the file reference is empty or not a usable file name", fieldname)
    shown = text[:200]
    if PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute() or PureWindowsPath(text).drive:
        raise RecordError(OUTSIDE.format(ref=shown), fieldname)
    root = os.path.realpath(folder)
    target = os.path.realpath(os.path.join(root, text))
    if os.path.commonpath([root, target]) != root:
        raise RecordError(OUTSIDE.format(ref=shown), fieldname)
    try:
        st = os.stat(target)
    except OSError:
        raise RecordError(f"file {shown!r} not found next to the record file", fieldname) from None
    if not stat.S_ISREG(st.st_mode):
        raise RecordError(f"{shown!r} is not a regular file (a folder, device or pipe cannot be imported)", fieldname)
    if st.st_size > max_bytes:
        raise RecordError(f"{shown!r} is {st.st_size} bytes, above the limit of {max_bytes} (IONBASE_MAX_FILE_BYTES)",
                          fieldname)
    return Path(folder) / text  # the name as written (the checks above ran on the real path)


def confined_or_none(folder: Path, ref: object, max_bytes: int) -> Path | None:
    """:func:`confined_reference` for callers that only collect paths (the error is reported by the build)."""
    try:
        return confined_reference(folder, ref, "file", max_bytes)
    except RecordError:
        return None


def check_regular_file(path: Path, max_bytes: int) -> str | None:
    """Why a file named on the command line or uploaded cannot be read (not regular, too large), or None."""
    try:
        st = os.stat(path)
    except OSError:
        return "no such file"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file (a folder, device or pipe cannot be imported)"
    if st.st_size > max_bytes:
        return f"file is {st.st_size} bytes, above the limit of {max_bytes} (IONBASE_MAX_FILE_BYTES)"
    return None
