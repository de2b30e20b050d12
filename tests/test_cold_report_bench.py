"""bench/cold_report.py: our report command and the pandas script, each a fresh process, give the same numbers."""

from bench import cold_report
from dashboard import demo


def test_the_cold_report_bench_runs_both_processes_and_finds_the_same_numbers(tmp_path, monkeypatch):
    folder = tmp_path / "exports"
    demo.generate(folder, customers=1_500, seed=5)
    monkeypatch.setattr(cold_report, "ensure_exports", lambda label: (folder, {"counts": {"orders": 4_321}}))
    result = cold_report.measure("tiny", runs=3, quiet_wait=0, scratch_root=tmp_path / "scratch")
    assert result["problems"] == []
    assert [len(result["samples"][who]) for who in ("ours", "pandas")] == [3, 3]
    assert list((tmp_path / "scratch").iterdir()) == []  # the outputs and state folders are removed
    assert all(sample.returncode == 0 and sample.seconds > 0 and sample.peak_mb > 0 and 0 < sample.system < sample.cpu
               for samples in result["samples"].values() for sample in samples)
    text = cold_report.section(result)
    ours = sorted(sample.seconds for sample in result["samples"]["ours"])
    pandas = sorted(sample.seconds for sample in result["samples"]["pandas"])
    ratio = ours[1] / pandas[1]  # of the medians
    assert f"**{ratio:.2f}x**" in text and "4,321 orders" in text
    assert "Every run's numbers equal the pandas script's." in text
