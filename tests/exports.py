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


CDNOW_SAMPLE = Path(__file__).resolve().parent / "data" / "cdnow" / "CDNOW_sample.txt"


def write_cdnow_orders(data_dir: Path) -> Path:
    """A real orders-only export: the CDNOW sample's 6,919 order lines (1997-1998) as ``orders.parquet`` with only
    the required columns (order_id, customer_id, ordered_at, revenue), as a shop's bare order log would be."""
    lines = pd.read_csv(CDNOW_SAMPLE, sep=r"\s+", header=None, dtype={0: str, 1: str, 2: str},
                        names=["master_customer_id", "customer_id", "ordered_on", "cds", "amount"])
    orders = pd.DataFrame({
        "order_id": [f"cdnow-{number:05d}" for number in range(1, len(lines) + 1)],
        "customer_id": lines["customer_id"].str.lstrip("0"),
        "ordered_at": pd.to_datetime(lines["ordered_on"], format="%Y%m%d") + pd.Timedelta(hours=12),
        "revenue": lines["amount"].astype(float),
    })
    return write_table(data_dir, "orders", orders)


def server_state(data_dir: Path) -> Path:
    """The state folder of the app server an AppTest plays a session of: one per folder holding the exports, so the
    tests of a module on the same exports are sessions of one server, which opens one database and builds it once
    (as production does), instead of a new server and a full model build per test. Tests that read or write the
    state folder itself (saved views, campaign records, snapshots) keep their own."""
    return Path(data_dir).parent / "state"
