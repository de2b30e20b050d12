"""Comment themes and sentiment (dashboard/themes.py): determinism, labels, languages, the planted demo themes and
their repurchase gap, sentiment against the survey score, storage with the model and the snapshot."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard import demo, graph, themes
from dashboard.model import Database
from dashboard.queries import run_query
from dashboard.settings import load_settings
from tests.segments import ALL

DEMO_CUSTOMERS = 8_000


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory):
    """The demo (8,000 customers) opened with its themes built (the graph's node, at the latest as-of date)."""
    root = tmp_path_factory.mktemp("themes")
    demo.generate(root / "demo", customers=DEMO_CUSTOMERS, seed=7)
    database = Database.open(load_settings(environ={}, data_dir=root / "demo", state_dir=root / "state"))
    cursor = database.cursor()
    graph.ensure_for(cursor, ["themes"])
    cursor.close()
    return database


@pytest.fixture(scope="module")
def summary(demo_database):
    cursor = demo_database.cursor()
    try:
        return run_query(cursor, "theme_summary", source="any", start_date=None, end_date=None, **ALL)
    finally:
        cursor.close()


def fit_texts(database) -> pd.DataFrame:
    cursor = database.cursor()
    try:
        return run_query(cursor, "theme_fit_texts")
    finally:
        cursor.close()


def test_same_texts_give_the_same_themes_in_any_order(demo_database):
    texts = fit_texts(demo_database)
    first = themes.fit(texts)
    second = themes.fit(texts.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(first.themes, second.themes)
    pd.testing.assert_frame_equal(first.texts, second.texts)
    stored = demo_database.cursor().execute("select * from theme_texts order by text").df()
    assert stored["theme_id"].tolist() == first.texts.sort_values("text")["theme_id"].tolist()
    other_seed = themes.fit(texts, seed=themes.SEED + 1)
    assert len(other_seed.themes) == len(first.themes)  # a seed changes the start, not what can be found


def test_the_planted_themes_are_found_with_their_repurchase_gap(summary):
    themed = summary[summary["theme_id"] > 0]
    late = themed[themed["label"].str.contains(r"\blate\b") & themed["label"].str.contains(r"\bdelivery\b")]
    assert len(late) == 1, themed["label"].tolist()
    late = late.iloc[0]
    # The demo makes a customer leave after 45% of late-delivery comments: far fewer come back than everyone else.
    assert late["anchor_orders"] >= 200
    assert late["rate_gap"] >= 0.15, late
    assert late["ci_high"] < late["other_ci_low"]
    assert late["mean_sentiment"] < -0.2 and late["nps"] < 0

    app = themed[themed["label"].str.contains(r"\bapp\b")]
    assert len(app) == 1 and "crash" in app.iloc[0]["label"], themed["label"].tolist()
    assert app.iloc[0]["is_rising"] and app.iloc[0]["prior_texts"] <= 0.01 * app.iloc[0]["recent_texts"] + 5
    assert themed.loc[~themed["theme_id"].isin([app.iloc[0]["theme_id"]]), "is_rising"].sum() == 0

    praise = themed[themed["mean_sentiment"] > 0.3]
    assert len(praise) >= 2 and (praise["rate_gap"] < 0).all()  # happy writers come back more


def test_other_language_empty_and_unclear_texts_are_counted(summary, demo_database):
    counts = summary.set_index("theme_id")["texts"]
    assert counts[themes.OTHER_LANGUAGE] > 0 and counts[themes.NO_WORDS] > 0
    cursor = demo_database.cursor()
    written, = cursor.execute("select (select count(*) from valid_surveys where comment_masked is not null) "
                              "+ (select count(*) from valid_tickets where text_masked is not null)").fetchone()
    assert summary["texts"].sum() == written  # every comment and ticket text is in exactly one row
    stored = cursor.execute("select * from theme_texts").df()
    # every masked text the model holds was fitted (same masking macros on both sides)
    fitted = set(stored["text"])
    for column, table in (("comment_masked", "valid_surveys"), ("text_masked", "valid_tickets")):
        held = {text for text, in cursor.execute(f"select distinct {column} from {table} where {column} is not null")
                .fetchall()}
        assert held and held <= fitted, sorted(held - fitted)[:5]
    other = stored[stored["theme_id"] == themes.OTHER_LANGUAGE]
    # (the clean tables hold free text in NFKC: the demo's fullwidth comma is a plain one there)
    assert set(other["text"]) <= {unicodedata.normalize("NFKC", text)
                                  for group in demo.OTHER_LANGUAGE_COMMENTS for text in group}
    assert other["sentiment"].isna().all()
    assert set(stored.loc[stored["theme_id"] == themes.NO_WORDS, "text"]) <= {
        unicodedata.normalize("NFKC", text) for text in demo.EMPTY_COMMENTS}


@pytest.mark.parametrize("text,language", [
    ("Package arrived a week late.", "en"), ("Great!", "en"), ("Muy buen producto, llegó rápido.", "other"),
    ("Die Lieferung kam viel zu spät.", "other"), ("配送が遅すぎます。", "other"), ("   ", "none"), ("n/a", "none"),
    ("-", "none"), ("[email] [phone]", "none"), (None, "none"),
])
def test_language_of(text, language):
    assert themes.language_of(text) == language


def test_labels_merge_a_phrase_with_its_words():
    assert themes.label_of(["late", "delivery", "late delivery", "arrived"]) == "late delivery · arrived"
    assert themes.label_of(["app", "app crashes", "crashes", "pay"]) == "app · crashes · pay"
    assert themes.label_of(["quality", "poor", "size", "refund"]) == "quality · poor · size"
    assert themes.label_of(["late", "late late", "delivery", "late delivery"]) == "late delivery"  # a repeated word


def test_sentiment_agrees_with_the_score_on_demo_comments_with_words(demo_database):
    """At least 80% of demo comments with a word and a score that has a sign (NPS 9-10 or 0-6, CSAT 4-5 or 1-2)
    get a VADER sentiment of that sign; other-language comments count as disagreeing (they are not scored)."""
    frame = demo_database.cursor().execute(
        "select valid_surveys.kind, valid_surveys.score, theme_texts.sentiment, theme_texts.language "
        "from valid_surveys inner join theme_texts on theme_texts.text = valid_surveys.comment_masked "
        "where theme_texts.language <> 'none'").df()
    positive = np.where(frame["kind"] == "csat", frame["score"] >= 4, frame["score"] >= 9)
    negative = np.where(frame["kind"] == "csat", frame["score"] <= 2, frame["score"] <= 6)
    signed = frame[positive | negative]
    wanted = np.where(positive[positive | negative], 1, -1)
    got = np.where(signed["sentiment"] >= themes.NEUTRAL_SENTIMENT, 1,
                   np.where(signed["sentiment"] <= -themes.NEUTRAL_SENTIMENT, -1, 0))
    agreement = (got == wanted).mean()
    assert len(signed) > 1_000 and agreement >= 0.8, agreement


def test_vader_reads_its_lexicon_from_the_package_without_network(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("sentiment tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    scores = themes.sentiments(["Love it, great quality!", "Late delivery, very disappointed."],
                               themes.sentiment_analyzer())
    assert scores[0] > 0.5 and scores[1] < -0.5


def test_few_empty_or_foreign_texts_make_no_theme_and_no_error():
    texts = pd.DataFrame({"text": ["", "  ", "Muy bien", "ok", "Great stuff", None],
                          "text_rows": [3, 1, 2, 1, 1, 1]})
    result = themes.fit(texts)
    assert (result.themes["theme_id"] < 0).all()
    by_id = result.themes.set_index("theme_id")["text_rows"]
    assert by_id[themes.NO_WORDS] == 4 and by_id[themes.OTHER_LANGUAGE] == 2 and by_id[themes.NO_CLEAR_THEME] == 2
    empty = themes.fit(pd.DataFrame({"text": pd.Series(dtype=object), "text_rows": pd.Series(dtype="int64")}))
    assert empty.texts.empty and set(empty.themes["theme_id"]) == set(themes.SPECIAL_THEMES)


def test_themes_are_stored_in_the_snapshot_and_not_fitted_again(tmp_path, monkeypatch):
    demo.generate(tmp_path / "demo", customers=1_500, seed=5)
    settings = load_settings(environ={}, data_dir=tmp_path / "demo", state_dir=tmp_path / "state")
    first = Database.open(settings, build_in_file=True)
    assert first.prepare() == []
    reopened = Database.open(settings)
    cursor = reopened.cursor()
    assert reopened.snapshot is not None and graph.is_built(cursor, "themes")

    def refit(*args, **kwargs):
        raise AssertionError("themes fitted again for the same version of the exports")

    monkeypatch.setattr(themes, "fit", refit)
    summary = run_query(cursor, "theme_summary", source="any", start_date=None, end_date=None, **ALL)
    assert (summary["theme_id"] > 0).sum() >= 3 and summary["texts"].sum() > 0


def test_every_as_of_date_stores_the_one_fit_of_the_export_version(tmp_path, monkeypatch):
    """The fit is made once per version of the exports: another as-of date stores the same themes, without a refit,
    and counts only its own texts."""
    demo.generate(tmp_path / "demo", customers=1_500, seed=5)
    database = Database.open(load_settings(environ={}, data_dir=tmp_path / "demo", state_dir=tmp_path / "state"))
    latest = database.cursor()
    graph.ensure_for(latest, ["themes"])
    fitted = latest.execute("select * from themes order by theme_id").df()
    fitted_texts = latest.execute("select * from theme_texts order by text").df()

    def refit(*args, **kwargs):
        raise AssertionError("themes fitted again for another as-of date of the same exports")

    monkeypatch.setattr(themes, "fit", refit)
    earlier = database.cursor(date(2026, 6, 17))
    summary = run_query(earlier, "theme_summary", source="any", start_date=None, end_date=None, **ALL)
    pd.testing.assert_frame_equal(earlier.execute("select * from themes order by theme_id").df(), fitted)
    pd.testing.assert_frame_equal(earlier.execute("select * from theme_texts order by text").df(), fitted_texts)
    written, = earlier.execute("select (select count(*) from valid_surveys where comment_masked is not null) "
                               "+ (select count(*) from valid_tickets where text_masked is not null)").fetchone()
    assert summary["texts"].sum() == written
    later, = latest.execute("select (select count(*) from valid_surveys where comment_masked is not null) "
                            "+ (select count(*) from valid_tickets where text_masked is not null)").fetchone()
    assert written < later
