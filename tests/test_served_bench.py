"""bench/served.py's results section: issue #17's target (script CPU per rerun <= 60 ms, median) is checked on
every filter change of every page, the first view is not counted, a page that failed counts as missed, and the
part of the script CPU spent in SQL is shown beside it."""

from bench.served import served_section


def rerun(script_ms, **extra):
    return {"seconds": [s / 500 for s in script_ms], "cpu": [s / 800 for s in script_ms],
            "script_cpu": [s / 1000 for s in script_ms], "figures_built": [1] * len(script_ms),
            "charts": [3] * len(script_ms), **extra}


def test_the_target_is_checked_on_each_filter_change_and_a_failed_page_counts_as_missed():
    results = {
        "overview": {"first view": rerun([900]), "segment": rerun([61, 59, 70]), "date range": rerun([10, 60, 200])},
        "repeat": {"first view": rerun([300]), "segment": rerun([20, 30, 40]),
                   "date range": rerun([20, 30, 40], failed="an error element")},
        "churn": {"failed": "the first view showed an error"},
    }
    text = served_section(results, "10M: exports-10M", "python -m bench.profile", "now", "abc", "1.0 / 1.0 / 1.0")
    rows = {tuple(cell.strip() for cell in line.strip("|").split("|")[:2]): line
            for line in text.splitlines() if line.startswith("| ") and not line.startswith("| page")}
    assert rows[("overview", "segment change")].endswith("| 61 ms | – | 1 of 3 | **missed** |")  # median 61 ms
    assert rows[("overview", "date range change")].endswith("| 60 ms | – | 1 of 3 | met |")  # at the bound
    assert rows[("repeat", "segment change")].endswith("| 30 ms | – | 1 of 3 | met |")
    assert rows[("repeat", "date range change")].endswith("**missed** (an error element) |")  # fast, but failed
    assert "– (builds the page's tables)" in rows[("overview", "first view")]
    assert "**missed**: the page failed" in rows[("churn", "–")]
    # 2 met of 6: two pages' two changes, and the failed page's two
    assert "At most 60 ms: **2 of 6** page-and-change pairs." in text


def test_the_sql_part_of_each_rerun_is_its_median_with_the_queries_run_and_its_share_is_summed():
    with_sql = {"query_cpu": [0.030, 0.031, 0.040], "queries_run": [4, 4, 5]}
    results = {
        "overview": {"first view": rerun([900], query_cpu=[0.5], queries_run=[12]),
                     "segment": rerun([61, 59, 70], **with_sql),
                     "date range": rerun([10, 60, 200], query_cpu=[0.0, 0.009, 0.020], queries_run=[0, 2, 2])},
    }
    text = served_section(results, "1M", "python -m bench.profile", "now", "abc", "1.0 / 1.0 / 1.0")
    rows = {tuple(cell.strip() for cell in line.strip("|").split("|")[:2]): line
            for line in text.splitlines() if line.startswith("| ") and not line.startswith("| page")}
    assert rows[("overview", "segment change")].endswith("| 61 ms | 31 ms (4) | 1 of 3 | **missed** |")
    assert rows[("overview", "date range change")].endswith("| 60 ms | 9 ms (2) | 1 of 3 | met |")
    assert rows[("overview", "first view")].endswith("| 900 ms | – | 1 of 3 | – (builds the page's tables) |")
    # (31 + 9) / (61 + 60) of the script CPU
    assert "The page's SQL is 33% of the script CPU over the filter changes" in text
