"""Issue 15, point 14: e-mail addresses and phone numbers typed into comments are masked however they are typed.

Comments and ticket subjects and bodies are normalised to NFKC when the clean tables are built
(sources.normalise_free_text), then masked by one macro (queries/model_text_masking.sql). Each tricky form below is
written into a real surveys export and a real tickets export, read through the whole model, and its masked text
compared exactly; ordinary comments must come through unmasked.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dashboard.queries import run_query
from tests.broken_exports import clean_frames, write_frames

# (as the customer typed it, as every page and download shows it)
TRICKY = [
    # e-mail addresses: non-ASCII and apostrophes in the local part, fullwidth forms, spaced and bracketed @
    ("josé.garcía@example.com wrote twice", "[email] wrote twice"),
    ("mike.o'neil@example.com", "[email]"),
    ("mike.o\u2019neil@example.com", "[email]"),
    ("ＪＯＨＮ＠ＥＸＡＭＰＬＥ．ＣＯＭ", "[email]"),
    ("ｓａｒａ．ｌｅｅ＠ｇｍａｉｌ．ｃｏｍ please", "[email] please"),
    ("john+returns@example.co.uk", "[email]"),
    ("Anna-Lena_Müller@beispiel.de", "[email]"),
    ("用户@例子.广告", "[email]"),
    ("ana@münchen.de", "[email]"),
    ("Contact: <john.doe@example.com>", "Contact: <[email]>"),
    ("mailto:jane@example.org", "mailto:[email]"),
    ("write to john @ example.com", "write to [email]"),
    ("john [at] example [dot] com", "[email]"),
    ("john(at)example.com", "[email]"),
    ("JOSE.GARCIA@EXAMPLE.COM.", "[email]."),
    ("e-mail: o'brien@mail.example.ie, thanks", "e-mail: [email], thanks"),
    ("jo\u200bhn@example.com", "[email]"),  # a zero-width space inside the local part
    ("jose\u0301@example.com", "[email]"),  # e + combining acute accent
    # phone numbers: non-breaking and other spaces, every dash, fullwidth and other digits
    ("+44\u00a020\u00a07946\u00a00958", "[phone]"),
    ("020\u20137946\u20130958", "[phone]"),  # en dash
    ("020\u20127946\u20120958", "[phone]"),  # figure dash
    ("020\u20147946\u20140958", "[phone]"),  # em dash
    ("020\u22127946\u22120958", "[phone]"),  # minus sign
    ("０２０ ７９４６ ０９５８", "[phone]"),  # fullwidth digits
    ("0044\u202f20\u202f7946\u202f0958", "[phone]"),  # narrow no-break space
    ("020\u30007946\u30000958", "[phone]"),  # ideographic space
    ("07946\u200b095\u200b8", "[phone]"),  # zero-width spaces
    ("call \U0001d7ce\U0001d7d0\U0001d7ce \U0001d7d5\U0001d7d7\U0001d7d2\U0001d7d4", "call [phone]"),  # bold digits
    ("⁺⁴⁴ ²⁰ ⁷⁹⁴⁶ ⁰⁹⁵⁸", "[phone]"),  # superscripts
    ("٠٢٠ ٧٩٤٦ ٠٩٥٨", "[phone]"),  # Arabic-Indic digits
    ("(555) 123-4567", "[phone]"),
    ("+1 (555) 123-4567", "[phone]"),
    ("555.123.4567", "[phone]"),
    ("+33 6 12 34 56 78", "[phone]"),
    ("030/1234567", "[phone]"),
    ("tel:+4915112345678", "tel:[phone]"),
    ("+49 (0) 30 1234567", "[phone]"),
    # both in one comment
    ("Reach me at anna@example.com or +44 20 7946 0958.", "Reach me at [email] or [phone]."),
]

# Ordinary comments: nothing to mask, shown as written.
ORDINARY = [
    "Delivery took 3 days, size 42 was fine",
    "O'Neil at the desk was helpful",
    "Paid £12.50 \u2013 worth it",
    "café was great 🙂",
    "Order 12345 arrived",
    "email me please",
    "at 5pm @ the store",
]


@pytest.fixture(scope="module")
def masked(tmp_path_factory):
    """The masked comment of every form above, read through the whole model (NFKC at load, then the patterns)."""
    comments = [typed for typed, _ in TRICKY] + ORDINARY
    frames = clean_frames()
    frames["surveys"] = pd.DataFrame(
        {
            "response_id": [f"s{index:03d}" for index in range(len(comments))],
            "customer_id": ["c1"] * len(comments),
            "submitted_at": pd.Timestamp("2024-03-01"),
            "kind": "nps",
            "score": 9,
            "comment": comments,
        }
    )
    # The same texts typed into tickets: alternately as the subject and as the body (the other one empty), and once
    # more each as the body under an ordinary subject.
    count = len(comments)
    frames["tickets"] = pd.DataFrame(
        {
            "ticket_id": [f"t{index:03d}" for index in range(2 * count)],
            "customer_id": "c1",
            "opened_at": pd.Timestamp("2024-03-02"),
            "resolved_at": pd.NaT,
            "category": "other",
            "subject": [text if index % 2 == 0 else None for index, text in enumerate(comments)] + ["Refund"] * count,
            "body": [None if index % 2 == 0 else text for index, text in enumerate(comments)] + comments,
        }
    )
    root = tmp_path_factory.mktemp("masking")
    from dashboard.model import Database
    from dashboard.settings import load_settings

    settings = load_settings(environ={}, data_dir=write_frames(root / "exports", frames), state_dir=root / "state")
    database = Database.open(settings)
    cursor = database.cursor(date(2024, 12, 31))
    rows = cursor.execute("select response_id, comment_masked from valid_surveys order by response_id").fetchall()
    tickets = cursor.execute("select ticket_id, text_masked from valid_tickets order by ticket_id").fetchall()
    yield {"comments": dict(zip([f"s{index:03d}" for index in range(len(comments))], comments)),
           "masked": {response_id: text for response_id, text in rows}, "cursor": cursor,
           "tickets": {ticket_id: text for ticket_id, text in tickets}, "count": count}
    cursor.close()


def test_the_corpus_has_at_least_30_tricky_forms():
    assert len(TRICKY) >= 30
    assert len({typed for typed, _ in TRICKY}) == len(TRICKY)


@pytest.mark.parametrize(("index", "typed", "shown"), [(index, *case) for index, case in enumerate(TRICKY)],
                         ids=[repr(typed)[:40] for typed, _ in TRICKY])
def test_contact_details_are_masked_however_they_are_typed(masked, index, typed, shown):
    assert masked["masked"][f"s{index:03d}"] == shown


@pytest.mark.parametrize(("index", "typed", "shown"), [(index, *case) for index, case in enumerate(TRICKY)],
                         ids=[repr(typed)[:40] for typed, _ in TRICKY])
def test_ticket_subjects_and_bodies_are_masked_the_same_way(masked, index, typed, shown):
    """Ticket texts (subject and body, joined by ' — ') go through the same macro as comments."""
    assert masked["tickets"][f"t{index:03d}"] == shown
    assert masked["tickets"][f"t{index + masked['count']:03d}"] == f"Refund — {shown}"


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_comments_are_shown_as_written(masked, text):
    response_id = next(key for key, value in masked["comments"].items() if value == text)
    assert masked["masked"][response_id] == text
    ticket = f"t{int(response_id[1:]):03d}"
    assert masked["tickets"][ticket] == text  # in a ticket too


@pytest.mark.parametrize("search", ["o'neil", "neil", "garc", "7946", "0958", "example.com", "ｊｏｈｎ", "@"])
def test_searching_the_comments_finds_no_address_or_number(masked, search):
    """Only the ordinary comments can match ("O'Neil at the desk", "at 5pm @ the store")."""
    comments = run_query(masked["cursor"], "survey_comments", search=search, kinds=None, min_score=None,
                         max_score=None, limit=None, offset=0, channels=None, regions=None, categories=None,
                         tiers=None, show_pii=False)
    assert set(comments["comment_masked"]) <= set(ORDINARY), comments["comment_masked"].tolist()
