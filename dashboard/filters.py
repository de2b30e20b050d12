"""The filters every metric accepts, turned into bound query parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

GRAINS = ("week", "month", "quarter")
SEGMENT_DIMENSIONS = {
    "acquisition_channel": "Acquisition channel",
    "region": "Region",
    "first_category": "First-order category",
    "loyalty_tier": "Loyalty tier",
}


@dataclass(frozen=True)
class Segment:
    """The customers a view is about: the accepted values of each of the four segment dimensions.

    None accepts every value; an empty tuple matches nobody. In SQL, the four lists are the parameters
    ``$channels, $regions, $categories, $tiers``, and the ``segment_keys(...)`` macro of
    ``queries/model_segment_customers.sql`` is the one place that turns them into the segment keys
    (``customer_summary.seg_key``) the aggregates are summed over. Example:
    ``Segment(channels=("email",)).params()["channels"] == ["email"]``.
    """

    channels: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    tiers: tuple[str, ...] | None = None

    # The query parameter of each dimension -> the customer_summary column it filters.
    COLUMNS = {"channels": "acquisition_channel", "regions": "region", "categories": "first_category",
               "tiers": "loyalty_tier"}

    def __post_init__(self) -> None:
        for name in self.COLUMNS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                if isinstance(value, str):
                    raise TypeError(f"Segment.{name} is a list of values, not the text {value!r}")
                object.__setattr__(self, name, tuple(value))

    @classmethod
    def from_params(cls, params: dict) -> "Segment":
        """The segment of a parameter dict (``channels``, ``regions``, ...; missing ones accept everything)."""
        return cls(**{name: params.get(name) for name in cls.COLUMNS})

    @property
    def is_everyone(self) -> bool:
        """True when no dimension narrows the customers."""
        return all(getattr(self, name) is None for name in self.COLUMNS)

    def params(self) -> dict:
        """The four bound parameters: a list per dimension, None for "all"."""
        return {name: (list(value) if value is not None else None)
                for name, value in ((name, getattr(self, name)) for name in self.COLUMNS)}

    def by_column(self) -> dict[str, tuple[str, ...]]:
        """The narrowing dimensions only, by customer_summary column: ``{"acquisition_channel": ("email",)}``."""
        return {column: getattr(self, name) for name, column in self.COLUMNS.items()
                if getattr(self, name) is not None}


@dataclass(frozen=True)
class Filters:
    """The segment, a date range for trends and a calendar grain.

    Example: ``Filters(Segment(channels=("email",)), grain="week").params()``.
    """

    segment: Segment = field(default_factory=Segment)
    start_date: date | None = None
    end_date: date | None = None
    grain: str = "month"

    def __post_init__(self) -> None:
        if not isinstance(self.segment, Segment):
            raise TypeError(f"Filters.segment must be a Segment, not {type(self.segment).__name__}")
        if self.grain not in GRAINS:
            raise ValueError(f"grain must be one of {', '.join(GRAINS)}, not {self.grain!r}")

    @property
    def is_segmented(self) -> bool:
        """True when the segment narrows the customers."""
        return not self.segment.is_everyone

    def params(self) -> dict:
        """Bound parameters for the SQL files: the segment's four lists, the trend range and the grain."""
        return {**self.segment.params(), "start_date": self.start_date, "end_date": self.end_date,
                "grain": self.grain}
