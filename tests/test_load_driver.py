"""The load test's websocket driver against the real server: `streamlit run` on a tiny demo, two sessions
speaking Streamlit's protocol for a few seconds. No browser, so it runs with the default tests."""

from __future__ import annotations

import asyncio

import pytest

from bench import load
from dashboard import demo


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(url, expected repeat rate per channel) for a server over a 2,000-customer demo."""
    data_dir = tmp_path_factory.mktemp("load") / "demo"
    demo.generate(data_dir, customers=2_000, seed=5)
    state_dir = tmp_path_factory.mktemp("state")
    expected = load.expected_repeat_rates(data_dir, state_dir)
    log_path = tmp_path_factory.mktemp("log") / "server.log"
    with load.streamlit_server(data_dir, state_dir, log_path) as (url, server):
        yield url, expected, log_path


def test_two_sessions_see_their_own_filters(served):
    url, expected, log_path = served
    # Sessions 0 and 1 start on different channels; the check only means something if their KPIs differ.
    assert expected[load.CHANNELS[0]] != expected[load.CHANNELS[1]]
    results = load.new_results()

    async def drive():
        await asyncio.gather(*(load.run_ws_session(url, index, 2, expected, results, timeout=60) for index in range(2)))

    asyncio.run(drive())
    assert results["errors"] == []
    assert results["leaks"] == []
    assert len(results["first_load"]) == 2
    assert results["reruns"], "no rerun after the first load"
    assert set(results["kpi_seen"]) == {0, 1}, "each session checks its own repeat rate at least on its first load"
    assert results["echo_checks"] >= 2 + len(results["reruns"])
    assert load.server_log_problems(log_path) == []


def test_a_wrong_number_is_reported(served):
    """The KPI check is not vacuous: a session expecting another channel's value reports it."""
    url, expected, _ = served
    wrong = {**expected, load.CHANNELS[0]: expected[load.CHANNELS[1]]}
    results = load.new_results()
    asyncio.run(load.run_ws_session(url, 0, 0, wrong, results, timeout=60))
    assert results["errors"] == []
    assert len(results["leaks"]) == 1 and "repeat rate" in results["leaks"][0]


def test_session_reads_widget_ids_and_pages_from_the_server(served):
    """The handshake and one page switch by page_script_hash, with the sidebar's widget ids."""
    url, expected, _ = served

    async def probe():
        session = load.StreamlitSession(url, timeout=60)
        await session.connect()
        try:
            first = await session.rerun("channel=email&grain=week", page_name="repeat")
            grain_id, channel_id = first.widgets["grain"].id, first.widgets["channel"].id
            cohorts = await session.rerun("channel=email&grain=week", page_hash=first.pages["Cohorts"][0],
                                          widgets={channel_id: ["email"], grain_id: ["week"]})
            return first, cohorts
        finally:
            await session.close()

    first, cohorts = asyncio.run(probe())
    assert first.status == cohorts.status == "FINISHED_SUCCESSFULLY"
    assert first.page_hash == first.pages["Repeat purchase"][0]
    # A link with the stored value (?channel=email) seeds the filter, which shows and echoes its label.
    assert list(first.widgets["channel"].raw_values) == [load.channel_label("email")] == ["E-mail"]
    assert first.metrics["Repeat rate"] == expected["email"]
    assert "Returning-customer rate" in first.metrics
    assert any("the last full week" in text or "No full week yet" in text for text in first.texts)
    assert cohorts.page_hash == first.pages["Cohorts"][0]
    assert not first.exceptions and not cohorts.exceptions and not cohorts.error_alerts
