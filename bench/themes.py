"""Theme extraction (dashboard/themes.py) on its own: time and peak memory per size of the demo, and on texts
that are all different.

    python -m bench.themes                                  # 50,000 and 3,000,000 customers, then 100,000 distinct texts
    python -m bench.themes --customers 50000 --distinct 0   # quick
    python -m bench.themes --data bench/cache/exports-10M   # the exports of the main benchmark instead

For each size, a fresh process opens the demo exports (``bench/cache/themes-<customers>/``, written once),
builds the model for the latest as-of date (not timed), then times the graph's ``themes`` node (``themes.build_themes``): reading the distinct
masked texts (``theme_fit_texts.sql``), the fit (languages, VADER sentiment, TF-IDF + NMF) and storing the two
tables, with the process's CPU time and peak memory (VmHWM, reset before the step). The demo writes its comments
from templates, so its distinct texts are few whatever its size; the ``--distinct`` run fits that many texts that
are all different (template phrases with a random product and a number), the case of a real export where
customers write their own words: the fit's cost grows with the distinct texts, not with the rows.
Writes ``bench/results-themes.md`` (``--out``); the load average is recorded beside every timing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_PATH = BENCH_DIR / "results-themes.md"


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def child_demo(customers: int, data_dir: Path | None = None) -> dict:
    """In a fresh process: the themes of the demo with this many customers (or of the exports in data_dir)."""
    import time

    from bench.measure import timed
    from dashboard import demo, graph, queries
    from dashboard.model import Database
    from dashboard.settings import load_settings

    given = data_dir is not None
    data_dir = data_dir or BENCH_DIR / "cache" / f"themes-{customers}"
    stamp = data_dir / "stamp.json"
    source = Path(demo.__file__).read_bytes()
    import hashlib

    version = hashlib.sha256(source).hexdigest()[:16]
    if not given and (not stamp.is_file() or json.loads(stamp.read_text())["version"] != version):
        started = time.perf_counter()
        demo.generate(data_dir, customers=customers, seed=7, progress=True)
        stamp.write_text(json.dumps({"version": version, "seconds": time.perf_counter() - started}))
    settings = load_settings(environ={}, data_dir=data_dir, state_dir=BENCH_DIR / "cache" / "state-themes",
                             model_snapshots=False)
    database = Database.open(settings)
    cursor = database.cursor(database.default_as_of())
    with timed() as reading:
        texts = queries.run_query(cursor, "theme_fit_texts")
    load_before = _load()
    with timed() as whole:
        graph.ensure_for(cursor, ["themes"])
    found = cursor.execute(
        "select count(*) filter (where theme_id > 0), sum(text_rows) from themes").fetchone()
    if given:
        customers = cursor.execute("select count(*) from customer_summary").fetchone()[0]
    return {"customers": customers, "distinct_texts": len(texts), "text_rows": int(texts["text_rows"].sum()),
            "themes": found[0], "read_seconds": reading.seconds, "seconds": whole.seconds, "cpu": whole.cpu,
            "peak_mb": whole.peak_mb, "load_before": load_before, "load_after": _load()}


def child_distinct(count: int) -> dict:
    """In a fresh process: ``themes.fit`` on ``count`` texts that are all different."""
    import numpy as np
    import pandas as pd

    from bench.measure import timed
    from dashboard import demo, themes

    rng = np.random.default_rng(1)
    templates = [text for group in demo.COMMENT_TEMPLATES for text in group] + list(demo.RISING_THEME_TEMPLATES)
    items = [item for group in demo.ITEMS for item in group]
    picks = rng.integers(len(templates), size=count)
    chosen = rng.integers(len(items), size=count)
    texts = pd.DataFrame({
        "text": [f"{templates[p].replace('{item}', items[c])} Order {n}." for n, (p, c) in
                 enumerate(zip(picks, chosen))],
        "text_rows": np.ones(count, dtype=np.int64),
    })
    load_before = _load()
    with timed() as whole:
        result = themes.fit(texts)
    return {"distinct_texts": count, "themes": int((result.themes["theme_id"] > 0).sum()), "seconds": whole.seconds,
            "cpu": whole.cpu, "peak_mb": whole.peak_mb, "load_before": load_before, "load_after": _load()}


def run_child(kind: str, size: int, data_dir: Path | None = None) -> dict:
    extra = ["--data", str(data_dir)] if data_dir else []
    process = subprocess.run([sys.executable, "-m", "bench.themes", "--child", kind, str(size), *extra], cwd=ROOT,
                             capture_output=True, text=True, check=False)
    sys.stderr.write(process.stderr[-2000:])
    if process.returncode != 0:
        return {"failed": process.stderr.strip().splitlines()[-1] if process.stderr.strip() else "no output"}
    return json.loads(process.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", default="50000,3000000", help="demo sizes in customers, comma-separated")
    parser.add_argument("--distinct", type=int, default=100_000, help="all-different texts to fit (0: skip)")
    parser.add_argument("--data", type=Path, help="time the themes of these exports instead of generating demos")
    parser.add_argument("--out", type=Path, default=RESULTS_PATH)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, size = args.child[0], int(args.child[1])
        print(json.dumps(child_demo(size, args.data) if kind == "demo" else child_distinct(size)))
        return 0

    rows = []
    if args.data:
        sys.stderr.write(f"themes of the exports in {args.data}...\n")
        rows.append(("demo", run_child("demo", 0, args.data)))
    for customers in [int(value) for value in args.customers.split(",") if value and not args.data]:
        sys.stderr.write(f"themes of the demo with {customers:,} customers...\n")
        rows.append(("demo", run_child("demo", customers)))
    if args.distinct:
        sys.stderr.write(f"themes of {args.distinct:,} distinct texts...\n")
        rows.append(("distinct", run_child("distinct", args.distinct)))

    lines = [
        "# Theme extraction",
        "",
        f"`python -m bench.themes` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores "
        "(shared: the load average, 1 / 5 / 15 min, is given before and after each step). Each row is one run in a "
        "fresh process; wall and CPU seconds and peak memory (VmHWM) of the `themes` node (read the distinct "
        "masked texts, fit, store) or of `themes.fit` alone.",
        "",
        "| input | distinct texts | text rows | themes | wall | CPU | peak memory | load before | load after |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for kind, row in rows:
        if "failed" in row:
            lines.append(f"| {kind} | failed: {row['failed']} | | | | | | | |")
            continue
        what = f"demo, {row['customers']:,} customers" if kind == "demo" else "all-different texts (`themes.fit`)"
        lines.append(
            f"| {what} | {row['distinct_texts']:,} | {row.get('text_rows', row['distinct_texts']):,} | {row['themes']} "
            f"| {row['seconds']:.1f} s | {row['cpu']:.1f} s | {row['peak_mb']:,.0f} MB | {row['load_before']} "
            f"| {row['load_after']} |")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
