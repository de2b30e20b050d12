"""Writing files the dashboard produces (reports, CSV exports): atomically, never into the exports."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def csv_writer(frame):
    """A writer for ``write_atomically``: the DataFrame (or ``pyarrow.Table``) as UTF-8 CSV (header, no index)
    written by DuckDB.

    pandas' ``to_csv`` takes about 10 s per million score rows; DuckDB's parallel writer well under one. Text
    is quoted only when it needs to be, booleans are ``true``/``false``, missing values empty fields. A private
    in-memory connection writes only the temporary file ``write_atomically`` names.
    """
    def write(path: str) -> None:
        import duckdb

        connection = duckdb.connect(":memory:")
        try:
            connection.execute("set enable_progress_bar = false")
            relation = connection.from_df(frame) if hasattr(frame, "iloc") else connection.from_arrow(frame)
            relation.write_csv(path, header=True)
        finally:
            connection.close()

    return write


class OutputError(ValueError):
    """An output path the dashboard refuses to write (the message says why)."""


def write_atomically(path: str | Path, content, data_dir: Path | None = None) -> Path | None:
    """Write content (text, bytes, or a writer called with the temporary file's path) to path through a
    temporary file and a rename; ``-`` writes to stdout.

    Refuses any path inside data_dir: the source exports are read-only to us.
    """
    if str(path) == "-":
        if callable(content):
            with tempfile.TemporaryDirectory() as folder:
                content(str(Path(folder) / "out"))
                content = (Path(folder) / "out").read_bytes()
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
    mode = "w" if isinstance(content, str) else "wb"
    handle = tempfile.NamedTemporaryFile(mode, dir=target.parent, prefix=f".{target.name}.", delete=False,
                                         **({"encoding": "utf-8"} if isinstance(content, str) else {}))
    try:
        with handle:
            if not callable(content):
                handle.write(content)
        if callable(content):
            content(handle.name)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return target
