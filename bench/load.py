"""Load test: N concurrent browser sessions on the real server, switching pages and filters.

    python -m bench.load --sessions 10,25 --seconds 60        (or: make load)

Starts `streamlit run` on a free localhost port over cached demo exports, opens N Playwright pages in
Debian's chromium (each page is its own Streamlit session, each with its own acquisition-channel filter
from the URL), and for a fixed time lets every session switch pages through the sidebar and change the
period grain. It reports errors (exception boxes, timeouts), whether any session ever showed another's
filter or numbers (each session checks its Repeat purchase KPI against the value precomputed for its own
channel), p50/p95 rerun times and the server's peak memory. Results go to bench/load-results.md.
Traffic goes to 127.0.0.1 only; every loop is bounded by --seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "cache"
CHROMIUM = "/usr/bin/chromium"
PAGES = ["Overview", "Repeat purchase", "Cohorts", "Churn risk and win-back", "Satisfaction", "Care impact", "Data"]
CHANNELS = ["organic_search", "paid_social", "email", "referral", "marketplace"]
GRAINS = ["week", "month", "quarter"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_demo(customers: int) -> Path:
    from dashboard import demo

    folder = CACHE / f"load-demo-{customers}"
    if not (folder / "orders").is_dir():
        demo.generate(folder, customers=customers, seed=7, progress=sys.stderr.isatty())
    return folder


def expected_repeat_rates(data_dir: Path) -> dict[str, str]:
    """The Repeat rate each channel's session must show (formatted as the page formats it)."""
    from dashboard import figures
    from dashboard.filters import Filters
    from dashboard.metrics import contract_metrics
    from dashboard.model import Database
    from dashboard.settings import load_settings

    database = Database.open(load_settings(environ={}, data_dir=data_dir, state_dir=CACHE / "load-state"))
    cursor = database.cursor()
    return {channel: figures.format_percent(contract_metrics(cursor, Filters(channels=(channel,)))["repeat_rate"])
            for channel in CHANNELS}


def server_rss_mb(pid: int) -> float:
    """Resident memory of the server process and its children (MB)."""
    total = 0
    for candidate in [pid] + [int(p) for p in os.popen(f"pgrep -P {pid}").read().split()]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


# Counts finished script runs: Streamlit flips data-test-script-state to "notRunning" after each run.
COUNT_RUNS = """
window.__finishedRuns = 0;
new MutationObserver(mutations => {
  for (const m of mutations) {
    if (m.attributeName === 'data-test-script-state' && m.target.getAttribute(m.attributeName) === 'notRunning') {
      window.__finishedRuns += 1;
    }
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']});
"""


async def finished_runs(page) -> int:
    return await page.evaluate("window.__finishedRuns || 0")


async def wait_for_run(page, before: int, timeout_ms: int = 60_000) -> None:
    """Wait until a script run that started after `before` runs had finished is itself finished."""
    await page.wait_for_function(f"(window.__finishedRuns || 0) > {before}", timeout=timeout_ms)
    await page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout_ms)


async def wait_idle(page, timeout_ms: int = 60_000) -> None:
    await page.wait_for_selector("[data-test-script-state='notRunning']", timeout=timeout_ms)
    await page.wait_for_selector("h1", timeout=timeout_ms)


async def run_session(browser, url: str, index: int, seconds: float, expected: dict, results: dict) -> None:
    channel = CHANNELS[index % len(CHANNELS)]
    rng = random.Random(index)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(COUNT_RUNS)
    page = await context.new_page()
    try:
        started = time.perf_counter()
        await page.goto(f"{url}/repeat?channel={channel}", timeout=120_000)
        await wait_idle(page, 120_000)
        results["first_load"].append(time.perf_counter() - started)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            action = rng.random()
            before = await finished_runs(page)
            started = time.perf_counter()
            try:
                if action < 0.6:
                    target = rng.choice(PAGES)
                    await page.get_by_role("link", name=target).first.click(timeout=30_000)
                else:
                    grain = rng.choice(GRAINS)
                    await page.locator("[data-testid='stSidebar']").get_by_role("radio", name=grain, exact=True) \
                        .first.click(timeout=30_000)
                await wait_for_run(page, before)
                results["reruns"].append(time.perf_counter() - started)
            except Exception as error:  # a timeout or a vanished element is an error of the run
                results["errors"].append(f"session {index}: {type(error).__name__}: {str(error)[:120]}")
                continue
            if await page.locator("[data-testid='stException']").count():
                results["errors"].append(f"session {index}: exception box shown")
            current = page.url
            if f"channel={channel}" not in current:
                # Not another session's data: the URL no longer carries this session's filter (seen after
                # timeouts under overload, when a page switch happens before the sidebar rendered).
                results["errors"].append(f"session {index} lost its filter from the URL: {current}")
            elif "channel=" in current and current.count("channel=") > 1:
                results["leaks"].append(f"session {index} has another session's filter: {current}")
            if "/repeat" in current:
                metric = page.locator("[data-testid='stMetric']").filter(has_text="Repeat rate").first
                value = (await metric.locator("[data-testid='stMetricValue']").inner_text()).strip()
                results["checks"] += 1
                if value != expected[channel]:
                    results["leaks"].append(f"session {index} ({channel}) showed repeat rate {value}, "
                                            f"expected {expected[channel]}")
    finally:
        await context.close()


async def drive(url: str, sessions: int, seconds: float, expected: dict, pid: int) -> dict:
    from playwright.async_api import async_playwright

    results = {"reruns": [], "first_load": [], "errors": [], "leaks": [], "checks": 0, "peak_rss_mb": 0.0}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"])

        async def sample_memory():
            while True:
                results["peak_rss_mb"] = max(results["peak_rss_mb"], server_rss_mb(pid))
                await asyncio.sleep(1)

        sampler = asyncio.create_task(sample_memory())
        await asyncio.gather(*(run_session(browser, url, index, seconds, expected, results)
                               for index in range(sessions)))
        sampler.cancel()
        await browser.close()
    return results


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="10,25", help="comma-separated session counts (default 10,25)")
    parser.add_argument("--seconds", type=float, default=60, help="how long each run drives the sessions")
    parser.add_argument("--customers", type=int, default=50_000, help="demo size")
    args = parser.parse_args(argv)
    data_dir = ensure_demo(args.customers)
    expected = expected_repeat_rates(data_dir)
    rows = []
    for sessions in [int(value) for value in args.sessions.split(",")]:
        port = free_port()
        environment = {**os.environ, "DASHBOARD_DATA_DIR": str(data_dir), "DASHBOARD_STATE_DIR": str(CACHE / "load-state"),
                       "STREAMLIT_SERVER_PORT": str(port), "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
                       "STREAMLIT_SERVER_HEADLESS": "true", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py")],
                                  cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(120):
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                        break
                except OSError:
                    time.sleep(0.5)
            print(f"{sessions} sessions for {args.seconds:.0f} s …", file=sys.stderr)
            results = asyncio.run(drive(url, sessions, args.seconds, expected, server.pid))
        finally:
            server.terminate()
            server.wait(timeout=30)
        rows.append((sessions, results))
        print(f"  reruns {len(results['reruns'])}, errors {len(results['errors'])}, leaks {len(results['leaks'])}, "
              f"p50 {statistics.median(results['reruns']) if results['reruns'] else float('nan'):.2f} s",
              file=sys.stderr)
    lines = [
        "# Load test results", "",
        f"`python -m bench.load --sessions {args.sessions} --seconds {args.seconds:.0f} --customers {args.customers}` "
        f"on {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}. Each session is a Playwright page in Debian's "
        "chromium (the browser runs on the same 2 cores as the server, so these times include its rendering).", "",
        "| sessions | reruns | errors | another session's numbers shown | KPI checks | first load p50 (s) | rerun p50 (s) | "
        "rerun p95 (s) | server peak RSS (MB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for sessions, results in rows:
        lines.append(
            f"| {sessions} | {len(results['reruns'])} | {len(results['errors'])} | {len(results['leaks'])} | "
            f"{results['checks']} | {percentile(results['first_load'], 0.5):.2f} | "
            f"{percentile(results['reruns'], 0.5):.2f} | {percentile(results['reruns'], 0.95):.2f} | "
            f"{results['peak_rss_mb']:.0f} |")
    problems = [item for _, results in rows for item in results["errors"] + results["leaks"]]
    if problems:
        lines += ["", "Problems:", ""] + [f"- {item}" for item in problems[:50]]
    text = "\n".join(lines) + "\n"
    (ROOT / "bench" / "load-results.md").write_text(text, encoding="utf-8")
    print(text)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
