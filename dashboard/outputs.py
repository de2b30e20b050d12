"""Writing files the dashboard produces (reports, CSV exports): atomically, never into the exports."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


class OutputError(ValueError):
    """An output path the dashboard refuses to write (the message says why)."""


def write_atomically(path: str | Path, content: str | bytes, data_dir: Path | None = None) -> Path | None:
    """Write content to path through a temporary file and a rename; ``-`` writes to stdout.

    Refuses any path inside data_dir: the source exports are read-only to us.
    """
    if str(path) == "-":
        if isinstance(content, bytes):
            sys.stdout.buffer.write(content)
        else:
            sys.stdout.write(content)
        sys.stdout.flush()
        return None
    target = Path(path).expanduser().resolve()
    if data_dir is not None:
        exports = Path(data_dir).expanduser().resolve()
        if target == exports or exports in target.parents:
            raise OutputError(f"refusing to write {target}: it is inside the data folder {exports}")
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(content, bytes) else "w"
    handle = tempfile.NamedTemporaryFile(mode, dir=target.parent, prefix=f".{target.name}.", delete=False,
                                         **({} if isinstance(content, bytes) else {"encoding": "utf-8"}))
    try:
        with handle:
            handle.write(content)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return target
