"""Segment filters for the aggregate tests (tests/test_cubes_*.py), and their meaning computed in pandas.

A filter is a dict of the four segment parameters; a missing or None list means "any value", an empty list
matches nobody. ``in_segment`` is the independent pandas side the queries are compared with.
"""

from __future__ import annotations

import pandas as pd
import pytest

ALL = {"channels": None, "regions": None, "categories": None, "tiers": None}
FILTER_COLUMNS = {"channels": "acquisition_channel", "regions": "region", "categories": "first_category",
                  "tiers": "loyalty_tier"}
SEGMENT_FILTERS = [
    pytest.param({}, id="all"),
    pytest.param({"channels": ["email"]}, id="one-channel"),
    pytest.param({"channels": ["email", "referral"]}, id="two-channels"),
    pytest.param({"channels": ["referral"], "tiers": ["gold", "none"]}, id="channel-and-tiers"),
    pytest.param({"regions": ["Europe", "UK"], "categories": ["apparel", "home"]}, id="regions-and-categories"),
    pytest.param({"channels": []}, id="empty-list"),
    pytest.param({"channels": ["no such channel"]}, id="unknown-value"),
]


def in_segment(customers: pd.DataFrame, segment: dict) -> pd.DataFrame:
    """The rows of customers (with customer_summary's segment columns) that a segment filter keeps."""
    keep = pd.Series(True, index=customers.index)
    for parameter, values in segment.items():
        if values is not None:
            keep &= customers[FILTER_COLUMNS[parameter]].isin(values)
    return customers[keep]
