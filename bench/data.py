"""The benchmark's demo exports: one folder per size under ``bench/cache/`` (git-ignored), made once.

A size is a number of orders written ``1M``, ``10M``, ``250K`` or ``100M``. How many customers that takes depends
on the demo generator (about 2.7 orders per customer today), so the ratio is measured once per version of the
generator on 20,000 customers and cached in ``calibration.json``. An export folder is reused while its stamp
(``bench-exports.json``: customers, seed, the generator's source hash) matches; otherwise it is written again,
with the generator's progress bar on stderr.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = BENCH_DIR / "cache"
CALIBRATION_CUSTOMERS = 20_000
SEED = 7
STAMP_NAME = "bench-exports.json"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$")


def parse_size(text: str) -> int:
    """Orders in a size label. Example: ``parse_size("10M") == 10_000_000``."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"size {text!r} is not a number of orders like 1M, 10M or 250K")
    number, unit = float(match.group(1)), match.group(2).upper()
    orders = int(number * {"": 1, "K": 1_000, "M": 1_000_000}[unit])
    if orders < 1_000:
        raise ValueError(f"size {text!r} is too small: use at least 1K orders")
    return orders


def customers_for(orders: int, cache_dir: Path = CACHE_DIR) -> int:
    """Customers to ask the demo generator for, to get about ``orders`` orders."""
    return max(1, round(orders / orders_per_customer(cache_dir)))


def orders_per_customer(cache_dir: Path = CACHE_DIR) -> float:
    """Orders per customer the current demo generator draws (measured once per generator version)."""
    from dashboard import demo

    path = cache_dir / "calibration.json"
    version = generator_hash()
    if path.is_file():
        calibration = json.loads(path.read_text(encoding="utf-8"))
        if calibration.get("generator") == version:
            return calibration["orders_per_customer"]
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as folder:
        counts = demo.generate(folder, customers=CALIBRATION_CUSTOMERS, seed=SEED)
    ratio = counts["orders"] / CALIBRATION_CUSTOMERS
    path.write_text(json.dumps({"generator": version, "orders_per_customer": ratio}) + "\n", encoding="utf-8")
    return ratio


def generator_hash() -> str:
    """A hash of the demo generator's source: a changed generator means new exports."""
    from dashboard import demo

    return hashlib.sha256(inspect.getsource(demo).encode()).hexdigest()[:16]


def ensure_exports(label: str, cache_dir: Path = CACHE_DIR) -> tuple[Path, dict]:
    """The export folder for a size (generated when missing or stale) and its stamp."""
    from dashboard import demo

    customers = customers_for(parse_size(label), cache_dir)
    folder = cache_dir / f"exports-{label}"
    stamp_path = folder / STAMP_NAME
    wanted = {"customers": customers, "seed": SEED, "generator": generator_hash()}
    if stamp_path.is_file():
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
        if all(stamp.get(key) == value for key, value in wanted.items()):
            return folder, stamp
    print(f"bench: writing demo exports for {label} ({customers:,} customers) to {folder}", file=sys.stderr)
    started = time.perf_counter()
    stamp_path.unlink(missing_ok=True)
    counts = demo.generate(folder, customers=customers, seed=SEED, progress=True)
    stamp = {**wanted, "counts": counts, "generate_seconds": round(time.perf_counter() - started, 1)}
    stamp_path.write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    return folder, stamp
