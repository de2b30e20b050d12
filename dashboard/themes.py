"""Comment themes and sentiment: what customers write about, grouped into a few readable themes.

Survey comments and ticket texts (subject and body, when the export has them) are grouped into themes with
scikit-learn: TF-IDF over words and two-word phrases (English stop words left out), then a non-negative matrix
factorisation (NMF) with a fixed seed; a theme's label is its strongest terms. Each text's sentiment is VADER's
compound score (``vaderSentiment``: a lexicon and rules for short informal English; its lexicon ships inside the
package, so nothing is downloaded), with a few words of shop feedback adjusted (``DOMAIN_LEXICON``).

The fit runs once per version of the exports, on the distinct masked texts (e-mails and phone numbers are masked by
the model before any text reaches Python) that the latest as-of date sees, and is stored with the model as two tables
(``themes``: one row per theme; ``theme_texts``: one row per distinct text), so every as-of date, every session and
every restart from the snapshot reads the same themes. The same texts in the same order give the same themes: the
input is sorted, the seed fixed and the linear algebra single-threaded.

Texts that cannot be themed are counted, not dropped: empty ones or ones without a word (``NO_WORDS``), ones in
another language (``OTHER_LANGUAGE``, by their common words or script; VADER and the English stop words would
misread them) and English ones matching no theme clearly (``NO_CLEAR_THEME``).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

SEED = 18
MAX_THEMES = 12
MIN_TEXTS_FOR_THEMES = 30  # distinct English texts with words; fewer cannot support a theme
TEXTS_PER_THEME = 8  # at most one theme per this many distinct texts
MAX_FIT_TEXTS = 20_000  # the factorisation is fitted on a seeded sample of this many distinct texts, then applied to all
CLEAR_THEME_SHARE = 0.4  # a text belongs to its strongest theme when that theme holds this share of its weights
NEUTRAL_SENTIMENT = 0.05  # VADER's usual threshold: compound <= -0.05 is negative
LABEL_TERMS = 3
TOP_TERMS = 10
NO_CLEAR_THEME, OTHER_LANGUAGE, NO_WORDS = -1, -2, -3
SPECIAL_THEMES = {
    NO_CLEAR_THEME: "No clear theme",
    OTHER_LANGUAGE: "Other language (not themed)",
    NO_WORDS: "Empty or no words",
}
MASK_TOKENS = re.compile(r"\[(?:email|phone)\]")
WORD = re.compile(r"[^\W\d_]{2,}")
TOKEN_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"  # words of two or more letters: no numbers, no masked [email]/[phone]

# Common function words of other languages seen in shop feedback. A text is in another language when it has more
# of these than English stop words, or when most of its letters are not Latin.
OTHER_LANGUAGE_WORDS = frozenset("""
el la los las un una y de del que en muy pero por para con sin es está fue llegó no lo mi gracias bien
der die das und ist nicht sehr zu mit ein eine ich mein meine kam viel aber auch danke gut schnell
le les des et est pas très pour avec une je mon ma mais merci bon ne du au
o os um uma não com mas obrigado muito
il gli di che non molto grazie per
het een niet zeer met maar dank
""".split())

# VADER's lexicon was built from social media; in shop feedback these words read differently.
DOMAIN_LEXICON = {
    "support": 0.0,  # the support team, not approval
    "late": -1.5,
    "delayed": -1.5,
    "waiting": -0.8,
    "missing": -1.2,
    "crashes": -1.7,
    "crashing": -1.7,
    "crashed": -1.7,
    "freezes": -1.2,
    "cheap": -1.0,
    "flimsy": -1.5,
    "faulty": -1.8,
    "fast": 1.2,
    "quick": 1.2,
    "quickly": 1.2,
    "early": 1.0,
    "smooth": 1.2,
}

_BUILD_LOCK = threading.Lock()


@dataclass(frozen=True)
class ThemeFit:
    """The themes found and each distinct text's theme and sentiment."""

    themes: pd.DataFrame  # theme_id, label, top_terms, tone, texts, text_rows
    texts: pd.DataFrame  # text, theme_id, theme_weight, sentiment, word_count, language


def language_of(text: str | None) -> str:
    """``none`` without a word of two letters, ``other`` when not English (see OTHER_LANGUAGE_WORDS), else ``en``.

    Example: ``language_of("Muy buen producto")`` is ``"other"``, ``language_of("n/a")`` is ``"none"``.
    """
    if text is None:
        return "none"
    words = WORD.findall(MASK_TOKENS.sub(" ", text).lower())
    if not words:
        return "none"
    letters = [char for word in words for char in word]
    latin = sum(1 for char in letters if "LATIN" in unicodedata.name(char, ""))
    if latin < len(letters) / 2:
        return "other"
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    english = sum(word in ENGLISH_STOP_WORDS for word in words)
    other = sum(word in OTHER_LANGUAGE_WORDS for word in words)
    return "other" if other > english else "en"


def sentiment_analyzer():
    """VADER with the shop-feedback adjustments (its lexicon is read from inside the package)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(DOMAIN_LEXICON)
    return analyzer


def sentiments(texts, analyzer=None) -> np.ndarray:
    """VADER's compound score (-1 very negative .. 1 very positive) of each text, masks left out."""
    analyzer = analyzer or sentiment_analyzer()
    return np.array([analyzer.polarity_scores(MASK_TOKENS.sub(" ", text))["compound"] for text in texts],
                    dtype=np.float64)


def fit(texts: pd.DataFrame, seed: int = SEED, max_themes: int = MAX_THEMES) -> ThemeFit:
    """Themes of distinct texts (columns ``text`` and ``text_rows``, how often each occurs).

    Rows are weighted by how often a text occurs (NMF's squared error with row i scaled by sqrt(rows) is the error
    weighted by rows), so a complaint written a thousand times weighs a thousand times, while a text repeated
    verbatim adds nothing to the vocabulary.
    """
    frame = (texts[["text", "text_rows"]].dropna(subset=["text"]).groupby("text", as_index=False)["text_rows"].sum()
             .sort_values("text", kind="stable").reset_index(drop=True))
    frame["language"] = [language_of(text) for text in frame["text"]]
    frame["word_count"] = [len(WORD.findall(MASK_TOKENS.sub(" ", text))) for text in frame["text"]]
    frame["theme_id"] = np.where(frame["language"] == "other", OTHER_LANGUAGE,
                                 np.where(frame["language"] == "none", NO_WORDS, NO_CLEAR_THEME))
    frame["theme_weight"] = np.nan
    english = frame.index[frame["language"] == "en"].to_numpy()
    frame["sentiment"] = np.nan
    if len(english):
        frame.loc[english, "sentiment"] = sentiments(frame.loc[english, "text"])
    frame["tone"] = np.where(frame["sentiment"] <= -NEUTRAL_SENTIMENT, "negative", "positive or neutral")
    found = []  # (text_rows, label, top_terms, tone, row labels of its texts, their weights)
    enough = [tone for tone, rows in frame.loc[english].groupby("tone") if len(rows) >= MIN_TEXTS_FOR_THEMES]
    total_rows = frame.loc[english].loc[frame.loc[english, "tone"].isin(enough), "text_rows"].sum()
    for tone in sorted(enough):
        rows = frame.loc[english][frame.loc[english, "tone"] == tone]
        count = max(2, round(max_themes * rows["text_rows"].sum() / total_rows))
        for label, terms, members, weights in _factorise(rows, seed, count):
            found.append((rows.loc[members, "text_rows"].sum(), label, terms, tone, members, weights))
    # Theme ids 1..n by how many text rows each holds, largest first (ties by label: deterministic).
    found.sort(key=lambda theme: (-theme[0], theme[1]))
    labels = _unique([theme[1] for theme in found])
    for number, (_, _, _, _, members, weights) in enumerate(found, start=1):
        frame.loc[members, "theme_id"] = number
        frame.loc[members, "theme_weight"] = weights
    themes = pd.DataFrame({"theme_id": np.arange(1, len(found) + 1, dtype=np.int64), "label": labels,
                           "top_terms": [theme[2] for theme in found], "tone": [theme[3] for theme in found]})
    frame["theme_id"] = frame["theme_id"].astype("int64")
    counts = frame.groupby("theme_id").agg(texts=("text", "size"), text_rows=("text_rows", "sum"))
    specials = pd.DataFrame({"theme_id": list(SPECIAL_THEMES), "label": list(SPECIAL_THEMES.values()),
                             "top_terms": [""] * len(SPECIAL_THEMES), "tone": [None] * len(SPECIAL_THEMES)})
    themes = pd.concat([themes, specials], ignore_index=True).join(counts, on="theme_id")
    themes[["texts", "text_rows"]] = themes[["texts", "text_rows"]].fillna(0).astype("int64")
    return ThemeFit(themes=themes.reset_index(drop=True),
                    texts=frame[["text", "theme_id", "theme_weight", "sentiment", "word_count", "language"]])


def _factorise(texts: pd.DataFrame, seed: int, count: int) -> list[tuple[str, str, pd.Index, np.ndarray]]:
    """TF-IDF + NMF with ``count`` components on some English texts: per theme found, its label, top terms, the
    index labels of the texts clearly in it and their weights (components nobody is clearly in are left out)."""
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer
    from threadpoolctl import threadpool_limits

    documents = [MASK_TOKENS.sub(" ", text) for text in texts["text"]]
    rows = texts["text_rows"].to_numpy(dtype=np.float64)
    fit_index = np.arange(len(documents))
    if len(documents) > MAX_FIT_TEXTS:
        fit_index = np.sort(np.random.default_rng(seed).choice(len(documents), MAX_FIT_TEXTS, replace=False))
    vectorizer = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), token_pattern=TOKEN_PATTERN,
                                 min_df=2 if len(fit_index) >= 50 else 1, max_df=0.5, sublinear_tf=True)
    with threadpool_limits(limits=1):
        try:
            sample = vectorizer.fit_transform([documents[index] for index in fit_index])
        except ValueError:  # no term left (every word a stop word)
            return []
        count = int(min(count, max(1, len(fit_index) // TEXTS_PER_THEME), sample.shape[1]))
        model = NMF(n_components=count, init="nndsvda", random_state=seed, max_iter=500)
        model.fit(sample.multiply(np.sqrt(rows[fit_index])[:, None]).tocsr())
        weights = model.transform(vectorizer.transform(documents))
    total = weights.sum(axis=1)
    strongest = weights.argmax(axis=1)
    strongest_weight = weights[np.arange(len(weights)), strongest]
    clear = (total > 0) & (strongest_weight >= CLEAR_THEME_SHARE * np.where(total > 0, total, 1.0))
    terms = vectorizer.get_feature_names_out()
    found = []
    for component in range(count):
        members = clear & (strongest == component)
        if not members.any():
            continue
        ranked = [terms[index] for index in np.argsort(-model.components_[component], kind="stable")[:TOP_TERMS]]
        found.append((label_of(ranked), ", ".join(ranked), texts.index[members], strongest_weight[members]))
    return found


def label_of(ranked_terms: list[str], size: int = LABEL_TERMS) -> str:
    """A readable label from a theme's terms, strongest first: up to ``size`` phrases. A two-word phrase takes the
    place of its two words when both are shown alone, and is skipped when only one of them is shown.

    Example: ``label_of(["late", "delivery", "late delivery", "arrived"])`` is ``"late delivery · arrived"``.
    """
    phrases: list[str] = []
    for term in ranked_terms:
        words = term.split()
        shown = [word for word in words if any(word in phrase.split() for phrase in phrases)]
        if len(words) == 2 and words[0] != words[1] and all(word in phrases for word in words):
            phrases[phrases.index(words[0])] = term
            phrases.remove(words[1])
        elif not shown and len(phrases) < size:
            phrases.append(term)
    return " · ".join(phrases)


def _unique(labels: list[str]) -> list[str]:
    """Labels made distinct by a number where two themes share one."""
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return unique


TABLES = ("themes", "theme_texts")


def has_tables(connection) -> bool:
    """Whether this database's themes are built (in memory, in the file a model is built in, or in its snapshot).
    Runs on a cursor of its own: the connection may be busy in another thread."""
    cursor = connection.cursor()
    try:
        found = cursor.execute(
            "select count(*) from (select table_name from duckdb_tables() where database_name = 'memory' "
            "and schema_name = 'main' union all select view_name from duckdb_views() where database_name = 'memory' "
            "and schema_name = 'main') where table_name in ('themes', 'theme_texts')").fetchone()[0]
    finally:
        cursor.close()
    return found == len(TABLES)


def ensure_themes(database) -> None:
    """Fit the comment themes of this version of the exports once and store them with the model (``TABLES`` in the
    catalog the model is built in, readable from every as-of schema). A snapshot holds them, so a restart reads them.

    Fitted on the texts the latest as-of date sees: every comment any as-of date can count, so every date shows the
    same themes. Thread-safe: one fit per process at a time, and none when the tables exist.
    """
    from dashboard import queries

    if not database.has_orders or has_tables(database.connection):
        return
    with _BUILD_LOCK:
        if has_tables(database.connection):
            return
        cursor = database.cursor(database.default_as_of())
        try:
            texts = queries.run_query(cursor, "theme_fit_texts")
            store(cursor, database.model_catalog, fit(texts))
        finally:
            cursor.close()


def store(cursor, catalog: str, theme_fit: ThemeFit) -> None:
    """Write a fit as ``<catalog>.main.themes`` and ``theme_texts`` (views in memory.main when catalog is another)."""
    frames = {
        "themes": theme_fit.themes.astype({"theme_id": "int64", "texts": "int64", "text_rows": "int64"}),
        "theme_texts": theme_fit.texts.astype({"theme_id": "int64", "word_count": "int64"}),
    }
    for table, frame in frames.items():
        cursor.register(f"computed_{table}", frame)
    cursor.execute("begin transaction")  # both tables or neither: has_tables never sees half a fit
    try:
        for table in frames:
            # catalog is the model's own catalog name (memory or the build file), never a user's value.
            cursor.execute(f"create or replace table {catalog}.main.{table} as select * from computed_{table}")
        cursor.execute("commit")
    except BaseException:
        cursor.execute("rollback")
        raise
    finally:
        for table in frames:
            cursor.unregister(f"computed_{table}")
    if catalog != "memory":  # a transaction writes to one database only: the views come after
        for table in frames:
            cursor.execute(f"create or replace view memory.main.{table} as select * from {catalog}.main.{table}")


def attach_snapshot_views(connection, catalog: str) -> None:
    """Read the themes a snapshot (attached as catalog) holds through views in memory.main, like its clean tables."""
    present = {name for name, in connection.execute(
        "select table_name from duckdb_tables() where database_name = $catalog and schema_name = 'main'",
        {"catalog": catalog}).fetchall()}
    if set(TABLES) <= present:
        for table in TABLES:
            connection.execute(f"create or replace view memory.main.{table} as select * from {catalog}.main.{table}")
