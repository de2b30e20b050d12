"""Helpers that write tiny real Parquet exports for tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_table(data_dir: Path, table: str, rows: list[dict] | pd.DataFrame, file_name: str | None = None) -> Path:
    """Write rows as ``<table>.parquet`` (or ``<table>/<file_name>``) under data_dir and return the path."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    if file_name:
        path = data_dir / table / file_name
    else:
        path = data_dir / f"{table}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def utc(text: str) -> pd.Timestamp:
    """A naive timestamp (taken as UTC by the contract)."""
    return pd.Timestamp(text)
