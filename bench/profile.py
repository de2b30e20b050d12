"""``python -m bench.profile --size 1M [--pages repeat,care] [--runs 3] [--cached] [--served]``: where a page rerun spends its time.

A quick look, not the benchmark: one process builds the model on the cached bench exports of that size, then
prints the model build steps and every page query's median seconds after each kind of filter change (the same
filter changes and page queries as ``make bench``). Every query runs on every rerun, unless ``--cached``: then,
as ``make bench`` and the app do, each page is opened once (its first view builds its aggregates) and a rerun
runs only the queries whose parameters are new to that page. With ``--served`` it then runs the page scripts
themselves as the app serves them (``bench/served.py``) and prints the server CPU per rerun, figures and their
serialisation included. Use it while working on a query or a page; ``make bench`` is the measurement of record.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.child import _first_views, _open_and_build, _page_reruns
from bench.data import ensure_exports
from bench.pages import NEEDS_SCORES, PAGE_QUERIES

SERVED_RESULTS = Path(__file__).resolve().parent / "served-results.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1M", help="orders in the export, e.g. 1M or 10M (default 1M)")
    parser.add_argument("--pages", default=",".join(PAGE_QUERIES), help="comma-separated pages (default all)")
    parser.add_argument("--runs", type=int, default=3, help="runs per page and filter change (default 3)")
    parser.add_argument("--cached", action="store_true",
                        help="first views, then reruns through the app's query cache (as make bench measures)")
    parser.add_argument("--served", action="store_true",
                        help="also run the page scripts as the server does and print CPU per rerun (bench/served.py)")
    parser.add_argument("--served-only", action="store_true", help="only the page scripts (--served without the "
                        "query rows: no model built outside the app)")
    parser.add_argument("--out", type=Path, default=SERVED_RESULTS,
                        help="with --served(-only): the results file its section goes to (default "
                             "bench/served-results.md; - for none)")
    args = parser.parse_args(argv)

    data_dir, _ = ensure_exports(args.size)
    pages = [page.strip() for page in args.pages.split(",") if page.strip()]
    if args.served_only:
        return _served(data_dir, pages, args, argv)
    database, as_of, cursor, build = _open_and_build(str(data_dir))
    print(f"cold start {build['seconds']:.2f} s as of {as_of}:")
    for part, seconds in build["parts"].items():
        print(f"  {part:<40} {seconds:8.3f} s")
    for step, seconds in build["model_steps"].items():
        print(f"    {step:<38} {seconds:8.3f} s")
    if any(page in NEEDS_SCORES for page in pages):
        from dashboard import churn

        churn.model_info(database.cursor(as_of))
    caches = {page: {} for page in pages} if args.cached else None
    if caches is not None:
        for page, first in _first_views(cursor, pages, as_of, caches).items():
            print(f"{page}, first view: {first['seconds'][0] * 1000:.0f} ms")
    with tempfile.TemporaryDirectory() as out:
        results = _page_reruns(cursor, pages, as_of, args.runs, 1e9, Path(out), caches)
    for page, kinds in results.items():
        for kind, result in kinds.items():
            total = sorted(result["seconds"])[len(result["seconds"]) // 2]
            print(f"{page}, {kind} change: {total * 1000:.0f} ms")
            for name, seconds in result["queries"].items():
                print(f"    {name:<36} {seconds * 1000:8.1f} ms")
    if args.served:
        database.close()  # the app opens its own: one model in memory at a time
        return _served(data_dir, pages, args, argv)
    return 0


def _served(data_dir: Path, pages: list[str], args, argv) -> int:
    """The page scripts as the app serves them (bench/served.py): server CPU per rerun, figures included; the
    table also goes to ``args.out`` as the section of this size (bench/served-results.md)."""
    from datetime import datetime, timezone

    from bench.load import with_section
    from bench.measure import load_average
    from bench.results import code_version
    from bench.served import print_served, served_reruns, served_section

    load, version = load_average(), code_version()
    results = served_reruns(data_dir, pages, args.runs)
    print_served(results)
    if str(args.out) != "-":
        shown = " ".join(sys.argv[1:] if argv is None else argv)
        section = served_section(
            results, f"{args.size}: {data_dir.name}", f"python -m bench.profile {shown}".strip(),
            f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
            version["commit"] + (" with uncommitted changes" if version["changed"] else ""),
            "unknown" if load is None else " / ".join(f"{value:.1f}" for value in load))
        text = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if not text.strip():
            text = ("# Server CPU per rerun, the page scripts as served\n\n"
                    "Written by `python -m bench.profile --size SIZE --served-only` (bench/README.md, \"Server CPU per "
                    "rerun\"). One section per size, replaced by the next run of that size.\n\n")
        args.out.write_text(with_section(text, f"## {args.size}: {data_dir.name}", section), encoding="utf-8")
    return 1 if any("failed" in kinds for kinds in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
