"""Comment themes and sentiment: what customers write about, grouped into a few readable themes.

Survey comments and ticket texts (subject and body, when the export has them) are grouped into themes with
scikit-learn: TF-IDF over words and two-word phrases (English stop words left out), then a non-negative matrix
factorisation (NMF) with a fixed seed; a theme's label is its strongest terms. Each text's sentiment is VADER's
compound score (``vaderSentiment``: a lexicon and rules for short informal English; its lexicon ships inside the
package, so nothing is downloaded), with a few words of shop feedback adjusted (``DOMAIN_LEXICON``).

The themes are the build graph's python node ``themes`` (``build_themes``, docs/graph.md). The fit runs once per
version of the exports, on every distinct masked text it holds (``queries/theme_fit_texts.sql``: e-mails and phone
numbers are masked by the same SQL macros as the model's texts before any text reaches Python), and each as-of date
stores that same fit as two tables (``themes``: one row per theme; ``theme_texts``: one row per distinct text), built
by the warm-up (the app's background build, ``prepare``) or by the first query that reads them; a snapshot holds
them, so a restart does not refit. The same texts in any order give the same themes: the input is sorted, the seed
fixed and the linear algebra single-threaded.

Texts that cannot be themed are counted, not dropped: empty ones or ones without a word (``NO_WORDS``), ones in
another language (``OTHER_LANGUAGE``, by their common words or script; VADER and the English stop words would
misread them) and English ones matching no theme clearly (``NO_CLEAR_THEME``).
"""

from __future__ import annotations

import re
import threading
import weakref
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

# The fit of each version of the exports, by the graph's ``Builds`` of its database (one per version of the
# exports): every as-of date stores the same fit, computed once per process.
_FITS: "weakref.WeakKeyDictionary[object, ThemeFit]" = weakref.WeakKeyDictionary()
_FITS_GUARD = threading.Lock()
_FIT_LOCKS: "weakref.WeakKeyDictionary[object, threading.Lock]" = weakref.WeakKeyDictionary()


def version_fit(target) -> ThemeFit:
    """The themes of this version of the exports: fitted on every distinct masked text it holds
    (``queries/theme_fit_texts.sql``, which reads the clean tables, not an as-of date's rows), once per database;
    a second caller waits for the first fit and gets the same object."""
    with _FITS_GUARD:
        lock = _FIT_LOCKS.setdefault(target.builds, threading.Lock())
    with lock:
        with _FITS_GUARD:
            found = _FITS.get(target.builds)
        if found is None:
            found = fit(target.query("theme_fit_texts"))
            with _FITS_GUARD:
                _FITS[target.builds] = found
        return found


def build_themes(target) -> None:
    """Build the graph node ``themes`` at the target's as-of date: the version's fit (``version_fit``) stored as
    ``themes`` (one row per theme) and ``theme_texts`` (one row per distinct text) by ``queries/theme_store.sql``,
    both or neither. Every as-of date stores the same fit; counts follow the date because the queries join
    ``theme_texts`` to that date's masked texts. A snapshot holds them, so a restart does not refit for its date.
    """
    theme_fit = version_fit(target)
    themes = theme_fit.themes.astype({"theme_id": "int64", "texts": "int64", "text_rows": "int64"})
    texts = theme_fit.texts.astype({"theme_id": "int64", "word_count": "int64"})
    with target.registered("computed_themes", themes), target.registered("computed_theme_texts", texts):
        target.execute_file("theme_store")
