"""The filters every metric accepts, turned into bound query parameters."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

GRAINS = ("week", "month", "quarter")
SEGMENT_DIMENSIONS = {
    "acquisition_channel": "Acquisition channel",
    "region": "Region",
    "first_category": "First-order category",
    "loyalty_tier": "Loyalty tier",
}


@dataclass(frozen=True)
class Filters:
    """Segment filters (None = all values), a date range for trends and a calendar grain.

    Example: ``Filters(channels=("email",), grain="week").params()``.
    """

    channels: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    tiers: tuple[str, ...] | None = None
    start_date: date | None = None
    end_date: date | None = None
    grain: str = "month"

    def __post_init__(self) -> None:
        if self.grain not in GRAINS:
            raise ValueError(f"grain must be one of {', '.join(GRAINS)}, not {self.grain!r}")

    @property
    def is_segmented(self) -> bool:
        """True when any segment filter narrows the customers."""
        return any(value is not None for value in (self.channels, self.regions, self.categories, self.tiers))

    def segment_params(self) -> dict:
        """Only the four segment lists (None = all), as bound parameters."""
        return {name: self.params()[name] for name in ("channels", "regions", "categories", "tiers")}

    def params(self) -> dict:
        """Bound parameters for the SQL files (lists for segment filters, None for 'all')."""
        values = {}
        for field in fields(self):
            value = getattr(self, field.name)
            values[field.name] = list(value) if isinstance(value, tuple) else value
        return values
