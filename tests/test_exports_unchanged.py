"""The exports are never changed: not by a CLI command, not by a page, not by an output path pointing into them.

The data folder holds the demo exports (2,000 customers, seed 1) and a mapping.toml. Before and after each CLI
command and each page, every file under it is fingerprinted (SHA-256, size, modification time) and every folder
too (its modification time changes when an entry is created or removed there, even a temporary file renamed
away later). Files the dashboard writes (reports, scores) go through ``outputs.write_atomically``: a temporary
file in the target's folder renamed over the target, and never anything inside the data folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import cli, demo
from dashboard.outputs import OutputError, write_atomically
from tests.broken_exports import CASES, CLEAN, broken_export, validate_environment  # noqa: F401 (fixtures)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP = str(PROJECT_ROOT / "streamlit_app.py")
MAPPING_TOML = """\
# The demo exports already use the contract's names; an explicit mapping exercises the mapping code path.
[orders]
order_id = "order_id"
product_category = "product_category"

[surveys]
comment = "comment"
"""


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every file (SHA-256, size, mtime) and folder (mtime) under folder, by relative path."""
    state = {".": ("folder", folder.stat().st_mtime_ns)}
    for path in sorted(folder.rglob("*")):
        stat = path.lstat()
        relative = path.relative_to(folder).as_posix()
        if path.is_dir():
            state[relative] = ("folder", stat.st_mtime_ns)
        else:
            state[relative] = (hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_size, stat.st_mtime_ns)
    return state


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """The data folder, a folder for outputs outside it, and the snapshot taken before anything ran."""
    root = tmp_path_factory.mktemp("unchanged")
    data_dir = root / "data"
    demo.generate(data_dir, customers=2_000, seed=1)
    (data_dir / "mapping.toml").write_text(MAPPING_TOML, encoding="utf-8")
    out_dir = root / "out"
    out_dir.mkdir()
    state = snapshot(data_dir)
    assert any(name.startswith("orders/") and name.endswith(".parquet") for name in state)
    assert "mapping.toml" in state
    return {"root": root, "data_dir": data_dir, "out_dir": out_dir, "before": state}


@pytest.fixture(scope="module")
def environment(exports):
    """Settings from the environment, as a user of the CLI or the app would have them (restored afterwards), with
    a real SMTP server on a loopback port for send-report (it keeps nothing)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    from tests.test_delivery import free_port

    controller = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = exports["root"] / "settings.toml"
    settings.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {controller.port}\nstarttls = false\n'
                        'from = "review@shop.example"\n', encoding="utf-8")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DASHBOARD_DATA_DIR", str(exports["data_dir"]))
            patch.setenv("DASHBOARD_STATE_DIR", str(exports["root"] / "state"))
            patch.setenv("DASHBOARD_SETTINGS", str(settings))
            yield
    finally:
        controller.stop()


def assert_exports_unchanged(exports) -> None:
    after = snapshot(exports["data_dir"])
    changed = sorted(name for name in set(after) | set(exports["before"])
                     if after.get(name) != exports["before"].get(name))
    assert not changed, f"the data folder changed: {changed}"


def command_arguments(exports) -> dict[str, list[list[str]]]:
    """How each CLI command is run here (several runs for report); outputs go outside the data folder."""
    data, out, root = str(exports["data_dir"]), exports["out_dir"], exports["root"]
    return {
        "validate": [["--data", data], ["--data", data, "--verbose"]],
        "report": [["--data", data, "--format", "json", "--out", str(out / "report.json")],
                   ["--data", data, "--format", "html", "--out", str(out / "report.html")]],
        "scores": [["--data", data, "--out", str(out / "scores.csv")]],
        "backtest": [["--data", data, "--cutoff", "2026-06-30"]],
        "demo-data": [["--out", str(root / "another-demo"), "--customers", "300", "--seed", "2"]],
        "prepare-demo": [[]],  # with DASHBOARD_DATA_DIR set it only says which exports it uses
        "prepare": [["--data", data], ["--data", data]],  # builds and saves a snapshot, then finds it
        "graph": [[], ["--format", "mermaid", "--out", str(out / "graph.md")]],  # reads no export
        "alerts": [["--data", data]],  # no rule configured: says so, exit 0
        "send-report": [["--data", data, "--to", "ceo@shop.example"]],
        # a campaign-ready list with a holdout: the campaign is recorded in the state folder, never in the exports
        "winback": [["--data", data, "--rules", "state=slipping&holdout=10", "--out", str(out / "winback.csv")]],
    }


def cli_commands() -> list[str]:
    """The subcommands the CLI has today (read from its parser)."""
    parser = cli.build_parser()
    subparsers = next(action for action in parser._actions if action.choices and action.dest == "command")
    return sorted(subparsers.choices)


def test_every_cli_command_is_run_here(exports):
    assert {"validate", "report", "demo-data"} <= set(cli_commands())
    missing = set(cli_commands()) - set(command_arguments(exports))
    assert not missing, f"add the new commands to command_arguments: {sorted(missing)}"


@pytest.mark.parametrize("command", cli_commands())
def test_cli_command_leaves_the_exports_unchanged(exports, environment, capsys, command):
    messages = []
    for arguments in command_arguments(exports)[command]:
        code = cli.main([command, *arguments])
        captured = capsys.readouterr()
        messages.append(captured.err)
        allowed = (0, 1) if command == "validate" else (0,)  # validate exits 1 when it finds an ERROR
        assert code in allowed, f"{command} {arguments} exited {code}: {captured.err}"
        assert_exports_unchanged(exports)
    if command == "report":
        report = json.loads((exports["out_dir"] / "report.json").read_text(encoding="utf-8"))
        assert report["customers"] > 0
        assert (exports["out_dir"] / "report.html").read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype")
    if command == "demo-data":
        assert (exports["root"] / "another-demo" / "customers.parquet").is_file()
    if command == "scores":
        assert (exports["out_dir"] / "scores.csv").read_text(encoding="utf-8").startswith("customer_id,")
    if command == "prepare":  # the snapshot goes to the state folder (not the data folder); the second run finds it
        assert list((exports["root"] / "state" / "snapshots").glob("model-*.duckdb"))
        assert messages[-1].startswith("already prepared"), messages


PAGES = {
    "overview": {"channel": "email", "grain": "week"},
    "repeat": {"channel": ["email", "referral"], "breakdown": "region", "grain": "quarter"},
    "cohorts": {"grain": "month", "cohort": "2026-03", "period": "2", "activity": "ordered"},
    "churn": {"risk": ["high", "medium"], "nps": "detractor", "days_min": "60"},
    "satisfaction": {"q": "late", "kind": "nps", "satisfaction_by": "region", "range": ["2025-01-01", "2026-11-15"]},
    "care": {"tier": "gold", "as_of": "2026-09-30"},
    "reasons": {"why_by": "Return reason", "why_texts": "Survey comments", "region": "Europe"},
    "data": {},
}


@pytest.mark.parametrize("page_name", PAGES)  # not "page": pytest-playwright owns that fixture name
def test_page_leaves_the_exports_unchanged(exports, environment, page_name):
    at = AppTest.from_file(APP, default_timeout=120)
    if page_name != "overview":
        at.switch_page(f"dashboard/pages/{page_name}.py")
    for key, value in PAGES[page_name].items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [item.value for item in at.exception]
    assert at.title
    for key, value in PAGES[page_name].items():
        if key in ("channel", "grain"):  # the filters were applied, so the page really ran with them
            shown = at.multiselect(key=key).value if key == "channel" else at.segmented_control(key=key).value
            assert shown == (value if isinstance(value, list) or key == "grain" else [value])
    assert_exports_unchanged(exports)


def run_module(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -m dashboard ...`` as a user runs it."""
    return subprocess.run([sys.executable, "-m", "dashboard", *arguments], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_report_into_the_data_folder_is_refused(exports, tmp_path):
    data_dir = exports["data_dir"]
    env = {**os.environ, "DASHBOARD_STATE_DIR": str(tmp_path / "state"),
           "DASHBOARD_SETTINGS": str(tmp_path / "no-settings.toml")}
    result = run_module("report", "--data", str(data_dir), "--format", "json", "--out", str(data_dir / "x.json"),
                        env=env)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0] == (f"error: refusing to write {data_dir.resolve() / 'x.json'}: "
                        f"it is inside the data folder {data_dir.resolve()}")
    assert not (data_dir / "x.json").exists()
    assert not [path for path in data_dir.iterdir() if path.name.startswith(".x.json")], "no temporary file either"
    assert_exports_unchanged(exports)


def test_every_way_into_the_data_folder_is_refused(exports, environment, capsys):
    """Nested paths, an export's own name, the folder itself, .. detours and symlinks all resolve into it."""
    root, data_dir = exports["root"], exports["data_dir"]
    link = root / "link-to-data"
    if not link.exists():
        link.symlink_to(data_dir, target_is_directory=True)
    targets = [
        data_dir / "orders" / "x.json",
        data_dir / "new-folder" / "x.json",
        data_dir / "mapping.toml",
        data_dir / "customers.parquet",
        data_dir,
        root / "out" / ".." / "data" / "x.json",
        link / "x.json",
    ]
    for target in targets:
        with pytest.raises(OutputError, match="inside the data folder"):
            write_atomically(target, "{}\n", data_dir=data_dir)
        assert_exports_unchanged(exports)
    code = cli.main(["scores", "--data", str(link), "--out", str(data_dir / "scores.csv")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: refusing to write ") and "inside the data folder" in err, err
    assert not (data_dir / "new-folder").exists()
    assert_exports_unchanged(exports)


def test_outputs_are_replaced_atomically(exports, environment, capsys):
    """An existing report is replaced by a rename (a new file, never truncated in place), with no temporary left."""
    out_dir = exports["root"] / "atomic"
    out_dir.mkdir(exist_ok=True)
    target = out_dir / "report.json"
    target.write_text("previous report\n", encoding="utf-8")
    hard_link = out_dir / "previous.json"  # a second name for the old file: it must keep the old content
    if not hard_link.exists():
        os.link(target, hard_link)
    old_inode = target.stat().st_ino
    code = cli.main(["report", "--data", str(exports["data_dir"]), "--format", "json", "--out", str(target)])
    assert code == 0, capsys.readouterr().err
    assert target.stat().st_ino != old_inode, "the report was written in place instead of renamed over"
    assert hard_link.read_text(encoding="utf-8") == "previous report\n"
    assert json.loads(target.read_text(encoding="utf-8"))["customers"] > 0
    assert sorted(path.name for path in out_dir.iterdir()) == ["previous.json", "report.json"]
    assert_exports_unchanged(exports)


@pytest.mark.parametrize("case", [CLEAN, *CASES], ids=lambda case: case.name)
def test_every_broken_export_is_left_unchanged(case, broken_export, validate_environment, capsys, tmp_path):
    """The corpus of broken exports (tests/broken_exports.py): validating, reading, rescuing a file's rows and
    writing the report change nothing under the data folder (rescued rows live in DuckDB's memory only)."""
    data_dir = broken_export(case.name)
    folder = data_dir if data_dir.is_dir() else data_dir.parent
    before = snapshot(folder) if folder.exists() else None  # missing_data_folder: it must not be created
    out = tmp_path / "out"
    for command in (["validate", "--data", str(data_dir)],
                    ["report", "--data", str(data_dir), "--format", "json", "--out", str(out / "report.json"),
                     "--as-of", "2024-12-31", "--allow-incomplete"]):
        code = cli.main(command)
        err = capsys.readouterr().err
        assert code in (0, 1, 2) and "Traceback" not in err, err
    assert (snapshot(folder) if folder.exists() else None) == before
