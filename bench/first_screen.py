"""First start on new exports: how long until the first page shows real numbers.

    python -m bench.first_screen                                  # the 50,000-customer demo
    python -m bench.first_screen --data bench/cache/exports-10M   # any exports folder
    python -m bench.first_screen --data DIR --state STATE         # a start on exports `prepare` put in STATE

Starts `streamlit run` over the exports with an empty state folder (no model snapshot: the first start after a
new export), waits for the server to answer its health check, then opens the default page (the Weekly review)
as one browser-like session over Streamlit's own websocket protocol (`bench/load.py`'s driver) and records, from
the moment the page is asked for:

- `first KPI card`: the first `st.metric` of the main area whose value is a number (not "Not exported" or a
  dash): the first real number on screen;
- `all KPI cards`: every card of the top row (`dashboard.metrics.WEEKLY_KPIS`) has arrived;
- `lifecycle states`: the lifecycle row (churn model fitted, customers scored) has arrived;
- `page done`: the script's run ended (`script_finished`).

While it waits it records every spinner and caption that shows progress (what the page says while it works), so
a page that is blank with no message shows up as "no progress message". Then (unless `--first-page-only`) it
opens every other page once, in the navigation's order, and records each one's time to its end (the rest of the
app filling in behind, with the background build running). Results go to bench/first-screen-results.md (one
section per exports folder and kind of start).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.load import CACHE, ROOT, ProtocolError, StreamlitSession, ensure_demo, ensure_snapshot, exports_stamp, \
    streamlit_server, with_section

RESULTS = ROOT / "bench" / "first-screen-results.md"
NOT_A_NUMBER = ("Not exported", "—", "-", "", "n/a")


async def _timed_run(session: StreamlitSession, page_hash: str = "", page_name: str = "") -> dict:
    """One run of a page, with the time (from the request) each thing of interest arrived."""
    from dashboard.metrics import WEEKLY_KPIS
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from dashboard.lifecycle import STATE_LABELS

    kpi_labels = {label for _, label, _, _ in WEEKLY_KPIS}
    lifecycle_labels = set(STATE_LABELS.values())
    message = BackMsg()
    message.rerun_script.page_script_hash = page_hash
    message.rerun_script.page_name = page_name
    started = time.perf_counter()
    await session.socket.send(message.SerializeToString())
    seen: dict = {"first_number": None, "all_kpis": None, "lifecycle": None, "done": None, "status": "",
                  "progress": [], "metrics": {}, "pages": {}, "exceptions": []}
    kpis_seen = set()
    deadline = time.monotonic() + session.timeout
    while True:
        try:
            raw = await asyncio.wait_for(session.socket.recv(), timeout=max(deadline - time.monotonic(), 0.001))
        except (TimeoutError, asyncio.TimeoutError):
            raise ProtocolError(f"no script_finished within {session.timeout:.0f} s") from None
        now = time.perf_counter() - started
        forward = ForwardMsg()
        forward.ParseFromString(raw)
        kind = forward.WhichOneof("type")
        if kind == "navigation":
            seen["pages"] = {page.page_name: page.page_script_hash for page in forward.navigation.app_pages}
        elif kind == "delta" and forward.delta.WhichOneof("type") == "new_transient":  # spinners (Streamlit 1.67)
            for element in forward.delta.new_transient.elements:
                if element.WhichOneof("type") == "spinner" and element.spinner.text:
                    seen["progress"].append((round(now, 3), element.spinner.text[:160]))
        elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
            element = forward.delta.new_element
            element_kind = element.WhichOneof("type")
            main_area = list(forward.metadata.delta_path[:1]) == [0]
            if element_kind == "metric" and main_area:
                label, body = element.metric.label, element.metric.body
                seen["metrics"].setdefault(label, (round(now, 3), body))
                if seen["first_number"] is None and body.strip() not in NOT_A_NUMBER:
                    seen["first_number"] = now
                if label in kpi_labels:
                    kpis_seen.add(label)
                    if kpis_seen == kpi_labels and seen["all_kpis"] is None:
                        seen["all_kpis"] = now
                if label in lifecycle_labels and seen["lifecycle"] is None:
                    seen["lifecycle"] = now
            elif element_kind in ("markdown", "alert") and main_area:
                body = element.markdown.body if element_kind == "markdown" else element.alert.body
                if "…" in body or "hourglass" in body:
                    seen["progress"].append((round(now, 3), body[:160]))
            elif element_kind == "exception":
                seen["exceptions"].append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "script_finished":
            seen["done"] = now
            seen["status"] = ForwardMsg.ScriptFinishedStatus.Name(forward.script_finished)
            return seen


async def measure(url: str, timeout: float, others_too: bool = True) -> dict:
    """The default page on a fresh session, then (``others_too``) every other page once, in the same session."""
    session = StreamlitSession(url, timeout=timeout)
    await session.connect()
    try:
        first = await _timed_run(session)
        others = {}
        for title, page_hash in first["pages"].items():
            if title == "Weekly review" or not others_too:
                continue
            run = await _timed_run(session, page_hash=page_hash)
            others[title] = run
        return {"first": first, "others": others}
    finally:
        await session.close()


def _first_of_each(progress: list) -> list:
    """Each message once, at the time it first appeared, shortened to its first sentence."""
    seen, kept = set(), []
    for at, text in progress:
        short = text.split(":", 1)[0] if text.startswith("Computing") else text
        short = short.replace(":material/hourglass_top: ", "")
        for long, verb in (("Building the tables", "Building "), ("Reading the exports", "Reading ")):
            if short.startswith(long) and "): " in short:  # "…: table 2 of 3, **valid orders**…"
                short = verb + short.split("): ", 1)[1].split("…", 1)[0].replace("**", "") + "…"
        if short not in seen:
            seen.add(short)
            kept.append((at, short[:110] + ("…" if len(short) > 110 else "")))
    return kept


def _seconds(value) -> str:
    return "never" if value is None else f"{value:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.first_screen", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="an exports folder (default: the 50,000-customer load demo)")
    parser.add_argument("--customers", type=int, default=50_000, help="demo size (without --data)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a page run may take")
    parser.add_argument("--state", type=Path,
                        help="a start on prepared exports: `python -m dashboard prepare` makes sure the exports' "
                             "snapshot for this code is in this state folder (reused when up to date), then the server "
                             "starts on it; default: a new, empty state folder (the first start on new exports)")
    parser.add_argument("--first-page-only", action="store_true", help="do not open the other pages after it")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file (one section per exports folder)")
    args = parser.parse_args(argv)
    data_dir = (args.data.expanduser().resolve() if args.data else ensure_demo(args.customers))
    prepared = args.state is not None
    state_dir = (args.state.expanduser().resolve() if prepared
                 else Path(tempfile.mkdtemp(prefix="first-screen-state-", dir=CACHE)))
    log_path = CACHE / f"first-screen-{data_dir.name}.log"
    preparation = ensure_snapshot(data_dir, state_dir) if prepared else None
    try:
        spawned = time.perf_counter()
        with streamlit_server(data_dir, state_dir, log_path, start_timeout=120) as (url, server):
            ready = time.perf_counter() - spawned
            print(f"server up in {ready:.1f} s; opening the first page …", file=sys.stderr)
            results = asyncio.run(measure(url, args.timeout, not args.first_page_only))
    finally:
        if not prepared:
            shutil.rmtree(state_dir, ignore_errors=True)
    first, others = results["first"], results["others"]
    stamp = exports_stamp(data_dir)
    counts = stamp.get("counts", {})
    size = (f"{counts.get('orders', 0):,} orders, {counts.get('customers', 0):,} customers" if counts
            else data_dir.name)
    command = ("python -m bench.first_screen" + (f" --data {args.data}" if args.data else "")
               + (f" --state {args.state}" if prepared else "")
               + (" --first-page-only" if args.first_page_only else ""))
    if prepared:
        how = ("already prepared" if preparation["reused"]
               else f"`prepare` ran first, {preparation['seconds']:.0f} s")
        state_text = f"the exports' snapshot for this code in the state folder given ({how})"
    else:
        state_text = ("an empty state folder (no snapshot: the first start on new exports), the background build on "
                      "(the default)")
    lines = [
        f"## {'Start on prepared exports' if prepared else 'First start on new exports'}: {data_dir.name}",
        "",
        f"`{command}` on {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {size}, "
        f"{state_text}. Server up (health check answered) {ready:.1f} s after it was started. Times from the "
        "moment the page is asked for:",
        "",
        "| Weekly review (the default page) | time |",
        "|---|---:|",
        f"| first KPI card with a number | {_seconds(first['first_number'])} |",
        f"| every KPI card of the top row | {_seconds(first['all_kpis'])} |",
        f"| lifecycle states (churn model fitted) | {_seconds(first['lifecycle'])} |",
        f"| page done | {_seconds(first['done'])} ({first['status']}) |",
        "",
        "Progress shown while it worked (spinners and captions, from when each appeared): "
        + ("; ".join(f"{at:.1f} s “{text}”" for at, text in _first_of_each(first["progress"]))
           or "no progress message"),
        "",
    ]
    if others:
        lines += ["", "Then each other page once, in the same session"
                  + (": " if prepared else " (the background build running): ")
                  + "; ".join(f"{title} {_seconds(run['done'])}" for title, run in others.items()) + "."]
    problems = first["exceptions"] + [f"{title}: {item}" for title, run in others.items() for item in run["exceptions"]]
    if problems:
        lines += ["", "Errors shown:", ""] + [f"- {item}" for item in problems]
    text = "\n".join(lines) + "\n"
    print(text)
    previous = args.out.read_text(encoding="utf-8") if args.out.is_file() else "# First start on new exports\n\n"
    args.out.write_text(with_section(previous, lines[0], text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
