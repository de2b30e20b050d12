"""Issue 15, point 16: the state folder (snapshots, DuckDB's spill files, the audit log) fails safely.

A full disk leaves no half-written file behind and says why; a state folder that cannot be written says why; a
damaged snapshot is moved to quarantine and the model rebuilt instead of failing every run; a state folder inside
the data folder is refused before anything is written.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dashboard import churn, cli, demo, snapshots
from dashboard.settings import PROJECT_ROOT, SettingsError, load_settings


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("state-folder") / "data"
    demo.generate(data_dir, customers=300, seed=21)
    return data_dir


def environment(state_dir: Path, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("DASHBOARD_")}
    return {**env, "DASHBOARD_SETTINGS": str(state_dir.parent / "no-settings.toml"),
            "DASHBOARD_STATE_DIR": str(state_dir), **extra}


def run_module(*arguments: str, env: dict[str, str], file_size_limit: int | None = None):
    """``python -m dashboard ...`` in its own process; with file_size_limit, no file it writes may grow beyond that
    many bytes (the kernel then fails the write with EFBIG, as a full disk fails it with ENOSPC)."""
    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run([sys.executable, "-m", "dashboard", *arguments], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=600,
                          preexec_fn=limit_file_size if file_size_limit else None)


def files_under(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


def test_prepare_on_a_full_disk_leaves_nothing_behind_and_says_why(demo_dir, tmp_path):
    state_dir = tmp_path / "state"
    done = run_module("prepare", "--data", str(demo_dir), env=environment(state_dir), file_size_limit=2_000_000)
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "File too large" in last, done.stderr
    assert "Traceback" not in done.stderr
    assert files_under(state_dir) == ["pseudonym.key"], "no model file, write-ahead log or snapshot is left"


def test_prepare_with_room_saves_the_snapshot_and_no_temporary_file(demo_dir, tmp_path):
    state_dir = tmp_path / "state"
    done = run_module("prepare", "--data", str(demo_dir), env=environment(state_dir))
    assert done.returncode == 0, done.stderr
    saved = files_under(state_dir)
    assert [name for name in saved if name.startswith("snapshots/model-")] and not [
        name for name in saved if name.startswith("duckdb_tmp/")]


def make_unwritable(folder: Path) -> Path:
    """A state folder nothing can be written into: chmod 555, or (as root, who ignores modes) the immutable flag;
    where neither holds, a path under a regular file (mkdir then fails with 'Not a directory')."""
    folder.mkdir(parents=True)
    folder.chmod(0o555)
    try:
        (folder / "probe").write_bytes(b"")
    except OSError:
        return folder
    (folder / "probe").unlink()
    if shutil.which("chattr") and subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
        try:
            (folder / "probe").write_bytes(b"")
            (folder / "probe").unlink()
        except OSError:
            return folder
    blocker = folder.parent / "a-file"
    blocker.write_text("not a folder")
    return blocker / "state"


def test_prepare_on_a_read_only_state_folder_names_the_real_cause(demo_dir, tmp_path):
    state_dir = make_unwritable(tmp_path / "readonly")
    try:
        done = run_module("prepare", "--data", str(demo_dir), env=environment(state_dir))
    finally:
        subprocess.run(["chattr", "-i", str(tmp_path / "readonly")], capture_output=True)
        (tmp_path / "readonly").chmod(0o755)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert "see the warnings above" not in done.stderr
    assert lines[-1].startswith(f"error: the model was built but not saved: the state folder {state_dir} cannot be "
                                "written ("), lines
    assert f"warning: the state folder {state_dir} cannot be written (" in lines[0]


def damage_a_block_the_scores_read(snapshot: Path) -> None:
    """Flip one bit in the first storage block of customer_scores (the scores CSV reads it) of a snapshot."""
    connection = duckdb.connect()
    connection.execute(f"attach '{snapshot}' as damaged (read_only)")
    schema, = connection.execute("select min(schema_name) from damaged.main.snapshot_schemas").fetchone()
    block, = connection.execute(
        f"select min(block_id) from pragma_storage_info('damaged.{schema}.customer_scores') where block_id >= 0"
    ).fetchone()
    connection.close()
    header, block_size, checksum = 3 * 4096, 262_144, 8  # DuckDB's file layout: headers, then checksummed blocks
    content = bytearray(snapshot.read_bytes())
    content[header + block * block_size + checksum + 100] ^= 0x01
    snapshot.write_bytes(bytes(content))


def test_a_damaged_snapshot_is_quarantined_and_the_model_rebuilt(demo_dir, tmp_path, monkeypatch, capsys):
    for name, value in environment(tmp_path / "state").items():
        monkeypatch.setenv(name, value)
    for name in [name for name in os.environ if name.startswith("DASHBOARD_") and name not in ("DASHBOARD_SETTINGS",
                                                                                               "DASHBOARD_STATE_DIR")]:
        monkeypatch.delenv(name)
    assert cli.main(["prepare", "--data", str(demo_dir)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    snapshot, = snapshots.snapshot_dir(tmp_path / "state").glob("model-*.duckdb")
    assert cli.main(["scores", "--data", str(demo_dir), "--out", str(tmp_path / "good.csv")]) == 0
    assert "warning" not in capsys.readouterr().err  # an undamaged snapshot is read as it is
    damage_a_block_the_scores_read(snapshot)
    for run in ("first", "second"):
        code = cli.main(["scores", "--data", str(demo_dir), "--out", str(tmp_path / f"{run}.csv")])
        err = capsys.readouterr().err
        assert code == 0, err
        assert ("is damaged" in err) is (run == "first"), err
        assert (tmp_path / f"{run}.csv").read_text() == (tmp_path / "good.csv").read_text()
    quarantined = list((snapshot.parent / snapshots.QUARANTINE).iterdir())
    assert [path.name.split(".duckdb")[0] for path in quarantined] == [snapshot.stem]
    assert not snapshot.exists()


@pytest.mark.parametrize("inside", ["nested", "same", "symlink", "dotdot"])
def test_a_state_folder_inside_the_data_folder_is_refused(inside, demo_dir, tmp_path, capsys, monkeypatch):
    data_dir = tmp_path / "exports"
    shutil.copytree(demo_dir, data_dir)
    link = tmp_path / "link"
    link.symlink_to(data_dir, target_is_directory=True)
    state_dir = {"nested": data_dir / ".state", "same": data_dir, "symlink": link / "state",
                 "dotdot": tmp_path / "elsewhere" / ".." / "exports" / "state"}[inside]
    before = files_under(data_dir)
    with pytest.raises(SettingsError, match="inside the data folder"):
        load_settings(environ={}, data_dir=data_dir, state_dir=state_dir)
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(state_dir))
    for command in (["prepare", "--data", str(data_dir)], ["validate", "--data", str(data_dir)]):
        assert cli.main(command) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: state_dir ") and "inside the data folder" in lines[0]
    assert files_under(data_dir) == before and not (data_dir / ".state").exists() and not (data_dir / "state").exists()


def test_a_state_folder_beside_the_data_folder_is_accepted(tmp_path):
    settings = load_settings(environ={}, data_dir=tmp_path / "exports", state_dir=tmp_path / "exports-state")
    assert settings.state_dir == tmp_path / "exports-state"


def test_the_app_sets_a_damaged_snapshot_aside_and_keeps_serving(demo_dir, tmp_path, monkeypatch, capsys):
    """Every table of the saved model has a flipped bit: the pages answer from a model rebuilt from the exports."""
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP

    for name in [name for name in os.environ if name.startswith("DASHBOARD_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DASHBOARD_SETTINGS", str(tmp_path / "no-settings.toml"))
    monkeypatch.setenv("DASHBOARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(demo_dir))
    assert cli.main(["prepare", "--data", str(demo_dir)]) == 0, capsys.readouterr().err
    snapshot, = snapshots.snapshot_dir(tmp_path / "state").glob("model-*.duckdb")
    connection = duckdb.connect()
    connection.execute(f"attach '{snapshot}' as damaged (read_only)")
    tables = connection.execute("select schema_name || '.' || table_name from duckdb_tables() "
                                "where database_name = 'damaged' and schema_name like 'asof_%'").fetchall()
    blocks = {block for table, in tables for block, in connection.execute(
        f"select distinct block_id from pragma_storage_info('damaged.{table}') where block_id >= 0").fetchall()}
    connection.close()
    content = bytearray(snapshot.read_bytes())
    for block in blocks:
        content[3 * 4096 + block * 262_144 + 8 + 100] ^= 0x01
    snapshot.write_bytes(bytes(content))
    at = AppTest.from_file(APP, default_timeout=300).run()
    assert not at.exception, [item.value for item in at.exception]
    assert not [item.value for item in at.error if "Corrupt" in item.value or "could not be computed" in item.value]
    assert [metric for metric in at.metric if metric.label == "Orders"]
    assert not snapshot.exists() and list((snapshot.parent / snapshots.QUARANTINE).iterdir())


def test_prepare_exits_1_when_a_table_could_not_be_built(demo_dir, tmp_path, monkeypatch, capsys):
    """A node that fails (here the lifecycle movements, made to fail as a full disk would) is reported, the snapshot
    is saved without it, and the exit status tells the job that ran prepare."""
    for name, value in environment(tmp_path / "state").items():
        monkeypatch.setenv(name, value)
    for name in [name for name in os.environ if name.startswith("DASHBOARD_") and name not in ("DASHBOARD_SETTINGS",
                                                                                               "DASHBOARD_STATE_DIR")]:
        monkeypatch.delenv(name)

    def no_space(target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(churn, "build_customer_movements", no_space)
    assert cli.main(["prepare", "--data", str(demo_dir)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "warning: customer_movements: [Errno 28] No space left on device" in err
    assert err[-1].startswith("error: 1 of the model's tables could not be built (customer_movements; "), err
    assert "Traceback" not in "\n".join(err)
    assert list(snapshots.snapshot_dir(tmp_path / "state").glob("model-*.duckdb"))
