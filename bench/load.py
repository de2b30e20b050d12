"""Load test: N concurrent Streamlit sessions on the real server, switching pages and filters.

    python -m bench.load --sessions 10,25 --seconds 60                  (or: make load)
    python -m bench.load --sessions 10 --seconds 60 --driver browser    (Playwright pages in chromium)
    python -m bench.load --data bench/cache/exports-10M --sessions 10   (existing exports, from a prepared snapshot)

Starts `streamlit run` on a free localhost port over cached demo exports (or, with --data, over an existing
exports folder whose model snapshot `python -m dashboard prepare` makes sure of first, in the --state folder
the server then uses) and drives N sessions at once, each with its own acquisition-channel filter from the
URL (the data's channels). For a fixed time every session switches pages and changes the period grain (and
now and then its channel), one action at a time.

Two drivers:

- `websocket` (default): each session is a real Streamlit session on ws://127.0.0.1:PORT/_stcore/stream
  speaking Streamlit's own protocol (BackMsg/ForwardMsg protobufs from the installed streamlit package,
  over the `websockets` client streamlit itself depends on). It sends what the browser sends: a
  `rerun_script` BackMsg whose ClientState carries the URL's query string, the page (page_name on the
  first load, then the page_script_hash from the server's Navigation message) and the widget states of the
  sidebar's grain and channel controls, under the widget ids the server sent in its delta elements. No
  browser runs, so the 2 cores go to the server.
- `browser`: each session is a Playwright page in Debian's chromium, clicking the sidebar.

A rerun's time runs from sending the request (BackMsg / click) to the run's end (script_finished /
the page's script state turning "notRunning"). Errors: exception elements, error alerts (st.error), runs
that end with an error status or not at all (timeouts), wrong pages, disconnects, and tracebacks in the
server's log. "Another session's numbers": each session checks the Repeat purchase page's repeat rate
against the value precomputed for its own channel, and (websocket driver) that every channel value and
query string the server sends back is its own. Results, with p50/p95 rerun times and the server's peak
memory, go to bench/load-results.md. Traffic goes to 127.0.0.1 only; every loop is bounded by --seconds
and --timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "cache"
CHROMIUM = "/usr/bin/chromium"
# The browser driver clicks these navigation links; the websocket driver switches among the pages the server's
# navigation lists (every page of the app, whatever they are called).
PAGES = ["Weekly review", "Repeat purchase", "Cohorts", "Churn risk and win-back", "Campaigns", "Compare segments",
         "Satisfaction", "Post-purchase care", "Why customers leave", "Data"]
# The demo's acquisition channels, in the order sessions take them (session i gets channel i mod n). The channels a
# run uses come from its data (``data_channels``): these first, in this order, then any others by customers.
CHANNELS = ["organic_search", "paid_social", "email", "referral", "marketplace"]
GRAINS = ["week", "month", "quarter"]
DEFAULT_GRAIN = "month"
START_PAGE = "repeat"  # url path of the page every session opens first (the one with the KPI it checks)


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


def server_environment(data_dir: Path, state_dir: Path) -> dict[str, str]:
    """The DASHBOARD_* environment the server runs with; `prepare` and the expected values use the same one, so
    they read the same settings (time zone, snapshots) and hence the same model snapshot as the server."""
    return {**os.environ, "DASHBOARD_DATA_DIR": str(data_dir), "DASHBOARD_STATE_DIR": str(state_dir)}


def data_channels(cursor) -> list[str]:
    """The acquisition channels the data's customers have (the sidebar's options): CHANNELS' order first."""
    from dashboard.queries import run_query

    frame = run_query(cursor, "segment_values")
    found = [value for value in frame.loc[frame["dimension"] == "acquisition_channel", "segment_value"]
             if value is not None and value == value]  # most customers first; no missing channel
    return [channel for channel in CHANNELS if channel in found] + [value for value in found if value not in CHANNELS]


def expected_repeat_rates(data_dir: Path, state_dir: Path = CACHE / "load-state", environ: dict | None = None,
                          facts: dict | None = None) -> dict[str, str]:
    """The Repeat rate each channel's session must show (formatted as the page formats it), one key per channel
    of the data, in the order sessions take them. ``environ``: the server's environment (default: none, so
    only the settings file and these folders). ``facts`` gets the snapshot the values were read from (None when
    the model was built) and the orders in the model."""
    from dashboard import figures
    from dashboard.filters import Filters, Segment
    from dashboard.metrics import contract_metrics
    from dashboard.model import Database
    from dashboard.settings import load_settings

    database = Database.open(load_settings(environ=environ or {}, data_dir=data_dir, state_dir=state_dir))
    try:
        cursor = database.cursor()
        channels = data_channels(cursor)
        if len(channels) < 2:
            raise SystemExit(f"error: the exports in {data_dir} have {len(channels)} acquisition channel(s) "
                             f"({', '.join(channels) or 'none'}): the load test gives sessions different channels "
                             "and checks each one's repeat rate, so it needs customers with at least two")
        expected = {channel: figures.format_percent(
                        contract_metrics(cursor, Filters(Segment(channels=(channel,))))["repeat_rate"])
                    for channel in channels}
        if facts is not None:
            facts["snapshot"] = database.snapshot
            facts["model_orders"] = cursor.execute("select count(*) from clean_orders").fetchone()[0]
        cursor.close()
        return expected
    finally:
        database.close()


def ensure_snapshot(data_dir: Path, state_dir: Path) -> dict:
    """Make sure the exports' model snapshot is in the state folder: `python -m dashboard prepare --data DIR`
    with the server's environment (it builds and saves the snapshot, or says the one there is up to date).
    Returns how long that took and what it said."""
    state_dir.mkdir(parents=True, exist_ok=True)
    print(f"python -m dashboard prepare --data {data_dir} (state {state_dir}) …", file=sys.stderr)
    started = time.perf_counter()
    said = []
    with subprocess.Popen([sys.executable, "-m", "dashboard", "prepare", "--data", str(data_dir)], cwd=ROOT,
                          env=server_environment(data_dir, state_dir), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as prepare:
        for line in prepare.stdout:  # shown as it comes: at 10M it builds for minutes
            print(f"  {line.rstrip()}", file=sys.stderr)
            if line.strip():
                said.append(line.strip())
    seconds = time.perf_counter() - started
    if prepare.returncode != 0:
        raise SystemExit(f"error: python -m dashboard prepare --data {data_dir} failed (exit {prepare.returncode}): "
                         + " | ".join(said[-5:]))
    return {"seconds": seconds, "reused": any(line.startswith("already prepared") for line in said),
            "said": next((line for line in reversed(said) if "prepared" in line), said[-1] if said else "")}


def exports_stamp(data_dir: Path) -> dict:
    """The bench's stamp of a generated exports folder (bench/data.py: customers, counts), or {}."""
    from bench.data import STAMP_NAME

    try:
        return json.loads((data_dir / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


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


@contextlib.contextmanager
def streamlit_server(data_dir: Path, state_dir: Path, log_path: Path, start_timeout: float = 90):
    """`streamlit run streamlit_app.py` on a free 127.0.0.1 port; yields (url, process). Output goes to log_path."""
    port = free_port()
    # No file watcher, as in a deployment: with it, an edit to a dashboard/*.py file while the test runs
    # makes Streamlit evict the dashboard modules and re-import them under sessions that are mid-run
    # (KeyError 'dashboard.queries', pickling errors for "not the same object" classes, a second cube lock).
    environment = {**server_environment(data_dir, state_dir),
                   "STREAMLIT_SERVER_PORT": str(port), "STREAMLIT_SERVER_ADDRESS": "127.0.0.1",
                   "STREAMLIT_SERVER_HEADLESS": "true", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
                   "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py")],
                                  cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start: {log_path.read_text(errors='replace')[-2000:]}")
                time.sleep(0.5)
        yield url, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


def server_log_problems(log_path: Path) -> list[str]:
    """Tracebacks and error lines the server logged (an app error need not reach a page)."""
    lines = log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
    problems = []
    for number, line in enumerate(lines):
        if line.startswith("Traceback") or " ERROR " in line or line.startswith("ERROR"):
            excerpt = " | ".join(lines[number:number + 30])
            problems.append(f"server log line {number + 1}: {excerpt[:1500]}")
    return problems


def new_results() -> dict:
    return {"reruns": [], "first_load": [], "errors": [], "leaks": [], "checks": 0, "echo_checks": 0,
            "kpi_seen": {}, "by_page": {}, "peak_rss_mb": 0.0}


# --------------------------------------------------------------------------------------------------
# The websocket driver: Streamlit's own protocol.
# --------------------------------------------------------------------------------------------------


class ProtocolError(Exception):
    """The server did something a browser session would not accept (disconnect, timeout, no run)."""


@dataclass
class Run:
    """What one script run sent to the session, reduced to what the load test checks."""

    seconds: float = 0.0
    status: str = ""
    run_id: str = ""
    page_hash: str = ""  # the page the server says it ran (Navigation message)
    pages: dict[str, tuple[str, str]] = field(default_factory=dict)  # title -> (page_script_hash, url path)
    widgets: dict[str, object] = field(default_factory=dict)  # query_param_key -> the widget's proto
    metrics: dict[str, str] = field(default_factory=dict)  # label -> value shown
    texts: list[str] = field(default_factory=list)  # markdown and captions shown
    exceptions: list[str] = field(default_factory=list)
    error_alerts: list[str] = field(default_factory=list)
    query_strings: list[str] = field(default_factory=list)  # page_info_changed: the URL the server set
    problems: list[str] = field(default_factory=list)  # other protocol-level oddities


class StreamlitSession:
    """One browser-like Streamlit session over /_stcore/stream.

    The handshake is what the frontend does: open the websocket with subprotocol "streamlit" (the
    frontend adds the XSRF token and a previous session id as 2nd/3rd entries; the server needs neither
    to run the app, it uses the token only to read an st.login cookie), then send a `rerun_script`
    BackMsg. The server answers each run with new_session, page_config/navigation, deltas (the elements,
    each with its delta_path: [0, ...] main area, [1, ...] sidebar) and a script_finished message.
    """

    def __init__(self, url: str, timeout: float = 120.0):
        self.stream_url = url.replace("http://", "ws://", 1).rstrip("/") + "/_stcore/stream"
        self.origin = url.rstrip("/")
        self.timeout = timeout
        self.socket = None

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        # proxy=None: never route through an HTTP proxy from the environment (localhost only);
        # ping_interval=None: a browser does not ping either, and a starved server must not look dead.
        self.socket = await connect(self.stream_url, origin=self.origin, subprotocols=["streamlit"],
                                    max_size=None, ping_interval=None, proxy=None, open_timeout=self.timeout)
        if self.socket.subprotocol != "streamlit":
            raise ProtocolError(f"server chose subprotocol {self.socket.subprotocol!r}")

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()

    async def rerun(self, query: str, page_hash: str = "", page_name: str = "",
                    widgets: dict[str, list[str]] | None = None) -> Run:
        """Send a rerun_script BackMsg (what a click does) and read the run until script_finished."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        state = message.rerun_script
        state.query_string = query
        state.page_script_hash = page_hash
        state.page_name = page_name
        for widget_id, values in (widgets or {}).items():
            widget = state.widget_states.widgets.add()
            widget.id = widget_id
            widget.string_array_value.data.extend(values)
        started = time.perf_counter()
        await self.socket.send(message.SerializeToString())
        run = await self._read_run()
        run.seconds = time.perf_counter() - started
        return run

    async def _read_run(self) -> Run:
        from streamlit.proto.Alert_pb2 import Alert
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from websockets.exceptions import ConnectionClosed

        run = Run()
        started = False
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                raw = await asyncio.wait_for(self.socket.recv(), timeout=max(remaining, 0.001))
            except (TimeoutError, asyncio.TimeoutError):
                raise ProtocolError(f"no script_finished within {self.timeout:.0f} s "
                                    f"({'run started' if started else 'run never started'})") from None
            except ConnectionClosed as closed:
                raise ProtocolError(f"disconnected: code {closed.rcvd.code if closed.rcvd else None} "
                                    f"{closed.rcvd.reason if closed.rcvd else ''}") from None
            if isinstance(raw, str):
                raise ProtocolError("text frame from the server (the protocol is binary protobuf)")
            message = ForwardMsg()
            message.ParseFromString(raw)
            kind = message.WhichOneof("type")
            if kind == "new_session":
                started = True
                run.run_id = message.metadata.run.script_run_id
            elif kind == "navigation":
                run.page_hash = message.navigation.page_script_hash
                run.pages = {page.page_name: (page.page_script_hash, page.url_pathname)
                             for page in message.navigation.app_pages}
            elif kind == "page_info_changed":
                run.query_strings.append(message.page_info_changed.query_string)
            elif kind == "page_not_found":
                run.problems.append(f"page not found: {message.page_not_found.page_name!r}")
            elif kind == "session_event" and message.session_event.WhichOneof("type") == "script_compilation_exception":
                error = message.session_event.script_compilation_exception
                run.exceptions.append(f"{error.type}: {error.message} | " + " | ".join(error.stack_trace[-8:]))
            elif kind == "ref_hash":
                run.problems.append("got a cached-message reference although the session reported no cache")
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                element_kind = element.WhichOneof("type")
                if element_kind == "exception":
                    error = element.exception
                    where = "warning" if error.is_warning else "exception"
                    run.exceptions.append(f"{where} {error.type}: {error.message} | "
                                          + " | ".join(line.strip() for line in error.stack_trace[-8:]))
                elif element_kind == "alert" and element.alert.format == Alert.ERROR:
                    run.error_alerts.append(element.alert.body)
                elif element_kind == "metric":
                    run.metrics.setdefault(element.metric.label, element.metric.body)
                elif element_kind == "markdown":
                    run.texts.append(element.markdown.body)
                elif element_kind in ("multiselect", "button_group"):
                    widget = getattr(element, element_kind)
                    if widget.query_param_key and list(message.metadata.delta_path[:1]) == [1]:  # the sidebar
                        run.widgets[widget.query_param_key] = widget
            elif kind == "script_finished":
                if not started:
                    run.problems.append("script_finished without a new_session for this run")
                elif message.metadata.run.script_run_id != run.run_id:
                    run.problems.append("script_finished for another run than the one that started")
                run.status = ForwardMsg.ScriptFinishedStatus.Name(message.script_finished)
                return run


def channel_label(channel: str) -> str:
    """The channel as the sidebar shows it and the URL holds it (``paid_social`` -> ``Paid social``)."""
    from dashboard import formatting

    return formatting.label(channel, "acquisition_channel")


def url_channel(url: str) -> list[str]:
    """The channel values of a page URL's query string."""
    from urllib.parse import urlsplit

    return parse_qs(urlsplit(url).query, keep_blank_values=True).get("channel", [])


def query_string(params: dict[str, list[str]]) -> str:
    return urlencode(params, doseq=True)


async def run_ws_session(url: str, index: int, seconds: float, expected: dict, results: dict,
                         timeout: float = 120.0, think: float = 0.0) -> None:
    """One session: open the Repeat purchase page with this session's channel, then act until `seconds` pass."""
    rng = random.Random(index)
    channels = list(expected)  # the data's channels, in the order sessions take them
    channel = channels[index % len(channels)]
    shown_channel = channel_label(channel)  # bound widgets keep the text they show in the URL
    grain = DEFAULT_GRAIN
    name = f"session {index}"
    session = StreamlitSession(url, timeout=timeout)
    page_title = "Repeat purchase"
    pages: dict[str, tuple[str, str]] = {}
    widget_ids: dict[str, str] = {}

    def url_params() -> dict[str, list[str]]:
        # What the browser's URL holds: bound widgets write their value there; the default grain is
        # left out of the URL (the frontend collapses a bound widget's default value).
        params = {"channel": [shown_channel]}
        if grain != DEFAULT_GRAIN:
            params["grain"] = [grain]
        return params

    def check(run: Run, action: str) -> None:
        where = f"{name} ({channel}, {grain}) on {page_title!r} after {action}"
        if run.status != "FINISHED_SUCCESSFULLY":
            results["errors"].append(f"{where}: script_finished status {run.status}")
        for problem in run.problems:
            results["errors"].append(f"{where}: {problem}")
        for error in run.exceptions:
            results["errors"].append(f"{where}: {error}")
        for alert in run.error_alerts:
            results["errors"].append(f"{where}: st.error shown: {alert}")
        if pages and run.page_hash != pages[page_title][0]:
            shown = next((title for title, (page_hash, _) in run.pages.items() if page_hash == run.page_hash), run.page_hash)
            results["errors"].append(f"{where}: the server ran page {shown!r}")
        # The filter the server echoes back must be this session's own.
        channel_widget = run.widgets.get("channel")
        if channel_widget is None:
            results["errors"].append(f"{where}: no acquisition-channel filter in the sidebar")
        else:
            results["echo_checks"] += 1
            if channel_widget.set_value and list(channel_widget.raw_values) != [shown_channel]:
                results["leaks"].append(f"{where}: the server set the channel filter to {list(channel_widget.raw_values)}")
        for text in run.query_strings:
            echoed = parse_qs(text, keep_blank_values=True)
            results["echo_checks"] += 1
            if echoed.get("channel", [shown_channel]) != [shown_channel] or echoed.get("grain", [grain])[-1:] not in ([grain], [""]):
                results["leaks"].append(f"{where}: the server set the URL to ?{text}")
        if page_title == "Repeat purchase" and not run.exceptions and not run.error_alerts:
            value = run.metrics.get("Repeat rate")
            results["checks"] += 1
            if value != expected[channel]:
                results["leaks"].append(f"{where}: repeat rate {value}, expected {expected[channel]}")
            else:
                results["kpi_seen"][index] = results["kpi_seen"].get(index, 0) + 1
            # The returning-customer card says which period it is: "..., the last full month".
            if not any(f"the last full {grain}" in text or f"No full {grain} yet" in text for text in run.texts):
                shown = [text for text in run.texts if "the last full" in text or "No full" in text]
                results["leaks"].append(f"{where}: grain not applied, shown {shown}")

    try:
        started = time.perf_counter()
        await session.connect()
        run = await session.rerun(query_string(url_params()), page_name=START_PAGE)
        results["first_load"].append(time.perf_counter() - started)
        pages = run.pages
        if page_title not in pages:
            raise ProtocolError(f"no {page_title!r} page in the navigation: {sorted(pages)}")
        check(run, "first load")
        widget_ids = {key: widget.id for key, widget in run.widgets.items()}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if think:
                await asyncio.sleep(rng.uniform(0, 2 * think))
            action = rng.random()
            if action < 0.6:
                page_title = rng.choice(list(pages))  # the navigation's pages, in its order
                done = f"switching to {page_title!r}"
            elif action < 0.9:
                grain = rng.choice([value for value in GRAINS if value != grain])
                done = f"choosing grain {grain!r}"
            else:
                channel = rng.choice([value for value in channels if value != channel])
                done = f"choosing channel {channel!r}"
            if "grain" not in widget_ids or "channel" not in widget_ids:
                raise ProtocolError(f"the server sent no grain/channel widget ids: {sorted(widget_ids)}")
            # A click sends the URL's query string, the page and every widget value the frontend holds.
            run = await session.rerun(query_string(url_params()), page_hash=pages[page_title][0],
                                      widgets={widget_ids["channel"]: [channel], widget_ids["grain"]: [grain]})
            results["reruns"].append(run.seconds)
            results["by_page"].setdefault(page_title, []).append(run.seconds)
            check(run, done)
            widget_ids.update({key: widget.id for key, widget in run.widgets.items()})
    except ProtocolError as error:
        results["errors"].append(f"{name} ({channel}, {grain}) on {page_title!r}: {error}")
    except OSError as error:
        results["errors"].append(f"{name}: connection failed: {type(error).__name__}: {error}")
    finally:
        with contextlib.suppress(Exception):
            await session.close()


async def drive_websocket(url: str, sessions: int, seconds: float, expected: dict, pid: int,
                          timeout: float = 120.0, think: float = 0.0) -> dict:
    results = new_results()

    async def sample_memory():
        while True:
            results["peak_rss_mb"] = max(results["peak_rss_mb"], server_rss_mb(pid))
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sample_memory())
    try:
        await asyncio.gather(*(run_ws_session(url, index, seconds, expected, results, timeout, think)
                               for index in range(sessions)))
    finally:
        sampler.cancel()
    return results


# --------------------------------------------------------------------------------------------------
# The browser driver: Playwright pages in Debian's chromium.
# --------------------------------------------------------------------------------------------------

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


async def run_browser_session(browser, url: str, index: int, seconds: float, expected: dict, results: dict) -> None:
    channels = list(expected)
    channel = channels[index % len(channels)]
    rng = random.Random(index)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(COUNT_RUNS)
    page = await context.new_page()
    try:
        started = time.perf_counter()
        await page.goto(f"{url}/{START_PAGE}?{query_string({'channel': [channel_label(channel)]})}", timeout=120_000)
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
            if url_channel(current) == []:
                # Not another session's data: the URL no longer carries this session's filter (seen after
                # timeouts under overload, when a page switch happens before the sidebar rendered).
                results["errors"].append(f"session {index} lost its filter from the URL: {current}")
            elif url_channel(current) != [channel_label(channel)]:
                results["leaks"].append(f"session {index} has another session's filter: {current}")
            if "/repeat" in current:
                metric = page.locator("[data-testid='stMetric']").filter(has_text="Repeat rate").first
                value = (await metric.locator("[data-testid='stMetricValue']").inner_text()).strip()
                results["checks"] += 1
                if value != expected[channel]:
                    results["leaks"].append(f"session {index} ({channel}) showed repeat rate {value}, "
                                            f"expected {expected[channel]}")
                else:
                    results["kpi_seen"][index] = results["kpi_seen"].get(index, 0) + 1
    finally:
        await context.close()


async def drive_browser(url: str, sessions: int, seconds: float, expected: dict, pid: int) -> dict:
    from playwright.async_api import async_playwright

    results = new_results()
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
        await asyncio.gather(*(run_browser_session(browser, url, index, seconds, expected, results)
                               for index in range(sessions)))
        sampler.cancel()
        await browser.close()
    return results


# --------------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def driver_cpu_seconds() -> float:
    """CPU time of this process and its finished children (the browser driver's Playwright and chromium)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def load_average() -> float:
    return os.getloadavg()[0]


DRIVER_TEXT = {
    "websocket": "Each session is a Streamlit session over the websocket (`/_stcore/stream`) speaking Streamlit's "
                 "protobuf protocol (BackMsg `rerun_script` with the URL's query string, the page and the sidebar's "
                 "widget states; a rerun ends at the ForwardMsg `script_finished`); no browser runs, the driver is "
                 "one Python process on the same cores.",
    "browser": "Each session is a Playwright page in Debian's chromium (the browser runs on the same cores as the "
               "server, so these times include its rendering).",
}


def shown_path(path: Path) -> str:
    """A path as the results file shows it: relative to the project when inside it."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def data_text(data_dir: Path, state_dir: Path, prepared: dict, facts: dict) -> str:
    """What a --data run ran on: the exports folder, its size, the snapshot and how long making sure of it took."""
    stamp = exports_stamp(data_dir)
    counts = stamp.get("counts", {})
    size = ", ".join(f"{counts[table]:,} {table}" for table in ("orders", "customers") if table in counts)
    snapshot = facts["snapshot"]
    megabytes = snapshot.stat().st_size / 1e6 if snapshot.is_file() else float("nan")
    return (f"Data: the exports in `{shown_path(data_dir)}` ("
            + (f"{size} as bench/data.py generated them; " if size else "")
            + f"{facts['model_orders']:,} valid orders in the model), served from a prepared snapshot: "
            f"`{snapshot.name}` ({megabytes:,.0f} MB) in the state folder `{shown_path(state_dir)}`. Making sure of "
            f"it (`python -m dashboard prepare --data {shown_path(data_dir)}`) took {prepared['seconds']:.1f} s"
            + (" (it was there and up to date)" if prepared["reused"] else " (built and saved it)")
            + (f": \"{prepared['said']}\"" if prepared["said"] else "") + ".")


# Issue #17's targets for rerun p95: back to back, and with people's pauses between clicks.
TARGET_P95 = {"back to back": 4.0, "with pauses": 1.5}


def target_lines(rows: list, think: float) -> list[str]:
    kind = "with pauses" if think else "back to back"
    target = TARGET_P95[kind]
    return [f"- Target (issue #17: rerun p95 ≤ {TARGET_P95['back to back']:g} s back to back, "
            f"≤ {TARGET_P95['with pauses']:g} s with people's pauses), {kind}: {sessions} sessions p95 "
            f"{percentile(results['reruns'], 0.95):.2f} s, "
            + ("met" if results["reruns"] and percentile(results["reruns"], 0.95) <= target else "NOT met")
            + (f" with {len(results['errors'])} errors" if results["errors"] else "") + "."
            for sessions, results in rows]


def with_section(text: str, heading: str, section: str) -> str:
    """The results file's text with this section in place of an earlier one under the same heading, or after it."""
    lines = text.splitlines()
    if heading in lines:
        first = lines.index(heading)
        last = next((number for number in range(first + 1, len(lines)) if re.match(r"#{1,2} ", lines[number])),
                    len(lines))
        kept_before, kept_after = lines[:first], lines[last:]
        replaced = kept_before + section.rstrip("\n").splitlines() + ([""] + kept_after if kept_after else [])
        return "\n".join(replaced) + "\n"
    return (text.rstrip("\n") + "\n\n" if text.strip() else "# Load test results\n\n") + section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="10,25", help="comma-separated session counts (default 10,25)")
    parser.add_argument("--seconds", type=float, default=60, help="how long each run drives the sessions")
    parser.add_argument("--customers", type=int, default=50_000, help="demo size (without --data)")
    parser.add_argument("--data", type=Path,
                        help="an existing exports folder (e.g. bench/cache/exports-10M) instead of the generated demo: "
                             "its model snapshot is prepared first (python -m dashboard prepare) and served from")
    parser.add_argument("--state", type=Path,
                        help="the server's state folder (default bench/cache/load-state; with --data "
                             "bench/cache/load-state-<folder name>)")
    parser.add_argument("--driver", choices=["websocket", "browser"], default="websocket",
                        help="websocket: Streamlit's protocol, no browser (default); browser: Playwright + chromium")
    parser.add_argument("--timeout", type=float, default=120,
                        help="websocket driver: seconds a run may take before it counts as an error")
    parser.add_argument("--think", type=float, default=0,
                        help="websocket driver: mean pause between a session's actions (default 0: back to back)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "load-results.md",
                        help="results file (default bench/load-results.md); a demo run rewrites it, a --data run "
                             "adds its own section (or replaces its earlier one)")
    args = parser.parse_args(argv)
    if args.data is not None:
        data_dir = args.data.expanduser().resolve()
        if not data_dir.is_dir():
            parser.error(f"--data {args.data}: no such folder")
        state_dir = (args.state or CACHE / f"load-state-{data_dir.name}").expanduser().resolve()
        prepared = ensure_snapshot(data_dir, state_dir)
        facts: dict = {}
        expected = expected_repeat_rates(data_dir, state_dir, server_environment(data_dir, state_dir), facts)
        if facts["snapshot"] is None:
            raise SystemExit(f"error: `python -m dashboard prepare` finished but the model of {data_dir} is not read "
                             f"from a snapshot in {state_dir} (model_snapshots off in dashboard.toml or "
                             "DASHBOARD_MODEL_SNAPSHOTS?): the run would not be from a prepared snapshot")
        print(f"expected repeat rate per channel (from {facts['snapshot'].name}): {expected}", file=sys.stderr)
    else:
        data_dir = ensure_demo(args.customers)
        state_dir = (args.state or CACHE / "load-state").expanduser().resolve()
        expected = expected_repeat_rates(data_dir, state_dir, server_environment(data_dir, state_dir))
    rows = []
    for sessions in [int(value) for value in args.sessions.split(",")]:
        log_name = f"load-server-{data_dir.name}-{sessions}.log" if args.data else f"load-server-{sessions}.log"
        log_path = CACHE / log_name
        with streamlit_server(data_dir, state_dir, log_path) as (url, server):
            print(f"{sessions} sessions ({args.driver}) for {args.seconds:.0f} s …", file=sys.stderr)
            load_before = load_average()
            cpu_before = driver_cpu_seconds()
            if args.driver == "websocket":
                results = asyncio.run(drive_websocket(url, sessions, args.seconds, expected, server.pid,
                                                      args.timeout, args.think))
            else:
                results = asyncio.run(drive_browser(url, sessions, args.seconds, expected, server.pid))
            results["driver_cpu_s"] = driver_cpu_seconds() - cpu_before
            results["load"] = (load_before, load_average())
        results["errors"] += server_log_problems(log_path)
        rows.append((sessions, results))
        print(f"  reruns {len(results['reruns'])}, errors {len(results['errors'])}, leaks {len(results['leaks'])}, "
              f"p50 {statistics.median(results['reruns']) if results['reruns'] else float('nan'):.2f} s",
              file=sys.stderr)
    source = (f"--data {shown_path(args.data)}" if args.data else f"--customers {args.customers}") \
        + (f" --state {shown_path(args.state)}" if args.state else "")
    command = (f"python -m bench.load --sessions {args.sessions} --seconds {args.seconds:.0f} {source}"
               + (" --driver browser" if args.driver == "browser" else "")
               + (f" --think {args.think:g}" if args.think else ""))
    about = (f"`{command}` on {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, driver `{args.driver}`. "
             + DRIVER_TEXT[args.driver])
    lines = [
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
    lines += [""] + [
        f"- {sessions} sessions: {len(results['first_load'])} of {sessions} sessions loaded; "
        f"{len(results['kpi_seen'])} of {sessions} saw their own repeat rate; "
        + (f"{results['echo_checks']} filter echoes checked (channel widget / URL the server sent back); "
           if args.driver == "websocket" else "")
        + f"driver CPU {results['driver_cpu_s']:.0f} s; "
        f"1-minute load average {results['load'][0]:.1f} before, {results['load'][1]:.1f} after."
        for sessions, results in rows]
    for sessions, results in rows:
        if results["by_page"]:
            lines.append(f"- {sessions} sessions, rerun p50 / max by page (s): " + "; ".join(
                f"{page} {percentile(times, 0.5):.1f} / {max(times):.1f} ({len(times)})"
                for page, times in sorted(results["by_page"].items(), key=lambda item: -max(item[1]))))
    if args.data:
        lines += target_lines(rows, args.think)
    problems = [item for _, results in rows for item in results["errors"] + results["leaks"]]
    if problems:
        lines += ["", "Problems:", ""] + [f"- {item}" for item in problems[:50]]
    if args.data:
        pauses = (f"a pause of 0-{2 * args.think:g} s between clicks" if args.think else "back to back")
        heading = (f"## {args.sessions} sessions on {data_dir.name}, from a prepared snapshot, {pauses}"
                   + (", browser" if args.driver == "browser" else ""))
        text = "\n".join([heading, "", about, "", data_text(data_dir, state_dir, prepared, facts), ""] + lines) + "\n"
        previous = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        args.out.write_text(with_section(previous, heading, text), encoding="utf-8")
    else:
        text = "\n".join(["# Load test results", "", about, ""] + lines) + "\n"
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
