"""Segments as people write them in a URL, a saved view or an ``[[alerts]]`` rule: ``{"tier": ("gold",)}``.

The keys are the sidebar's URL keys (``channel``, ``region``, ``category``, ``tier``); values of one key are
alternatives (either value), different keys narrow together (both). ``{}`` is every customer. Written as tokens
(``"tier:gold"``) in a comparison's URL. Example::

    params({"tier": ("gold",)}) == {"channels": None, "regions": None, "categories": None, "tiers": ["gold"]}
"""

from __future__ import annotations

# URL key -> (the Filters field / SQL parameter, the customer_summary column it filters)
SEGMENT_KEYS = {
    "channel": ("channels", "acquisition_channel"),
    "region": ("regions", "region"),
    "category": ("categories", "first_category"),
    "tier": ("tiers", "loyalty_tier"),
}
SEGMENT_WORDS = {"channel": "channel", "region": "region", "category": "first category", "tier": "tier"}
DIMENSION_KEYS = {column: key for key, (_, column) in SEGMENT_KEYS.items()}


def normalised(segment: dict) -> dict[str, tuple[str, ...]]:
    """Keys in the sidebar's order, values as sorted tuples without repeats, empty keys dropped."""
    return {key: tuple(sorted(set(segment[key]))) for key in SEGMENT_KEYS if segment.get(key)}


def params(segment: dict) -> dict:
    """The four segment parameters of the SQL files: a list per narrowed key, None for "all"."""
    return {parameter: (list(segment[key]) if segment.get(key) else None)
            for key, (parameter, _) in SEGMENT_KEYS.items()}


def filters(segment: dict):
    """The segment as the Filters every metric accepts (all dates, the default grain)."""
    from dashboard.filters import Filters, Segment

    return Filters(Segment(**{SEGMENT_KEYS[key][0]: tuple(values) for key, values in segment.items() if values}))


def text(segment: dict) -> str:
    """``tier: gold; channel: referral, email`` (sidebar order) or ``all customers``."""
    parts = [f"{SEGMENT_WORDS[key]}: {', '.join(segment[key]) or 'none'}" for key in SEGMENT_KEYS if key in segment]
    return "; ".join(parts) or "all customers"


def people_text(segment: dict) -> str:
    """``Tier: Gold; Channel: Referral, Email`` (labels of the formatting layer) or ``All customers``."""
    from dashboard import formatting

    parts = [f"{SEGMENT_WORDS[key].capitalize()}: "
             f"{', '.join(formatting.label(value, SEGMENT_KEYS[key][1]) for value in segment[key]) or 'none'}"
             for key in SEGMENT_KEYS if key in segment]
    return "; ".join(parts) or "All customers"


def token(key: str, value: str) -> str:
    """``tier:gold``: one accepted value of one key, as a comparison URL writes it."""
    return f"{key}:{value}"


def token_label(item: str) -> str:
    """``tier:gold`` -> ``Tier: Gold``: what a comparison's pickers show and so what its URL keeps (Streamlit binds
    the shown text), labelled as the sidebar labels the same values."""
    key, _, value = item.partition(":")
    return people_text({key: (value,)}) if key in SEGMENT_KEYS else item


def from_tokens(tokens) -> dict[str, tuple[str, ...]]:
    """``["tier:gold", "channel:email"]`` -> ``{"channel": ("email",), "tier": ("gold",)}``; tokens that are not
    ``key:value`` with a known key are ignored (a URL is user input)."""
    segment: dict[str, list[str]] = {}
    for item in tokens or ():
        key, separator, value = str(item).partition(":")
        if separator and key in SEGMENT_KEYS and value:
            segment.setdefault(key, []).append(value)
    return normalised(segment)


def to_tokens(segment: dict) -> list[str]:
    """The tokens of a segment, in the sidebar's order."""
    return [token(key, value) for key in SEGMENT_KEYS for value in segment.get(key, ())]


def overlap(first: dict, second: dict) -> bool:
    """True when a customer could be in both segments (every key either is open in one or shares a value)."""
    for key in SEGMENT_KEYS:
        if key in first and key in second and not set(first[key]) & set(second[key]):
            return False
    return True
